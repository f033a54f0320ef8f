"""The papers' own text for reports: every sentence a table cell or a summary line may quote.

Abstract sentences come from the paper record exactly as ingested (with their place in the
abstract), body sentences from its chunks; each is a verbatim slice that output cleaning leaves
as it is, so whatever a report shows can be found word for word in the paper.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from assistant.answers.extract import embed_sentences
from assistant.index.embeddings import Embedder
from assistant.library.library import Library
from assistant.models import Paper
from assistant.text import clean_output, normalize_space, quotable, split_sentences

MAX_SENTENCES = 300  # per paper: a long PDF body beyond this adds time, rarely a better cell
# A paper pointing to its own code or project page: no claim to quote, and a link once cleaned.
_PROJECT_LINK = re.compile(r"\bgithub\b|code (is|and data are) (publicly )?available", re.IGNORECASE)
_URL = re.compile(r"https?://[^\s<>()\[\]]+")


@dataclass
class PaperSource:
    """One paper with every sentence a report may quote, in reading order."""

    paper: Paper
    text: str  # abstract + body: what an LLM quote is checked against
    sentences: list[str]
    positions: list[float | None]  # relative place in the abstract (0..1); None for body text
    vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))


def is_clean(text: str, *, bare_urls: bool = False) -> bool:
    """Output cleaning would leave `text` as it is (`bare_urls`: plain URLs in it do not count)."""
    allowed = _URL.findall(text) if bare_urls else []
    return normalize_space(clean_output(text, allowed)) == normalize_space(text)


def report_sentence(sentence: str, min_words: int = 6, max_words: int = 80) -> bool:
    """A sentence a report may quote: `quotable` (no link, tag or "[12]" reference), long enough
    to say something, short enough for a cell, not about the paper's own code, and nothing output
    cleaning would change (HTML, images, control characters), so a quote is verbatim and clean."""
    n = len(sentence.split())
    return (
        min_words <= n <= max_words and quotable(sentence) and not _PROJECT_LINK.search(sentence) and is_clean(sentence)
    )


def paper_sources(library: Library, papers: Sequence[Paper]) -> list[PaperSource]:
    """Abstract sentences from the paper record (exactly as ingested), body sentences from its chunks."""
    out = []
    for p in papers:
        abstract = p.abstract.strip()
        abstract_norm = normalize_space(abstract)
        body = []
        for _cid, chunk in library.chunks_of(p.id):
            if chunk.strip() and normalize_space(chunk) not in abstract_norm and chunk.strip() != p.title:
                body.append(chunk)
        all_abstract = split_sentences(abstract)
        last = max(1, len(all_abstract) - 1)
        head = [(i, s) for i, s in enumerate(all_abstract) if report_sentence(s)]
        positions: list[float | None] = [i / last for i, _ in head]
        sentences = [s for _, s in head]
        seen = {normalize_space(s) for s in sentences}
        for chunk in body:
            for s in split_sentences(chunk):
                key = normalize_space(s)
                if key in seen or not report_sentence(s):
                    continue
                seen.add(key)
                sentences.append(s)
                positions.append(None)
                if len(sentences) >= MAX_SENTENCES:
                    break
            if len(sentences) >= MAX_SENTENCES:
                break
        text = "\n\n".join([abstract, *body]) if abstract else "\n\n".join(body)
        out.append(PaperSource(p, text, sentences, positions))
    return out


def embed_sources(embedder: Embedder, sources: Sequence[PaperSource]) -> None:
    """Sentence vectors for every paper, in one batch (one model call beats one per paper)."""
    texts = [t for src in sources for t in src.sentences]
    vectors = embed_sentences(embedder, texts) if texts else np.zeros((0, 0), np.float32)
    start = 0
    for src in sources:
        src.vectors = vectors[start : start + len(src.sentences)]
        start += len(src.sentences)
