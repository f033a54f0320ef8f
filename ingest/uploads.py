"""Uploaded files (the Library page's, the REST API's multipart POST /ingest): written under a private
temporary folder by a safe name, read by the loaders, their records labelled `upload:NAME`.

An uploaded file's name is only a label: its directories, a leading dot run, NUL and every other
odd character are dropped, so `../../etc/passwd`, `/etc/passwd` or `a\\x00.pdf` are written as
plain files inside the staging folder and named that way in sources (`upload:NAME:line`). Nothing
of an upload is kept: an uploaded PDF's text is, its file is not (the citation view says so).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path

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
    """Sources and errors name the uploaded file, not the staged copy."""
    return item.model_copy(update={"source": "upload:" + item.source.replace(str(staged), name)})


def load_staged(staged: Sequence[tuple[Path, str]], settings: Settings) -> Iterator[Paper | LoadError]:
    """The records of staged uploads ((path, name) pairs), each labelled with its uploaded name."""
    from ingest.sources import load_path

    for path, name in staged:
        for item in load_path(path, settings):
            yield relabel(item, path, name)
