"""RIS and CSL-JSON on files shaped like real exports (Zotero, EndNote, Scopus, Web of Science, Zotero's
CSL JSON): every record with its authors in order, year, DOI and abstract; bad records as one
LoadError each, naming file and record; the `.json` dispatch; the CLI and the Library upload."""

from __future__ import annotations

import ast
import json
import shutil
from pathlib import Path

import pytest

from assistant.models import LoadError, Paper
from assistant.settings import Settings
from ingest.sources import LOADERS, load_path
from ingest.sources.csl import is_csl, load_json
from ingest.sources.ris import load_ris, ris_author
from tests.support import papers, papers_json

EXPORTS = Path(__file__).parent / "data" / "exports"
SETTINGS = Settings(_env_file=None)  # type: ignore[call-arg]


def _split(items: list[Paper | LoadError]) -> tuple[list[Paper], list[LoadError]]:
    return [i for i in items if isinstance(i, Paper)], [i for i in items if isinstance(i, LoadError)]


def _load(name: str) -> tuple[list[Paper], list[LoadError]]:
    return _split(list(load_path(EXPORTS / name, SETTINGS)))


# -- RIS -------------------------------------------------------------------------------------------


def test_zotero_ris_export() -> None:
    path = EXPORTS / "zotero-export.ris"
    papers_, errors = _load("zotero-export.ris")
    assert [p.title for p in papers_] == [
        "PDE-Refiner: Achieving Accurate Long Rollouts with Neural PDE Solvers",
        "Attention is All you Need",
        "Über formal unentscheidbare Sätze der Principia Mathematica und verwandter Systeme I",
    ]
    refiner, attention, godel = papers_
    assert refiner.authors == [
        "Phillip Lippe",
        "Bastiaan S. Veeling",
        "Paris Perdikaris",
        "Richard E. Turner",
        "Johannes Brandstetter",
    ]
    # The abstract's second physical line is joined on; the arXiv DOI gives the arXiv id.
    assert refiner.abstract == (
        "Time-dependent partial differential equations (PDEs) are ubiquitous in science and engineering. "
        "Recently, mostly due to the high computational cost of traditional solution techniques, deep neural "
        "network based surrogates have gained increased interest."
    )
    assert (refiner.id, refiner.arxiv_id, refiner.doi, refiner.year) == (
        "arxiv:2308.05732",
        "2308.05732",
        "10.48550/arXiv.2308.05732",
        2023,
    )
    assert refiner.url == "http://arxiv.org/abs/2308.05732" and refiner.source == f"{path}:1"
    assert refiner.tags == ["Computer Science - Machine Learning", "Physics - Fluid Dynamics"]
    assert (attention.year, attention.venue) == (2017, "Advances in Neural Information Processing Systems")
    assert attention.authors == ["Ashish Vaswani", "Noam Shazeer", "Niki Parmar"]
    assert (godel.id, godel.doi, godel.year, godel.authors) == (
        "doi:10.1007/bf01700692",
        "10.1007/BF01700692",
        1931,
        ["Kurt Gödel"],
    )
    assert godel.venue == "Monatshefte für Mathematik und Physik" and godel.url == "https://doi.org/10.1007/BF01700692"
    # The record without a title: one error, its number and first line; the records after it still load.
    assert [(e.source, e.line, e.message) for e in errors] == [
        (str(path), 37, "record 3 has no title (no TI or T1 line)")
    ]


