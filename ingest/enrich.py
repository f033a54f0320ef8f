"""Optional metadata enrichment (PAPERS_ENRICH, `papers enrich`): missing authors / year / venue / abstract
filled by DOI (Crossref, then OpenAlex) or arXiv id (the arXiv API). A present value is never overwritten;
each service that filled something leaves an `enriched:<service>` tag on the paper.

Pure parts: `crossref_to_fields`, `openalex_to_fields`, `arxiv_feed_to_fields`, `merge_missing`. The I/O is
`Enricher`: one httpx client, a timeout on each request, retries on 429 / 5xx / connection errors
(ingest/retry.py, tenacity: Retry-After honoured, else capped exponential back-off), a per-service rate limit,
a User-Agent naming the project and the mailto, and an on-disk cache under
data_dir/cache/enrich/<service>/<sha1>.json holding answers and "not found" alike, so a re-run asks nothing. A
service that cannot be reached is given up on for the rest of the run: offline costs one timeout, not one per
paper. Nothing here is imported while enrichment is off.
"""

from __future__ import annotations

import hashlib
import html
import json
import logging
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from assistant.models import LoadError, Paper, arxiv_id_of_doi, norm_doi
from assistant.settings import Settings

log = logging.getLogger(__name__)

FIELDS = ("authors", "year", "venue", "abstract")
SERVICES = ("crossref", "openalex", "arxiv")
USER_AGENT = "paper-assistant/metadata-enrichment (https://github.com/paper-assistant)"
ARXIV_GAP_S = 3.0  # arXiv's API terms: no more than one request every three seconds
RETRY_BASE_S = 0.5  # the first back-off (then 1, 2, ... s) when the answer gives no Retry-After


