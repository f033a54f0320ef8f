"""`papers eval --claims`: the verification core measured on labelled (claim, cited paper) pairs.

The file is SciFact's claim format, one claim a line: `{"id", "claim", "cited": [paper ids],
"labels": {paper id: "SUPPORT" | "CONTRADICT" | "NOT_ENOUGH_INFO"}}`. Each cited paper must be in the
library (ingest the corpus first); its chunks are the passages.

Reported, for ours and two baselines computed in the same run over the same pairs and embeddings
(whole-paper cosine, best single-sentence cosine):
- AUC of the score for evidence (SUPPORT or CONTRADICT) against NOT_ENOUGH_INFO;
- balanced accuracy: ours of the shipped verdicts (not_found = no evidence; the thresholds are
  settings, fixed before the run), the baselines' at their best threshold on these same pairs (an
  upper bound they would not reach with a threshold fixed in advance);
- 3-way accuracy of the shipped verdicts (supported / partly_supported = SUPPORT, contradicted =
  CONTRADICT, not_found = NOT_ENOUGH_INFO).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from assistant.answers.extract import embed_sentences
from assistant.answers.verify.offline import Claim, Passage, passage_sentences
from assistant.errors import PapersError
from assistant.models import Paper, SentenceCheck

LABELS = ("SUPPORT", "CONTRADICT", "NOT_ENOUGH_INFO")
AS_LABEL = {
    "supported": "SUPPORT",
    "partly_supported": "SUPPORT",
    "contradicted": "CONTRADICT",
    "not_found": "NOT_ENOUGH_INFO",
}


@dataclass(frozen=True)
class LabelledClaim:
    id: str
    claim: str
    labels: dict[str, str]  # cited paper id -> gold label


def load_claims(path: Path) -> list[LabelledClaim]:
    """The claims file; a bad line is one error naming the file, the line and why."""
    out = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise PapersError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    for no, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            labels = {str(k): str(v).upper() for k, v in row["labels"].items()}
            for pid in row.get("cited", []):
                labels.setdefault(str(pid), "NOT_ENOUGH_INFO")
            bad = sorted(set(labels.values()) - set(LABELS))
            if bad:
                raise ValueError(f"unknown label {bad[0]!r} (expected {', '.join(LABELS)})")
            out.append(LabelledClaim(str(row["id"]), str(row["claim"]), labels))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            why = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc).splitlines()[0][:200]
            raise PapersError(f"{path}:{no}: not a claim line ({why})") from exc
    if not out:
        raise PapersError(f"{path}: no claims")
    return out


@dataclass
class PairResult:
    claim_id: str
    paper: str
    gold: str
    check: SentenceCheck
    whole_cosine: float
    sentence_cosine: float

    def public(self) -> dict[str, Any]:
        c = self.check
        return {"id": self.claim_id, "paper": self.paper, "verdict": c.verdict, "score": c.score, "quote": c.quote,
                "mode": c.judge}


@dataclass
class ClaimsReport:
    pairs: list[PairResult] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # "claim id: paper id" not in the library

    def metrics(self) -> dict[str, Any]:
        from sklearn.metrics import balanced_accuracy_score, roc_auc_score

        if not self.pairs:
            raise PapersError("none of the cited papers is in the library: ingest the corpus first")
        gold = np.array([p.gold != "NOT_ENOUGH_INFO" for p in self.pairs])
        both = 0 < gold.sum() < len(gold)

        def auc(scores: Sequence[float]) -> float | None:
            return round(float(roc_auc_score(gold, scores)), 4) if both else None

        def best_balanced(scores: Sequence[float]) -> float | None:
            if not both:
                return None
            s = np.asarray(scores)
            return round(max(float(balanced_accuracy_score(gold, s >= t)) for t in np.unique(s)), 4)

        ours = [p.check.score for p in self.pairs]
        shipped = np.array([p.check.verdict != "not_found" for p in self.pairs])
        three = np.mean([AS_LABEL[p.check.verdict] == p.gold for p in self.pairs])
        whole = [p.whole_cosine for p in self.pairs]
        sent = [p.sentence_cosine for p in self.pairs]
        return {
            "pairs": len(self.pairs),
            "missing": len(self.missing),
            "labels": {lab: sum(p.gold == lab for p in self.pairs) for lab in LABELS},
            "ours": {
                "auc": auc(ours),
                "balanced_accuracy": round(float(balanced_accuracy_score(gold, shipped)), 4) if both else None,
                "three_way_accuracy": round(float(three), 4),
                "verdicts": {v: sum(p.check.verdict == v for p in self.pairs) for v in AS_LABEL},
                "judges": {j: sum(p.check.judge == j for p in self.pairs) for j in ("offline", "llm")},
            },
            "whole_paper_cosine": {"auc": auc(whole), "balanced_accuracy_best_threshold": best_balanced(whole)},
            "best_sentence_cosine": {"auc": auc(sent), "balanced_accuracy_best_threshold": best_balanced(sent)},
        }

    def table(self) -> str:
        m = self.metrics()
        o, w, s = m["ours"], m["whole_paper_cosine"], m["best_sentence_cosine"]
        labels = ", ".join(f"{k} {v}" for k, v in m["labels"].items())
        lines = [
            f"pairs: {m['pairs']} ({labels})" + (f"; {m['missing']} not in the library" if m["missing"] else ""),
            "",
            "| system | AUC (evidence vs NEI) | balanced accuracy | 3-way accuracy |",
            "|---|---|---|---|",
            f"| ours (shipped verdicts) | {_f(o['auc'])} | {_f(o['balanced_accuracy'])} | "
            f"{_f(o['three_way_accuracy'])} |",
            f"| best single-sentence cosine | {_f(s['auc'])} | {_f(s['balanced_accuracy_best_threshold'])} "
            "(best threshold) | — |",
            f"| whole-paper cosine | {_f(w['auc'])} | {_f(w['balanced_accuracy_best_threshold'])} "
            "(best threshold) | — |",
            "",
            "verdicts: " + ", ".join(f"{k} {v}" for k, v in o["verdicts"].items()),
        ]
        return "\n".join(lines)


def _f(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def evaluate_claims(
    claims: Sequence[LabelledClaim],
    papers: dict[str, Paper],
    chunks: Any,
    check: Any,
    embedder: Any,
) -> ClaimsReport:
    """`chunks(paper_id)` → [(chunk id, text)]; `check(claims)` → SentenceChecks (the Verifier)."""
    report = ClaimsReport()
    todo: list[tuple[LabelledClaim, str, list[str]]] = []
    for c in claims:
        for pid in c.labels:
            texts = [t for _, t in chunks(pid)] if pid in papers else []
            if not texts:
                report.missing.append(f"{c.id}: {pid}")
                continue
            todo.append((c, pid, texts))
    batch = [Claim(c.claim, tuple(Passage(1, t, pid) for t in texts), (1,)) for c, pid, texts in todo]
    checks = check(batch)
    for (c, pid, texts), result in zip(todo, checks):
        claim_vec = embed_sentences(embedder, [c.claim])[0]
        paper = papers[pid]
        whole = embedder.embed([paper.abstract or " ".join(texts)])[0]
        sents = [s for t in texts for s in passage_sentences(t)]
        best = float(np.max(embed_sentences(embedder, sents) @ claim_vec)) if sents else 0.0
        report.pairs.append(PairResult(c.id, pid, c.labels[pid], result, float(whole @ claim_vec), best))
    return report
