"""Crash-safe ingest and one writer at a time, on a real embedded library with real processes.

The ingests here embed through the OpenAI-compatible /embeddings backend served by the local test
server: what is under test is the write path (Chroma, and the SQLite store with papers + BM25
postings) under SIGKILL, and a fast embedder lets the kills land all along a 1,000-paper ingest
instead of inside the first batch. After every kill the store is first read as the killed process
left it: it either carries no generation (the next open rebuilds it) or carries Chroma's generation
and exactly Chroma's chunks, each with its postings. There is no third state.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from assistant.library.library import Library
from assistant.library.store.lock import PID_FILE
from assistant.library.store.manifest import STORE_FILE, Manifest
from assistant.settings import Settings
from bench.corpus import write_jsonl
from tests import compass

PAPERS = str(Path(sys.executable).parent / "papers")


@pytest.fixture()
def embed_env(llm_server):  # type: ignore[no-untyped-def]
    return {"PAPERS_EMBED_MODEL": "openai:hash-embed", "PAPERS_EMBED_BASE_URL": llm_server.url}


def _env(data_dir: Path, base: dict[str, str], **extra: str) -> dict[str, str]:
    return {**os.environ, "PAPERS_DATA_DIR": str(data_dir), **base, **extra}


def _writer_pid(data_dir: Path) -> str:
    note = data_dir / PID_FILE
    return note.read_text().strip() if note.exists() else ""


def _wait_for_writer(proc: subprocess.Popen[Any], data_dir: Path, timeout: float = 120) -> bool:
    """True once `proc` holds the write lock (it is writing), False if it exited first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        if _writer_pid(data_dir) == str(proc.pid):
            return True
        time.sleep(0.05)
    raise AssertionError("ingest never started writing")


def _store_as_left(data_dir: Path) -> bool:
    """Before anything repairs it: True if the store claims to mirror Chroma, and then it does exactly."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    client = chromadb.PersistentClient(str(data_dir / "chroma"), settings=ChromaSettings(anonymized_telemetry=False))
    collection = client.get_collection("papers")
    store = Manifest(data_dir / "cache" / "papers" / STORE_FILE)
    try:
        generation = store.generation()
        if generation is None:
            return False  # a write was in flight: untrusted until rebuilt
        assert generation == str((collection.metadata or {}).get("generation", ""))
        stored = store.postings()
        assert stored is not None, "a committed chunk without postings"
        assert set(stored.ids) == set(collection.get(include=[])["ids"]) and len(stored.ids) == len(set(stored.ids))
        assert max(memoryview(stored.terms).cast("i"), default=-1) < len(stored.vocab)
        assert sum(stored.sizes) * 4 == len(stored.terms) == len(stored.tfs)
        return True
    finally:
        store.close()


def _check_consistent(data_dir: Path) -> tuple[int, int]:
    """Chroma, the store's papers and BM25 agree; every paper has exactly its complete chunk set."""
    _store_as_left(data_dir)
    lib = Library(Settings(_env_file=None, data_dir=data_dir), check_model=False)  # type: ignore[call-arg]
    try:
        got = lib.collection.get(include=["documents", "metadatas"])
        chroma_ids = set(got["ids"])
        assert len(chroma_ids) == len(got["ids"])
        manifest_ids = {c for p in lib.papers() for c in lib.manifest.chunk_ids(p.id)}
        assert chroma_ids == manifest_ids == lib.bm25.live_ids()
        assert lib.reconcile(for_writing=True) is True  # nobody writes now: the on-disk store, agreeing
        assert _store_as_left(data_dir) is True  # ... and committed so: the next process opens lazily
        docs = got["documents"] or []
        assert len(set(docs)) == len(docs), "duplicate chunk texts"
        per_paper: dict[str, list[dict]] = {}
        for meta in got["metadatas"] or []:
            per_paper.setdefault(str(meta["paper_id"]), []).append(dict(meta))
        for rows in per_paper.values():
            assert len({r["content_hash"] for r in rows}) == 1
            assert sorted(int(r["chunk_index"]) for r in rows) == list(range(int(rows[0]["n_chunks"])))
        assert set(per_paper) == {p.id for p in lib.papers()}
        return lib.count(), len(chroma_ids)
    finally:
        lib.close()


