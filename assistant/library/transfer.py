"""Moving a library between stores without re-embedding: `papers export` / `papers import`.

The file is JSON Lines. Line 1 is a header naming the embedding model and dimension; every further
line is one paper with its record, content hash and chunks (text, section, vector). Vectors are
little-endian float32 in base64: exact, and a quarter the size of decimal floats, which matters at
10^5 papers (about 2 KB per chunk instead of 8).

Import writes through `Library.write`, so the manifest, BM25 index and Chroma stay in step whichever
store (embedded or a `chroma run` server) the settings point at. Papers already present with the
same content hash are skipped, so an interrupted import can simply be run again.
"""

from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

from assistant.errors import ModelMismatchError, PapersError
from assistant.index.embed_text import canonical_model_name
from assistant.library.library import Library
from assistant.library.pages import page_number
from assistant.models import Chunk, Paper

FORMAT = "papers-export"
VERSION = 1
ENCODING = "base64-float32-le"
_PAPERS_PER_READ = 256  # papers fetched from Chroma per round while exporting
_CHUNKS_PER_READ = 2000  # chunk ids per Chroma request
_CHUNKS_PER_WRITE = 1000  # chunks per Library.write while importing

Progress = Callable[[int, int], None]


@dataclass
class ExportReport:
    papers: int
    chunks: int
    embed_model: str
    embed_dim: int
    seconds: float


@dataclass
class ImportReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    chunks: int = 0
    embed_model: str = ""
    seconds: float = 0.0


def encode_vector(vec: np.ndarray) -> str:
    return base64.b64encode(np.asarray(vec, dtype="<f4").tobytes()).decode("ascii")


def decode_vector(text: str, dim: int) -> np.ndarray:
    raw = base64.b64decode(text.encode("ascii"), validate=True)
    vec = np.frombuffer(raw, dtype="<f4")
    if vec.shape[0] != dim:
        raise ValueError(f"vector has {vec.shape[0]} values, header says {dim}")
    return vec.astype(np.float32)


