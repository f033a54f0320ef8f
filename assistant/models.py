"""The data that flows through the product, and what the faces read: pure data, no I/O here.

Every type a face names lives here (the faces import only the front door `assistant.engine`, these
models, the settings, the errors, `assistant.text` and `assistant.reports.exports`): papers and
chunks, search results and filters, answers with their checked sentences and per-sentence support,
comparisons, summaries, the citation graph, the library map, related papers, the LLM's status and
the library's statistics, and the few constants the pages show (default aspects, "not stated").

Why this module is long: it is the one vocabulary shared by the core, the local and remote engines
and every face; the types are small and independent, and split over modules a face would again
import from several places.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field, model_validator

if TYPE_CHECKING:
    import numpy as np

# What the pages and the CLI offer by default (the core uses the same values).
DEFAULT_ASPECTS: tuple[str, ...] = ("problem", "method", "data", "results", "limitations")
"""A comparison's columns when none are asked for (each one described in reports/compare/aspects.toml)."""
NOT_STATED = "not stated"
"""What an empty comparison cell says."""
DEFAULT_MAX_PAPERS = 12
"""Papers a summary covers when no number is given."""
MIN_MISSING = 2
"""A work enters the citation graph's "cited but missing" once this many papers of the library cite it."""
MAP_VERSION = 2
"""The library map's format; a cached map of another version is recomputed."""


def normalize_title(title: str) -> str:
    text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


class Section(BaseModel):
    heading: str = ""
    text: str


class BibReference(BaseModel):
    """One entry of a paper's own reference list (parsed from a PDF)."""

    text: str = Field("", description="The entry as printed, joined into one line.")
    title: str = ""
    authors: list[str] = Field(default_factory=list)
    year: int | None = None
    doi: str = ""
    arxiv_id: str = ""


class Paper(BaseModel):
    """One paper as the library knows it. `id` is stable across re-ingests; built without one, it is
    `make_paper_id`'s from the DOI, arXiv id or title."""

    id: str = Field("", description="doi:…, arxiv:…, a record's own id, or t:<title hash> (make_paper_id).")
    title: str
    abstract: str = ""
    sections: list[Section] = Field(default_factory=list, description="Body text (PDFs), by section.")
    authors: list[str] = Field(default_factory=list)
    year: int | None = None
    url: str = ""
    doi: str = ""
    arxiv_id: str = ""
    venue: str = ""
    tags: list[str] = Field(default_factory=list)
    source: str = Field("", description="Where it came from: file:line, arxiv:ID, seed:line.")
    references: list[BibReference] = Field(default_factory=list, description="The paper's reference list (PDFs).")
    page_texts: list[str] = Field(
        default_factory=list,
        description="Each PDF page's text, only while ingesting (chunks get their page from it); never stored.",
    )

    @model_validator(mode="before")
    @classmethod
    def identify(cls, data: Any) -> Any:
        """A record built without an id gets the one id rule's (`make_paper_id`): loaders never make ids."""
        if isinstance(data, dict) and not str(data.get("id") or "").strip():
            fields = {k: str(data.get(k) or "") for k in ("doi", "arxiv_id", "title")}
            data = {**data, "id": make_paper_id(**fields)}
        return data

    @property
    def full_text(self) -> str:
        parts = [self.abstract] + [s.text for s in self.sections]
        return "\n\n".join(p for p in parts if p)

    def content_hash(self) -> str:
        """Hash of everything that ends up in the library (source location excluded on purpose)."""
        # No references, no key: the hash of a paper without them is what it was before the field.
        # Page texts only say where the text is, so a PDF hashes as it did before they were read.
        payload = self.model_dump(
            exclude={"source", "page_texts"} if self.references else {"source", "references", "page_texts"}
        )
        blob = json.dumps(payload, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]

    def record(self) -> dict[str, Any]:
        """Metadata view without the body (what `papers list` shows)."""
        return self.model_dump(exclude={"sections", "page_texts"})

    def edited_fields(self) -> list[str]:
        """The fields the user fixed by hand (`edited:<field>` tags; assistant/library/edits.py)."""
        return [f for f in EDITABLE if EDITED_TAG + f in self.tags]


