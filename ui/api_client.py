"""Client mode: `RemoteEngine`, the subset of `Engine` the faces call, over the REST API of a
`papers serve` at PAPERS_API_URL (key: PAPERS_API_KEY) instead of a library opened here.

The API answers with the core's own models (`Paper`, `Answer`, `Comparison`, `Summary`,
`IngestReport`), rebuilt here, so the pages and the CLI work unchanged. Nothing is cached between
calls, so two apps on one server see each other's writes at their next rerun. Every failure the
server or the network can cause is one `ApiError` line naming the server and the setting to fix.
Writes: records loaded here (files, arXiv, Zotero) go as JSON records to `POST /ingest`, a job on
the server's one writer, followed at `GET /jobs/{id}` for progress. What only the library's own
machine can do (reindex, export/import, hand edits, the citation graph, the map) says so in one line.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import quote

import httpx

from assistant.errors import ApiError
from assistant.models import Answer, Comparison, IngestReport, LoadError, Paper, Summary
from ui.api.schemas import SearchResponse

if TYPE_CHECKING:
    from assistant.answers.chat import Conversation
    from assistant.llm.client import LLMStatus
    from assistant.models import Turn
    from assistant.retrieval.retrieve import Filters
    from assistant.settings import Settings

Progress = Callable[[int, int, str], None]
POLL_S = 0.25  # how often an ingest job is polled (its progress bar moves at this pace)
STATS_TTL_S = 1.0  # one rerun asks for the count, the chunks and the model: one GET /stats
OFFLINE = "offline (extractive)"


class RemoteSearch(SearchResponse):
    """POST /search's answer, with `SearchResult`'s `papers` view."""

    @property
    def papers(self) -> list[Paper]:
        return [h.paper for h in self.hits]


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


def sse_events(lines: Iterable[str]) -> Iterator[tuple[str, Any]]:
    """(event, data) of a Server-Sent Events stream whose `data:` lines are each one JSON value."""
    event = "message"
    data: list[str] = []
    for line in lines:
        if not line:
            if data:
                yield event, json.loads("\n".join(data))  # a frame's data lines join with newlines (SSE)
            event, data = "message", []
        elif line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())
    if data:
        yield event, json.loads("\n".join(data))


class RemoteEngine:
    """`Engine`'s face-facing methods over HTTP. `settings` are this machine's (k, timeouts, the URL)."""

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

    def with_top_k(self, k: int) -> RemoteEngine:
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
        raise ApiError(
            f"{what} is not available in client mode (PAPERS_API_URL={self.base}): run it on the server's machine"
        )

    # -- the library ------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Every call asks the server: only the short-lived stats are dropped."""
        self._stats = None

    def stats(self) -> dict[str, Any]:
        now = time.monotonic()
        if self._stats is None or now - self._stats[0] > STATS_TTL_S:
            self._stats = (now, dict(self._json("GET", "/stats")))
        return dict(self._stats[1])

    def papers(self, ids: Iterable[str] | None = None) -> list[Paper]:
        params = None if ids is None else [("id", i) for i in ids]
        if params == []:
            return []
        return [Paper.model_validate(p) for p in self._json("GET", "/papers", params=params)]

    def count(self) -> int:
        return int(self.stats().get("papers", 0))

    def chunk_count(self) -> int:
        return int(self.stats().get("chunks", 0))

    def chunk_counts(self) -> dict[str, int]:
        """Per paper the API does not say; the Library page shows no counts then."""
        return {}

    @property
    def location(self) -> str:
        return f"{self.stats().get('location', '?')} via {self.base}"

    @property
    def embed_model(self) -> str:
        return str(self.stats().get("embed_model", ""))

    @property
    def generation(self) -> str:
        """Changes with every write the server finishes (its job counts) or the library's size."""
        s = self.stats()
        jobs = s.get("jobs") or {}
        return f"{s.get('papers')}:{s.get('chunks')}:{jobs.get('done')}:{jobs.get('failed')}"

    @property
    def llm_enabled(self) -> bool:
        return str(self.stats().get("llm", OFFLINE)) != OFFLINE

    def llm_status(self, probe: bool = True) -> LLMStatus:
        """The server's LLM as it reports it (the server probes it, not this machine)."""
        from assistant.llm.client import LLMStatus

        model = str(self.stats().get("llm", OFFLINE))
        return LLMStatus("offline") if model == OFFLINE else LLMStatus("configured", model, f"the API at {self.base}")

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

    # -- questions and reports ----------------------------------------------------------------------
    def search(self, query: str, k: int | None = None, filters: Filters | None = None) -> RemoteSearch:
        body = {"query": query, "k": k or self.settings.top_k, "filters": filters_body(filters)}
        return RemoteSearch.model_validate(self._json("POST", "/search", json=body))

    def abstains(self, result: RemoteSearch) -> bool:
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
                for event, data in sse_events(response.iter_lines()):
                    if event == "token":
                        yield str(data.get("text", ""))
                    elif event == "answer":
                        yield Answer.model_validate(data)
                        return
                    elif event == "error":
                        raise ApiError(f"the API at {self.base}: {data.get('error')}")
        except httpx.TransportError as exc:
            raise ApiError(transport_line(self.base, exc, self.settings.api_timeout_s)) from None
        raise ApiError(f"the API at {self.base} ended the answer stream before the answer")

    def conversation(self) -> Conversation:
        """History kept here and sent with each question, as the local engine's conversation does."""
        from assistant.answers.chat import Conversation

        return Conversation(self)

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

    # -- what needs the library's own machine -------------------------------------------------------
    def edit_paper(self, paper_id: str, **fields: Any) -> NoReturn:
        self._local_only("editing a paper")

    def citation_graph(self) -> NoReturn:
        self._local_only("the citation graph")

    def related(self, paper_id: str, k: int = 5) -> NoReturn:
        self._local_only("related papers")

    def paper_map(self, *args: Any, **kwargs: Any) -> NoReturn:
        self._local_only("the library map")

    def evaluate(self, *args: Any, **kwargs: Any) -> NoReturn:
        self._local_only("papers eval")

    def reindex(self) -> NoReturn:
        self._local_only("papers reindex")

    def add_pdf_layout(self, *args: Any) -> NoReturn:
        self._local_only("papers reindex --pdf-layout")

    def export(self, *args: Any) -> NoReturn:
        self._local_only("papers export")

    def import_file(self, *args: Any) -> NoReturn:
        self._local_only("papers import")

    def claim_server(self, address: str) -> NoReturn:
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
