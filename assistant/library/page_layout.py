"""`papers reindex --pdf-layout`: page numbers for the chunks of PDFs ingested before chunks kept them.

New PDFs get each chunk's page at ingest (assistant/library/chunking.py, from the page texts the PDF reader
returns). A library built before has none, and a re-ingest of an unchanged PDF skips it (page texts
are not part of a paper's content hash, so nothing is re-embedded for them). This adds them in
place: the caller (ui/ → ingest/) reads each PDF's page texts again, here each stored chunk is placed
in them and its Chroma metadata gains `page`. Vectors, texts and the SQLite store are untouched; the
write still goes through `Library.writing()`, so it holds the write lock and bumps the generation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from assistant.errors import LibraryError
from assistant.library.library import Library
from assistant.library.pages import assign_pages


@dataclass
class LayoutReport:
    papers: int = 0  # papers whose chunks were placed
    chunks: int = 0  # chunks that now have a page
    unplaced: dict[str, int] = field(default_factory=dict)  # paper id → chunks whose text no page holds
    missing: list[str] = field(default_factory=list)  # paper ids no longer in the library


def chunk_pages(chunks: Sequence[tuple[str, str]], page_texts: Sequence[str]) -> dict[str, int | None]:
    """chunk id → the page its text starts on (None: not found), for one paper's (id, text) chunks."""
    return dict(zip([cid for cid, _ in chunks], assign_pages([t for _, t in chunks], page_texts)))


def add_page_layout(library: Library, layouts: Mapping[str, Sequence[str]]) -> LayoutReport:
    """For each paper id → its PDF's page texts: store the page of every chunk that can be placed."""
    report = LayoutReport()
    with library.writing():
        for paper_id, page_texts in layouts.items():
            chunks = library.chunks_of(paper_id)
            if not chunks:
                report.missing.append(paper_id)
                continue
            pages = chunk_pages(chunks, page_texts)
            placed = {cid: p for cid, p in pages.items() if p is not None}
            if placed:
                try:
                    library.collection.update(ids=list(placed), metadatas=[{"page": p} for p in placed.values()])
                except Exception as exc:
                    raise LibraryError(f"storing the pages of {paper_id} in {library.location} failed: {exc}") from exc
            report.papers += 1
            report.chunks += len(placed)
            if len(placed) < len(pages):
                report.unplaced[paper_id] = len(pages) - len(placed)
    return report