EDITABLE = ("title", "authors", "year")
"""The fields of a paper a user may fix by hand (`Engine.edit_paper`)."""
EDITED_TAG = "edited:"


# -- paper ids: the one rule every loader follows -------------------------------------------------------
_DOI_PREFIX = re.compile(r"^(?:https?://(?:dx\.|www\.)?doi\.org/|doi:\s*)", re.IGNORECASE)
_ARXIV_DOI = re.compile(r"^10\.48550/arxiv\.(.+)$", re.IGNORECASE)
_ARXIV_PREFIX = re.compile(r"^(?:arxiv:\s*|https?://(?:www\.|export\.)?arxiv\.org/(?:abs|pdf)/)", re.IGNORECASE)
_ARXIV_NEW = re.compile(r"^(\d{4}\.\d{4,5})(?:v\d+)?$")
_ARXIV_OLD = re.compile(r"^([a-z][a-z\-]*)(?:\.[a-z]{2})?/(\d{7})(?:v\d+)?$", re.IGNORECASE)


def clean_doi(doi: str) -> str:
    """A DOI as the paper shows it: `https://doi.org/`, `doi:` and trailing punctuation off, case kept."""
    return _DOI_PREFIX.sub("", doi.strip()).strip().rstrip(".,;")


def norm_doi(doi: str) -> str:
    """A DOI for matching and ids: `clean_doi`, lowercased (DOIs are case-insensitive)."""
    return clean_doi(doi).lower()


def norm_arxiv_id(arxiv_id: str) -> str:
    """An arXiv id for matching and ids: `arXiv:` / abs or pdf URL / `.pdf` and the version off
    (`arXiv:2301.00001v2` → `2301.00001`); an old-style id's archive lowercased and its subject class
    dropped, as arXiv's canonical form has it (`Math.AG/0101001v1` → `math/0101001`). Text that is
    no arXiv id is only stripped of those (the rule never loses what a record gave)."""
    text = _ARXIV_PREFIX.sub("", arxiv_id.strip()).strip()
    text = re.sub(r"\.pdf$", "", text, flags=re.IGNORECASE)
    if m := _ARXIV_NEW.match(text):
        return m.group(1)
    if m := _ARXIV_OLD.match(text):
        return f"{m.group(1).lower()}/{m.group(2)}"
    return re.sub(r"v\d+$", "", text)


def arxiv_id_of_doi(doi: str) -> str:
    """The arXiv id an arXiv DOI names (`10.48550/arXiv.2301.00001` → `2301.00001`); "" for other DOIs."""
    m = _ARXIV_DOI.match(clean_doi(doi))
    return norm_arxiv_id(m.group(1)) if m else ""


