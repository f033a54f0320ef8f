"""The citation graph (assistant/field/graph.py): references linked to library papers by DOI, arXiv id or
title + year, no link on a different title or a year too far, "cited but missing" grouped and ranked;
and the fixture PDFs' bibliographies parsed at ingest the way the graph needs them."""

from __future__ import annotations

from typing import Any

import pytest

from assistant.field.graph import build_graph, group_references
from assistant.models import BibReference, Paper
from ingest.sources.pdf import load_pdf
from tests.graph_support import GRAPH_PDFS, MISSING_ARXIV, MISSING_DOI, MISSING_TITLE


def ref(title: str = "", year: int | None = None, doi: str = "", arxiv_id: str = "") -> BibReference:
    return BibReference(text=title, title=title, year=year, doi=doi, arxiv_id=arxiv_id)


def paper(pid: str, title: str, year: int | None = 2022, refs: list[BibReference] | None = None, **kw: Any) -> Paper:
    return Paper(id=pid, title=title, year=year, references=refs or [], **kw)


TARGET = paper("t", "Sparse Routing for Scholarly Document Retrieval", 2022, doi="10.5555/X.1", arxiv_id="2201.00001")


def links_of(*citing: Paper) -> set[tuple[str, str, str]]:
    g = build_graph([TARGET, *citing])
    return {(link.source, link.target, link.via) for link in g.links}


def test_links_by_doi_in_any_spelling() -> None:
    a = paper("a", "A", refs=[ref("Some other wording", 2022, doi="https://doi.org/10.5555/x.1")])
    b = paper("b", "B", refs=[ref("", None, doi="10.5555/X.1.")])
    assert links_of(a, b) == {("a", "t", "doi"), ("b", "t", "doi")}


def test_links_by_arxiv_id_without_version() -> None:
    a = paper("a", "A", refs=[ref("A preprint", 2021, arxiv_id="2201.00001v3")])
    assert links_of(a) == {("a", "t", "arxiv")}


def test_links_by_title_and_year_within_one() -> None:
    folded = "SPARSE routing for scholarly-document retrieval!"
    a = paper("a", "A", refs=[ref(folded, 2021)])  # the preprint, a year before
    b = paper("b", "B", refs=[ref("Sparse Routing for Scholarly Document Retrieval", 2022)])
    assert links_of(a, b) == {("a", "t", "title"), ("b", "t", "title")}


def test_accents_fold_in_titles() -> None:
    target = paper("t", "Réseaux de neurones pour la récupération", 2020)
    a = paper("a", "A", refs=[ref("Reseaux de neurones pour la recuperation", 2020)])
    assert [(x.source, x.target) for x in build_graph([target, a]).links] == [("a", "t")]


@pytest.mark.parametrize(
    "wrong",
    [
        ref("Sparse Routing for Scholarly Document Retrieval", 2019),  # same title, three years off
        ref("Sparse Routing for Scholarly Passage Retrieval", 2022),  # another title, same year
        ref("Sparse Routing", None),  # a short title and no year
        ref("Other", 2022, doi="10.5555/x.10"),  # a DOI that only starts alike
        ref("Other", 2022, arxiv_id="2201.00011"),
    ],
)
def test_no_false_link(wrong: BibReference) -> None:
    a = paper("a", "A", refs=[wrong])
    g = build_graph([TARGET, a])
    assert g.links == []
    assert g.paper("t") is not None and g.paper("t").cited_by == 0  # type: ignore[union-attr]


def test_long_title_without_a_year_links_short_does_not() -> None:
    long_target = paper("t", "Learning to Rank Scientific Papers from Their Citation Contexts", 2018)
    a = paper("a", "A", refs=[ref("Learning to rank scientific papers from their citation contexts", None)])
    short_target = paper("s", "Dense Passage Retrieval", 2020)
    b = paper("b", "B", refs=[ref("Dense Passage Retrieval", None)])
    g = build_graph([long_target, a, short_target, b])
    assert [(x.source, x.target) for x in g.links] == [("a", "t")]


