"""Pages of PDF chunks: given at ingest, carried to answers, and added to an older library in place by
`papers reindex --pdf-layout` (real Chroma, the real model, the real CLI)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from assistant.engine import Engine
from assistant.library.chunking import chunk_paper
from assistant.models import Paper
from assistant.settings import get_settings
from ingest.pipeline import load_all
from tests.support import invoke, papers

pytestmark = pytest.mark.slow

PDFS = Path(__file__).parent / "data" / "pdfs"
TWO_COL = "doi:10.5555/fict.2024.0042"
QUESTION = "What routing temperature is used within each expert?"


def _stored(eng: Engine) -> dict[str, dict[str, Any]]:
    """chunk id → its Chroma metadata and vector, for every chunk in the library."""
    got = eng.library.collection.get(include=["metadatas", "embeddings"])
    return {cid: {"meta": m, "vec": list(v)} for cid, m, v in zip(got["ids"], got["metadatas"], got["embeddings"])}


def _pdf_papers(paths: list[Path]) -> list[Paper]:
    return [p for p in load_all(paths, get_settings()) if isinstance(p, Paper)]


def test_new_pdfs_get_pages_and_answers_cite_them(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    pdf = tmp_path / "twocol.pdf"
    shutil.copy(PDFS / "twocol.pdf", pdf)
    done = invoke(["ingest", str(pdf), "--json"])
    assert done.exit_code == 0, done.output
    eng = Engine(get_settings(), embedder=embedder)
    expected = {
        c.id: c.page for c in chunk_paper(_pdf_papers([pdf])[0], eng.settings.chunk_size, eng.settings.chunk_overlap)
    }
    pages = {cid: row["meta"].get("page") for cid, row in _stored(eng).items()}
    assert pages == expected and set(pages.values()) == {1, 2}, pages
    answer = eng.ask(QUESTION)
    cited = answer.citations[0]
    assert (cited.id, cited.section, cited.page) == (TWO_COL, "3.2 Attention", 2)
    assert answer.public()["citations"][0]["page"] == 2
    exported = tmp_path / "library.jsonl"
    eng.export(exported)
    eng.library.close()

    # An exported library keeps its pages through an import elsewhere.
    other = Engine(get_settings().model_copy(update={"data_dir": tmp_path / "other"}), embedder=embedder)
    assert other.import_file(exported).added == 1
    assert {cid: row["meta"].get("page") for cid, row in _stored(other).items()} == expected
    other.library.close()


def test_reindex_pdf_layout_adds_pages_to_an_older_library_in_place(
    tmp_path: Path,
    embedder,  # type: ignore[no-untyped-def]
) -> None:
    kept, gone = tmp_path / "twocol.pdf", tmp_path / "onecol.pdf"
    shutil.copy(PDFS / "twocol.pdf", kept)
    shutil.copy(PDFS / "onecol.pdf", gone)
    seed = tmp_path / "notes.jsonl"
    seed.write_text(
        json.dumps({"id": "n1", "title": "Notes on routing", "abstract": "Routing notes, not a PDF."}) + "\n"
    )
    eng = Engine(get_settings(), embedder=embedder)
    # A library built before pages were kept: the same papers, chunks and hashes, no page on any chunk.
    fresh = _pdf_papers([kept, gone])
    old = [p.model_copy(update={"page_texts": []}) for p in fresh]
    report = eng.ingest([*old, *load_all([seed], eng.settings)])
    assert report.added == 3, report
    before = _stored(eng)
    assert not any("page" in row["meta"] for row in before.values())
    assert eng.ask(QUESTION).citations[0].page is None
    # Re-ingesting the unchanged PDFs does not rewrite them (page texts are not part of the hash).
    assert eng.ingest(load_all([kept], eng.settings)).unchanged == 1
    eng.library.close()

    gone.unlink()
    done = papers("reindex", "--pdf-layout")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        f"skipped {gone}: the PDF of {fresh[1].id} is no longer there (moved or deleted)"
    ], done.stderr
    n_two = sum(1 for row in before.values() if row["meta"]["paper_id"] == TWO_COL)
    assert done.stdout.strip() == f"pages added to {n_two} chunks of 1 PDF papers; 1 PDFs skipped", done.stdout

    eng = Engine(get_settings(), embedder=embedder)
    after = _stored(eng)
    assert set(after) == set(before)  # same chunks: nothing re-chunked...
    assert all(after[c]["vec"] == before[c]["vec"] for c in before)  # ...nor re-embedded
    expected = {c.id: c.page for c in chunk_paper(fresh[0], eng.settings.chunk_size, eng.settings.chunk_overlap)}
    for cid, row in after.items():
        assert row["meta"].get("page") == expected.get(cid), (cid, row["meta"])  # the PDF still there, only
        assert {k: v for k, v in row["meta"].items() if k != "page"} == before[cid]["meta"]
    cited = eng.ask(QUESTION).citations[0]
    assert (cited.id, cited.page) == (TWO_COL, 2)
    eng.library.close()

    again = invoke(["reindex", "--pdf-layout"])  # idempotent; the missing file is still one line
    assert again.exit_code == 0 and f"pages added to {n_two} chunks of 1 PDF papers" in again.output, again.output