def make_paper_id(
    *, given: str = "", doi: str = "", arxiv_id: str = "", title: str = "", fallback: str = ""
) -> str:
    """The paper-id rule, the one place every loader's id comes from (`Paper` applies it to a record
    built without an id). First that applies:

    1. `given`: a record's own id (JSONL / CSV `id`), as is;
    2. an arXiv DOI (`10.48550/arXiv.X`) → `arxiv:X`: it names the preprint, as arXiv itself does;
    3. a DOI → `doi:` + `norm_doi` (no `https://doi.org/`, lowercased);
    4. an arXiv id → `arxiv:` + `norm_arxiv_id` (no `arXiv:`, no version);
    5. `fallback`: a source's own stable key (Zotero's `zotero:<itemKey>`);
    6. `t:` + a hash of the normalised title.

    What this changed for existing libraries (a re-ingest adds the new id; `papers remove` the old):
    a paper with an arXiv DOI from BibTeX, Web of Science, a PDF, JSONL or CSV was `doi:10.48550/arxiv.x`
    (RIS and CSL-JSON already gave `arxiv:X`); a paper from the arXiv API with a journal DOI was
    `arxiv:X` and is now `doi:…`, as from every other format; a Zotero item with an arXiv id and no DOI
    was `zotero:<key>` (a Zotero sync lists the old one as gone, `--prune` removes it); an old-style id
    with a subject class (`math.AG/0101001`) drops it. DOIs with `https://doi.org/` (WoS) and any other
    id are unchanged. The title hash stays title-only (not title + year): every such id is kept.
    """
    if given and given.strip():
        return given.strip()
    if aid := arxiv_id_of_doi(doi):
        return "arxiv:" + aid
    if doi and (key := norm_doi(doi)):
        return "doi:" + key
    if arxiv_id and (key := norm_arxiv_id(arxiv_id)):
        return "arxiv:" + key
    if fallback and fallback.strip():
        return fallback.strip()
    return "t:" + hashlib.sha1(normalize_title(title).encode()).hexdigest()[:12]


class Chunk(BaseModel):
    id: str
    paper_id: str
    index: int
    text: str
    section: str = ""
    page: int | None = Field(None, description="The PDF page (1-based) the chunk starts on; None: unknown.")


class LoadError(BaseModel):
    """One item that could not be read; the rest of the source goes on."""

    source: str
    line: int | None = None
    message: str

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line is not None else self.source
        return f"{where}: {self.message}"


Progress = Callable[[int, int, str], None]
"""An ingest's progress: (done, total, stage), called as records are chunked and embedded."""


class IngestReport(BaseModel):
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    errors: list[LoadError] = Field(default_factory=list)
    chunks_written: int = 0
    embedded: int = 0
    seconds: float = 0.0

    def public(self) -> dict[str, Any]:
        return {
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "failed": self.failed,
            "errors": [e.model_dump() for e in self.errors],
        }


class Evidence(BaseModel):
    """A chunk that supports a paper's relevance to a query."""

    chunk_id: str
    paper_id: str
    text: str
    score: float = 0.0
    section: str = ""
    page: int | None = Field(None, description="The PDF page (1-based) the chunk starts on; None: unknown.")


class PaperHit(BaseModel):
    paper: Paper
    score: float
    dense_score: float = 0.0
    evidence: list[Evidence] = Field(default_factory=list)


Verdict = Literal["supported", "partly_supported", "contradicted", "not_found"]
"""What a cited passage says of a sentence (assistant/answers/verify): it says it, says part of it, says the
opposite, or does not say it."""

Judge = Literal["verbatim", "offline", "llm"]
"""Who decided a verdict: the sentence is the passage's own words (supported by construction), the
offline judge (embeddings + lexical, numeric and negation agreement), or the LLM judge."""


class SentenceCheck(BaseModel):
    """One sentence that carries citations, checked against the passages it cites."""

    text: str = Field(description="The sentence as shown, its [n] markers taken out.")
    cites: list[int] = Field(default_factory=list, description="The source numbers it cites.")
    verdict: Verdict
    score: float = Field(0.0, ge=0.0, le=1.0, description="How strongly the passage bears the sentence out (0-1).")
    source: int | None = Field(None, description="The cited source whose passage gave the verdict and quote.")
    quote: str = Field("", description="The passage's sentence that best bears it out, verbatim.")
    paper_id: str = ""
    page: int | None = Field(None, description="The PDF page (1-based) of the quoted passage; None: unknown.")
    section: str = ""
    judge: Judge = "offline"
    part: str = Field("", description="Where in a report the sentence stands (overview, a section, synthesis).")
    shown: bool = Field(True, description="False: the sentence was left out of the text for want of support.")
    reason: str = Field("", description="Why the verdict is what it is (e.g. the LLM judge's failure).")


