"""The page texts of the library's PDFs, read again for `papers reindex --pdf-layout`.

Each PDF goes through the same resource-limited reader as an ingest (ingest/sources/pdf.py), so a
page number given here is the one a fresh ingest would give. A paper whose file is gone is one
`LoadError` line naming it; papers that did not come from a PDF file (uploads, Zotero, arXiv,
bibliographies) are not PDFs here and are left out.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from assistant.models import LoadError, Paper
from assistant.settings import Settings
from ingest.sources.pdf import parse_in_child


def pdf_path(paper: Paper) -> Path | None:
    """The file a paper was read from, when that was a PDF file on this machine."""
    source = paper.source
    if not source.lower().endswith(".pdf") or source.startswith(("upload:", "zotero:", "arxiv:")):
        return None
    return Path(source)


def page_texts(papers: Iterable[Paper], settings: Settings) -> tuple[dict[str, list[str]], list[LoadError]]:
    """(paper id → its PDF's page texts, one error per PDF that cannot be read)."""
    layouts: dict[str, list[str]] = {}
    errors: list[LoadError] = []
    for paper in papers:
        path = pdf_path(paper)
        if path is None:
            continue
        if not path.is_file():
            errors.append(
                LoadError(source=str(path), message=f"the PDF of {paper.id} is no longer there (moved or deleted)")
            )
            continue
        kind, payload = parse_in_child(path, settings)
        if kind != "ok":
            errors.append(LoadError(source=str(path), message=str(payload)))
            continue
        layouts[paper.id] = [str(t) for t in payload.get("page_texts") or []]
    return layouts, errors
