"""Embedding backends: the OpenAI-compatible /embeddings client against the local test server
(concurrent batches, retries on 429/500, ingest + search end to end) and the local model's device setting."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from assistant.errors import EmbeddingError
from assistant.index.embeddings import OpenAIEmbedder, get_embedder
from assistant.settings import Settings
from tests.llm_server import LLMServer, Reply, hashed_embedding
from tests.support import assert_one_line_error, papers, papers_json

MODEL = "openai:hash-embed"


def _settings(server: LLMServer, **extra: Any) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None, embed_model=MODEL, embed_base_url=server.url, embed_api_key="k", **extra
    )


def _expected(texts: list[str], dim: int) -> np.ndarray:
    return np.asarray([hashed_embedding(t, dim) for t in texts], dtype=np.float32)


class _Gate:
    """Stands in for the server's embedding fault queue: every request waits at a barrier until
    `parties` requests are inside the server at once. Requests sent one after another break it."""

    def __init__(self, parties: int) -> None:
        self.barrier = threading.Barrier(parties, timeout=30)
        self.broken = False

    def __bool__(self) -> bool:
        return True

    def popleft(self) -> Reply | None:
        try:
            self.barrier.wait()
        except threading.BrokenBarrierError:
            self.broken = True
            return Reply(status=400)  # not retried: the test fails on the error
        return None


def test_batches_run_concurrently_and_keep_order(llm_server: LLMServer) -> None:
    embedder = OpenAIEmbedder(_settings(llm_server, embed_batch_size=3, embed_concurrency=4))
    assert embedder.dim == llm_server.embed_dim and embedder.name == MODEL
    texts = [f"paper {i} about topic {i % 5} and method {i * 7}" for i in range(12)]
    before = len(llm_server.embedding_requests)
    gate = _Gate(parties=4)
    llm_server.embedding_faults = gate  # type: ignore[assignment]
    vecs = embedder.embed(texts)
    assert not gate.broken
    batches = [r["input"] for r in llm_server.embedding_requests[before:]]
    assert sorted(len(b) for b in batches) == [3, 3, 3, 3]
    assert sorted(t for b in batches for t in b) == sorted(texts)
    assert vecs.shape == (12, llm_server.embed_dim) and vecs.dtype == np.float32
    np.testing.assert_allclose(vecs, _expected(texts, llm_server.embed_dim), atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-6)


def test_429_and_500_are_retried(llm_server: LLMServer) -> None:
    embedder = OpenAIEmbedder(_settings(llm_server, embed_batch_size=8))
    before = len(llm_server.embedding_requests)
    fast = {"retry-after-ms": "10"}
    llm_server.embedding_faults.extend([Reply(status=429, headers=fast), Reply(status=500, headers=fast)])
    texts = ["graph neural networks", "diffusion models for images"]
    vecs = embedder.embed(texts)
    assert len(llm_server.embedding_requests) - before == 3  # two failures, then the answer
    np.testing.assert_allclose(vecs, _expected(texts, llm_server.embed_dim), atol=1e-6)


def test_a_server_that_keeps_failing_is_one_clear_error(llm_server: LLMServer) -> None:
    embedder = OpenAIEmbedder(_settings(llm_server))
    fast = {"retry-after-ms": "10"}
    llm_server.embedding_faults.extend(Reply(status=500, headers=fast) for _ in range(4))
    with pytest.raises(EmbeddingError, match="embeddings endpoint failed for model 'hash-embed'"):
        embedder.embed(["anything"])
    assert not llm_server.embedding_faults  # the first try and three retries


def test_ingest_and_search_through_the_embeddings_server(llm_server: LLMServer, data_dir: Path) -> None:
    env = {
        "PAPERS_EMBED_MODEL": MODEL,
        "PAPERS_EMBED_BASE_URL": llm_server.url,
        "PAPERS_EMBED_API_KEY": "k",
        "PAPERS_EMBED_BATCH_SIZE": "8",
        "PAPERS_EMBED_CONCURRENCY": "3",
    }
    report = papers_json("ingest", "--json", env=env)
    assert (report["added"], report["failed"]) == (46, 0)
    stats = papers_json("stats", "--json", env=env)
    sent = [t for r in llm_server.embedding_requests for t in r["input"]]
    assert sum(t != "dimension probe" for t in sent) == stats["chunks"]  # every chunk, once, through the server
    assert max(len(r["input"]) for r in llm_server.embedding_requests) <= 8
    assert (stats["embed_model"], stats["embed_dim"], stats["papers"]) == (MODEL, llm_server.embed_dim, 46)

    listed = papers_json("list", "--json", env=env)
    target = next(p for p in listed if len(p["title"].split()) >= 6)
    found = papers_json("search", target["title"], "--json", "-k", "3", env=env)
    assert found["results"][0]["id"] == target["id"]

    # The same library opened with the local model is refused, with the way out named.
    done = papers("search", "anything", env={k: v for k, v in env.items() if k != "PAPERS_EMBED_MODEL"})
    assert_one_line_error(done, MODEL, "papers reindex")


def test_embedder_is_not_rebuilt_per_call_for_the_local_model() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert get_embedder(settings) is get_embedder(settings)


def test_device_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    torch = pytest.importorskip("torch")
    auto = get_embedder(Settings(_env_file=None, embed_device="auto"))  # type: ignore[call-arg]
    assert str(auto.device).startswith("cuda" if torch.cuda.is_available() else "cpu")  # type: ignore[attr-defined]
    assert auto.embed(["a sentence"]).shape == (1, 384)
    bad = papers("search", "anything", env={"PAPERS_EMBED_DEVICE": "gpu"})
    assert_one_line_error(bad, "embed_device")
    if not torch.cuda.is_available():
        done = papers("search", "anything", env={"PAPERS_EMBED_DEVICE": "cuda"})
        assert_one_line_error(done, "cannot load embedding model")


TEXTS = [
    "Physics-informed neural networks solve partial differential equations.",
    "Gaussian features with learnable positions replace the fixed mesh. " * 60,  # past 256 tokens: truncated
    "Ünïcödé résumé — naïve café, 北京, emoji-free.",
    "a",
    "",
]


def _reference(path: Path, texts: list[str]) -> np.ndarray:
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(path), device="cpu")
    return np.asarray(model.encode(texts, batch_size=2, normalize_embeddings=True), dtype=np.float32)


def test_bundled_model_matches_sentence_transformers_without_importing_it() -> None:
    from assistant.index.embeddings import LocalEmbedder, bundled_model_path

    probe = (
        "import sys, json; from assistant.index.embeddings import LocalEmbedder; "
        "e = LocalEmbedder('default'); v = e.embed(json.loads(sys.argv[1])); "
        "print(json.dumps({'st': 'sentence_transformers' in sys.modules, 'v': v.tolist(), 'dim': e.dim}))"
    )
    done = subprocess.run([sys.executable, "-c", probe, json.dumps(TEXTS)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["st"] is False and out["dim"] == 384
    ours = np.asarray(out["v"], dtype=np.float32)
    np.testing.assert_allclose(ours, _reference(bundled_model_path(), TEXTS), atol=1e-5)
    # Batching (longest first, padded per batch) does not change a text's vector.
    one_by_one = np.vstack([LocalEmbedder("default", batch_size=1).embed([t]) for t in TEXTS])
    np.testing.assert_allclose(ours, one_by_one, atol=1e-5)


def test_other_model_shapes_go_through_sentence_transformers(tmp_path: Path) -> None:
    """A folder the torch encoder does not reproduce (CLS pooling here) is left to sentence-transformers."""
    from assistant.index.embeddings import LocalEmbedder, bundled_model_path

    src = bundled_model_path()
    model = tmp_path / "cls-model"
    shutil.copytree(src, model, ignore=shutil.ignore_patterns("model.safetensors", "1_Pooling"))
    (model / "model.safetensors").symlink_to(src / "model.safetensors")
    (model / "1_Pooling").mkdir()
    pooling = json.loads((src / "1_Pooling" / "config.json").read_text())
    pooling.update(pooling_mode_mean_tokens=False, pooling_mode_cls_token=True)
    (model / "1_Pooling" / "config.json").write_text(json.dumps(pooling))
    embedder = LocalEmbedder(str(model))
    assert embedder._st is not None  # the sentence-transformers path
    vecs = embedder.embed(TEXTS)
    np.testing.assert_allclose(vecs, _reference(model, TEXTS), atol=1e-5)
    mean_pooled = LocalEmbedder("default").embed(TEXTS)
    assert float((vecs[0] * mean_pooled[0]).sum()) < 0.99  # really another pooling
