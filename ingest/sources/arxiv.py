"""arXiv ids and search queries → Papers, from the arXiv API at settings.arxiv_api_url.

The HTTP part is a small fetcher of ours (httpx); the Atom feed is read by feedparser. We do not use the
`arxiv` package: its public API lets us neither (1) put a timeout on a request — a stalled server would hang
the ingest — nor (2) treat a 200 answer that is not a well-formed Atom feed (a proxy's or rate limiter's HTML
page, a feed cut short) as a failure: it parses such an answer leniently into zero results, which reads as
"not found on arXiv" for every id. Both took overriding its private `_session` and `_parse_feed`.

What the fetcher does, as the API's terms and documentation ask: pages of at most PAGE_SIZE results by
`start` / `max_results`; REQUEST_GAP_S (3 s) between consecutive requests of one fetch (retries included);
settings.arxiv_timeout_s on each request; settings.arxiv_retries retries on a connection error, a 429 or a 5xx
answer (ingest/retry.py, tenacity: the server's Retry-After, else back-off from RETRY_BASE_S, at least the
gap), and on the empty page arXiv now and then answers in the middle of a result set.
"""

from __future__ import annotations

import io
import re
import time
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlencode

import feedparser
import httpx

from assistant.models import LoadError, Paper, clean_doi
from assistant.settings import Settings

PAGE_SIZE = 100  # results per request (the API allows up to 2000 per request, but large pages are slow and flaky)
REQUEST_GAP_S = 3.0  # arXiv's API terms of use: no more than one request every three seconds
RETRY_BASE_S = 1.0  # back-off of a retry without Retry-After (1, 2, 4 s ...); the gap applies as well
USER_AGENT = "paper-assistant (arXiv API client; https://info.arxiv.org/help/api/tou.html)"

_ID = re.compile(r"^(\d{4}\.\d{4,5}|[a-z][a-z\-]*(?:\.[A-Z]{2})?/\d{7})(v\d+)?$", re.IGNORECASE)
_PREFIX = re.compile(r"^(?:arxiv:|https?://(?:www\.|export\.)?arxiv\.org/(?:abs|pdf)/)", re.IGNORECASE)
# Worth asking again: the connection failed or broke, or the server said it is in trouble (5xx). A read
# timeout is not retried: a stalled server would cost arxiv_timeout_s once per try.
_RETRYABLE = (httpx.NetworkError, httpx.RemoteProtocolError, httpx.ConnectTimeout)


def normalize_id(raw: str) -> str | None:
    """`arXiv:2308.05732v2`, `https://arxiv.org/pdf/2308.05732.pdf` → `2308.05732v2`; None if not an id."""
    text = _PREFIX.sub("", raw.strip())
    text = re.sub(r"\.pdf$", "", text, flags=re.IGNORECASE)
    return text if _ID.match(text) else None


def base_id(arxiv_id: str) -> str:
    return re.sub(r"v\d+$", "", arxiv_id)


class FetchError(Exception):
    """A request to the arXiv API failed; the message says why, in words."""


