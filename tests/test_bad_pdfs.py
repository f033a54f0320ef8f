"""A generated corpus of hostile PDFs, ingested as one directory next to good files.

Each bad PDF must end as one clear per-file error, or as a correct, bounded parse; the good files in
the same directory still go in; nothing hangs (pytest-timeout) and the ingesting process does not
grow (parsing happens in the limited child of ingest/sources/pdf.py).
"""

from __future__ import annotations

import json
import resource
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest

from assistant.library.ingestion import collect, write_papers
from assistant.library.library import Library
from assistant.models import IngestReport, LoadError, Paper
from assistant.settings import Settings, get_settings
from ingest.sources import load_path
from tests import compass
from tests import pdf_files as pf

# --- building PDFs byte by byte --------------------------------------------------------------------
FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
CATALOG = b"<< /Type /Catalog /Pages 2 0 R >>"


build_pdf = pf.build_pdf


def text_ops(sentence: str) -> bytes:
    return b"BT /F1 12 Tf 72 712 Td (" + sentence.encode() + b") Tj ET"


def plain_stream(data: bytes, extra: bytes = b"") -> bytes:
    return b"<< /Length %d %s>>\nstream\n" % (len(data), extra) + data + b"\nendstream"


def page(resources: bytes = b"") -> bytes:
    return (
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> " + resources + b">> >>"
    )


