"""The app in a real browser: ask → streamed cited answer → click a citation → the exact source text;
upload files on the library page; a hostile paper stays inert on every page.

Selectors lean on what a user sees (labels, texts) and on the `st-key-<key>` classes Streamlit
gives keyed widgets; waits are generous (the first question loads the embedding model).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.ui_support import (
    ATTACKER,
    EVIL_PAPER,
    EVIL_QUESTION,
    IMG,
    MD_IMG,
    NEW_PAPER,
    PIG_QUESTION,
    SCRIPT,
    jsonl_bytes,
    pdf_bytes,
)

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
ANSWER_TIMEOUT = 120_000  # ms; the first answer of the session also loads the model


def _space(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def ask(pg: Any, question: str, turn: int) -> None:
    box = pg.locator("[data-testid=stChatInputTextArea]")
    box.fill(question)
    box.press("Enter")
    pg.locator(f".st-key-chips-{turn} button").first.wait_for(timeout=ANSWER_TIMEOUT)


def open_citation(pg: Any, turn: int, n: int) -> str:
    """Click chip [n] of an answer; return the source text its expander then shows."""
    pg.locator(f".st-key-chips-{turn} button", has_text=f"[{n}]").click()
    pg.wait_for_selector(f".st-key-src-{turn}-{n} details[open]", timeout=30_000)
    text = pg.locator(f".st-key-src-{turn}-{n} [data-testid=stText]")
    text.wait_for(state="visible")
    return str(text.inner_text())


def go(pg: Any, page_title: str, ready_text: str) -> None:
    pg.locator("[data-testid=stSidebarNavLink]", has_text=page_title).click()
    pg.get_by_text(ready_text, exact=True).first.wait_for()


def assert_page_inert(pg: Any, watch: Any) -> None:
    """Nothing the hostile paper carries became an element, a script run, or a request."""
    found = pg.evaluate(
        """(host) => ({
            imgs: [...document.querySelectorAll('img')].map(i => i.getAttribute('src') || '')
                    .filter(s => s === 'x' || s.includes(host)),
            links: [...document.querySelectorAll('a[href]')].map(a => a.href).filter(h => h.includes(host)
                    || h.startsWith('javascript:')),
            onerror: document.querySelectorAll('[onerror]').length,
            bold: [...document.querySelectorAll('b')].filter(b => b.textContent === 'now').length,
            scripts: [...document.querySelectorAll('script')].filter(s => s.textContent.includes('alert(')).length,
        })""",
        ATTACKER,
    )
    assert found == {"imgs": [], "links": [], "onerror": 0, "bold": 0, "scripts": 0}, found
    assert watch.dialogs == [], watch.dialogs
    assert not [u for u in watch.outside if ATTACKER in u], watch.outside
    assert watch.outside == [], watch.outside  # the app needs nothing beyond 127.0.0.1


def test_ask_wait_for_answer_click_citation_shows_exact_source(page, app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pg, watch = page
    pg.goto(app.url)
    pg.locator("[data-testid=stChatInputTextArea]").wait_for()
    assert "47 papers" in pg.locator("[data-testid=stSidebarUserContent]").inner_text()

    ask(pg, PIG_QUESTION, turn=1)
    answer = pg.locator("[data-testid=stChatMessage]").nth(1).inner_text()
    assert "offline: extractive" in answer
    assert re.search(r"Gaussians?.*\[1\]", answer)  # the answer text, cited
    assert "PIG" in pg.locator(".st-key-chips-1 button").first.inner_text()

    shown = open_citation(pg, turn=1, n=1)
    caption = pg.locator(".st-key-src-1-1 [data-testid=stCaptionContainer]", has_text="Paper id").inner_text()
    paper_id = re.search(r"Paper id: (\S+)", caption).group(1)  # type: ignore[union-attr]

    from assistant.library.library import Library
    from assistant.settings import Settings

    lib = Library(Settings(_env_file=None, data_dir=app.data_dir))  # type: ignore[call-arg]
    try:
        chunks = [_space(t) for _, t in lib.chunks_of(paper_id)]
        assert lib.get(paper_id).title.startswith("PIG")  # type: ignore[union-attr]
    finally:
        lib.close()
    assert _space(shown) in chunks  # the exact chunk the answer used

    # The picture for the README: the question, the cited answer and the opened source.
    shot = tmp_path / "chat.png"
    pg.set_viewport_size({"width": 1400, "height": 1350})
    pg.locator("[data-testid=stChatMessage]").first.evaluate("el => el.scrollIntoView({block: 'start'})")
    pg.wait_for_timeout(300)
    pg.screenshot(path=str(shot))
    if os.environ.get("PAPERS_UPDATE_SCREENSHOT"):
        (ROOT / "docs").mkdir(exist_ok=True)
        shutil.copy(shot, ROOT / "docs" / "chat.png")
    assert watch.dialogs == [] and watch.outside == [] and watch.errors == []


def test_upload_files_on_library_page(page, app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pg, watch = page
    pg.goto(app.url)
    go(pg, "Library", "Add papers")
    papers = pg.locator("[data-testid=stMetric]", has_text="Papers").locator("[data-testid=stMetricValue]")
    before = int(papers.inner_text())

    jsonl = tmp_path / "widgets.jsonl"
    jsonl.write_bytes(jsonl_bytes(NEW_PAPER))
    pdf = tmp_path / "protein.pdf"
    pdf.write_bytes(pdf_bytes())
    pg.locator("[data-testid=stFileUploader] input[type=file]").set_input_files([str(jsonl), str(pdf)])
    pg.get_by_text("widgets.jsonl").first.wait_for()
    pg.get_by_role("button", name="Add to library").click()
    pg.get_by_text("Last upload: 2 of 2 files read").wait_for(timeout=ANSWER_TIMEOUT)
    assert int(papers.inner_text()) == before + 2

    search = pg.get_by_label("Search the library")
    search.fill("widget placement")
    search.press("Enter")
    pg.get_by_text(f"1 of {before + 2} papers", exact=False).wait_for()
    assert watch.dialogs == [] and watch.outside == [] and watch.errors == []


def test_compare_download_is_the_table_shown(page, app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The CSV a researcher downloads is the comparison on screen: same papers, same aspects."""
    import csv
    import io

    pg, watch = page
    pg.goto(app.url)
    go(pg, "Compare", "Compare methods")
    pg.get_by_text("From a query", exact=True).click()
    box = pg.get_by_label("Topic or method")
    box.fill("neural solvers for partial differential equations")
    box.press("Enter")
    pg.get_by_role("button", name="Compare", exact=True).click()
    button = pg.get_by_role("button", name="Download CSV")
    button.wait_for(timeout=ANSWER_TIMEOUT)
    with pg.expect_download() as info:
        button.click()
    rows = list(csv.DictReader(io.StringIO(Path(info.value.path()).read_text(encoding="utf-8"))))
    quote_boxes = pg.locator("[data-testid=stExpander]", has_text="— quotes")  # not the sidebar's
    shown = quote_boxes.locator("summary").all_inner_texts()
    assert rows and list(rows[0])[:2] == ["id", "title"]
    aspects = ["problem", "method", "data", "results", "limitations"]
    assert list(rows[0])[2:] == [col for a in aspects for col in (a, f"{a} quote")]
    # One quotes expander per compared paper, titled with the paper; the file has the same papers.
    assert len(shown) == len(rows)
    for row, title in zip(rows, shown):
        assert _space(row["title"])[:40] in _space(title), (row["title"], title)
    # The quotes in the file are the quotes the first paper's expander shows.
    first = quote_boxes.first
    first.locator("summary").click()
    shown_quotes = _space(first.inner_text())
    quotes = [_space(row_quote) for a in aspects if (row_quote := rows[0][f"{a} quote"])]
    assert quotes and all(q in shown_quotes for q in quotes), (quotes, shown_quotes[:500])
    assert watch.dialogs == [] and watch.outside == [] and watch.errors == []


