"""`papers export` / `papers import`: an embedded library moved onto a real `chroma run` server
keeps its papers, chunks, vectors and search results, without re-embedding."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from assistant.library.ingestion import write_papers
from assistant.library.library import Library
from assistant.library.transfer import decode_vector, export_library, import_library
from assistant.models import Paper, Section
from assistant.retrieval.retrieve import Retriever
from assistant.settings import Settings
from tests.support import assert_one_line_error, papers, papers_json

QUERIES = [
    "physics-informed neural networks with Gaussian features",
    "federated fine-tuning of language models on phones",
    "segmentation of thermal and visible images under adversarial attack",
    "phase spirals in galactic disks",
    "reinforcement learning reward models",
]


def _server_settings(url: str, collection: str, data_dir: Path) -> Settings:
    return Settings(_env_file=None, chroma_url=url, collection=collection, data_dir=data_dir)  # type: ignore[call-arg]


def _vectors(lib: Library) -> dict[str, np.ndarray]:
    got = lib.collection.get(include=["embeddings"])
    return {cid: np.asarray(v, dtype=np.float32) for cid, v in zip(got["ids"], got["embeddings"])}


def _search_rows(lib: Library, embedder: Any) -> list[list[tuple[str, float, str]]]:
    retriever = Retriever(lib, embedder, lib.settings)
    out = []
    for q in QUERIES:
        res = retriever.search(q, 5)
        out.append([(h.paper.id, round(h.score, 9), h.evidence[0].chunk_id) for h in res.hits])
    return out


def _body_lines(path: Path) -> list[dict[str, Any]]:
    """Paper lines without their vectors (compared separately, to float32 rounding)."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()[1:]]
    for row in rows:
        for chunk in row["chunks"]:
            assert len(decode_vector(chunk.pop("embedding"), 384)) == 384
    return sorted(rows, key=lambda r: r["paper"]["id"])


def test_round_trip_embedded_to_chroma_server(
    seed_library: Library, embedder: Any, chroma_server: str, tmp_path: Path
) -> None:
    export = tmp_path / "library.jsonl"
    out = papers_json("export", str(export), "--json")
    assert (out["papers"], out["chunks"]) == (46, seed_library.chunk_count())
    header = json.loads(export.read_text(encoding="utf-8").splitlines()[0])
    assert header["embed_model"] == seed_library.model_name and header["embed_dim"] == embedder.dim
    assert header["papers"] == 46

    env = {"PAPERS_CHROMA_URL": chroma_server, "PAPERS_COLLECTION": "team_library"}
    first = papers_json("import", str(export), "--json", env=env)
    assert (first["added"], first["updated"], first["unchanged"]) == (46, 0, 0)
    assert first["chunks"] == seed_library.chunk_count() and first["location"] == chroma_server
    again = papers_json("import", str(export), "--json", env=env)
    assert (again["added"], again["updated"], again["unchanged"], again["chunks"]) == (0, 0, 46, 0)

    # Same papers, same chunk count, as the CLI sees them on the server.
    embedded_list = papers_json("list", "--json")
    server_list = papers_json("list", "--json", env=env)
    assert server_list == embedded_list
    stats = papers_json("stats", "--json", env=env)
    assert stats["papers"] == 46
    assert stats["chunks"] == stats["chroma_chunks"] == stats["bm25_chunks"] == seed_library.chunk_count()

    server = Library(_server_settings(chroma_server, "team_library", tmp_path / "client"))
    try:
        # The very vectors, not re-embedded ones (Chroma re-normalises cosine vectors on insert,
        # which moves the last float32 bit).
        ours, theirs = _vectors(seed_library), _vectors(server)
        assert ours.keys() == theirs.keys()
        assert max(float(np.abs(ours[c] - theirs[c]).max()) for c in ours) < 1e-6
        # Same search results: papers, order, scores and evidence chunks.
        assert _search_rows(server, embedder) == _search_rows(seed_library, embedder)
        # And back: an export of the server library holds the same papers as the original file.
        back = tmp_path / "from-server.jsonl"
        report = export_library(server, back)
        assert (report.papers, report.chunks) == (46, seed_library.chunk_count())
        assert _body_lines(back) == _body_lines(export)
    finally:
        server.close()


