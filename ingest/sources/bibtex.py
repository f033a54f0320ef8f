"""BibTeX: entries with a title and an abstract; LaTeX accents, commands and braces become plain text."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

from assistant.models import LoadError, Paper, clean_doi
from ingest.sources.text import decode_bytes, over_limit

_ARXIV_ID = re.compile(r"(\d{4}\.\d{4,5}|[a-z][a-z\-]*(?:\.[A-Z]{2})?/\d{7})(?:v\d+)?", re.IGNORECASE)


@lru_cache(maxsize=1)
def _latex() -> Any:
    from pylatexenc.latex2text import LatexNodes2Text

    return LatexNodes2Text(math_mode="text", strict_latex_spaces=False)


_PIECE = 4000  # characters; pylatexenc's time grows with the square of its input's length


def clean_latex(value: str) -> str:
    """`Caf\\'{e} {PDE}-Refiner` → `Café PDE-Refiner`; falls back to brace stripping on odd input.

    A long value is converted in pieces cut between top-level words, so a huge field costs linear
    time (a 500,000-character abstract took pylatexenc minutes in one go)."""
    pieces = _top_level_pieces(value) if len(value) > _PIECE else [value]
    return " ".join(p for p in (_clean_piece(piece) for piece in pieces) if p)


def _clean_piece(value: str) -> str:
    try:
        if len(value) > 4 * _PIECE:  # one group too long to cut: plain stripping, still linear
            raise ValueError(value[:20])
        text = str(_latex().latex_to_text(value))
    except Exception:  # pylatexenc is lenient, but a pathological field must not drop the entry
        text = re.sub(r"\\[a-zA-Z]+\s*|[{}\\]", "", value)
    return re.sub(r"\s+", " ", text).strip()


def _top_level_pieces(value: str) -> list[str]:
    """`value` cut at whitespace outside braces and math, into pieces of about _PIECE characters."""
    pieces: list[str] = []
    depth = 0
    math = False
    start = 0
    i = 0
    while i < len(value):
        ch = value[i]
        if ch == "\\":
            i += 2  # an escaped brace or dollar is text
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth = max(0, depth - 1)
        elif ch == "$":
            math = not math
        elif ch.isspace() and depth == 0 and not math and i - start >= _PIECE:
            pieces.append(value[start:i])
            start = i + 1
        i += 1
    pieces.append(value[start:])
    return pieces


def _split_top_level(value: str, sep: re.Pattern[str]) -> list[str]:
    """Split on `sep` outside braces: `{Barnes and Noble}` is one author."""
    parts: list[str] = []
    depth = 0
    start = 0
    i = 0
    while i < len(value):
        ch = value[i]
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth = max(0, depth - 1)
        elif depth == 0:
            m = sep.match(value, i)
            if m:
                parts.append(value[start:i])
                start = i = m.end()
                continue
        i += 1
    parts.append(value[start:])
    return [p.strip() for p in parts if p.strip()]


_AND = re.compile(r"\s+and\s+", re.IGNORECASE)
_COMMA = re.compile(r",")


def bib_authors(value: str) -> list[str]:
    """`Lippe, Phillip and M{\\"u}ller, J.` → ['Phillip Lippe', 'J. Müller']; `others` is dropped."""
    names = []
    for raw in _split_top_level(value, _AND):
        if raw.lower() == "others":
            continue
        parts = _split_top_level(raw, _COMMA)
        if len(parts) == 2:  # Last, First
            raw = f"{parts[1]} {parts[0]}"
        elif len(parts) >= 3:  # Last, Jr., First
            raw = f"{parts[2]} {parts[0]} {parts[1]}"
        name = clean_latex(raw)
        if name:
            names.append(name)
    return names


def _keywords(value: str) -> list[str]:
    sep = ";" if ";" in value else ","
    return [k for k in (clean_latex(p) for p in value.split(sep)) if k]


def _field(fields: dict[str, str], *names: str) -> str:
    for name in names:
        if fields.get(name, "").strip():
            return fields[name].strip()
    return ""


def _unescape(value: str) -> str:
    """URLs and DOIs are not LaTeX, but exports often escape `_`, `%`, `&` and `~` in them anyway."""
    return re.sub(r"\\([_%&#~])", r"\1", value).replace("{", "").replace("}", "").strip()


def _check_length(key: str, size: int, max_chars: int) -> None:
    if too_long := over_limit(size, max_chars):
        raise ValueError(f"entry {key!r}: {too_long}")


def entry_to_paper(key: str, fields: dict[str, str], source: str, max_chars: int) -> Paper:
    title = clean_latex(_field(fields, "title"))
    if not title:
        raise ValueError(f"entry {key!r} has no title")
    raw_abstract = _field(fields, "abstract")
    # Checked before the LaTeX conversion too: converting a huge field is the slow part.
    _check_length(key, len(re.sub(r"\s+", " ", raw_abstract)), max_chars)
    abstract = clean_latex(raw_abstract)
    if not abstract:
        raise ValueError(f"entry {key!r} has no abstract")
    _check_length(key, len(abstract), max_chars)
    year_m = re.search(r"\b(1[89]\d\d|2\d\d\d)\b", _field(fields, "year", "date"))
    doi = clean_doi(_unescape(_field(fields, "doi")))
    arxiv_id = ""
    eprint = _field(fields, "eprint", "arxiv", "arxivid")
    is_arxiv = _field(fields, "archiveprefix", "eprinttype").lower() in ("arxiv", "") or "arxiv" in eprint.lower()
    m = _ARXIV_ID.search(eprint) if eprint and is_arxiv else None
    if m:
        arxiv_id = m.group(1)
    url = _unescape(_field(fields, "url")) or (f"https://doi.org/{doi}" if doi else "")
    if not url and arxiv_id:
        url = f"https://arxiv.org/abs/{arxiv_id}"
    return Paper(
        title=title,  # the id is the model's rule (make_paper_id): DOI, arXiv id or title
        abstract=abstract,
        authors=bib_authors(_field(fields, "author")),
        year=int(year_m.group(1)) if year_m else None,
        url=url,
        doi=doi,
        arxiv_id=arxiv_id,
        venue=clean_latex(_field(fields, "journal", "booktitle", "journaltitle")),
        tags=_keywords(_field(fields, "keywords")),
        source=source,
    )


def _first_line(text: str | None) -> str:
    return next((ln.strip() for ln in (text or "").splitlines() if ln.strip()), "")


def load_bibtex(path: Path, max_chars: int = 2_000_000) -> Iterator[Paper | LoadError]:
    import bibtexparser
    from bibtexparser.model import DuplicateBlockKeyBlock, ParsingFailedBlock

    text = decode_bytes(path.read_bytes())
    # bibtexparser logs each failed block as a warning; we report them as LoadErrors instead.
    log = logging.getLogger("bibtexparser")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        library = bibtexparser.parse_string(text)
    finally:
        log.setLevel(level)
    found = False
    # Blocks in file order so errors and papers come out as the file reads; bibtexparser counts
    # lines from 0.
    for block in sorted(library.blocks, key=lambda b: b.start_line or 0):
        line = (block.start_line or 0) + 1
        if isinstance(block, DuplicateBlockKeyBlock):
            found = True
            yield LoadError(source=str(path), line=line, message=f"duplicate entry key {block.key!r}; skipped")
        elif isinstance(block, ParsingFailedBlock):
            found = True
            head = _first_line(block.raw)[:60]
            err = block.error
            reason = (getattr(err, "abort_reason", None) or str(err) or type(err).__name__).strip()
            yield LoadError(source=str(path), line=line, message=f"cannot parse BibTeX block {head!r}: {reason}")
        elif isinstance(block, bibtexparser.model.Entry):
            found = True
            fields = {f.key.lower(): str(f.value) for f in block.fields}
            try:
                yield entry_to_paper(block.key, fields, f"{path}:{line}", max_chars)
            except ValueError as exc:
                yield LoadError(source=str(path), line=line, message=str(exc))
    if not found:
        yield LoadError(source=str(path), message="no BibTeX entries found")
