"""What the dense index embeds for a chunk, and under which model name a library records its vectors.

Apart from the embedders themselves: the library and its stores need these two rules without loading
an embedding model."""

from __future__ import annotations

from assistant.settings import DEFAULT_EMBED_MODEL

BUNDLED_ALIASES = {DEFAULT_EMBED_MODEL, "all-MiniLM-L6-v2", "default", ""}


def canonical_model_name(name: str) -> str:
    return DEFAULT_EMBED_MODEL if name in BUNDLED_ALIASES else name


def embedding_text(title: str, text: str) -> str:
    """What the dense index sees: the title gives every chunk its paper's subject."""
    return f"{title}\n\n{text}" if title and not text.startswith(title) else text
