"""Sentence-level evidence: the sentences of retrieved chunks, scored and picked for a query.

Sentence splitting and the quotable rule live in assistant.text; the sentence vector cache here is
shared by offline answers, comparisons and summaries. Sentences are always exact slices of the source
text (never rewritten), so whatever is shown can be found word for word in the paper.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from assistant.index.bm25 import tokenize
from assistant.index.embeddings import Embedder
from assistant.models import PaperHit
from assistant.text import normalize_space, quotable, split_sentences


@dataclass(frozen=True)
class SourceSentence:
    """A sentence with where it came from."""

    text: str  # exact slice of the chunk text
    paper_id: str
    chunk_id: str
    position: int  # index of the sentence within its chunk


@dataclass(frozen=True)
class ScoredSentence:
    sentence: SourceSentence
    score: float  # combined relevance used for ranking
    similarity: float  # cosine to the query

    @property
    def text(self) -> str:
        return self.sentence.text

    @property
    def paper_id(self) -> str:
        return self.sentence.paper_id


def sentences_of_hits(
    hits: Sequence[PaperHit], *, min_words: int = 5, max_words: int = 90, chunks_per_paper: int | None = None
) -> list[SourceSentence]:
    """Candidate sentences from each hit's evidence chunks (best chunks first), deduplicated; only
    sentences that can be quoted verbatim (see `quotable`)."""
    out: list[SourceSentence] = []
    seen: set[tuple[str, str]] = set()
    for hit in hits:
        evidence = hit.evidence[:chunks_per_paper] if chunks_per_paper else hit.evidence
        for ev in evidence:
            for i, sent in enumerate(split_sentences(ev.text)):
                n_words = len(sent.split())
                if n_words < min_words or n_words > max_words or not quotable(sent):
                    continue
                key = (hit.paper.id, normalize_space(sent))
                if key in seen:
                    continue
                seen.add(key)
                out.append(SourceSentence(sent, hit.paper.id, ev.chunk_id, i))
    return out


# Phrases that mark a sentence as carrying a finding or a method (what an answer wants) rather than
# background. A small prior on top of relevance, never enough to lift an off-topic sentence.
_CUES = re.compile(
    r"\b(we (propose|introduce|present|develop|show|demonstrate|find|prove|derive)|this (paper|work) "
    r"(proposes|introduces|presents|shows)|our (method|approach|results|model|framework)|outperform\w*|"
    r"results? (show|indicate|demonstrate)|achiev\w+|significantly|enables?|improv\w+)\b",
    re.IGNORECASE,
)
_BACKGROUND = re.compile(
    r"^(recent(ly)?|in recent years|over the past|however, (most|existing)|existing (methods|approaches))\b",
    re.IGNORECASE,
)
_CONTRAST = re.compile(
    r"\b(however|in contrast|unlike|whereas|limitation\w*|fail\w*|cannot|suffer\w*|drawback\w*|"
    r"challeng\w+|struggle\w*|degrade\w*|sensitive to)\b",
    re.IGNORECASE,
)
_ASKS_LIMITS = re.compile(
    r"\b(limitation\w*|drawback\w*|weakness\w*|fail\w*|problem\w*|issue\w*|challenge\w*|downside\w*)\b",
    re.IGNORECASE,
)


def is_contrasting(sentence: str) -> bool:
    return bool(_CONTRAST.search(sentence))


class _VectorCache:
    """Sentence vectors by text: the same abstracts come back query after query."""

    def __init__(self, size: int = 20000) -> None:
        self.size = size
        self._data: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def embed(self, embedder: Embedder, texts: Sequence[str]) -> np.ndarray:
        name = getattr(embedder, "name", "")
        with self._lock:
            missing = [t for t in dict.fromkeys(texts) if (name, t) not in self._data]
        if missing:
            vecs = embedder.embed(missing)
            with self._lock:
                for t, v in zip(missing, vecs):
                    self._data[(name, t)] = v
                while len(self._data) > self.size:
                    self._data.popitem(last=False)
        with self._lock:
            rows = []
            for t in texts:
                v = self._data.get((name, t))
                if v is None:  # evicted by a concurrent caller in between: embed alone
                    v = embedder.embed([t])[0]
                rows.append(v)
        return np.vstack(rows) if rows else np.zeros((0, getattr(embedder, "dim", 0)), np.float32)


_CACHE = _VectorCache()


def embed_sentences(embedder: Embedder, texts: Sequence[str]) -> np.ndarray:
    return _CACHE.embed(embedder, list(texts))


def score_sentences(
    query_vec: np.ndarray,
    sentences: Sequence[SourceSentence],
    embedder: Embedder,
    *,
    query: str = "",
    paper_prior: dict[str, float] | None = None,
) -> tuple[list[ScoredSentence], np.ndarray]:
    """Relevance of each sentence: cosine to the query, plus query-term overlap, cue phrases and
    the paper's retrieval rank (`paper_prior`, 0..1). Returns scores in input order and the vectors."""
    if not sentences:
        return [], np.zeros((0, 0), np.float32)
    vecs = embed_sentences(embedder, [s.text for s in sentences])
    sims = vecs @ np.asarray(query_vec, dtype=np.float32)
    q_terms = set(tokenize(query)) if query else set()
    wants_limits = bool(_ASKS_LIMITS.search(query))
    out = []
    for s, sim in zip(sentences, sims):
        score = float(sim)
        if q_terms:
            s_terms = set(tokenize(s.text))
            score += 0.15 * len(q_terms & s_terms) / len(q_terms)
        if _CUES.search(s.text):
            score += 0.03
        if _BACKGROUND.search(s.text):
            score -= 0.03
        if wants_limits and _CONTRAST.search(s.text):
            score += 0.08
        if paper_prior:
            score += 0.1 * paper_prior.get(s.paper_id, 0.0)
        out.append(ScoredSentence(s, score, float(sim)))
    return out, vecs


def rank_sentences(
    query_vec: np.ndarray,
    sentences: Sequence[SourceSentence],
    embedder: Embedder,
    *,
    query: str = "",
    k: int = 5,
    diversity: float = 0.3,
    max_per_paper: int = 2,
    paper_prior: dict[str, float] | None = None,
    min_score: float | None = None,
) -> list[ScoredSentence]:
    """MMR selection: each pick maximises relevance minus similarity to what is already picked,
    with at most `max_per_paper` sentences from one paper. Returned in pick order (best first)."""
    scored, vecs = score_sentences(query_vec, sentences, embedder, query=query, paper_prior=paper_prior)
    if not scored:
        return []
    picked: list[int] = []
    per_paper: dict[str, int] = {}
    candidates = [i for i, s in enumerate(scored) if min_score is None or s.score >= min_score]
    while candidates and len(picked) < k:
        best_i, best_val = -1, -np.inf
        for i in candidates:
            redundancy = float(max((vecs[i] @ vecs[j] for j in picked), default=0.0))
            value = (1 - diversity) * scored[i].score - diversity * redundancy
            if value > best_val:
                best_i, best_val = i, value
        picked.append(best_i)
        pid = scored[best_i].paper_id
        per_paper[pid] = per_paper.get(pid, 0) + 1
        candidates = [
            i for i in candidates if i != best_i and per_paper.get(scored[i].paper_id, 0) < max_per_paper
        ]
    return [scored[i] for i in picked]
