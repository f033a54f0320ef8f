"""The library: Chroma (chunks + vectors, the source of truth) and one SQLite store beside it.

The store (assistant/library/store/manifest.py) holds the papers, their chunks with each chunk's BM25
postings, and the Chroma generation those rows mirror; BM25 is searched in memory, loaded from
those rows. Why two stores and not three, with the numbers: docs/STORAGE.md.

Whether the stores agree is decided in one place, `reconcile`: every write gives Chroma's
collection metadata a new generation, and the store agrees when it carries that generation. A
write (`with library.writing(): library.write(...)`): (1) under the write lock, reconcile; (2)
clear the store's generation, committed: from here nobody trusts its rows; (3) in one open SQLite
transaction, each `write` goes to Chroma, then into the store's rows; (4) give Chroma a new
generation, then commit the rows with it: the one commit point. A crash before that commit
(SIGKILL included) or a write that fails inside Chroma leaves the store without a generation, and
the next open rebuilds it from Chroma, keeping every paper whose chunk set is complete.

Opening is lazy where it can be: an embedded library whose store carries a generation answers
`count`, `hashes`, `papers`, `filter_ids` from SQLite alone; Chroma (a second of imports) and the
BM25 rows load on first use, so `papers list` and an unchanged re-ingest never start Chroma. A
server library is always opened: other clients write there without our store. A library in the
older three-store layout (manifest.sqlite + bm25.npz/json) opens by one rebuild from Chroma.

Why this module is long: opening, reconciling, rebuilding, writing and committing keep one
invariant (the two stores agree at one generation) over shared private state; split, every part
would reach into the others'.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import uuid
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from assistant.errors import LibraryError
from assistant.index.embed_text import canonical_model_name, embedding_text
from assistant.library.store.chroma import (
    PAGE,
    apply_pending_writes,
    complete_papers,
    iter_collection,
    make_client,
    max_batch,
    open_collection,
    reembed_collection,
    same_model_or_raise,
    upsert_chunks,
)
from assistant.library.store.lock import WriterLock
from assistant.library.store.manifest import STORE_FILE, Manifest, load_bm25, remove_legacy_files
from assistant.models import Chunk, Paper
from assistant.settings import Settings

if TYPE_CHECKING:  # numpy and scipy (under BM25) load on first use: `papers list` never needs them
    import numpy as np

    from assistant.index.bm25 import BM25Index

__all__ = ["Library", "Manifest"]


class Library:
    """Papers in Chroma + the SQLite store; one writer at a time (`writing`), any number of readers."""

    def __init__(self, settings: Settings, *, check_model: bool = True) -> None:
        self.settings = settings
        self.model_name = canonical_model_name(settings.embed_model)
        self.location = settings.chroma_url or str(settings.data_dir / "chroma")
        key = settings.collection
        if settings.chroma_url:
            key += "-" + hashlib.sha1(settings.chroma_url.encode()).hexdigest()[:8]
        self.cache_dir = settings.data_dir / "cache" / key
        self._lock = WriterLock(settings.data_dir, settings.lock_timeout_s)
        self._mutex = threading.RLock()
        self._client: Any = None
        self._collection: Any = None
        self._bm25: BM25Index | None = None
        self._bm25_gen = ""  # the generation the in-memory BM25 index mirrors
        self._opened = self._opening = False
        self._disk_manifest = Manifest(self.cache_dir / STORE_FILE)
        self.manifest = self._disk_manifest  # or a private in-memory view while another process writes
        self._outer_write = False  # this object holds the write lock (writing() or reindex())
        self._in_write = False  # inside writing(): the store's transaction is open
        self._unsure = False  # Chroma may hold a change the store has not recorded: reconcile rebuilds
        if self._manifest_trusted():
            if check_model:
                m = self.manifest
                same_model_or_raise(self.location, self.model_name, m.get_meta("embed_model"), m.get_meta("embed_dim"))
        else:
            self._open(check_model)

    def _manifest_trusted(self) -> bool:
        """Without opening Chroma: the last writer committed, so the store is what Chroma holds."""
        m = self._disk_manifest
        return (
            not self.settings.chroma_url
            and (self.settings.data_dir / "chroma" / "chroma.sqlite3").exists()
            and bool(m.generation())
            and m.get_meta("embed_model") is not None
        )

    def _open(self, check_model: bool = False) -> None:
        """Connect to Chroma and load (or rebuild) the BM25 index; other threads wait until it is done."""
        with self._mutex:
            if self._opened or self._opening:  # done, or this thread is inside the opening
                return
            self._opening = True
            try:
                self._client = make_client(self.settings)
                s = self.settings
                self._collection = open_collection(self._client, s.collection, self.model_name, self.location)
                if check_model:
                    self.check_model()
                self.reconcile()
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
        if self._bm25 is None:
            self.reconcile()
        assert self._bm25 is not None
        return self._bm25

    @property
    def meta(self) -> dict[str, Any]:
        return dict(self.collection.metadata or {})

    def check_model(self, dim: int | None = None) -> None:
        meta = self.meta
        same_model_or_raise(self.location, self.model_name, meta.get("embed_model"), meta.get("embed_dim"), dim)

    def _set_meta(self, **updates: Any) -> None:
        meta = self.meta
        meta.update(updates)
        meta.pop("hnsw:space", None)  # fixed at creation; Chroma refuses to change it
        self.collection.modify(metadata=meta)

    @property
    def generation(self) -> str:
        return str(self.meta.get("generation", ""))

    # -- the two stores agree ---------------------------------------------------------
    def reconcile(self, *, for_writing: bool = False) -> bool:
        """The one place that decides whether the SQLite store mirrors Chroma; rebuilds it when not.

        They agree when the store's generation is Chroma's and no write of ours stopped half-way in
        Chroma; a writer also needs the on-disk store, not a reader's private view. When they agree,
        the BM25 index is loaded from the store's rows if it is not in memory yet. Returns whether
        they agreed (False: the store and BM25 were just rebuilt from Chroma).
        """
        with self._mutex:
            view = self.manifest
            agree = (
                not self._unsure
                and view.generation() == self.generation
                and (not for_writing or view is self._disk_manifest)
            )
            if agree and (self._bm25 is None or self._bm25_gen != self.generation):
                self._bm25 = load_bm25(view)  # first use, or another process wrote: its rows, not a rebuild
                agree = self._bm25 is not None  # rows without postings or damaged: rebuild
            if not agree:
                self._rebuild_from_chroma()
            self._bm25_gen = self.generation
            return agree

    def refresh_if_stale(self) -> None:
        """Another process (or a team-mate on the server) may have written since we opened."""
        with self._mutex:
            if self._outer_write:
                return
            if self._opened:
                # Chroma's Collection keeps the metadata it was fetched with: fetch it again, or
                # another process's new generation stays unseen and every refresh rebuilds.
                self._collection = self._client.get_collection(self.settings.collection, embedding_function=None)
            self.reconcile()

    def _rebuild_from_chroma(self) -> None:
        """Rebuild the store + BM25 from Chroma, dropping papers whose chunk set is incomplete."""
        from assistant.index.bm25 import BM25Index

        # Only the lock holder may repair Chroma or rewrite the on-disk store. While another
        # process writes, a reader builds a private in-memory view that leaves incomplete papers out.
        owned = self._lock.held or self._lock.try_acquire()
        try:
            if owned and not self.settings.chroma_url:
                apply_pending_writes(self.collection)
            keep, orphans = complete_papers(iter_collection(self.collection, ["documents", "metadatas"]))
            if owned and orphans:
                self._disk_manifest.mark_writing()  # Chroma changes: a stamp it had is no longer true
                for i in range(0, len(orphans), PAGE):
                    self.collection.delete(ids=orphans[i : i + PAGE])
                self._set_meta(generation=uuid.uuid4().hex)
            bm25 = BM25Index()
            # Whole-library batches: BM25 grows its arrays per add() call, so one call per paper
            # would be quadratic in the library size. Rows go in the same order to both.
            postings = bm25.add(
                (cid, embedding_text(record.get("title", ""), doc)) for record, _, rows in keep for cid, doc, _ in rows
            )
            store = self._disk_manifest if owned else Manifest(None)
            store.replace(  # a private view is searched from memory only: no postings
                [(record, h, [cid for cid, _, _ in rows]) for record, h, rows in keep],
                (postings, bm25.vocab) if owned else None,
                self.generation,
                self.meta,
            )
            if owned:
                remove_legacy_files(self.cache_dir)
            if self.manifest is not store and self.manifest is not self._disk_manifest:
                self.manifest.close()
            self.manifest = store
            self._bm25 = bm25
            self._unsure = False
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
        for i in range(0, len(ids), PAGE):
            page = self.collection.get(ids=list(ids[i : i + PAGE]), include=["documents", "metadatas"])
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

    def term_doc_freq(self, terms: Sequence[str]) -> tuple[int, dict[str, int]]:
        """Live chunks and each tokenized term's chunk count (answerability weights; read after a search)."""
        return self.bm25.doc_freq(terms)

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
    def exclusive(self) -> Iterator[None]:
        """Hold the writer lock (other processes wait or are refused) across several `writing()`
        batches, without blocking this process's readers between them (they wait on the batch's
        commit only, never on the embedding in between)."""
        with self._writer_lock():
            yield

    @contextlib.contextmanager
    def writing(self) -> Iterator[Library]:
        """Hold the write lock for a batch of writes; the store commits once, at the end (see the module doc)."""
        with self._mutex, self._writer_lock():
            if self._in_write:  # e.g. remove() inside an outer writing(): part of that batch
                yield self
                return
            self.reconcile(for_writing=True)
            store = self.manifest
            store.mark_writing()
            store.begin()
            self._in_write = True
            try:
                yield self
            finally:
                self._in_write = False
                self._commit(store)

    def _commit(self, store: Manifest) -> None:
        """Step 4 of a write. An exception in the batch still commits what reached both stores."""
        if self._unsure:
            store.rollback()  # the store keeps no generation; the next reconcile rebuilds from Chroma
            return
        try:
            gen = uuid.uuid4().hex
            self._set_meta(generation=gen)  # Chroma first: a crash before the commit below is a mismatch
            store.stamp(gen, self.meta)
            store.commit()
            self._bm25_gen = gen  # the writer updated its BM25 in memory along with the rows
        except BaseException:
            store.rollback()
            self._unsure = True
            raise

    def write(self, items: Sequence[tuple[Paper, list[Chunk], np.ndarray]], hashes: Sequence[str] | None = None) -> int:
        """Upsert papers with their chunks and vectors; old chunks of a changed paper are removed.

        `hashes` (import): the content hash each paper had where it was exported from; its record
        has no body sections, so recomputing would give another hash than re-ingesting the source.
        """
        if not (self._lock.held and self._in_write):
            raise LibraryError("write() must run inside `with library.writing():`")
        if not items:
            return 0
        dim = int(items[0][2].shape[1]) if items[0][2].ndim == 2 else 0
        meta = self.meta
        if not meta.get("embed_dim"):
            self._set_meta(embed_model=self.model_name, embed_dim=dim)
        else:
            self.check_model(dim)
        content_hashes = list(hashes) if hashes is not None else [p.content_hash() for p, _, _ in items]
        step = max_batch(self.client)
        self._unsure = True  # from the first upsert until the store has recorded this write
        try:
            n = upsert_chunks(self.collection, items, content_hashes, step)
        except Exception as exc:
            n = sum(len(chunks) for _, chunks, _ in items)
            raise LibraryError(f"writing {n} chunks to {self.location} failed: {exc}") from exc
        stale: list[str] = []
        for paper, chunks, _ in items:
            new_ids = {c.id for c in chunks}
            stale += [c for c in self.manifest.chunk_ids(paper.id) if c not in new_ids]
        for i in range(0, len(stale), step):
            self.collection.delete(ids=stale[i : i + step])
        self.bm25.remove(stale)
        postings = self.bm25.add((c.id, embedding_text(p.title, c.text)) for p, chunks, _ in items for c in chunks)
        self.manifest.put_many(
            [(p.record(), h, [c.id for c in chunks]) for (p, chunks, _), h in zip(items, content_hashes)],
            postings,
            self.bm25.vocab,
        )
        self._unsure = False
        return n

    def remove(self, paper_ids: Sequence[str]) -> list[str]:
        """Remove papers; returns the ids that were present."""
        removed: list[str] = []
        with self.writing():
            for pid in paper_ids:
                chunk_ids = self.manifest.chunk_ids(pid)
                if not chunk_ids and self.get(pid) is None:
                    continue
                self._unsure = True
                self.collection.delete(where={"paper_id": pid})
                self.manifest.delete(pid)
                self.bm25.remove(chunk_ids)
                self._unsure = False
                removed.append(pid)
        return removed

    def reindex(self, embed: Any, progress: Any = None) -> int:
        """Re-embed every chunk with the current model into a fresh collection, then swap it in."""
        with self._mutex, self._writer_lock():
            self._disk_manifest.mark_writing()  # Chroma is about to change under the store
            self._unsure = True
            rows = list(iter_collection(self.collection, ["documents", "metadatas"]))
            step = min(max_batch(self.client), 256)
            self.collection = reembed_collection(
                self.client, self.settings.collection, self.model_name, rows, embed, step, progress
            )
            self._rebuild_from_chroma()
        return len(rows)

    def close(self) -> None:
        if self.manifest is not self._disk_manifest:
            self.manifest.close()
        self._disk_manifest.close()
