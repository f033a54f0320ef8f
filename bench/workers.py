"""Measurements that need a process of their own: `python -m bench.workers TASK ...`.

Each prints one JSON object as its last stdout line. A fresh process per measurement keeps model
loading, imports and peak RSS honest (nothing is shared with the orchestrator).
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

from bench.common import DEV_QUESTIONS, pct, peak_rss_mb, rss_mb


def _emit(obj: dict[str, Any]) -> None:
    print(json.dumps(obj))


def _questions(n: int) -> list[str]:
    qs = [json.loads(line)["query"] for line in DEV_QUESTIONS.read_text().splitlines() if line.strip()]
    return [qs[i % len(qs)] for i in range(n)]


def _summary(xs: list[float]) -> dict[str, float]:
    ms = [x * 1000 for x in xs]
    return {"p50_ms": pct(ms, 50), "p95_ms": pct(ms, 95), "mean_ms": sum(ms) / len(ms), "n": len(ms)}


# -- build ----------------------------------------------------------------------------------------
def task_build(args: argparse.Namespace) -> None:
    from bench.libraries import build

    _emit(build(args.n))


# -- raw encoder floor ----------------------------------------------------------------------------
def task_floor(args: argparse.Namespace) -> None:
    """The same model on the same texts with the same batch size, nothing else: through
    sentence-transformers (`st`) or the product's plain-torch encoder (`bert`)."""
    t0 = time.perf_counter()
    from assistant.index.embeddings import bundled_model_path
    from assistant.index.tokens import offline_env

    offline_env()
    texts = json.loads(Path(args.texts).read_text())
    if args.impl == "st":
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(str(bundled_model_path()), device="cpu")
        t1 = time.perf_counter()
        vecs = model.encode(texts, batch_size=args.batch, normalize_embeddings=True, show_progress_bar=False)
    else:
        from assistant.index.bert_encoder import BertEncoder

        encoder = BertEncoder(bundled_model_path())
        t1 = time.perf_counter()
        vecs = encoder.encode(texts, args.batch)
    t2 = time.perf_counter()
    _emit({"impl": args.impl, "n": len(texts), "dim": int(vecs.shape[1]), "load_s": t1 - t0, "encode_s": t2 - t1})


def task_ready_floor(args: argparse.Namespace) -> None:
    """Floor of any local-embedding answer: load the model and embed one question."""
    from assistant.index.embeddings import LocalEmbedder

    LocalEmbedder("default").embed_query(args.question)
    _emit({})


# -- llama-index default pipeline -----------------------------------------------------------------
def task_llamaindex(args: argparse.Namespace) -> None:
    t0 = time.perf_counter()
    from assistant.index.embeddings import bundled_model_path
    from assistant.index.tokens import offline_env

    offline_env()
    import chromadb
    from llama_index.core import Document, StorageContext, VectorStoreIndex
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding
    from llama_index.vector_stores.chroma import ChromaVectorStore

    rows = [json.loads(line) for line in Path(args.file).read_text().splitlines() if line.strip()]
    docs = [Document(text=f"{r['title']}\n\n{r['abstract']}", doc_id=str(r["id"])) for r in rows]
    embed = HuggingFaceEmbedding(model_name=str(bundled_model_path()), device="cpu")
    client = chromadb.PersistentClient(path=args.dir)
    collection = client.get_or_create_collection("llamaindex", embedding_function=None)
    store = ChromaVectorStore(chroma_collection=collection)
    index = VectorStoreIndex.from_documents(
        docs, storage_context=StorageContext.from_defaults(vector_store=store), embed_model=embed
    )
    t1 = time.perf_counter()
    retriever = index.as_retriever(similarity_top_k=5)
    qs = _questions(args.queries + 3)
    for q in qs[:3]:
        retriever.retrieve(q)
    lat = []
    for q in qs[3:]:
        ta = time.perf_counter()
        retriever.retrieve(q)
        lat.append(time.perf_counter() - ta)
    _emit(
        {
            "n": len(docs),
            "nodes": collection.count(),
            "embed_batch_size": embed.embed_batch_size,
            "ingest_s": t1 - t0,
            "retrieve": _summary(lat),
        }
    )