class Citation(BaseModel):
    n: int
    id: str
    title: str
    text: str
    url: str = ""
    authors: list[str] = Field(default_factory=list)
    year: int | None = None
    section: str = Field("", description="The heading of the section the cited text is from (PDFs).")
    page: int | None = Field(None, description="The PDF page (1-based) the cited chunk starts on; None: unknown.")


class Answer(BaseModel):
    question: str
    answer: str
    mode: Literal["llm", "extractive"]
    abstained: bool = False
    fallback_reason: str | None = None
    citations: list[Citation] = Field(default_factory=list)
    model: str = ""
    query: str = Field("", description="The standalone query actually searched (after follow-up rewriting).")
    truncated: bool = Field(
        False, description="The model hit its token limit; the answer was cut back to its last complete sentence."
    )
    notes: list[str] = Field(
        default_factory=list, description="What the user should know about this answer (sources dropped, ...)."
    )
    sentences: list[SentenceCheck] = Field(
        default_factory=list, description="Each cited sentence's verdict against the passage it cites."
    )

    blocks: list[SupportBlock] = Field(
        default_factory=list,
        description="The answer as shown, block by block and sentence by sentence, each sentence with the "
        "sources that bear it out (the verdicts of `sentences`, nothing judged anew); set by the core "
        "(assistant/answers/support.py), so a local and a remote answer show the same.",
    )

    def support(self) -> list[SupportBlock]:
        """The support blocks the core attached (`blocks`)."""
        return self.blocks

    def public(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answer": self.answer,
            "mode": self.mode,
            "abstained": self.abstained,
            "fallback_reason": self.fallback_reason,
            "truncated": self.truncated,
            "notes": list(self.notes),
            "sentences": [c.model_dump() for c in self.sentences],
            "citations": [
                {
                    "n": c.n,
                    "id": c.id,
                    "title": c.title,
                    "text": c.text,
                    **({"section": c.section} if c.section else {}),
                    **({"page": c.page} if c.page else {}),
                }
                for c in self.citations
            ],
        }


class Cell(BaseModel):
    text: str | None = None
    quote: str | None = None
    verdict: Verdict | None = Field(None, description="Does the quote bear the text out? None: an empty cell.")
    score: float | None = None
    judge: Judge | None = None


class ComparedPaper(BaseModel):
    id: str
    title: str
    cells: dict[str, Cell]
    fallback_reason: str | None = Field(
        None, description="Why this row holds its offline (extractive) cells in an LLM comparison."
    )


class Comparison(BaseModel):
    aspects: list[str]
    papers: list[ComparedPaper]
    synthesis: str | None = None
    mode: Literal["llm", "extractive"] = "extractive"
    fallback_reason: str | None = None
    sentences: list[SentenceCheck] = Field(default_factory=list, description="The synthesis's sentences, checked.")
    notes: list[str] = Field(default_factory=list, description="What the user should know (cells rewritten, ...).")


class SummarySection(BaseModel):
    heading: str
    paragraphs: list[str]


class Reference(BaseModel):
    n: int
    id: str
    title: str
    authors: list[str] = Field(default_factory=list)
    year: int | None = None
    url: str = ""


class Summary(BaseModel):
    title: str
    overview: str
    sections: list[SummarySection]
    references: list[Reference]
    mode: Literal["llm", "extractive"] = "extractive"
    fallback_reason: str | None = None
    sentences: list[SentenceCheck] = Field(
        default_factory=list,
        description="Every cited sentence of the overview and sections, checked (numbers as shown).",
    )
    notes: list[str] = Field(default_factory=list, description="What the user should know (parts left offline, ...).")


@dataclass
class Turn:
    question: str
    answer: str
    query: str = ""  # the standalone query that was searched
    subjects: list[str] = field(default_factory=list)  # titles of the papers cited, first = main subject
    abstained: bool = False

    @classmethod
    def from_answer(cls, answer: Answer) -> Turn:
        return cls(
            question=answer.question,
            answer=answer.answer,
            query=answer.query or answer.question,
            subjects=[c.title for c in answer.citations],
            abstained=answer.abstained,
        )


