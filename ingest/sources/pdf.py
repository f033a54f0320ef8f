"""PDF files → Papers. Each file is parsed in a child process with time, memory and page limits.

pypdf is pure Python and trusts its input: a compression bomb or a pathological file can take
minutes or gigabytes. So the parse runs in `python -P pdf_worker.py` (stdlib + pypdf only), which
caps its own address space (RLIMIT_AS); the parent kills it after `pdf_timeout_s`. Either way the
file becomes one LoadError and the ingest goes on. A subprocess rather than multiprocessing: spawn
and forkserver re-import the caller's main module in the child, which breaks under scripts and
app servers that lack a `__main__` guard.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from assistant.models import LoadError, Paper, Section
from assistant.settings import Settings
from ingest.sources import pdf_cache, pdf_meta
from ingest.sources.pdf_refs import parse_references

WORKER = Path(__file__).resolve().with_name("pdf_worker.py")


def parse_in_child(path: Path, settings: Settings) -> tuple[str, Any]:
    """("ok", fields) or ("error", message); never raises for a bad file."""
    cmd = [
        sys.executable,
        "-P",
        str(WORKER),
        str(path),
        str(settings.pdf_max_pages),
        str(settings.max_paper_chars),
        str(settings.pdf_memory_mb),
    ]
    memory_msg = f"PDF parsing exceeded the memory limit of {settings.pdf_memory_mb} MB (PAPERS_PDF_MEMORY_MB)"
    try:
        done = subprocess.run(cmd, capture_output=True, timeout=settings.pdf_timeout_s, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return "error", f"PDF parsing exceeded the time limit of {settings.pdf_timeout_s:g}s (PAPERS_PDF_TIMEOUT_S)"
    except OSError as exc:
        return "error", f"cannot start the PDF parser process: {exc}"
    try:
        result = json.loads(done.stdout)
        kind, payload = result["kind"], result["payload"]
    except (ValueError, KeyError, TypeError):
        # No result: the child died, most likely killed on allocation failure under its limit.
        tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
        if "MemoryError" in tail[0] or done.returncode < 0:
            return "error", f"{memory_msg} (the parser exited with code {done.returncode})"
        return "error", f"the PDF parser failed (exit code {done.returncode}): {tail[0][:200]}"
    if kind == "memory":
        return "error", memory_msg
    return kind, payload


def fields_to_paper(path: Path, fields: dict[str, Any]) -> Paper:
    title = fields["title"] or path.stem.replace("_", " ")
    doi, arxiv_id = fields["doi"], fields["arxiv_id"]
    url = f"https://doi.org/{doi}" if doi else (f"https://arxiv.org/abs/{arxiv_id}" if arxiv_id else "")
    # Front matter and the reference list are read here, from the child's plain lines: no pypdf.
    front, first_page = fields.get("front_lines") or [], fields.get("first_page") or ""
    authors = pdf_meta.merge_authors(pdf_meta.page_authors(front), fields["authors"])
    year = fields["year"] or pdf_meta.front_year(front, first_page, fields.get("created") or "")
    return Paper(
        title=title,  # the id is the model's rule (make_paper_id): DOI, arXiv id or title
        abstract=pdf_meta.strip_doi_line(fields["abstract"]),
        sections=[Section(heading=s["heading"], text=s["text"]) for s in fields["sections"]],
        authors=authors,
        year=year,
        doi=doi,
        arxiv_id=arxiv_id,
        venue=pdf_meta.front_venue(first_page),
        url=url,
        source=str(path),
        references=parse_references(fields.get("ref_lines") or []),
        page_texts=[str(t) for t in fields.get("page_texts") or []],
    )


def load_pdf(path: Path, settings: Settings) -> Iterator[Paper | LoadError]:
    # Cheap refusals stay in this process: no child for an empty or obviously foreign file.
    with path.open("rb") as fh:
        head = fh.read(1024)
    if not head:
        yield LoadError(source=str(path), message="empty file (0 bytes)")
        return
    if b"%PDF-" not in head:
        yield LoadError(source=str(path), message="not a PDF file (no %PDF header)")
        return
    kind, payload = cached_parse(path, settings)
    if kind != "ok":
        yield LoadError(source=str(path), message=str(payload))
        return
    yield fields_to_paper(path, payload)


def cached_parse(path: Path, settings: Settings) -> tuple[str, Any]:
    """parse_in_child, or the stored parse of the same bytes (ingest/sources/pdf_cache.py)."""
    if not settings.pdf_cache:
        return parse_in_child(path, settings)
    key = pdf_cache.cache_key(path, settings, WORKER)
    fields = pdf_cache.load(settings, key)
    if fields is not None:
        return "ok", fields
    kind, payload = parse_in_child(path, settings)
    if kind == "ok" and isinstance(payload, dict):
        pdf_cache.store(settings, key, payload)
    return kind, payload
