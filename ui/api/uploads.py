"""What POST /ingest reads: uploaded files (staged under a private temporary folder by a safe name)
and JSON records, turned into the loaders' `Paper | LoadError` items.

An uploaded file's name is only a label: its directories, a leading dot run, NUL and every other
odd character are dropped, so `../../etc/passwd`, `/etc/passwd` or `a\\x00.pdf` are written as
plain files inside the staging folder and named that way in sources (`upload:NAME:line`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from assistant.models import LoadError, Paper
from assistant.settings import Settings

NAME_LIMIT = 120


def safe_name(name: str) -> str:
    """The file name alone, of word characters, dots, dashes and spaces; never a path, never empty."""
    base = re.sub(r"[^\w.\- ]+", "_", Path(name.replace("\\", "/")).name)
    base = base.lstrip(". ")[:NAME_LIMIT]  # no hidden file, no `..`
    return base or "upload"


def staged_path(folder: Path, index: int, name: str) -> Path:
    """Where upload `index` is written: its own subfolder, so two uploads of one name never collide."""
    path = folder / str(index) / safe_name(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def relabel(item: Paper | LoadError, staged: Path, name: str) -> Paper | LoadError:
    """Sources and errors name the uploaded file, not the staged copy (as the Library page does)."""
    return item.model_copy(update={"source": "upload:" + item.source.replace(str(staged), name)})


def load_staged(staged: Sequence[tuple[Path, str]], settings: Settings) -> Iterator[Paper | LoadError]:
    from ingest.sources import load_path

    for path, name in staged:
        for item in load_path(path, settings):
            yield relabel(item, path, name)


def load_records(records: Iterable[Any], settings: Settings) -> Iterator[Paper | LoadError]:
    """JSON records (the JSONL loader's fields) as papers; a bad one is a LoadError naming its index."""
    from ingest.sources.records import RecordError, record_to_paper

    for i, obj in enumerate(records, start=1):
        source = f"api:records:{i}"
        try:
            yield record_to_paper(obj, source, settings.max_paper_chars)
        except RecordError as exc:
            yield LoadError(source="api:records", line=i, message=str(exc))
