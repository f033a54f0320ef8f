"""JSONL (one paper per line) and JSON arrays of papers."""

from __future__ import annotations

import json
import sys
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
    # Records end at "\n" only: str.splitlines() would also break at U+2028, \x85 or \x0c, which
    # are legal inside JSON strings, and then misnumber every later line.
    for lineno, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            yield LoadError(source=str(path), line=lineno, message=f"invalid JSON: {exc.msg} (column {exc.colno})")
            continue
        except (RecursionError, ValueError) as exc:
            yield LoadError(source=str(path), line=lineno, message=f"invalid JSON: {unparsable(exc)}")
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
    except (RecursionError, ValueError) as exc:
        yield LoadError(source=str(path), message=f"invalid JSON: {unparsable(exc)}")
        return
    items = data if isinstance(data, list) else [data]
    for i, obj in enumerate(items, start=1):
        try:
            yield record_to_paper(obj, f"{path}#{i}", max_chars)
        except RecordError as exc:
            yield LoadError(source=str(path), line=None, message=f"entry {i}: {exc}")


def unparsable(exc: BaseException) -> str:
    """json.loads fails outside JSONDecodeError on hostile input: deep nesting, huge integers. The
    reason in plain words (Python's own message for a huge integer names `sys.set_int_max_str_digits()`);
    the REST API words its request bodies' problems with it too."""
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    if "integer string conversion" in str(exc):
        return f"a number has more than {sys.get_int_max_str_digits()} digits"
    return str(exc).split(";")[0][:120] or type(exc).__name__
