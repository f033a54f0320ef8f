"""RIS (EndNote, Mendeley, Zotero, Web of Science, Scopus exports): one paper per TY … ER record.

rispy parses the tags, but on a whole file it loses or merges records: a record without its ER line
is silently dropped at the end of the file, or swallowed into the next record (whose TY, TI and AU
lines then land in the first one), and it keeps no line numbers. So the file is cut into records
here first (a TY line starts one; ER, the next TY or the end of the file ends it) and rispy parses
each record on its own; one bad record is one LoadError naming its number and first line.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from assistant.models import LoadError, Paper
from ingest.sources.text import decode_bytes, over_limit

# A tag line: two characters, one or two spaces, a dash (Zotero accepts the one-space form too).
_TAG_LINE = re.compile(r"^([A-Z][A-Z0-9]) {1,2}-(?: (.*))?$")
_LIST_TAGS = ["AU", "A1", "KW", "N1", "UR", "AB", "N2"]  # AB, N2: every paragraph line kept
_ARXIV_NUM = r"(\d{4}\.\d{4,5}|[a-z][a-z\-]*(?:\.[A-Z]{2})?/\d{7})(?:v\d+)?"
_ARXIV_IN_URL = re.compile(r"arxiv\.org/(?:abs|pdf)/" + _ARXIV_NUM, re.IGNORECASE)
_ARXIV_IN_TEXT = re.compile(r"\barxiv[:.]\s*" + _ARXIV_NUM, re.IGNORECASE)
_DOI = re.compile(r"\b(10\.\d{4,9}/\S+)")
_YEAR = re.compile(r"\b(1[89]\d\d|2\d\d\d)\b")


class SameName(dict[str, str]):
    """rispy's tag → key mapping, as the identity: every tag keeps its own name."""

    def __missing__(self, key: str) -> str:
        return key


def _records(text: str) -> Iterator[tuple[int, int, list[str]]]:
    """(record number, first line, normalized lines) per TY record; stray tags outside a record
    come as record number 0 with the line they start at."""
    number = 0
    start = 0
    lines: list[str] | None = None
    stray: int | None = None
    for lineno, raw in enumerate(re.split(r"\r\n|\r|\n", text), start=1):
        m = _TAG_LINE.match(raw.rstrip())
        tag, value = (m.group(1), (m.group(2) or "").strip()) if m else ("", raw.strip())
        if tag == "TY":
            if lines is not None:
                yield number, start, lines
            if stray is not None:
                yield 0, stray, []
                stray = None
            number, start, lines = number + 1, lineno, [f"TY  - {value}"]
        elif lines is None:
            if tag and tag != "ER" and stray is None:
                stray = lineno
        elif tag == "ER":
            yield number, start, lines
            lines = None
        elif tag:
            lines.append(f"{tag}  - {value}")
        elif value:  # a continuation line (multi-line abstracts); blank lines carry nothing
            lines.append(value)
    if lines is not None:
        yield number, start, lines
    if stray is not None:
        yield 0, stray, []


def _parse(lines: list[str]) -> dict[str, Any]:
    import rispy

    parser = rispy.RisParser(mapping=SameName(), list_tags=_LIST_TAGS, delimiter_tags_mapping={})
    (record,) = parser.parse_lines(iter([*lines, "ER  - "]))
    return dict(record)


def _first(record: dict[str, Any], *tags: str) -> str:
    for tag in tags:
        value = record.get(tag)
        if isinstance(value, list):
            value = next((v for v in value if isinstance(v, str) and v.strip()), "")
        if isinstance(value, str) and value.strip():
            return " ".join(value.split())
    return ""


def _all(record: dict[str, Any], *tags: str) -> list[str]:
    out: list[str] = []
    for tag in tags:
        value = record.get(tag) or []
        out += [" ".join(v.split()) for v in (value if isinstance(value, list) else [value]) if v.strip()]
    return out


def ris_author(name: str) -> str:
    """`Lippe, Phillip` → `Phillip Lippe`; `Turner, Richard E., Jr.` → `Richard E. Turner Jr.`."""
    parts = [p.strip() for p in name.split(",") if p.strip()]
    if len(parts) == 2:
        return f"{parts[1]} {parts[0]}"
    if len(parts) >= 3:
        return f"{parts[1]} {parts[0]} {' '.join(parts[2:])}"
    return name.strip()


