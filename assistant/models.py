"""The data that flows through the product. Pure data: no I/O here."""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, Field


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
    """One paper as the library knows it. `id` is stable across re-ingests."""

    id: str
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


def make_paper_id(*, given: str = "", doi: str = "", arxiv_id: str = "", title: str = "") -> str:
    """Stable id: given id, else DOI, else arXiv id, else a hash of the normalized title."""
    if given and given.strip():
        return given.strip()
    if doi and doi.strip():
        return "doi:" + doi.strip().lower()
    if arxiv_id and arxiv_id.strip():
        return "arxiv:" + re.sub(r"v\d+$", "", arxiv_id.strip())
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