def test_endnote_ris_with_bom_crlf_and_missing_er_lines() -> None:
    raw = (EXPORTS / "endnote-export.ris").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw  # the file is what EndNote on Windows writes
    papers_, errors = _load("endnote-export.ris")
    assert errors == []
    pinn, fno, book = papers_  # the last two records have no ER line: neither is lost nor merged
    assert pinn.title.startswith("Physics-informed neural networks: A deep learning framework")
    assert pinn.authors == ["M. Raissi", "P. Perdikaris", "G. E. Karniadakis"]  # A1, in order
    assert (pinn.year, pinn.doi, pinn.id) == (2019, "10.1016/j.jcp.2018.10.045", "doi:10.1016/j.jcp.2018.10.045")
    assert pinn.venue == "Journal of Computational Physics"  # JF, not the JA abbreviation
    assert pinn.abstract.startswith("We introduce physics-informed neural networks – neural networks")
    assert pinn.abstract.endswith("described by general nonlinear partial differential equations.")
    assert "\r" not in pinn.abstract and "  " not in pinn.abstract
    assert pinn.tags == ["Data-driven scientific computing", "Machine learning", "Predictive modeling"]
    assert (fno.title, fno.year, fno.arxiv_id, fno.id) == (
        "Fourier Neural Operator for Parametric Partial Differential Equations",
        2021,
        "2010.08895",
        "arxiv:2010.08895",
    )
    assert fno.authors == ["Zongyi Li", "Nikola Kovachki", "Anima Anandkumar"]
    assert (book.title, book.year, book.authors[0]) == ("Deep Learning", 2016, "Ian Goodfellow")
    assert [p.source.rsplit(":", 1)[1] for p in papers_] == ["1", "20", "30"]


def test_scopus_ris_record_without_abstract_is_one_error() -> None:
    path = EXPORTS / "scopus-export.ris"
    papers_, errors = _load("scopus-export.ris")
    assert [p.title for p in papers_] == [
        "Machine learning-accelerated computational fluid dynamics",
        "Learning mesh-based simulation with graph networks",
    ]
    cfd, mesh = papers_
    assert cfd.authors == ["D. Kochkov", "J.A. Smith", "A. Alieva", "Q. Wang", "M.P. Brenner", "S. Hoyer"]
    assert (cfd.year, cfd.doi, cfd.id) == (2021, "10.1073/pnas.2101784118", "doi:10.1073/pnas.2101784118")
    assert cfd.venue == "Proceedings of the National Academy of Sciences of the United States of America"
    assert cfd.url.startswith("https://www.scopus.com/inward/record.uri?eid=2-s2.0-85106185950&doi=")
    assert cfd.tags == ["Computational fluid dynamics", "Machine learning", "Turbulence"]
    assert (mesh.arxiv_id, mesh.tags) == ("2010.03409", ["Graph neural networks", "Simulation"])  # from N1
    (err,) = errors
    assert (err.source, err.line) == (str(path), 27)
    assert err.message == "record 2 ('Message passing neural PDE solvers') has no abstract (no AB or N2 line)"


def test_web_of_science_ris_with_header_stray_lines_and_one_space_tags() -> None:
    path = EXPORTS / "wos-export.ris"
    papers_, errors = _load("wos-export.ris")
    alphafold, gns = papers_
    assert alphafold.authors == ["J Jumper", "R Evans", "D Hassabis"]
    assert (alphafold.year, alphafold.doi, alphafold.venue) == (2021, "10.1038/s41586-021-03819-2", "NATURE")
    # `TY - JOUR` with one space, as some exporters write it (Zotero reads it too).
    assert (gns.title, gns.year, gns.authors) == (
        "Learning to simulate complex physics with graph networks",
        2020,
        ["A Sanchez-Gonzalez", "J Godwin"],
    )
    (stray,) = errors  # tag lines after an ER with no TY of their own: reported, not glued to a record
    assert (stray.source, stray.line) == (str(path), 23)
    assert "outside a record" in stray.message


def test_ris_odd_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.ris"
    empty.write_text("Provider: nobody\n\n")
    assert [str(e) for e in load_ris(empty)] == [f"{empty}: no RIS records found (no line starts with 'TY  - ')"]
    odd = tmp_path / "odd.ris"
    odd.write_bytes(
        b"TY  - JOUR\nnot a tag line right after TY\nTI  - Broken\nAB  - x\nER  - \n"
        b"TY  - JOUR\nTI  - Fine\nAB  - Still loads.\nY1  - 2019/05/01/\nER  - \n"
        b"TY  - JOUR\nTI  - Caf\xe9 from cp1252\nAB  - An old EndNote line.\nER  - \n"
    )
    items = list(load_ris(odd))
    assert [type(i).__name__ for i in items] == ["LoadError", "Paper", "Paper"]
    assert items[0].line == 1 and items[0].message.startswith("record 1: cannot parse RIS")  # type: ignore[union-attr]
    assert (items[1].title, items[1].year) == ("Fine", 2019)  # type: ignore[union-attr]
    assert items[2].title == "Café from cp1252"  # type: ignore[union-attr]


