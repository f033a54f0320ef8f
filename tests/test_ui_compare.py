"""Compare page through AppTest: real library, real model, offline comparison."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.llm_server import STYLES, LLMServer
from tests.ui_support import EVIL_PAPER, SCRIPT, add_papers, app_test, assert_inert, markdown_sources

PAGE = "views/compare.py"


def _quotes(at) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    return {e.label: [t.value for t in e.text] for e in at.main.expander}


def test_compare_chosen_papers_shows_table_quotes_and_downloads(seed_library) -> None:  # type: ignore[no-untyped-def]
    pde = [p for p in seed_library.papers() if "PDE" in p.title][:3]
    assert len(pde) == 3
    at = app_test(PAGE)
    assert at.button(key="compare_go").disabled  # fewer than two papers chosen
    at.multiselect(key="compare_papers").set_value([p.id for p in pde]).run()
    at.button(key="compare_go").click().run()
    assert not at.exception, at.exception

    result = at.session_state["compare_result"]
    table = at.dataframe[0].value
    assert list(table["paper"]) == [p.title for p in pde]
    assert list(table.columns[2:]) == ["problem", "method", "data", "results", "limitations"]
    # Cells shown are the comparison's cells; each non-empty cell's quote is verbatim in its paper.
    for row, compared, paper in zip(table.to_dict("records"), result.papers, pde):
        for aspect, cell in compared.cells.items():
            assert row[aspect] == (cell.text or "not stated")
            if cell.quote:
                assert cell.quote in paper.abstract + " ".join(t for _, t in seed_library.chunks_of(paper.id))
    # Quotes on expand: one expander per paper, the quotes as plain text.
    quotes = _quotes(at)
    assert len(quotes) == 3
    first = next(v for k, v in quotes.items() if k.startswith("[1]"))
    assert first == [c.quote for c in result.papers[0].cells.values() if c.quote]

    # What the files hold is checked where a user gets them: tests/e2e (a real browser download).
    assert {b.label for b in at.download_button} == {"Download CSV", "Download Markdown"}


def test_compare_by_query_with_custom_aspect(seed_library) -> None:  # type: ignore[no-untyped-def]
    at = app_test(PAGE)
    at.segmented_control(key="compare_how").set_value("From a query").run()
    at.text_input(key="compare_query").set_value("neural solvers for partial differential equations").run()
    at.multiselect(key="compare_aspects").set_value(["method", "training cost"]).run()
    at.button(key="compare_go").click().run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    assert any(t.startswith("PDE-Refiner") for t in table["paper"])
    assert len(table) >= 3
    assert list(table.columns[2:]) == ["method", "training cost"]


def test_hostile_paper_is_inert_on_compare_page(seed_library, embedder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    add_papers(seed_library, embedder, tmp_path, EVIL_PAPER)
    pig = next(p for p in seed_library.papers() if p.title.startswith("PIG"))
    at = app_test(PAGE)
    at.multiselect(key="compare_papers").set_value([pig.id, EVIL_PAPER["id"]]).run()
    at.button(key="compare_go").click().run()
    assert not at.exception, at.exception
    assert EVIL_PAPER["title"] in list(at.dataframe[0].value["paper"])  # table cells are data
    assert_inert(at)
    assert not any(SCRIPT in m.value for m in at.markdown)


def test_compare_page_with_a_reasoning_model_and_an_unreadable_row(  # type: ignore[no-untyped-def]
    seed_library, llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    llm_server.configure_env(monkeypatch, timeout_s=5)
    llm_server.script(STYLES["json-garbage"], STYLES["json-garbage"])  # the first paper, and its retry
    llm_server.responder = STYLES["json-think"]  # the rest: <think>{…} [3]…</think> then the JSON
    pde = [p for p in seed_library.papers() if "PDE" in p.title][:2]
    at = app_test(PAGE)
    at.multiselect(key="compare_papers").set_value([p.id for p in pde]).run()
    at.button(key="compare_go").click().run()
    assert not at.exception, at.exception

    result = at.session_state["compare_result"]
    assert result.mode == "llm" and "Mode: LLM" in at.caption[0].value
    table = at.dataframe[0].value.to_dict("records")
    # Row 2: the model's cells, read past its reasoning; row 1: the offline cells, and the page says so.
    model_cells = result.papers[1].cells
    assert all(model_cells[a].judge in ("offline", "llm") and table[1][a].startswith(model_cells[a].text or "-")
               for a in result.aspects)
    assert any(table[0][a] != "not stated" for a in result.aspects)
    notes = [i.value for i in at.info]
    assert len(notes) == 1 and notes[0].startswith("Row 1") and "offline extractive cells" in notes[0]
    shown = [*markdown_sources(at), *(str(v) for row in table for v in row.values())]
    assert not any("Probably not" in s or "user wants" in s or "think>" in s for s in shown)
