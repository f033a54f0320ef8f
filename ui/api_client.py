"""Client mode: `RemoteEngine`, the subset of `Engine` the faces call, over the REST API of a
`papers serve` at PAPERS_API_URL (key: PAPERS_API_KEY) instead of a library opened here.

The API answers with the core's own models (`Paper`, `Answer`, `Comparison`, `Summary`,
`IngestReport`, `LibraryStats`, `CitationGraph`, `LibraryMap`...), rebuilt here: `RemoteEngine`
implements `assistant.engine.PaperAssistant` with `Engine`'s very signatures, so the pages and the CLI
work unchanged (tests/test_front_door.py runs the same calls through both). Nothing is cached between
calls (the stats for a second), so two apps on one server see each other's writes at their next
rerun. Every failure the server or the network can cause is one `ApiError` line naming the server
and the setting to fix. Writes: records loaded here (files, arXiv, Zotero) go as JSON records to
`POST /ingest`, a job on the server's one writer, followed at `GET /jobs/{id}` for progress. What only
the library's own machine can do (reindex, export/import, eval, hand edits, serving) is one
`ClientModeError` line. Answers stream as Server-Sent Events, read by httpx-sse.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import quote

import httpx
from httpx_sse import EventSource, SSEError

from assistant.engine import conversation
from assistant.errors import ApiError, ClientModeError
from assistant.models import (
    Answer,
    CitationGraph,
    Comparison,
    Filters,
    IngestReport,
    LibraryMap,
    LibraryStats,
    LLMStatus,
    LoadError,
    Paper,
    Progress,
    RelatedPaper,
    SearchResult,
    Summary,
    Turn,
)
from ui.api.schemas import SearchResponse

if TYPE_CHECKING:
    from assistant.engine import (
        ChatSession,
        ClaimsReport,
        EvalReport,
        ExportReport,
        ImportReport,
        LayoutReport,
        PaperAssistant,
        ServerClaim,
    )
    from assistant.settings import Settings

POLL_S = 0.25  # how often an ingest job is polled (its progress bar moves at this pace)
STATS_TTL_S = 1.0  # one rerun asks for the count, the chunks and the model: one GET /stats


# -- turning HTTP into one line -----------------------------------------------------------------------
def error_line(base: str, status: int, body: str) -> str:
    """The server's own `{"error": ...}` line, with what to check for the statuses a user can fix."""
    try:
        said = str(json.loads(body).get("error") or "").strip()
    except (ValueError, AttributeError):
        said = ""
    said = said or " ".join(body.split())[:200] or f"HTTP {status}"
    if status == 401:
        return f"the API at {base} refused the key: {said} (set PAPERS_API_KEY to one of its PAPERS_API_KEYS)"
    if status == 403:
        return f"the API at {base} refused: {said} (PAPERS_API_KEY)"
    if status == 422:
        return f"the API at {base} refused the request: {said}"
    if status >= 500:
        return f"the API at {base} failed (HTTP {status}): {said}"
    return said


def transport_line(base: str, exc: httpx.TransportError, timeout_s: float) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return f"the API at {base} did not answer within {timeout_s:g}s (PAPERS_API_TIMEOUT_S)"
    reason = str(exc).strip() or type(exc).__name__
    return f"cannot reach the API at {base}: {reason} (is `papers serve` running there? PAPERS_API_URL)"


def filters_body(filters: Filters | None) -> dict[str, Any] | None:
    if filters is None:
        return None
    body = filters.as_kwargs()
    return body if any(v not in (None, "") for v in body.values()) else None


def merged_report(
    server: dict[str, Any] | None, local_errors: list[LoadError], local_failed: int | None = None,
    max_errors: int | None = None,
) -> IngestReport:
    """The server's report with the records that failed to load here added to it (`local_failed` of
    them, of which `local_errors` were kept); at most `max_errors` errors kept, all counted."""
    report = IngestReport.model_validate(server or {})
    report.errors = [*local_errors, *report.errors][:max_errors]
    report.failed += len(local_errors) if local_failed is None else local_failed
    return report


def sse_events(response: httpx.Response) -> Iterator[tuple[str, Any]]:
    """(event, JSON data) of each Server-Sent Event of a streamed response, as it arrives (httpx-sse)."""
    for sse in EventSource(response).iter_sse():
        yield sse.event, sse.json()