def test_counts_cites_and_cited_by() -> None:
    a = paper("a", "A", refs=[ref(doi="10.5555/x.1"), ref("Another Library Paper Here", 2020)])
    b = paper("b", "Another Library Paper Here", 2020, refs=[ref(doi="10.5555/x.1"), ref(doi="10.5555/x.1")])
    g = build_graph([TARGET, a, b])
    counts = {p.id: (p.cites, p.cited_by, p.references) for p in g.papers}
    assert counts == {"t": (0, 2, 0), "a": (2, 0, 2), "b": (1, 1, 2)}  # b's duplicate entry is one link
    assert sorted(g.cites("a")) == ["b", "t"] and sorted(g.cited_by("t")) == ["a", "b"]


def test_own_earlier_version_is_no_link() -> None:
    selfish = paper("t", TARGET.title, 2022, doi="10.5555/x.1", refs=[ref(TARGET.title, 2021)])
    g = build_graph([selfish])
    assert g.links == [] and g.missing == []


def test_missing_works_grouped_counted_once_per_paper_and_ranked() -> None:
    common = "Citation Context Embeddings for Scholarly Retrieval"
    gnn = "Graph Reference Recommendation Networks"
    a = paper("a", "A", refs=[ref(common, 2019, arxiv_id="1907.01234"), ref(gnn, 2018, doi="10.1/g")])
    b = paper("b", "B", refs=[ref(common.upper(), 2019, arxiv_id="1907.01234v2"), ref("", None, doi="10.1/G")])
    c = paper("c", "C", refs=[ref(common, 2020), ref(common, 2020)])  # title only, a year later, twice
    d = paper("d", "D", refs=[ref("Cited Once Only In The Whole Library", 2015), ref(common, 2012)])  # 2012: other
    g = build_graph([a, b, c, d])
    assert [(w.title, w.count, w.arxiv_id, w.doi) for w in g.missing] == [
        (common, 3, "1907.01234", ""),
        (gnn, 2, "", "10.1/g"),
    ]
    assert g.missing[0].cited_by == ["a", "b", "c"] and g.missing[0].year == 2019
    assert g.links == []
    # the works each paper cites resolve to the same keys: what related papers count as shared
    assert set(g.works["a"]) & set(g.works["c"]) == {"arxiv:1907.01234"}
    assert set(g.works["d"]) & set(g.works["c"]) == set()


def test_min_missing_is_a_parameter() -> None:
    a = paper("a", "A", refs=[ref("One Work Cited By A Single Paper", 2010)])
    assert build_graph([a]).missing == []
    assert [w.count for w in build_graph([a], min_missing=1).missing] == [1]


def test_grouping_joins_a_doi_chain() -> None:
    title = "A Title Long Enough To Match"
    refs = [ref(doi="10.1/a"), ref(title, 2001, doi="10.1/A"), ref(title.lower(), 2002)]
    assert group_references(refs) == [[0, 1, 2]]


def test_public_json_shape() -> None:
    a = paper("a", "A", refs=[ref(doi="10.5555/x.1")])
    out = build_graph([TARGET, a]).public()
    assert out["links"] == [{"source": "a", "target": "t", "via": "doi"}]
    assert set(build_graph([TARGET]).public(missing_only=True)) == {"missing"}


# -- the fixture PDFs, parsed at ingest ---------------------------------------------------------------
def _pdf(name: str) -> Paper:
    from assistant.settings import get_settings

    found = list(load_pdf(GRAPH_PDFS / name, get_settings()))
    assert len(found) == 1 and isinstance(found[0], Paper), found
    return found[0]


def test_fixture_bibliographies_parse() -> None:
    dense = _pdf("dense.pdf")
    assert (dense.arxiv_id, dense.year) == ("2303.04567", 2023)
    got = [(r.title, r.year, r.doi, r.arxiv_id) for r in dense.references]
    assert got == [
        ("Sparse Routing for Scholarly Document Retrieval", 2022, "10.5555/graph.2022.001", ""),
        (MISSING_TITLE, 2019, "", MISSING_ARXIV),
        ("Graph Neural Networks for Reference Recommendation", 2018, MISSING_DOI, ""),
    ]
    routing = _pdf("routing.pdf")
    assert (routing.doi, routing.year, len(routing.references)) == ("10.5555/graph.2022.001", 2022, 3)
    reading = _pdf("reading.pdf")
    assert (reading.doi, reading.arxiv_id) == ("", "")
    got_reading = [(r.year, r.arxiv_id) for r in reading.references]
    assert got_reading == [(2022, ""), (2023, "2303.04567"), (2020, ""), (2018, "")]
