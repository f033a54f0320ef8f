"""A PDF's front matter → authors, year and venue, checked against its DocInfo.

The child (pdf_worker.py) hands over the first page's lines between the title and the first heading;
this module reads them in the parent, as plain text. Authors come from the page only when every
piece of a line looks like a person's name (affiliations, e-mails, dates and footnote marks are
dropped), and the DocInfo author list is preferred when it names the same people or when the page
gives nothing. Nothing is guessed: an uncertain author list is empty.
"""

from __future__ import annotations

import re
import unicodedata

_AFFILIATION = re.compile(
    r"\b(universit\w*|institut\w*|college|school|department|dept|faculty|laborator\w*|lab|labs|research|"
    r"center|centre|inc|ltd|llc|corp\w*|company|group|academy|hospital|foundation|google|deepmind|microsoft|"
    r"meta|openai|amazon|ibm|nvidia|apple|ai|technology|sciences?|engineering|street|road|avenue|usa|uk|"
    r"china|germany|france|japan|canada)\b",
    re.IGNORECASE,
)
_MONTHS = (
    "january|february|march|april|may|june|july|august|september|october|november|december|"
    "jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec"
)
_DATE_LINE = re.compile(rf"^(?:\d{{1,2}}\s+)?(?:{_MONTHS})\.?\s+(?:\d{{1,2}},?\s+)?((?:19|20)\d{{2}})$", re.IGNORECASE)
_STAMP_DATE = re.compile(rf"\b\d{{1,2}}\s+(?:{_MONTHS})\s+((?:19|20)\d{{2}})\b", re.IGNORECASE)
_PARTICLES = {"van", "von", "der", "den", "de", "da", "di", "du", "del", "della", "la", "le", "bin", "al", "y", "ten"}
_MARKS = "*†‡§¶∗⋆♠♣♦♥#"
_NAME_TOKEN = re.compile(r"^(?:[A-Z]\.(?:-?[A-Z]\.)*|[A-Z][a-z'’]*(?:[-'’][A-Za-z][a-z'’]*)*\.?)$")
_VENUE = re.compile(
    r"^(?:published as a (?:conference )?paper at|accepted (?:at|to|for publication in)|appear(?:s|ed)? in|"
    r"to appear in|in proceedings of)\s+(?P<venue>.{3,100}?)\.?$",
    re.IGNORECASE,
)
_DOI_LINE = re.compile(r"\s*\b(?:DOI|doi)\s*:?\s*(?:https?://(?:dx\.)?doi\.org/)?10\.\d{4,9}/\S+\s*$")


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def _strip_marks(piece: str) -> str:
    """A name with its footnote marks and affiliation digits (Marsh1, Bello2,3, Solis*) removed."""
    piece = re.sub(rf"[{re.escape(_MARKS)}\d,]+$", "", piece.strip())
    piece = re.sub(rf"^[{re.escape(_MARKS)}\d]+", "", piece)
    return piece.strip(" ,;")


def looks_like_name(piece: str) -> bool:
    words = piece.split()
    if not 2 <= len(words) <= 5 or _AFFILIATION.search(piece) or any(ch.isdigit() for ch in piece):
        return False
    if re.search(r"@|https?:|www\.|[(){}\[\]|/<>]", piece):
        return False
    named = [w for w in words if w.lower() not in _PARTICLES]
    if len(named) < 2 or not all(_NAME_TOKEN.match(w) for w in named):
        return False
    return not words[-1].endswith(".") or len(words[-1]) > 2  # a surname is not an initial


def line_names(line: str) -> list[str] | None:
    """The names on one line, or None when any piece of it is not a name."""
    text = re.sub(r"\s+", " ", line).strip()
    if not text or "@" in text or _DATE_LINE.match(text):
        return None
    pieces = [_strip_marks(p) for p in re.split(r"\s*,\s*(?:and\s+)?|\s+and\s+|\s*&\s*|\s*;\s*", text)]
    pieces = [p for p in pieces if p]
    if not pieces or not all(looks_like_name(p) for p in pieces):
        return None
    return pieces


def page_authors(front_lines: list[str]) -> list[str]:
    """Authors between the title and the abstract: the lines made only of names, in reading order."""
    names: list[str] = []
    for line in front_lines:
        if re.match(r"^\s*abstract\b", line, re.IGNORECASE):
            break
        found = line_names(line)
        if found:
            names += [n for n in found if n not in names]
    return names if len(names) <= 40 else []


def meta_authors_ok(authors: list[str]) -> bool:
    return bool(authors) and all(looks_like_name(a) for a in authors)


def merge_authors(from_page: list[str], from_meta: list[str]) -> list[str]:
    """Page order when the DocInfo names the same people; DocInfo alone only when it looks like names."""
    if from_page and from_meta:
        if {_fold(a) for a in from_page} == {_fold(a) for a in from_meta}:
            return from_page
        return from_meta if meta_authors_ok(from_meta) else from_page
    if from_meta:
        return from_meta
    return from_page


def front_year(front_lines: list[str], first_page: str, created: str) -> int | None:
    """A date line under the title ("March 2024"), else an arXiv stamp's date, else the DocInfo
    CreationDate only when that year is printed on the first page too."""
    for line in front_lines:
        m = _DATE_LINE.match(line.strip())
        if m:
            return int(m.group(1))
    stamp = re.search(r"arxiv:\S+\s*\[[^\]]+\]\s*(.{0,30})", first_page, re.IGNORECASE)
    if stamp:
        m = _STAMP_DATE.search(stamp.group(1))
        if m:
            return int(m.group(1))
    m = re.match(r"^D:((?:19|20)\d{2})", created.strip())
    if m and re.search(rf"(?:©|\(c\)|copyright|\b{m.group(1)}\b)", first_page[:3000], re.IGNORECASE):
        if re.search(rf"\b{m.group(1)}\b", first_page[:3000]):
            return int(m.group(1))
    return None


def front_venue(first_page: str) -> str:
    for line in first_page.splitlines()[:80]:
        m = _VENUE.match(line.strip())
        if m:
            return m.group("venue").strip()
    return ""


def strip_doi_line(abstract: str) -> str:
    """An abstract without the "DOI: 10.…" line that typesetting ran into its end."""
    return _DOI_LINE.sub("", abstract).strip()
