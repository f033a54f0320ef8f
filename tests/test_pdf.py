"""PDF loader on real files: structure of a paper, hostile files, and the child's time/memory/page limits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from assistant.models import LoadError, Paper
from assistant.settings import Settings
from ingest.sources.pdf import load_pdf
from tests import pdf_files as pf


def _settings(**kw: Any) -> Settings:
    return Settings(_env_file=None, **kw)  # type: ignore[call-arg]


def _one(path: Path, settings: Settings | None = None) -> Paper | LoadError:
    items = list(load_pdf(path, settings or _settings()))
    assert len(items) == 1, items
    return items[0]


def test_multi_section_paper(tmp_path: Path) -> None:
    paper = _one(pf.paper_pdf(tmp_path / "refine.pdf"))
    assert isinstance(paper, Paper), paper
    assert paper.title == pf.TITLE  # no metadata title: taken from the first heading line
    assert paper.abstract == pf.ABSTRACT
    assert [s.heading for s in paper.sections] == [h for h, _ in pf.SECTIONS]
    for section, (_, body) in zip(paper.sections, pf.SECTIONS):
        assert section.text == body.strip()
    # The references section is not part of the body, and the author line is not body text either.
    assert "Fourier neural operator for parametric PDEs" not in paper.full_text
    assert "Ada Lovelace" not in paper.full_text
    assert (paper.id, paper.arxiv_id, paper.year) == ("arxiv:2308.05732", "2308.05732", 2023)
    assert paper.url == "https://arxiv.org/abs/2308.05732"
    assert paper.source == str(tmp_path / "refine.pdf")


def test_metadata_title_doi_and_abstract_from_first_paragraphs(tmp_path: Path) -> None:
    path = pf.paper_pdf(
        tmp_path / "meta.pdf",
        abstract_heading=False,
        title_meta="Spectral Refinement (Journal Version)",
        author_meta="Ada Lovelace; Alan Turing",
        first_page_id="Journal of Surrogates, https://doi.org/10.1234/jos.2024.0042.",
    )
    paper = _one(path)
    assert isinstance(paper, Paper), paper
    assert paper.title == "Spectral Refinement (Journal Version)"
    assert paper.authors == ["Ada Lovelace", "Alan Turing"]
    assert (paper.id, paper.doi, paper.arxiv_id) == ("doi:10.1234/jos.2024.0042", "10.1234/jos.2024.0042", "")
    # No "Abstract" heading: the opening sentences of the introduction stand in, without being
    # repeated in the body.
    assert paper.abstract.startswith("Partial differential equations describe many physical systems")
    assert 200 < len(paper.abstract) <= 1500
    intro = paper.sections[0]
    assert intro.heading == "1 Introduction"
    assert (paper.abstract + " " + intro.text) == pf.SECTIONS[0][1].strip()


def test_password_free_encryption_is_read(tmp_path: Path) -> None:
    """Encrypted only to restrict permissions (empty user password): readable, so read it."""
    src = pf.paper_pdf(tmp_path / "plain.pdf")
    paper = _one(pf.encrypted_pdf(src, tmp_path / "perm.pdf", user_password=""))
    assert isinstance(paper, Paper), paper
    assert paper.abstract == pf.ABSTRACT


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda d: (d / "zero.pdf", (d / "zero.pdf").write_bytes(b""))[0], "empty file (0 bytes)"),
        (lambda d: (d / "page.pdf", (d / "page.pdf").write_text("<html>a web page</html>"))[0], "not a PDF file"),
        (lambda d: pf.corrupt_pdf(d / "corrupt.pdf"), "corrupt PDF"),
        (lambda d: pf.image_only_pdf(d / "scan.pdf"), "no extractable text in 1 page(s)"),
        (
            lambda d: pf.encrypted_pdf(pf.paper_pdf(d / "src.pdf"), d / "locked.pdf", "secret"),
            "encrypted PDF: it needs a password",
        ),
    ],
    ids=["zero-bytes", "not-a-pdf", "corrupt", "image-only", "password"],
)
def test_unreadable_pdfs_give_one_clear_error(tmp_path: Path, make, expected: str) -> None:  # type: ignore[no-untyped-def]
    path = make(tmp_path)
    err = _one(path)
    assert isinstance(err, LoadError), err
    assert err.source == str(path)
    assert expected in err.message


def test_truncated_pdf(tmp_path: Path) -> None:
    full = pf.paper_pdf(tmp_path / "full.pdf").read_bytes()
    cut = tmp_path / "cut.pdf"
    cut.write_bytes(full[: len(full) * 2 // 3])
    err = _one(cut)
    assert isinstance(err, LoadError)
    assert "truncated PDF" in err.message


def test_compression_bomb_hits_the_memory_limit(tmp_path: Path) -> None:
    err = _one(pf.bomb_pdf(tmp_path / "bomb.pdf"), _settings(pdf_memory_mb=64))
    assert isinstance(err, LoadError)
    assert "exceeded the memory limit of 64 MB" in err.message


def test_slow_pdf_hits_the_time_limit(tmp_path: Path) -> None:
    err = _one(pf.slow_pdf(tmp_path / "slow.pdf"), _settings(pdf_timeout_s=1.0))
    assert isinstance(err, LoadError)
    assert "exceeded the time limit of 1s" in err.message


def test_page_cap(tmp_path: Path) -> None:
    path = pf.pages_pdf(tmp_path / "pages.pdf", 4)
    capped = _one(path, _settings(pdf_max_pages=2))
    whole = _one(path)
    assert isinstance(capped, Paper) and isinstance(whole, Paper)
    assert "page2" in capped.full_text + capped.title and "page3" not in capped.full_text
    assert "page4" in whole.full_text
