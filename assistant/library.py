"""The library: chunks + embeddings in Chroma, a BM25 index beside them, and a small manifest.

Chroma is the source of truth. Every chunk carries its paper's content hash and chunk count, so a
write interrupted at any point is found and repaired on the next open: a paper counts only when all
of its chunks with one hash are present. The manifest (SQLite) and BM25 index are caches stamped
with the collection's generation; a stale or damaged cache is rebuilt from Chroma.

Chroma is used directly rather than through llama-index's ChromaVectorStore: that store writes a
serialized node JSON into every chunk's metadata and runs one query per call with no id-level
upserts, which doubles storage and fights the manifest's bookkeeping.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import sqlite3
import threading
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from assistant.embeddings import canonical_model_name, embedding_text
from assistant.errors import LibraryBusyError, LibraryError, ModelMismatchError
from assistant.models import Chunk, Paper
from assistant.settings import Settings

if TYPE_CHECKING:  # numpy and scipy (under BM25) load on first use: `papers list` never needs them
    import numpy as np

    from assistant.bm25 import BM25Index

_PAGE = 2000


def _scalar_meta(paper: Paper, chunk: Chunk, n_chunks: int, content_hash: str) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "paper_id": paper.id,
        "chunk_index": chunk.index,
        "n_chunks": n_chunks,
        "content_hash": content_hash,
        "section": chunk.section,
        "title": paper.title,
        "authors": "; ".join(paper.authors),
        "tags": ", ".join(paper.tags),
        "url": paper.url,
        "source": paper.source,
    }
    if paper.year is not None:
        meta["year"] = int(paper.year)
    if chunk.index == 0:
        meta["paper"] = json.dumps(paper.record(), ensure_ascii=False)
    return meta


class _WriteLock:
    """One writer per library directory; the holder's pid is written into the lock file."""

    def __init__(self, path: Path, timeout_s: float) -> None:
        self.path = path
        self.timeout_s = timeout_s
        self._fh: Any = None

    def acquire(self, timeout_s: float | None = None) -> None:
        import time

        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.path, "a+")
        deadline = time.monotonic() + (self.timeout_s if timeout_s is None else timeout_s)
        while True:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    fh.seek(0)
                    holder = fh.read().strip() or "unknown"
                    fh.close()
                    raise LibraryBusyError(
                        f"library is being updated by process {holder}; try again when it finishes"
                    ) from None
                time.sleep(0.2)
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        self._fh = fh

    def release(self) -> None:
        if self._fh is not None:
            self._fh.seek(0)
            self._fh.truncate()
            self._fh.flush()
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None

    @property
    def held(self) -> bool:
        return self._fh is not None


class Manifest:
    """paper id → content hash, chunk ids, record. A cache of what Chroma holds."""

    def __init__(self, path: Path | None) -> None:
        """path None: a private in-memory manifest (a reader's view while another process writes)."""
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path) if path else ":memory:", check_same_thread=False, isolation_level=None)
        if path is not None:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
        self._lock = threading.RLock()
        self._db.executescript(
            """
            CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);
            CREATE TABLE IF NOT EXISTS papers(
                id TEXT PRIMARY KEY, hash TEXT, n_chunks INTEGER, title TEXT, year INTEGER,
                authors TEXT, tags TEXT, source TEXT, record TEXT);
            CREATE TABLE IF NOT EXISTS chunks(id TEXT PRIMARY KEY, paper_id TEXT);
            CREATE INDEX IF NOT EXISTS chunks_paper ON chunks(paper_id);
            """
        )

    def get_meta(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO meta VALUES(?,?)", (key, value))

    def clear(self) -> None:
        with self._lock:
            self._db.executescript("DELETE FROM papers; DELETE FROM chunks;")

    def put(self, record: dict[str, Any], content_hash: str, chunk_ids: Sequence[str]) -> None:
        self.put_many([(record, content_hash, chunk_ids)])

    def put_many(self, entries: Sequence[tuple[dict[str, Any], str, Sequence[str]]]) -> None:
        """One transaction for many papers: per-paper commits cost more than the rows at 10^5 papers."""
        if not entries:
            return
        with self._lock:
            self._db.execute("BEGIN")
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
                "INSERT OR REPLACE INTO chunks VALUES(?,?)",
                [(c, record["id"]) for record, _, chunk_ids in entries for c in chunk_ids],
            )
            self._db.execute("COMMIT")

    def delete(self, paper_id: str) -> list[str]:
        with self._lock:
            ids = [r[0] for r in self._db.execute("SELECT id FROM chunks WHERE paper_id=?", (paper_id,))]
            self._db.execute("DELETE FROM chunks WHERE paper_id=?", (paper_id,))
            self._db.execute("DELETE FROM papers WHERE id=?", (paper_id,))
        return ids

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
        with self._lock:
            self._db.close()


