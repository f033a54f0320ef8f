"""ONNX section: would an ONNX Runtime encoder beat the product's torch encoder on this CPU?

Uses the texts the ingest section wrote (bench/cache/texts-*.json) and bench/onnx_backend.py in
worker processes. It is a decision, not a goal: records the comparison under
`run.measurements["onnx"]`, and `adopt` only when ONNX Runtime is faster with MRR@10 within 0.005.
"""

from __future__ import annotations

import importlib.util
import json
from typing import Any

from bench.common import CACHE, Config, Run, env_for, run_worker

MRR_BUDGET = 0.005


def measure(run: Run, cfg: Config) -> None:
    texts_file = next(iter(sorted(CACHE.glob("texts-*.json"), key=lambda p: -p.stat().st_size)), None)
    if importlib.util.find_spec("onnx") is None or texts_file is None:
        run.measurements["onnx"] = {
            "skipped": "the `onnx` package (needed by torch.onnx.export; `pip install -e '.[bench]'`) is not installed"
            if texts_file
            else "no ingest texts to encode"
        }
        return
    import numpy as np

    from assistant.settings import Settings

    texts = json.loads(texts_file.read_text())[: cfg.onnx_texts]
    sub = CACHE / f"onnx-texts-{len(texts)}.json"
    sub.write_text(json.dumps(texts))
    model = CACHE / "minilm-l6.onnx"
    export_s = None
    if not model.exists():
        export_s = run_worker("onnx_export", [str(model)], env_for())["export_s"]
    batch = Settings(_env_file=None).embed_batch_size  # type: ignore[call-arg]
    runs: dict[str, list[dict[str, Any]]] = {"torch": [], "ort": []}
    for _ in range(2):  # alternating processes, best of two each
        for impl in ("torch", "ort"):
            runs[impl].append(run_worker("onnx_speed", [impl, str(sub), str(model), "--batch", str(batch)], env_for()))
    best = {impl: max(rs, key=lambda r: r["texts_per_s"]) for impl, rs in runs.items()}
    a, b = np.asarray(best["torch"]["vectors"]), np.asarray(best["ort"]["vectors"])
    cos = (a * b).sum(axis=1)
    out: dict[str, Any] = {
        "n": len(texts),
        "batch": batch,
        "export_s": export_s,
        **{
            f"{impl}_{k}": min(r[k] for r in rs) if k.endswith(("_s", "_ms_p50")) else max(r[k] for r in rs)
            for impl, rs in runs.items()
            for k in ("load_s", "texts_per_s", "query_ms_p50")
        },
        "cosine_min": float(cos.min()),
        "cosine_mean": float(cos.mean()),
        **run_worker("onnx_quality", [str(model), "--batch", str(batch)], env_for()),
    }
    out.pop("_wall_s", None)
    out["speedup"] = out["ort_texts_per_s"] / out["torch_texts_per_s"]
    out["mrr_delta"] = None if out["mrr_ort"] is None else abs(out["mrr_ort"] - out["mrr_torch"])
    out["adopt"] = bool(out["speedup"] > 1.0 and out["mrr_delta"] is not None and out["mrr_delta"] <= MRR_BUDGET)
    run.measurements["onnx"] = out
    run.record("onnx.speedup", out["speedup"])
    run.record("onnx.mrr_delta", out["mrr_delta"])