def test_hostile_paper_is_inert_on_every_page(page, app) -> None:  # type: ignore[no-untyped-def]
    pg, watch = page
    pg.goto(app.url)
    pg.locator("[data-testid=stChatInputTextArea]").wait_for()

    # Chat: cited, and its source shown verbatim as text, payloads included.
    ask(pg, EVIL_QUESTION, turn=1)
    shown = open_citation(pg, turn=1, n=1)
    for payload in (SCRIPT, IMG, MD_IMG):
        assert payload in shown
    label = pg.locator(".st-key-src-1-1 summary").inner_text()
    assert "![t](http" in label and "<b>now</b>" in label  # the title reads as typed, inert
    assert_page_inert(pg, watch)

    # Library: the paper is a row of data.
    go(pg, "Library", "Add papers")
    pg.get_by_label("Search the library").fill("tomato harvesting")
    pg.get_by_label("Search the library").press("Enter")
    pg.get_by_text(re.compile(r"^1 of \d+ papers")).wait_for()
    assert_page_inert(pg, watch)

    # Compare: pick the hostile paper and the PIG paper with the multiselect's search.
    go(pg, "Compare", "Compare methods")
    picker = pg.locator(".st-key-compare_papers input")
    for needle in ("Soft grippers", "PIG: Physics"):
        picker.click()
        picker.fill(needle)
        pg.get_by_role("option").filter(has_text=needle).first.click()
    pg.keyboard.press("Escape")
    pg.locator(".st-key-compare_go button").click()
    pg.get_by_text("How they differ").wait_for(timeout=ANSWER_TIMEOUT)
    quotes = pg.locator("[data-testid=stExpander] summary", has_text="Soft grippers")
    quotes.click()
    assert_page_inert(pg, watch)

    # Summary of the topic: the hostile paper is among the references.
    go(pg, "Summary", "Literature summary")
    pg.get_by_label("Topic (leave empty to summarise the whole library)").fill("robotic harvesting with soft grippers")
    pg.locator(".st-key-summary_go button").click()
    pg.get_by_text("References", exact=True).wait_for(timeout=ANSWER_TIMEOUT)
    assert "Soft grippers for greenhouse tomato harvesting" in pg.locator("[data-testid=stMain]").inner_text()
    assert_page_inert(pg, watch)
    assert EVIL_PAPER["id"]  # (the paper the fixture library holds)