# -- latency, load, memory ------------------------------------------------------------------------
def task_latency(args: argparse.Namespace) -> None:
    stages: dict[str, float] = {"start_mb": rss_mb()}
    t0 = time.perf_counter()
    from assistant.engine import Engine
    from assistant.settings import Settings

    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, data_dir=Path(args.data_dir), chroma_url=args.chroma_url or "", collection=args.collection
    )
    engine = Engine(settings)
    lib = engine.library
    t_open = time.perf_counter() - t0
    stages["library_open_mb"] = rss_mb()
    embedder = engine.embedder
    t_model = time.perf_counter() - t0 - t_open
    stages["model_loaded_mb"] = rss_mb()
    qs = _questions(args.queries)
    for q in qs[:3]:
        engine.search(q)
    engine.ask(qs[0])
    depth = settings.candidate_k

    search, embed_q, dense, lexical, floor = [], [], [], [], []
    for q in qs:
        ta = time.perf_counter()
        engine.search(q)
        search.append(time.perf_counter() - ta)
    for q in qs:
        ta = time.perf_counter()
        vec = embedder.embed_query(q)
        tb = time.perf_counter()
        lib.dense(vec, depth)
        tc = time.perf_counter()
        lib.lexical(q, depth)
        td = time.perf_counter()
        embed_q.append(tb - ta)
        dense.append(tc - tb)
        lexical.append(td - tc)
    for q in qs:
        # Floor: embed the question and one raw Chroma query, nothing else.
        ta = time.perf_counter()
        vec = embedder.embed_query(q)
        lib.collection.query(query_embeddings=[vec.tolist()], n_results=depth)
        floor.append(time.perf_counter() - ta)
    stages["after_search_mb"] = rss_mb()

    asks, abstained = [], 0
    for q in qs[: args.asks]:
        ta = time.perf_counter()
        answer = engine.ask(q)
        asks.append(time.perf_counter() - ta)
        abstained += answer.abstained
    stages["after_ask_mb"] = rss_mb()

    out: dict[str, Any] = {
        "papers": lib.count(),
        "chunks": lib.chunk_count(),
        "open_s": t_open,
        "model_s": t_model,
        "search": _summary(search),
        "embed_query": _summary(embed_q),
        "dense": _summary(dense),
        "lexical": _summary(lexical),
        "floor": _summary(floor),
        "ask": _summary(asks) if asks else None,
        "ask_abstained": abstained,
    }
    stages["peak_before_load_mb"] = peak_rss_mb()
    if args.concurrency:
        out["load"] = _load(engine, _questions(args.concurrency * 2)[args.concurrency :], args.concurrency)
        stages["after_load_mb"] = rss_mb()
    if args.profile:
        out["profiles"] = _profiles(engine, qs, Path(args.profile))
    stages["peak_mb"] = peak_rss_mb()
    out["rss"] = stages
    _emit(out)


def _load(engine: Any, questions: list[str], n: int) -> dict[str, Any]:
    """n threads ask at the same moment through one engine."""
    barrier = threading.Barrier(n)
    lat: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def one(q: str) -> None:
        barrier.wait()
        ta = time.perf_counter()
        try:
            answer = engine.ask(q)
            ok = bool(answer.answer)
        except Exception as exc:  # counted, not raised: the goal is zero of these
            with lock:
                errors.append(f"{type(exc).__name__}: {exc}"[:200])
            return
        with lock:
            lat.append(time.perf_counter() - ta)
            if not ok:
                errors.append("empty answer")

    t0 = time.perf_counter()
    threads = [threading.Thread(target=one, args=(q,)) for q in questions[:n]]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {
        "concurrency": n,
        "errors": len(errors),
        "error_samples": errors[:3],
        "wall_s": time.perf_counter() - t0,
        **(_summary(lat) if lat else {}),
    }


def _profiles(engine: Any, qs: list[str], directory: Path) -> dict[str, str]:
    import cProfile

    directory.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, fn in (("search", engine.search), ("ask", engine.ask)):
        prof = cProfile.Profile()
        prof.enable()
        for q in qs[:10]:
            fn(q)
        prof.disable()
        path = directory / f"{name}.prof"
        prof.dump_stats(str(path))
        out[name] = str(path)
    return out


# -- ONNX Runtime vs torch ------------------------------------------------------------------------
def task_onnx_speed(args: argparse.Namespace) -> None:
    from bench.onnx_backend import speed

    _emit(speed(args.impl, Path(args.texts), Path(args.model), args.batch))


def task_onnx_quality(args: argparse.Namespace) -> None:
    from bench.onnx_backend import quality

    _emit(quality(Path(args.model), args.batch))


def task_onnx_export(args: argparse.Namespace) -> None:
    from bench.onnx_backend import export_onnx

    _emit({"export_s": export_onnx(Path(args.model))})


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="bench.workers")
    sub = ap.add_subparsers(dest="task", required=True)
    b = sub.add_parser("build")
    b.add_argument("n", type=int)
    f = sub.add_parser("floor")
    f.add_argument("texts")
    f.add_argument("--batch", type=int, default=64)
    f.add_argument("--impl", choices=["st", "bert"], default="st")
    r = sub.add_parser("ready_floor")
    r.add_argument("question")
    li = sub.add_parser("llamaindex")
    li.add_argument("file")
    li.add_argument("dir")
    li.add_argument("--queries", type=int, default=30)
    la = sub.add_parser("latency")
    la.add_argument("data_dir")
    la.add_argument("--chroma-url", default="")
    la.add_argument("--collection", default="papers")
    la.add_argument("--queries", type=int, default=50)
    la.add_argument("--asks", type=int, default=20)
    la.add_argument("--concurrency", type=int, default=0)
    la.add_argument("--profile", default="")
    o = sub.add_parser("onnx_speed")
    o.add_argument("impl", choices=["torch", "ort"])
    o.add_argument("texts")
    o.add_argument("model")
    o.add_argument("--batch", type=int, default=16)
    oq = sub.add_parser("onnx_quality")
    oq.add_argument("model")
    oq.add_argument("--batch", type=int, default=16)
    oe = sub.add_parser("onnx_export")
    oe.add_argument("model")
    args = ap.parse_args(argv)
    globals()[f"task_{args.task}"](args)


if __name__ == "__main__":
    main(sys.argv[1:])
