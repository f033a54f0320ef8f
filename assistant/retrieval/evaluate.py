"""Retrieval and abstention metrics over a JSONL question set (`papers eval`).

Each line: {"query": str, "relevant": [paper id or exact title, ...]}. An empty list means the question
is outside the library: it is scored on abstention only. In-library questions are scored on the
ranking: hit@1, Recall@k, MRR@10, nDCG@10 (binary gains). Abstention is scored over all questions,
the positive class being "should abstain": precision = correct abstentions / abstentions, recall =
correct abstentions / out-of-library questions.

Same-run baselines (`papers eval --baselines bm25,dense`): the same questions ranked by one component
of the hybrid alone — BM25 or dense — over the same library, each paper scored by its best chunk (as the
hybrid aggregates its inputs), scored on the ranking only (a component alone does not abstain).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.errors import PapersError
from assistant.index.embeddings import Embedder
from assistant.library.library import Library
from assistant.models import PaperHit
from assistant.retrieval.retrieve import SearchResult
from assistant.settings import Settings

BASELINES = ("bm25", "dense")


@dataclass
class EvalQuestion:
    query: str
    relevant: list[str]  # as written in the file
    line: int = 0


@dataclass
class QueryResult:
    query: str
    relevant: set[str]  # resolved paper ids
    ranked: list[dict[str, Any]]  # {"id","title","score"}
    abstained: bool
    best_dense: float

    @property
    def in_library(self) -> bool:
        return bool(self.relevant)

    def public(self) -> dict[str, Any]:
        return {"query": self.query, "ranked": self.ranked, "abstained": self.abstained}


@dataclass
class EvalReport:
    k: int
    n_queries: int
    n_in_library: int
    n_out_of_library: int
    hit_at_1: float | None
    recall_at_k: float | None
    mrr_at_10: float | None
    ndcg_at_10: float | None
    abstention_precision: float | None
    abstention_recall: float | None
    results: list[QueryResult] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)
    baselines: dict[str, EvalReport] = field(default_factory=dict)  # name → the component alone

    def ranking_metrics(self) -> dict[str, float | None]:
        return {
            "hit@1": self.hit_at_1,
            f"recall@{self.k}": self.recall_at_k,
            "mrr@10": self.mrr_at_10,
            "ndcg@10": self.ndcg_at_10,
        }

    def metrics(self) -> dict[str, Any]:
        return {
            "queries": self.n_queries,
            "in_library": self.n_in_library,
            "out_of_library": self.n_out_of_library,
            "hit@1": self.hit_at_1,
            f"recall@{self.k}": self.recall_at_k,
            "mrr@10": self.mrr_at_10,
            "ndcg@10": self.ndcg_at_10,
            "abstention_precision": self.abstention_precision,
            "abstention_recall": self.abstention_recall,
        }

    def public(self) -> dict[str, Any]:
        out = self.metrics()
        out["k"] = self.k
        out["unresolved"] = self.unresolved
        out["misses"] = [
            {"query": r.query, "top": r.ranked[0]["id"] if r.ranked else None}
            for r in self.results
            if r.in_library and (not r.ranked or r.ranked[0]["id"] not in r.relevant)
        ]
        out["abstention_errors"] = [
            {"query": r.query, "abstained": r.abstained, "best_dense": round(r.best_dense, 4)}
            for r in self.results
            if r.abstained == r.in_library
        ]
        if self.baselines:
            out["baselines"] = {name: rep.ranking_metrics() for name, rep in self.baselines.items()}
        return out

    def table(self) -> str:
        """Metric per line; with baselines, one column per system for the ranking metrics."""
        if self.baselines:
            return self._comparison_table()
        rows = [(name, value) for name, value in self.metrics().items()]
        width = max(len(n) for n, _ in rows)
        return "\n".join(f"{name:<{width}}  {_shown(value)}" for name, value in rows)

    def _comparison_table(self) -> str:
        systems = {"ours": self, **{f"{n} alone": r for n, r in self.baselines.items()}}
        ranking = list(self.ranking_metrics())
        rows: list[list[str]] = [["", *systems]]
        rows += [[name, *(_shown(rep.ranking_metrics()[name]) for rep in systems.values())] for name in ranking]
        counts = [(n, v) for n, v in self.metrics().items() if n not in ranking]
        width = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines = [
            "  ".join(cell.ljust(width[i]) if i == 0 else cell.rjust(width[i]) for i, cell in enumerate(r))
            for r in rows
        ]
        lines.append("")
        name_w = max(len(n) for n, _ in counts)
        lines += [f"{name:<{name_w}}  {_shown(value)}" for name, value in counts]
        return "\n".join(line.rstrip() for line in lines)


def _shown(value: Any) -> str:
    return "n/a" if value is None else (f"{value:.3f}" if isinstance(value, float) else str(value))


def parse_baselines(text: str) -> list[str]:
    """`"bm25,dense"` → the names, in order; an unknown name is an error listing the known ones."""
    names = list(dict.fromkeys(n.strip().lower() for n in text.split(",") if n.strip()))
    unknown = [n for n in names if n not in BASELINES]
    if unknown:
        raise PapersError(f"unknown baseline {', '.join(unknown)} (known: {', '.join(BASELINES)})")
    return names


def component_search(
    library: Library, embedder: Embedder, settings: Settings, component: str
) -> Callable[[str, int], SearchResult]:
    """A search over one component of the hybrid alone: papers ranked by their best chunk's score.

    Candidate depth is the hybrid's (`candidate_k`, or k × evidence per paper), so each component
    sees as many chunks as it contributes to the fusion.
    """
    if component not in BASELINES:
        raise PapersError(f"unknown baseline {component} (known: {', '.join(BASELINES)})")

    def search(query: str, k: int) -> SearchResult:
        library.refresh_if_stale()
        depth = max(settings.candidate_k, k * settings.evidence_per_paper)
        best: dict[str, float] = {}
        best_dense = 0.0
        qvec = None
        if component == "dense":
            qvec = embedder.embed_query(query)
            for _cid, sim, _doc, meta in library.dense(qvec, depth):
                pid = str(meta["paper_id"])
                best[pid] = max(best.get(pid, sim), sim)
                best_dense = max(best_dense, sim)
        else:
            scored = library.lexical(query, depth)
            metas = library.get_chunks([cid for cid, _ in scored])
            for cid, score in scored:
                if cid not in metas:
                    continue  # removed meanwhile
                pid = str(metas[cid][1]["paper_id"])
                best[pid] = max(best.get(pid, score), score)
        ranked = sorted(best.items(), key=lambda kv: -kv[1])[:k]
        papers = {p.id: p for p in library.papers([pid for pid, _ in ranked])}
        hits = [PaperHit(paper=papers[pid], score=score) for pid, score in ranked if pid in papers]
        return SearchResult(query=query, hits=hits, best_dense=best_dense, query_vec=qvec)

    return search


def load_questions(path: Path) -> list[EvalQuestion]:
    """Read the JSONL file; a malformed line is an error naming file:line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise PapersError(f"cannot read {path}: {exc.strerror or exc}") from exc
    out = []
    for i, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise PapersError(f"{path}:{i}: not valid JSON ({exc.msg})") from exc
        if not isinstance(obj, dict) or not isinstance(obj.get("query"), str) or not obj["query"].strip():
            raise PapersError(f"{path}:{i}: each line needs a non-empty string \"query\"")
        relevant = obj.get("relevant", [])
        if not isinstance(relevant, list) or not all(isinstance(r, str) for r in relevant):
            raise PapersError(f"{path}:{i}: \"relevant\" must be a list of paper ids or titles")
        out.append(EvalQuestion(obj["query"].strip(), relevant, i))
    if not out:
        raise PapersError(f"{path}: no questions")
    return out


