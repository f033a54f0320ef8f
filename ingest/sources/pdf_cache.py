"""The PDF parse cache: a file's parse (the worker's fields) stored once per content.

A re-sync of a Zotero library or a re-ingest of a PDF folder used to start one parser process per
PDF even when nothing changed (about 0.3-1 s each): the content hash that skips re-embedding is
computed from the parse, so the parse had to run first. The key is the file's bytes (sha256; a
re-downloaded or touched file with the same bytes still hits), the limits that shape the parse, and
the parser's own source (pdf.py's fields_to_paper runs on every hit, so only the worker's code
matters), so a code change re-parses. Only successful parses are kept: a timeout may not repeat.
"""

from __future__ import annotations

import hashlib
import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from assistant.settings import Settings


@lru_cache(maxsize=1)
def _worker_digest(worker: Path) -> str:
    return hashlib.sha256(worker.read_bytes()).hexdigest()[:16]


def cache_key(path: Path, settings: Settings, worker: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    limits = f"{settings.pdf_max_pages}:{settings.max_paper_chars}:{_worker_digest(worker)}"
    return hashlib.sha256(f"{digest.hexdigest()}:{limits}".encode()).hexdigest()


def _file(settings: Settings, key: str) -> Path:
    return settings.data_dir / "cache" / "pdf" / key[:2] / f"{key}.json"


def load(settings: Settings, key: str) -> dict[str, Any] | None:
    try:
        fields = json.loads(_file(settings, key).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # absent, or a torn/corrupt entry: parse again
    return fields if isinstance(fields, dict) else None


def store(settings: Settings, key: str, fields: dict[str, Any]) -> None:
    target = _file(settings, key)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(fields), encoding="utf-8")
        os.replace(tmp, target)  # readers see the whole entry or none
    except OSError:
        pass  # a read-only or full disk costs a re-parse next time, nothing else
