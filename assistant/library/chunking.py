"""Paper → Chunks: sentence-aware, bounded in cl100k tokens, with overlap."""

from __future__ import annotations

import functools
from collections.abc import Callable
from functools import lru_cache

from assistant.index.tokens import offline_env
from assistant.library.pages import assign_pages
from assistant.models import Chunk, Paper


@lru_cache(maxsize=1)
def _count_tokens() -> Callable[[str], list[int]]:
    offline_env()
    import tiktoken

    # Text that happens to contain "<|endoftext|>" is text: tiktoken refuses special tokens by default.
    return functools.partial(tiktoken.get_encoding("cl100k_base").encode, disallowed_special=())


@lru_cache(maxsize=8)
def _splitter(chunk_size: int, chunk_overlap: int):  # type: ignore[no-untyped-def]
    offline_env()
    from llama_index.core.node_parser import SentenceSplitter

    return SentenceSplitter(
        chunk_size=chunk_size,
        chunk_overlap=min(chunk_overlap, chunk_size // 2),
        tokenizer=_count_tokens(),
        paragraph_separator="\n\n",
    )


def split_text(text: str, chunk_size: int, chunk_overlap: int) -> list[str]:
    """Sentence-aware pieces of at most chunk_size tokens. A text that fits in one chunk comes back
    from SentenceSplitter stripped, so it is returned without it: most abstracts fit, and not
    importing llama-index saves 1.7 s of a cold ingest (bench/RESULTS.md)."""
    if len(_count_tokens()(text)) <= chunk_size:
        stripped = text.strip()
        return [stripped] if stripped else []
    return list(_splitter(chunk_size, chunk_overlap).split_text(text))


def chunk_paper(paper: Paper, chunk_size: int = 512, chunk_overlap: int = 64) -> list[Chunk]:
    """The title leads the first chunk so a chunk alone still says which paper it is from."""
    pieces: list[tuple[str, str]] = []
    head = paper.abstract.strip()
    if head:
        pieces.extend(("abstract", t) for t in split_text(head, chunk_size, chunk_overlap))
    for sec in paper.sections:
        if sec.text.strip():
            pieces.extend((sec.heading, t) for t in split_text(sec.text, chunk_size, chunk_overlap))
    if not pieces:
        pieces = [("title", paper.title)]
    h = paper.content_hash()[:8]
    # A PDF's chunks remember the page they start on, for the cited passage shown in its page.
    pages = assign_pages([t for _, t in pieces], paper.page_texts) if paper.page_texts else [None] * len(pieces)
    return [
        Chunk(id=f"{paper.id}::{h}::{i}", paper_id=paper.id, index=i, text=text, section=section, page=page)
        for i, ((section, text), page) in enumerate(zip(pieces, pages))
    ]
