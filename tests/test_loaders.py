"""CSV, BibTeX, JSON array and directory loading on real files: exact counts, fields and error lines."""

from __future__ import annotations

import json
from pathlib import Path

from assistant.library.library import Library
from assistant.models import LoadError, Paper
from assistant.settings import Settings, get_settings
from ingest.sources import load_path
from ingest.sources.bibtex import bib_authors, load_bibtex
from ingest.sources.csv import load_csv
from tests import pdf_files as pf
from tests.support import ingest_files
from ui.cli.common import exit_code

HEADER = "id,title,abstract,authors,year,url,doi,arxiv_id,venue,tags,notes"


def _split(items: list[Paper | LoadError]) -> tuple[list[Paper], list[LoadError]]:
    return [i for i in items if isinstance(i, Paper)], [i for i in items if isinstance(i, LoadError)]


# -- CSV -------------------------------------------------------------------------------------------


def test_csv_good_and_bad_rows(tmp_path: Path) -> None:
    huge = "Spectral methods resolve turbulence. " * 8000  # ~300k characters, over csv's 128 KiB default
    assert len(huge) > 131072
    lines = [
        HEADER,
        # line 2-3: a quoted abstract that spans two physical lines
        'p1,PDE-Refiner,"Long rollouts of neural PDE solvers.\nA second line of the abstract.",'
        '"Phillip Lippe; Zoë Å",2023,https://arxiv.org/abs/2308.05732,,2308.05732,NeurIPS,'
        '"pde, diffusion",ignored',
        ",Café au lait kinetics,Milk foam dynamics in espresso drinks.,Jean Dupré,2021,,10.1000/CAFE.1,,,,",  # line 4
        ",,An abstract without a title.,,2020,,,,,,",  # line 5: no title
        ",Bad year,Some abstract.,,20x3,,,,,,",  # line 6
        ",Unquoted, comma,Some abstract.,,2022,,,,,,",  # line 7: one field too many
        "",  # line 8: blank, skipped
        f",Huge field,{huge},,2019,,,,,,",  # line 9
        ",Title only,,,2018,,,,,,",  # line 10: no abstract
    ]
    data = "\ufeff" + "\n".join(lines) + "\n"
    # Line 4 was pasted from a cp1252 spreadsheet; the rest is UTF-8.
    raw = data.encode("utf-8").replace(lines[2].encode("utf-8"), lines[2].encode("cp1252"))
    path = tmp_path / "papers.csv"
    path.write_bytes(raw)

    papers, errors = _split(list(load_csv(path)))
    assert [p.title for p in papers] == ["PDE-Refiner", "Café au lait kinetics", "Huge field"]
    assert [(e.line, e.source) for e in errors] == [(5, str(path)), (6, str(path)), (7, str(path)), (10, str(path))]
    assert "missing required field 'title'" in errors[0].message
    assert "'year'" in errors[1].message
    assert "has 12 fields but the header (line 1) has 11" in errors[2].message
    assert "'abstract'" in errors[3].message
    p1, cafe, big = papers
    assert p1.id == "p1" and p1.source == f"{path}:2"
    assert p1.abstract == "Long rollouts of neural PDE solvers. A second line of the abstract."
    assert p1.authors == ["Phillip Lippe", "Zoë Å"]
    assert (p1.year, p1.arxiv_id, p1.venue, p1.tags) == (2023, "2308.05732", "NeurIPS", ["pde", "diffusion"])
    assert cafe.id == "doi:10.1000/cafe.1" and cafe.source == f"{path}:4" and cafe.authors == ["Jean Dupré"]
    assert big.source == f"{path}:9" and big.abstract == huge.strip()


def test_csv_without_header_is_one_file_error(tmp_path: Path) -> None:
    path = tmp_path / "noheader.csv"
    path.write_text("Some title,Some abstract about things\nAnother title,Another abstract\n")
    items = list(load_csv(path))
    assert len(items) == 1 and isinstance(items[0], LoadError)
    assert items[0].line == 1 and "header" in items[0].message and "'title'" in items[0].message


def test_csv_semicolons_and_empty(tmp_path: Path) -> None:
    semi = tmp_path / "semi.csv"
    semi.write_text("title;abstract;year\nA semicolon paper;Exported by a spreadsheet, with commas.;2024\n")
    (paper,) = list(load_csv(semi))
    assert isinstance(paper, Paper)
    assert (paper.title, paper.abstract, paper.year) == (
        "A semicolon paper",
        "Exported by a spreadsheet, with commas.",
        2024,
    )
    empty = tmp_path / "empty.csv"
    empty.write_text("\n\n")
    (err,) = list(load_csv(empty))
    assert isinstance(err, LoadError) and err.message == "empty file"


# -- BibTeX ----------------------------------------------------------------------------------------

BIB = r"""% A bibliography with the usual mess
@string{neurips = "Advances in Neural Information Processing Systems"}

@inproceedings{lippe2023pderefiner,
  title     = {{PDE}-Refiner: Achieving Accurate Long Rollouts with Neural {PDE} Solvers},
  author    = {Lippe, Phillip and Veeling, Bastiaan S. and M{\"u}ller, J{\"o}rg and {Barnes and Noble} and others},
  booktitle = neurips,
  year      = {2023},
  eprint    = {2308.05732v3},
  archivePrefix = {arXiv},
  keywords  = {neural {PDE} solvers; diffusion models},
  abstract  = {Time-dependent partial differential equations (PDEs) are ubiquitous. We study
               {\'E}cole-style na\"{\i}ve rollouts of $\alpha$-stable solvers, with 50\% less \emph{drift}.}
}

@article{noabstract2020,
  title  = {A Paper With No Abstract},
  author = {Doe, Jane},
  year   = 2020,
}

@article{broken2021,
  title = {Unclosed brace,
  author = {Nobody},

@article{godel1931,
  title    = {{\"U}ber formal unentscheidbare S{\"a}tze},
  author   = {G{\"o}del, Kurt},
  journal  = {Monatshefte f{\"u}r Mathematik und Physik},
  year     = {1931},
  doi      = {https://doi.org/10.1007/BF01700692},
  url      = {https://example.org/g\_1931\%20paper},
  abstract = {Incompleteness of formal systems such as \textit{Principia Mathematica}.},
}

@misc{lippe2023pderefiner,
  title = {Duplicate key},
  abstract = {Same key as the first entry.},
}
"""


