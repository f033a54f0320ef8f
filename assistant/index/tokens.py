"""Tokens, counted the way the prompt budget and the chunker count them (cl100k, from the BPE files
llama-index ships), and the environment that keeps every model library offline."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any


def offline_env() -> None:
    """Nothing here may reach a model hub, and tiktoken must read llama-index's shipped BPE files."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    if "TIKTOKEN_CACHE_DIR" not in os.environ:
        import importlib.util

        spec = importlib.util.find_spec("llama_index.core")
        if spec and spec.origin:
            os.environ["TIKTOKEN_CACHE_DIR"] = str(Path(spec.origin).parent / "_static" / "tiktoken_cache")


@lru_cache(maxsize=1)
def _encoder() -> Any:
    offline_env()
    import tiktoken

    return tiktoken.get_encoding("cl100k_base")


def count_tokens(text: str) -> int:
    return len(_encoder().encode(text, disallowed_special=()))


def truncate_tokens(text: str, budget: int) -> str:
    enc = _encoder()
    ids = enc.encode(text, disallowed_special=())
    return text if len(ids) <= budget else enc.decode(ids[: max(0, budget)]) + " …"