# -- search ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Filters:
    """Which papers a search may return (None: no limit)."""

    year_from: int | None = None
    year_to: int | None = None
    author: str | None = None
    tag: str | None = None

    def as_kwargs(self) -> dict[str, Any]:
        return {"year_from": self.year_from, "year_to": self.year_to, "author": self.author, "tag": self.tag}


@dataclass
class SearchResult:
    query: str
    hits: list[PaperHit]
    best_dense: float  # highest cosine of any chunk: the retrieval confidence used for abstention
    query_vec: np.ndarray | None = None  # the embedded query, reused by sentence selection (local only)
    abstains: bool = False  # an answer to this query would abstain (set by the front door's `search`)

    @property
    def papers(self) -> list[Paper]:
        return [h.paper for h in self.hits]


# -- what a face shows of an answer -----------------------------------------------------------------
SupportStatus = Literal["supported", "partly", "unsupported", "neutral"]
BlockKind = Literal["para", "item", "heading", "code", "table"]


@dataclass(frozen=True)
class SentenceSupport:
    text: str  # the sentence as written, its [n] markers taken out
    sources: tuple[int, ...]  # the sources that support it, in citation order
    status: SupportStatus
    claimed: tuple[int, ...] = ()  # sources it cites that are not shown as bearing it out
    check: SentenceCheck | None = None  # the core's verdict, with its quote, score and judge


@dataclass
class SupportBlock:
    kind: BlockKind
    sentences: list[SentenceSupport] = field(default_factory=list)
    raw: str = ""  # code and tables: the block as written
    depth: int = 0  # list items: nesting (indent / 2)
    ordered: bool = False  # list items: numbered


def support_counts(blocks: list[SupportBlock]) -> dict[SupportStatus, int]:
    """Sentences per support status."""
    counts: dict[SupportStatus, int] = {"supported": 0, "partly": 0, "unsupported": 0, "neutral": 0}
    for b in blocks:
        for s in b.sentences:
            counts[s.status] += 1
    return counts


# -- the LLM and the library ---------------------------------------------------------------------
LLMState = Literal["offline", "configured", "reachable", "unreachable"]


@dataclass(frozen=True)
class LLMStatus:
    state: LLMState
    model: str = ""
    base_url: str = ""
    detail: str = ""

    @property
    def enabled(self) -> bool:
        """A chat model is configured (answers may use it); "offline" answers are extractive."""
        return self.state != "offline"

    @property
    def label(self) -> str:
        if self.state == "offline":
            return "offline (extractive answers)"
        where = f" at {self.base_url}" if self.base_url else ""
        extra = f": {self.detail}" if self.detail else ""
        return f"{self.model}{where} — {self.state}{extra}"


class JobCounts(BaseModel):
    """A `papers serve` writer queue's jobs by state (finished ones as far as they are kept)."""

    queued: int = 0
    running: int = 0
    done: int = 0
    failed: int = 0


class LibraryStats(BaseModel):
    """What `papers stats` prints: the library's size, model and storage, and its LLM; through a
    server (`GET /stats`, client mode) also its writer queue's jobs."""

    papers: int
    chunks: int
    chroma_chunks: int = Field(description="Chunks in Chroma (agrees with `chunks` in a healthy library).")
    bm25_chunks: int = Field(description="Chunks in the lexical index.")
    embed_model: str
    embed_dim: int | None = None
    location: str = Field(description="A directory, or the Chroma server's URL.")
    collection: str
    llm: str = Field(description="The chat model's name, or 'offline (extractive)'.")
    llm_enabled: bool = Field(description="Whether answers may use the chat model (else extractive).")
    jobs: JobCounts | None = Field(None, description="The server's writer queue (None: a library opened here).")

    def public(self) -> dict[str, Any]:
        """`papers stats --json`: the fields, `jobs` only where there is a queue."""
        return self.model_dump(exclude={"jobs"} if self.jobs is None else set())


