"""Verify section: the verification core on SciFact train claims (`papers eval --claims`), beside the
same-run baselines over the same pairs and embeddings (whole-paper cosine, best single-sentence cosine).

The corpus is `../shared/eval/scifact-train/corpus.jsonl` and the claims
`../shared/eval/scifact-claims/claims.jsonl` (read from there, never copied; "not run" without them);
the library is built as the quality section builds it (vectors cached in bench/cache/). The shipped
thresholds are the settings' defaults, fixed before the run.
"""

from __future__ import annotations

from typing import Any

from bench.common import ROOT, Config, Run, log
from bench.sections.quality import SCIFACT, corpus_engine

CLAIMS = ROOT.parent / "shared" / "eval" / "scifact-claims" / "claims.jsonl"


def measure(run: Run, cfg: Config) -> None:
    from assistant.answers.verify.claims import load_claims

    corpus = SCIFACT / "corpus.jsonl"
    if not (corpus.exists() and CLAIMS.exists()):
        run.measurements["verify"] = {"skipped": f"not run: {CLAIMS.parent} or {SCIFACT} is missing"}
        log("verify: not run (SciFact claims missing)")
        return
    with corpus_engine(corpus) as (engine, n_papers, _, _):
        report = engine.verify_claims(load_claims(CLAIMS))
    m: dict[str, Any] = report.metrics()
    run.measurements["verify"] = {**m, "table": report.table(), "papers": n_papers}
    detail = f"{m['pairs']} (claim, cited paper) pairs, {n_papers:,} abstracts"
    ours, whole, sent = m["ours"], m["whole_paper_cosine"], m["best_sentence_cosine"]
    run.record("verify.scifact.ours_auc", ours["auc"], detail)
    best = max(whole["auc"], sent["auc"])
    which = "best single-sentence cosine" if sent["auc"] >= whole["auc"] else "whole-paper cosine"
    run.record("verify.scifact.best_baseline_auc", best, f"{which}; whole-paper {whole['auc']:.3f}, same run")
    run.record("verify.scifact.auc_gain", ours["auc"] - best, f"ours {ours['auc']:.3f} - {which} {best:.3f}")
    run.record("verify.scifact.balanced_accuracy", ours["balanced_accuracy"], "shipped verdicts, thresholds fixed")
    run.record("verify.scifact.three_way_accuracy", ours["three_way_accuracy"], "supported/contradicted/not found")
    log("verify:\n" + report.table())
