"""The front door to the core: every face (CLI, Streamlit pages, the REST API, the MCP server) does its
work through one `PaperAssistant`: the local `Engine` here, or `RemoteEngine` (ui/api_client.py, client
mode against a `papers serve`). Both implement the protocol with the same signatures and return types
(tests/test_front_door.py checks it, and runs the same calls through both); a face names the protocol,
never a class, and never asks which one it holds.

The engine owns the settings and builds the library, the embedder, the retriever and the chat model
lazily, once each, so `papers list` never loads the model and an unchanged re-ingest never opens
Chroma. Features live in their own modules; the engine only wires its parts into them, and every
feature that may use the LLM gets `self.chat_model` (an `LLMSource`) so the set-up error is cached
here and the "LLM, else extractive with a reason" policy stays in assistant/llm/fallback.py.

Thread-safe: construction of each part is guarded; calls only read shared state (the library guards
its own writes).

Why this module is long: it holds the front door twice over, as a typed protocol (what every face may
ask, written once so both engines are checked against it) and as the local engine that wires the
core's parts into it; each method is a few lines handing over to the room that does the work.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from assistant.errors import LLMError, PapersError
from assistant.settings import Settings, get_settings

if TYPE_CHECKING:
    # The reports of the commands only the library's own machine runs (eval, reindex, export, import,
    # serve): a face names them through this module, never their own.
    from assistant.answers.answer import Answerer
    from assistant.answers.verify.claims import ClaimsReport, LabelledClaim
    from assistant.index.embeddings import Embedder
    from assistant.library.library import Library
    from assistant.library.page_layout import LayoutReport
    from assistant.library.store.registry import ServerClaim
    from assistant.library.transfer import ExportReport, ImportReport
    from assistant.llm.client import ChatModel
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
    from assistant.retrieval.evaluate import EvalQuestion, EvalReport
    from assistant.retrieval.retrieve import Retriever


class ChatSession(Protocol):
    """One conversation: follow-ups are understood from its history (kept where the face runs)."""

    engine: PaperAssistant  # the front door it asks through (a page may swap it for another k)

    def reset(self) -> None: ...

    def stream(self, question: str, filters: Filters | None = None) -> Iterator[str | Answer]: ...

    def ask(self, question: str, filters: Filters | None = None) -> Answer: ...


class PaperAssistant(Protocol):
    """What every face may ask of the core. `Engine` answers from a library opened here, `RemoteEngine`
    from a `papers serve`; what client mode cannot do raises one `ClientModeError` line."""

    settings: Settings

    def with_top_k(self, k: int) -> PaperAssistant: ...

    # -- the library ------------------------------------------------------------------------------
    @property
    def location(self) -> str: ...

    @property
    def embed_model(self) -> str: ...

    @property
    def generation(self) -> str: ...

    @property
    def llm_enabled(self) -> bool: ...

    def refresh(self) -> None: ...

    def warm(self) -> None: ...

    def stats(self) -> LibraryStats: ...

    def papers(self, ids: Iterable[str] | None = None) -> list[Paper]: ...

    def count(self) -> int: ...

    def chunk_count(self) -> int: ...

    def chunk_counts(self) -> dict[str, int]: ...

    def llm_status(self, probe: bool = True) -> LLMStatus: ...

    def ingest(self, items: Iterable[Paper | LoadError], progress: Progress | None = None) -> IngestReport: ...

    def remove(self, paper_ids: Sequence[str]) -> list[str]: ...

    def edit_paper(self, paper_id: str, **fields: Any) -> Paper: ...

    # -- questions and reports ------------------------------------------------------------------------
    def search(self, query: str, k: int | None = None, filters: Filters | None = None) -> SearchResult: ...

    def abstains(self, result: SearchResult) -> bool: ...

    def ask(self, question: str, history: Sequence[Turn] | None = None, filters: Filters | None = None) -> Answer: ...

    def stream(
        self, question: str, history: Sequence[Turn] | None = None, filters: Filters | None = None
    ) -> Iterator[str | Answer]: ...

    def conversation(self) -> ChatSession: ...

    def select_papers(self, paper_ids: Sequence[str] = (), query: str = "", max_papers: int = 5) -> list[Paper]: ...

    def compare(
        self,
        paper_ids: Sequence[str] = (),
        query: str = "",
        aspects: str | Sequence[str] | None = None,
        max_papers: int = 5,
        papers: Sequence[Paper] | None = None,
    ) -> Comparison: ...

    def summarize(self, topic: str = "", max_papers: int | None = None) -> Summary: ...

    # -- the field around the library ----------------------------------------------------------------
    def citation_graph(self) -> CitationGraph: ...

    def related(self, paper_id: str, k: int = 5) -> list[RelatedPaper]: ...

    def paper_map(self) -> LibraryMap: ...

    # -- what needs the library's own machine (client mode: ClientModeError) ------------------------
    def evaluate_file(self, path: Path, k: int = 10, baselines: str = "") -> EvalReport: ...

    def verify_claims_file(self, path: Path) -> ClaimsReport: ...

    def reindex(self) -> int: ...

    def add_pdf_layout(self, layouts: Mapping[str, Sequence[str]]) -> LayoutReport: ...

    def export(self, path: Path) -> ExportReport: ...

    def import_file(self, path: Path) -> ImportReport: ...

    def claim_server(self, address: str) -> ServerClaim: ...


def conversation(door: PaperAssistant) -> ChatSession:
    """A chat session over any front door: its token-bounded history kept here and sent with each
    question (assistant/answers/chat.py)."""
    from assistant.answers.chat import Conversation

    return Conversation(door)


class Engine:
    """Search, answers, comparisons, summaries and library upkeep over one configured library.

    `check_model=False` opens a library built with another embedding model anyway, for the commands
    that never embed (list, stats, remove, export, reindex).
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        library: Library | None = None,
        embedder: Embedder | None = None,
        llm: ChatModel | None = None,
        check_model: bool = True,
    ) -> None:
        self.settings = settings or get_settings()
        self._library = library
        self._embedder = embedder
        self._llm = llm
        self._llm_error: str | None = None
        self._check_model = check_model
        self._retriever: Retriever | None = None
        self._answerer: Answerer | None = None
        self._parent: Engine | None = None
        self._children: dict[int, Engine] = {}
        self._lock = threading.RLock()

    def with_top_k(self, k: int) -> PaperAssistant:
        """An engine answering from `k` sources that shares this one's library and model (both stay lazy)."""
        if k == self.settings.top_k:
            return self
        with self._lock:
            child: Engine | None = self._children.get(k)
            if child is None:
                settings = self.settings.model_copy(update={"top_k": k})
                child = self._children[k] = Engine(settings, llm=self._llm, check_model=self._check_model)
                child._parent = self
            return child

    # -- parts, built on first use ----------------------------------------------------------------
    @property
    def library(self) -> Library:
        if self._parent is not None:
            return self._parent.library
        with self._lock:
            if self._library is None:
                from assistant.library.library import Library

                self._library = Library(self.settings, check_model=self._check_model)
            return self._library

    @property
    def embedder(self) -> Embedder:
        if self._parent is not None:
            return self._parent.embedder
        with self._lock:
            if self._embedder is None:
                from assistant.index.embeddings import get_embedder

                self._embedder = get_embedder(self.settings)
            return self._embedder

    @property
    def embedder_loaded(self) -> bool:
        """Whether the embedding model has been loaded (it is only when something needs it)."""
        if self._parent is not None:
            return self._parent.embedder_loaded
        return self._embedder is not None

    @property
    def retriever(self) -> Retriever:
        with self._lock:
            if self._retriever is None:
                from assistant.retrieval.retrieve import Retriever

                self._retriever = Retriever(self.library, self.embedder, self.settings)
            return self._retriever

    @property
    def answerer(self) -> Answerer:
        with self._lock:
            if self._answerer is None:
                from assistant.answers.answer import Answerer

                self._answerer = Answerer(self.settings, self.retriever, self.chat_model)
            return self._answerer

    @property
    def llm_enabled(self) -> bool:
        """Whether answers may use a chat model (else they are extractive): the one place that says so."""
        return self._llm is not None or self.settings.llm_enabled

    def warm(self) -> None:
        """Load the embedding model now rather than at the first question."""
        self.embedder.embed(["warm up"])

    def chat_model(self) -> ChatModel | None:
        """The chat model; None when offline; LLMError (cached) when it is configured but cannot be set up.

        This bound method is the `LLMSource` every LLM-using feature receives.
        """
        with self._lock:
            if self._llm is None and self.settings.llm_enabled:
                if self._llm_error:
                    raise LLMError(self._llm_error)
                from assistant.llm.client import build_llm

                try:
                    self._llm = build_llm(self.settings)
                except LLMError as exc:
                    self._llm_error = str(exc)
                    raise
            return self._llm

    def llm_status(self, probe: bool = True) -> LLMStatus:
        """offline / configured / reachable / unreachable (one HTTP probe when `probe`)."""
        from assistant.llm.client import llm_status

        return llm_status(self.settings, probe=probe)

    # -- questions --------------------------------------------------------------------------------
    def search(self, query: str, k: int | None = None, filters: Filters | None = None) -> SearchResult:
        """Papers with their evidence, best first; `abstains` says whether an answer would abstain."""
        result = self.answerer.search(query, k, filters)
        result.abstains = self.answerer.abstains(result)
        return result

    def abstains(self, result: SearchResult) -> bool:
        """Retrieval confidence too low: the library is taken not to cover the question."""
        return self.answerer.abstains(result)

    def ask(self, question: str, history: Sequence[Turn] | None = None, filters: Filters | None = None) -> Answer:
        return self.answerer.ask(question, history, filters)

    def stream(
        self, question: str, history: Sequence[Turn] | None = None, filters: Filters | None = None
    ) -> Iterator[str | Answer]:
        """Answer text as it is produced, then the authoritative `Answer` (see assistant/answers/answer.py)."""
        return self.answerer.stream(question, history, filters)

    def conversation(self) -> ChatSession:
        return conversation(self)

    def evaluate(self, questions: Sequence[EvalQuestion], k: int, baselines: Sequence[str] = ()) -> EvalReport:
        """Retrieval metrics of labelled questions against this library; with `baselines` ("bm25",
        "dense"), the same questions ranked by that component alone, in this run (`report.baselines`)."""
        from assistant.retrieval.evaluate import component_search, evaluate

        papers = [(p.id, p.title) for p in self.library.papers()]
        report = evaluate(questions, lambda q, depth: self.answerer.search(q, depth), self.abstains, papers, k)
        for name in baselines:
            search = component_search(self.library, self.embedder, self.settings, name)
            report.baselines[name] = evaluate(questions, search, None, papers, k)
        return report

    def evaluate_file(self, path: Path, k: int = 10, baselines: str = "") -> EvalReport:
        """`papers eval FILE`: the question set at `path` (JSONL), with the comma-separated `baselines`."""
        from assistant.retrieval.evaluate import load_questions, parse_baselines

        names = parse_baselines(baselines)
        return self.evaluate(load_questions(path), k, names)

    def verify_claims_file(self, path: Path) -> ClaimsReport:
        """`papers eval --claims FILE`: the labelled claims at `path` (SciFact's JSONL format)."""
        from assistant.answers.verify.claims import load_claims

        return self.verify_claims(load_claims(path))

    def verify_claims(self, claims: Sequence[LabelledClaim]) -> ClaimsReport:
        """The verification core on labelled (claim, cited paper) pairs from this library (`papers eval
        --claims`), with the same-run cosine baselines (assistant/answers/verify/claims.py)."""
        from assistant.answers.verify.claims import evaluate_claims

        papers = {p.id: p for p in self.library.papers()}
        verifier = self.answerer.verifier(self.chat_model())
        return evaluate_claims(claims, papers, self.library.chunks_of, verifier.check, self.embedder)

    # -- reports ----------------------------------------------------------------------------------
    def select_papers(self, paper_ids: Sequence[str] = (), query: str = "", max_papers: int = 5) -> list[Paper]:
        """Named papers (in the order given), or the best hits for `query`."""
        from assistant.reports.compare import select_papers

        # Named papers need no model for this step: the retriever is built only for a query.
        retriever = self.retriever if query.strip() and not paper_ids else None
        return select_papers(
            self.library, paper_ids=paper_ids, query=query, max_papers=max_papers, retriever=retriever
        )

    def compare(
        self,
        paper_ids: Sequence[str] = (),
        query: str = "",
        aspects: str | Sequence[str] | None = None,
        max_papers: int = 5,
        papers: Sequence[Paper] | None = None,
    ) -> Comparison:
        """Papers × aspects, every cell a verbatim quote (or an LLM cell checked against the paper)."""
        from assistant.reports.compare import compare

        chosen = list(papers) if papers is not None else self.select_papers(paper_ids, query, max_papers)
        return compare(chosen, self.library, self.embedder, self.settings, aspects, llm=self.chat_model)

    def summarize(self, topic: str = "", max_papers: int | None = None) -> Summary:
        """A themed, cited literature summary of the papers on `topic` (the whole library when empty)."""
        from assistant.reports.summary import summarize

        return summarize(
            topic, self.library, self.embedder, self.settings, self.retriever, max_papers=max_papers,
            llm=self.chat_model,
        )

    # -- related papers and the citation graph ---------------------------------------------------
    def citation_graph(self) -> CitationGraph:
        """Which papers cite which (by DOI, arXiv id, title + year) and the works cited but missing
        (assistant/field/graph.py); built once per library content."""
        from assistant.field.graph import library_graph

        return library_graph(self.library)

    def related(self, paper_id: str, k: int = 5) -> list[RelatedPaper]:
        """The `k` papers nearest `paper_id` by text and citations, each with its reasons (field/related.py)."""
        from assistant.field.related import related_in

        return related_in(self.library, self.citation_graph(), paper_id, k)

    def paper_map(self) -> LibraryMap:
        """Every paper on a 2-D map with its named theme and year (assistant/field/library_map.py); from the
        stored vectors (no model loaded), recomputed only when the library changed."""
        from assistant.field.library_map import library_map

        return library_map(self.library, self.settings.map_tsne_max_papers)

    # -- the library ------------------------------------------------------------------------------
    def ingest(self, items: Iterable[Paper | LoadError], progress: Progress | None = None) -> IngestReport:
        """Records (and the errors met loading them) into the library; unchanged papers are skipped."""
        from assistant.library.ingestion import add_records

        return add_records(items, self.library, lambda: self.embedder, self.settings, progress)

    def edit_paper(self, paper_id: str, **fields: Any) -> Paper:
        """Fix a paper's title, authors or year by hand; the edit survives re-ingest of its source."""
        from assistant.library.edits import clean_edit, with_edit

        found = self.library.papers([paper_id])
        if not found:
            raise PapersError(f"not in the library: {paper_id}")
        edited = with_edit(found[0], clean_edit(fields))
        self.ingest([edited])
        return self.library.papers([paper_id])[0]

    def papers(self, ids: Iterable[str] | None = None) -> list[Paper]:
        return self.library.papers(ids)

    def count(self) -> int:
        return self.library.count()

    def chunk_count(self) -> int:
        return self.library.chunk_count()

    def chunk_counts(self) -> dict[str, int]:
        """Chunks per paper id."""
        return self.library.manifest.chunk_counts()

    def refresh(self) -> None:
        """Catch up with writes made by another process (a CLI ingest while the UI runs)."""
        self.library.refresh_if_stale()

    @property
    def location(self) -> str:
        """Where the library lives: a directory, or the Chroma server's URL."""
        return self.library.location

    @property
    def embed_model(self) -> str:
        """The embedding model's canonical name (what the library records it was built with)."""
        return self.library.model_name

    @property
    def generation(self) -> str:
        """Changes whenever the library does (for caches keyed by library content)."""
        return self.library.generation

    def remove(self, paper_ids: Sequence[str]) -> list[str]:
        """Remove papers from every store at once; returns the ids that were there."""
        return self.library.remove(paper_ids)

    def stats(self) -> LibraryStats:
        from assistant.models import LibraryStats

        lib = self.library
        meta = lib.meta
        dim = meta.get("embed_dim")
        return LibraryStats(
            papers=lib.count(),
            chunks=lib.chunk_count(),
            chroma_chunks=lib.collection.count(),
            bm25_chunks=len(lib.bm25),
            embed_model=str(meta.get("embed_model", self.settings.embed_model)),
            embed_dim=int(dim) if dim is not None else None,
            location=lib.location,
            collection=self.settings.collection,
            llm=self.settings.llm_model or "offline (extractive)",
            llm_enabled=self.llm_enabled,
        )

    def claim_server(self, address: str) -> ServerClaim:
        """Claim this library for one API server at `address` (`papers serve`); LibraryBusyError names
        the server already holding it (assistant/library/store/registry.py)."""
        from assistant.library.store.registry import claim_library

        return claim_library(self.settings, address)

    def reindex(self) -> int:
        """Re-embed every chunk with the configured embedding model; returns the chunks re-embedded."""
        return self.library.reindex(self.embedder.embed)

    def add_pdf_layout(self, layouts: Mapping[str, Sequence[str]]) -> LayoutReport:
        """Page numbers for the stored chunks of PDFs (paper id → its page texts), in place, nothing
        re-embedded: `papers reindex --pdf-layout` (assistant/library/page_layout.py)."""
        from assistant.library.page_layout import add_page_layout

        return add_page_layout(self.library, layouts)

    def export(self, path: Path) -> ExportReport:
        from assistant.library.transfer import export_library

        return export_library(self.library, path)

    def import_file(self, path: Path) -> ImportReport:
        """Load a `papers export` file, keeping its vectors; a wrong file fails before the library opens."""
        from assistant.library.transfer import import_library, read_header

        read_header(path)
        return import_library(self.library, path)


_ENGINES: dict[tuple[Any, ...], Engine] = {}
_ENGINES_LOCK = threading.Lock()


def get_engine(settings: Settings | None = None, *, check_model: bool = True) -> Engine:
    """One engine per library/model configuration in this process (the model loads once)."""
    s = settings or get_settings()
    key = (s.model_dump_json(), check_model)
    with _ENGINES_LOCK:
        engine = _ENGINES.get(key)
        if engine is None:
            engine = _ENGINES[key] = Engine(s, check_model=check_model)
        return engine


def reset_engines() -> None:
    with _ENGINES_LOCK:
        _ENGINES.clear()
