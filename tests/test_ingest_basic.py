from __future__ import annotations

import json
from pathlib import Path

from assistant.engine import Engine
from assistant.ingestion import exit_code
from assistant.library import Library
from assistant.settings import get_settings
from ingest.pipeline import load_all
from ingest.sources.seed import SEED_FILE, SEED_PAGE, parse_seed_page
from tests.support import ingest_files


def test_seed_file_has_46_papers_parsed_from_page() -> None:
    lines = [json.loads(line) for line in SEED_FILE.read_text().splitlines()]
    assert len(lines) == 46
    assert all(r["title"] and len(r["abstract"]) > 300 for r in lines)
    # The page the seed file is made from ships beside it, so this check always runs.
    assert [p.title for p in parse_seed_page(SEED_PAGE.read_text())] == [r["title"] for r in lines]


def test_jsonl_good_and_bad_lines(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    src = tmp_path / "papers.jsonl"
    rows = [json.dumps({"title": f"Paper {i}", "abstract": f"We study topic number {i} in depth."}) for i in range(10)]
    rows.insert(3, "{not json")
    rows.insert(7, json.dumps({"abstract": "no title here"}))
    rows.insert(11, json.dumps({"title": "No abstract"}))
    src.write_text("\n".join(rows) + "\n")
    settings = get_settings()
    lib = Library(settings)
    report = ingest_files([src], lib, embedder, settings)
    assert (report.added, report.failed) == (10, 3)
    assert sorted(e.line or 0 for e in report.errors) == [4, 8, 12]
    assert "invalid JSON" in report.errors[0].message
    assert exit_code(report) == 1
    assert lib.count() == 10 and lib.collection.count() == 10 and len(lib.bm25) == 10


def test_reingest_unchanged_embeds_nothing(seed_library: Library) -> None:
    settings = get_settings()

    # No embedder given: the engine would load the model on first use, and must not need to.
    engine = Engine(settings, library=seed_library)
    report = engine.ingest(load_all([SEED_FILE], settings))
    assert not engine.embedder_loaded, "re-ingesting unchanged papers must not load the model"
    assert (report.unchanged, report.added, report.embedded) == (46, 0, 0)