def test_bibtex_entries_errors_and_latex_cleaning(tmp_path: Path) -> None:
    path = tmp_path / "refs.bib"
    path.write_text(BIB, encoding="utf-8")
    items = list(load_bibtex(path))
    papers, errors = _split(items)
    assert len(items) == 5
    assert [p.title for p in papers] == [
        "PDE-Refiner: Achieving Accurate Long Rollouts with Neural PDE Solvers",
        "Über formal unentscheidbare Sätze",
    ]
    refiner, godel = papers
    assert refiner.authors == ["Phillip Lippe", "Bastiaan S. Veeling", "Jörg Müller", "Barnes and Noble"]
    assert refiner.abstract == (
        "Time-dependent partial differential equations (PDEs) are ubiquitous. We study "
        "École-style naïve rollouts of α-stable solvers, with 50% less drift."
    )
    assert (refiner.id, refiner.arxiv_id, refiner.year) == ("arxiv:2308.05732", "2308.05732", 2023)
    assert refiner.venue == "Advances in Neural Information Processing Systems"
    assert refiner.tags == ["neural PDE solvers", "diffusion models"]
    assert refiner.url == "https://arxiv.org/abs/2308.05732"
    assert refiner.source == f"{path}:4"
    assert godel.authors == ["Kurt Gödel"]
    assert (godel.id, godel.doi, godel.year) == ("doi:10.1007/bf01700692", "10.1007/BF01700692", 1931)
    assert godel.venue == "Monatshefte für Mathematik und Physik"
    assert godel.url == "https://example.org/g_1931%20paper"
    assert godel.abstract == "Incompleteness of formal systems such as Principia Mathematica."

    assert [e.line for e in errors] == [16, 22, 36]
    assert errors[0].message == "entry 'noabstract2020' has no abstract"
    assert "cannot parse BibTeX block '@article{broken2021,'" in errors[1].message
    assert "duplicate entry key 'lippe2023pderefiner'" in errors[2].message


def test_bib_author_forms() -> None:
    assert bib_authors("Turner, Jr., Richard E. and Jane Doe and van der Walt, St{\\'e}fan") == [
        "Richard E. Turner Jr.",
        "Jane Doe",
        "Stéfan van der Walt",
    ]


def test_bibtex_without_entries(tmp_path: Path) -> None:
    path = tmp_path / "empty.bib"
    path.write_text("% nothing here\n")
    assert [e.message for e in load_bibtex(path)] == ["no BibTeX entries found"]  # type: ignore[union-attr]


# -- JSON array and directories ----------------------------------------------------------------------


def _jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def _mixed_tree(root: Path) -> Path:
    """root/ with JSONL, JSON array, CSV, BibTeX, PDFs (one good, one image-only) and a stray .txt."""
    deep = root / "a" / "b"
    deep.mkdir(parents=True)
    _jsonl(root / "one.jsonl", [{"title": "Jsonl paper", "abstract": "From a JSON lines file."}])
    (root / "a" / "arr.json").write_text(
        json.dumps([{"title": "Array paper", "abstract": "From a JSON array."}, {"abstract": "no title"}])
    )
    (deep / "rows.csv").write_text("title,abstract\nCsv paper,From a CSV file.\n")
    (deep / "refs.bib").write_text("@article{k1, title={Bib paper}, abstract={From a BibTeX file.}}\n")
    pf.paper_pdf(deep / "paper.pdf")
    pf.image_only_pdf(root / "a" / "scan.pdf")
    (root / "notes.txt").write_text("not a paper source")
    return root


def test_directory_recursion_mixing_formats(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    root = _mixed_tree(tmp_path / "papers")
    settings = get_settings()
    papers, errors = _split(list(load_path(root, settings)))
    assert sorted(p.title for p in papers) == sorted(
        ["Jsonl paper", "Array paper", "Csv paper", "Bib paper", pf.TITLE]
    )
    assert [Path(e.source).name for e in errors] == ["arr.json", "scan.pdf"]
    assert errors[0].message == "entry 2: missing required field 'title'"
    assert errors[1].message.startswith("no extractable text in 1 page(s)")

    lib = Library(settings)
    report = ingest_files([root], lib, embedder, settings)
    assert (report.added, report.failed, exit_code(report)) == (5, 2, 1)
    assert lib.count() == 5
    pdf_paper = lib.get("arxiv:2308.05732")
    assert pdf_paper is not None and pdf_paper.title == pf.TITLE
    # The PDF's body is in the library as chunks beyond the abstract, references excluded.
    texts = " ".join(t for _, t in lib.chunks_of("arxiv:2308.05732"))
    assert "three times longer on Kolmogorov flow" in texts and "Message passing neural PDE solvers" not in texts


def test_empty_directory_and_missing_path(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    (err,) = list(load_path(tmp_path / "empty", settings))
    assert isinstance(err, LoadError) and err.message.startswith("no ")
    (missing,) = list(load_path(tmp_path / "nope.csv", settings))
    assert isinstance(missing, LoadError) and missing.message == "no such file or directory"
