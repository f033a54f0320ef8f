"""How the offline judge's weights were found (assistant/answers/verify/offline.py `WEIGHTS`, `INTERCEPT`).

    python -m bench.fit_verifier [CLAIMS.jsonl] [CORPUS.jsonl]   (default: ../shared/eval/scifact-*)

Each (claim, cited abstract) pair of the SciFact train claims gives the judge's measures; a logistic
regression with balanced classes (evidence = SUPPORT or CONTRADICT, against NOT_ENOUGH_INFO) weighs
them. Printed: each measure's AUC alone, the combination's AUC cross-validated by claim (5 folds, 5
shuffles), its balanced accuracy at 0.5, and the weights to copy. Word weights are IDF over the corpus
abstracts (for abstracts, one chunk each, the same as the library's chunk frequencies).
Run once when the measures change; the shipped weights are not refitted per library.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from assistant.answers.verify.offline import WEIGHTS, OfflineJudge
from assistant.index.bm25 import tokenize
from assistant.index.embeddings import get_embedder
from assistant.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
CLAIMS = ROOT.parent / "shared/eval/scifact-claims/claims.jsonl"
CORPUS = ROOT.parent / "shared/eval/scifact-train/corpus.jsonl"


def corpus_doc_freq(abstracts: Sequence[str]):  # type: ignore[no-untyped-def]
    df: Counter[str] = Counter()
    for a in abstracts:
        df.update(set(tokenize(a)))
    n = len(abstracts)
    return lambda terms: (n, {t: df[t] for t in terms if t in df})


def main(argv: Sequence[str]) -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import balanced_accuracy_score, roc_auc_score
    from sklearn.model_selection import GroupKFold, cross_val_predict

    claims_path = Path(argv[0]) if argv else CLAIMS
    corpus_path = Path(argv[1]) if len(argv) > 1 else CORPUS
    corpus = {d["id"]: d for d in map(json.loads, corpus_path.read_text().splitlines())}
    doc_freq = corpus_doc_freq([d["abstract"] for d in corpus.values()])
    judge = OfflineJudge(Settings(), get_embedder(Settings()), doc_freq)
    names = list(WEIGHTS)
    X, y, groups = [], [], []
    for c in map(json.loads, claims_path.read_text().splitlines()):
        for pid in c["cited"]:
            f = judge.features(c["claim"], corpus[pid]["abstract"])
            X.append([getattr(f, k) for k in names])
            y.append(c["labels"][pid] != "NOT_ENOUGH_INFO")
            groups.append(c["id"])
    Xa, ya = np.asarray(X), np.asarray(y)
    for k, name in enumerate(names):
        print(f"{name}: AUC {roc_auc_score(ya, Xa[:, k]):.3f}")
    aucs, bas = [], []
    for seed in range(5):
        perm = dict(zip(sorted(set(groups)), np.random.RandomState(seed).permutation(len(set(groups)))))
        model = LogisticRegression(C=1.0, max_iter=1000, class_weight="balanced")
        p = cross_val_predict(model, Xa, ya, cv=GroupKFold(5), groups=[perm[g] for g in groups], method="predict_proba")
        aucs.append(roc_auc_score(ya, p[:, 1]))
        bas.append(balanced_accuracy_score(ya, p[:, 1] >= 0.5))
    print(f"combined, cross-validated by claim: AUC {np.mean(aucs):.3f}, balanced accuracy at 0.5 {np.mean(bas):.3f}")
    fit = LogisticRegression(C=1.0, max_iter=1000, class_weight="balanced").fit(Xa, ya)
    weights = {k: round(float(w), 2) for k, w in zip(names, fit.coef_[0])}
    print(f"WEIGHTS = {weights}\nINTERCEPT = {round(float(fit.intercept_[0]), 2)}")


if __name__ == "__main__":
    main(sys.argv[1:])