def test_ris_author_forms() -> None:
    assert ris_author("Turner, Richard E., Jr.") == "Richard E. Turner Jr."
    assert ris_author("van der Walt, Stéfan") == "Stéfan van der Walt"
    assert ris_author("World Health Organization") == "World Health Organization"


# -- CSL-JSON --------------------------------------------------------------------------------------


def test_zotero_csl_json_export() -> None:
    path = EXPORTS / "zotero-export.json"
    papers_, errors = _load("zotero-export.json")
    refiner, pinn, attention, godel = papers_
    assert refiner.authors == [
        "Phillip Lippe",
        "Bastiaan S. Veeling",
        "Paris Perdikaris",
        "Richard E. Turner",
        "Johannes Brandstetter",
    ]
    assert (refiner.id, refiner.year, refiner.arxiv_id) == ("arxiv:2308.05732", 2023, "2308.05732")  # "2023" string
    assert refiner.abstract == (
        "Time-dependent partial differential equations (PDEs) are ubiquitous in science and engineering. "
        "Recently, deep neural network based surrogates have gained increased interest."
    )
    assert refiner.tags == ["Computer Science - Machine Learning", "Physics - Fluid Dynamics"]
    assert refiner.source == f"{path}#1"
    assert (pinn.doi, pinn.id, pinn.year) == ("10.1016/j.jcp.2018.10.045", "doi:10.1016/j.jcp.2018.10.045", 2019)
    assert pinn.venue == "Journal of Computational Physics"
    assert pinn.tags == ["Machine learning", "Data-driven scientific computing"]
    assert pinn.url == "https://doi.org/10.1016/j.jcp.2018.10.045"
    # {"raw": "2017-12"}, a container-title list, {"literal": ...} and a name particle.
    assert (attention.year, attention.venue) == (2017, "Advances in Neural Information Processing Systems")
    assert attention.authors == ["Ashish Vaswani", "Google Brain Team", "Stéfan van der Walt"]
    # Markup in titles and abstracts (<i>, Crossref's <jats:p>) is dropped; a doi.org DOI is bare.
    assert godel.title == "Über formal unentscheidbare Sätze der Principia Mathematica"
    assert (godel.abstract, godel.doi, godel.year) == ("Incompleteness of formal systems.", "10.1007/BF01700692", 1931)
    assert [(e.source, e.line, e.message) for e in errors] == [
        (str(path), None, "item 4: has no 'title'"),
        (str(path), None, "item 5: 'Deep Learning' has no 'abstract'"),
    ]


def test_json_dispatch_by_content(tmp_path: Path) -> None:
    """`.json` is CSL-JSON when its items look like CSL, else the plain JSON array of papers."""
    csl_obj = tmp_path / "csl-items.json"
    csl_obj.write_text(
        json.dumps(
            {
                "items": [
                    {
                        "type": "article-journal",
                        "title": "Wrapped",
                        "abstract": "In an items object.",
                        "author": [{"family": "Doe", "given": "Jane"}],
                        "issued": {"date-parts": [[2022, 3]]},
                    },
                    {"type": "article-journal", "title": 5, "abstract": "A number for a title is text."},
                    {"type": "article-journal", "title": {"x": 1}, "abstract": "Wrong type."},
                ]
            }
        )
    )
    papers_, errors = _split(list(load_path(csl_obj, SETTINGS)))
    assert [(p.title, p.authors, p.year) for p in papers_] == [("Wrapped", ["Jane Doe"], 2022), ("5", [], None)]
    assert [e.message for e in errors] == ["item 3: 'title' must be a string, got dict"]

    plain = tmp_path / "plain.json"
    plain.write_text(json.dumps([{"title": "Plain", "abstract": "Our own shape.", "authors": "A; B", "year": 2020}]))
    (paper,) = list(load_json(plain))
    assert isinstance(paper, Paper) and (paper.authors, paper.year) == (["A", "B"], 2020)

    assert is_csl([{"type": "book"}, {"title": "x"}, {"issued": {}}])
    assert not is_csl([{"title": "x", "abstract": "y"}]) and not is_csl({"title": "x"}) and not is_csl([])
    broken = tmp_path / "broken.json"
    broken.write_text('[{"type": "book", ')
    (err,) = list(load_path(broken, SETTINGS))
    assert isinstance(err, LoadError) and err.message.startswith("invalid JSON")
    empty = tmp_path / "empty-csl.json"
    empty.write_text('{"items": []}')
    assert [type(i).__name__ for i in load_path(empty, SETTINGS)] == ["LoadError"]