def test_model_mismatch_is_refused_with_one_line(seed_library: Library, tmp_path: Path) -> None:
    export = tmp_path / "library.jsonl"
    papers_json("export", str(export), "--json")
    other = tmp_path / "other"
    done = papers("import", str(export), env={"PAPERS_DATA_DIR": str(other), "PAPERS_EMBED_MODEL": "openai:embed-x"})
    assert_one_line_error(done, "sentence-transformers/all-MiniLM-L6-v2", "openai:embed-x", "same model")
    # Nothing was written.
    assert papers_json("list", "--json", env={"PAPERS_DATA_DIR": str(other)}) == []


def test_a_file_of_another_dimension_is_refused(seed_library: Library, tmp_path: Path) -> None:
    export = tmp_path / "library.jsonl"
    export_library(seed_library, export)
    lines = export.read_text(encoding="utf-8").splitlines()
    header = json.loads(lines[0])
    header["embed_dim"] = 768
    export.write_text("\n".join([json.dumps(header), *lines[1:]]) + "\n", encoding="utf-8")
    done = papers("import", str(export))
    assert_one_line_error(done, "768 dims", "384 dims")


def test_damaged_files_name_the_line(seed_library: Library, tmp_path: Path) -> None:
    not_export = tmp_path / "papers.jsonl"
    not_export.write_text('{"id": "x", "title": "A paper"}\n', encoding="utf-8")
    assert_one_line_error(papers("import", str(not_export)), f"{not_export}:1", "not a `papers export` file")
    assert_one_line_error(papers("import", str(tmp_path / "missing.jsonl")), "cannot read")

    export = tmp_path / "library.jsonl"
    export_library(seed_library, export)
    lines = export.read_text(encoding="utf-8").splitlines()
    bad = json.loads(lines[3])
    bad["chunks"][0]["embedding"] = bad["chunks"][0]["embedding"][:40]  # a truncated vector
    damaged = tmp_path / "damaged.jsonl"
    damaged.write_text("\n".join([*lines[:3], json.dumps(bad), *lines[4:]]) + "\n", encoding="utf-8")
    target = {"PAPERS_DATA_DIR": str(tmp_path / "target")}
    assert_one_line_error(papers("import", str(damaged), env=target), f"{damaged}:4", "not a valid paper line")


def test_imported_paper_with_sections_stays_unchanged_on_reingest(embedder: Any, tmp_path: Path) -> None:
    """A PDF's record carries no body sections; the exported content hash must survive the move, or
    re-ingesting the same PDF after a migration would re-embed it."""
    paper = Paper(
        id="pdf:demo",
        title="Sparse attention for long documents",
        abstract="We study sparse attention patterns for long document understanding.",
        sections=[
            Section(heading="Method", text="Block-sparse attention with global tokens. " * 40),
            Section(heading="Results", text="The model matches dense attention at a fraction of the cost. " * 40),
        ],
        source="demo.pdf",
    )
    src = Library(Settings(_env_file=None, data_dir=tmp_path / "src"))  # type: ignore[call-arg]
    dst = Library(Settings(_env_file=None, data_dir=tmp_path / "dst"))  # type: ignore[call-arg]
    try:
        settings = src.settings
        assert write_papers([paper], src, lambda: embedder, settings).added == 1
        assert src.chunk_count() > 2
        export_library(src, tmp_path / "one.jsonl")
        report = import_library(dst, tmp_path / "one.jsonl")
        assert (report.added, report.chunks) == (1, src.chunk_count())
        assert dst.chunks_of("pdf:demo") == src.chunks_of("pdf:demo")
        again = write_papers([paper], dst, lambda: embedder, dst.settings)
        assert (again.unchanged, again.updated, again.embedded) == (1, 0, 0)
    finally:
        src.close()
        dst.close()
