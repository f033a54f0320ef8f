"""A loose record (JSON object, CSV row) → Paper, with the field rules shared by JSONL and CSV."""

from __future__ import annotations

import re
from typing import Any

from assistant.models import Paper, Section
from ingest.sources.text import over_limit

FIELDS = ("id", "title", "abstract", "text", "authors", "year", "url", "doi", "arxiv_id", "venue", "tags")


class RecordError(ValueError):
    """A record that cannot become a paper; the message says which field and why."""


def _text(value: Any, field: str) -> str:
    if value is None:
        return ""
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return " ".join(str(value).split())  # collapses whitespace like \s+, without the regex cost
    raise RecordError(f"field {field!r} must be a string, got {type(value).__name__}")


def _list(value: Any, field: str) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        parts = re.split(r"\s*;\s*", value) if ";" in value or field == "authors" else re.split(r"\s*,\s*", value)
        return [p.strip() for p in parts if p.strip()]
    if isinstance(value, list):
        return [_text(v, field) for v in value if _text(v, field)]
    raise RecordError(f"field {field!r} must be a list or a string, got {type(value).__name__}")


def _year(value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise RecordError("field 'year' must be a year like 2023")
    m = re.fullmatch(r"\s*(\d{4})(?:\.0)?\s*", str(value))
    if not m:
        raise RecordError(f"field 'year' must be a year like 2023, got {str(value)[:40]!r}")
    return int(m.group(1))


def record_to_paper(obj: Any, source: str, max_chars: int = 2_000_000) -> Paper:
    if not isinstance(obj, dict):
        raise RecordError(f"expected an object with title and abstract, got {type(obj).__name__}")
    title = _text(obj.get("title"), "title")
    if not title:
        raise RecordError("missing required field 'title'")
    abstract = _text(obj.get("abstract"), "abstract")
    body = obj.get("text")
    body_text = body.strip() if isinstance(body, str) else _text(body, "text")
    if not abstract and not body_text:
        raise RecordError("missing required field 'abstract' (or 'text')")
    if too_long := over_limit(len(abstract) + len(body_text), max_chars, "text"):
        raise RecordError(too_long)
    doi = _text(obj.get("doi"), "doi")
    arxiv_id = _text(obj.get("arxiv_id"), "arxiv_id")
    return Paper(
        id=_text(obj.get("id"), "id"),  # the record's own id; none: the model's rule (make_paper_id)
        title=title,
        abstract=abstract,
        sections=[Section(heading="text", text=body_text)] if body_text else [],
        authors=_list(obj.get("authors"), "authors"),
        year=_year(obj.get("year")),
        url=_text(obj.get("url"), "url"),
        doi=doi,
        arxiv_id=arxiv_id,
        venue=_text(obj.get("venue"), "venue"),
        tags=_list(obj.get("tags"), "tags"),
        source=source,
    )
