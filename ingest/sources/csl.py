"""CSL-JSON (Zotero's and Mendeley's "CSL JSON" export, citeproc input): an array of items, or an
object with "items". A `.json` file goes here when its items look like CSL, else to the JSON loader."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from assistant.models import LoadError, Paper, clean_doi
from ingest.sources.jsonl import load_jsonl
from ingest.sources.text import decode_bytes, over_limit

_CSL_KEYS = ("type", "issued", "container-title")
_ARXIV_NUM = r"(\d{4}\.\d{4,5}|[a-z][a-z\-]*(?:\.[A-Z]{2})?/\d{7})(?:v\d+)?"
_ARXIV_IN_URL = re.compile(r"arxiv\.org/(?:abs|pdf)/" + _ARXIV_NUM, re.IGNORECASE)
_ARXIV_IN_TEXT = re.compile(r"\barxiv[:.]\s*" + _ARXIV_NUM, re.IGNORECASE)
_YEAR = re.compile(r"\b(1[89]\d\d|2\d\d\d)\b")
_MARKUP = re.compile(r"</?[A-Za-z][\w:.-]*(?:\s[^<>]*)?/?>")  # <i>, <sup>, Crossref's <jats:p>


def _items(data: Any) -> list[Any] | None:
    if isinstance(data, list):
        return data
    if isinstance(data, dict) and isinstance(data.get("items"), list):
        return list(data["items"])
    return None


def _looks_csl(item: Any) -> bool:
    if not isinstance(item, dict):
        return False
    author = item.get("author")
    return any(k in item for k in _CSL_KEYS) or (isinstance(author, list) and any(isinstance(a, dict) for a in author))


def is_csl(data: Any) -> bool:
    """An array (or {"items": [...]}) most of whose objects have CSL's keys."""
    items = [i for i in (_items(data) or []) if isinstance(i, dict)]
    return bool(items) and 2 * sum(map(_looks_csl, items)) > len(items)


class ItemError(ValueError):
    """One CSL item that cannot become a paper; the message says why."""


def _str(item: dict[str, Any], key: str) -> str:
    value = item.get(key)
    if isinstance(value, list):  # container-title is sometimes a list of titles
        value = next((v for v in value if isinstance(v, str) and v.strip()), "")
    if value is None:
        return ""
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return " ".join(_MARKUP.sub(" ", str(value)).split())
    raise ItemError(f"{key!r} must be a string, got {type(value).__name__}")


def _name(person: Any) -> str:
    if isinstance(person, str):
        return " ".join(person.split())
    if not isinstance(person, dict):
        return ""
    if isinstance(person.get("literal"), str) and person["literal"].strip():
        return " ".join(person["literal"].split())
    parts = [person.get(k) for k in ("given", "dropping-particle", "non-dropping-particle", "family")]
    name = " ".join(str(p).strip() for p in parts if isinstance(p, (str, int)) and str(p).strip())
    suffix = person.get("suffix")
    return f"{name} {suffix.strip()}" if isinstance(suffix, str) and suffix.strip() and name else name


def _year(issued: Any) -> int | None:
    if isinstance(issued, dict):
        parts = issued.get("date-parts")
        if isinstance(parts, list) and parts and isinstance(parts[0], list) and parts[0]:
            m = _YEAR.fullmatch(str(parts[0][0]).strip())  # numbers, or strings as Zotero writes them
            if m:
                return int(m.group(1))
        for key in ("raw", "literal"):
            if isinstance(issued.get(key), str) and (m := _YEAR.search(issued[key])):
                return int(m.group(1))
        return None
    if isinstance(issued, (str, int)) and (m := _YEAR.search(str(issued))):
        return int(m.group(1))
    return None


def _tags(value: Any) -> list[str]:
    if isinstance(value, list):
        return [" ".join(v.split()) for v in value if isinstance(v, str) and v.strip()]
    if not isinstance(value, str):
        return []
    sep = ";" if ";" in value else ","
    return [p.strip() for p in value.split(sep) if p.strip()]


def item_to_paper(item: Any, source: str, max_chars: int) -> Paper:
    if not isinstance(item, dict):
        raise ItemError(f"expected a CSL item (an object), got {type(item).__name__}")
    title = _str(item, "title")
    if not title:
        raise ItemError("has no 'title'")
    abstract = _str(item, "abstract")
    if not abstract:
        raise ItemError(f"{title[:60]!r} has no 'abstract'")
    if too_long := over_limit(len(abstract), max_chars):
        raise ItemError(too_long)
    doi = clean_doi(_str(item, "DOI"))
    url = _str(item, "URL")
    arxiv_id = ""
    if m := _ARXIV_IN_URL.search(url):
        arxiv_id = m.group(1)
    else:
        for text in (doi, _str(item, "number"), _str(item, "note"), _str(item, "archive_location")):
            if m := _ARXIV_IN_TEXT.search(text):
                arxiv_id = m.group(1)
                break
    authors = item.get("author")
    return Paper(
        title=title,  # the id is the model's rule (make_paper_id): DOI, arXiv id or title
        abstract=abstract,
        authors=[n for n in (_name(a) for a in authors) if n] if isinstance(authors, list) else [],
        year=_year(item.get("issued")),
        url=url or (f"https://doi.org/{doi}" if doi else f"https://arxiv.org/abs/{arxiv_id}" if arxiv_id else ""),
        doi=doi,
        arxiv_id=arxiv_id,
        venue=_str(item, "container-title"),
        tags=_tags(item.get("keyword")),
        source=source,
    )


def load_csl_data(path: Path, data: Any, max_chars: int = 2_000_000) -> Iterator[Paper | LoadError]:
    items = _items(data) or []
    if not items:
        yield LoadError(source=str(path), message="no CSL-JSON items found")
    for i, item in enumerate(items, start=1):
        try:
            yield item_to_paper(item, f"{path}#{i}", max_chars)
        except ItemError as exc:
            yield LoadError(source=str(path), message=f"item {i}: {exc}")


def load_json(path: Path, max_chars: int = 2_000_000) -> Iterator[Paper | LoadError]:
    """A `.json` file: CSL-JSON when its items look like CSL, else the JSON array/JSONL loader (which
    also reports a file that is not valid JSON)."""
    try:
        data = json.loads(decode_bytes(path.read_bytes()))
    except (ValueError, RecursionError):
        data = None
    if data is not None and is_csl(data):
        yield from load_csl_data(path, data, max_chars)
    else:
        yield from load_jsonl(path, max_chars)
