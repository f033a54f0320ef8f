"""The Graph page and the Library page's related-papers panel, through Streamlit's AppTest on the real
library of the fixture PDFs; the "add" button against the local arXiv server (tests/arxiv_server.py)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant.engine import Engine
from assistant.models import BibReference, Paper
from assistant.settings import get_settings
from assistant.text import md_escape
from tests.arxiv_server import ArxivReplay
from tests.graph_support import (
    DENSE,
    MISSING_ARXIV,
    MISSING_TITLE,
    READING_TITLE,
    ROUTING,
    graph_library,
    graph_library_template,
    missing_paper_entry,
)
from tests.ui_support import ATTACKER, MD_IMG, SCRIPT, app_test, assert_inert
from ui.graph_parts import dot_source, dot_text

__all__ = ["graph_library", "graph_library_template"]  # fixtures, used by name

pytestmark = pytest.mark.slow
GRAPH = "views/graph.py"
LIB = "views/library.py"


@pytest.fixture()
def arxiv(monkeypatch: pytest.MonkeyPatch) -> Iterator[ArxivReplay]:
    """The local arXiv API, holding the missing paper; PAPERS_ARXIV_API_URL points at it."""
    server = ArxivReplay(entries=[missing_paper_entry()])
    server.start()
    monkeypatch.setenv("PAPERS_ARXIV_API_URL", server.url)
    get_settings.cache_clear()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture()
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as s:  # a port nobody listens on: connection refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("PAPERS_ARXIV_API_URL", f"http://127.0.0.1:{port}/api/query")
    get_settings.cache_clear()


def _metric(at: Any, label: str) -> str:
    return str(next(m.value for m in at.metric if m.label == label))


def _missing_titles(at: Any) -> list[str]:
    out: list[str] = []
    n = 1
    while True:
        try:
            box = at.container(key=f"missing-{n}")
        except KeyError:
            return out
        out.append(box.markdown[0].value)
        n += 1


def test_graph_page_counts_chart_missing_and_add(graph_library: Path, arxiv: ArxivReplay) -> None:
    at = app_test(GRAPH)
    assert (_metric(at, "Papers"), _metric(at, "Citations between them"), _metric(at, "Cited but missing")) == (
        "4", "3", "2"
    )  # fmt: skip
    dot = at.get("graphviz_chart")[0].proto.spec
    assert dot.count(" -> ") == 3 + 3 + 2  # three citations, then the dashed edges to the two missing works
    counts = at.dataframe[0].value.set_index("id")
    assert (counts.loc[ROUTING, "cites"], counts.loc[ROUTING, "cited_by"]) == (0, 2)
    assert (counts.loc[DENSE, "cites"], counts.loc[DENSE, "cited_by"]) == (1, 1)
    titles = _missing_titles(at)
    assert len(titles) == 2 and MISSING_TITLE in titles[0] and "cited by 3" in titles[0] and "cited by 2" in titles[1]
    caption = at.container(key="missing-1").caption[0].value
    assert md_escape(f"arXiv:{MISSING_ARXIV}") in caption and READING_TITLE in caption
    assert [b.key for b in at.button if b.key and b.key.startswith("add-")] == ["add-1"]  # the DOI-only work has none

    at.button(key="add-1").click().run()
    assert not at.exception, at.exception
    assert any(md_escape(f"Added arXiv:{MISSING_ARXIV}") in s.value for s in at.success), [e.value for e in at.error]
    assert _metric(at, "Papers") == "5" and _metric(at, "Cited but missing") == "1"
    assert any("id_list=" + MISSING_ARXIV in r for r in arxiv.requests)
    assert Engine(get_settings()).papers([f"arxiv:{MISSING_ARXIV}"])[0].title == MISSING_TITLE


def test_no_add_button_when_arxiv_does_not_answer(graph_library: Path, offline: None) -> None:
    at = app_test(GRAPH)
    assert len(_missing_titles(at)) == 2
    assert not [b for b in at.button if b.key and b.key.startswith("add-")]
    assert any("arXiv does not answer" in c.value for c in at.caption)


def test_empty_library_graph_page() -> None:
    at = app_test(GRAPH)
    assert _metric(at, "Papers") == "0"
    assert any("library is empty" in i.value for i in at.info)


def test_related_panel_on_the_library_page(graph_library: Path, offline: None) -> None:
    at = app_test(LIB)
    box = at.selectbox(key="related_paper")
    assert box.value is None
    box.select(ROUTING).run()
    assert not at.exception, at.exception
    first = at.container(key="related-1")
    assert md_escape("Citation-Aware Dense Retrieval") in first.markdown[0].value
    assert md_escape("cites this paper; shares 1 reference") in first.caption[0].value
    assert READING_TITLE in at.container(key="related-2").markdown[0].value
    assert "only weakly similar text" in at.container(key="related-3").caption[0].value


def test_hostile_titles_stay_inert_on_the_graph_page(graph_library: Path, offline: None, embedder) -> None:  # type: ignore[no-untyped-def]
    hostile = f'"]; x [label="owned {MD_IMG} <b>now</b> {SCRIPT} hostile work'
    evil = [
        Paper(
            id=f"evil-{i}",
            title=f"Evil paper {i} ![t](http://{ATTACKER}/t.png) <b>now</b>",
            abstract="Soft grippers harvest tomatoes in greenhouses.",
            references=[BibReference(title=hostile, year=2020, arxiv_id="2001.00001"),
                        BibReference(title="x", doi="10.5555/graph.2022.001")],
        )  # fmt: skip
        for i in (1, 2)
    ]
    Engine(get_settings(), embedder=embedder).ingest(evil)
    at = app_test(GRAPH)
    assert _metric(at, "Cited but missing") == "3"
    assert_inert(at)
    dot = at.get("graphviz_chart")[0].proto.spec
    assert '\\"]; x [label=\\"owned' in dot and '"]; x [label="owned' not in dot


def test_dot_text_escapes_and_wraps() -> None:
    assert dot_text('a "quoted" \\ title') == 'a \\"quoted\\" \\\\ title'
    assert dot_text("word " * 40).count("\\n") == 2 and dot_text("word " * 40).endswith("…")
    from assistant.field.graph import build_graph

    alone = dot_source(build_graph([Paper(id="a", title="Alone")]))
    assert "Alone" not in alone  # a paper with no tie is left to the table
