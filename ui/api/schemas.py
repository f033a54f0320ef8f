"""Request bodies and the responses that are not the core's own models. Most responses are the core's
models (`Paper`, `Answer`, `Comparison`, `Summary`, `LibraryStats`, `CitationGraph`, `LibraryMap`...),
so `RemoteEngine` rebuilds exactly what `Engine` returns. Unknown request fields are refused (422), so
a misspelt option never silently does nothing. Every route names its response model: the OpenAPI
schema at /openapi.json describes each answer."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from assistant.models import Answer, Filters, IngestReport, Paper, PaperHit
from ui.api.jobs import Job


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FiltersIn(Strict):
    year_from: int | None = None
    year_to: int | None = None
    author: str | None = None
    tag: str | None = None

    def to_filters(self) -> Filters:
        return Filters(**self.model_dump())


class TurnIn(Strict):
    """One earlier exchange of a conversation the client keeps itself (POST /ask's `history`)."""

    question: str
    answer: str
    query: str = ""
    subjects: list[str] = Field(default_factory=list)
    abstained: bool = False


class SearchRequest(Strict):
    query: str = Field(min_length=1, max_length=4000)
    k: int | None = Field(None, ge=1, le=200, description="How many papers (default: PAPERS_TOP_K).")
    filters: FiltersIn | None = None


class SearchResponse(BaseModel):
    query: str
    hits: list[PaperHit]
    best_dense: float = Field(description="Best chunk cosine: the retrieval confidence used for abstention.")
    abstains: bool = Field(description="Whether an answer to this query would abstain (library off-topic).")


class AskRequest(Strict):
    question: str = Field(min_length=1, max_length=4000)
    filters: FiltersIn | None = None
    history: list[TurnIn] = Field(default_factory=list)
    stream: bool = Field(False, description="Server-Sent Events: `token` events, then one `answer` event.")


class ChatRequest(Strict):
    question: str = Field(min_length=1, max_length=4000)
    conversation_id: str | None = Field(None, description="From an earlier reply; empty starts a conversation.")
    filters: FiltersIn | None = None
    reset: bool = Field(False, description="Forget the conversation's history first.")
    stream: bool = False


class ChatResponse(BaseModel):
    conversation_id: str
    answer: Answer


class Health(BaseModel):
    status: Literal["ok"] = "ok"
    auth: bool = Field(description="Whether the server asks for API keys (PAPERS_API_KEYS).")


class Removed(BaseModel):
    removed: list[str] = Field(description="The ids removed (the one asked for).")
    job: str = Field(description="The delete job's id.")


class IngestDone(BaseModel):
    """`POST /ingest?wait=true`: the finished job and its report."""

    report: IngestReport | None
    job: Job


CompareFormat = Literal["json", "markdown", "csv"]
SummaryFormat = Literal["json", "markdown", "bibtex", "csv"]


class CompareRequest(Strict):
    paper_ids: list[str] = Field(default_factory=list, max_length=20)
    query: str = ""
    aspects: str | list[str] | None = Field(
        None, description="Columns; default problem, method, data, results, limitations."
    )
    max_papers: int = Field(5, ge=1, le=20)
    format: CompareFormat = Field("json", description="json: the Comparison; markdown or csv: that text.")

    @model_validator(mode="after")
    def _one_choice(self) -> CompareRequest:
        if bool(self.paper_ids) == bool(self.query.strip()):
            raise ValueError("give either paper_ids or query, not both or neither")
        return self


class SummarizeRequest(Strict):
    topic: str = ""
    max_papers: int | None = Field(None, ge=1, le=200)
    format: SummaryFormat = Field(
        "json", description="json: the Summary; markdown, bibtex or csv (the references): that text."
    )


class IngestRequest(Strict):
    records: list[dict[str, Any]] = Field(default_factory=list, description="Paper records (the JSONL fields).")
    papers: list[Paper] = Field(
        default_factory=list,
        description=(
            "Papers as the core's model, loaded by a client (`papers ingest` in client mode): body sections, "
            "pages, reference list and source kept, so a PDF read on the client arrives whole."
        ),
    )
    arxiv: list[str] = Field(default_factory=list, max_length=200, description="arXiv ids to fetch.")
    arxiv_query: str = ""
    max_results: int = Field(10, ge=1, le=200)

    @model_validator(mode="after")
    def _something(self) -> IngestRequest:
        if not (self.records or self.papers or self.arxiv or self.arxiv_query.strip()):
            raise ValueError("give records, papers, arxiv ids or an arxiv_query (or upload files as multipart)")
        return self
