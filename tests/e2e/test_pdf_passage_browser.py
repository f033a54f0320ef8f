"""The cited passage in its PDF, in a real browser (Debian chromium through Playwright): ask → click [1]
→ the cited page appears as an image with highlight rectangles over the chunk's words; pages turn.

The app serves a copy of the seed library plus the two-column fixture PDF (tests/data/pdfs/twocol.pdf),
kept on disk where it was ingested from. The rectangles on screen are checked against the boxes
ingest/pdf_pages.py computes and against PDFium's own positions of the chunk's words. No request
may leave 127.0.0.1. The screenshot goes to the test's tmp dir, and to docs/pdf-passage.png with
PAPERS_UPDATE_SCREENSHOT=1.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import CHROMIUM, App, Watch, start_app, stop_app, watched_page

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
QUESTION = "What routing temperature is used within each expert?"
ANSWER_TIMEOUT = 120_000  # ms; the first answer also loads the model

Rect = tuple[float, float, float, float]  # left, top, right, bottom in CSS pixels


@pytest.fixture(scope="module")
def pdf_app(_seed_library_template: Path, embedder, tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:  # type: ignore[no-untyped-def]
    from assistant.library.library import Library
    from assistant.settings import Settings
    from tests.support import ingest_files

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make system-deps` (apt-get install chromium)")
    base = tmp_path_factory.mktemp("pdf-e2e")
    root = base / "library"
    shutil.copytree(_seed_library_template, root)
    pdf = base / "papers" / "twocol.pdf"
    pdf.parent.mkdir()
    shutil.copy(ROOT / "tests" / "data" / "pdfs" / "twocol.pdf", pdf)
    settings = Settings(_env_file=None, data_dir=root)  # type: ignore[call-arg]
    lib = Library(settings)
    assert ingest_files([pdf], lib, embedder, settings).added == 1
    lib.close()
    running = start_app(root, base / "streamlit.log")
    yield running
    stop_app(running)


@pytest.fixture()
def ppage(browser, pdf_app: App) -> Iterator[tuple[Any, Watch]]:  # type: ignore[no-untyped-def]
    """A fresh page that records (and blocks) every request leaving the app, as tests/e2e/conftest.py's."""
    watch = Watch()
    pg = watched_page(browser, (pdf_app.url,), watch)
    yield pg, watch
    pg.context.close()


def _shown_page(pg: Any, number: int) -> dict[str, Any]:
    """Wait for page `number`'s image to have loaded; its rectangle and the highlight boxes' on screen."""
    pg.wait_for_function(
        """(n) => { const i = document.querySelector(`.st-key-src-1-1 .pp-page[data-page="${n}"] img.pp-img`);
                    return i && i.complete && i.naturalWidth > 0; }""",
        arg=number,
        timeout=60_000,
    )
    return dict(
        pg.evaluate(
            """() => {
                const r = e => { const b = e.getBoundingClientRect(); return [b.left, b.top, b.right, b.bottom]; };
                const img = document.querySelector('.st-key-src-1-1 img.pp-img');
                return {img: r(img), natural: [img.naturalWidth, img.naturalHeight],
                        boxes: [...document.querySelectorAll('.st-key-src-1-1 .pp-box')].map(r)};
            }"""
        )
    )


def _word_rects(pdf: Path, page: int, text: str, img: Rect) -> dict[str, list[Rect]]:
    """Where PDFium itself puts each of the chunk's words (5+ letters) on the page, in screen pixels."""
    import pypdfium2 as pdfium

    left, top, right, bottom = img
    doc = pdfium.PdfDocument(str(pdf))
    try:
        pg = doc[page - 1]
        width, height = pg.get_size()
        textpage = pg.get_textpage()
        out: dict[str, list[Rect]] = {}
        for word in set(re.findall(r"[A-Za-z]{5,}", text)):
            rects = []
            searcher = textpage.search(word, match_case=True, match_whole_word=True)
            while (found := searcher.get_next()) is not None:
                for i in range(textpage.count_rects(*found)):
                    x0, y0, x1, y1 = textpage.get_rect(i)
                    rects.append(
                        (
                            left + x0 / width * (right - left),
                            top + (height - y1) / height * (bottom - top),
                            left + x1 / width * (right - left),
                            top + (height - y0) / height * (bottom - top),
                        )
                    )
            if rects:
                out[word] = rects
        return out
    finally:
        doc.close()


