"""The cited passage in its PDF: chunk pages at ingest, the page rendered and cached, the chunk's words boxed.

Checked against PDFium's own view of the committed pdflatex PDFs (tests/data/pdfs): the page a chunk
is given holds its opening words, and the highlight boxes cover the chunk's words as PDFium places
them and nothing but the chunk's text.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
import pytest

from assistant.errors import PdfViewError
from assistant.library.chunking import chunk_paper
from assistant.library.pages import assign_pages, fold, folded, matched_positions, runs
from assistant.models import Chunk, LoadError, Paper
from assistant.settings import Settings
from ingest.pdf_pages import MAX_PIXELS, Box, find_page, page_view, passage_boxes, render_png
from ingest.sources.pdf import load_pdf

PDFS = Path(__file__).parent / "data" / "pdfs"


def _paper(name: str) -> Paper:
    items: list[Paper | LoadError] = list(load_pdf(PDFS / name, Settings(_env_file=None)))  # type: ignore[call-arg]
    assert len(items) == 1 and isinstance(items[0], Paper), items
    return items[0]


def _chunks(name: str) -> list[Chunk]:
    return chunk_paper(_paper(name), chunk_size=256, chunk_overlap=32)


def _pdfium_pages(path: Path) -> list[str]:
    doc = pdfium.PdfDocument(str(path))
    try:
        return [doc[i].get_textpage().get_text_range() for i in range(len(doc))]
    finally:
        doc.close()


@pytest.mark.parametrize("name", ["twocol.pdf", "onecol.pdf", "nometa.pdf"])
def test_every_chunk_gets_the_page_pdfium_finds_its_opening_words_on(name: str) -> None:
    chunks = _chunks(name)
    pages = _pdfium_pages(PDFS / name)
    assert all(c.page is not None for c in chunks), [(c.index, c.page) for c in chunks]
    for c in chunks:
        assert c.page is not None
        opening = fold(" ".join(c.text.split()[:6]))[0]
        holding = [i + 1 for i, t in enumerate(pages) if opening in fold(t)[0]]
        assert c.page in holding, (c.index, c.page, holding, c.text[:60])
    assert [c.page for c in chunks] == sorted(c.page for c in chunks if c.page)  # reading order


def test_chunks_of_a_multi_page_pdf_reach_later_pages() -> None:
    chunks = _chunks("twocol.pdf")
    by_section = {c.section: c.page for c in chunks}
    assert by_section["abstract"] == 1
    assert by_section["3.2 Attention"] == 2 and by_section["5 Conclusion"] == 2
    assert _chunks("onecol.pdf")[-1].page == 2


def test_page_texts_are_never_stored_nor_hashed() -> None:
    p = _paper("twocol.pdf")
    assert len(p.page_texts) == 4
    assert "page_texts" not in p.record()
    assert p.content_hash() == p.model_copy(update={"page_texts": []}).content_hash()
    assert all(c.page is None for c in chunk_paper(p.model_copy(update={"page_texts": []})))


def test_matching_survives_hyphenation_ligatures_headers_and_spacing() -> None:
    page = "Running Header 7\r\nWe fine-\r\ntune the e\ufb03cient model on 12 tasks and\r\n3\r\nreport   gains."
    chunk = "We finetune the efficient model on 12 tasks and report gains."
    hits = matched_positions(chunk, page)
    covered = "".join(page[i] for i in hits)
    assert fold(covered)[0] == fold(chunk)[0]
    assert "Header" not in "".join(page[a:b] for a, b in runs(hits, page))
    assert matched_positions("Nothing of this sentence is on the page at all, not one word.", page) == []
    assert assign_pages(["report gains", "absent words here"], ["other text", page]) == [2, None]
    for text in (page, chunk, "Ünïcødé ﬁnal straße İstanbul ½ x_y", "Σύνοψη κειμένου 3²"):
        assert folded(text) == fold(text)[0], text


def _overlap(a: tuple[float, float, float, float], b: Box) -> bool:
    x0, y0, x1, y1 = a
    return x0 < b.x + b.w and b.x < x1 and y0 < b.y + b.h and b.y < y1


def _word_boxes(pg: Any, textpage: Any, word: str) -> list[tuple[float, float, float, float]]:
    """Every place PDFium itself finds `word` on the page, as fractions of the crop box (left, top, right, bottom)."""
    x0, y0, x1, y1 = pg.get_cropbox()
    width, height = x1 - x0, y1 - y0
    out = []
    searcher = textpage.search(word, match_case=True, match_whole_word=True)
    while (found := searcher.get_next()) is not None:
        start, count = found
        for i in range(textpage.count_rects(start, count)):
            left, bottom, right, top = textpage.get_rect(i)
            out.append(((left - x0) / width, (y1 - top) / height, (right - x0) / width, (y1 - bottom) / height))
    return out


def _assert_boxes_cover(pg: Any, boxes: list[Box], chunk: str) -> None:
    """PDFium's positions of the chunk's words lie under the boxes; the boxes hold only the chunk's text."""
    textpage = pg.get_textpage()
    # (PDFium's search misses words it split at a line break: "ex\ufffepensive".)
    placed = {w: _word_boxes(pg, textpage, w) for w in set(re.findall(r"[A-Za-z]{5,}", chunk))}
    words = {w: rects for w, rects in placed.items() if rects}
    assert len(words) >= 5, words
    uncovered = [w for w, rects in words.items() if not any(_overlap(r, b) for r in rects for b in boxes)]
    # One miss is a word found only elsewhere on the page, its own copy split ("pas\ufffesages").
    assert len(uncovered) <= max(1, len(words) // 10), uncovered
    x0, y0, x1, y1 = pg.get_cropbox()
    for b in boxes:
        left, right = x0 + b.x * (x1 - x0) + 0.5, x0 + (b.x + b.w) * (x1 - x0) - 0.5
        bottom, top = y1 - (b.y + b.h) * (y1 - y0) + 0.5, y1 - b.y * (y1 - y0) - 0.5
        inside = textpage.get_text_bounded(left, bottom, right, top)
        assert fold(inside)[0] in fold(chunk)[0], inside


@pytest.mark.parametrize("name", ["twocol.pdf", "onecol.pdf"])
def test_boxes_lie_on_the_page_and_cover_the_chunks_words_only(name: str) -> None:
    path = PDFS / name
    doc = pdfium.PdfDocument(str(path))
    try:
        for c in _chunks(name):
            assert c.page is not None
            boxes = passage_boxes(path, c.page, c.text)
            assert boxes, (c.index, c.text[:60])
            for b in boxes:
                assert 0 <= b.x and 0 <= b.y and b.w > 0 and b.h > 0 and b.x + b.w <= 1 and b.y + b.h <= 1, b
            _assert_boxes_cover(doc[c.page - 1], boxes, c.text)
    finally:
        doc.close()


def test_boxes_follow_the_crop_box_and_skip_rotated_pages(tmp_path: Path) -> None:
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import RectangleObject

    chunk = next(c for c in _chunks("onecol.pdf") if c.page == 1 and c.section == "abstract")
    reader = PdfReader(str(PDFS / "onecol.pdf"))
    writer = PdfWriter()
    for page in reader.pages:
        writer.add_page(page)
    writer.pages[0].cropbox = RectangleObject([40, 50, 572, 752])
    writer.pages[1].rotate(90)
    path = tmp_path / "cropped.pdf"
    with path.open("wb") as fh:
        writer.write(fh)
    boxes = passage_boxes(path, 1, chunk.text)
    assert boxes and boxes != passage_boxes(PDFS / "onecol.pdf", 1, chunk.text)  # moved with the crop box
    doc = pdfium.PdfDocument(str(path))
    try:
        assert doc[0].get_size() == (532.0, 702.0)
        _assert_boxes_cover(doc[0], boxes, chunk.text)
    finally:
        doc.close()
    later = next(c for c in _chunks("onecol.pdf") if c.page == 2)
    assert passage_boxes(path, 2, later.text) == []  # rotated: shown unmarked rather than marked wrong


def test_a_page_is_rendered_once_and_cached(tmp_path: Path) -> None:
    path = tmp_path / "paper.pdf"
    path.write_bytes((PDFS / "onecol.pdf").read_bytes())
    cache = tmp_path / "pages"
    png = render_png(path, 1, 1.0, cache)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) == (612, 792)  # US Letter at 72 dpi
    stored = list(cache.rglob("*.png"))
    assert len(stored) == 1 and stored[0].read_bytes() == png
    stored[0].write_bytes(b"\x89PNG cached")
    assert render_png(path, 1, 1.0, cache) == b"\x89PNG cached"  # read from the cache, not rendered
    assert render_png(path, 1, 2.0, cache) != b"\x89PNG cached"  # another scale is another image
    path.write_bytes((PDFS / "onecol.pdf").read_bytes() + b"\n")  # a changed file is rendered again
    assert render_png(path, 1, 1.0, cache).startswith(b"\x89PNG\r\n\x1a\n")


