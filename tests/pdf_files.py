"""Real PDF files for the loader tests: written with fpdf2 and pypdf, or byte by byte for the hostile ones."""

from __future__ import annotations

import zlib
from pathlib import Path

from fpdf import FPDF

INTRO = (
    "Partial differential equations describe many physical systems, and solving them numerically is expensive. "
    "Neural surrogates promise faster predictions but drift over long rollouts. "
)
SECTIONS = [
    ("1 Introduction", INTRO * 10),
    ("2 Related Work", "Fourier neural operators and message passing solvers learn the time stepping map. " * 4),
    ("3 Method", "Our refinement process denoises each prediction in a few steps with decreasing noise. " * 4),
    ("4 Results", "Refined rollouts stay accurate for three times longer on Kolmogorov flow. " * 4),
    ("5 Conclusion", "Spectral refinement is a cheap way to stabilise autoregressive neural solvers. " * 3),
]
ABSTRACT = (
    "Neural solvers for time-dependent partial differential equations lose accuracy over long rollouts. "
    "We show that neglected high-frequency components cause this drift and introduce spectral refinement, "
    "which restores them with a short denoising process."
)
REFERENCES = [
    "[1] Z. Li, N. Kovachki, K. Azizzadenesheli. Fourier neural operator for parametric PDEs. ICLR 2021.",
    "[2] J. Brandstetter, D. Worrall, M. Welling. Message passing neural PDE solvers. ICLR 2022.",
]
TITLE = "Spectral Refinement for Long Neural PDE Rollouts"


def _doc(title_meta: str = "", author_meta: str = "") -> FPDF:
    pdf = FPDF()
    if title_meta:
        pdf.set_title(title_meta)
    if author_meta:
        pdf.set_author(author_meta)
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_page()
    return pdf


def _para(pdf: FPDF, text: str, size: int = 11, style: str = "") -> None:
    pdf.set_font("helvetica", style, size)
    pdf.multi_cell(0, 6, text, new_x="LMARGIN", new_y="NEXT")


def paper_pdf(path: Path, *, abstract_heading: bool = True, title_meta: str = "", author_meta: str = "",
              first_page_id: str = "arXiv:2308.05732v2 [cs.LG] 10 Aug 2023") -> Path:
    """A two-page paper: title, authors, id stamp, Abstract, five numbered sections, References."""
    pdf = _doc(title_meta, author_meta)
    _para(pdf, TITLE, 16, "B")
    _para(pdf, "Ada Lovelace, Alan Turing")
    if first_page_id:
        _para(pdf, first_page_id)
    if abstract_heading:
        _para(pdf, "Abstract", 13, "B")
        _para(pdf, ABSTRACT)
    for i, (heading, body) in enumerate(SECTIONS):
        if i == 3:
            pdf.add_page()
        _para(pdf, heading, 13, "B")
        _para(pdf, body)
    _para(pdf, "References", 13, "B")
    for ref in REFERENCES:
        _para(pdf, ref)
    pdf.output(str(path))
    return path


def pages_pdf(path: Path, n: int) -> Path:
    """n pages, page i saying "This is page number i of the document." (for the page cap)."""
    pdf = _doc()
    for i in range(1, n + 1):
        if i > 1:
            pdf.add_page()
        _para(pdf, f"Marker page{i} text. This is page number {i} of the document, with enough words to count.")
    pdf.output(str(path))
    return path


def image_only_pdf(path: Path) -> Path:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (600, 300), "white")
    ImageDraw.Draw(img).rectangle((40, 40, 560, 260), outline="black", width=6)
    pdf = _doc()
    pdf.image(img, x=10, y=10, w=180)
    pdf.output(str(path))
    return path


def encrypted_pdf(src: Path, path: Path, user_password: str) -> Path:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(str(src)))
    # RC4-128: pypdf can write and read it without the optional cryptography package.
    writer.encrypt(user_password=user_password, owner_password="owner-secret", algorithm="RC4-128")
    writer.write(str(path))
    return path


def build_pdf(objs: list[bytes], trailer_extra: bytes = b"") -> bytes:
    """Objects 1..n with a correct xref table; object 1 is the catalog."""
    out = b"%PDF-1.4\n"
    offsets = []
    for i, obj in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R %s>>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, trailer_extra, xref)
    return out


def raw_pdf(content: bytes) -> bytes:
    """A minimal valid one-page PDF whose page content stream is `content` (Flate-compressed)."""
    stream = zlib.compress(content, 9)
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    return build_pdf(objs)


_SHOW = b"BT /F1 12 Tf 72 712 Td (Hello world) Tj ET\n"


def bomb_pdf(path: Path, megabytes: int = 70) -> Path:
    """~200 KB on disk that inflates to `megabytes` MB of content (under pypdf's own 75 MB stream cap)."""
    path.write_bytes(raw_pdf(_SHOW * (megabytes * 1_000_000 // len(_SHOW))))
    return path


def slow_pdf(path: Path) -> Path:
    """A 5 MB content stream of text operators: seconds of pure-Python parsing."""
    path.write_bytes(raw_pdf(_SHOW * (5_000_000 // len(_SHOW))))
    return path


def corrupt_pdf(path: Path) -> Path:
    """PDF header and EOF marker around bytes that are no PDF objects."""
    path.write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 8 + b"\nstartxref\n999999\n%%EOF\n")
    return path