def _tags(values: list[str]) -> list[str]:
    parts = [p for v in values for p in re.split(r"\s*;\s*", v)]
    if len(parts) == 1 and "," in parts[0]:  # one KW line holding a comma list
        parts = parts[0].split(",")
    return [p.strip() for p in parts if p.strip()]


def _clean_doi(value: str) -> str:
    m = _DOI.search(value)
    return m.group(1).rstrip(".,;") if m else ""


def _arxiv_id(record: dict[str, Any], doi: str) -> str:
    for url in _all(record, "UR"):
        if m := _ARXIV_IN_URL.search(url):
            return m.group(1)
    for text in [doi, *_all(record, "N1", "DO")]:
        if m := _ARXIV_IN_TEXT.search(text):
            return m.group(1)
    return ""


def record_to_paper(record: dict[str, Any], number: int, source: str, max_chars: int) -> Paper:
    title = _first(record, "TI", "T1")
    if not title:
        raise ValueError(f"record {number} has no title (no TI or T1 line)")
    abstract = " ".join(" ".join(_all(record, "AB") or _all(record, "N2")).split())
    if not abstract:
        raise ValueError(f"record {number} ({title[:60]!r}) has no abstract (no AB or N2 line)")
    if too_long := over_limit(len(abstract), max_chars):
        raise ValueError(f"record {number}: {too_long}")
    urls = [u for v in _all(record, "UR") for u in re.split(r"\s*;\s*(?=https?://)|\s+(?=https?://)", v) if u]
    doi = _clean_doi(_first(record, "DO")) or next((_clean_doi(u) for u in urls if "doi.org/" in u), "")
    arxiv_id = _arxiv_id(record, doi)
    year_m = _YEAR.search(_first(record, "PY") or _first(record, "Y1") or _first(record, "DA"))
    url = urls[0] if urls else f"https://doi.org/{doi}" if doi else ""
    if not url and arxiv_id:
        url = f"https://arxiv.org/abs/{arxiv_id}"
    return Paper(
        title=title,  # the id is the model's rule (make_paper_id): DOI, arXiv id or title
        abstract=abstract,
        authors=[ris_author(a) for a in _all(record, "AU") or _all(record, "A1") if ris_author(a)],
        year=int(year_m.group(1)) if year_m else None,
        url=url,
        doi=doi,
        arxiv_id=arxiv_id,
        venue=_first(record, "JF", "T2", "BT", "JO", "JA", "J2"),
        tags=_tags(_all(record, "KW")),
        source=source,
    )


def record_paper(
    path: Path,
    record: tuple[int, int, list[str]],
    parse: Callable[[list[str]], dict[str, Any]],
    to_paper: Callable[[dict[str, Any], int, str, int], Paper],
    max_chars: int,
    cannot_parse: str,
) -> Paper | LoadError:
    """One (number, first line, lines) record parsed and turned into a Paper, or the LoadError naming its
    number and line that lets the records after it still load (RIS and Web of Science)."""
    number, line, lines = record
    try:
        parsed = parse(lines)
    except Exception as exc:  # rispy on a malformed record; the other records go on
        why = cannot_parse.format(type(exc).__name__)
        return LoadError(source=str(path), line=line, message=f"record {number}: {why}")
    try:
        return to_paper(parsed, number, f"{path}:{line}", max_chars)
    except ValueError as exc:
        return LoadError(source=str(path), line=line, message=str(exc))


def load_ris(path: Path, max_chars: int = 2_000_000) -> Iterator[Paper | LoadError]:
    text = decode_bytes(path.read_bytes())  # UTF-8 with or without BOM, cp1252 lines from old EndNote
    found = False
    for number, line, lines in _records(text):
        if number == 0:
            yield LoadError(
                source=str(path),
                line=line,
                message="tag lines outside a record (no 'TY  - ' line starts them); skipped",
            )
            continue
        found = True
        yield record_paper(
            path,
            (number, line, lines),
            _parse,
            record_to_paper,
            max_chars,
            "cannot parse RIS ({}); a line must be a tag ('AU  - value') or continue the tag line before it",
        )
    if not found:
        yield LoadError(source=str(path), message="no RIS records found (no line starts with 'TY  - ')")
