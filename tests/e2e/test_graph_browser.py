"""Related papers and the citation graph in a real browser (Debian chromium through Playwright), over
the app serving the four fixture PDFs that cite each other (tests/data/pdfs/graph/), with arXiv
answered by the local server so the "add" button shows. No request may leave 127.0.0.1.

With PAPERS_UPDATE_SCREENSHOT=1 the screenshots are copied to docs/related.png and docs/graph.png.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.arxiv_server import ArxivReplay
from tests.e2e.conftest import CHROMIUM, App, Watch, start_app, stop_app, watched_page
from tests.graph_support import (
    MISSING_ARXIV,
    MISSING_DOI,
    MISSING_TITLE,
    READING_TITLE,
    graph_library_template,
    missing_paper_entry,
)

__all__ = ["graph_library_template"]  # a fixture, used by name

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def arxiv_server() -> Iterator[ArxivReplay]:
    server = ArxivReplay(entries=[missing_paper_entry()])
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def graph_app(
    graph_library_template: Path, arxiv_server: ArxivReplay, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[App]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make system-deps` (apt-get install chromium)")
    root = tmp_path_factory.mktemp("graph-e2e") / "library"
    shutil.copytree(graph_library_template, root)
    before = os.environ.get("PAPERS_ARXIV_API_URL")
    os.environ["PAPERS_ARXIV_API_URL"] = arxiv_server.url  # start_app passes os.environ on
    try:
        running = start_app(root, root.parent / "streamlit.log")
    finally:
        if before is None:
            os.environ.pop("PAPERS_ARXIV_API_URL", None)
        else:
            os.environ["PAPERS_ARXIV_API_URL"] = before
    yield running
    stop_app(running)


@pytest.fixture()
def gpage(browser, graph_app: App) -> Iterator[tuple[Any, Watch]]:  # type: ignore[no-untyped-def]
    """A fresh page that records (and blocks) every request leaving the app, as tests/e2e/conftest.py's."""
    watch = Watch()
    pg = watched_page(browser, (graph_app.url,), watch)
    yield pg, watch
    pg.context.close()


def _go(pg: Any, app: App, page_title: str, ready_text: str) -> None:
    pg.goto(app.url)
    pg.locator("[data-testid=stSidebarNavLink]", has_text=page_title).click()
    pg.get_by_text(ready_text, exact=True).first.wait_for()


def _shot(pg: Any, tmp_path: Path, name: str) -> None:
    shot = tmp_path / name
    pg.wait_for_timeout(400)
    pg.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000
    if os.environ.get("PAPERS_UPDATE_SCREENSHOT"):
        shutil.copy(shot, ROOT / "docs" / name)


def test_related_papers_on_the_library_page(gpage, graph_app: App, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pg, watch = gpage
    _go(pg, graph_app, "Library", "Import from Zotero")  # the page's last section: the script ran through
    box = pg.locator(".st-key-related_paper input")
    box.click()
    box.fill("Sparse Routing")
    pg.get_by_role("option", name="Sparse Routing for Scholarly Document Retrieval").click()
    first = pg.locator(".st-key-related-1")
    # The container can be on the page a moment before its text (Streamlit fills it in the same rerun).
    expect(first).to_contain_text("Citation-Aware Dense Retrieval for Scientific Papers", timeout=60_000)
    expect(pg.locator(".st-key-related-3")).to_contain_text("only weakly similar text", timeout=60_000)
    assert "cites this paper; shares 1 reference; cited together by 1 paper; similar text" in first.inner_text()
    assert READING_TITLE in pg.locator(".st-key-related-2").inner_text()
    pg.get_by_text("Related papers", exact=True).first.evaluate("el => el.scrollIntoView({block: 'start'})")
    _shot(pg, tmp_path, "related.png")
    assert watch.dialogs == [] and watch.outside == [] and watch.errors == []


def test_graph_page_shows_cited_but_missing_and_adds_one(gpage, graph_app: App, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pg, watch = gpage
    _go(pg, graph_app, "Graph", "Cited but missing")
    first, second = pg.locator(".st-key-missing-1"), pg.locator(".st-key-missing-2")
    expect(first).to_contain_text(MISSING_TITLE, timeout=60_000)
    expect(second).to_contain_text(f"DOI {MISSING_DOI}", timeout=60_000)
    assert "cited by 3" in first.inner_text()
    assert f"arXiv:{MISSING_ARXIV}" in first.inner_text()
    assert "cited by 2" in second.inner_text()
    assert second.locator("button").count() == 0  # no arXiv id: nothing to add it by
    # drawn in the page by Streamlit's bundled Graphviz: the three linked papers (ocean has no tie), two missing works
    nodes = pg.locator("[data-testid=stGraphVizChart] svg g.node")
    nodes.first.wait_for()
    assert nodes.count() == 5
    assert pg.locator("[data-testid=stGraphVizChart] svg g.edge").count() == 8
    pg.set_viewport_size({"width": 1400, "height": 1500})
    _shot(pg, tmp_path, "graph.png")

    first.get_by_role("button", name="Add").click()
    pg.get_by_text(f"Added arXiv:{MISSING_ARXIV} to the library.").wait_for()
    pg.locator(".st-key-missing-2").wait_for(state="detached")
    assert MISSING_DOI in pg.locator(".st-key-missing-1").inner_text()
    assert watch.dialogs == [] and watch.outside == [] and watch.errors == []


def test_hostile_titles_stay_inert_in_the_drawn_graph(gpage, graph_app: App, embedder) -> None:  # type: ignore[no-untyped-def]
    """Titles that try Markdown, HTML and DOT injection are drawn as text in the SVG (runs last: it
    adds two papers to the module's library)."""
    from assistant.engine import Engine
    from assistant.models import BibReference, Paper
    from assistant.settings import Settings
    from tests.e2e.test_browser import assert_page_inert
    from tests.ui_support import ATTACKER, IMG, MD_IMG, SCRIPT

    hostile = f'"]; x [label="owned {IMG} {SCRIPT} {MD_IMG}'
    evil = [
        Paper(
            id=f"evil-graph-{i}",
            title=f"Evil {i} <b>now</b> {IMG}",
            abstract="Soft grippers harvest tomatoes in greenhouses.",
            references=[BibReference(title=hostile, year=2020, arxiv_id="2001.00001")],
        )
        for i in (1, 2)
    ]
    settings = Settings(_env_file=None, data_dir=graph_app.data_dir)  # type: ignore[call-arg]
    Engine(settings, embedder=embedder).ingest(evil)
    pg, watch = gpage
    _go(pg, graph_app, "Graph", "Cited but missing")
    svg = pg.locator("[data-testid=stGraphVizChart] svg")
    svg.locator("g.node", has_text="Evil 1").first.wait_for()
    drawn = str(svg.text_content())
    assert "<b>now</b>" in drawn and '"]; x [label="owned' in drawn  # the literal text, one node
    assert svg.locator("img, script, foreignObject, a").count() == 0
    assert svg.locator("g.node", has_text="owned").count() == 1
    assert not [u for u in watch.outside if ATTACKER in u]
    assert_page_inert(pg, watch)
