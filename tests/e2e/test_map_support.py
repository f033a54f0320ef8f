"""The library map and per-sentence support in the real browser (Debian chromium): the map draws one
point per paper, hovering a point names it, clicking one opens that paper; in Chat, hovering a
citation chip highlights the sentences it supports. No page asks for anything beyond 127.0.0.1.

Screenshots go to the test's tmp dir, and to docs/ with PAPERS_UPDATE_SCREENSHOT=1.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.test_browser import ANSWER_TIMEOUT, assert_page_inert, go
from tests.ui_support import EVIL_PAPER, PIG_QUESTION

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
POINTS = ".st-key-library_map .scatterlayer path.point"


def keep_screenshot(pg: Any, tmp_path: Path, name: str) -> None:
    shot = tmp_path / name
    pg.screenshot(path=str(shot))
    if os.environ.get("PAPERS_UPDATE_SCREENSHOT"):
        (ROOT / "docs").mkdir(exist_ok=True)
        shutil.copy(shot, ROOT / "docs" / name)


def library_ids(data_dir: Path) -> set[str]:
    from assistant.library.library import Library
    from assistant.settings import Settings

    lib = Library(Settings(_env_file=None, data_dir=data_dir))  # type: ignore[call-arg]
    try:
        return {p.id for p in lib.papers()}
    finally:
        lib.close()


def point_paper(pg: Any, trace: int, index: int) -> str:
    """The paper id plotly holds for point `index` of trace `trace` (the figure's own data)."""
    return str(
        pg.evaluate(
            "([t, i]) => document.querySelector('.st-key-library_map .js-plotly-plot').data[t].customdata[i]",
            [trace, index],
        )
    )


def test_map_draws_one_point_per_paper_and_a_click_opens_it(page, app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pg, watch = page
    pg.goto(app.url)
    go(pg, "Map", "Library map")
    ids = library_ids(app.data_dir)
    pg.locator(POINTS).first.wait_for(timeout=60_000)
    assert pg.locator(POINTS).count() == len(ids) >= 47  # the seed + the hostile paper (+ any uploaded this session)
    drawn = pg.evaluate(
        "() => document.querySelector('.st-key-library_map .js-plotly-plot').data.flatMap(t => t.customdata)"
    )
    assert sorted(drawn) == sorted(ids)

    # Hover a point of the second theme: its title shows; click it: that paper opens below the map.
    trace = pg.locator(".st-key-library_map .scatterlayer .trace").nth(1)
    index = next(i for i in range(trace.locator("path.point").count()) if point_paper(pg, 1, i) != EVIL_PAPER["id"])
    point = trace.locator("path.point").nth(index)
    paper_id = point_paper(pg, 1, index)
    point.hover(force=True)
    hover = pg.locator(".st-key-library_map .hoverlayer .hovertext")
    hover.wait_for(timeout=10_000)
    titles = pg.evaluate(
        "(id) => { const d = document.querySelector('.st-key-library_map .js-plotly-plot').data;"
        " for (const t of d) { const i = t.customdata.indexOf(id); if (i >= 0) return t.hovertext[i]; } }",
        paper_id,
    )
    shown = str(hover.locator("text").first.text_content())  # SVG: text, no inner_text
    assert shown[:30] and shown[:30] in titles.replace("&amp;", "&"), (shown, titles)
    point.click(force=True)
    details = pg.locator(".st-key-map_details")
    expect(details).to_contain_text(f"paper id: {paper_id}", timeout=30_000)  # retried: box before text

    pg.set_viewport_size({"width": 1400, "height": 1250})
    pg.wait_for_timeout(800)
    keep_screenshot(pg, tmp_path, "map.png")
    assert_page_inert(pg, watch)
    assert watch.errors == []


def test_map_opens_the_hostile_paper_inertly(page, app) -> None:  # type: ignore[no-untyped-def]
    pg, watch = page
    pg.goto(app.url)
    go(pg, "Map", "Library map")
    pg.locator(POINTS).first.wait_for(timeout=60_000)
    box = pg.locator(".st-key-map_paper input")
    box.click()
    box.fill("Soft grippers")  # the list is virtualised: filter it to the one title
    pg.get_by_role("option", name="Soft grippers", exact=False).first.click()
    expect(pg.locator(".st-key-map_details")).to_contain_text("Mallory", timeout=30_000)
    assert_page_inert(pg, watch)


def test_hovering_a_chip_highlights_its_sentences(page, app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pg, watch = page
    pg.goto(app.url)
    box = pg.locator("[data-testid=stChatInputTextArea]")
    box.wait_for()
    box.fill(PIG_QUESTION)
    box.press("Enter")
    support = pg.locator(".st-key-support-1")
    support.locator(".pa-sent").first.wait_for(timeout=ANSWER_TIMEOUT)

    sentences = support.locator(".pa-sent")
    cites = [str(sentences.nth(i).get_attribute("data-src") or "") for i in range(sentences.count())]
    chip = support.locator(".pa-legend .pa-chip[data-n='1']")

    def lit() -> list[bool]:
        return [
            bool(
                sentences.nth(i).evaluate(
                    "el => getComputedStyle(el).backgroundColor !== 'rgba(0, 0, 0, 0)'"
                    " && getComputedStyle(el).backgroundColor !== 'transparent'"
                )
            )
            for i in range(sentences.count())
        ]

    assert not any(lit()), "nothing highlighted before a hover"
    chip.hover()
    pg.wait_for_timeout(300)
    expected = ["1" in c.split() for c in cites]
    assert any(expected) and lit() == expected, (cites, lit())
    keep_screenshot(pg, tmp_path, "support.png")
    pg.mouse.move(0, 0)
    pg.wait_for_timeout(300)
    assert not any(lit())
    assert watch.outside == [] and watch.dialogs == [] and watch.errors == []
