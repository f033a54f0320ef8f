"""Chroma and BM25 stay in step through add, update and remove; a model change is refused clearly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.errors import ModelMismatchError
from assistant.library.library import Library
from assistant.settings import get_settings
from tests.support import assert_one_line_error, ingest_files, papers

LONG_BODY = " ".join(
    f"Paragraph {i} studies multigrid preconditioners for elliptic operators on adaptive meshes "
    f"and reports convergence factor number {i} for the smoother sweep."
    for i in range(120)
)


def _all_chroma_ids(lib: Library) -> set[str]:
    return set(lib.collection.get(include=[])["ids"])


def assert_consistent(lib: Library) -> set[str]:
    """Chroma, BM25 and the manifest hold exactly the same chunk ids."""
    chroma = _all_chroma_ids(lib)
    manifest = {c for p in lib.hashes() for c in lib.manifest.chunk_ids(p)}
    assert chroma == lib.bm25.live_ids() == manifest
    assert lib.collection.count() == len(lib.bm25) == lib.chunk_count() == len(chroma)
    return chroma


def _write(path: Path, rows: list[dict[str, str]]) -> Path:
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def test_update_and_remove_keep_chroma_and_bm25_in_step(
    seed_library: Library, tmp_path: Path, embedder  # type: ignore[no-untyped-def]
) -> None:
    settings = get_settings()
    lib = seed_library
    seed_ids = assert_consistent(lib)
    multigrid = {
        "id": "mg",
        "title": "Adaptive multigrid smoothers",
        "abstract": "We propose zanzibarite smoothing for multigrid.",
        "text": LONG_BODY,
    }
    other = {"id": "other", "title": "An unrelated note", "abstract": "Bees prefer blue flowers in spring."}
    src = _write(tmp_path / "v1.jsonl", [multigrid, other])
    report = ingest_files([src], lib, embedder, settings)
    assert (report.added, report.failed) == (2, 0)
    old = {cid for cid, _ in lib.chunks_of("mg")}
    assert len(old) > 2  # the long body spans several chunks
    assert old <= assert_consistent(lib)
    assert {cid for cid, _ in lib.lexical("zanzibarite", 5)} & old

    # Change the abstract: the old chunks leave Chroma and BM25, the new ones enter both.
    changed = {**multigrid, "abstract": "We propose quokkaline smoothing for multigrid."}
    src2 = _write(tmp_path / "v2.jsonl", [changed, other])
    report = ingest_files([src2], lib, embedder, settings)
    assert (report.updated, report.unchanged, report.added) == (1, 1, 0)
    new = {cid for cid, _ in lib.chunks_of("mg")}
    assert new and not (new & old)
    ids = assert_consistent(lib)
    assert new <= ids and not (old & ids)
    assert lib.collection.get(ids=sorted(old), include=[])["ids"] == []
    assert not (old & lib.bm25.live_ids())
    assert lib.lexical("zanzibarite", 5) == []
    assert {cid for cid, _ in lib.lexical("quokkaline", 5)} <= new
    assert lib.get("mg").abstract == changed["abstract"]  # type: ignore[union-attr]

    # Remove: gone from both, the rest untouched.
    assert lib.remove(["mg", "not-there"]) == ["mg"]
    ids = assert_consistent(lib)
    assert not (new & ids) and lib.get("mg") is None
    assert ids == seed_ids | {cid for cid, _ in lib.chunks_of("other")}
    assert lib.lexical("quokkaline", 5) == []

    # A fresh process's view (reopened from disk) agrees.
    lib.close()
    reopened = Library(settings)
    try:
        assert assert_consistent(reopened) == ids
        assert reopened.count() == 47 and reopened.get("mg") is None
    finally:
        reopened.close()


def test_duplicate_in_one_run_is_written_once(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    settings = get_settings()
    lib = Library(settings)
    row = {"title": "Twice listed", "abstract": "The same paper appears twice in one file."}
    src = _write(tmp_path / "dup.jsonl", [row, row])
    report = ingest_files([src], lib, embedder, settings)
    assert (report.added, report.failed) == (1, 1)
    assert report.errors[0].line == 2 and "duplicate paper id" in report.errors[0].message
    assert lib.count() == 1 and len(assert_consistent(lib)) == 1


def test_model_mismatch_is_refused_with_reindex_hint(
    seed_library: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_library.close()
    other = "sentence-transformers/paraphrase-MiniLM-L3-v2"
    monkeypatch.setenv("PAPERS_EMBED_MODEL", other)
    get_settings.cache_clear()
    with pytest.raises(ModelMismatchError) as info:
        Library(get_settings())
    msg = str(info.value)
    assert "run `papers reindex`" in msg
    assert "sentence-transformers/all-MiniLM-L6-v2" in msg and other in msg

    # The CLI says the same in one line, without a traceback, and fails.
    line = assert_one_line_error(papers("ingest", "--json"), "papers reindex", other)
    assert line.startswith("error: the library at ")


def test_another_writers_changes_are_seen_without_a_rebuild(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    """A reader (the app) catches up with a second process's write from the store's rows: it sees
    the new generation (Chroma's collection metadata fetched again), searches the new paper, and
    does not rebuild from Chroma on each refresh."""
    settings = get_settings()
    reader, writer = Library(settings), Library(settings)
    try:
        first = {"id": "a", "title": "Solar panels", "abstract": "Photovoltaic cells convert sunlight."}
        ingest_files([_write(tmp_path / "a.jsonl", [first])], reader, embedder, settings)
        assert reader.lexical("photovoltaic", 3) and reader.reconcile()
        second = {"id": "b", "title": "Beekeeping", "abstract": "Honeybees forage on clover fields."}
        ingest_files([_write(tmp_path / "b.jsonl", [second])], writer, embedder, settings)
        before = reader.generation
        reader.refresh_if_stale()
        assert reader.generation == writer.generation != before
        assert [cid for cid, _ in reader.lexical("honeybees clover", 3)] == [cid for cid, _ in writer.chunks_of("b")]
        assert reader.reconcile()  # in agreement: the next refresh rebuilds nothing
        assert_consistent(reader)
    finally:
        reader.close()
        writer.close()
