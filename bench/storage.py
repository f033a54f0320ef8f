"""`python -m bench.storage [--fts5] LIB_DIR [LIB_DIR ...]`: what the storage layout costs, via the public API.

For each bench library (bench/cache/lib-N, built by `python -m bench.run --only libraries`):
- `ready_s`: a fresh process, imports done, from `Library(...)` to the first lexical search answered
  (Chroma client + collection + the BM25 index loaded from disk), median of 3 processes;
- `write_one_s`: one new paper written into a copy of the library (`writing()` + `write()`: Chroma
  upsert, then whatever the layout persists per batch), median of 5;
- `rebuild_s`: the copy with its local store deleted, opened to the first lexical search (the
  rebuild from Chroma: what an old-layout library pays once, and any damaged store);
- `store_mb` / `chroma_mb`: bytes on disk of the local store (everything under cache/) and of Chroma;
- `lexical_ms`: BM25 alone over the dev questions, p50 / p95.

With `--fts5`, also the alternative that was not taken: the same chunk texts in an SQLite FTS5 table
(porter + unicode61 tokenizer, OR of the query's terms ranked by `bm25()`, top 50): its build time,
size, query p50 / p95 beside ours, and how much of our top 10 it shares (`fts5_top10_overlap`).

Runs against whichever code is importable, so the same script measures the layout before and
after a change (docs/STORAGE.md has both). Prints one JSON object per library.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

DEV = Path(__file__).resolve().parent / "dev_questions.jsonl"

READY = """
import json, sys, time
import chromadb, numpy, scipy.sparse  # imports are not what is measured
from assistant.library.library import Library
from assistant.settings import Settings
t0 = time.perf_counter()
lib = Library(Settings(_env_file=None, data_dir=sys.argv[1]))
lib.lexical("neural network", 5)
print(json.dumps({"ready_s": time.perf_counter() - t0}))
"""


def _mb(folder: Path) -> float:
    return round(sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 1e6, 2) if folder.exists() else 0.0


def _ready(data_dir: Path) -> float:
    done = subprocess.run([sys.executable, "-c", READY, str(data_dir)], capture_output=True, text=True, check=True)
    return float(json.loads(done.stdout.strip().splitlines()[-1])["ready_s"])


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q / 100 * (len(xs) - 1))))]


def measure(data_dir: Path) -> dict[str, Any]:
    import numpy as np

    from assistant.library.library import Library
    from assistant.models import Chunk, Paper
    from assistant.settings import Settings

    out: dict[str, Any] = {"library": data_dir.name, "store_mb": _mb(data_dir / "cache")}
    out["chroma_mb"] = _mb(data_dir / "chroma")
    out["store_files"] = sorted(p.name for p in (data_dir / "cache").rglob("*") if p.is_file())
    _ready(data_dir)  # warms the disk cache
    out["ready_s"] = statistics.median(_ready(data_dir) for _ in range(3))

    questions = [json.loads(line)["query"] for line in DEV.read_text().splitlines() if line.strip()]
    with tempfile.TemporaryDirectory(prefix="storage-") as tmp:
        copy = Path(tmp) / "lib"
        shutil.copytree(data_dir, copy)
        settings = Settings(_env_file=None, data_dir=copy)  # type: ignore[call-arg]
        lib = Library(settings)
        lex = []
        for q in questions:
            t0 = time.perf_counter()
            lib.lexical(q, 50)
            lex.append((time.perf_counter() - t0) * 1000)
        out["lexical_ms"] = [round(_pct(lex, 50), 2), round(_pct(lex, 95), 2)]
        dim = int(lib.meta.get("embed_dim") or 384)
        rng = np.random.default_rng(0)
        times = []
        for i in range(5):
            paper = Paper(id=f"storage-probe-{i}", title=f"Storage probe {i}", abstract=f"zymurgy probe number {i}")
            chunk = Chunk(id=f"{paper.id}::{paper.content_hash()}::0", paper_id=paper.id, index=0, text=paper.abstract)
            vec = rng.standard_normal((1, dim)).astype(np.float32)
            t0 = time.perf_counter()
            with lib.writing():
                lib.write([(paper, [chunk], vec / np.linalg.norm(vec))])
            times.append(time.perf_counter() - t0)
        out["write_one_s"] = round(statistics.median(times), 4)
        lib.close()
        shutil.rmtree(copy / "cache")
        t0 = time.perf_counter()
        out["rebuild_s"] = round(_ready(copy), 2)
        out["rebuild_wall_s"] = round(time.perf_counter() - t0, 2)
    out["ready_s"] = round(out["ready_s"], 3)
    return out


def fts5(data_dir: Path) -> dict[str, Any]:
    import sqlite3

    from assistant.index.bm25 import tokenize
    from assistant.index.embed_text import embedding_text
    from assistant.library.library import Library
    from assistant.library.store.chroma import iter_collection
    from assistant.settings import Settings

    lib = Library(Settings(_env_file=None, data_dir=data_dir))  # type: ignore[call-arg]
    rows = [
        (cid, embedding_text(str(m.get("title", "")), d or ""))
        for cid, d, m in iter_collection(lib.collection, ["documents", "metadatas"])
    ]
    questions = [json.loads(line)["query"] for line in DEV.read_text().splitlines() if line.strip()]
    with tempfile.TemporaryDirectory(prefix="fts5-") as tmp:
        db = sqlite3.connect(Path(tmp) / "fts.sqlite")
        t0 = time.perf_counter()
        db.execute("CREATE VIRTUAL TABLE f USING fts5(id UNINDEXED, body, tokenize='porter unicode61')")
        db.executemany("INSERT INTO f VALUES(?,?)", rows)
        db.commit()
        out: dict[str, Any] = {"library": data_dir.name, "fts5_build_s": round(time.perf_counter() - t0, 2)}
        out["fts5_mb"] = round((Path(tmp) / "fts.sqlite").stat().st_size / 1e6, 1)

        def search(q: str) -> list[str]:
            expr = " OR ".join(f'"{t}"' for t in dict.fromkeys(tokenize(q)) if '"' not in t)
            sql = "SELECT id FROM f WHERE f MATCH ? ORDER BY bm25(f) LIMIT 50"
            return [r[0] for r in db.execute(sql, (expr,))] if expr else []

        theirs, ours, overlap = [], [], []
        for q in questions[:3]:
            search(q), lib.lexical(q, 50)  # warm
        for q in questions:
            t0 = time.perf_counter()
            got = search(q)
            t1 = time.perf_counter()
            mine = [c for c, _ in lib.lexical(q, 50)]
            t2 = time.perf_counter()
            theirs.append((t1 - t0) * 1000)
            ours.append((t2 - t1) * 1000)
            overlap.append(len(set(got[:10]) & set(mine[:10])) / max(1, min(10, len(mine))))
        db.close()
    lib.close()
    out["fts5_ms"] = [round(_pct(theirs, 50), 2), round(_pct(theirs, 95), 2)]
    out["ours_ms"] = [round(_pct(ours, 50), 2), round(_pct(ours, 95), 2)]
    out["fts5_top10_overlap"] = round(sum(overlap) / len(overlap), 3)
    return out


def main(argv: list[str] | None = None) -> None:
    args = list(argv if argv is not None else sys.argv[1:])
    with_fts5 = "--fts5" in args
    for arg in (a for a in args if a != "--fts5"):
        print(json.dumps(measure(Path(arg))), flush=True)
        if with_fts5:
            print(json.dumps(fts5(Path(arg))), flush=True)


if __name__ == "__main__":
    main()