class RemoteEngine:
    """`PaperAssistant` over HTTP. `settings` are this machine's (k, timeouts, the URL)."""

    def __init__(self, settings: Settings, http: httpx.Client | None = None) -> None:
        self.settings = settings
        self.base = settings.api_url.strip().rstrip("/")
        key = settings.api_key.get_secret_value().strip()
        self._http = http or httpx.Client(
            base_url=self.base,
            headers={"Authorization": f"Bearer {key}"} if key else {},
            timeout=httpx.Timeout(settings.api_timeout_s, connect=10.0),
        )
        self._stats: tuple[float, dict[str, Any]] | None = None
        self._children: dict[int, RemoteEngine] = {}
        self._lock = threading.Lock()

    def with_top_k(self, k: int) -> PaperAssistant:
        if k == self.settings.top_k:
            return self
        with self._lock:
            if k not in self._children:
                self._children[k] = RemoteEngine(self.settings.model_copy(update={"top_k": k}), self._http)
            return self._children[k]

    # -- transport ------------------------------------------------------------------------------
    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise ApiError(transport_line(self.base, exc, self.settings.api_timeout_s)) from None
        if response.status_code >= 400:
            raise ApiError(error_line(self.base, response.status_code, response.text), response.status_code)
        return response

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._request(method, path, **kwargs)
        try:
            return response.json()
        except ValueError:
            raise ApiError(f"the API at {self.base} answered {path} with something other than JSON") from None

    def _local_only(self, what: str) -> NoReturn:
        raise ClientModeError(
            f"{what} is not available in client mode (PAPERS_API_URL={self.base}): run it on the server's machine"
        )

    def _server_stats(self) -> dict[str, Any]:
        """GET /stats, kept for STATS_TTL_S: one page rerun asks for the count, the chunks and the model."""
        now = time.monotonic()
        if self._stats is None or now - self._stats[0] > STATS_TTL_S:
            self._stats = (now, dict(self._json("GET", "/stats")))
        return self._stats[1]

    # -- the library ------------------------------------------------------------------------------
    @property
    def location(self) -> str:
        return f"{self.stats().location} via {self.base}"

    @property
    def embed_model(self) -> str:
        return self.stats().embed_model

    @property
    def generation(self) -> str:
        """Changes with every write the server finishes (its job counts) or the library's size."""
        s = self.stats()
        jobs = s.jobs
        return f"{s.papers}:{s.chunks}:{jobs.done if jobs else None}:{jobs.failed if jobs else None}"

    @property
    def llm_enabled(self) -> bool:
        return self.stats().llm_enabled

    def refresh(self) -> None:
        """Every call asks the server: only the short-lived stats are dropped."""
        self._stats = None

    def warm(self) -> None:
        """The server loads its own model (`papers serve` warms it at start-up): nothing to do here."""

    def stats(self) -> LibraryStats:
        return LibraryStats.model_validate(self._server_stats())

    def papers(self, ids: Iterable[str] | None = None) -> list[Paper]:
        params = None if ids is None else [("id", i) for i in ids]
        if params == []:
            return []
        return [Paper.model_validate(p) for p in self._json("GET", "/papers", params=params)]

    def count(self) -> int:
        return self.stats().papers

    def chunk_count(self) -> int:
        return self.stats().chunks

    def chunk_counts(self) -> dict[str, int]:
        """Chunks per paper id, as the server's library holds them."""
        return {str(k): int(v) for k, v in self._json("GET", "/chunk-counts").items()}

    def llm_status(self, probe: bool = True) -> LLMStatus:
        """The server's LLM as the server sees it (the server probes it, not this machine)."""
        return LLMStatus(**self._json("GET", "/llm", params={"probe": probe}))

    def ingest(self, items: Iterable[Paper | LoadError], progress: Progress | None = None) -> IngestReport:
        """Records loaded here, written by the server's one writer; its progress passed on."""
        papers: list[dict[str, Any]] = []
        errors: list[LoadError] = []
        failed, cap = 0, self.settings.ingest_max_errors
        for item in items:
            if isinstance(item, LoadError):
                failed += 1
                if len(errors) < cap:  # the rest only counted, as Engine.ingest does
                    errors.append(item)
            else:
                papers.append(item.model_dump(mode="json"))
        if not papers:
            return merged_report(None, errors, failed, cap)
        # Whole papers (sections, pages, references, source): a PDF read here keeps its structure
        # there, and a Zotero --prune run here can match the sources.
        job = self._json("POST", "/ingest", json={"papers": papers})
        return merged_report(self._follow(job, progress), errors, failed, cap)

    def _follow(self, job: dict[str, Any], progress: Progress | None) -> dict[str, Any] | None:
        while job.get("state") not in ("done", "failed"):
            time.sleep(POLL_S)
            job = self._json("GET", f"/jobs/{quote(str(job['id']), safe='')}")
            if progress is not None and job.get("total"):
                progress(int(job.get("done") or 0), int(job["total"]), str(job.get("stage") or ""))
        self._stats = None
        if job["state"] == "failed":
            raise ApiError(f"the API at {self.base} could not ingest: {job.get('error') or 'the job failed'}")
        result: dict[str, Any] | None = job.get("result")
        return result

    def remove(self, paper_ids: Sequence[str]) -> list[str]:
        removed: list[str] = []
        for pid in paper_ids:
            try:
                got = self._json("DELETE", f"/papers/{quote(pid, safe='')}")
            except ApiError as exc:
                if exc.status == 404:
                    continue
                raise
            removed.extend(r for r in got.get("removed", []) if r not in removed)
        self._stats = None
        return removed

    def edit_paper(self, paper_id: str, **fields: Any) -> Paper:
        self._local_only("editing a paper")

    # -- questions and reports ----------------------------------------------------------------------
    def search(self, query: str, k: int | None = None, filters: Filters | None = None) -> SearchResult:
        body = {"query": query, "k": k or self.settings.top_k, "filters": filters_body(filters)}
        got = SearchResponse.model_validate(self._json("POST", "/search", json=body))
        return SearchResult(query=got.query, hits=got.hits, best_dense=got.best_dense, abstains=got.abstains)

    def abstains(self, result: SearchResult) -> bool:
        """As the server judged it when it searched (`SearchResult.abstains`)."""
        return result.abstains

    def _ask_body(self, question: str, history: Sequence[Turn] | None, filters: Filters | None) -> dict[str, Any]:
        turns = [
            {"question": t.question, "answer": t.answer, "query": t.query, "subjects": list(t.subjects),
             "abstained": t.abstained}
            for t in history or ()
        ]  # fmt: skip
        return {"question": question, "filters": filters_body(filters), "history": turns}

    def ask(self, question: str, history: Sequence[Turn] | None = None, filters: Filters | None = None) -> Answer:
        return Answer.model_validate(self._json("POST", "/ask", json=self._ask_body(question, history, filters)))

    def stream(
        self, question: str, history: Sequence[Turn] | None = None, filters: Filters | None = None
    ) -> Iterator[str | Answer]:
        """The answer's text as the server writes it (SSE), then the authoritative `Answer`."""
        body = {**self._ask_body(question, history, filters), "stream": True}
        try:
            with self._http.stream("POST", "/ask", json=body) as response:
                if response.status_code >= 400:
                    response.read()
                    raise ApiError(error_line(self.base, response.status_code, response.text), response.status_code)
                for event, data in sse_events(response):
                    if event == "token":
                        yield str(data.get("text", ""))
                    elif event == "answer":
                        yield Answer.model_validate(data)
                        return
                    elif event == "error":
                        raise ApiError(f"the API at {self.base}: {data.get('error')}")
        except httpx.TransportError as exc:
            raise ApiError(transport_line(self.base, exc, self.settings.api_timeout_s)) from None
        except (SSEError, ValueError) as exc:
            raise ApiError(f"the API at {self.base} sent a broken answer stream ({type(exc).__name__})") from None
        raise ApiError(f"the API at {self.base} ended the answer stream before the answer")

    def conversation(self) -> ChatSession:
        """History kept here and sent with each question, as the local engine's conversation does."""
        return conversation(self)

    def select_papers(self, paper_ids: Sequence[str] = (), query: str = "", max_papers: int = 5) -> list[Paper]:
        if paper_ids:
            by_id = {p.id: p for p in self.papers(paper_ids)}
            return [by_id[i] for i in paper_ids if i in by_id]
        return self.search(query, max_papers).papers if query.strip() else []

    def compare(
        self,
        paper_ids: Sequence[str] = (),
        query: str = "",
        aspects: str | Sequence[str] | None = None,
        max_papers: int = 5,
        papers: Sequence[Paper] | None = None,
    ) -> Comparison:
        ids = [p.id for p in papers] if papers is not None else list(paper_ids)
        chosen = aspects if aspects is None or isinstance(aspects, str) else list(aspects)
        body = {"paper_ids": ids, "query": "" if ids else query, "aspects": chosen, "max_papers": max_papers}
        return Comparison.model_validate(self._json("POST", "/compare", json=body))

    def summarize(self, topic: str = "", max_papers: int | None = None) -> Summary:
        return Summary.model_validate(self._json("POST", "/summarize", json={"topic": topic, "max_papers": max_papers}))

    # -- the field around the library ----------------------------------------------------------------
    def citation_graph(self) -> CitationGraph:
        return CitationGraph.model_validate(self._json("GET", "/graph"))

    def related(self, paper_id: str, k: int = 5) -> list[RelatedPaper]:
        got = self._json("GET", "/related", params={"id": paper_id, "k": k})
        return [RelatedPaper.model_validate(r) for r in got]

    def paper_map(self) -> LibraryMap:
        return LibraryMap.model_validate(self._json("GET", "/map"))

    # -- what needs the library's own machine -------------------------------------------------------
    def evaluate_file(self, path: Path, k: int = 10, baselines: str = "") -> EvalReport:
        self._local_only("papers eval")

    def verify_claims_file(self, path: Path) -> ClaimsReport:
        self._local_only("papers eval --claims")

    def reindex(self) -> int:
        self._local_only("papers reindex")

    def add_pdf_layout(self, layouts: Mapping[str, Sequence[str]]) -> LayoutReport:
        self._local_only("papers reindex --pdf-layout")

    def export(self, path: Path) -> ExportReport:
        self._local_only("papers export")

    def import_file(self, path: Path) -> ImportReport:
        self._local_only("papers import")

    def claim_server(self, address: str) -> ServerClaim:
        self._local_only("papers serve")


_REMOTES: dict[str, RemoteEngine] = {}
_REMOTES_LOCK = threading.Lock()


def remote_engine(settings: Settings) -> RemoteEngine:
    """One client (one connection pool) per configuration per process."""
    key = settings.model_dump_json()
    with _REMOTES_LOCK:
        if key not in _REMOTES:
            _REMOTES[key] = RemoteEngine(settings)
        return _REMOTES[key]