# -- export ---------------------------------------------------------------------------------------
def export_library(library: Library, path: Path, progress: Progress | None = None) -> ExportReport:
    """Write every complete paper of the library to `path` (written beside, then renamed)."""
    t0 = time.perf_counter()
    library.refresh_if_stale()
    meta = library.meta
    model = str(meta.get("embed_model") or library.model_name)
    dim = int(meta.get("embed_dim") or 0)
    records = library.manifest.records()
    header = {
        "format": FORMAT,
        "version": VERSION,
        "embed_model": model,
        "embed_dim": dim,
        "embedding_encoding": ENCODING,
        "papers": len(records),
        "chunks": library.chunk_count(),
        "collection": library.settings.collection,
        "exported_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    tmp = path.with_name(path.name + ".part")
    n_papers = n_chunks = 0
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tmp.open("w", encoding="utf-8") as fh:
            fh.write(json.dumps(header, ensure_ascii=False) + "\n")
            for i in range(0, len(records), _PAPERS_PER_READ):
                part = records[i : i + _PAPERS_PER_READ]
                for line, n in _paper_lines(library, part, dim):
                    fh.write(line + "\n")
                    n_papers += 1
                    n_chunks += n
                if progress:
                    progress(min(i + _PAPERS_PER_READ, len(records)), len(records))
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise PapersError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return ExportReport(n_papers, n_chunks, model, dim, time.perf_counter() - t0)


def _paper_lines(library: Library, records: list[dict[str, Any]], dim: int) -> Iterator[tuple[str, int]]:
    ids_of = {r["id"]: library.manifest.chunk_ids(r["id"]) for r in records}
    wanted = [cid for ids in ids_of.values() for cid in ids]
    rows: dict[str, tuple[str, dict[str, Any], Any]] = {}
    for i in range(0, len(wanted), _CHUNKS_PER_READ):  # PDFs bring hundreds of chunks per paper
        got = library.collection.get(
            ids=wanted[i : i + _CHUNKS_PER_READ], include=["documents", "metadatas", "embeddings"]
        )
        for cid, doc, meta, emb in zip(got["ids"], got["documents"], got["metadatas"], got["embeddings"]):
            rows[cid] = (doc or "", dict(meta or {}), emb)
    for record in records:
        chunk_rows = [(cid, rows[cid]) for cid in ids_of[record["id"]] if cid in rows]
        if len(chunk_rows) != len(ids_of[record["id"]]) or not chunk_rows:
            continue  # removed while we read: not a complete paper any more
        chunk_rows.sort(key=lambda r: int(r[1][1].get("chunk_index", 0)))
        content_hash = str(chunk_rows[0][1][1].get("content_hash", ""))
        chunks = []
        for cid, (doc, meta, emb) in chunk_rows:
            vec = np.asarray(emb, dtype=np.float32)
            if dim and vec.shape[0] != dim:
                raise PapersError(f"chunk {cid} has {vec.shape[0]} dims, the library says {dim}")
            chunks.append(
                {
                    "id": cid,
                    "index": int(meta.get("chunk_index", 0)),
                    "section": str(meta.get("section", "")),
                    **({"page": page} if (page := page_number(meta.get("page"))) else {}),
                    "text": doc,
                    "embedding": encode_vector(vec),
                }
            )
        line = json.dumps({"paper": record, "content_hash": content_hash, "chunks": chunks}, ensure_ascii=False)
        yield line, len(chunks)


# -- import ---------------------------------------------------------------------------------------
def read_header(path: Path) -> dict[str, Any]:
    try:
        with path.open("r", encoding="utf-8") as fh:
            first = fh.readline()
    except OSError as exc:
        raise PapersError(f"cannot read {path}: {exc.strerror or exc}") from exc
    return _parse_header(first, path)


def _parse_header(line: str, path: Path) -> dict[str, Any]:
    try:
        header = json.loads(line)
    except json.JSONDecodeError:
        header = None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise PapersError(f"{path}:1: not a `papers export` file (no {FORMAT!r} header)")
    if header.get("version") != VERSION:
        raise PapersError(f"{path}:1: export format version {header.get('version')!r}, this program reads {VERSION}")
    if header.get("embedding_encoding") != ENCODING:
        raise PapersError(f"{path}:1: unknown embedding encoding {header.get('embedding_encoding')!r}")
    if not header.get("embed_model") or not isinstance(header.get("embed_dim"), int) or header["embed_dim"] <= 0:
        raise PapersError(f"{path}:1: the header must name embed_model and a positive embed_dim")
    return header


def check_compatible(header: dict[str, Any], library: Library, path: Path) -> None:
    """Vectors are only comparable within one model: refuse a file made with another one."""
    model = canonical_model_name(str(header["embed_model"]))
    dim = int(header["embed_dim"])
    meta = library.meta
    lib_dim = int(meta.get("embed_dim") or 0)
    if model != library.model_name or (lib_dim and lib_dim != dim):
        raise ModelMismatchError(
            f"{path} holds vectors from embedding model {model!r} ({dim} dims) but the library at "
            f"{library.location} uses {library.model_name!r}{f' ({lib_dim} dims)' if lib_dim else ''}; "
            f"import needs the same model (set PAPERS_EMBED_MODEL={model} and use another collection or "
            f"data dir), or ingest the papers again to re-embed them"
        )


def _items(path: Path, fh: IO[str], dim: int) -> Iterator[tuple[Paper, list[Chunk], np.ndarray, str]]:
    for lineno, line in enumerate(fh, 2):
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        try:
            obj = json.loads(line)
            paper = Paper.model_validate(obj["paper"])
            content_hash = str(obj.get("content_hash") or paper.content_hash())
            rows = sorted(obj["chunks"], key=lambda c: int(c["index"]))
            if not rows:
                raise ValueError("a paper without chunks")
            chunks = [
                Chunk(
                    id=str(c["id"]),
                    paper_id=paper.id,
                    index=i,
                    text=str(c["text"]),
                    section=str(c.get("section", "")),
                    page=page_number(c.get("page")),
                )
                for i, c in enumerate(rows)
            ]
            vecs = np.vstack([decode_vector(str(c["embedding"]), dim) for c in rows])
        except PapersError:
            raise
        except Exception as exc:
            detail = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc).splitlines()[0][:200]
            raise PapersError(f"{where}: not a valid paper line ({detail})") from exc
        yield paper, chunks, vecs, content_hash


def import_library(library: Library, path: Path, progress: Progress | None = None) -> ImportReport:
    """Add or replace the file's papers in `library`, keeping their vectors and chunk ids."""
    t0 = time.perf_counter()
    header = read_header(path)
    check_compatible(header, library, path)
    dim = int(header["embed_dim"])
    total = int(header.get("papers") or 0)
    report = ImportReport(embed_model=str(header["embed_model"]))
    known = library.hashes()
    try:
        fh = path.open("r", encoding="utf-8")
    except OSError as exc:
        raise PapersError(f"cannot read {path}: {exc.strerror or exc}") from exc
    with fh, library.writing():
        fh.readline()
        batch: list[tuple[Paper, list[Chunk], np.ndarray]] = []
        hashes: list[str] = []
        pending = done = 0
        for paper, chunks, vecs, content_hash in _items(path, fh, dim):
            done += 1
            if known.get(paper.id) == content_hash:
                report.unchanged += 1
                continue
            if paper.id in known:
                report.updated += 1
            else:
                report.added += 1
            known[paper.id] = content_hash
            batch.append((paper, chunks, vecs))
            hashes.append(content_hash)
            pending += len(chunks)
            if pending >= _CHUNKS_PER_WRITE:
                report.chunks += library.write(batch, hashes=hashes)
                batch, hashes, pending = [], [], 0
                if progress:
                    progress(done, total)
        if batch:
            report.chunks += library.write(batch, hashes=hashes)
        if progress:
            progress(done, total)
    report.seconds = time.perf_counter() - t0
    return report