def one_page(sentence: str, pages: bytes = b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>") -> list[bytes]:
    return [CATALOG, pages, page(), plain_stream(text_ops(sentence)), FONT]


def _adler32_of_run(n: int, byte: int) -> int:
    """Adler-32 of `n` copies of one byte, in closed form (checksumming 2 GiB would take seconds)."""
    a = (1 + n * byte) % 65521
    b = (n + byte * n * (n + 1) // 2) % 65521
    return (b << 16) | a


def flate_bomb(n_blocks: int = 128) -> bytes:
    """A valid zlib stream of about 1 KB per 1 MiB it inflates to: by default 2 MB → 2 GiB of spaces.

    After a full flush a deflate compressor restarts from scratch, so the compressed form of each
    identical 16 MiB block is the same bytes: one block is compressed and repeated.
    """
    block = b" " * (16 << 20)
    z = zlib.compressobj(9)
    first = z.compress(block) + z.flush(zlib.Z_FULL_FLUSH)
    again = z.compress(block) + z.flush(zlib.Z_FULL_FLUSH)
    end = z.flush()[:-4]  # the final empty block; its checksum covers only what z saw
    return first + again * (n_blocks - 1) + end + _adler32_of_run(n_blocks * len(block), 32).to_bytes(4, "big")


def test_flate_bomb_is_what_it_claims() -> None:
    """The generator itself: a correct zlib stream (checked on a small one) at 1000:1."""
    assert len(flate_bomb()) < 2_200_000
    small = flate_bomb(4)
    d = zlib.decompressobj()
    total = 0
    data = small
    while data:
        total += len(d.decompress(data, 64 << 20))
        data = d.unconsumed_tail
    assert total == 64 << 20 and d.eof  # eof: the Adler-32 trailer matched


# --- the corpus ------------------------------------------------------------------------------------
def _truncated(d: Path) -> Path:
    full = pf.paper_pdf(d / "full-source.tmp").read_bytes()
    (d / "full-source.tmp").unlink()
    (d / "truncated.pdf").write_bytes(full[: len(full) // 2])
    return d / "truncated.pdf"


def _write(name: str, data: bytes) -> Callable[[Path], Path]:
    def make(d: Path) -> Path:
        (d / name).write_bytes(data)
        return d / name

    return make


def _encrypted(d: Path) -> Path:
    src = pf.paper_pdf(d / "plain-source.tmp")
    out = pf.encrypted_pdf(src, d / "encrypted.pdf", "secret")
    src.unlink()
    return out


XOBJ_TEXT = text_ops("Forms that draw themselves are skipped after one round") + b" /X Do"
_XOBJ_FORM = (
    b"<< /Type /XObject /Subtype /Form /BBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >>"
    b" /XObject << /X 6 0 R >> >> /Length %d >>\nstream\n" % len(XOBJ_TEXT) + XOBJ_TEXT + b"\nendstream"
)


def _prev_loop() -> bytes:
    data = build_pdf(one_page("An xref section whose Prev points at itself is read once"))
    xref_at = int(data.rsplit(b"startxref\n", 1)[1].split(b"\n")[0])
    return data.replace(b"/Root 1 0 R >>", b"/Root 1 0 R /Prev %d >>" % xref_at)


# name -> (builder, expected error fragment, or None with the text a bounded parse must find)
ERR, OK = "error", "ok"
CORPUS: dict[str, tuple[Callable[[Path], Path], str, str]] = {
    "zero bytes": (_write("zero.pdf", b""), ERR, "empty file (0 bytes)"),
    "truncated": (_truncated, ERR, "truncated PDF"),
    "HTML named .pdf": (_write("page.pdf", b"<!doctype html><html><body>Not found</body></html>"), ERR, "not a PDF"),
    "ZIP named .pdf": (_write("archive.pdf", b"PK\x03\x04" + bytes(200)), ERR, "not a PDF"),
    "header only": (_write("header.pdf", b"%PDF-1.7\n%%EOF\n"), ERR, "corrupt PDF"),
    "encrypted": (_encrypted, ERR, "encrypted PDF: it needs a password"),
    "image-only": (lambda d: pf.image_only_pdf(d / "scan.pdf"), ERR, "no extractable text in 1 page(s)"),
    "compression bomb (2 GiB)": (
        _write("bomb.pdf", build_pdf([CATALOG, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>", page(),
                                      plain_stream(flate_bomb(), b"/Filter /FlateDecode "), FONT])),
        ERR,
        "compression bomb",
    ),
    "pages tree loop (Kids holds itself)": (
        _write("kids-loop.pdf", build_pdf(one_page("Never read", b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >>"))),
        ERR,
        "cyclic page references",
    ),
    "pages tree cycle of two nodes": (
        _write(
            "pages-cycle.pdf",
            build_pdf(
                one_page("Never read", b"<< /Type /Pages /Kids [6 0 R] /Count 1 >>")
                + [b"<< /Type /Pages /Parent 2 0 R /Kids [2 0 R] /Count 1 >>"]
            ),
        ),
        ERR,
        "cyclic page references",
    ),
    "stream Length refers to itself": (
        _write(
            "length-loop.pdf",
            build_pdf([CATALOG, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>", page(),
                       b"<< /Length 4 0 R >>\nstream\n" + text_ops("Never read") + b"\nendstream", FONT]),
        ),
        ERR,
        "circular object references",
    ),
    "object graph referencing itself": (
        _write(
            "self-ref.pdf",
            build_pdf(
                [b"<< /Type /Catalog /Pages 2 0 R /Self 1 0 R /Loop 6 0 R >>"]
                + one_page("A catalog that refers to itself still has readable pages")[1:]
                + [b"6 0 R"]
            ),
        ),
        OK,
        "A catalog that refers to itself still has readable pages",
    ),
    "form XObject drawing itself": (
        _write(
            "xobject-loop.pdf",
            build_pdf(
                [CATALOG, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>", page(b"/XObject << /X 6 0 R >> "),
                 plain_stream(XOBJ_TEXT), FONT, _XOBJ_FORM]
            ),
        ),
        OK,
        "Forms that draw themselves are skipped after one round",
    ),
    "xref Prev loop": (
        _write("prev-loop.pdf", _prev_loop()),
        OK,
        "An xref section whose Prev points at itself is read once",
    ),
    "absurd page count": (
        _write(
            "count.pdf",
            build_pdf(
                one_page(
                    "A page tree claiming a billion pages has one",
                    b"<< /Type /Pages /Kids [3 0 R] /Count 1000000000 >>",
                )
            ),
        ),
        OK,
        "A page tree claiming a billion pages has one",
    ),
    "1,000 pages": (lambda d: pf.pages_pdf(d / "thousand.pdf", 1000), OK, "This is page number 1000 of the document"),
}


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.mark.timeout(180)
@pytest.mark.slow
def test_bad_pdf_directory_ingests_the_rest(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    corpus = tmp_path / "incoming"
    corpus.mkdir()
    made = {name: make(corpus) for name, (make, _, _) in CORPUS.items()}
    pf.paper_pdf(corpus / "good.pdf")
    good = {"id": "good:jsonl", "title": "A good record beside bad PDFs", "abstract": "It still goes in."}
    (corpus / "good.jsonl").write_text(json.dumps(good) + "\n")
    assert {p.name for p in corpus.iterdir()} == {p.name for p in made.values()} | {"good.pdf", "good.jsonl"}
    # A tight but sufficient budget: the 1,000-page file parses well within it, the bomb does not.
    settings = get_settings().model_copy(update={"pdf_memory_mb": 256, "pdf_timeout_s": 60})
    library = Library(settings)
    report = IngestReport()
    before = _rss_mb()
    papers = collect(load_path(corpus, settings), report)  # what ingest() does, with the reading measured alone
    grown = _rss_mb() - before
    write_papers(papers, library, lambda: embedder, settings, report)

    errors = {Path(e.source).name: e for e in report.errors}
    for name, (_, outcome, expect) in CORPUS.items():
        fname = made[name].name
        if outcome == ERR:
            assert fname in errors, (name, report.errors)
            assert expect in errors[fname].message, (name, errors[fname].message)
            assert "Traceback" not in errors[fname].message and len(errors[fname].message) < 300
        else:
            assert fname not in errors, (name, errors.get(fname))
    assert len(report.errors) == sum(1 for _, o, _ in CORPUS.values() if o == ERR)
    n_ok = sum(1 for _, o, _ in CORPUS.values() if o == OK)
    assert report.added == n_ok + 2, report  # the bounded parses and both good files
    by_source = {Path(p.source.split(":")[0]).name: p for p in library.papers()}
    assert by_source["good.pdf"].title == pf.TITLE and by_source["good.pdf"].abstract == pf.ABSTRACT
    assert by_source["good.jsonl"].title == "A good record beside bad PDFs"
    for name, (_, outcome, expect) in CORPUS.items():
        if outcome == OK:
            paper = by_source[made[name].name]
            stored = " ".join([paper.title, paper.abstract] + [t for _, t in library.chunks_of(paper.id)])
            assert expect in stored, name
    assert library.count() == n_ok + 2
    library.close()
    # The bomb inflated inside the child, never here.
    assert grown < 300, f"the ingesting process grew by {grown:.0f} MB"
    compass.record("bad inputs tried", len(CORPUS), f"{len(CORPUS)} hostile PDFs")


def test_thousand_pages_capped_by_pages_and_characters(tmp_path: Path) -> None:
    """(Read in full in the directory test above.)"""
    path = pf.pages_pdf(tmp_path / "thousand.pdf", 1000)
    capped = list(load_path(path, Settings(_env_file=None, pdf_max_pages=10, max_paper_chars=1000)))  # type: ignore[call-arg]
    assert isinstance(capped[0], Paper), capped
    assert len(capped[0].full_text) <= 1000 and "page number 11 of" not in capped[0].full_text


def test_bomb_under_a_small_memory_budget_is_a_clear_error(tmp_path: Path) -> None:
    """Whichever limit trips first (pypdf's own output cap or the child's address-space limit), the
    result is one readable error for that file."""
    path = tmp_path / "bomb.pdf"
    path.write_bytes(
        build_pdf([CATALOG, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>", page(),
                   plain_stream(flate_bomb(), b"/Filter /FlateDecode "), FONT])
    )
    out = list(load_path(path, Settings(_env_file=None, pdf_memory_mb=64)))  # type: ignore[call-arg]
    assert len(out) == 1 and isinstance(out[0], LoadError), out
    assert "compression bomb" in out[0].message or "memory limit of 64 MB" in out[0].message
