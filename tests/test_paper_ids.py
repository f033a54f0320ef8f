"""One paper, one id: the paper-id rule (assistant/models.py `make_paper_id`, applied by `Paper` to every
record a loader builds) gives the same id to the same paper written in every format the loaders read —
BibTeX, RIS, CSL-JSON, Web of Science, JSONL, CSV, a PDF's first page, the arXiv API's Atom feed and a
Zotero database — each file written here from one record in that format's own syntax and read by the
real loader. And a `.bib` and a `.ris` of one arXiv-DOI paper, ingested together by `papers ingest`,
are one paper in the library.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import sqlite3
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from assistant.models import LoadError, Paper, arxiv_id_of_doi, make_paper_id, norm_arxiv_id, norm_doi
from assistant.settings import Settings
from ingest.sources import load_path
from ingest.sources.arxiv import fetch_arxiv
from ingest.sources.zotero import load_zotero
from tests.arxiv_server import ATOM, arxiv_replay, synthetic_entries
from tests.pdf_files import paper_pdf
from tests.support import papers, papers_json

SETTINGS = Settings(_env_file=None)  # type: ignore[call-arg]
ZOTERO_FIXTURE = Path(__file__).parent / "data" / "zotero-fixture"

# The same paper, twice: a preprint known by its arXiv DOI, and a journal paper with a DOI and an arXiv id.
PREPRINT = {
    "title": "Sparse Attention Kernels for Long Scientific Documents",
    "abstract": "We compare sparse attention kernels on long scientific documents and find block sparsity best.",
    "authors": ["Ada Lovelace", "Alan Turing"],
    "year": 2023,
    "doi": "10.48550/arXiv.2301.00001",
    "arxiv": "2301.00001",
}
JOURNAL = {
    "title": "Calibrated Retrieval for Cited Answers",
    "abstract": "Retrieval scores calibrated per query let an assistant decline questions its papers do not answer.",
    "authors": ["Grace Hopper", "Barbara Liskov"],
    "year": 2022,
    "doi": "10.1234/JCRA.2022.7",
    "arxiv": "2203.04567",
}
EXPECTED = {"preprint": "arxiv:2301.00001", "journal": "doi:10.1234/jcra.2022.7"}
RECORDS = {"preprint": PREPRINT, "journal": JOURNAL}


# -- each format, written from the record in its own syntax (identifiers in the forms exports use) -------
def bibtex(r: dict[str, Any], d: Path) -> Path:
    # arXiv's own BibTeX export writes the DOI upper-cased; eprint with a version as many tools do.
    doi = r["doi"].upper() if r["doi"].startswith("10.48550") else r["doi"]
    text = (
        f"@article{{key2023,\n  title = {{{r['title']}}},\n  author = {{{' and '.join(r['authors'])}}},\n"
        f"  year = {{{r['year']}}},\n  doi = {{{doi}}},\n  eprint = {{{r['arxiv']}v2}},\n"
        f"  archivePrefix = {{arXiv}},\n  abstract = {{{r['abstract']}}}\n}}\n"
    )
    (path := d / "paper.bib").write_text(text, encoding="utf-8")
    return path


def ris(r: dict[str, Any], d: Path) -> Path:
    lines = ["TY  - JOUR", f"TI  - {r['title']}", *(f"AU  - {a}" for a in r["authors"]), f"PY  - {r['year']}",
             f"DO  - https://doi.org/{r['doi']}", f"UR  - https://arxiv.org/abs/{r['arxiv']}v1",
             f"AB  - {r['abstract']}", "ER  - ", ""]
    (path := d / "paper.ris").write_text("\n".join(lines), encoding="utf-8")
    return path


def csl_json(r: dict[str, Any], d: Path) -> Path:
    item = {
        "id": "key2023", "type": "article-journal", "title": r["title"], "abstract": r["abstract"],
        "author": [{"given": a.split()[0], "family": a.split()[1]} for a in r["authors"]],
        "issued": {"date-parts": [[r["year"]]]}, "DOI": f"doi:{r['doi']}", "note": f"arXiv: {r['arxiv']}",
    }
    (path := d / "paper.json").write_text(json.dumps([item]), encoding="utf-8")
    return path


def wos(r: dict[str, Any], d: Path) -> Path:
    names = [f"{a.split()[1]}, {a.split()[0]}" for a in r["authors"]]
    lines = ["\ufeffFN Clarivate Analytics Web of Science", "VR 1.0", "PT J",
             "AU " + names[0], *(f"   {n}" for n in names[1:]), "AF " + names[0], *(f"   {n}" for n in names[1:]),
             f"TI {r['title']}", f"AB {r['abstract']}", f"PY {r['year']}", f"DI {r['doi']}", "ER", "", "EF", ""]
    (path := d / "savedrecs.txt").write_bytes("\r\n".join(lines).encode("utf-8"))
    return path


def jsonl(r: dict[str, Any], d: Path) -> Path:
    row = {"title": r["title"], "abstract": r["abstract"], "authors": r["authors"], "year": r["year"],
           "doi": f"https://doi.org/{r['doi'].lower()}", "arxiv_id": f"arXiv:{r['arxiv']}"}
    (path := d / "paper.jsonl").write_text(json.dumps(row) + "\n", encoding="utf-8")
    return path


def csv_file(r: dict[str, Any], d: Path) -> Path:
    # The preprint row carries only its arXiv id (no DOI column value): the same id all the same.
    doi = "" if r["doi"].startswith("10.48550") else r["doi"]
    with (path := d / "paper.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["title", "abstract", "authors", "year", "doi", "arxiv_id"])
        w.writerow([r["title"], r["abstract"], "; ".join(r["authors"]), r["year"], doi, f"{r['arxiv']}v3"])
    return path


def pdf(r: dict[str, Any], d: Path) -> Path:
    # The first page's stamp: arXiv's (id, version, category, date) for the preprint, the DOI line for the journal.
    stamp = f"arXiv:{r['arxiv']}v1 [cs.CL] 4 Jan 2023" if r["doi"].startswith("10.48550") else f"DOI: {r['doi']}"
    return paper_pdf(d / "paper.pdf", first_page_id=stamp)


FILE_FORMATS: dict[str, Callable[[dict[str, Any], Path], Path]] = {
    "bibtex": bibtex, "ris": ris, "csl-json": csl_json, "wos": wos, "jsonl": jsonl, "csv": csv_file, "pdf": pdf,
}


def _one_paper(items: list[Paper | LoadError]) -> Paper:
    papers_ = [i for i in items if isinstance(i, Paper)]
    assert len(papers_) == 1 and len(items) == 1, items
    return papers_[0]


@pytest.mark.parametrize("kind", sorted(RECORDS))
@pytest.mark.parametrize("fmt", sorted(FILE_FORMATS))
def test_every_file_format_gives_the_same_id(kind: str, fmt: str, tmp_path: Path) -> None:
    path = FILE_FORMATS[fmt](RECORDS[kind], tmp_path)
    paper = _one_paper(list(load_path(path, SETTINGS)))
    assert paper.id == EXPECTED[kind], (fmt, paper)


def _atom_entry(r: dict[str, Any]) -> ET.Element:
    """The arXiv API's entry for the record (the recorded entry's shape); a journal DOI as `arxiv:doi`."""
    entry = synthetic_entries(1)[0]
    for tag, text in {f"{ATOM}id": f"http://arxiv.org/abs/{r['arxiv']}v2", f"{ATOM}title": r["title"],
                      f"{ATOM}summary": r["abstract"]}.items():
        node = entry.find(tag)
        assert node is not None
        node.text = text
    if not r["doi"].startswith("10.48550"):
        ET.SubElement(entry, "{http://arxiv.org/schemas/atom}doi").text = r["doi"]
    return entry


@pytest.mark.parametrize("kind", sorted(RECORDS))
def test_the_arxiv_api_gives_the_same_id(kind: str) -> None:
    r = RECORDS[kind]
    with arxiv_replay([_atom_entry(r)]) as server:
        settings = Settings(_env_file=None, arxiv_api_url=server.url, arxiv_retries=0)  # type: ignore[call-arg]
        paper = _one_paper(list(fetch_arxiv([f"arXiv:{r['arxiv']}"], "", 1, settings)))
    assert paper.id == EXPECTED[kind] and paper.arxiv_id == r["arxiv"]


def _zotero_library(r: dict[str, Any], out: Path) -> Path:
    """A Zotero data directory holding the record as one item, built on Zotero's real schema with the
    fixture builder (tests/data/zotero-fixture/build_fixture.py)."""
    spec = importlib.util.spec_from_file_location("build_fixture", ZOTERO_FIXTURE / "build_fixture.py")
    assert spec is not None and spec.loader is not None
    fixture = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fixture)
    out.mkdir()
    db = sqlite3.connect(out / "zotero.sqlite")
    db.executescript((fixture.SCHEMA / "system.sql").read_text(encoding="utf-8"))
    db.executescript((fixture.SCHEMA / "userdata.sql").read_text(encoding="utf-8"))
    with db:
        fixture.global_schema(db)
        db.execute("INSERT INTO libraries (libraryID, type, editable, filesEditable) VALUES (1, 'user', 1, 1)")
        b = fixture.Builder(db)
        preprint = r["doi"].startswith("10.48550")
        fields = {"title": r["title"], "abstractNote": r["abstract"], "date": f"{r['year']}-01-04", "DOI": r["doi"]}
        if preprint:  # Zotero's arXiv translator: a preprint with the archive id and the arXiv DOI
            fields |= {"archiveID": f"arXiv:{r['arxiv']}", "repository": "arXiv"}
        else:
            fields |= {"url": f"https://arxiv.org/abs/{r['arxiv']}", "publicationTitle": "Journal of Retrieval"}
        item = b.item("preprint" if preprint else "journalArticle", "SAME0001", fields)
        b.creators(item, [("author", *a.split()) for a in r["authors"]])
    db.close()
    return out


@pytest.mark.parametrize("kind", sorted(RECORDS))
def test_a_zotero_item_gives_the_same_id(kind: str, tmp_path: Path) -> None:
    got = load_zotero(_zotero_library(RECORDS[kind], tmp_path / "Zotero"), SETTINGS)
    paper = _one_paper(got.records)
    assert paper.id == EXPECTED[kind] and paper.source == "zotero:SAME0001"
    assert got.live == {"SAME0001": EXPECTED[kind]}  # what a later sync compares against


# -- the rule itself ------------------------------------------------------------------------------------
def test_the_rule_and_its_normal_forms() -> None:
    assert norm_doi(" https://doi.org/10.1234/ABC.9. ") == norm_doi("doi:10.1234/abc.9") == "10.1234/abc.9"
    assert norm_doi("http://dx.doi.org/10.1234/ABC.9") == "10.1234/abc.9"
    assert norm_arxiv_id("arXiv:2301.00001v2") == "2301.00001"
    assert norm_arxiv_id("https://arxiv.org/pdf/2301.00001v1.pdf") == "2301.00001"
    assert norm_arxiv_id("hep-th/9901001v3") == norm_arxiv_id("arXiv:HEP-TH/9901001") == "hep-th/9901001"
    assert norm_arxiv_id("math.AG/0101001") == "math/0101001"  # the subject class is no part of the id
    assert arxiv_id_of_doi("https://doi.org/10.48550/ARXIV.2301.00001") == "2301.00001"
    assert arxiv_id_of_doi("10.48550/arXiv.hep-th/9901001") == "hep-th/9901001"
    assert arxiv_id_of_doi("10.1234/abc") == ""
    # Precedence: own id, arXiv DOI, DOI, arXiv id, a source's key, the title.
    assert make_paper_id(given="mine", doi="10.1/x", arxiv_id="2301.00001") == "mine"
    assert make_paper_id(doi="10.48550/arXiv.2301.00001v2", arxiv_id="9999.99999") == "arxiv:2301.00001"
    assert make_paper_id(doi="10.1/X", arxiv_id="2301.00001") == "doi:10.1/x"
    assert make_paper_id(arxiv_id="2301.00001v4", fallback="zotero:K") == "arxiv:2301.00001"
    assert make_paper_id(title="A Title", fallback="zotero:K") == "zotero:K"
    title_id = make_paper_id(title="Sparse  Attention, kernels!")
    assert title_id == make_paper_id(title="sparse attention kernels") and title_id.startswith("t:")
    # A Paper built without an id gets the rule's; one with an id keeps it.
    assert Paper(title="x", doi="https://doi.org/10.1/X").id == "doi:10.1/x"
    assert Paper(id="own", title="x", doi="10.1/x").id == "own"


# -- the library: a .bib and a .ris of one arXiv-DOI paper are one paper ---------------------------------
def test_a_bib_and_a_ris_of_one_arxiv_doi_paper_are_one_paper_in_the_library(tmp_path: Path) -> None:
    a = tmp_path / "a"
    b = tmp_path / "b"
    a.mkdir()
    b.mkdir()
    bib = a / "a.bib"  # as a DOI-only export gives it: no eprint field
    bib.write_text(
        f"@article{{k, title={{{PREPRINT['title']}}}, abstract={{{PREPRINT['abstract']}}}, "
        f"year={{2023}}, doi={{10.48550/arXiv.2301.00001}}}}\n",
        encoding="utf-8",
    )
    ris_path = ris(PREPRINT, b).rename(tmp_path / "b.ris")
    done = papers("ingest", str(bib), str(ris_path), "--json")
    report = json.loads(done.stdout)
    assert report["added"] == 1, (done.stdout, done.stderr)
    assert "duplicate paper id 'arxiv:2301.00001'" in report["errors"][0]["message"]
    assert "Traceback" not in done.stderr
    listed = papers_json("list", "--json")
    assert [p["id"] for p in listed] == ["arxiv:2301.00001"]
