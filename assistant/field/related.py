"""Related papers: the papers nearest a chosen one, by their text and by the citation graph.

A paper's vector is the mean of its chunk vectors (normalised), read once per library content;
text similarity is their cosine. The graph adds what text cannot see: the two papers cite each
other, they share references (bibliographic coupling), or other papers of the library cite both
(co-citation). The score is the cosine plus a fixed bonus per link (capped), so a paper that shares
three references ranks above one that only reads alike; every result says why it is there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from assistant.errors import PapersError
from assistant.models import CitationGraph, RelatedPaper

if TYPE_CHECKING:
    import numpy as np

    from assistant.models import Paper

PAGE = 2000  # chunks per Chroma read
SIMILAR_TEXT = 0.45  # cosine of mean MiniLM chunk vectors above which two papers read alike
LINK_BONUS = 0.15  # one paper cites the other
SHARED_BONUS = 0.08  # per shared reference, and per paper citing both
MAX_SHARED = 5  # more shared references than this add nothing more


def paper_vectors(collection: Any) -> tuple[list[str], np.ndarray]:
    """(paper ids, one unit vector per paper: the mean of its chunk vectors), read a page at a time."""
    import numpy as np

    sums: dict[str, Any] = {}
    total = collection.count()
    for offset in range(0, total, PAGE):
        page = collection.get(include=["embeddings", "metadatas"], limit=PAGE, offset=offset)
        embeddings = page.get("embeddings")
        metas = page.get("metadatas") or []
        for vec, meta in zip(embeddings if embeddings is not None else [], metas):
            pid = str((meta or {}).get("paper_id", ""))
            if pid:
                v = np.asarray(vec, dtype=np.float32)
                sums[pid] = sums[pid] + v if pid in sums else v.copy()
    ids = sorted(sums)
    if not ids:
        return [], np.zeros((0, 0), dtype=np.float32)
    matrix = np.stack([sums[i] for i in ids])
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return ids, matrix / np.where(norms == 0, 1.0, norms)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def reasons_for(r: RelatedPaper) -> list[str]:
    out = []
    if r.cites:
        out.append("cited by this paper")
    if r.cited_by:
        out.append("cites this paper")
    if r.shared_references:
        out.append(f"shares {_plural(r.shared_references, 'reference')}")
    if r.co_cited:
        out.append(f"cited together by {_plural(r.co_cited, 'paper')}")
    if r.similarity >= SIMILAR_TEXT:
        out.append("similar text")
    return out or ["only weakly similar text"]


def graph_ties(graph: CitationGraph, paper_id: str) -> dict[str, dict[str, Any]]:
    """Per other paper with a tie: shared references, co-citations, and whether either cites the other.

    Through an inverted index (work → the papers citing it), so one call costs the references of the
    papers near `paper_id`, not every pair of papers.
    """
    from collections import Counter, defaultdict

    citers: dict[str, set[str]] = defaultdict(set)
    for pid, works in graph.works.items():
        for work in works:
            citers[work].add(pid)
    mine = set(graph.works.get(paper_id, []))
    shared = Counter(other for work in mine for other in citers[work] if other != paper_id)
    co = Counter(w for citing in citers[paper_id] for w in set(graph.works.get(citing, [])) if w != paper_id)
    theirs = citers[paper_id]
    return {
        other: {
            "shared_references": shared[other],
            "co_cited": co[other],
            "cites": other in mine,
            "cited_by": other in theirs,
        }
        for other in set(shared) | set(co) | mine | theirs
        if other != paper_id
    }


def rank_related(
    paper_id: str,
    papers: dict[str, Paper],
    vectors: tuple[list[str], np.ndarray],
    graph: CitationGraph,
    k: int,
) -> list[RelatedPaper]:
    """The `k` papers closest to `paper_id`, best first (pure: everything is passed in)."""
    if paper_id not in papers:
        raise PapersError(f"not in the library: {paper_id}")
    if k < 1:
        raise PapersError(f"k must be at least 1 (got {k})")
    ids, matrix = vectors
    row = {pid: i for i, pid in enumerate(ids)}
    sims: dict[str, float] = {}
    if paper_id in row:
        cos = matrix @ matrix[row[paper_id]]
        sims = {pid: float(cos[i]) for pid, i in row.items()}
    ties = graph_ties(graph, paper_id)
    out = []
    for pid, p in papers.items():
        if pid == paper_id:
            continue
        tie = ties.get(pid, {"shared_references": 0, "co_cited": 0, "cites": False, "cited_by": False})
        sim = round(sims.get(pid, 0.0), 4)
        bonus = LINK_BONUS * (tie["cites"] or tie["cited_by"]) + SHARED_BONUS * (
            min(tie["shared_references"], MAX_SHARED) + min(tie["co_cited"], MAX_SHARED)
        )
        r = RelatedPaper(id=pid, title=p.title, year=p.year, score=round(sim + bonus, 4), similarity=sim, **tie)
        out.append(r.model_copy(update={"reasons": reasons_for(r)}))
    out.sort(key=lambda r: (-r.score, r.id))
    return out[:k]


def related_in(library: Any, graph: CitationGraph, paper_id: str, k: int) -> list[RelatedPaper]:
    """`rank_related` over a library; its paper vectors are read once per library content."""
    from assistant.field.cache import cached, content_key

    vectors = cached(library, content_key(library), "paper_vectors", lambda: paper_vectors(library.collection))
    return rank_related(paper_id, {p.id: p for p in library.papers()}, vectors, graph, k)
