"""A PDF's reference list (the lines under "References"/"Bibliography") → structured references.

Entries are found by their markers ("[12]" or "12." at the start of a line); an entry is read as
"Authors. Title. Venue, Year." with DOI and arXiv id picked out wherever they appear. A list with
no markers gives no references rather than guessed ones.
"""

from __future__ import annotations

import re

from assistant.models import BibReference
from ingest.sources.pdf_meta import looks_like_name

_BRACKET = re.compile(r"^\s*\[(\d{1,3})\]\s*")
_NUMBERED = re.compile(r"^\s*(\d{1,3})\.\s+(?=[A-Z])")
_DOI = re.compile(r"\b(10\.\d{4,9}/[-._;()/:A-Za-z0-9]+)")
_ARXIV = re.compile(r"(?:arxiv:\s*|arxiv\.org/(?:abs|pdf)/)(\d{4}\.\d{4,5})(v\d+)?", re.IGNORECASE)
_YEAR = re.compile(r"\b((?:19|20)\d{2})[a-z]?\b")
MAX_REFERENCES = 300


def _join(lines: list[str]) -> str:
    out = ""
    for raw in lines:
        line = raw.strip()
        if not line:
            continue
        if out.endswith("-") and len(out) > 1 and out[-2].isalpha():
            # "To-" + "kenization" is one word; "Long-" + "Range" keeps its hyphen.
            out = out[:-1] + line if line[:1].islower() else out + line
        else:
            out = f"{out} {line}" if out else line
    return re.sub(r"\s+", " ", out).strip()


def split_entries(lines: list[str]) -> list[str]:
    """The reference list's entries, each joined into one line; [] when no markers are found."""
    marker = _BRACKET if sum(bool(_BRACKET.match(ln)) for ln in lines) >= 2 else _NUMBERED
    entries: list[list[str]] = []
    expected = 1
    for line in lines:
        m = marker.match(line)
        if m and (marker is _BRACKET or int(m.group(1)) == expected):
            entries.append([line[m.end() :]])
            expected = int(m.group(1)) + 1
        elif entries:
            entries[-1].append(line)
    return [_join(e) for e in entries[:MAX_REFERENCES]]


def _sentences(text: str) -> list[str]:
    """Split at ". " / "? " unless the period ends an initial ("J. Smith")."""
    parts, start = [], 0
    for m in re.finditer(r"[.?!]\s+", text):
        before = text[start : m.start()]
        last = before.split()[-1] if before.split() else ""
        if len(last) == 1 and last.isupper():
            continue
        parts.append(text[start : m.start() + 1].strip())
        start = m.end()
    parts.append(text[start:].strip())
    return [p for p in parts if p]


def _authors(text: str) -> list[str]:
    pieces = [p.strip() for p in re.split(r",\s*(?:and\s+)?|\s+and\s+|\s*&\s*", text.rstrip(".")) if p.strip()]
    pieces = [p for p in pieces if p.lower() not in ("et al", "et al.", "others")]
    return pieces if pieces and all(looks_like_name(p) for p in pieces) else []


def parse_entry(text: str) -> BibReference:
    doi_m = _DOI.search(text)
    doi = doi_m.group(1).rstrip(".,;)") if doi_m else ""
    arxiv_m = _ARXIV.search(text)
    years = [int(y) for y in _YEAR.findall(_DOI.sub(" ", _ARXIV.sub(" ", text)))]
    parts = _sentences(text)
    authors = _authors(parts[0]) if parts else []
    title = ""
    if authors and len(parts) > 1:
        title = parts[1].rstrip(".")
    elif parts:
        title = parts[0].rstrip(".")
    return BibReference(
        text=text[:500],
        title=title[:300],
        authors=authors,
        year=years[-1] if years else None,
        doi=doi,
        arxiv_id=arxiv_m.group(1) if arxiv_m else "",
    )


def parse_references(lines: list[str]) -> list[BibReference]:
    return [parse_entry(e) for e in split_entries(lines) if len(e) >= 10]
