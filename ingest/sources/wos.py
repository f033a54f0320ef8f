"""Web of Science tagged export (the "Plain text file" export, savedrecs.txt; .ciw): one paper per
PT … ER record.

The format: a `FN Clarivate Analytics Web of Science` / `VR 1.0` header, then records of two-letter
tags in columns 1-2, the value from column 4, continuation lines indented by three spaces (so AU and
AF hold one author per line, TI and AB wrap), `ER` ends a record and `EF` the file. rispy's
`WokParser` parses a record (tags, continuation lines); as with RIS (see ris.py) the file is cut
into records here first so that one bad record is one LoadError with its number and line, and the
others still load.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from assistant.models import BibReference, LoadError, Paper, clean_doi
from ingest.sources.ris import SameName, record_paper, ris_author
from ingest.sources.text import decode_bytes, over_limit

_TAG = re.compile(r"^([A-Z][A-Z0-9])(?: (.*))?$")
_HEADER = re.compile(r"^\ufeff?\s*(FN|VR|PT) ", re.MULTILINE)
_YEAR = re.compile(r"\b(1[89]\d\d|2\d\d\d)\b")
_ARXIV = re.compile(r"\barxiv[:.\s]*(\d{4}\.\d{4,5})(?:v\d+)?", re.IGNORECASE)
# Tags whose continuation lines are separate values (one author or keyword per line), not wrapped text.
_LIST_TAGS = ["AU", "AF", "CR", "C1", "DE", "ID"]


def looks_like_wos(head: str) -> bool:
    """Does this start like a Web of Science export (FN/VR header or a PT line)?"""
    first = next((line for line in head.lstrip("\ufeff").splitlines() if line.strip()), "")
    return bool(_HEADER.match(first))


def _records(text: str) -> Iterator[tuple[int, int, list[str]]]:
    """(record number, first line, the record's raw lines from PT to before ER) per record."""
    number = 0
    start = 0
    lines: list[str] | None = None
    for lineno, raw in enumerate(re.split(r"\r\n|\r|\n", text.lstrip("\ufeff")), start=1):
        line = raw.rstrip()
        tag = line[:2] if _TAG.match(line) else ""
        if tag == "PT":
            if lines is not None:
                yield number, start, lines
            number, start, lines = number + 1, lineno, [line]
        elif tag == "ER" or tag == "EF":
            if lines is not None:
                yield number, start, lines
            lines = None
        elif lines is not None and line.strip():
            lines.append(line)
    if lines is not None:
        yield number, start, lines


def _parse(lines: list[str]) -> dict[str, Any]:
    from rispy import WokParser

    parser = WokParser(mapping=SameName(), list_tags=_LIST_TAGS)
    (record,) = parser.parse_lines(iter([*lines, "ER"]))
    return {k: v if isinstance(v, list) else [v] for k, v in record.items()}


def _one(record: dict[str, Any], *tags: str) -> str:
    for tag in tags:
        for value in record.get(tag, []):
            if value.strip():
                return " ".join(value.split())
    return ""


def _keywords(record: dict[str, Any]) -> list[str]:
    """Author keywords (DE) first, then Keywords Plus (ID); `;`-separated, deduplicated by case."""
    out: list[str] = []
    for value in record.get("DE", []) + record.get("ID", []):
        for kw in value.split(";"):
            kw = " ".join(kw.split())
            if kw and kw.casefold() not in {k.casefold() for k in out}:
                out.append(kw)
    return out


def _venue(record: dict[str, Any]) -> str:
    """WoS prints the source in capitals ("ADVANCES IN NEURAL ..."); a mixed-case series name (SE)
    is taken when there is one, else the capitals as a title (small words small, a parenthesised
    acronym such as "(NEURIPS 2023)" kept)."""
    names = [_one(record, tag) for tag in ("SO", "SE")]
    mixed = next((n for n in names if n and not n.isupper()), "")
    venue = mixed or next((n for n in names if n), "") or _one(record, "J9")
    if not venue.isupper():
        return venue
    small = {"of", "in", "on", "and", "the", "for", "a", "an", "to"}
    out, inside = [], False
    for i, word in enumerate(venue.split()):
        inside = inside or word.startswith("(")
        out.append(word if inside else word.lower() if i and word.lower() in small else word.capitalize())
        inside = inside and not word.endswith(")")
    return " ".join(out)


def _reference(entry: str) -> BibReference:
    """A cited reference as WoS writes it: `Kochkov D, 2021, P NATL ACAD SCI USA, V118, DOI 10.1073/…`
    (first author, year, source abbreviation, volume, page, DOI; no title); arXiv preprints appear
    as `ARXIV201008895` (arXiv:2010.08895)."""
    parts = [p.strip() for p in entry.split(",")]
    year = next((int(p) for p in parts[1:3] if re.fullmatch(r"1[89]\d\d|20\d\d", p)), None)
    doi = next((p[4:].strip() for p in parts if p.upper().startswith("DOI ")), "")
    doi = doi.strip("[]").split(";")[0].strip()
    arxiv = re.search(r"\bARXIV(\d{4})(\d{4,5})\b", entry.upper())
    author = parts[0] if parts and not parts[0].isdigit() else ""
    return BibReference(
        text=entry,
        authors=[author] if author else [],
        year=year,
        doi=doi,
        arxiv_id=f"{arxiv.group(1)}.{arxiv.group(2)}" if arxiv else "",
    )


def record_to_paper(record: dict[str, Any], number: int, source: str, max_chars: int) -> Paper:
    title = _one(record, "TI")
    if not title:
        raise ValueError(f"record {number} has no title (no TI line)")
    abstract = _one(record, "AB")
    if not abstract:
        raise ValueError(f"record {number} ({title[:60]!r}) has no abstract (no AB line)")
    if too_long := over_limit(len(abstract), max_chars):
        raise ValueError(f"record {number}: {too_long}")
    # AF has full names ("Vaswani, Ashish"); AU only initials ("Vaswani, A"): prefer AF.
    names = record.get("AF") or record.get("AU") or []
    doi = clean_doi(_one(record, "DI"))
    arxiv = _ARXIV.search(" ".join(record.get("AR", []) + record.get("UT", []) + record.get("DI", [])))
    arxiv_id = arxiv.group(1) if arxiv else ""
    year = _YEAR.search(_one(record, "PY") or _one(record, "EA") or _one(record, "PD"))
    return Paper(
        title=title,  # the id is the model's rule (make_paper_id): DOI, arXiv id or title
        abstract=abstract,
        authors=[ris_author(n) for n in names if ris_author(n)],
        year=int(year.group(1)) if year else None,
        url=f"https://doi.org/{doi}" if doi else f"https://arxiv.org/abs/{arxiv_id}" if arxiv_id else "",
        doi=doi,
        arxiv_id=arxiv_id,
        venue=_venue(record),
        tags=_keywords(record),
        source=source,
        references=[_reference(" ".join(e.split())) for e in record.get("CR", []) if e.strip()],
    )


def load_wos(path: Path, max_chars: int = 2_000_000) -> Iterator[Paper | LoadError]:
    text = decode_bytes(path.read_bytes())  # WoS writes UTF-8 with a BOM
    if not looks_like_wos(text[:2000]):
        yield LoadError(
            source=str(path),
            message="not a Web of Science export (a .txt/.ciw file must start with 'FN', 'VR' or 'PT' lines)",
        )
        return
    found = False
    for number, line, lines in _records(text):
        found = True
        cannot = "cannot parse the Web of Science record ({})"
        yield record_paper(path, (number, line, lines), _parse, record_to_paper, max_chars, cannot)
    if not found:
        yield LoadError(source=str(path), message="no Web of Science records found (no line starts with 'PT ')")
