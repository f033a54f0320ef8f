"""The two stores (Chroma + one SQLite file) and the one place that knows whether they agree.

Covers what the SIGKILL tests (tests/test_crash_safety.py) do not reach from outside: a write that
fails inside Chroma, an exception between writes, the BM25 rows round trip, the writer lock's
message, and a library left in the layout before one store (manifest.sqlite + bm25.npz/json).
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from assistant.errors import LibraryBusyError, LibraryError
from assistant.index.bm25 import BM25Index
from assistant.library.library import Library
from assistant.library.store.manifest import LEGACY_FILES, STORE_FILE, Manifest
from assistant.models import Chunk, Paper
from assistant.settings import Settings

DIM = 8


def _settings(data_dir: Path, **extra: Any) -> Settings:
    return Settings(_env_file=None, data_dir=data_dir, embed_model="openai:hash-embed", **extra)  # type: ignore[call-arg]


def _item(pid: str, text: str, n_chunks: int = 1) -> tuple[Paper, list[Chunk], np.ndarray]:
    paper = Paper(id=pid, title=f"Title of {pid}", abstract=text)
    h = paper.content_hash()
    chunks = [
        Chunk(id=f"{pid}::{h}::{k}", paper_id=pid, index=k, text=f"{text} part {k}") for k in range(n_chunks)
    ]
    vecs = np.random.default_rng(len(pid)).random((n_chunks, DIM), dtype=np.float32)
    return paper, chunks, vecs


def _agree(lib: Library) -> set[str]:
    chroma = set(lib.collection.get(include=[])["ids"])
    store = {c for p in lib.hashes() for c in lib.manifest.chunk_ids(p)}
    assert chroma == store == lib.bm25.live_ids()
    return chroma


def _store(data_dir: Path) -> Manifest:
    return Manifest(data_dir / "cache" / "papers" / STORE_FILE)


class _FailsAfterOneChunk:
    """A collection whose upsert writes the first chunk and then fails, as a dying Chroma server might."""

    def __init__(self, real: Any) -> None:
        self.real = real

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def upsert(self, **kw: Any) -> None:
        self.real.upsert(**{k: v[:1] for k, v in kw.items()})
        raise RuntimeError("connection reset")


def test_a_write_that_fails_inside_chroma_is_repaired_from_chroma(data_dir: Path) -> None:
    lib = Library(_settings(data_dir))
    with lib.writing():
        lib.write([_item("kept", "zebrafish fin regeneration")])
    real = lib.collection
    lib.collection = _FailsAfterOneChunk(real)
    with pytest.raises(LibraryError, match="connection reset"), lib.writing():
        lib.write([_item("half", "quasar spectra redshift", n_chunks=3)])
    lib.collection = real
    assert _store(data_dir).generation() is None  # the store does not claim what it cannot know
    assert lib.reconcile() is False  # rebuilt from Chroma: the half-written paper's chunk was dropped
    assert _agree(lib) == {c.id for c in _item("kept", "zebrafish fin regeneration")[1]}
    assert lib.reconcile() is True and lib.lexical("quasar", 5) == []
    lib.close()


def test_an_exception_between_writes_commits_what_reached_both(data_dir: Path) -> None:
    lib = Library(_settings(data_dir))
    with pytest.raises(KeyError), lib.writing():
        lib.write([_item("a", "tardigrade desiccation")])
        raise KeyError("the embedder failed on the next batch")
    assert lib.reconcile() is True  # no rebuild needed: nothing was half-way
    assert _store(data_dir).generation() == lib.generation
    lib.close()
    again = Library(_settings(data_dir))  # lazily: the committed store is trusted
    assert again.count() == 1
    assert [c for c, _ in again.lexical("tardigrade", 3)] == again.manifest.chunk_ids("a")
    again.close()


def test_bm25_rows_round_trip_through_the_store(tmp_path: Path) -> None:
    texts = {
        "c1": "Multigrid solvers for elliptic equations",
        "c2": "Elliptic curves in cryptography",
        "c3": "Solvers, solvers and more solvers",
    }
    built = BM25Index()
    postings = built.add(texts.items())
    built.remove(["c2"])
    store = Manifest(tmp_path / STORE_FILE)
    store.put_many([({"id": "p"}, "h", ["c1", "c3"])], postings, built.vocab)
    stored = store.postings()
    assert stored is not None and stored.ids == ["c1", "c3"] and stored.vocab == list(built.vocab)
    again = BM25Index.from_postings(*stored)
    for query in ("elliptic solver", "multigrid", "cryptography", "solvers"):
        assert again.search(query, 5) == built.search(query, 5)
    with pytest.raises(ValueError):  # term ids beyond the vocabulary
        BM25Index.from_postings(["only"], *stored[1:])
    store.close()


def test_a_second_writer_gets_one_line_naming_the_holder(data_dir: Path) -> None:
    first = Library(_settings(data_dir))
    second = Library(_settings(data_dir, lock_timeout_s=0.3))
    with first.writing():
        with pytest.raises(LibraryBusyError) as info, second.writing():
            pass
        assert str(info.value) == f"library is being updated by process {os.getpid()}; try again when it finishes"
    with second.writing():  # released: the next writer gets its turn
        second.write([_item("b", "narwhal tusk sensing")])
    first.refresh_if_stale()
    assert first.count() == 1  # the other object sees the write
    first.close()
    second.close()


def _write_old_layout(cache: Path, lib: Library) -> None:
    """What the code before one store left in cache/<key>/: manifest.sqlite (dirty=0, stamped) + bm25 files."""
    db = sqlite3.connect(cache / "manifest.sqlite")
    db.executescript(
        """
        CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);
        CREATE TABLE papers(id TEXT PRIMARY KEY, hash TEXT, n_chunks INTEGER, title TEXT, year INTEGER,
            authors TEXT, tags TEXT, source TEXT, record TEXT);
        CREATE TABLE chunks(id TEXT PRIMARY KEY, paper_id TEXT);
        """
    )
    for key, value in (("generation", lib.generation), ("dirty", "0"), ("embed_model", lib.model_name)):
        db.execute("INSERT INTO meta VALUES(?,?)", (key, value))
    for record in lib.manifest.records():
        ids = lib.manifest.chunk_ids(record["id"])
        db.execute(
            "INSERT INTO papers(id, n_chunks, title, record) VALUES(?,?,?,?)",
            (record["id"], len(ids), record["title"], json.dumps(record)),
        )
        db.executemany("INSERT INTO chunks VALUES(?,?)", [(c, record["id"]) for c in ids])
    db.commit()
    db.close()
    stored = lib.manifest.postings()
    assert stored is not None
    np.savez(
        cache / "bm25.npz",
        data=np.frombuffer(stored.tfs, np.float32),
        indices=np.frombuffer(stored.terms, np.int32),
        indptr=np.concatenate([[0], np.cumsum(stored.sizes)]).astype(np.int64),
        lengths=np.asarray(stored.lengths, np.float32),
        df=np.zeros(len(stored.vocab), np.int64),
    )
    (cache / "bm25.json").write_text(json.dumps({"vocab": stored.vocab, "ids": stored.ids, "generation": "x"}))


def test_a_library_in_the_old_layout_opens_by_rebuilding_from_chroma(data_dir: Path) -> None:
    lib = Library(_settings(data_dir))
    with lib.writing():
        lib.write([_item(f"p{i}", f"axolotl limb study number {i}", n_chunks=1 + i % 3) for i in range(12)])
    ids = _agree(lib)
    cache = lib.cache_dir
    _write_old_layout(cache, lib)
    lib.close()
    for name in os.listdir(cache):
        if name.startswith(STORE_FILE):
            (cache / name).unlink()  # as if the new code had never run here

    old = Library(_settings(data_dir))
    assert old.count() == 12 and _agree(old) == ids
    assert len(old.lexical("axolotl", 50)) == len(ids)
    assert not any((cache / name).exists() for name in LEGACY_FILES)  # the old files are gone
    old.close()
    store = _store(data_dir)
    assert store.generation() is not None and store.chunk_count() == len(ids)  # committed: next open is lazy
    store.close()
