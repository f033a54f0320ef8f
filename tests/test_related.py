"""Related papers and the citation graph through the engine, on the four fixture PDFs ingested for real
(embedded Chroma, the bundled MiniLM)."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.engine import Engine
from assistant.errors import PapersError
from assistant.models import Paper
from assistant.settings import get_settings
from tests.graph_support import (
    DENSE,
    MISSING_ARXIV,
    MISSING_DOI,
    OCEAN_TITLE,
    READING_TITLE,
    ROUTING,
    graph_library,
    graph_library_template,
)

__all__ = ["graph_library", "graph_library_template"]  # fixtures, used by name

pytestmark = pytest.mark.slow


@pytest.fixture()
def engine(graph_library: Path, embedder) -> Engine:  # type: ignore[no-untyped-def]
    return Engine(get_settings(), embedder=embedder)


def _id(engine: Engine, title: str) -> str:
    return next(p.id for p in engine.papers() if p.title == title)


def test_graph_of_the_ingested_pdfs(engine: Engine) -> None:
    g = engine.citation_graph()
    reading = _id(engine, READING_TITLE)
    assert {(x.source, x.target, x.via) for x in g.links} == {
        (DENSE, ROUTING, "doi"),
        (reading, ROUTING, "title"),
        (reading, DENSE, "arxiv"),
    }  # ocean's reference to an older work titled like DENSE links nothing
    counts = {p.title: (p.cites, p.cited_by) for p in g.papers}
    assert counts[OCEAN_TITLE] == (0, 0) and counts[READING_TITLE] == (2, 0)
    assert [(w.arxiv_id, w.doi, w.count) for w in g.missing] == [(MISSING_ARXIV, "", 3), ("", MISSING_DOI, 2)]


def test_related_ranks_by_text_and_citations(engine: Engine) -> None:
    reading, ocean = _id(engine, READING_TITLE), _id(engine, OCEAN_TITLE)
    got = engine.related(ROUTING, k=3)
    assert [r.id for r in got][:2] == [DENSE, reading] and got[2].id == ocean
    dense = got[0]
    assert dense.cited_by and not dense.cites and dense.shared_references == 1 and dense.co_cited == 1
    assert dense.reasons == ["cites this paper", "shares 1 reference", "cited together by 1 paper", "similar text"]
    assert got[2].reasons == ["only weakly similar text"] and got[2].similarity < got[1].similarity
    assert [r.id for r in engine.related(ROUTING, k=1)] == [DENSE]
    # the reverse direction reads the other way round
    back = next(r for r in engine.related(DENSE, k=3) if r.id == ROUTING)
    assert back.cites and not back.cited_by


def test_related_by_text_alone_when_no_citations() -> None:
    """Pure ranking: without any link the order is the cosine of the paper vectors."""
    import numpy as np

    from assistant.field.graph import build_graph
    from assistant.field.related import rank_related

    papers = {pid: Paper(id=pid, title=pid) for pid in ("a", "b", "c")}
    vectors = (["a", "b", "c"], np.array([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]], dtype=np.float32))
    got = rank_related("a", papers, vectors, build_graph(papers.values()), 5)
    assert [(r.id, r.similarity) for r in got] == [("b", pytest.approx(0.6)), ("c", 0.0)]
    assert got[0].reasons == ["similar text"]


def test_unknown_paper_and_bad_k_are_one_line(engine: Engine) -> None:
    with pytest.raises(PapersError, match="not in the library: nope"):
        engine.related("nope")
    with pytest.raises(PapersError, match="k must be at least 1"):
        engine.related(ROUTING, k=0)


def test_graph_follows_the_library_generation(engine: Engine) -> None:
    first = engine.citation_graph()
    assert engine.citation_graph() is first  # unchanged library: not rebuilt
    missing = Paper(
        id=f"arxiv:{MISSING_ARXIV}",
        title="Citation Context Embeddings for Scholarly Retrieval",
        abstract="We embed the sentences around citations to describe the cited scholarly papers for retrieval.",
        year=2019,
        arxiv_id=MISSING_ARXIV,
    )
    engine.ingest([missing])
    second = engine.citation_graph()
    assert second is not first
    assert [w.doi for w in second.missing] == [MISSING_DOI]  # the added paper is no longer missing
    assert second.paper(missing.id) is not None and second.paper(missing.id).cited_by == 3  # type: ignore[union-attr]
    assert any(r.id == missing.id for r in engine.related(ROUTING, k=5))


def test_graph_sees_a_write_made_through_another_library_object(engine: Engine, embedder) -> None:  # type: ignore[no-untyped-def]
    """The app's engine stays open while `papers ingest` writes: after refresh its graph is the new one."""
    before = engine.citation_graph()
    assert len(before.missing) == 2
    other = Engine(get_settings(), embedder=embedder)  # its own Library object, as another process has
    other.ingest([Paper(id=f"arxiv:{MISSING_ARXIV}", title="Citation Context Embeddings for Scholarly Retrieval",
                        abstract="Sentences around citations describe the cited papers.", year=2019,
                        arxiv_id=MISSING_ARXIV)])  # fmt: skip
    engine.refresh()
    after = engine.citation_graph()
    assert [w.doi for w in after.missing] == [MISSING_DOI]
    assert any(r.id == f"arxiv:{MISSING_ARXIV}" for r in engine.related(ROUTING, k=5))