def _clean(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _reason(exc: httpx.HTTPError, settings: Settings) -> str:
    if isinstance(exc, httpx.TimeoutException) and not isinstance(exc, httpx.ConnectTimeout):
        return f"no answer within {settings.arxiv_timeout_s:g}s"
    if isinstance(exc, httpx.TransportError):
        m = re.search(r"\[Errno -?\d+\] [^'\")\]]+", str(exc))
        return f"cannot connect ({m.group(0).strip() if m else str(exc)[:200] or type(exc).__name__})"
    return f"{type(exc).__name__}: {str(exc)[:200]}"


def parse_feed(body: bytes, content_type: str) -> Any:
    """An Atom answer → feedparser's result; anything else (HTML, RSS, a feed cut short) → FetchError."""
    # A stream, not bytes: feedparser treats a string argument as a file name or URL if it can.
    feed = feedparser.parse(io.BytesIO(body))
    if not str(feed.get("version") or "").startswith("atom"):
        raise FetchError(f"the answer is not an Atom feed (content type {content_type})")
    if feed.get("bozo"):
        # feedparser's lenient fallback would hand over whatever entries came before the damage.
        detail = re.sub(r"^<unknown>:(\d+):(\d+): ", r"line \1, column \2: ", str(feed.get("bozo_exception")))
        raise FetchError(f"the answer is not an Atom feed (content type {content_type}): {detail}")
    return feed


class _Fetcher:
    """The requests of one fetch: one connection pool, a timeout on each, retries, and the gap between them."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        url = settings.arxiv_api_url
        self._base = url + ("&" if "?" in url else "?")
        self._http = httpx.Client(
            timeout=settings.arxiv_timeout_s, follow_redirects=True, headers={"User-Agent": USER_AGENT}
        )
        self._last: float | None = None

    def close(self) -> None:
        self._http.close()

    def _wait(self) -> None:
        if self._last is not None:
            pause = self._last + REQUEST_GAP_S - time.monotonic()
            if pause > 0:
                time.sleep(pause)

    def _get(self, url: str) -> httpx.Response:
        self._wait()
        try:
            return self._http.get(url)
        finally:
            self._last = time.monotonic()

    def page(self, params: Mapping[str, str]) -> Any:
        """One page of the feed for these query parameters (already holding start / max_results)."""
        from ingest.retry import RetryableStatus, call, retryable

        url = self._base + urlencode(params)

        def attempt() -> httpx.Response:
            resp = self._get(url)
            if retryable(resp):
                raise RetryableStatus(resp)
            return resp

        try:
            resp = call(
                attempt,
                attempts=self.settings.arxiv_retries + 1,
                again=lambda exc: isinstance(exc, (RetryableStatus, *_RETRYABLE)),
                base_s=RETRY_BASE_S,
            )
        except RetryableStatus as exc:
            raise FetchError(str(exc)) from exc
        except httpx.HTTPError as exc:
            raise FetchError(_reason(exc, self.settings)) from exc
        if resp.status_code != 200:
            raise FetchError(f"HTTP {resp.status_code} {resp.reason_phrase}".strip())
        return parse_feed(resp.content, resp.headers.get("content-type", "?"))

    def entries(self, params: Mapping[str, str], limit: int) -> Iterator[Any]:
        """Up to `limit` entries, page by page."""
        start, empty_retries = 0, 0
        while start < limit:
            size = min(PAGE_SIZE, limit - start)
            feed = self.page({**params, "start": str(start), "max_results": str(size)})
            got = list(feed.entries)[:size]
            try:
                total = int(feed.feed.get("opensearch_totalresults", ""))
            except ValueError:  # no total given: a short page is the last one
                total = start + len(got) + (1 if len(got) == size else 0)
            if not got:
                if start == 0 or start >= total:
                    return
                if empty_retries >= self.settings.arxiv_retries:
                    raise FetchError(f"an empty page at result {start} of {total}")
                empty_retries += 1
                continue
            yield from got
            start += len(got)
            if start >= total:
                return


def _api_error(entry: Mapping[str, Any]) -> str | None:
    """arXiv rejects (part of) a request with an entry whose id is http://arxiv.org/api/errors#…"""
    if "/api/errors" not in str(entry.get("id", "")):
        return None
    return _clean(str(entry.get("summary") or "")) or "an error entry"


def entry_to_paper(entry: Mapping[str, Any]) -> Paper | None:
    """One Atom entry → a Paper; None when it carries no arXiv id."""
    entry_id = str(entry.get("id", ""))
    short = entry_id.split("arxiv.org/abs/")[-1]
    if normalize_id(short) is None:
        return None
    aid = base_id(short)
    primary = (entry.get("arxiv_primary_category") or {}).get("term")
    categories = [c for c in [primary, *(t.get("term") for t in entry.get("tags") or [])] if c]
    published = entry.get("published_parsed")
    year = published.tm_year if published is not None and published.tm_year > 1900 else None
    return Paper(
        title=_clean(str(entry.get("title") or "")),
        abstract=_clean(str(entry.get("summary") or "")),
        authors=[name for a in entry.get("authors") or [] if (name := _clean(str(a.get("name") or "")))],
        year=year,
        url=entry_id,
        doi=clean_doi(str(entry.get("arxiv_doi") or "")),  # with a journal DOI the id is doi:… (make_paper_id)
        arxiv_id=aid,
        venue=_clean(str(entry.get("arxiv_journal_ref") or "")),
        tags=list(dict.fromkeys(categories)),
        source=f"arxiv:{short}",
    )


def _run(fetcher: _Fetcher, params: Mapping[str, str], limit: int, source: str) -> Iterator[Any]:
    """The entries of one search; a failed request ends it with one LoadError."""
    try:
        yield from fetcher.entries(params, limit)
    except FetchError as exc:
        url = fetcher.settings.arxiv_api_url
        yield LoadError(source=source, message=f"arXiv API request to {url} failed: {exc}")


def fetch_arxiv(ids: list[str], query: str, max_results: int, settings: Settings) -> Iterator[Paper | LoadError]:
    """Papers for the given ids (each missing id is its own LoadError) and for a search query."""
    wanted: list[str] = []
    for raw in ids:
        norm = normalize_id(raw)
        if norm is None:
            yield LoadError(source=f"arxiv:{raw}", message=f"{raw!r} is not an arXiv id (like 2308.05732)")
        elif base_id(norm) not in {base_id(w) for w in wanted}:
            wanted.append(norm)
    fetcher = _Fetcher(settings)
    try:
        if wanted:
            yield from _by_ids(fetcher, wanted)
        if query.strip():
            yield from _by_query(fetcher, query, max_results)
    finally:
        fetcher.close()


def _by_ids(fetcher: _Fetcher, wanted: list[str]) -> Iterator[Paper | LoadError]:
    found: set[str] = set()
    for item in _run(fetcher, {"id_list": ",".join(wanted)}, len(wanted), "arxiv:" + ",".join(wanted)):
        if isinstance(item, LoadError):
            yield item
            return  # the request failed as a whole; per-id "not found" would be misleading
        if _api_error(item) is not None:
            continue  # arXiv's error entry for an id it rejects; reported as not found below
        paper = entry_to_paper(item)
        if paper is not None and paper.arxiv_id not in found:
            found.add(paper.arxiv_id)
            yield paper
    for aid in wanted:
        if base_id(aid) not in found:
            yield LoadError(source=f"arxiv:{aid}", message="not found on arXiv")


def _by_query(fetcher: _Fetcher, query: str, max_results: int) -> Iterator[Paper | LoadError]:
    source = f"arxiv query {query!r}"
    if max_results < 1:
        yield LoadError(source=source, message="--max must be at least 1")
        return
    n = 0
    for item in _run(fetcher, {"search_query": query.strip()}, max_results, source):
        if isinstance(item, LoadError):
            yield item
            return
        if (error := _api_error(item)) is not None:
            yield LoadError(source=source, message=f"arXiv rejected the query: {error}")
            return
        paper = entry_to_paper(item)
        if paper is None:
            yield LoadError(source=source, message=f"an entry without an arXiv id ({str(item.get('id', ''))[:100]!r})")
            continue
        n += 1
        yield paper
    if n == 0:
        yield LoadError(source=source, message="no results on arXiv")
