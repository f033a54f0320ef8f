"""`papers compare` and `papers summarize` as a user runs them: the real console script in a subprocess
over a copy of the seed library (the `seed_library` fixture puts it in PAPERS_DATA_DIR, which the
subprocess inherits) — the issue's offline acceptance commands."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import bibtexparser
from markdown_it import MarkdownIt

from assistant.answers.citations import cited_numbers
from assistant.library.library import Library
from assistant.text import md_escape
from ingest.sources.bibtex import clean_latex
from tests.support import assert_one_line_error, papers, papers_json

PDE_REFINER = "t:6f74edd4d7db"
PIG = "t:4c709caec8fa"


def test_compare_pde_query_json(seed_library: Library) -> None:
    data = papers_json("compare", "--query", "neural solvers for partial differential equations", "--format", "json")
    assert set(data) == {"aspects", "papers", "synthesis", "mode", "fallback_reason", "sentences", "notes"}
    assert data["mode"] == "extractive" and data["fallback_reason"] is None
    assert data["aspects"] == ["problem", "method", "data", "results", "limitations"]
    titles = {p["id"]: p["title"] for p in data["papers"]}
    assert PDE_REFINER in titles
    other_pde = [
        t for pid, t in titles.items() if pid != PDE_REFINER and re.search(r"\bPDEs?\b|Partial Differential", t)
    ]
    assert len(other_pde) >= 2, titles
    abstracts = {p.id: p.abstract for p in seed_library.papers(list(titles))}
    quotes = 0
    for p in data["papers"]:
        assert set(p) == {"id", "title", "cells", "fallback_reason"} and set(p["cells"]) == set(data["aspects"])
        assert p["fallback_reason"] is None
        for cell in p["cells"].values():
            assert set(cell) == {"text", "quote", "verdict", "score", "judge"}
            if cell["text"]:  # offline cells are the papers' own sentences: supported by construction
                assert (cell["verdict"], cell["judge"]) == ("supported", "verbatim")
            if cell["quote"] is not None:
                quotes += 1
                assert cell["quote"] in abstracts[p["id"]], cell["quote"]
            else:
                assert cell["text"] is None
    assert quotes >= 3 * len(data["papers"])
    assert isinstance(data["synthesis"], str) and "[1]" in data["synthesis"]


def test_compare_papers_markdown(seed_library: Library) -> None:
    done = papers("compare", "--paper", PDE_REFINER, "--paper", PIG, "--aspects", "method,results,speed of light")
    assert done.returncode == 0, done.stderr
    md = MarkdownIt("commonmark").enable("table")
    tokens = md.parse(done.stdout)
    cells = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type in ("th_open", "td_open")]
    assert cells[:5] == ["#", "Paper", "method", "results", "speed of light"]
    assert cells.count("*not stated*") >= 2  # nobody states the speed of light
    assert any(md_escape("PDE-Refiner") in c for c in cells)  # exports escape like the UI


def test_summarize_json_markdown_and_bibtex(seed_library: Library, tmp_path: Path) -> None:
    out, bib = tmp_path / "out.md", tmp_path / "out.bib"
    data: Any = papers_json(
        "summarize",
        "fine-tuning large language models efficiently",
        "--format",
        "json",
        "-o",
        str(out),
        "--bib",
        str(bib),
    )
    assert set(data) == {"title", "overview", "sections", "references", "mode", "fallback_reason", "sentences", "notes"}
    assert data["mode"] == "extractive" and data["fallback_reason"] is None
    assert len(data["sections"]) >= 2
    refs = {r["n"]: r for r in data["references"]}
    assert sorted(refs) == list(range(1, len(refs) + 1))
    cited: set[int] = set()
    for text in [data["overview"]] + [p for s in data["sections"] for p in s["paragraphs"]]:
        nums = cited_numbers(text)
        assert nums and set(nums) <= set(refs), text
        cited |= set(nums)
    assert cited == set(refs)  # every reference is cited at least once
    assert all(set(r) == {"n", "id", "title", "authors", "year", "url"} for r in refs.values())

    tokens = MarkdownIt("commonmark").parse(out.read_text(encoding="utf-8"))
    headings = [(t.tag, tokens[i + 1].content) for i, t in enumerate(tokens) if t.type == "heading_open"]
    assert headings[0][0] == "h1"
    assert [h for tag, h in headings if tag == "h2"] == [md_escape(s["heading"]) for s in data["sections"]] + [
        "References", "Checked sentences"
    ]
    # A numbered item per reference, a bullet per checked sentence (its verdict, score, judge, quote).
    assert sum(t.type == "list_item_open" for t in tokens) == len(refs) + len(data["sentences"])

    parsed = bibtexparser.parse_string(bib.read_text(encoding="utf-8"))
    assert not parsed.failed_blocks
    titles = [clean_latex(e.fields_dict["title"].value) for e in parsed.entries]  # as our BibTeX loader reads them
    assert titles == [refs[n]["title"] for n in sorted(refs)]


def test_errors_are_one_line(seed_library: Library) -> None:
    assert_one_line_error(papers("compare"), "--paper", "--query")
    assert_one_line_error(papers("compare", "--paper", "nope"), "not in the library: nope")
