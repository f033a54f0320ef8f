"""Sources → records: every file, folder and arXiv result as `Paper` records or per-item `LoadError`s.

What happens to the records next (dedupe, chunk, embed, write) is the core's: `Engine.ingest`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from assistant.models import LoadError, Paper
from assistant.settings import Settings


def load_all(
    paths: Iterable[Path], settings: Settings, extra: Iterable[Paper | LoadError] = ()
) -> Iterator[Paper | LoadError]:
    """Records of every path (files or folders, any supported format), then `extra` (e.g. arXiv)."""
    from ingest.sources import load_path

    for path in paths:
        yield from load_path(path, settings)
    yield from extra