# -- the citation graph ----------------------------------------------------------------------------
Via = Literal["doi", "arxiv", "title"]


class Link(BaseModel):
    """One paper of the library citing another."""

    source: str = Field(description="The citing paper's id.")
    target: str = Field(description="The cited paper's id.")
    via: Via = Field(description="What matched: the DOI, the arXiv id, or the title and year.")


class GraphPaper(BaseModel):
    id: str
    title: str
    year: int | None = None
    references: int = Field(0, description="Entries in the paper's own reference list.")
    cites: int = Field(0, description="Papers of the library it cites.")
    cited_by: int = Field(0, description="Papers of the library citing it.")


class MissingWork(BaseModel):
    """A work cited by papers of the library that is not in it."""

    key: str = Field(description="Stable id of the work within this graph (its DOI, arXiv id or title).")
    title: str
    year: int | None = None
    authors: list[str] = Field(default_factory=list)
    doi: str = ""
    arxiv_id: str = ""
    cited_by: list[str] = Field(default_factory=list, description="Ids of the library papers citing it.")

    @property
    def count(self) -> int:
        return len(self.cited_by)


class CitationGraph(BaseModel):
    papers: list[GraphPaper] = Field(default_factory=list)
    links: list[Link] = Field(default_factory=list)
    missing: list[MissingWork] = Field(
        default_factory=list, description=f"Works cited by at least {MIN_MISSING} papers, most cited first."
    )
    works: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Per paper id, the works its references resolve to: library paper ids or missing-work keys.",
    )

    def paper(self, paper_id: str) -> GraphPaper | None:
        return next((p for p in self.papers if p.id == paper_id), None)

    def cites(self, paper_id: str) -> list[str]:
        return [link.target for link in self.links if link.source == paper_id]

    def cited_by(self, paper_id: str) -> list[str]:
        return [link.source for link in self.links if link.target == paper_id]

    def public(self, missing_only: bool = False) -> dict[str, Any]:
        """What `papers graph --json` prints (the missing works with their citing count)."""
        missing = [{**w.model_dump(), "count": w.count} for w in self.missing]
        if missing_only:
            return {"missing": missing}
        return {
            "papers": [p.model_dump() for p in self.papers],
            "links": [link.model_dump() for link in self.links],
            "missing": missing,
        }


class RelatedPaper(BaseModel):
    id: str
    title: str
    year: int | None = None
    score: float = Field(description="Text similarity plus the citation-graph bonuses; higher is closer.")
    similarity: float = Field(description="Cosine of the two papers' mean chunk vectors.")
    shared_references: int = Field(0, description="Works both papers cite (bibliographic coupling).")
    co_cited: int = Field(0, description="Papers of the library citing both (co-citation).")
    cites: bool = Field(False, description="The chosen paper cites this one.")
    cited_by: bool = Field(False, description="This paper cites the chosen one.")
    reasons: list[str] = Field(default_factory=list)


# -- the library map --------------------------------------------------------------------------------
class MapPoint(BaseModel):
    id: str
    title: str
    year: int | None = None
    x: float
    y: float
    theme: int = Field(description="Index into LibraryMap.themes.")


class LibraryMap(BaseModel):
    points: list[MapPoint] = Field(default_factory=list)
    themes: list[str] = Field(default_factory=list, description="Theme names, largest theme first.")
    method: str = Field("", description="How the 2-D positions were computed: tsne, pca or trivial.")
    content_key: str = Field("", description="The papers' content key the map was computed for.")
    version: int = MAP_VERSION

    def years(self) -> dict[int, int]:
        """Papers per year (papers without a year left out), oldest first."""
        out: dict[int, int] = {}
        for p in self.points:
            if p.year is not None:
                out[p.year] = out.get(p.year, 0) + 1
        return dict(sorted(out.items()))
