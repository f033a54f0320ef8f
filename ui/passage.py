"""The citation view: the cited passage where it stands in its paper.

A source from a PDF still on disk shows its page as an image with the cited chunk's words boxed
(ingest/pdf_pages.py renders the page and computes the boxes; the rectangles are drawn over the
image as absolutely positioned elements in percent), "page N of M · §section", and buttons to the
previous and next page. Any other source shows its abstract with the sentences the answer quotes
from it marked. A PDF that is gone or unreadable falls back to the text with one caption line.
Below either, the exact chunk text the answer used, as plain text.

The HTML built here holds numbers, a base64 PNG and `html.escape`d paper text only, and goes
through `st.html` (which sanitizes it again with DOMPurify and never runs scripts); it is not
Markdown, so nothing in a paper can turn into a link or an image.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

import streamlit as st

from assistant.errors import PapersError, PdfViewError
from assistant.models import Citation, Paper
from assistant.text import cited_pieces as marker_pieces
from assistant.text import fold, md_escape, split_sentences
from ingest.pdf_layout import pdf_path
from ingest.pdf_pages import PageView, find_page, page_view
from ui import render, state

MIN_QUOTE = 20  # folded characters: shorter pieces ("Yes", "It does") would mark sentences by accident


def cited_pieces(answer: str, n: int) -> list[str]:
    """The pieces of an answer that cite source `n` (the text before each of its [n] markers, read by
    the one marker parser: "[1-3]" cites 2 too)."""
    out: list[str] = []
    for piece, nums in marker_pieces(answer):
        if n in nums:
            # Only the piece's own line and sentence: a bullet or an earlier sentence is not this claim.
            line = piece.rsplit("\n", 1)[-1].lstrip(" -*\u2022")
            sentences = split_sentences(line)
            if sentences:
                out.append(sentences[-1])
    return out


def marked_sentences(abstract: str, quoted: list[str]) -> list[tuple[str, bool]]:
    """The abstract's sentences, each with whether a quoted piece and it contain one another."""
    folded = [fold(q)[0] for q in quoted]
    folded = [q for q in folded if len(q) >= MIN_QUOTE]
    out: list[tuple[str, bool]] = []
    for sentence in split_sentences(abstract):
        f = fold(sentence)[0]
        hit = len(f) >= MIN_QUOTE and any(f in q or q in f for q in folded)
        out.append((sentence, hit))
    return out


def abstract_html(sentences: list[tuple[str, bool]]) -> str:
    parts = [f"<mark>{html.escape(s)}</mark>" if hit else html.escape(s) for s, hit in sentences]
    return f'<div class="pp-abstract" style="line-height:1.6">{" ".join(parts)}</div>'


def overlay_html(view: PageView, title: str) -> str:
    """The page image with the cited words boxed over it; every box carries its page fractions."""
    src = "data:image/png;base64," + base64.b64encode(view.png).decode("ascii")
    alt = html.escape(f"Page {view.page} of {view.pages}: {title}", quote=True)
    boxes = "".join(
        f'<div class="pp-box" data-x="{b.x}" data-y="{b.y}" data-w="{b.w}" data-h="{b.h}" style="position:absolute;'
        f"left:{b.x * 100:.3f}%;top:{b.y * 100:.3f}%;width:{b.w * 100:.3f}%;height:{b.h * 100:.3f}%;"
        'background:rgba(255,200,0,0.35);outline:1px solid rgba(220,140,0,0.9);pointer-events:none"></div>'
        for b in view.boxes
    )
    return (
        f'<div class="pp-page" data-page="{view.page}" style="position:relative;width:100%;max-width:900px;'
        f'line-height:0;border:1px solid rgba(128,128,128,0.4)">'
        f'<img class="pp-img" alt="{alt}" src="{src}" style="width:100%;height:auto;display:block">{boxes}</div>'
    )


