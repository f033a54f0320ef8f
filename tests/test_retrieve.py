"""Hybrid retrieval on the real seed library: ranking, evidence, confidence, filters."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.library.library import Library
from assistant.retrieval.retrieve import Filters, Retriever, fuse
from assistant.settings import get_settings
from tests.support import ingest_files

PIG = "t:4c709caec8fa"
FEDKSEED = "t:73f722a31abe"


def _retriever(lib: Library, embedder) -> Retriever:  # type: ignore[no-untyped-def]
    return Retriever(lib, embedder, get_settings())


def test_paraphrased_question_finds_pig_first_with_exact_evidence(seed_library: Library, embedder) -> None:  # type: ignore[no-untyped-def]
    r = _retriever(seed_library, embedder)
    res = r.search(
        "How can Gaussian functions with learnable positions replace a fixed mesh in physics-informed learning?"
    )
    assert res.hits[0].paper.id == PIG
    assert len(res.hits) == get_settings().top_k
    assert res.best_dense > get_settings().abstain_threshold
    scores = [h.score for h in res.hits]
    assert scores == sorted(scores, reverse=True)
    chunks = dict(seed_library.chunks_of(PIG))
    for ev in res.hits[0].evidence:
        assert ev.paper_id == PIG and chunks[ev.chunk_id] == ev.text


def test_bm25_side_finds_a_rare_exact_term(seed_library: Library, embedder) -> None:  # type: ignore[no-untyped-def]
    # "FedKSeed" is a name only one abstract uses; the embedding alone knows nothing of it.
    res = _retriever(seed_library, embedder).search("FedKSeed", k=3)
    assert res.hits[0].paper.id == FEDKSEED


def test_off_topic_confidence_is_below_threshold(seed_library: Library, embedder) -> None:  # type: ignore[no-untyped-def]
    r = _retriever(seed_library, embedder)
    threshold = get_settings().abstain_threshold
    for q in ("What is the boiling point of ethanol?", "Who won the 2018 FIFA World Cup?"):
        assert r.search(q).best_dense < threshold, q
    assert r.search("low-rank adaptation of large language models").best_dense > threshold


def test_k_and_filters_year_author_tag(seed_library: Library, embedder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    extra = tmp_path / "extra.jsonl"
    rows = [
        {"id": "x:old", "title": "Gaussian splats for physics-informed solvers (1999 edition)", "year": 1999,
         "authors": ["Ada Lovelace"], "tags": ["pinn"],
         "abstract": "We revisit Gaussian basis functions with learnable centres as an adaptive mesh for "
                     "physics-informed neural networks solving partial differential equations."},
        {"id": "x:new", "title": "Adaptive Gaussian meshes for PINNs", "year": 2024,
         "authors": ["Grace Hopper", "Alan Turing"], "tags": ["pinn", "mesh"],
         "abstract": "Learnable Gaussian positions replace a fixed mesh in physics-informed learning of PDE "
                     "solutions, improving accuracy for high-frequency components."},
    ]
    extra.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    report = ingest_files([extra], seed_library, embedder, get_settings())
    assert report.added == 2
    r = _retriever(seed_library, embedder)
    q = "Gaussian functions with learnable positions as an adaptive mesh for physics-informed networks"
    assert len(r.search(q, k=2).hits) == 2
    assert {h.paper.id for h in r.search(q, k=10).hits} >= {"x:old", "x:new", PIG}
    assert [h.paper.id for h in r.search(q, 10, Filters(year_from=2000)).hits] == ["x:new"]
    assert [h.paper.id for h in r.search(q, 10, Filters(year_to=2000)).hits] == ["x:old"]
    assert [h.paper.id for h in r.search(q, 10, Filters(author="turing")).hits] == ["x:new"]
    assert {h.paper.id for h in r.search(q, 10, Filters(tag="pinn")).hits} == {"x:old", "x:new"}
    assert [h.paper.id for h in r.search(q, 10, Filters(tag="mesh")).hits] == ["x:new"]
    empty = r.search(q, 10, Filters(year_from=2030))
    assert empty.hits == [] and empty.best_dense == 0.0


def test_fusion_minmax_scales_each_list_and_rrf_uses_ranks() -> None:
    dense = [("a", 0.9), ("b", 0.5), ("c", 0.4)]
    lexical = [("c", 12.0), ("d", 2.0)]
    mm = fuse(dense, lexical)  # the default: min-max per list, equal weights
    assert mm == pytest.approx({"a": 1.0, "b": 0.2, "c": 1.0, "d": 0.0})
    # A lead keeps its size: far ahead in one list beats narrowly ahead in both.
    assert fuse(dense, lexical, dense_weight=2.0)["a"] == pytest.approx(2.0)
    only_dense = fuse(dense, lexical, lexical_weight=0.0)  # a zero weight: that list's chunks stay, at 0
    assert only_dense["d"] == 0.0 and max(only_dense, key=only_dense.__getitem__) == "a"
    assert fuse([("x", 0.3)], []) == {"x": 1.0}  # one candidate (or all equal): full score
    rrf = fuse(dense, lexical, "rrf", rrf_k=60)
    assert rrf["c"] == pytest.approx(1 / 63 + 1 / 61) and rrf["a"] == pytest.approx(1 / 61)