def test_loaders_and_upload_accept_ris_and_json() -> None:
    # The page is a Streamlit script: importing it would run it, so its list is read from the source.
    page = ast.parse((Path(__file__).parents[1] / "ui" / "views" / "library.py").read_text(encoding="utf-8"))
    UPLOAD_TYPES = next(  # noqa: N806
        ast.literal_eval(node.value)
        for node in page.body
        if isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "UPLOAD_TYPES"
    )
    assert {".ris", ".json"} <= set(LOADERS)
    assert {"ris", "json"} <= set(UPLOAD_TYPES)
    assert {s.lstrip(".") for s in LOADERS} == set(UPLOAD_TYPES)  # every loadable suffix can be uploaded


# -- through the CLI and the Library page ------------------------------------------------------------


def test_cli_ingests_ris_and_csl_json(tmp_path: Path) -> None:
    ris = shutil.copy(EXPORTS / "zotero-export.ris", tmp_path / "library.ris")
    csl = shutil.copy(EXPORTS / "zotero-export.json", tmp_path / "library.json")
    done = papers("ingest", str(ris), str(csl), "--json")
    assert done.returncode == 1, done.stderr  # some records failed, the rest are in
    report = json.loads(done.stdout)
    # The CSL file repeats three of the RIS papers (same DOI or arXiv id): duplicates, not new papers.
    assert report["added"] == 4, report
    messages = [(e["source"], e["line"], e["message"]) for e in report["errors"]]
    assert (str(ris), 37, "record 3 has no title (no TI or T1 line)") in messages
    assert (str(csl), None, "item 4: has no 'title'") in messages
    assert "Traceback" not in done.stderr
    listed = {p["id"]: p for p in papers_json("list", "--json")}
    assert set(listed) >= {"arxiv:2308.05732", "doi:10.1007/bf01700692", "doi:10.1016/j.jcp.2018.10.045"}
    refiner = listed["arxiv:2308.05732"]
    assert refiner["authors"][:2] == ["Phillip Lippe", "Bastiaan S. Veeling"] and refiner["year"] == 2023
    assert refiner["source"] == f"{ris}:1"


@pytest.mark.usefixtures("seed_library")
def test_library_page_upload_accepts_ris_and_csl_json() -> None:
    from tests.ui_support import app_test

    at = app_test("views/library.py")
    assert {".ris", ".json"} <= set(at.file_uploader[0].allowed_type or [])
    at.file_uploader[0].set_value(
        [
            ("scopus.ris", (EXPORTS / "scopus-export.ris").read_bytes(), "application/x-research-info-systems"),
            ("zotero.json", (EXPORTS / "zotero-export.json").read_bytes(), "application/json"),
        ]
    )
    next(b for b in at.button if b.label == "Add to library").click()
    at.run()
    assert not at.exception, at.exception
    results = next(d.value for d in at.dataframe if "result" in d.value.columns).set_index("file")
    assert results.loc["scopus.ris", "errors"] == 1 and "scopus.ris:27" in results.loc["scopus.ris", "reason"]
    assert results.loc["zotero.json", "errors"] == 2
    titles = set(at.dataframe(key="library_table").value["title"])
    assert {"Machine learning-accelerated computational fluid dynamics", "Attention is All you Need"} <= titles
