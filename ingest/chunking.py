"""Paper → Chunks: sentence-aware, bounded in cl100k tokens, with overlap."""

from __future__ import annotations

from functools import lru_cache

from assistant.embeddings import offline_env
from assistant.models import Chunk, Paper


@lru_cache(maxsize=8)
def _splitter(chunk_size: int, chunk_overlap: int):  # type: ignore[no-untyped-def]
    offline_env()
    import tiktoken
    from llama_index.core.node_parser import SentenceSplitter

    enc = tiktoken.get_encoding("cl100k_base")
    return SentenceSplitter(
        chunk_size=chunk_size,
        chunk_overlap=min(chunk_overlap, chunk_size // 2),
        tokenizer=enc.encode,
        paragraph_separator="\n\n",
    )


def chunk_paper(paper: Paper, chunk_size: int = 512, chunk_overlap: int = 64) -> list[Chunk]:
    """The title leads the first chunk so a chunk alone still says which paper it is from."""
    splitter = _splitter(chunk_size, chunk_overlap)
    pieces: list[tuple[str, str]] = []
    head = paper.abstract.strip()
    if head:
        pieces.extend(("abstract", t) for t in splitter.split_text(head))
    for sec in paper.sections:
        if sec.text.strip():
            pieces.extend((sec.heading, t) for t in splitter.split_text(sec.text))
    if not pieces:
        pieces = [("title", paper.title)]
    h = paper.content_hash()[:8]
    return [
        Chunk(id=f"{paper.id}::{h}::{i}", paper_id=paper.id, index=i, text=text, section=section)
        for i, (section, text) in enumerate(pieces)
    ]