def _make_client(settings: Settings) -> Any:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if not settings.chroma_url:
        path = settings.data_dir / "chroma"
        try:
            path.mkdir(parents=True, exist_ok=True)
            return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
        except Exception as exc:
            raise LibraryError(f"cannot open the library at {path}: {exc}") from exc
    url = urlparse(settings.chroma_url)
    if url.scheme not in ("http", "https") or not url.hostname:
        raise LibraryError(f"PAPERS_CHROMA_URL must look like http://host:port, got {settings.chroma_url!r}")
    import httpx

    try:
        httpx.get(f"{settings.chroma_url}/api/v2/heartbeat", timeout=settings.chroma_timeout_s).raise_for_status()
    except Exception as exc:
        raise LibraryError(
            f"cannot reach the Chroma server at {settings.chroma_url} "
            f"(within {settings.chroma_timeout_s:g}s): {type(exc).__name__}"
        ) from exc
    try:
        return chromadb.HttpClient(
            host=url.hostname,
            port=url.port or (443 if url.scheme == "https" else 80),
            ssl=url.scheme == "https",
            settings=chroma_settings,
        )
    except Exception as exc:
        raise LibraryError(f"cannot connect to the Chroma server at {settings.chroma_url}: {exc}") from exc


class Library:
    """Opening is lazy where it can be: an embedded library whose manifest was left clean by the last
    writer answers `count`, `hashes`, `papers`, `filter_ids` from the manifest alone, and Chroma (a
    second of imports) and the BM25 index are opened on first use. So `papers list` and an unchanged
    re-ingest never start Chroma. Every writer of an embedded library marks the manifest dirty before
    touching Chroma, so a clean manifest stamped with the last generation is what Chroma holds; a
    server library is always opened, since other clients write there without our manifest."""

    def __init__(self, settings: Settings, *, check_model: bool = True) -> None:
        self.settings = settings
        self.model_name = canonical_model_name(settings.embed_model)
        self.location = settings.chroma_url or str(settings.data_dir / "chroma")
        key = settings.collection
        if settings.chroma_url:
            key += "-" + hashlib.sha1(settings.chroma_url.encode()).hexdigest()[:8]
        self.cache_dir = settings.data_dir / "cache" / key
        self._lock = _WriteLock(settings.data_dir / "write.lock", settings.lock_timeout_s)
        self._mutex = threading.RLock()
        self._client: Any = None
        self._collection: Any = None
        self._bm25: BM25Index | None = None
        self._opened = self._opening = False
        self._disk_manifest = Manifest(self.cache_dir / "manifest.sqlite")
        self.manifest = self._disk_manifest
        self._outer_write = False
        if self._manifest_trusted():
            if check_model:
                self._check(self.manifest.get_meta("embed_model"), self.manifest.get_meta("embed_dim"))
        else:
            self._open(check_model)

    def _manifest_trusted(self) -> bool:
        m = self._disk_manifest
        return (
            not self.settings.chroma_url
            and (self.settings.data_dir / "chroma" / "chroma.sqlite3").exists()
            and m.get_meta("dirty") == "0"
            and bool(m.get_meta("generation"))
            and m.get_meta("embed_model") is not None
        )

    def _open(self, check_model: bool = False) -> None:
        """Connect to Chroma and load (or rebuild) the BM25 index; other threads wait until it is done."""
        with self._mutex:
            if self._opened or self._opening:  # done, or this thread is inside the opening
                return
            self._opening = True
            try:
                self._client = _make_client(self.settings)
                self._recover_reindex()
                self._collection = self._get_collection(self.settings.collection)
                if check_model:
                    self.check_model()
                self._sync()
                self._opened = True
            finally:
                self._opening = False

    @property
    def client(self) -> Any:
        if not self._opened:
            self._open()
        return self._client

    @property
    def collection(self) -> Any:
        if not self._opened:
            self._open()
        return self._collection

    @collection.setter
    def collection(self, value: Any) -> None:
        self._collection = value

    @property
    def bm25(self) -> BM25Index:
        if not self._opened:
            self._open()
        assert self._bm25 is not None
        return self._bm25

    @bm25.setter
    def bm25(self, value: BM25Index) -> None:
        self._bm25 = value

    # -- opening ----------------------------------------------------------------
    def _get_collection(self, name: str) -> Any:
        try:
            return self.client.get_or_create_collection(
                name=name,
                metadata={"hnsw:space": "cosine", "embed_model": self.model_name},
                embedding_function=None,
            )
        except Exception as exc:
            raise LibraryError(f"cannot open collection {name!r} at {self.location}: {exc}") from exc

    def _recover_reindex(self) -> None:
        """A reindex that crashed after dropping the old collection left its new one under a temp name."""
        names = {c if isinstance(c, str) else c.name for c in self.client.list_collections()}
        tmp = self.settings.collection + "__reindex"
        if tmp in names and self.settings.collection not in names:
            self.client.get_collection(tmp, embedding_function=None).modify(name=self.settings.collection)
        elif tmp in names:
            self.client.delete_collection(tmp)

    @property
    def meta(self) -> dict[str, Any]:
        return dict(self.collection.metadata or {})

    def check_model(self, dim: int | None = None) -> None:
        meta = self.meta
        self._check(meta.get("embed_model"), meta.get("embed_dim"), dim)

    def _check(self, built: Any, built_dim: Any, dim: int | None = None) -> None:
        if (built and built != self.model_name) or (dim and built_dim and int(built_dim) != dim):
            raise ModelMismatchError(
                f"the library at {self.location} was built with embedding model {built!r}"
                f" ({built_dim or '?'} dims) but PAPERS_EMBED_MODEL is {self.model_name!r}"
                f"{f' ({dim} dims)' if dim else ''}; run `papers reindex` to re-embed it with the new model"
            )

    def _set_meta(self, **updates: Any) -> None:
        meta = self.meta
        meta.update(updates)
        meta.pop("hnsw:space", None)  # fixed at creation; Chroma refuses to change it
        self.collection.modify(metadata=meta)

    @property
    def generation(self) -> str:
        return str(self.meta.get("generation", ""))

    def _sync(self) -> None:
        gen = self.generation
        from assistant.bm25 import BM25Index

        cached = BM25Index.load(self.cache_dir)
        if (
            cached is not None
            and cached.generation == gen
            and self.manifest.get_meta("generation") == gen
            and self.manifest.get_meta("dirty") != "1"
        ):
            self.bm25 = cached
            return
        self._rebuild_from_chroma()

    def _stamp_manifest(self, manifest: Manifest, generation: str) -> None:
        """The manifest now mirrors Chroma at `generation` (and records the model, for lazy opens)."""
        meta = self.meta
        manifest.set_meta("embed_model", str(meta.get("embed_model") or ""))
        manifest.set_meta("embed_dim", str(meta.get("embed_dim") or ""))
        manifest.set_meta("generation", generation)
        manifest.set_meta("dirty", "0")

    def refresh_if_stale(self) -> None:
        """Another process (or a team-mate on the server) may have written since we opened."""
        with self._mutex:
            if not self._outer_write and self.manifest.get_meta("generation") != self.generation:
                self._rebuild_from_chroma()

    def _iter_chroma(self, include: list[str]) -> Iterator[tuple[str, str | None, dict[str, Any]]]:
        total = self.collection.count()
        for offset in range(0, total, _PAGE):
            page = self.collection.get(include=include, limit=_PAGE, offset=offset)
            docs = page.get("documents") or [None] * len(page["ids"])
            metas = page.get("metadatas") or [{}] * len(page["ids"])
            yield from zip(page["ids"], docs, metas)

    def _rebuild_from_chroma(self) -> None:
        """Rebuild manifest + BM25 from Chroma, dropping papers whose chunk set is incomplete."""
        by_paper: dict[str, dict[str, list[tuple[str, str, dict[str, Any]]]]] = defaultdict(lambda: defaultdict(list))
        for cid, doc, meta in self._iter_chroma(["documents", "metadatas"]):
            by_paper[str(meta.get("paper_id", ""))][str(meta.get("content_hash", ""))].append((cid, doc or "", meta))
        keep: list[tuple[dict[str, Any], str, list[tuple[str, str, dict[str, Any]]]]] = []
        orphans: list[str] = []
        for versions in by_paper.values():
            complete = [
                (h, rows)
                for h, rows in versions.items()
                if rows
                and len(rows) == int(rows[0][2].get("n_chunks", -1))
                and {int(m.get("chunk_index", -1)) for _, _, m in rows} == set(range(len(rows)))
            ]
            if len(complete) == 1:
                h, rows = complete[0]
                rows.sort(key=lambda r: int(r[2]["chunk_index"]))
                record = json.loads(rows[0][2].get("paper") or "{}")
                if record.get("id"):
                    keep.append((record, h, rows))
                    orphans += [cid for hh, rs in versions.items() if hh != h for cid, _, _ in rs]
                    continue
            orphans += [cid for rs in versions.values() for cid, _, _ in rs]
        # Only the lock holder may repair Chroma or rewrite the on-disk caches. While another
        # process writes, a reader builds a private in-memory view that leaves incomplete papers out.
        owned = self._lock.held
        if not owned:
            try:
                self._lock.acquire(timeout_s=0)
                owned = True
            except LibraryBusyError:
                owned = False
        try:
            if owned and orphans:
                for i in range(0, len(orphans), _PAGE):
                    self.collection.delete(ids=orphans[i : i + _PAGE])
                self._set_meta(generation=uuid.uuid4().hex)
            manifest = self._disk_manifest if owned else Manifest(None)
            from assistant.bm25 import BM25Index

            bm25 = BM25Index()
            manifest.clear()
            # Whole-library batches: BM25 grows its arrays per add() call, so one call per paper
            # would be quadratic in the library size.
            manifest.put_many([(record, h, [cid for cid, _, _ in rows]) for record, h, rows in keep])
            bm25.add(
                (cid, embedding_text(record.get("title", ""), doc)) for record, _, rows in keep for cid, doc, _ in rows
            )
            gen = self.generation
            bm25.generation = gen
            self._stamp_manifest(manifest, gen)
            if owned:
                with contextlib.suppress(OSError):
                    bm25.save(self.cache_dir)
            if self.manifest is not manifest and self.manifest is not self._disk_manifest:
                self.manifest.close()
            self.manifest = manifest
            self.bm25 = bm25
        finally:
            if owned and not self._outer_write:
                self._lock.release()

    # -- reading ----------------------------------------------------------------
    def count(self) -> int:
        return self.manifest.count()

    def chunk_count(self) -> int:
        return self.manifest.chunk_count()

    def hashes(self) -> dict[str, str]:
        return self.manifest.hashes()

    def papers(self, ids: Iterable[str] | None = None) -> list[Paper]:
        return [Paper.model_validate(r) for r in self.manifest.records(ids)]

    def get(self, paper_id: str) -> Paper | None:
        found = self.papers([paper_id])
        return found[0] if found else None

    def chunks_of(self, paper_id: str) -> list[tuple[str, str]]:
        """(chunk id, text) of one paper in reading order."""
        ids = self.manifest.chunk_ids(paper_id)
        got = self.get_chunks(ids)
        ordered = sorted(got.items(), key=lambda kv: int(kv[1][1].get("chunk_index", 0)))
        return [(cid, doc) for cid, (doc, _) in ordered]

    def get_chunks(self, ids: Sequence[str]) -> dict[str, tuple[str, dict[str, Any]]]:
        if not ids:
            return {}
        out: dict[str, tuple[str, dict[str, Any]]] = {}
        for i in range(0, len(ids), _PAGE):
            page = self.collection.get(ids=list(ids[i : i + _PAGE]), include=["documents", "metadatas"])
            for cid, doc, meta in zip(page["ids"], page["documents"] or [], page["metadatas"] or []):
                out[cid] = (doc or "", dict(meta or {}))
        return out

    def filter_ids(self, **filters: Any) -> set[str] | None:
        if not any(v not in (None, "") for v in filters.values()):
            return None
        return self.manifest.filter_ids(**filters)

    def dense(
        self, query_vec: np.ndarray, k: int, paper_ids: set[str] | None = None
    ) -> list[tuple[str, float, str, dict[str, Any]]]:
        """(chunk id, cosine similarity, text, metadata), best first."""
        import numpy as np

        if paper_ids is not None and not paper_ids:
            return []
        where = {"paper_id": {"$in": sorted(paper_ids)}} if paper_ids is not None else None
        # No count() first: Chroma returns what it has when asked for more, and on a server each
        # call is a round trip (3 per search before, 2 now).
        res = self.collection.query(
            query_embeddings=[np.asarray(query_vec, dtype=np.float32).tolist()],
            n_results=k,
            where=where,
            include=["documents", "distances", "metadatas"],
        )
        return [
            (cid, 1.0 - float(dist), doc or "", dict(meta or {}))
            for cid, dist, doc, meta in zip(
                res["ids"][0], res["distances"][0], res["documents"][0], res["metadatas"][0]
            )
        ]

    def lexical(self, query: str, k: int, paper_ids: set[str] | None = None) -> list[tuple[str, float]]:
        allowed = None
        if paper_ids is not None:
            allowed = {c for p in paper_ids for c in self.manifest.chunk_ids(p)}
        return self.bm25.search(query, k, allowed)

    # -- writing ----------------------------------------------------------------
    @contextlib.contextmanager
    def _writer_lock(self) -> Iterator[None]:
        if self._outer_write:
            yield
            return
        self._lock.acquire()
        self._outer_write = True
        try:
            yield
        finally:
            self._outer_write = False
            self._lock.release()

    @contextlib.contextmanager
    def writing(self) -> Iterator[Library]:
        """Hold the write lock for a batch of writes; caches are persisted once at the end."""
        with self._mutex, self._writer_lock():
            if self.manifest is not self._disk_manifest or (
                self.manifest.get_meta("generation") != self.generation or self.manifest.get_meta("dirty") == "1"
            ):
                self._rebuild_from_chroma()
            self.manifest.set_meta("dirty", "1")
            try:
                yield self
            finally:
                gen = uuid.uuid4().hex
                self._set_meta(generation=gen)
                self.bm25.generation = gen
                self.bm25.save(self.cache_dir)
                self._stamp_manifest(self.manifest, gen)

    def _max_batch(self) -> int:
        try:
            return max(1, min(int(self.client.get_max_batch_size()), 5000))
        except Exception:
            return 1000

    def write(self, items: Sequence[tuple[Paper, list[Chunk], np.ndarray]], hashes: Sequence[str] | None = None) -> int:
        """Upsert papers with their chunks and vectors; old chunks of a changed paper are removed.

        `hashes` (import): the content hash each paper had where it was exported from; its record
        has no body sections, so recomputing would give another hash than re-ingesting the source.
        """
        import numpy as np

        if not self._lock.held:
            raise LibraryError("write() must run inside `with library.writing():`")
        if not items:
            return 0
        dim = int(items[0][2].shape[1]) if items[0][2].ndim == 2 else 0
        meta = self.meta
        if not meta.get("embed_dim"):
            self._set_meta(embed_model=self.model_name, embed_dim=dim)
        else:
            self.check_model(dim)
        ids: list[str] = []
        docs: list[str] = []
        metas: list[dict[str, Any]] = []
        vecs: list[np.ndarray] = []
        content_hashes = list(hashes) if hashes is not None else [p.content_hash() for p, _, _ in items]
        for (paper, chunks, emb), h in zip(items, content_hashes):
            for chunk in chunks:
                ids.append(chunk.id)
                docs.append(chunk.text)
                metas.append(_scalar_meta(paper, chunk, len(chunks), h))
            vecs.append(emb)
        matrix = np.vstack(vecs).astype(np.float32)
        step = self._max_batch()
        try:
            for i in range(0, len(ids), step):
                self.collection.upsert(
                    ids=ids[i : i + step],
                    documents=docs[i : i + step],
                    metadatas=metas[i : i + step],  # type: ignore[arg-type]
                    embeddings=matrix[i : i + step],  # type: ignore[arg-type]
                )
        except Exception as exc:
            raise LibraryError(f"writing {len(ids)} chunks to {self.location} failed: {exc}") from exc
        stale: list[str] = []
        for paper, chunks, _ in items:
            new_ids = {c.id for c in chunks}
            stale += [c for c in self.manifest.chunk_ids(paper.id) if c not in new_ids]
        for i in range(0, len(stale), step):
            self.collection.delete(ids=stale[i : i + step])
        self.bm25.remove(stale)
        self.manifest.put_many(
            [(p.record(), h, [c.id for c in chunks]) for (p, chunks, _), h in zip(items, content_hashes)]
        )
        self.bm25.add((c.id, embedding_text(p.title, c.text)) for p, chunks, _ in items for c in chunks)
        return len(ids)

    def remove(self, paper_ids: Sequence[str]) -> list[str]:
        """Remove papers; returns the ids that were present."""
        removed: list[str] = []
        with self.writing():
            for pid in paper_ids:
                chunk_ids = self.manifest.chunk_ids(pid)
                if not chunk_ids and self.get(pid) is None:
                    continue
                self.collection.delete(where={"paper_id": pid})
                self.manifest.delete(pid)
                self.bm25.remove(chunk_ids)
                removed.append(pid)
        return removed

    def reindex(self, embed: Any, progress: Any = None) -> int:
        """Re-embed every chunk with the current model into a fresh collection, then swap it in."""
        import numpy as np

        name = self.settings.collection
        tmp_name = name + "__reindex"
        with self._mutex, self._writer_lock():
            self._disk_manifest.set_meta("dirty", "1")  # Chroma is about to change under the manifest
            rows = list(self._iter_chroma(["documents", "metadatas"]))
            with contextlib.suppress(Exception):
                self.client.delete_collection(tmp_name)
            tmp = self.client.create_collection(
                name=tmp_name,
                metadata={"hnsw:space": "cosine", "embed_model": self.model_name},
                embedding_function=None,
            )
            step = min(self._max_batch(), 256)
            dim = 0
            for i in range(0, len(rows), step):
                part = rows[i : i + step]
                texts = [embedding_text(str(m.get("title", "")), d or "") for _, d, m in part]
                vec = np.asarray(embed(texts), dtype=np.float32)
                dim = int(vec.shape[1])
                tmp.upsert(
                    ids=[r[0] for r in part],
                    documents=[r[1] or "" for r in part],
                    metadatas=[r[2] for r in part],  # type: ignore[misc]
                    embeddings=vec,  # type: ignore[arg-type]
                )
                if progress:
                    progress(min(i + step, len(rows)), len(rows))
            gen = uuid.uuid4().hex
            tmp.modify(metadata={"embed_model": self.model_name, "embed_dim": dim or 0, "generation": gen})
            self.client.delete_collection(name)
            tmp.modify(name=name)
            self.collection = self.client.get_collection(name, embedding_function=None)
            self._rebuild_from_chroma()
        return len(rows)

    def close(self) -> None:
        if self.manifest is not self._disk_manifest:
            self.manifest.close()
        self._disk_manifest.close()
