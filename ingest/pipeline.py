"""The one way in: sources → records → the library, for every face.

`add_to_library(door, sources, settings)` is what `papers ingest`, the Library page's uploads and Zotero
import, `papers watch`, the MCP tool `add_papers`, the Graph page's "add" and the REST API's
POST /ingest all call: load (files and folders by format; records and arXiv results as they come) →
drop a later record of an id already seen (one error naming it) → enrich when PAPERS_ENRICH is on →
`door.ingest(records, progress)`. The door is the library's front door, `Engine` here or `RemoteEngine`
in client mode: what happens to the records there (scrub, chunk, embed, write) is the core's.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.models import IngestReport, LoadError, Paper, Progress
from assistant.settings import Settings

if TYPE_CHECKING:
    from assistant.engine import PaperAssistant

Source = Path | Paper | LoadError
"""A file or folder to load, or a record already loaded (an arXiv result, a Zotero item, an API record)."""


@dataclass
class Added:
    report: IngestReport
    enrichment: str = ""  # the enrichment summary line when PAPERS_ENRICH is on, else ""


def load_all(
    paths: Iterable[Path], settings: Settings, extra: Iterable[Paper | LoadError] = ()
) -> Iterator[Paper | LoadError]:
    """Records of every path (files or folders, any supported format), then `extra` (e.g. arXiv)."""
    yield from records([*paths], settings)
    yield from extra


def records(sources: Iterable[Source], settings: Settings) -> Iterator[Paper | LoadError]:
    """Each path's records (any supported format, folders walked), each record as it is, in order."""
    from ingest.sources import load_path

    for source in sources:
        if isinstance(source, Path):
            yield from load_path(source, settings)
        else:
            yield source


def first_per_id(items: Iterable[Paper | LoadError]) -> Iterator[Paper | LoadError]:
    """The records with a later paper of an id already seen turned into its error (as `Engine.ingest`
    would), so it is neither enriched nor sent."""
    from assistant.library.ingestion import duplicate

    seen: dict[str, str] = {}
    for item in items:
        if isinstance(item, Paper):
            if item.id in seen:
                yield duplicate(item, seen[item.id])
                continue
            seen[item.id] = item.source
        yield item


def add_to_library(
    door: PaperAssistant, sources: Iterable[Source], settings: Settings, progress: Progress | None = None
) -> Added:
    """Load → one record per id → enrich (PAPERS_ENRICH) → `door.ingest`. Lazy all the way: a file is
    read while the door takes the records before it. Off, ingest.enrich (and httpx) is never imported."""
    items = first_per_id(records(sources, settings))
    stats = None
    if settings.enrich:
        from ingest.enrich import EnrichStats, enrich_records

        items = enrich_records(items, settings, stats := EnrichStats())
    report = door.ingest(items, progress=progress)
    return Added(report, stats.summary() if stats is not None else "")


def add_upload(
    door: PaperAssistant, name: str, data: bytes, settings: Settings, progress: Progress | None = None
) -> Added:
    """One uploaded file (the Library page's, local or client mode alike): written under a private
    temporary folder by its safe name, read by its format's loader, its records labelled
    `upload:NAME`, through `add_to_library`; nothing of the file is kept."""
    from ingest.uploads import load_staged, safe_name, staged_path

    with tempfile.TemporaryDirectory(prefix="papers-upload-") as tmp:
        path = staged_path(Path(tmp), 0, name)
        path.write_bytes(data)
        return add_to_library(door, load_staged([(path, safe_name(name))], settings), settings, progress)
