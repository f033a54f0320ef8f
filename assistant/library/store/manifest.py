"""The library's SQLite store: papers, chunks with their BM25 postings, and one generation stamp.

Why one file: the manifest (which papers and chunks Chroma holds) and the lexical index (each
chunk's postings) describe the same chunks, so they are the same rows (`chunks` carries the
postings) and change in one SQLite transaction together with the generation that says which Chroma
state they mirror. There is one commit point: a crash before it leaves the last committed state.

The generation: every write gives Chroma's collection metadata a new `generation`. The store's
`generation` is the Chroma generation its rows mirror, and is absent while a write is in flight (or
after a writer died), so a reader that never opens Chroma (the lazy path) knows not to trust it.
Whether the two stores agree is decided in one place, `Library.reconcile` (assistant/library/library.py).

A library in the layout before this store (cache/<key>/manifest.sqlite + bm25.npz + bm25.json,
three stores each with its own stamp or dirty flag) has no `library.sqlite`, so it opens by
rebuilding the store from Chroma once, the path any stale store takes; there is no migration code
because Chroma holds everything the old files did. The old files are deleted once the rebuild
has committed (`remove_legacy_files`).

This module imports neither numpy nor the BM25 code: `papers list` reads it alone.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from assistant.index.bm25 import BM25Index

STORE_FILE = "library.sqlite"
SCHEMA = "2"  # 1: manifest.sqlite + bm25.npz/bm25.json beside it (see LEGACY_FILES)
# The layout before one store: opened by rebuilding from Chroma, then deleted (Library.reconcile).
LEGACY_FILES = ("manifest.sqlite", "manifest.sqlite-wal", "manifest.sqlite-shm", "bm25.npz", "bm25.json")

Posting = tuple[int, bytes, bytes]  # as assistant.index.bm25.Posting: token count, term ids, term frequencies
Entry = tuple[dict[str, Any], str, Sequence[str]]  # (paper record, content hash, chunk ids in order)

class StoredPostings(NamedTuple):
    """The BM25 rows as stored: chunk ids in order, and their postings concatenated in that order."""

    vocab: list[str]  # term of each column
    ids: list[str]
    lengths: list[int]  # tokens per chunk
    sizes: list[int]  # distinct terms per chunk
    terms: bytearray  # int32 term ids, chunk after chunk
    tfs: bytearray  # float32 term frequencies, same layout


_TABLES = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS papers(
    id TEXT PRIMARY KEY, hash TEXT, n_chunks INTEGER, title TEXT, year INTEGER,
    authors TEXT, tags TEXT, source TEXT, record TEXT);
CREATE TABLE IF NOT EXISTS chunks(id TEXT PRIMARY KEY, paper_id TEXT NOT NULL, length INTEGER, terms BLOB, tfs BLOB);
CREATE INDEX IF NOT EXISTS chunks_paper ON chunks(paper_id);
CREATE TABLE IF NOT EXISTS vocab(id INTEGER PRIMARY KEY, term TEXT NOT NULL);
"""


