"""One PDF page for the citation view: rendered as PNG (cached on disk), and the boxes of a cited chunk's words.

PDFium (pypdfium2, Apache-2.0/BSD) renders and gives every character's position; the chunk's text is
matched to the page's characters by assistant/library/pages.py (folded text, tolerant of hyphenation,
ligatures and spacing), and PDFium merges each matched run into one rectangle per line.

Everything happens on demand, when a citation is opened: a page is rendered once per file version
and scale (the cache key is the file's path, size and mtime), under `data_dir/cache/pages/`. A file
that is gone, moved or unreadable is one `PdfViewError` line, never a traceback.

Box coordinates are fractions of the page (0..1, origin top left), so they fit the image at any
scale and the browser can lay them over it in percent.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.errors import PdfViewError
from assistant.library.pages import assign_pages, matched_positions, runs

MAX_PIXELS = 16_000_000  # one rendered page at most: a letter page at scale 1.5 is 1.1 million
# PDFium is not thread-safe: Streamlit runs each session's script in its own thread.
_PDFIUM = threading.Lock()


@dataclass(frozen=True)
class Box:
    """A highlight rectangle as fractions of the page: left, top, width, height (origin top left)."""

    x: float
    y: float
    w: float
    h: float


@dataclass(frozen=True)
class PageView:
    page: int  # 1-based
    pages: int
    width: float  # points
    height: float
    png: bytes
    boxes: list[Box] = field(default_factory=list)


@contextlib.contextmanager
def _document(path: Path) -> Iterator[Any]:
    import pypdfium2 as pdfium

    if not path.is_file():
        raise PdfViewError(f"{path}: the PDF is no longer there (moved or deleted)")
    with _PDFIUM:
        try:
            doc = pdfium.PdfDocument(str(path))
        except pdfium.PdfiumError as exc:
            raise PdfViewError(f"{path}: cannot open the PDF: {exc}") from exc
        try:
            yield doc
        finally:
            doc.close()


def _page(doc: Any, path: Path, page: int) -> Any:
    if not 1 <= page <= len(doc):
        raise PdfViewError(f"{path}: no page {page} (the PDF has {len(doc)})")
    return doc[page - 1]


def cache_key(path: Path) -> str:
    """Changes when the file does: its resolved path, size and modification time."""
    st = path.stat()
    return hashlib.sha1(f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()[:16]


def page_count(path: Path) -> int:
    with _document(path) as doc:
        return len(doc)


def page_text(doc: Any, index: int) -> tuple[str, Any]:
    """(the page's text as PDFium reads it, one character per character index; its text page)."""
    textpage = doc[index].get_textpage()
    return textpage.get_text_range(), textpage


def boxes_on(pg: Any, textpage: Any, text: str, chunk: str) -> list[Box]:
    """The rectangles over `chunk`'s words on one page (empty when it is not there).

    Character positions are in page space; the image shows the crop box, so boxes are taken
    relative to it. A rotated page gets no boxes (its image is shown unmarked) rather than wrong ones.
    """
    if pg.get_rotation() % 360:
        return []
    x0, y0, x1, y1 = pg.get_cropbox()
    out: list[Box] = []
    for start, end in runs(matched_positions(chunk, text), text):
        for i in range(textpage.count_rects(start, end - start)):
            left, bottom, right, top = textpage.get_rect(i)
            out.append(_fraction(left - x0, bottom - y0, right - x0, top - y0, x1 - x0, y1 - y0))
    return out


def _fraction(left: float, bottom: float, right: float, top: float, width: float, height: float) -> Box:
    def clamp(v: float) -> float:
        return min(1.0, max(0.0, v))

    x0, x1 = clamp(left / width), clamp(right / width)
    y0, y1 = clamp((height - top) / height), clamp((height - bottom) / height)
    return Box(round(x0, 5), round(y0, 5), round(x1 - x0, 5), round(y1 - y0, 5))


def passage_boxes(path: Path, page: int, chunk: str) -> list[Box]:
    """The highlight boxes of `chunk` on page `page` (1-based) of the PDF at `path`."""
    with _document(path) as doc:
        pg = _page(doc, path, page)
        text, textpage = page_text(doc, page - 1)
        return boxes_on(pg, textpage, text, chunk)


def find_page(path: Path, chunk: str) -> int | None:
    """The page a chunk starts on, read from the PDF itself (a chunk stored before pages were kept)."""
    with _document(path) as doc:
        texts = [page_text(doc, i)[0] for i in range(len(doc))]
    return assign_pages([chunk], texts)[0]


def render_png(path: Path, page: int, scale: float, cache_dir: Path) -> bytes:
    """Page `page` of the PDF as PNG at `scale` (1 = 72 dpi), rendered once and kept in `cache_dir`."""
    import pypdfium2 as pdfium

    if not path.is_file():
        raise PdfViewError(f"{path}: the PDF is no longer there (moved or deleted)")
    target = cache_dir / cache_key(path) / f"p{page}-x{scale:g}.png"
    with contextlib.suppress(OSError):
        return target.read_bytes()
    with _document(path) as doc:
        pg = _page(doc, path, page)
        width, height = pg.get_size()
        # A poster-sized page would be gigabytes at the usual scale: it is drawn smaller instead.
        fit = min(scale, 0.999 * (MAX_PIXELS / max(1.0, width * height)) ** 0.5)  # 0.999: sizes round up
        try:
            image = pg.render(scale=fit).to_pil()
        except (pdfium.PdfiumError, MemoryError, ValueError) as exc:
            raise PdfViewError(f"{path}: cannot render page {page}: {exc or type(exc).__name__}") from exc
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=True)
    data = buf.getvalue()
    with contextlib.suppress(OSError):  # a read-only data dir only costs the cache
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_bytes(data)
        tmp.replace(target)
    return data


def page_view(path: Path, page: int, chunk: str, *, scale: float, cache_dir: Path) -> PageView:
    """Everything the citation view shows of one page: the image, its size, the chunk's boxes on it."""
    png = render_png(path, page, scale, cache_dir)
    with _document(path) as doc:
        pg = _page(doc, path, page)
        width, height = pg.get_size()
        text, textpage = page_text(doc, page - 1)
        boxes = boxes_on(pg, textpage, text, chunk)
        return PageView(page=page, pages=len(doc), width=width, height=height, png=png, boxes=boxes)
