"""The data that flows through the product. Pure data: no I/O here."""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator


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