def test_a_poster_sized_page_is_drawn_smaller(tmp_path: Path) -> None:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=14_400, height=7_200)  # 200 x 100 inches: 64 million pixels at scale 1.5
    path = tmp_path / "poster.pdf"
    with path.open("wb") as fh:
        writer.write(fh)
    png = render_png(path, 1, 1.5, tmp_path / "pages")
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert width * height <= MAX_PIXELS and abs(width / height - 2) < 0.01, (width, height)


def test_page_view_and_missing_files(tmp_path: Path) -> None:
    chunk = next(c for c in _chunks("onecol.pdf") if c.page == 2)
    view = page_view(PDFS / "onecol.pdf", 2, chunk.text, scale=1.0, cache_dir=tmp_path)
    assert (view.page, view.pages, view.width, view.height) == (2, 2, 612.0, 792.0) and view.boxes
    assert page_view(PDFS / "onecol.pdf", 1, chunk.text, scale=1.0, cache_dir=tmp_path).boxes == []
    assert find_page(PDFS / "onecol.pdf", chunk.text) == 2
    with pytest.raises(PdfViewError, match="no page 3"):
        page_view(PDFS / "onecol.pdf", 3, chunk.text, scale=1.0, cache_dir=tmp_path)
    gone = tmp_path / "moved.pdf"
    with pytest.raises(PdfViewError, match="moved.pdf.*no longer there"):
        page_view(gone, 1, chunk.text, scale=1.0, cache_dir=tmp_path)
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(b"%PDF-1.4 not really")
    with pytest.raises(PdfViewError, match="bad.pdf: cannot open"):
        passage_boxes(bad, 1, chunk.text)


def test_the_page_travels_from_evidence_to_the_numbered_sources() -> None:
    from assistant.answers.citations import number_sources
    from assistant.library.pages import page_number, page_of
    from assistant.models import Evidence, PaperHit

    paper = Paper(id="p1", title="A paper")
    evidence = [Evidence(chunk_id="p1::h::3", paper_id="p1", text="Banded attention.", section="3.2 Attention", page=4)]
    hit = PaperHit(paper=paper, score=1.0, evidence=evidence)
    cited = number_sources([hit])[0].citation()  # the LLM path's sources
    assert (cited.page, cited.section) == (4, "3.2 Attention")
    assert page_of(hit, "p1::h::3") == 4 and page_of(hit, "other") is None
    assert [page_number(v) for v in (3, 3.0, 0, -1, None, "3", True)] == [3, 3, None, None, None, None, None]