@pytest.mark.slow
def test_sigkill_at_random_points_then_rerun(tmp_path: Path, data_dir: Path, embed_env, llm_server) -> None:  # type: ignore[no-untyped-def]
    # The embedding server's pace, not the pipeline's (which keeps getting faster), sets how long the
    # ingest writes: 0.1 s per 16-paper batch is >= 6.25 s for 1,000 papers, more than the 5.7 s the
    # 10 seeded kill delays add up to, so every kill lands inside the ingest on any machine.
    llm_server.embed_delay_s = 0.1
    corpus = write_jsonl(tmp_path / "corpus.jsonl", 1000)
    rng = random.Random(20261126)
    points: list[tuple[float, int]] = []
    while len(points) < 10:
        proc = subprocess.Popen(
            [PAPERS, "ingest", str(corpus), "--json"],
            env=_env(data_dir, embed_env, PAPERS_EMBED_BATCH_SIZE="4"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if not _wait_for_writer(proc, data_dir):
            pytest.fail(f"ingest finished before crash point {len(points) + 1}; exit {proc.returncode}")
        delay = rng.uniform(0.0, 1.5)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        papers, _chunks = _check_consistent(data_dir)
        points.append((round(delay, 2), papers))
    done = subprocess.run(
        [PAPERS, "ingest", str(corpus), "--json"],
        env=_env(data_dir, embed_env),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["added"] + report["unchanged"] == 1000 and report["failed"] == 0
    papers, chunks = _check_consistent(data_dir)
    assert papers == 1000 and chunks >= 1000
    compass.record("crash points survived", len(points), f"seconds after writing began, papers present: {points}")


@pytest.mark.slow
def test_second_writer_is_told_who_holds_the_library(
    tmp_path: Path, data_dir: Path, embed_env, llm_server
) -> None:  # type: ignore[no-untyped-def]
    # A slow embedding server keeps the first writer busy for seconds, whatever the machine's load.
    llm_server.embed_delay_s = 0.5
    corpus = write_jsonl(tmp_path / "corpus.jsonl", 400, seed=3)
    first = subprocess.Popen(
        [PAPERS, "ingest", str(corpus), "--json"],
        env=_env(data_dir, embed_env, PAPERS_EMBED_BATCH_SIZE="4"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert _wait_for_writer(first, data_dir)
    second = subprocess.run([PAPERS, "ingest", "--json"], env=_env(data_dir, embed_env), capture_output=True, text=True)
    reader = subprocess.run([PAPERS, "list", "--json"], env=_env(data_dir, embed_env), capture_output=True, text=True)
    waiting = subprocess.Popen(
        [PAPERS, "ingest", "--json"],
        env=_env(data_dir, embed_env, PAPERS_LOCK_TIMEOUT_S="300"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out, err = first.communicate(timeout=600)
    assert first.returncode == 0, err
    w_out, w_err = waiting.communicate(timeout=600)

    assert second.returncode == 2
    assert f"library is being updated by process {first.pid}" in second.stderr
    assert len(second.stderr.strip().splitlines()) == 1  # one readable line, no traceback
    assert reader.returncode == 0, reader.stderr  # readers keep working during the write
    assert isinstance(json.loads(reader.stdout), list)
    assert waiting.returncode == 0, w_err  # a writer told to wait gets its turn
    assert json.loads(w_out)["added"] == 46
    papers, _ = _check_consistent(data_dir)
    assert papers == 400 + 46


# A writer of many small batches (a commit every few papers, updates and removes among them), so
# the kills land before, inside and after the store's commit, not only inside one long ingest.
SMALL_BATCHES = """
import sys
import numpy as np
from assistant.library.library import Library
from assistant.models import Chunk, Paper
from assistant.settings import Settings

lib = Library(Settings(_env_file=None, data_dir=sys.argv[1], embed_model="openai:hash-embed"), check_model=False)
rng = np.random.default_rng(int(sys.argv[2]))
n = lib.count()
while True:
    with lib.writing():
        for _ in range(3):
            i = int(rng.integers(0, n + 2))  # mostly new papers, some rewritten with new text
            words = " ".join(f"w{int(x)}" for x in rng.integers(0, 500, 40))
            paper = Paper(id=f"p{i}", title=f"Paper {i}", abstract=words, source="test")
            h = paper.content_hash()
            chunks = [
                Chunk(id=f"{paper.id}::{h}::{k}", paper_id=paper.id, index=k, text=f"{words} part {k}")
                for k in range(1 + i % 3)
            ]
            lib.write([(paper, chunks, rng.random((len(chunks), 8), dtype=np.float32))])
            n = max(n, i + 1)
        if rng.random() < 0.3 and n > 5:
            lib.remove([f"p{int(rng.integers(0, n))}"])
"""


@pytest.mark.slow
def test_sigkill_between_and_inside_small_commits(data_dir: Path) -> None:
    rng = random.Random(20261202)
    committed = 0
    for seed in range(8):
        proc = subprocess.Popen(
            [sys.executable, "-c", SMALL_BATCHES, str(data_dir), str(seed)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        assert _wait_for_writer(proc, data_dir), proc.stderr.read() if proc.stderr else ""
        time.sleep(rng.uniform(0.0, 1.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        committed += _store_as_left(data_dir)  # left committed (mirroring Chroma exactly), or untrusted
        papers, chunks = _check_consistent(data_dir)
        assert chunks >= papers
    compass.record("small-commit kills that found the store committed", committed, "of 8 (the rest: rebuilt)")
