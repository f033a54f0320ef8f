"""Bench libraries of 10^3–10^5 papers without embedding 10^5 abstracts.

MiniLM embeds 10–20 abstracts/s on two cores, so 100k real embeddings would take hours. Instead each
distinct seed sentence is embedded once (cached in bench/cache/), and each synthetic paper — whose
abstract is exactly those sentences joined — gets the normalised mean of its sentences' vectors
(a chunk gets the mean of the sentences it contains). The papers are chunked by the real chunker and
written straight into a Library with `write()` (Chroma + BM25 + manifest), then cached by size.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import CACHE, log

STAMP = ".bench-stamp.json"
FORMAT = 2  # bump when the Library's on-disk caches change, so cached bench libraries are rebuilt
_WRITE_PAPERS = 2000


def _corpus_key() -> str:
    from bench import corpus
    from ingest.sources.seed import SEED_FILE

    blob = SEED_FILE.read_bytes() + Path(corpus.__file__).read_bytes() + str(FORMAT).encode()
    return hashlib.sha1(blob).hexdigest()[:12]


def sentence_vectors() -> dict[str, np.ndarray]:
    """Every distinct seed sentence → its vector from the bundled model (computed once, cached)."""
    from assistant.index.embeddings import LocalEmbedder
    from bench.corpus import sentence_pool

    pool = list(dict.fromkeys(sentence_pool()))
    key = hashlib.sha1("\n".join(pool).encode()).hexdigest()[:12]
    path = CACHE / f"sentences-{key}.npz"
    if path.exists():
        data = np.load(path, allow_pickle=False)
        return dict(zip([str(s) for s in data["sentences"]], data["vectors"]))
    t0 = time.perf_counter()
    vecs = LocalEmbedder("default").embed(pool)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.savez(path, sentences=np.asarray(pool), vectors=vecs)
    log(f"embedded {len(pool)} distinct seed sentences in {time.perf_counter() - t0:.1f}s")
    return dict(zip(pool, vecs))


def _unit(vec: np.ndarray) -> np.ndarray:
    return (vec / max(float(np.linalg.norm(vec)), 1e-12)).astype(np.float32)


def library_dir(n: int) -> Path:
    return CACHE / f"lib-{n}"


def cached(n: int) -> bool:
    stamp = library_dir(n) / STAMP
    if not stamp.exists():
        return False
    try:
        meta = json.loads(stamp.read_text())
    except ValueError:
        return False
    return bool(meta.get("n") == n and meta.get("corpus") == _corpus_key())


def build(n: int) -> dict[str, Any]:
    """Build (or reuse) the n-paper synthetic library; returns build stats."""
    from assistant.library.chunking import chunk_paper
    from assistant.library.library import Library
    from assistant.models import Paper
    from assistant.settings import Settings
    from bench.corpus import synth_papers_with_sentences

    target = library_dir(n)
    if cached(n):
        return {"n": n, "cached": True, **json.loads((target / STAMP).read_text())}
    shutil.rmtree(target, ignore_errors=True)
    vectors = sentence_vectors()
    t0 = time.perf_counter()
    settings = Settings(_env_file=None, data_dir=target)  # type: ignore[call-arg]
    lib = Library(settings)
    t_chunk = t_write = 0.0
    n_chunks = 0
    rows = synth_papers_with_sentences(n)
    with lib.writing():
        for start in range(0, n, _WRITE_PAPERS):
            ta = time.perf_counter()
            items = []
            for record, sentences in rows[start : start + _WRITE_PAPERS]:
                paper = Paper.model_validate({**record, "source": f"synthetic:{record['id']}"})
                mean = _unit(np.mean([vectors[s] for s in sentences], axis=0))
                chunks = chunk_paper(paper, settings.chunk_size, settings.chunk_overlap)
                vecs = []
                for chunk in chunks:
                    inside = [vectors[s] for s in sentences if s in chunk.text]
                    vecs.append(_unit(np.mean(inside, axis=0)) if inside else mean)
                items.append((paper, chunks, np.vstack(vecs)))
            tb = time.perf_counter()
            n_chunks += lib.write(items)
            t_chunk += tb - ta
            t_write += time.perf_counter() - tb
            log(f"lib-{n}: {min(start + _WRITE_PAPERS, n)}/{n} papers written")
    total = time.perf_counter() - t0
    count = lib.count()
    lib.close()
    stats = {
        "n": n,
        "corpus": _corpus_key(),
        "papers": count,
        "chunks": n_chunks,
        "build_s": round(total, 2),
        "chunking_s": round(t_chunk, 2),
        "write_s": round(t_write, 2),
        "write_chunks_per_s": round(n_chunks / t_write, 1) if t_write else None,
    }
    (target / STAMP).write_text(json.dumps(stats))
    return {"cached": False, **stats}
