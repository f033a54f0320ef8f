"""Hybrid search: dense (Chroma) + BM25 over the same chunks → reciprocal rank fusion → papers."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np

from assistant.embeddings import Embedder
from assistant.library import Library
from assistant.models import Evidence, Paper, PaperHit
from assistant.settings import Settings


@dataclass(frozen=True)
class Filters:
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
    query_vec: np.ndarray | None = None  # the embedded query, reused by sentence selection

    @property
    def papers(self) -> list[Paper]:
        return [h.paper for h in self.hits]


class Retriever:
    def __init__(self, library: Library, embedder: Embedder, settings: Settings) -> None:
        self.library = library
        self.embedder = embedder
        self.settings = settings

    def search(self, query: str, k: int | None = None, filters: Filters | None = None) -> SearchResult:
        s = self.settings
        k = k or s.top_k
        self.library.refresh_if_stale()
        allowed = self.library.filter_ids(**(filters or Filters()).as_kwargs())
        qvec = self.embedder.embed_query(query)
        depth = max(s.candidate_k, k * s.evidence_per_paper)
        dense = self.library.dense(qvec, depth, allowed)
        lexical = self.library.lexical(query, depth, allowed)

        fused: dict[str, float] = defaultdict(float)
        cosine: dict[str, float] = {}
        texts: dict[str, str] = {}
        metas: dict[str, dict[str, Any]] = {}
        for rank, (cid, sim, doc, meta) in enumerate(dense):
            fused[cid] += s.dense_weight / (s.rrf_k + rank + 1)
            cosine[cid] = sim
            texts[cid] = doc
            metas[cid] = meta
        for rank, (cid, _score) in enumerate(lexical):
            fused[cid] += s.lexical_weight / (s.rrf_k + rank + 1)
        missing = [cid for cid in fused if cid not in texts]
        for cid, (doc, meta) in self.library.get_chunks(missing).items():
            texts[cid] = doc
            metas[cid] = meta

        per_paper: dict[str, list[tuple[str, float]]] = defaultdict(list)
        for cid, score in fused.items():
            if cid not in metas:
                continue  # removed between the two searches
            per_paper[str(metas[cid]["paper_id"])].append((cid, score))
        ranked: list[tuple[str, float, list[tuple[str, float]]]] = []
        for pid, chunks in per_paper.items():
            chunks.sort(key=lambda c: -c[1])
            # The best chunk decides; further matching chunks of the same paper only break ties.
            score = chunks[0][1] + 0.1 * sum(c[1] for c in chunks[1 : s.evidence_per_paper])
            ranked.append((pid, score, chunks[: s.evidence_per_paper]))
        ranked.sort(key=lambda r: -r[1])
        ranked = ranked[:k]
        papers = {p.id: p for p in self.library.papers([pid for pid, _, _ in ranked])}
        hits = []
        for pid, score, chunks in ranked:
            paper = papers.get(pid)
            if paper is None:
                continue
            evidence = [
                Evidence(
                    chunk_id=cid,
                    paper_id=pid,
                    text=texts.get(cid, ""),
                    score=sc,
                    section=str(metas[cid].get("section", "")),
                )
                for cid, sc in chunks
            ]
            hits.append(
                PaperHit(
                    paper=paper,
                    score=score,
                    dense_score=max((cosine.get(cid, 0.0) for cid, _ in chunks), default=0.0),
                    evidence=evidence,
                )
            )
        best = max(cosine.values(), default=0.0)
        return SearchResult(query=query, hits=hits, best_dense=best, query_vec=qvec)
