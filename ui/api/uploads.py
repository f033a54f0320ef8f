"""What POST /ingest reads besides uploaded files (staged and labelled by ingest/uploads.py, as the
Library page's are): JSON records, turned into the loaders' `Paper | LoadError` items."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from assistant.models import LoadError, Paper
from assistant.settings import Settings


def load_records(records: Iterable[Any], settings: Settings) -> Iterator[Paper | LoadError]:
    """JSON records (the JSONL loader's fields) as papers; a bad one is a LoadError naming its index."""
    from ingest.sources.records import RecordError, record_to_paper

    for i, obj in enumerate(records, start=1):
        source = f"api:records:{i}"
        try:
            yield record_to_paper(obj, source, settings.max_paper_chars)
        except RecordError as exc:
            yield LoadError(source="api:records", line=i, message=str(exc))