def _overlap(a: Rect, b: Rect) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def test_citation_opens_the_highlighted_pdf_page(ppage, pdf_app: App, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from ingest.pdf_pages import passage_boxes

    pg, watch = ppage
    pdf = pdf_app.data_dir.parent / "papers" / "twocol.pdf"
    pg.goto(pdf_app.url)
    box = pg.locator("[data-testid=stChatInputTextArea]")
    box.fill(QUESTION)
    box.press("Enter")
    pg.locator(".st-key-chips-1 button").first.wait_for(timeout=ANSWER_TIMEOUT)
    assert "Routing Attention" in pg.locator(".st-key-chips-1 button").first.inner_text()
    assert pg.locator(".st-key-src-1-1 img").count() == 0  # nothing rendered before it is opened

    pg.locator(".st-key-chips-1 button", has_text="[1]").click()
    pg.wait_for_selector(".st-key-src-1-1 details[open]", timeout=30_000)
    shown = _shown_page(pg, 2)
    chunk = pg.locator(".st-key-src-1-1 [data-testid=stText]").inner_text()
    assert "banded attention" in chunk
    caption = pg.locator(".st-key-src-1-1 [data-testid=stCaptionContainer]", has_text="Page 2 of 4").inner_text()
    assert "§3.2 Attention" in caption and "cited passage highlighted" in caption

    # The rectangles on screen are the boxes computed for the chunk, laid over the image...
    left, top, right, bottom = shown["img"]
    expected = [
        (left + b.x * (right - left), top + b.y * (bottom - top),
         left + (b.x + b.w) * (right - left), top + (b.y + b.h) * (bottom - top))
        for b in passage_boxes(pdf, 2, chunk)
    ]  # fmt: skip
    assert expected and len(shown["boxes"]) == len(expected)
    for got, want in zip(shown["boxes"], expected):
        assert all(abs(g - w) < 1.5 for g, w in zip(got, want)), (got, want)
    # ...and they cover the chunk's words where PDFium places them on the page.
    words = _word_rects(pdf, 2, chunk, shown["img"])
    assert len(words) >= 10, words
    uncovered = [w for w, rects in words.items() if not any(_overlap(r, b) for r in rects for b in shown["boxes"])]
    assert len(uncovered) <= max(1, len(words) // 10), uncovered
    assert shown["natural"][0] == round(612 * 1.5)  # rendered at PAPERS_PDF_PAGE_SCALE

    # The picture of the view: the whole opened source, from its title to the exact text.
    shot = tmp_path / "pdf-passage.png"
    pg.set_viewport_size({"width": 1400, "height": 2300})  # tall enough for the whole source in view
    source = pg.locator(".st-key-src-1-1")
    source.evaluate("el => el.scrollIntoView({block: 'start'})")
    pg.wait_for_timeout(500)
    source.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000
    if os.environ.get("PAPERS_UPDATE_SCREENSHOT"):
        shutil.copy(shot, ROOT / "docs" / "pdf-passage.png")

    # Next page: page 3 holds nothing of the chunk; previous brings the highlight back.
    pg.locator(".st-key-pdfnext-1-1 button").first.click()
    assert _shown_page(pg, 3)["boxes"] == []
    assert (
        "the cited passage starts on page 2"
        in pg.locator(".st-key-src-1-1 [data-testid=stCaptionContainer]", has_text="Page 3 of 4").inner_text()
    )
    pg.locator(".st-key-pdfprev-1-1 button").first.click()
    assert len(_shown_page(pg, 2)["boxes"]) == len(expected)

    assert watch.outside == [] and watch.dialogs == [] and watch.errors == []