def resolve_relevant(items: Sequence[str], ids: set[str], title_to_id: dict[str, str]) -> tuple[set[str], list[str]]:
    """Paper ids or exact titles (case and surrounding space ignored) → ids; returns also the unknown."""
    found, unknown = set(), []
    for item in items:
        key = item.strip()
        if key in ids:
            found.add(key)
        elif key.casefold() in title_to_id:
            found.add(title_to_id[key.casefold()])
        else:
            unknown.append(item)
    return found, unknown


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def ndcg(ranked_ids: Sequence[str], relevant: set[str], k: int = 10) -> float:
    dcg = sum(1.0 / math.log2(i + 2) for i, pid in enumerate(ranked_ids[:k]) if pid in relevant)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(len(relevant), k)))
    return dcg / ideal if ideal else 0.0


def evaluate(
    questions: Sequence[EvalQuestion],
    search: Callable[[str, int], SearchResult],
    abstains: Callable[[SearchResult], bool] | None,
    papers: Sequence[tuple[str, str]],
    k: int = 10,
) -> EvalReport:
    """Score `search` (query, depth → SearchResult) and `abstains` on the questions.

    `papers` is the library's (id, title) list, used to resolve relevance given as titles.
    `abstains=None` scores the ranking only (the abstention metrics are None), as for a baseline.
    """
    ids = {pid for pid, _ in papers}
    title_to_id = {title.strip().casefold(): pid for pid, title in papers}
    depth = max(k, 10)
    results: list[QueryResult] = []
    unresolved: list[str] = []
    hit1, recall, mrr, gains = [], [], [], []
    tp = fp = fn = 0
    for q in questions:
        relevant, unknown = resolve_relevant(q.relevant, ids, title_to_id)
        unresolved += [f"line {q.line}: {u}" for u in unknown]
        result = search(q.query, depth)
        abstained = abstains(result) if abstains is not None else False
        ranked = [{"id": h.paper.id, "title": h.paper.title, "score": round(h.score, 6)} for h in result.hits]
        ranked_ids = [h.paper.id for h in result.hits]
        out_of_library = not q.relevant
        if out_of_library:
            tp += abstained
            fn += not abstained
        else:
            fp += abstained
            # Unknown relevant items count against recall: they cannot be retrieved.
            n_rel = len(relevant) + len(unknown)
            hit1.append(1.0 if ranked_ids[:1] and ranked_ids[0] in relevant else 0.0)
            recall.append(len(relevant & set(ranked_ids[:k])) / n_rel)
            rank = next((i for i, pid in enumerate(ranked_ids[:10]) if pid in relevant), None)
            mrr.append(0.0 if rank is None else 1.0 / (rank + 1))
            gains.append(ndcg(ranked_ids, relevant | {f"?{u}" for u in unknown}, 10))
        results.append(QueryResult(q.query, relevant, ranked, abstained, result.best_dense))
    n_out = sum(1 for q in questions if not q.relevant)
    return EvalReport(
        k=k,
        n_queries=len(questions),
        n_in_library=len(questions) - n_out,
        n_out_of_library=n_out,
        hit_at_1=_mean(hit1),
        recall_at_k=_mean(recall),
        mrr_at_10=_mean(mrr),
        ndcg_at_10=_mean(gains),
        abstention_precision=(tp / (tp + fp)) if (tp + fp) and abstains is not None else None,
        abstention_recall=(tp / (tp + fn)) if (tp + fn) and abstains is not None else None,
        results=results,
        unresolved=unresolved,
    )
