"""`papers related` and `papers graph` through the real console script, on the fixture PDFs' library."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.graph_support import (
    DENSE,
    MISSING_ARXIV,
    MISSING_DOI,
    MISSING_TITLE,
    READING_TITLE,
    ROUTING,
    graph_library,
    graph_library_template,
)
from tests.support import assert_one_line_error, papers, papers_json

__all__ = ["graph_library", "graph_library_template"]  # fixtures, used by name

pytestmark = pytest.mark.slow


def test_graph_missing_json(graph_library: Path) -> None:
    out = papers_json("graph", "--missing", "--json")
    assert set(out) == {"missing"}
    first, second = out["missing"]
    assert (first["title"], first["arxiv_id"], first["count"]) == (MISSING_TITLE, MISSING_ARXIV, 3)
    assert first["add"] == f"papers ingest --arxiv {MISSING_ARXIV}" and ROUTING in first["cited_by"]
    assert (second["doi"], second["count"], second["add"]) == (MISSING_DOI, 2, None)


def test_graph_json_has_counts_and_links(graph_library: Path) -> None:
    out = papers_json("graph", "--json")
    counts = {p["id"]: (p["cites"], p["cited_by"]) for p in out["papers"]}
    assert counts[ROUTING] == (0, 2) and counts[DENSE] == (1, 1)
    assert {(x["source"], x["target"]) for x in out["links"]} >= {(DENSE, ROUTING)}
    assert len(out["links"]) == 3 and len(out["missing"]) == 2


def test_graph_text(graph_library: Path) -> None:
    done = papers("graph", "--missing")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith(f"  1. cited by 3: {MISSING_TITLE} (2019)  arXiv:{MISSING_ARXIV}"), lines
    assert f"add: papers ingest --arxiv {MISSING_ARXIV}" in done.stdout and f"doi:{MISSING_DOI}" in done.stdout
    full = papers("graph").stdout
    assert "cites 0 / cited by 2 in your library  Sparse Routing for Scholarly Document Retrieval" in full
    assert f"{READING_TITLE} → Sparse Routing for Scholarly Document Retrieval  (by title)" in full


def test_related_json_and_text(graph_library: Path) -> None:
    out = papers_json("related", ROUTING, "--k", "2", "--json")
    assert out["paper"]["id"] == ROUTING
    assert [r["id"] for r in out["related"]][0] == DENSE and len(out["related"]) == 2
    assert "cites this paper" in out["related"][0]["reasons"] and out["related"][0]["shared_references"] == 1
    done = papers("related", DENSE)
    assert done.returncode == 0 and done.stdout.startswith("Related to: Citation-Aware Dense Retrieval"), done
    assert "cited by this paper" in done.stdout and "only weakly similar text" in done.stdout


def test_bad_input_is_one_line(graph_library: Path) -> None:
    assert_one_line_error(papers("related", "doi:10.9999/absent"), "not in the library: doi:10.9999/absent")
    done = papers("related", ROUTING, "--k", "0")
    assert done.returncode != 0 and "Traceback" not in done.stderr


def test_empty_library() -> None:
    assert papers_json("graph", "--missing", "--json") == {"missing": []}
    assert_one_line_error(papers("related", "x"), "not in the library: x")
