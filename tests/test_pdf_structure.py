"""PDF metadata and structure on real pdflatex output (tests/data/pdfs, rebuilt by build.sh): authors,
year, identifiers, numbered sections, the reference list, and the cited section in answers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from assistant.models import Answer, Citation, LoadError, Paper, Section
from assistant.settings import Settings, get_settings
from ingest.sources.pdf import load_pdf
from ingest.sources.pdf_meta import merge_authors, page_authors
from tests.support import invoke
from ui import render

PDFS = Path(__file__).parent / "data" / "pdfs"
TWO_COL_AUTHORS = [
    "Mira Castellanos",
    "Jonas Okafor",
    "Lena Brandt",
    "Tomasz Wierzbicki",
    "Aiko Tanabe",
    "Rafael Quintero",
    "Sofia Lindgren",
    "Kwame Asante",
]


def _paper(name: str) -> Paper:
    items: list[Paper | LoadError] = list(load_pdf(PDFS / name, Settings(_env_file=None)))  # type: ignore[call-arg]
    assert len(items) == 1 and isinstance(items[0], Paper), items
    return items[0]


def test_two_column_metadata() -> None:
    p = _paper("twocol.pdf")
    assert p.title == "Routing Attention for Long-Document Retrieval"
    assert p.authors == TWO_COL_AUTHORS
    assert (p.year, p.arxiv_id, p.doi) == (2024, "2401.01234", "10.5555/fict.2024.0042")
    assert p.abstract.startswith("We present a routing layer for dense retrieval")
    assert p.abstract.endswith("scoring one eighth of the passages.")  # the DOI line is not abstract text
    for junk in ("University", "@", "Lakeside", "March 2024"):
        assert not any(junk in a for a in p.authors)


def test_two_column_sections() -> None:
    p = _paper("twocol.pdf")
    headings = [s.heading for s in p.sections]
    assert len(headings) >= 5
    assert {"1 Introduction", "3.2 Attention", "4.2 Results", "5 Conclusion"} <= set(headings)
    attention = next(s for s in p.sections if s.heading == "3.2 Attention")
    assert "routing temperature is fixed at 0.37" in attention.text
    assert "[1] Elif Moreau" not in p.full_text  # the reference list is not body text


def test_two_column_references() -> None:
    refs = _paper("twocol.pdf").references
    assert len(refs) == 32
    assert all(r.title and r.year and r.authors for r in refs)
    first = refs[0]
    assert first.authors == ["Elif Moreau", "Umar Borges", "Chiara Rahman"]
    assert (first.title, first.year, first.doi) == (
        "Routing Tokens Through Sparse Experts",
        2012,
        "10.5555/fict.2012.100",
    )
    assert (refs[1].arxiv_id, refs[1].year) == ("1902.10037", 2019)
    assert refs[2].doi == refs[2].arxiv_id == ""
    # Entries broken across lines and hyphenated by the two-column layout come back whole.
    robust = next(r for r in refs if r.title.startswith("Robust"))
    assert robust.title == "Robust Tokenization for Noisy Text" and robust.arxiv_id == "2211.10814"
    assert sum(bool(r.doi) for r in refs) == 11 and sum(bool(r.arxiv_id) for r in refs) == 11


def test_one_column() -> None:
    p = _paper("onecol.pdf")
    assert p.title == "Predicting References from Abstracts with Graph Encoders"
    assert p.authors == ["Helena Marsh", "Idris Bello", "Carmen Solis"]  # superscript marks dropped
    assert p.year == 2022  # the date line, not the file's CreationDate (2024)
    assert p.doi == p.arxiv_id == ""
    assert {"2.1 Encoder", "2.2 Decoder", "3 Evaluation"} <= {s.heading for s in p.sections}
    assert len(p.references) == 10 and all(r.title and r.year for r in p.references)


def test_no_metadata_pdf_reads_the_page() -> None:
    p = _paper("nometa.pdf")
    assert p.title == "Notes on Streaming Deduplication of Bibliographic Records"
    assert p.authors == ["Paulo Ferreira"]  # not "Coastal University" nor the e-mail
    assert p.year is None  # no date anywhere: none invented
    assert p.references == []


def test_author_lines_never_take_affiliations() -> None:
    lines = [
        "Jane Q. Doe1,2, John Smith*",
        "1Department of Physics, Example University",
        "Google DeepMind",
        "jane@example.org",
        "12 March 2021",
        "Abstract",
        "Some Body",
    ]
    assert page_authors(lines) == ["Jane Q. Doe", "John Smith"]
    assert page_authors(["Meta AI Research", "Stanford University"]) == []
    assert merge_authors(["Jane Doe"], ["Doe, Jane", "x"]) == ["Jane Doe"]  # unreadable DocInfo loses


def test_content_hash_unchanged_without_references() -> None:
    p = Paper(
        id="x",
        title="A Title",
        abstract="abs",
        sections=[Section(heading="1 Intro", text="t")],
        authors=["A B"],
        year=2020,
        doi="10.1/x",
    )
    assert p.content_hash() == "143e47ba47311357"  # the hash before Paper had references
    with_refs = _paper("twocol.pdf")
    assert with_refs.content_hash() != with_refs.model_copy(update={"references": []}).content_hash()


def _json(args: list[str]) -> Any:
    done = invoke(args)
    assert done.exit_code == 0, done.output
    return json.loads(done.stdout)


def test_ingested_pdf_cites_its_section_and_keeps_references() -> None:
    report = _json(["ingest", str(PDFS / "twocol.pdf"), "--json"])
    assert report["added"] == 1, report
    out = _json(["ask", "What routing temperature is used within each expert?", "--json"])
    assert not out["abstained"], out
    cited = out["citations"][0]
    assert cited["id"] == "doi:10.5555/fict.2024.0042"
    assert cited["section"] == "3.2 Attention" and "0.37" in cited["text"]

    answer = Answer.model_validate({**out, "citations": [{**c, "url": ""} for c in out["citations"]]})
    page = render.conversation_markdown([{"role": "user", "content": "q"}, {"role": "assistant", "answer": answer}])
    assert "§3\\.2 Attention" in page  # Markdown-escaped: renders as §3.2 Attention
    assert render.section_label("3.2 Attention") == "§3.2 Attention"
    assert Citation(n=1, id="x", title="t", text="x").model_dump()["section"] == ""

    from assistant.library.library import Library

    lib = Library(get_settings())  # a reopened library still has the reference list
    try:
        stored = lib.get("doi:10.5555/fict.2024.0042")
        assert stored is not None and len(stored.references) == 32
        assert stored.authors == TWO_COL_AUTHORS and stored.references[1].arxiv_id == "1902.10037"
    finally:
        lib.close()


def test_chat_page_shows_the_cited_section() -> None:
    """The Chat page's source view of a PDF citation names its section ("§3.2 Attention")."""
    from tests.ui_support import app_test

    assert _json(["ingest", str(PDFS / "twocol.pdf"), "--json"])["added"] == 1
    at = app_test()
    at.chat_input[0].set_value("What routing temperature is used within each expert?").run()
    assert not at.exception, at.exception
    answer = at.session_state["chat_messages"][-1]["answer"]
    assert answer.citations and answer.citations[0].section == "3.2 Attention"
    label = next(e for e in at.main.expander if e.label.startswith("[1]"))
    shown = [c.value.replace("\\", "") for c in label.caption]
    assert any("§3.2 Attention" in line for line in shown), shown