@st.cache_data(max_entries=64, show_spinner=False)
def _page_html(
    path: str, mtime_ns: int, page: int, chunk: str, title: str, scale: float, cache: str
) -> tuple[str, int, int]:
    """(overlay HTML, pages in the PDF, boxes on this page); `mtime_ns` only keys the cache."""
    view = page_view(Path(path), page, chunk, scale=scale, cache_dir=Path(cache))
    return overlay_html(view, title), view.pages, len(view.boxes)


@st.cache_data(max_entries=256, show_spinner=False)
def _find_page(path: str, mtime_ns: int, chunk: str) -> int | None:
    """The page of a chunk stored without one (an older library), read once per file version."""
    return find_page(Path(path), chunk)


def _page_key(key: str) -> str:
    return f"pdfpage-{key}"


def _turn_page(key: str, step: int, pages: int) -> None:
    st.session_state[_page_key(key)] = min(pages, max(1, int(st.session_state[_page_key(key)]) + step))


def pdf_view(c: Citation, path: Path, key: str) -> None:
    """The cited page (or the one the reader turned to) with the chunk's words boxed; PdfViewError if it cannot be."""
    if not path.is_file():
        raise PdfViewError(f"{path.name}: the PDF is no longer at {path.parent} (moved or deleted)")
    s = state.settings()
    start = c.page or _find_page(str(path), path.stat().st_mtime_ns, c.text)
    if start is None:
        raise PdfViewError(f"{path.name}: the cited text was not found in the PDF")
    page = int(st.session_state.setdefault(_page_key(key), start))
    body, pages, n_boxes = _page_html(
        str(path), path.stat().st_mtime_ns, page, c.text, c.title, s.pdf_page_scale, str(s.data_dir / "cache" / "pages")
    )
    where = f" · {md_escape(render.section_label(c.section))}" if c.section else ""
    note = "cited passage highlighted" if n_boxes else f"the cited passage starts on page {start}"
    cols = st.columns([3, 1, 1], vertical_alignment="center")
    cols[0].caption(f"Page {page} of {pages}{where} · {note}")
    cols[1].button(
        "Previous", icon=":material/chevron_left:", key=f"pdfprev-{key}", disabled=page <= 1, help="Previous page",
        on_click=_turn_page, args=(key, -1, pages), width="stretch",
    )  # fmt: skip
    cols[2].button(
        "Next", icon=":material/chevron_right:", key=f"pdfnext-{key}", disabled=page >= pages, help="Next page",
        on_click=_turn_page, args=(key, 1, pages), width="stretch",
    )  # fmt: skip
    st.html(body)


def abstract_view(c: Citation, paper: Paper, answer: str) -> None:
    sentences = marked_sentences(paper.abstract, cited_pieces(answer, c.n))
    if not any(hit for _, hit in sentences) and fold(c.text)[0] != fold(paper.abstract)[0]:
        sentences = marked_sentences(paper.abstract, [c.text])  # the cited chunk is one part of the abstract
    marked = sum(hit for _, hit in sentences)
    st.caption(
        f"The abstract, {marked} cited sentence{'s' if marked != 1 else ''} highlighted:"
        if marked
        else "The abstract (the answer does not quote it word for word):"
    )
    st.html(abstract_html(sentences))


def show(c: Citation, key: str, answer: str = "", expanded: bool = True) -> None:
    """An expander's body: header, the passage in place (only while open: it renders a page), the exact text."""
    render.paper_header(c.title, c.authors, c.year, c.url, key)
    if expanded:
        found = state.engine().papers([c.id])
        paper = found[0] if found else None
        path = pdf_path(paper) if paper else None
        try:
            if path is not None:
                pdf_view(c, path, key)
            elif paper is not None and paper.source.lower().endswith(".pdf"):  # an upload: the file was not kept
                name = md_escape(render.source_name(paper.source))
                st.caption(f":material/info: {name} was uploaded and only its text is kept; the cited text:")
            elif paper is not None and paper.abstract.strip() and not c.section:  # cited from the abstract
                abstract_view(c, paper, answer)
        except PapersError as exc:
            st.caption(f":material/info: {md_escape(str(exc))}; showing the cited text instead.")
    render.source_text(c)