# -- pure: answers → fields ------------------------------------------------------------------------------
def _clean(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def strip_jats(text: str) -> str:
    """Crossref's JATS abstract (`<jats:p>…</jats:p>`, maybe a `<jats:title>Abstract</jats:title>`) → text."""
    text = re.sub(r"<jats:title>\s*abstract\s*</jats:title>", " ", text, flags=re.IGNORECASE)
    text = _clean(html.unescape(re.sub(r"<[^>]+>", " ", text)))
    return re.sub(r"^abstract[\s.:]+", "", text, flags=re.IGNORECASE) if len(text) > 40 else text


def _year(value: Any) -> int | None:
    try:
        year = int(value)
    except (TypeError, ValueError):
        return None
    return year if 1000 <= year <= 2200 else None


def crossref_to_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    """A Crossref `/works/{doi}` answer (`{"status": "ok", "message": {...}}`) → the fields it has."""
    msg = data.get("message") if isinstance(data.get("message"), Mapping) else data
    if not isinstance(msg, Mapping):
        return {}
    out: dict[str, Any] = {}
    authors = []
    for a in msg.get("author") or []:
        if not isinstance(a, Mapping):
            continue
        name = _clean(" ".join(str(a.get(k) or "") for k in ("given", "family"))) or _clean(str(a.get("name") or ""))
        if name:
            authors.append(name)
    if authors:
        out["authors"] = authors
    for key in ("issued", "published", "published-print", "published-online"):
        parts = (msg.get(key) or {}).get("date-parts") or [[None]]
        year = _year(parts[0][0] if parts and parts[0] else None)
        if year:
            out["year"] = year
            break
    venues = [_clean(str(v)) for v in msg.get("container-title") or [] if _clean(str(v))]
    if venues:
        out["venue"] = venues[0]
    abstract = strip_jats(str(msg.get("abstract") or ""))
    if abstract:
        out["abstract"] = abstract
    return out


def abstract_from_inverted_index(index: Mapping[str, Iterable[int]] | None) -> str:
    """OpenAlex's `abstract_inverted_index` ({word: [positions]}) → the abstract."""
    if not index:
        return ""
    placed: dict[int, str] = {}
    for word, positions in index.items():
        for pos in positions or []:
            placed[int(pos)] = word
    return _clean(" ".join(placed[i] for i in sorted(placed)))


def openalex_to_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    """An OpenAlex work (`display_name`, `authorships`, `publication_year`, …) → the fields it has."""
    out: dict[str, Any] = {}
    authors = [
        name
        for a in data.get("authorships") or []
        if isinstance(a, Mapping) and (name := _clean(str((a.get("author") or {}).get("display_name") or "")))
    ]
    if authors:
        out["authors"] = authors
    if year := _year(data.get("publication_year")):
        out["year"] = year
    source = (data.get("primary_location") or {}).get("source") or {}
    if venue := _clean(str(source.get("display_name") or "")):
        out["venue"] = venue
    if abstract := abstract_from_inverted_index(data.get("abstract_inverted_index")):
        out["abstract"] = abstract
    return out


def arxiv_feed_to_fields(body: bytes, content_type: str = "application/atom+xml") -> dict[str, Any] | None:
    """An arXiv API Atom answer for one id → its fields; None when the feed holds no paper (not found)."""
    from ingest.sources.arxiv import entry_to_paper, parse_feed

    feed = parse_feed(body, content_type)  # FetchError on anything that is not an Atom feed
    for entry in feed.entries:
        if "/api/errors" in str(entry.get("id", "")):
            continue
        paper = entry_to_paper(entry)
        if paper is not None:
            return {k: v for k in FIELDS if (v := getattr(paper, k))}
    return None


def missing(paper: Paper) -> list[str]:
    return [k for k in FIELDS if not getattr(paper, k)]


def merge_missing(paper: Paper, fields: Mapping[str, Any], source: str = "") -> Paper:
    """`paper` with each empty field of FIELDS taken from `fields`; present values are kept. When something
    was filled and `source` is given, an `enriched:<source>` tag records where it came from."""
    filled = {k: fields[k] for k in FIELDS if not getattr(paper, k) and fields.get(k)}
    if not filled:
        return paper
    if source and (tag := f"enriched:{source}") not in paper.tags:
        filled["tags"] = [*paper.tags, tag]
    return paper.model_copy(update=filled)


# -- I/O: the polite client ------------------------------------------------------------------------------
class Unreachable(Exception):
    """The service did not answer usefully (connection, timeout, 429 / 5xx after the retries)."""


@dataclass
class EnrichStats:
    filled: int = 0
    not_found: int = 0
    unreachable: int = 0
    requests: int = 0
    changes: list[tuple[str, list[str], list[str]]] = field(default_factory=list)  # (id, fields, services)

    def summary(self) -> str:
        return f"enrichment: {self.filled} papers filled, {self.not_found} not found, {self.unreachable} unreachable"


@dataclass
class _Answer:
    status: int  # 200, or 404 for "not found" (cached alike)
    body: str = ""
    content_type: str = ""


class Enricher:
    """Lookups for one run: a client, the cache, one rate limit per service, services found down."""

    def __init__(self, settings: Settings, sleep: Any = time.sleep) -> None:
        self.settings = settings
        self.cache_dir = Path(settings.data_dir) / "cache" / "enrich"
        self.stats = EnrichStats()
        self._sleep = sleep
        self._last: dict[str, float] = {}
        self._down: set[str] = set()
        agent = USER_AGENT + (f" mailto:{settings.enrich_mailto}" if settings.enrich_mailto else "")
        self._http: httpx.Client | None = None
        self._headers = {"User-Agent": agent, "Accept": "application/json"}

    def close(self) -> None:
        if self._http is not None:
            self._http.close()

    def __enter__(self) -> Enricher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the cache --------------------------------------------------------------------------------------
    def _cache_path(self, service: str, key: str) -> Path:
        return self.cache_dir / service / (hashlib.sha1(key.encode("utf-8")).hexdigest() + ".json")

    def _cached(self, service: str, key: str) -> _Answer | None:
        try:
            data = json.loads(self._cache_path(service, key).read_text(encoding="utf-8"))
            return _Answer(int(data["status"]), str(data.get("body", "")), str(data.get("content_type", "")))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _store(self, service: str, key: str, answer: _Answer) -> None:
        path = self._cache_path(service, key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            payload = {"key": key, "status": answer.status, "content_type": answer.content_type, "body": answer.body}
            tmp.write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
            tmp.replace(path)
        except OSError as exc:  # a read-only data dir: enrichment still works, uncached
            log.debug("enrichment cache not written (%s)", exc)

    # -- one request ------------------------------------------------------------------------------------
    def _pace(self, service: str) -> None:
        gap = 1.0 / self.settings.enrich_rate_per_s
        if service == "arxiv":
            gap = max(gap, ARXIV_GAP_S)
        last = self._last.get(service)
        if last is not None and (pause := last + gap - time.monotonic()) > 0:
            self._sleep(pause)
        self._last[service] = time.monotonic()

    def get(self, service: str, url: str, params: Mapping[str, str] | None = None) -> _Answer:
        """The answer for url (200 or 404), from the cache or the service; Unreachable otherwise."""
        key = str(httpx.URL(url, params={k: v for k, v in (params or {}).items() if k != "mailto"}))
        if (hit := self._cached(service, key)) is not None:
            return hit
        if service in self._down:
            raise Unreachable(f"{service} was unreachable earlier in this run")
        if self._http is None:
            self._http = httpx.Client(
                timeout=self.settings.enrich_timeout_s, follow_redirects=True, headers=self._headers
            )
        from ingest.retry import RetryableStatus, call, retryable

        http = self._http

        def attempt() -> httpx.Response:
            self._pace(service)
            self.stats.requests += 1
            resp = http.get(url, params=params)
            if retryable(resp):
                raise RetryableStatus(resp)
            return resp

        def again(exc: BaseException) -> bool:
            # A stalled service would cost the timeout once per try and per paper: a timeout is not retried.
            return isinstance(exc, RetryableStatus) or (
                isinstance(exc, httpx.HTTPError) and not isinstance(exc, httpx.TimeoutException)
            )

        try:
            resp = call(
                attempt, attempts=self.settings.enrich_retries + 1, again=again, base_s=RETRY_BASE_S, sleep=self._sleep
            )
        except httpx.TimeoutException as exc:
            self._down.add(service)  # given up on for the rest of the run
            raise Unreachable(f"{service}: no answer within {self.settings.enrich_timeout_s:g}s") from exc
        except httpx.HTTPError as exc:
            self._down.add(service)
            raise Unreachable(f"{service}: {type(exc).__name__}: {str(exc)[:200]}") from exc
        except RetryableStatus as exc:
            self._down.add(service)  # still failing after the retries: leave it alone for this run
            raise Unreachable(f"{service}: HTTP {exc.response.status_code}") from exc
        if resp.status_code in (404, 410):
            answer = _Answer(404)
        elif resp.status_code == 200:
            answer = _Answer(200, resp.text, resp.headers.get("content-type", ""))
        else:
            raise Unreachable(f"{service}: HTTP {resp.status_code}")
        self._store(service, key, answer)
        return answer

    # -- the services -----------------------------------------------------------------------------------
    def _mailto(self) -> dict[str, str]:
        return {"mailto": self.settings.enrich_mailto} if self.settings.enrich_mailto else {}

    def crossref(self, doi: str) -> dict[str, Any] | None:
        base = self.settings.crossref_api_url.rstrip("/")
        answer = self.get("crossref", f"{base}/works/{quote(doi, safe='/')}", self._mailto())
        return crossref_to_fields(_json(answer)) if answer.status == 200 else None

    def openalex(self, doi: str) -> dict[str, Any] | None:
        base = self.settings.openalex_api_url.rstrip("/")
        answer = self.get("openalex", f"{base}/works/https://doi.org/{quote(doi, safe='/')}", self._mailto())
        return openalex_to_fields(_json(answer)) if answer.status == 200 else None

    def arxiv(self, arxiv_id: str) -> dict[str, Any] | None:
        from ingest.sources.arxiv import FetchError

        answer = self.get("arxiv", self.settings.arxiv_api_url, {"id_list": arxiv_id})
        if answer.status != 200:
            return None
        try:
            return arxiv_feed_to_fields(answer.body.encode("utf-8"), answer.content_type)
        except FetchError as exc:
            raise Unreachable(f"arxiv: {exc}") from exc

    # -- one paper --------------------------------------------------------------------------------------
    def enrich(self, paper: Paper) -> Paper:
        """`paper` with what the services know filled in; unchanged when nothing is missing or found."""
        if not missing(paper):
            return paper
        from ingest.sources.arxiv import base_id, normalize_id

        # An arXiv DOI (10.48550/arXiv.…) is DataCite's, not Crossref's: it is looked up as the arXiv id.
        aid = normalize_id(paper.arxiv_id or arxiv_id_of_doi(paper.doi)) or None
        doi = "" if arxiv_id_of_doi(paper.doi) else norm_doi(paper.doi)
        lookups: list[tuple[str, Callable[[str], dict[str, Any] | None], str]] = []
        if doi:
            lookups += [("crossref", self.crossref, doi), ("openalex", self.openalex, doi)]
        if aid:
            lookups.append(("arxiv", self.arxiv, base_id(aid)))
        if not lookups:
            return paper
        found, down, used = False, False, []
        out = paper
        for service, lookup, ident in lookups:
            if not missing(out):
                break
            try:
                fields = lookup(ident)
            except (Unreachable, ValueError) as exc:
                log.debug("enrichment of %s: %s", paper.id, exc)
                down = True
                continue
            if fields is None:
                continue
            found = True
            merged = merge_missing(out, fields, service)
            if merged is not out:
                used.append(service)
                out = merged
        if used:
            self.stats.filled += 1
            filled = [k for k in FIELDS if getattr(out, k) != getattr(paper, k)]
            self.stats.changes.append((paper.id, filled, used))
        elif down:
            self.stats.unreachable += 1
        elif not found:
            self.stats.not_found += 1
        return out


def _json(answer: _Answer) -> Mapping[str, Any]:
    data = json.loads(answer.body)  # ValueError on a body that is not JSON: counted as unreachable
    if not isinstance(data, Mapping):
        raise ValueError("the answer is not a JSON object")
    return data


def enrich_records(
    records: Iterable[Paper | LoadError], settings: Settings, stats: EnrichStats | None = None
) -> Iterator[Paper | LoadError]:
    """The record stream of an ingest with each paper enriched (errors pass through); `stats`, when
    given, receives the run's counts once the stream is used up."""
    with Enricher(settings) as enricher:
        if stats is not None:
            enricher.stats = stats
        for item in records:
            yield enricher.enrich(item) if isinstance(item, Paper) else item
