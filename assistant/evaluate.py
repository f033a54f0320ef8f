"""Retrieval and abstention metrics over a JSONL question set (`papers eval`).

Each line: {"query": str, "relevant": [paper id or exact title, ...]}. An empty list means the question
is outside the library: it is scored on abstention only. In-library questions are scored on the
ranking: hit@1, Recall@k, MRR@10, nDCG@10 (binary gains). Abstention is scored over all questions,
the positive class being "should abstain": precision = correct abstentions / abstentions, recall =
correct abstentions / out-of-library questions.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.errors import PapersError
from assistant.retrieve import SearchResult


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
        return out

    def table(self) -> str:
        rows = [(name, value) for name, value in self.metrics().items()]
        width = max(len(n) for n, _ in rows)
        lines = []
        for name, value in rows:
            shown = "n/a" if value is None else (f"{value:.3f}" if isinstance(value, float) else str(value))
            lines.append(f"{name:<{width}}  {shown}")
        return "\n".join(lines)


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
    abstains: Callable[[SearchResult], bool],
    papers: Sequence[tuple[str, str]],
    k: int = 10,
) -> EvalReport:
    """Score `search` (query, depth → SearchResult) and `abstains` on the questions.

    `papers` is the library's (id, title) list, used to resolve relevance given as titles.
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
        abstained = abstains(result)
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
        abstention_precision=(tp / (tp + fp)) if (tp + fp) else None,
        abstention_recall=(tp / (tp + fn)) if (tp + fn) else None,
        results=results,
        unresolved=unresolved,
    )
