"""CSV with the JSONL column names (title, abstract or text, id, authors, year, url, doi, arxiv_id, venue, tags)."""

from __future__ import annotations

import collections
import csv
import io
import itertools
from collections.abc import Iterator
from pathlib import Path

from assistant.models import LoadError, Paper
from ingest.sources.records import FIELDS, RecordError, record_to_paper
from ingest.sources.text import decode_bytes

_DELIMITERS = ",;\t"


def _delimiter(header_line: str) -> str:
    """Spreadsheet exports use ';' or tabs in some locales; the header line shows which."""
    counts = {d: header_line.count(d) for d in _DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def load_csv(path: Path, max_chars: int = 2_000_000) -> Iterator[Paper | LoadError]:
    text = decode_bytes(path.read_bytes())
    if not text.strip():
        yield LoadError(source=str(path), message="empty file")
        return
    # A field may legitimately hold a whole paper; the file size limit already bounds it, so the
    # csv module's 128 KiB default must not be the one to refuse it.
    csv.field_size_limit(max(csv.field_size_limit(), min(2**31 - 1, len(text) + 1)))

    first_line = text.lstrip("\r\n").splitlines()[0]
    delimiter = _delimiter(first_line)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[str] | None = None
    header_line = 0
    row_start = 1
    # Each row's item waits for the next row: a quote left open swallows the rest of the file into
    # one field, and the lenient reader only shows that at the end.
    held: tuple[int, Paper | LoadError] | None = None
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            if held:
                yield held[1]
            held = (row_start, LoadError(source=str(path), line=row_start, message=f"malformed CSV: {exc}"))
            row_start = reader.line_num + 1
            continue
        line, row_start = row_start, reader.line_num + 1
        if not any(cell.strip() for cell in row):
            continue
        if held:
            yield held[1]
            held = None
        if header is None:
            header = [c.strip().lower() for c in row]
            header_line = line
            if "title" not in header or not ({"abstract", "text"} & set(header)):
                yield LoadError(
                    source=str(path),
                    line=line,
                    message=(
                        "no header row with 'title' and 'abstract' (or 'text') columns; the first row must "
                        f"name the columns, from: {', '.join(FIELDS)}"
                    ),
                )
                return
            continue
        if len(row) > len(header):
            held = (
                line,
                LoadError(
                    source=str(path),
                    line=line,
                    message=f"row has {len(row)} fields but the header (line {header_line}) has {len(header)};"
                    " a field with a comma must be quoted",
                ),
            )
            continue
        record = {name: value for name, value in zip(header, row) if name in FIELDS}
        try:
            held = (line, record_to_paper(record, f"{path}:{line}", max_chars))
        except RecordError as exc:
            held = (line, LoadError(source=str(path), line=line, message=str(exc)))
    if held:
        line, item = held
        if _unclosed_quote(text, line, delimiter):
            item = LoadError(
                source=str(path),
                line=line,
                message="a quoted field opened in this row is never closed, so the rest of the file was read "
                "into it; close the quote",
            )
        yield item
    if header is None:
        yield LoadError(source=str(path), message="no rows")


def _unclosed_quote(text: str, line: int, delimiter: str) -> bool:
    """Does the row starting at `line` end inside a quoted field? The lenient reader silently closes
    such a field at the end of the file; a strict one says so."""
    tail = "".join(itertools.islice(io.StringIO(text, newline=""), line - 1, None))
    try:
        collections.deque(csv.reader(io.StringIO(tail, newline=""), delimiter=delimiter, strict=True), maxlen=0)
    except csv.Error as exc:
        return "unexpected end of data" in str(exc)
    return False
