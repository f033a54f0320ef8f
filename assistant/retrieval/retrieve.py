"""Hybrid search: dense (Chroma) + BM25 over the same chunks → score fusion → papers.

Fusion (`PAPERS_FUSION`): "minmax" (the default) scales each list's scores to [0, 1] over its own
candidates (best 1, last 0, absent 0) and adds them weighted dense_weight : lexical_weight, plus
`fusion_max_weight` × the chunk's better of the two (CombSUM + CombMAX); "rrf" is reciprocal rank fusion
with constant `rrf_k`. Min-max keeps how far ahead a list's leader is, which RRF
throws away: on SciFact train claims it gives nDCG@10 0.817 vs RRF's 0.801, and on the dev set MRR@10
0.978 vs 0.967 (bench/DEV_EVAL.md, "Fusion tuning (issue 12)"). The CombMAX term keeps a paper that
only one list finds: broad questions over several fields (dev "set" questions) are often matched by the
embedding alone, while BM25 spreads over generic words; it lifts their recall@10 from 0.90 to 0.96 and
leaves SciFact unchanged within noise.

`above_bar` is the relevance bar: an answer, comparison or summary uses every paper scoring at least
`relevance_bar` × the best paper's score (up to k), not a fixed number.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from assistant.index.embeddings import Embedder
from assistant.library.library import Library
from assistant.library.pages import page_number
from assistant.models import Evidence, Filters, PaperHit, SearchResult
from assistant.settings import Settings


def _minmax(scores: list[float]) -> list[float]:
    lo, hi = min(scores), max(scores)
    if hi <= lo:
        return [1.0] * len(scores)
    return [(x - lo) / (hi - lo) for x in scores]


def fuse(
    dense: list[tuple[str, float]],
    lexical: list[tuple[str, float]],
    method: str = "minmax",
    dense_weight: float = 1.0,
    lexical_weight: float = 1.0,
    rrf_k: int = 60,
    max_weight: float = 0.0,
) -> dict[str, float]:
    """One score per chunk from the two ranked (chunk id, score) lists, best first."""
    fused: dict[str, float] = defaultdict(float)
    best: dict[str, float] = defaultdict(float)
    for ranking, weight in ((dense, dense_weight), (lexical, lexical_weight)):
        if not ranking or weight == 0:
            continue
        if method == "rrf":
            for rank, (cid, _score) in enumerate(ranking):
                fused[cid] += weight / (rrf_k + rank + 1)
        else:
            for (cid, _score), norm in zip(ranking, _minmax([sc for _, sc in ranking])):
                fused[cid] += weight * norm
                best[cid] = max(best[cid], weight * norm)
    for cid, top in best.items():  # min-max only: the list that likes this chunk most, once more
        fused[cid] += max_weight * top
    for ranking in (dense, lexical):  # a zero-weight list's chunks stay candidates (score 0)
        for cid, _score in ranking:
            fused.setdefault(cid, 0.0)
    return fused


def above_bar(result: SearchResult, bar: float) -> SearchResult:
    """The hits scoring at least `bar` × the best hit's score (the best one always stays)."""
    if not result.hits or bar <= 0:
        return result
    floor = bar * result.hits[0].score
    kept = [h for i, h in enumerate(result.hits) if i == 0 or h.score >= floor]
    return SearchResult(query=result.query, hits=kept, best_dense=result.best_dense, query_vec=result.query_vec)


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

        fused = fuse(
            # Cosines to 4 places: embedded and server Chroma differ in the 8th, which min-max would
            # carry into the scores; nothing in the ranking rests on differences that small.
            [(cid, round(sim, 4)) for cid, sim, _doc, _meta in dense],
            lexical,
            s.fusion,
            s.dense_weight,
            s.lexical_weight,
            s.rrf_k,
            s.fusion_max_weight,
        )
        cosine: dict[str, float] = {}
        texts: dict[str, str] = {}
        metas: dict[str, dict[str, Any]] = {}
        for cid, sim, doc, meta in dense:
            cosine[cid] = sim
            texts[cid] = doc
            metas[cid] = meta
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
                    page=page_number(metas[cid].get("page")),
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
