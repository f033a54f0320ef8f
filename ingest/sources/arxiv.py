"""arXiv ids and search queries → Papers, through the `arxiv` package against settings.arxiv_api_url."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import requests

from assistant.models import LoadError, Paper
from assistant.settings import Settings

_ID = re.compile(r"^(\d{4}\.\d{4,5}|[a-z][a-z\-]*(?:\.[A-Z]{2})?/\d{7})(v\d+)?$", re.IGNORECASE)
_PREFIX = re.compile(r"^(?:arxiv:|https?://(?:www\.|export\.)?arxiv\.org/(?:abs|pdf)/)", re.IGNORECASE)


def normalize_id(raw: str) -> str | None:
    """`arXiv:2308.05732v2`, `https://arxiv.org/pdf/2308.05732.pdf` → `2308.05732v2`; None if not an id."""
    text = _PREFIX.sub("", raw.strip())
    text = re.sub(r"\.pdf$", "", text, flags=re.IGNORECASE)
    return text if _ID.match(text) else None


def base_id(arxiv_id: str) -> str:
    return re.sub(r"v\d+$", "", arxiv_id)


class NotAtomError(requests.RequestException):
    """The API answered 200 with something other than an Atom feed."""


def _client(settings: Settings, page_size: int) -> Any:
    import arxiv

    class _Session(requests.Session):
        """A timeout on every request (a stalled server must not hang the ingest), and a 200
        answer that is no Atom feed (a proxy's or rate limiter's HTML page) is a failure: the
        package would parse it leniently into zero results, i.e. "not found" for every id."""

        def request(self, method: Any, url: Any, *args: Any, **kwargs: Any) -> Any:
            kwargs.setdefault("timeout", settings.arxiv_timeout_s)
            resp = super().request(method, url, *args, **kwargs)
            if resp.status_code == 200 and b"http://www.w3.org/2005/Atom" not in resp.content[:4096]:
                ctype = resp.headers.get("content-type", "?")
                raise NotAtomError(f"the answer is not an Atom feed (content type {ctype})", response=resp)
            return resp

    class _Malformed(arxiv.ArxivError):
        """An Atom answer the arxiv package could not make sense of."""

    class Client(arxiv.Client):
        def __init__(self) -> None:
            # 3 s between requests is what arXiv's terms of use ask for.
            super().__init__(page_size=page_size, delay_seconds=3.0, num_retries=settings.arxiv_retries)
            url = settings.arxiv_api_url
            # query_url_format is the package's documented endpoint knob.
            self.query_url_format = url.replace("{", "{{").replace("}", "}}") + ("&" if "?" in url else "?") + "{}"
            self._session = _Session()

        def _parse_feed(self, url: str, first_page: bool = True, _try_index: int = 0) -> Any:
            # The package logs a malformed feed and carries on with no results, which would
            # read as "not found" for every id; an HTML error page is a failed request.
            feed = super()._parse_feed(url, first_page=first_page, _try_index=_try_index)
            if feed.malformed:
                raise _Malformed(url, _try_index, f"the response is not an Atom feed ({feed.error})")
            return feed

    return Client()


def _reason(exc: Exception, settings: Settings) -> str:
    import arxiv

    if isinstance(exc, NotAtomError):
        return str(exc)
    if isinstance(exc, requests.Timeout):
        return f"no answer within {settings.arxiv_timeout_s:g}s"
    if isinstance(exc, requests.ConnectionError):
        m = re.search(r"\[Errno -?\d+\] [^'\")\]]+", str(exc))
        return f"cannot connect ({m.group(0).strip() if m else type(exc).__name__})"
    if isinstance(exc, arxiv.ArxivError):
        return exc.message
    return f"{type(exc).__name__}: {str(exc)[:200]}"


def result_to_paper(result: Any) -> Paper:
    short = result.get_short_id()
    aid = base_id(short)
    categories = [c for c in [result.primary_category, *result.categories] if c]
    published = result.published
    year = published.year if isinstance(published, datetime) and published.year > 1900 else None
    return Paper(
        id=f"arxiv:{aid}",
        title=re.sub(r"\s+", " ", result.title).strip(),
        abstract=re.sub(r"\s+", " ", result.summary or "").strip(),
        authors=[a.name for a in result.authors if a.name],
        year=year,
        url=result.entry_id,
        doi=result.doi or "",
        arxiv_id=aid,
        venue=re.sub(r"\s+", " ", result.journal_ref or "").strip(),
        tags=list(dict.fromkeys(categories)),
        source=f"arxiv:{short}",
    )


def _run(client: Any, search: Any, source: str, settings: Settings) -> Iterator[Any]:
    """Results of one search; a failed request ends it with one LoadError."""
    import arxiv

    try:
        yield from client.results(search)
    except (requests.RequestException, arxiv.ArxivError) as exc:
        yield LoadError(
            source=source, message=f"arXiv API request to {settings.arxiv_api_url} failed: {_reason(exc, settings)}"
        )


def fetch_arxiv(ids: list[str], query: str, max_results: int, settings: Settings) -> Iterator[Paper | LoadError]:
    """Papers for the given ids (each missing id is its own LoadError) and for a search query."""
    import arxiv

    wanted: list[str] = []
    for raw in ids:
        norm = normalize_id(raw)
        if norm is None:
            yield LoadError(source=f"arxiv:{raw}", message=f"{raw!r} is not an arXiv id (like 2308.05732)")
        elif base_id(norm) not in {base_id(w) for w in wanted}:
            wanted.append(norm)
    client = _client(settings, page_size=max(1, min(100, max(len(wanted), max_results))))
    if wanted:
        found: set[str] = set()
        search = arxiv.Search(id_list=wanted, max_results=len(wanted))
        for item in _run(client, search, "arxiv:" + ",".join(wanted), settings):
            if isinstance(item, LoadError):
                yield item
                return  # the request failed as a whole; per-id "not found" would be misleading
            if "/api/errors" in item.entry_id:
                continue  # arXiv's error entry for an id it rejects; reported as not found below
            paper = result_to_paper(item)
            if paper.arxiv_id not in found:
                found.add(paper.arxiv_id)
                yield paper
        for aid in wanted:
            if base_id(aid) not in found:
                yield LoadError(source=f"arxiv:{aid}", message="not found on arXiv")
    if query.strip():
        if max_results < 1:
            yield LoadError(source=f"arxiv query {query!r}", message="--max must be at least 1")
            return
        search = arxiv.Search(query=query.strip(), max_results=max_results)
        n = 0
        for item in _run(client, search, f"arxiv query {query!r}", settings):
            if isinstance(item, LoadError):
                yield item
                return
            n += 1
            yield result_to_paper(item)
        if n == 0:
            yield LoadError(source=f"arxiv query {query!r}", message="no results on arXiv")
