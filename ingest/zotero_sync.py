"""A Zotero sync, shared by `papers ingest --zotero` and the Library page: read, write, find what left.

`ingest.sources.zotero.load_zotero` turns the database into records; this writes them the one way in
(`ingest.pipeline.add_to_library`: enriched when PAPERS_ENRICH is on; unchanged items embed nothing),
lists the papers whose Zotero item is gone and removes them only when asked (`prune`), so both faces
report the same thing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.engine import PaperAssistant
from assistant.models import IngestReport, Paper
from ingest.pipeline import Progress, add_to_library
from ingest.sources.zotero import SKIPPED, ZoteroImport, default_data_dir, load_zotero, stale_ids


@dataclass
class ZoteroSync:
    read: ZoteroImport
    report: IngestReport
    gone: list[Paper]  # papers whose item left Zotero (removed when `prune`)
    removed: list[str] = field(default_factory=list)
    enrichment: str = ""  # the enrichment summary line when PAPERS_ENRICH is on

    def skipped_line(self) -> str:
        return ", ".join(f"{self.read.skipped[k]} {k.replace('_', ' ')}" for k in SKIPPED)

    def public(self) -> dict[str, Any]:
        r = self.read
        return {
            "database": str(r.database),
            "items": r.read,
            "selected": r.selected,
            "skipped": r.skipped,
            "warnings": r.warnings,
            "would_remove": [] if self.removed else [p.id for p in self.gone],
            "removed": self.removed,
        }


def sync_zotero(
    engine: PaperAssistant,
    data_dir: Path | None = None,
    collections: Sequence[str] = (),
    tags: Sequence[str] = (),
    prune: bool = False,
    progress: Progress | None = None,
) -> ZoteroSync:
    """Import (or re-sync) a Zotero data directory into the library; `progress` lets a face show it."""
    got = load_zotero(data_dir or default_data_dir(), engine.settings, collections, tags)
    added = add_to_library(engine, got.records, engine.settings, progress)  # enrichment fills what Zotero left empty
    stale = stale_ids(engine.papers(), got.live)
    gone = sorted(engine.papers(stale), key=lambda p: p.id)
    removed = engine.remove(stale) if prune and stale else []
    return ZoteroSync(got, added.report, gone, removed, added.enrichment)
