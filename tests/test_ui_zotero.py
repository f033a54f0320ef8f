"""The Library page's Zotero import (the same sync as `papers ingest --zotero`) and its metadata edits."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from assistant.engine import Engine
from assistant.settings import get_settings
from tests.ui_support import app_test, assert_inert

FIXTURE = Path(__file__).resolve().parent / "data" / "zotero-fixture"


def plain(markdown: str) -> str:
    """The text a reader sees: the page escapes Markdown punctuation with backslashes."""
    return markdown.replace("\\", "")


def _run_import(at, folder: Path, prune: bool = False):  # type: ignore[no-untyped-def]
    at.text_input(key="zotero_dir").set_value(str(folder))
    at.checkbox(key="zotero_prune").set_value(prune)
    next(b for b in at.button if b.label == "Import from Zotero").click().run()
    assert not at.exception, at.exception
    return at


def test_library_page_imports_resyncs_and_prunes_a_zotero_library(tmp_path: Path) -> None:
    folder = tmp_path / "Zotero"
    shutil.copytree(FIXTURE, folder, ignore=shutil.ignore_patterns("schema", "*.py", "__pycache__"))
    at = _run_import(app_test("views/library.py"), folder)
    (line,) = [plain(s.value) for s in at.success]
    assert "Zotero: 4 items" in line and "added 4" in line and "1 trashed" in line, line
    assert any("missing" in plain(w.value) for w in at.warning), "the missing attachment is a warning, not an error"
    papers = Engine(get_settings()).papers()
    assert len(papers) == 4 and all(p.source.startswith("zotero:") for p in papers)
    assert_inert(at)

    at = _run_import(at, folder)  # a re-sync embeds nothing
    assert "unchanged 4" in plain(at.success[0].value) and "added 0" in plain(at.success[0].value)

    gone_source = sorted(p.source for p in papers)[0]
    key = gone_source.split(":", 1)[1]
    db = sqlite3.connect(folder / "zotero.sqlite")
    db.execute("PRAGMA foreign_keys=ON")
    with db:
        db.execute("DELETE FROM items WHERE key = ?", (key,))
    db.close()
    at = _run_import(at, folder)
    assert any("Gone from Zotero" in plain(c.value) for c in at.caption)
    assert len(Engine(get_settings()).papers()) == 4, "listed, not removed, without the box"
    at = _run_import(at, folder, prune=True)
    assert any(plain(c.value).startswith("Removed") for c in at.caption)
    assert gone_source not in {p.source for p in Engine(get_settings()).papers()}


def test_a_folder_without_zotero_is_one_error_line(tmp_path: Path) -> None:
    at = _run_import(app_test("views/library.py"), tmp_path / "nowhere")
    (err,) = at.error
    assert plain(err.value).endswith("nowhere: no such Zotero data directory") and "\n" not in err.value


def test_edit_one_selected_paper_on_the_library_page(seed_library) -> None:  # type: ignore[no-untyped-def]
    at = app_test("views/library.py")
    table = at.dataframe(key="library_table").value
    assert set(table["metadata"]) == {"file"}, "seed papers: metadata from the bundled file"
    pid = table.iloc[2]["id"]
    at.session_state["library_table"] = {"selection": {"rows": [2], "columns": [], "cells": []}}
    at.run()
    at.text_input(key="edit_title").set_value("A Title Fixed By Hand")
    at.text_area(key="edit_authors").set_value("Ada Lovelace\nAlan Turing")
    at.text_input(key="edit_year").set_value("1950")
    next(b for b in at.button if b.label == "Save").click().run()
    assert not at.exception, at.exception
    assert any("Saved your edit" in plain(s.value) for s in at.success)
    seed_library.refresh_if_stale()
    (p,) = seed_library.papers([pid])
    assert (p.title, p.authors, p.year) == ("A Title Fixed By Hand", ["Ada Lovelace", "Alan Turing"], 1950)
    row = at.dataframe(key="library_table").value.set_index("id").loc[pid]
    assert row["metadata"] == "file + edited (title, authors, year)" and row["title"] == "A Title Fixed By Hand"
    at.text_input(key="edit_year").set_value("soon")
    next(b for b in at.button if b.label == "Save").click().run()
    assert any("year: 'soon' is not a year" in plain(e.value) for e in at.error)
