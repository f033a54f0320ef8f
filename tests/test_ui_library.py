"""Library page and sidebar, through Streamlit's AppTest on the real library and model."""

from __future__ import annotations

from pathlib import Path

from assistant.settings import get_settings
from tests.ui_support import EVIL_PAPER, NEW_PAPER, SCRIPT, add_papers, app_test, assert_inert, jsonl_bytes, pdf_bytes

LIB = "views/library.py"


def _metric(at, label: str) -> str:  # type: ignore[no-untyped-def]
    return next(m.value for m in at.metric if m.label == label)


def _submit_upload(at, files):  # type: ignore[no-untyped-def]
    at.file_uploader[0].set_value(files)
    next(b for b in at.button if b.label == "Add to library").click()
    at.run()
    assert not at.exception, at.exception
    return next(d.value for d in at.dataframe if "result" in d.value.columns).set_index("file")


def test_library_table_search_and_sidebar(seed_library) -> None:  # type: ignore[no-untyped-def]
    at = app_test(LIB)
    assert _metric(at, "Papers") == "46"
    assert int(_metric(at, "Chunks")) == seed_library.chunk_count()
    table = at.dataframe(key="library_table").value
    assert len(table) == 46
    assert list(table.columns[:6]) == ["title", "authors", "year", "source", "metadata", "chunks"]
    assert set(table["id"]) == {p.id for p in seed_library.papers()}
    assert set(table["source"]) == {"seed.jsonl"}

    # The search box narrows the table to matching titles.
    pig = next(p for p in seed_library.papers() if "Gaussian" in p.title and "Physics" in p.title)
    at.text_input(key="library_search").set_value("gaussian physics").run()
    narrowed = at.dataframe(key="library_table").value
    assert pig.id in set(narrowed["id"]) and 0 < len(narrowed) < 46


def test_sidebar_shows_library_model_llm_and_retrieval_settings(seed_library) -> None:  # type: ignore[no-untyped-def]
    at = app_test(LIB)

    def sidebar_text() -> str:
        return " ".join([m.value for m in at.sidebar.markdown] + [c.value for c in at.sidebar.caption])

    assert "46 papers" in sidebar_text()
    assert "all\\-MiniLM\\-L6\\-v2" in sidebar_text()  # Markdown-escaped
    assert "offline" in sidebar_text()
    assert at.slider(key="retrieval_k").value == get_settings().top_k
    at.text_input(key="retrieval_author").set_value("Nobody In Particular").run()
    assert "author contains" in sidebar_text()


def test_upload_jsonl_and_pdf_grows_the_library(seed_library) -> None:  # type: ignore[no-untyped-def]
    at = app_test(LIB)
    bad = b'{"title": "ok"}\n{"broken json\n'
    results = _submit_upload(
        at,
        [
            ("new.jsonl", jsonl_bytes(NEW_PAPER), "application/json"),
            ("protein.pdf", pdf_bytes(), "application/pdf"),
            ("bad.jsonl", bad, "application/json"),
        ],
    )
    assert results.loc["new.jsonl", "result"] == "added"
    assert results.loc["protein.pdf", "result"] == "added"
    assert results.loc["bad.jsonl", "errors"] >= 1
    assert "bad.jsonl:2" in results.loc["bad.jsonl", "reason"]  # the uploaded name and line, not a temp path
    assert "/tmp" not in " ".join(results["reason"])

    assert _metric(at, "Papers") == "48"
    assert seed_library.count() == 48
    titles = set(at.dataframe(key="library_table").value["title"])
    assert NEW_PAPER["title"] in titles
    assert "Sparse Mixture Routing for Protein Folding" in titles
    pdf_paper = next(p for p in seed_library.papers() if p.title.startswith("Sparse Mixture"))
    assert pdf_paper.authors == ["Ada Lovelace"]
    assert "Protein folding is hard" in " ".join(t for _, t in seed_library.chunks_of(pdf_paper.id))
    assert pdf_paper.source.startswith("upload:protein.pdf")

    # The same file again changes nothing; an edited record is an update.
    again = _submit_upload(at, [("new.jsonl", jsonl_bytes(NEW_PAPER), "application/json")])
    assert again.loc["new.jsonl", "result"] == "unchanged"
    edited = dict(NEW_PAPER, abstract=NEW_PAPER["abstract"] + " We also release the logs.")
    updated = _submit_upload(at, [("new.jsonl", jsonl_bytes(edited), "application/json")])
    assert updated.loc["new.jsonl", "result"] == "updated"
    assert seed_library.count() == 48


def test_unreadable_file_is_an_error_with_reason(seed_library) -> None:  # type: ignore[no-untyped-def]
    at = app_test(LIB)
    results = _submit_upload(at, [("notes.csv", b"just some words\n", "text/csv")])
    assert results.loc["notes.csv", "result"] == "error"
    assert "notes.csv" in results.loc["notes.csv", "reason"]
    assert seed_library.count() == 46


def test_delete_selected_papers(seed_library) -> None:  # type: ignore[no-untyped-def]
    at = app_test(LIB)
    table = at.dataframe(key="library_table").value
    doomed = {table.iloc[0]["id"], table.iloc[3]["id"]}
    # Row selection is the dataframe's selection state (what a click on the row checkboxes sets).
    at.session_state["library_table"] = {"selection": {"rows": [0, 3], "columns": [], "cells": []}}
    at.run()
    at.button(key="confirm_delete").click().run()
    assert not at.exception, at.exception
    assert "Removed 2 papers" in at.success[0].value
    assert seed_library.count() == 44
    assert not doomed & {p.id for p in seed_library.papers()}
    assert _metric(at, "Papers") == "44"


def test_hostile_paper_is_inert_on_library_page(seed_library, embedder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    add_papers(seed_library, embedder, tmp_path, EVIL_PAPER)
    at = app_test(LIB)
    table = at.dataframe(key="library_table").value
    row = table[table["id"] == EVIL_PAPER["id"]].iloc[0]
    assert row["title"] == EVIL_PAPER["title"]  # shown as data, verbatim
    assert row["url"] is None  # javascript: is never a link
    assert_inert(at)
    assert SCRIPT not in " ".join(m.value for m in at.markdown)