class Manifest:
    """paper id → content hash, chunk ids, record; chunk id → postings. A mirror of what Chroma holds.

    Thread-safe per statement. A transaction (`begin`…`commit`) is the writer's, which holds the
    library's write lock; other threads' reads on this connection see its rows as they are written.
    """

    def __init__(self, path: Path | None) -> None:
        """path None: a private in-memory view without postings (a reader's while another process writes)."""
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(str(path) if path else ":memory:", check_same_thread=False, isolation_level=None)
        self._lock = threading.RLock()
        if path is not None:
            self._db.execute("PRAGMA journal_mode=WAL")  # readers in other processes never block the writer
            self._db.execute("PRAGMA synchronous=NORMAL")  # a power cut may lose the last commit, never consistency
        tables = {r[0] for r in self._db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if tables and self.get_meta("schema") != SCHEMA:
            # Another layout under this name: it is only a mirror of Chroma, so start empty and rebuild.
            self._db.executescript("".join(f"DROP TABLE IF EXISTS {t};" for t in sorted(tables)))
            tables = set()
        if not {"meta", "papers", "chunks", "vocab"} <= tables:
            self._db.executescript(_TABLES)
            self.set_meta("schema", SCHEMA)

    # -- the generation -----------------------------------------------------------
    def generation(self) -> str | None:
        """The Chroma generation these rows mirror; None: unknown (never stamped, or a write in flight)."""
        return self.get_meta("generation")

    def mark_writing(self) -> None:
        """Committed at once, before Chroma changes: until the next stamp, nobody trusts these rows."""
        with self._lock:
            self._db.execute("DELETE FROM meta WHERE key='generation'")

    def stamp(self, generation: str, chroma_meta: Mapping[str, Any]) -> None:
        """These rows mirror Chroma at `generation` (and record its model, for lazy opens)."""
        model, dim = (str(chroma_meta.get(k) or "") for k in ("embed_model", "embed_dim"))
        with self._lock:
            self._db.executemany(
                "INSERT OR REPLACE INTO meta VALUES(?,?)",
                [("embed_model", model), ("embed_dim", dim), ("generation", generation)],
            )

    def get_meta(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO meta VALUES(?,?)", (key, value))

    # -- transactions ---------------------------------------------------------------
    def begin(self) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        with self._lock:
            self._db.execute("COMMIT")

    def rollback(self) -> None:
        with self._lock:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")

    @property
    def in_transaction(self) -> bool:
        return self._db.in_transaction

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """All or nothing; inside an open transaction it is simply part of that one."""
        if self._db.in_transaction:
            yield
            return
        self.begin()
        try:
            yield
        except BaseException:
            self.rollback()
            raise
        self.commit()

    # -- writing rows -----------------------------------------------------------------
    def clear(self) -> None:
        with self._lock, self.transaction():
            self._db.execute("DELETE FROM papers")
            self._db.execute("DELETE FROM chunks")
            self._db.execute("DELETE FROM vocab")

    def put_many(
        self,
        entries: Sequence[Entry],
        postings: Mapping[str, Posting] | None = None,
        vocab: Mapping[str, int] | None = None,
    ) -> None:
        """Papers with their chunks (replacing a paper's old chunks) in one transaction.

        `postings`: each chunk's BM25 row (a private view stores none). `vocab`: the BM25 index's
        term → column map; terms beyond those stored are appended (columns only ever grow).
        """
        if not entries:
            return
        none: Posting | tuple[None, None, None] = (None, None, None)
        with self._lock, self.transaction():
            self._db.executemany("DELETE FROM chunks WHERE paper_id=?", [(r["id"],) for r, _, _ in entries])
            self._db.executemany(
                "INSERT OR REPLACE INTO papers VALUES(?,?,?,?,?,?,?,?,?)",
                [
                    (
                        record["id"],
                        content_hash,
                        len(chunk_ids),
                        record.get("title", ""),
                        record.get("year"),
                        "; ".join(record.get("authors") or []),
                        ", ".join(record.get("tags") or []),
                        record.get("source", ""),
                        json.dumps(record, ensure_ascii=False),
                    )
                    for record, content_hash, chunk_ids in entries
                ],
            )
            self._db.executemany(
                "INSERT OR REPLACE INTO chunks VALUES(?,?,?,?,?)",
                [
                    (c, record["id"], *((postings or {}).get(c) or none))
                    for record, _, chunk_ids in entries
                    for c in chunk_ids
                ],
            )
            if vocab is not None:
                top = self._db.execute("SELECT MAX(id) FROM vocab").fetchone()[0]
                start = -1 if top is None else int(top)
                self._db.executemany(
                    "INSERT INTO vocab VALUES(?,?)",
                    ((i, t) for t, i in itertools.islice(vocab.items(), start + 1, None)),
                )

    def replace(
        self,
        entries: Sequence[Entry],
        lexical: tuple[Mapping[str, Posting], Mapping[str, int]] | None,
        generation: str,
        chroma_meta: Mapping[str, Any],
    ) -> None:
        """A rebuild: every row replaced and stamped in one transaction. `lexical`: (postings, vocab)."""
        with self._lock, self.transaction():
            self.clear()
            self.put_many(entries, *(lexical or (None, None)))
            self.stamp(generation, chroma_meta)

    def delete(self, paper_id: str) -> list[str]:
        with self._lock, self.transaction():
            ids = [r[0] for r in self._db.execute("SELECT id FROM chunks WHERE paper_id=?", (paper_id,))]
            self._db.execute("DELETE FROM chunks WHERE paper_id=?", (paper_id,))
            self._db.execute("DELETE FROM papers WHERE id=?", (paper_id,))
        return ids

    # -- reading ----------------------------------------------------------------------
    def postings(self) -> StoredPostings | None:
        """Every chunk's BM25 row in stored order, for BM25Index.from_postings; None if a row has none.

        Read in batches into one growing buffer per array: holding all rows as Python objects, then
        joining them, then converting, cost ~50 MB more peak memory at 10^5 chunks (docs/STORAGE.md).
        """
        ids: list[str] = []
        lengths: list[int] = []
        sizes: list[int] = []
        terms, tfs = bytearray(), bytearray()
        with self._lock:
            vocab = [r[0] for r in self._db.execute("SELECT term FROM vocab ORDER BY id")]
            cursor = self._db.execute("SELECT id, length, terms, tfs FROM chunks ORDER BY rowid")
            while batch := cursor.fetchmany(20_000):
                # A plain loop: measured faster than zip(*batch) + b"".join per column (0.24 s vs 0.31 s
                # at 10^5 chunks), of which 0.15 s is SQLite handing the rows over.
                for cid, length, t, f in batch:
                    if t is None or f is None:
                        return None
                    ids.append(cid)
                    lengths.append(length)
                    sizes.append(len(t) >> 2)  # int32: 4 bytes a term
                    terms += t
                    tfs += f
        return StoredPostings(vocab, ids, lengths, sizes, terms, tfs)

    def hashes(self) -> dict[str, str]:
        with self._lock:
            return dict(self._db.execute("SELECT id, hash FROM papers"))

    def chunk_ids(self, paper_id: str) -> list[str]:
        with self._lock:
            return [r[0] for r in self._db.execute("SELECT id FROM chunks WHERE paper_id=?", (paper_id,))]

    def chunk_counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._db.execute("SELECT id, n_chunks FROM papers"))

    def records(self, ids: Iterable[str] | None = None) -> list[dict[str, Any]]:
        with self._lock:
            if ids is None:
                rows = self._db.execute("SELECT record FROM papers ORDER BY title").fetchall()
            else:
                wanted = list(ids)
                rows = []
                for i in range(0, len(wanted), 500):
                    part = wanted[i : i + 500]
                    q = f"SELECT record FROM papers WHERE id IN ({','.join('?' * len(part))})"
                    rows.extend(self._db.execute(q, part).fetchall())
        return [json.loads(r[0]) for r in rows]

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM papers").fetchone()[0])

    def chunk_count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0])

    def filter_ids(
        self,
        year_from: int | None = None,
        year_to: int | None = None,
        author: str | None = None,
        tag: str | None = None,
    ) -> set[str]:
        clauses: list[str] = []
        args: list[Any] = []
        if year_from is not None:
            clauses.append("year >= ?")
            args.append(year_from)
        if year_to is not None:
            clauses.append("year <= ?")
            args.append(year_to)
        if author:
            clauses.append("lower(authors) LIKE ?")
            args.append(f"%{author.lower()}%")
        if tag:
            clauses.append("(', ' || lower(tags) || ', ') LIKE ?")
            args.append(f"%, {tag.lower()}, %")
        where = " AND ".join(clauses) or "1"
        with self._lock:
            return {r[0] for r in self._db.execute(f"SELECT id FROM papers WHERE {where}", args)}

    def close(self) -> None:
        """Idempotent; an open transaction is dropped (its writer did not commit)."""
        with self._lock:
            with contextlib.suppress(sqlite3.ProgrammingError):  # already closed
                self.rollback()
            self._db.close()


def load_bm25(store: Manifest) -> BM25Index | None:
    """The in-memory BM25 index from the store's rows; None when they cannot make one (rebuild instead)."""
    from assistant.index.bm25 import BM25Index

    stored = store.postings()
    if stored is None:
        return None
    try:
        return BM25Index.from_postings(*stored)
    except ValueError:
        return None


def remove_legacy_files(directory: Path) -> None:
    """After a rebuild has committed: the files of the layout before one store are no longer read."""
    for name in LEGACY_FILES:
        with contextlib.suppress(OSError):
            (directory / name).unlink()
