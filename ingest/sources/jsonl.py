"""JSONL (one paper per line) and JSON arrays of papers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from assistant.models import LoadError, Paper
from ingest.sources.records import RecordError, record_to_paper
from ingest.sources.text import decode_bytes


def load_jsonl(path: Path, max_chars: int = 2_000_000) -> Iterator[Paper | LoadError]:
    text = decode_bytes(path.read_bytes())
    stripped = text.lstrip()
    if path.suffix.lower() == ".json" or stripped.startswith("["):
        yield from _load_array(path, text, max_chars)
        return
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            yield LoadError(source=str(path), line=lineno, message=f"invalid JSON: {exc.msg} (column {exc.colno})")
            continue
        try:
            yield record_to_paper(obj, f"{path}:{lineno}", max_chars)
        except RecordError as exc:
            yield LoadError(source=str(path), line=lineno, message=str(exc))


def _load_array(path: Path, text: str, max_chars: int) -> Iterator[Paper | LoadError]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        yield LoadError(source=str(path), line=exc.lineno, message=f"invalid JSON: {exc.msg} (column {exc.colno})")
        return
    items = data if isinstance(data, list) else [data]
    for i, obj in enumerate(items, start=1):
        try:
            yield record_to_paper(obj, f"{path}#{i}", max_chars)
        except RecordError as exc:
            yield LoadError(source=str(path), line=None, message=f"entry {i}: {exc}")
