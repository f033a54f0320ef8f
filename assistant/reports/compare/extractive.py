"""The offline comparison table: per paper and aspect, the paper's own best sentence, so a cell's text
is its quote.

A sentence's score for an aspect mixes its similarity to the aspect's description and examples, the
aspect's cue phrases, and where in the abstract it sits; one sentence serves one aspect when the
paper has enough of them. A cell no sentence supports is "not stated". The synthesis under the table
is, per paper, the sentence most its own.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from assistant.answers.citations import Source, cited_numbers
from assistant.answers.extract import embed_sentences
from assistant.answers.verify import verbatim_check
from assistant.index.embeddings import Embedder
from assistant.models import Cell, ComparedPaper, Comparison, SentenceCheck
from assistant.reports.compare.aspects import Aspect, aspect_for
from assistant.reports.sources import PaperSource
from assistant.text import short_title

_W_SIM, _W_CUE, _W_POS = 1.0, 0.45, 0.12
_INELIGIBLE = -1e6


def _aspect_vectors(embedder: Embedder, aspects: Sequence[Aspect]) -> list[np.ndarray]:
    return [embed_sentences(embedder, [a.description, *a.examples]) for a in aspects]


def _score_matrix(src: PaperSource, aspects: Sequence[Aspect], targets: Sequence[np.ndarray]) -> np.ndarray:
    """score[sentence, aspect]; _INELIGIBLE where the sentence does not support the aspect.

    A sentence qualifies by a strong cue of the aspect, or — when no other aspect's strong cue
    claims it — by a weak cue with some similarity, or by high similarity alone.
    """
    scores = np.full((len(src.sentences), len(aspects)), _INELIGIBLE)
    if not src.sentences:
        return scores
    cues = [[a.cue_score(sent) for a in aspects] for sent in src.sentences]
    for j, (aspect, target) in enumerate(zip(aspects, targets)):
        sims = (src.vectors @ target.T).max(axis=1)
        for i, sentence in enumerate(src.sentences):
            cue, strong = cues[i][j]
            sim = float(sims[i])
            pos = src.positions[i]
            if aspect.exclude and re.search(aspect.exclude, sentence, re.IGNORECASE):
                continue
            if pos is not None and pos < aspect.min_position:
                continue
            claimed = any(cues[i][k][1] for k in range(len(aspects)) if k != j)
            if aspect.needs_cue:
                eligible = strong
            else:
                eligible = strong or (not claimed and ((cue > 0 and sim >= 0.25) or sim >= aspect.min_similarity))
            if not eligible:
                continue
            prior = 0.0 if pos is None or aspect.position is None else 1.0 - abs(pos - aspect.position)
            scores[i, j] = _W_SIM * sim + _W_CUE * cue + _W_POS * prior
    return scores


def _assign(scores: np.ndarray) -> dict[int, int]:
    """aspect → sentence: the best total with each sentence used once; an aspect left without a
    sentence of its own may then share one (only when that sentence does support it)."""
    from scipy.optimize import linear_sum_assignment

    out: dict[int, int] = {}
    if scores.size == 0:
        return out
    rows, cols = linear_sum_assignment(-scores)
    for i, j in zip(rows, cols):
        if scores[i, j] > _INELIGIBLE / 2:
            out[int(j)] = int(i)
    for j in range(scores.shape[1]):
        if j not in out and scores[:, j].max() > _INELIGIBLE / 2:
            out[j] = int(scores[:, j].argmax())
    return out


def extractive_cells(
    sources: Sequence[PaperSource], aspect_names: Sequence[str], embedder: Embedder
) -> list[dict[str, Cell]]:
    """Per paper, aspect → its best sentence as text and quote (or an empty "not stated" cell)."""
    aspects = [aspect_for(a) for a in aspect_names]
    targets = _aspect_vectors(embedder, aspects)
    out = []
    for src in sources:
        scores = _score_matrix(src, aspects, targets)
        chosen = _assign(scores)
        cells = {}
        for j, name in enumerate(aspect_names):
            if j in chosen:
                sentence = src.sentences[chosen[j]]
                cells[name] = Cell(text=sentence, quote=sentence, verdict="supported", score=1.0, judge="verbatim")
            else:
                cells[name] = Cell()
        out.append(cells)
    return out


def distinguishing_synthesis(sources: Sequence[PaperSource]) -> str | None:
    """Per paper, the sentence most its own — close to its paper, far from the others, preferably
    about what it does. Verbatim, cited by table row ([1] = first paper)."""
    usable = [src for src in sources if src.sentences]
    if len(usable) < 2:
        return None
    centroids = {}
    for src in usable:
        c = src.vectors.mean(axis=0)
        centroids[src.paper.id] = c / max(float(np.linalg.norm(c)), 1e-9)
    method, results = aspect_for("method"), aspect_for("results")
    lines = []
    for n, src in enumerate(sources, start=1):
        if not src.sentences:
            continue
        own = src.vectors @ centroids[src.paper.id]
        rival = np.max(np.stack([src.vectors @ c for pid, c in centroids.items() if pid != src.paper.id]), axis=0)
        bonus = np.array([0.15 * method.cue_score(t)[0] + 0.05 * results.cue_score(t)[0] for t in src.sentences])
        best = int(np.argmax(own - rival + bonus))
        lines.append(f"{short_title(src.paper.title)}: {src.sentences[best]} [{n}]")
    return "\n".join(lines)


def synthesis_checks(sources: Sequence[PaperSource], synthesis: str | None) -> list[SentenceCheck]:
    """The offline synthesis's lines are its papers' own sentences: supported by construction."""
    out = []
    for line in (synthesis or "").splitlines():
        numbers = cited_numbers(line)
        if not numbers or not 1 <= numbers[0] <= len(sources):
            continue
        src = sources[numbers[0] - 1]
        sentence = line.split(": ", 1)[1] if ": " in line else line
        out.append(verbatim_check(sentence, Source(numbers[0], src.paper, sentence), part="synthesis"))
    return out


def compared_papers(sources: Sequence[PaperSource], rows: Sequence[dict[str, Cell]]) -> list[ComparedPaper]:
    return [ComparedPaper(id=src.paper.id, title=src.paper.title, cells=cells) for src, cells in zip(sources, rows)]


def extractive_comparison(
    sources: Sequence[PaperSource], aspect_names: Sequence[str], embedder: Embedder
) -> Comparison:
    """The whole offline table with its synthesis."""
    rows = extractive_cells(sources, aspect_names, embedder)
    synthesis = distinguishing_synthesis(sources)
    return Comparison(
        aspects=list(aspect_names),
        papers=compared_papers(sources, rows),
        synthesis=synthesis,
        mode="extractive",
        sentences=synthesis_checks(sources, synthesis),
    )
