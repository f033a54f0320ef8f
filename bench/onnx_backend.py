"""Would an ONNX Runtime backend beat torch on CPU? Measured here before any product code exists.

The bundled model ships no ONNX file, and optimum conflicts with transformers 5, so the model is
exported with `torch.onnx.export` (TorchScript exporter, opset 17, dynamic batch and length; needs
the `onnx` package) once into bench/cache/. Encoding mirrors sentence-transformers: tokenizer with
truncation at the model's max_seq_length, mean pooling over the attention mask, L2 normalisation.
The product gets such a backend only if it is faster and the dev-set MRR stays within 0.005.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np


def export_onnx(target: Path) -> float:
    """Export the bundled model's transformer to `target`; returns the seconds it took."""
    from assistant.index.embeddings import bundled_model_path
    from assistant.index.tokens import offline_env

    offline_env()
    import torch
    from transformers import AutoModel

    t0 = time.perf_counter()
    model = AutoModel.from_pretrained(str(bundled_model_path())).eval()

    class Hidden(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            out = self.inner(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
            return out.last_hidden_state

    names = ["input_ids", "attention_mask", "token_type_ids"]
    dummy = tuple(torch.ones(2, 16, dtype=torch.long) for _ in names)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    torch.onnx.export(
        Hidden(model),
        dummy,
        str(tmp),
        input_names=names,
        output_names=["last_hidden_state"],
        dynamic_axes={n: {0: "batch", 1: "seq"} for n in [*names, "last_hidden_state"]},
        opset_version=17,
        dynamo=False,
    )
    tmp.replace(target)
    return time.perf_counter() - t0


class OnnxEmbedder:
    """Same interface as assistant.index.embeddings.LocalEmbedder, on ONNX Runtime."""

    def __init__(self, onnx_path: Path, batch_size: int = 64, threads: int = 0) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        from assistant.index.embeddings import bundled_model_path
        from assistant.settings import DEFAULT_EMBED_MODEL

        model_dir = bundled_model_path()
        max_len = int(json.loads((model_dir / "sentence_bert_config.json").read_text())["max_seq_length"])
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_len)
        self.tokenizer.enable_padding()
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        self.name = DEFAULT_EMBED_MODEL
        self.dim = 384
        self.batch_size = batch_size

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        order = np.argsort([-len(t) for t in texts], kind="stable")
        for i in range(0, len(texts), self.batch_size):
            idx = order[i : i + self.batch_size]
            enc = self.tokenizer.encode_batch([texts[j] for j in idx])
            ids = np.asarray([e.ids for e in enc], dtype=np.int64)
            mask = np.asarray([e.attention_mask for e in enc], dtype=np.int64)
            hidden = self.session.run(
                None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            )[0]
            summed = (hidden * mask[:, :, None]).sum(axis=1)
            vecs = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1)
            out[idx] = vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)
        return out

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed([text])[0]


def _dev_mrr(embedder: Any) -> float | None:
    """MRR@10 of hybrid retrieval on the dev questions over the seed library built with `embedder`."""
    from assistant.engine import Engine
    from assistant.retrieval.evaluate import evaluate, load_questions
    from assistant.settings import Settings
    from bench.common import DEV_QUESTIONS
    from ingest.pipeline import load_all
    from ingest.sources.seed import SEED_FILE

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(_env_file=None, data_dir=Path(tmp))  # type: ignore[call-arg]
        engine = Engine(settings, embedder=embedder)
        engine.ingest(load_all([SEED_FILE], settings))
        report = evaluate(
            load_questions(DEV_QUESTIONS),
            lambda q, k: engine.retriever.search(q, k),
            lambda r: r.best_dense < settings.abstain_threshold,
            [(p.id, p.title) for p in engine.papers()],
        )
        engine.library.close()
        return report.mrr_at_10


def speed(impl: str, texts_path: Path, onnx_path: Path, batch: int) -> dict[str, Any]:
    """One encoder alone in this process (ONNX Runtime's and torch's worker threads spin after each
    call, so two in one process slow each other down): load time, batch throughput, query latency."""
    texts = json.loads(texts_path.read_text())
    t0 = time.perf_counter()
    if impl == "ort":
        embedder: Any = OnnxEmbedder(onnx_path, batch)
    else:
        from assistant.index.embeddings import LocalEmbedder

        embedder = LocalEmbedder("default", "cpu", batch)
    load_s = time.perf_counter() - t0
    embedder.embed(texts[:8])
    t0 = time.perf_counter()
    vecs = embedder.embed(texts)
    encode_s = time.perf_counter() - t0
    lat = []
    for t in texts[:40]:
        ta = time.perf_counter()
        embedder.embed_query(t[:120])
        lat.append(time.perf_counter() - ta)
    return {
        "impl": impl,
        "load_s": load_s,
        "texts_per_s": len(texts) / encode_s,
        "query_ms_p50": float(np.median(lat) * 1000),
        "vectors": vecs.tolist(),
    }


def quality(onnx_path: Path, batch: int) -> dict[str, Any]:
    from assistant.index.embeddings import LocalEmbedder

    return {
        "mrr_torch": _dev_mrr(LocalEmbedder("default", "cpu", batch)),
        "mrr_ort": _dev_mrr(OnnxEmbedder(onnx_path, batch)),
    }
