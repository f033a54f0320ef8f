"""Chroma as the library uses it: the client, what each chunk carries, and reading complete papers back.

Chroma is the source of truth, so every chunk carries its paper's content hash and chunk count: a
paper counts only when all of its chunks with one hash are present, which is how a write
interrupted at any point is found and repaired (`complete_papers`).

Chroma is used directly rather than through llama-index's ChromaVectorStore: that store writes a
serialized node JSON into every chunk's metadata and runs one query per call with no id-level
upserts, which doubles storage and fights the store's bookkeeping.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from assistant.errors import LibraryError, ModelMismatchError
from assistant.index.embed_text import embedding_text
from assistant.models import Chunk, Paper
from assistant.settings import Settings

if TYPE_CHECKING:  # numpy loads with the first vector: `papers list` never needs it
    import numpy as np

PAGE = 2000  # ids per Chroma get/delete: large enough to amortise a request, small enough for its limits

Row = tuple[str, str, dict[str, Any]]  # (chunk id, text, metadata)


def scalar_meta(paper: Paper, chunk: Chunk, n_chunks: int, content_hash: str) -> dict[str, Any]:
    """A chunk's Chroma metadata; chunk 0 also carries the paper's record, so Chroma alone can rebuild the store."""
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
    if chunk.page is not None:
        meta["page"] = int(chunk.page)
    if chunk.index == 0:
        meta["paper"] = json.dumps(paper.record(), ensure_ascii=False)
    return meta


def upsert_chunks(
    collection: Any,
    items: Sequence[tuple[Paper, list[Chunk], np.ndarray]],
    content_hashes: Sequence[str],
    step: int,
) -> int:
    """Upsert the chunks of `items` (paper, chunks, one vector per chunk) `step` at a time; returns how many."""
    import numpy as np

    ids: list[str] = []
    docs: list[str] = []
    metas: list[dict[str, Any]] = []
    for (paper, chunks, _), h in zip(items, content_hashes):
        for chunk in chunks:
            ids.append(chunk.id)
            docs.append(chunk.text)
            metas.append(scalar_meta(paper, chunk, len(chunks), h))
    matrix = np.vstack([emb for _, _, emb in items]).astype(np.float32)
    for i in range(0, len(ids), step):
        collection.upsert(
            ids=ids[i : i + step],
            documents=docs[i : i + step],
            metadatas=metas[i : i + step],
            embeddings=matrix[i : i + step],
        )
    return len(ids)


def iter_collection(collection: Any, include: list[str]) -> Iterator[tuple[str, str | None, dict[str, Any]]]:
    """Every chunk, a page at a time."""
    total = collection.count()
    for offset in range(0, total, PAGE):
        page = collection.get(include=include, limit=PAGE, offset=offset)
        docs = page.get("documents") or [None] * len(page["ids"])
        metas = page.get("metadatas") or [{}] * len(page["ids"])
        yield from zip(page["ids"], docs, metas)


def apply_pending_writes(collection: Any) -> None:
    """Make embedded Chroma apply what a killed writer left in its log before we read the collection.

    Measured (tests/test_crash_safety.py, small commits): a process that keeps a client open while
    another process writes and is SIGKILLed can read the collection without that writer's last
    upserts, which its own next write then applies. A delete of an id that cannot exist is such a
    write and changes nothing else; call it only while holding the write lock.
    """
    collection.delete(ids=["no-such-chunk"])  # chunk ids all contain "::"


def complete_papers(
    chunks: Iterable[tuple[str, str | None, dict[str, Any]]],
) -> tuple[list[tuple[dict[str, Any], str, list[Row]]], list[str]]:
    """(papers whose chunk set is complete: record, hash, rows in reading order; ids of every other chunk).

    A paper is kept when exactly one of its content hashes has all chunk indexes 0..n-1 and a record;
    the chunks of other hashes (a changed paper's write that died half-way) are orphans to delete.
    """
    by_paper: dict[str, dict[str, list[Row]]] = defaultdict(lambda: defaultdict(list))
    for cid, doc, meta in chunks:
        by_paper[str(meta.get("paper_id", ""))][str(meta.get("content_hash", ""))].append((cid, doc or "", meta))
    keep: list[tuple[dict[str, Any], str, list[Row]]] = []
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
    return keep, orphans


def _reindex_name(name: str) -> str:
    return name + "__reindex"


def open_collection(client: Any, name: str, model_name: str, location: str) -> Any:
    """The library's collection, created if new; first finishes (or drops) a reindex that crashed."""
    names = {c if isinstance(c, str) else c.name for c in client.list_collections()}
    tmp = _reindex_name(name)
    if tmp in names and name not in names:  # it crashed after dropping the old collection: the new one is whole
        client.get_collection(tmp, embedding_function=None).modify(name=name)
    elif tmp in names:
        client.delete_collection(tmp)
    try:
        return client.get_or_create_collection(
            name=name, metadata={"hnsw:space": "cosine", "embed_model": model_name}, embedding_function=None
        )
    except Exception as exc:
        raise LibraryError(f"cannot open collection {name!r} at {location}: {exc}") from exc


def max_batch(client: Any) -> int:
    """Chunks per upsert: what the client allows, at most 5,000 (a request that size is already cheap per chunk)."""
    try:
        return max(1, min(int(client.get_max_batch_size()), 5000))
    except Exception:
        return 1000  # an older server without the call


def same_model_or_raise(location: str, model: str, built: Any, built_dim: Any, dim: int | None = None) -> None:
    """ModelMismatchError unless the library was built with `model` (and `dim`, when known)."""
    if (built and built != model) or (dim and built_dim and int(built_dim) != dim):
        raise ModelMismatchError(
            f"the library at {location} was built with embedding model {built!r}"
            f" ({built_dim or '?'} dims) but PAPERS_EMBED_MODEL is {model!r}"
            f"{f' ({dim} dims)' if dim else ''}; run `papers reindex` to re-embed it with the new model"
        )


def reembed_collection(
    client: Any,
    name: str,
    model_name: str,
    rows: Sequence[tuple[str, str | None, dict[str, Any]]],
    embed: Callable[[list[str]], Any],
    step: int,
    progress: Callable[[int, int], None] | None = None,
) -> Any:
    """Every chunk re-embedded into a fresh collection that then takes the old one's name; returns it.

    Built under a temporary name first, so a crash leaves the old collection or the whole new one
    (`open_collection` finishes the swap).
    """
    import numpy as np

    tmp_name = _reindex_name(name)
    with contextlib.suppress(Exception):
        client.delete_collection(tmp_name)
    tmp = client.create_collection(
        name=tmp_name, metadata={"hnsw:space": "cosine", "embed_model": model_name}, embedding_function=None
    )
    dim = 0
    for i in range(0, len(rows), step):
        part = rows[i : i + step]
        vec = np.asarray(embed([embedding_text(str(m.get("title", "")), d or "") for _, d, m in part]), np.float32)
        dim = int(vec.shape[1])
        tmp.upsert(
            ids=[r[0] for r in part],
            documents=[r[1] or "" for r in part],
            metadatas=[r[2] for r in part],
            embeddings=vec,
        )
        if progress:
            progress(min(i + step, len(rows)), len(rows))
    tmp.modify(metadata={"embed_model": model_name, "embed_dim": dim or 0, "generation": uuid.uuid4().hex})
    client.delete_collection(name)
    tmp.modify(name=name)
    return client.get_collection(name, embedding_function=None)


def make_client(settings: Settings) -> Any:
    """An embedded PersistentClient under data_dir, or an HttpClient for a reachable `chroma run` server."""
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
