"""Records → library: dedupe by id and content hash, scrub, chunk, embed in batches, write.

Every source (files, arXiv, uploads, an API later) hands `Paper` records or per-item `LoadError`s to
`add_records`; loading the sources themselves is `ingest/`'s job. So one place keeps bad characters
out of the library, and one place decides what an unchanged, changed or duplicate record means.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from typing import Any

from assistant.index.embed_text import embedding_text
from assistant.index.embeddings import Embedder
from assistant.library.chunking import chunk_paper
from assistant.library.edits import apply_edits
from assistant.library.library import Library
from assistant.models import Chunk, IngestReport, LoadError, Paper, Progress
from assistant.settings import Settings
from assistant.text import INVISIBLE

"""progress(done, total, stage) while an ingest runs."""

# Lone surrogates (JSON "\\ud800" escapes, PDF strings) cannot be encoded at all, control
# characters (NUL, ESC and the rest of C0/C1) would reach terminals as escape sequences, and bidi
# controls and zero-width characters (assistant/text.py `INVISIBLE`) disguise titles and file names.
_CONTROL = re.compile(rf"[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff{INVISIBLE}]")
_CONTROL_SPACE = re.compile(r"[\x0b\x0c\x85]")


def scrub(text: str) -> str:
    """`text` without lone surrogates, control characters, bidi controls and zero-width characters
    (tab, CR and LF stay; vertical tab, form feed and NEL become spaces)."""
    if not _CONTROL.search(text) and not _CONTROL_SPACE.search(text):
        return text
    return _CONTROL_SPACE.sub(" ", _CONTROL.sub("", text))


def scrub_fields(value: Any) -> Any:
    """`scrub` applied to every string in a JSON-like structure."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, list):
        return [scrub_fields(v) for v in value]
    if isinstance(value, dict):
        return {k: scrub_fields(v) for k, v in value.items()}
    return value


def duplicate(item: Paper, first_source: str) -> LoadError:
    """The error for a paper whose id an earlier record of the same run already had."""
    # "file:line" from the line-based loaders; "arxiv:ID" and plain paths stay whole.
    src, sep, line = item.source.rpartition(":")
    if not (sep and src and line.isdigit()):
        src, line = item.source, ""
    return LoadError(
        source=src,
        line=int(line) if line else None,
        message=f"duplicate paper id {item.id!r} (first seen at {first_source}); skipped",
    )


def collect(items: Iterable[Paper | LoadError], report: IngestReport, max_errors: int | None = None) -> list[Paper]:
    """Keep the first paper per id; later duplicates in the same run are per-item errors.

    Only the first `max_errors` errors are kept in the report (all of them are counted in `failed`):
    a file of a million bad lines must not become a million error objects in memory, in a job's
    stored result or on the terminal."""
    seen: dict[str, str] = {}
    papers: list[Paper] = []
    failed = 0

    def error(e: LoadError) -> None:
        nonlocal failed
        failed += 1
        if max_errors is None or len(report.errors) < max_errors:
            report.errors.append(e)

    for item in items:
        if isinstance(item, LoadError):
            error(item)
            continue
        # Every source passes here: one place keeps unencodable and control characters out of the library.
        item = Paper.model_validate(scrub_fields(item.model_dump()))
        if item.id in seen:
            error(duplicate(item, seen[item.id]))
            continue
        seen[item.id] = item.source
        papers.append(item)
    report.failed = failed
    return papers


def write_papers(
    papers: list[Paper],
    library: Library,
    embedder: Callable[[], Embedder],
    settings: Settings,
    report: IngestReport | None = None,
    progress: Progress | None = None,
) -> IngestReport:
    """Write the papers whose content changed; the embedder is only built when something must be embedded."""
    report = report or IngestReport()
    t0 = time.perf_counter()
    known = library.hashes()
    differ = [p for p in papers if known.get(p.id) != p.content_hash()]
    # The user's fixed titles/authors/years outlive a re-ingest: an edited paper's stored hash is that
    # of the edit, so only records that differ can carry one (an unchanged re-ingest pays nothing).
    todo: list[Paper] = []
    report.unchanged += len(papers) - len(differ)
    for p in apply_edits(differ, library) if differ else []:
        old = known.get(p.id)
        if old == p.content_hash():
            report.unchanged += 1
        else:
            todo.append(p)
    total = len(todo)
    if progress:
        progress(0, total, "embedding")
    if todo:
        model = embedder()
        chunk_paper(todo[0], settings.chunk_size, settings.chunk_overlap)  # load the splitter outside the lock
        # Batches of whole papers sized to a few encoder batches. The process holds the writer lock
        # for the whole run; each batch is embedded outside `writing()` and written and committed
        # inside it, so readers in this process (a server's searches) wait for one batch's write,
        # not for the whole ingest, and an interrupted run keeps every batch already written.
        batch_chunks = settings.embed_batch_size * 4
        with library.exclusive():  # one writing process for the whole run
            pending: list[tuple[Paper, list[Chunk]]] = []
            n_pending = 0
            done = 0
            for p in todo:
                chunks = chunk_paper(p, settings.chunk_size, settings.chunk_overlap)
                pending.append((p, chunks))
                n_pending += len(chunks)
                if n_pending >= batch_chunks:
                    done += _flush(pending, library, model, known, report)
                    pending, n_pending = [], 0
                    if progress:
                        progress(done, total, "embedding")
            if pending:
                done += _flush(pending, library, model, known, report)
            if progress:
                progress(done, total, "done")
    report.seconds = time.perf_counter() - t0
    return report


def _flush(
    pending: list[tuple[Paper, list[Chunk]]],
    library: Library,
    model: Embedder,
    known: dict[str, str],
    report: IngestReport,
) -> int:
    import numpy as np  # here, not at the top: an unchanged re-ingest never needs it

    texts = [embedding_text(p.title, c.text) for p, chunks in pending for c in chunks]
    vecs = model.embed(texts)
    items = []
    offset = 0
    for p, chunks in pending:
        items.append((p, chunks, np.asarray(vecs[offset : offset + len(chunks)])))
        offset += len(chunks)
    with library.writing():
        report.chunks_written += library.write(items)
    report.embedded += len(texts)
    for p, _ in pending:
        if p.id in known:
            report.updated += 1
        else:
            report.added += 1
    return len(pending)


def add_records(
    items: Iterable[Paper | LoadError],
    library: Library,
    embedder: Callable[[], Embedder],
    settings: Settings,
    progress: Progress | None = None,
) -> IngestReport:
    """Records (and the per-item errors met while loading them) into the library, with a report."""
    report = IngestReport()
    papers = collect(items, report, settings.ingest_max_errors)
    return write_papers(papers, library, embedder, settings, report, progress)
