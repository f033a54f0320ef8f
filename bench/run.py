"""`make bench` / `python -m bench.run [--quick]`: every goal of issue 6 against a same-run baseline.

Writes bench/RESULTS.md and bench/results.json. Sections run in their own processes (see
bench/workers.py) so imports, model loads and peak memory are measured as a user meets them.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

from bench.common import (
    BENCH,
    CACHE,
    CHROMA,
    PAPERS,
    PY,
    Goal,
    Run,
    env_for,
    log,
    machine,
    profile_top,
    ratio,
    run_timed,
    run_worker,
)
from bench.report import write_report

FULL = {
    "ingest_n": 1000,
    "sizes": [1000, 10000, 100000],
    "server_sizes": [1000, 10000, 100000],
    "queries": 54,
    "asks": 30,
    "onnx_texts": 400,
    "reps": 3,
}
QUICK = {
    "ingest_n": 100,
    "sizes": [1000, 10000],
    "server_sizes": [1000],
    "queries": 20,
    "asks": 10,
    "onnx_texts": 100,
    "reps": 2,
}
RETRIEVAL_GOAL_MS = {1000: 30.0, 10000: 100.0, 100000: 100.0}
QUESTION = "How can physics-informed neural networks solve partial differential equations?"


def _section(run: Run, name: str) -> Any:
    class _Timer:
        def __enter__(self) -> None:
            self.t0 = time.perf_counter()
            log(f"--- {name}")

        def __exit__(self, *exc: object) -> None:
            run.timings[name] = round(time.perf_counter() - self.t0, 1)

    return _Timer()


# -- ingest ---------------------------------------------------------------------------------------
def _embedding_texts(corpus: Path) -> list[str]:
    """Exactly what `papers ingest` hands the model for this file."""
    from assistant.embeddings import embedding_text
    from assistant.settings import Settings
    from ingest.chunking import chunk_paper
    from ingest.sources import load_path

    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    texts = []
    for paper in load_path(corpus, settings):
        if hasattr(paper, "title") and hasattr(paper, "abstract"):
            for c in chunk_paper(paper, settings.chunk_size, settings.chunk_overlap):  # type: ignore[arg-type]
                texts.append(embedding_text(paper.title, c.text))  # type: ignore[union-attr]
    return texts


def bench_ingest(run: Run, n: int) -> None:
    from bench.corpus import write_jsonl

    corpus = write_jsonl(CACHE / f"corpus-{n}.jsonl", n)
    texts = _embedding_texts(corpus)
    texts_file = CACHE / f"texts-{n}.json"
    texts_file.write_text(json.dumps(texts))
    data = CACHE / f"ingest-{n}"

    from assistant.settings import Settings

    batch = Settings(_env_file=None).embed_batch_size  # type: ignore[call-arg]

    def floor_run(impl: str) -> dict[str, Any]:
        return run_worker("floor", [str(texts_file), "--batch", str(batch), "--impl", impl], env_for())

    def cold_run() -> Any:
        shutil.rmtree(data, ignore_errors=True)
        done = run_timed([PAPERS, "ingest", str(corpus), "--json"], env_for(data))
        if done.returncode != 0 or json.loads(done.stdout).get("added") != n:
            raise RuntimeError(f"cold ingest failed: {done.returncode} {done.stderr[-2000:]}")
        return done

    # Interleaved and repeated, best of each: other load on the machine shifts single runs by 10-50%.
    got: dict[str, list[Any]] = {"bert": [], "st": [], "cold": []}
    for kind in ("bert", "cold", "st", "bert", "cold"):
        got[kind].append(cold_run() if kind == "cold" else floor_run(kind))
    floors = {impl: min(got[impl], key=lambda f: f["_wall_s"]) for impl in ("st", "bert")}
    floor = min(floors.values(), key=lambda f: f["_wall_s"])  # the faster raw encoder is the floor
    cold = min(got["cold"], key=lambda c: c.seconds)
    re_runs = [run_timed([PAPERS, "ingest", str(corpus), "--json"], env_for(data)) for _ in range(3)]
    for r in re_runs:
        if json.loads(r.stdout).get("unchanged") != n:
            raise RuntimeError(f"re-ingest was not all unchanged: {r.stdout[-500:]}")
    reingest_s = sorted(r.seconds for r in re_runs)[1]
    li_dir = CACHE / f"llamaindex-{n}"
    shutil.rmtree(li_dir, ignore_errors=True)
    llama = run_worker("llamaindex", [str(corpus), str(li_dir), "--queries", "30"], env_for())
    shutil.rmtree(li_dir, ignore_errors=True)

    cold_pps = n / cold.seconds
    floor_pps = n / floor["_wall_s"]
    llama_pps = n / llama["_wall_s"]
    run.measurements["ingest"] = {
        "papers": n,
        "chunks_embedded": len(texts),
        "cold_wall_s": cold.seconds,
        "cold_runs_s": [c.seconds for c in got["cold"]],
        "floor_runs_s": {k: [f["_wall_s"] for f in got[k]] for k in ("bert", "st")},
        "floor_wall_s": floor["_wall_s"],
        "floor_impl": floor["impl"],
        "batch_size": batch,
        "floors": {
            k: {"wall_s": f["_wall_s"], "load_s": f["load_s"], "encode_s": f["encode_s"]} for k, f in floors.items()
        },
        "floor_model_load_s": floor["load_s"],
        "floor_encode_s": floor["encode_s"],
        "llamaindex_wall_s": llama["_wall_s"],
        "llamaindex_nodes": llama["nodes"],
        "llamaindex_embed_batch_size": llama["embed_batch_size"],
        "llamaindex_retrieve_1k": llama["retrieve"],
        "reingest_wall_s": reingest_s,
        "reingest_runs_s": [r.seconds for r in re_runs],
        "cold_papers_per_s": cold_pps,
        "floor_papers_per_s": floor_pps,
        "llamaindex_papers_per_s": llama_pps,
    }
    g = run.add(
        Goal(
            "cold_ingest",
            f"cold ingest throughput, `papers ingest` of {n} abstracts",
            "papers/s",
            cold_pps,
            floor_pps,
            f"raw encoder floor ({floor['impl']}: same model, texts, batch {batch}; process start to vectors)",
            ratio(cold_pps, floor_pps),
            ">= 0.9x floor",
            (ratio(cold_pps, floor_pps) or 0) >= 0.9,
            note=f"llama-index default pipeline: {llama_pps:.2f} papers/s "
            f"(ours {ratio(cold_pps, llama_pps):.2f}x of it)",
        )
    )
    run.add(
        Goal(
            "cold_ingest_vs_llamaindex",
            f"cold ingest vs llama-index default pipeline ({n} abstracts)",
            "papers/s",
            cold_pps,
            llama_pps,
            "VectorStoreIndex.from_documents into Chroma, HuggingFaceEmbedding of the same model",
            ratio(cold_pps, llama_pps),
            ">= 1x (faster than the framework default)",
            (ratio(cold_pps, llama_pps) or 0) >= 1.0,
        )
    )
    run.add(
        Goal(
            "reingest",
            f"re-ingest of the unchanged {n} abstracts (median of 3)",
            "s",
            reingest_s,
            cold.seconds,
            "cold ingest of the same file",
            ratio(cold.seconds, reingest_s),
            ">= 100x faster than cold",
            (ratio(cold.seconds, reingest_s) or 0) >= 100,
        )
    )
    if not g.met:
        g.profile = _profile_cli(["ingest", str(write_jsonl(CACHE / "corpus-200.jsonl", 200)), "--json"], fresh=True)
    reingest_goal = run.goals[-1]
    if not reingest_goal.met:
        reingest_goal.profile = _profile_cli(["ingest", str(corpus), "--json"], data=data)


def _profile_cli(args: list[str], data: Path | None = None, fresh: bool = False) -> str:
    target = data or (CACHE / "profile-lib")
    if fresh:
        shutil.rmtree(target, ignore_errors=True)
    prof = CACHE / "profile.prof"
    done = subprocess.run(
        [PY, "-m", "cProfile", "-o", str(prof), PAPERS, *args],
        env=env_for(target),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    if not prof.exists():
        return f"(profile failed: {done.stderr[-500:]})"
    return f"$ python -m cProfile papers {' '.join(Path(a).name for a in args)}\n" + profile_top(prof, 25)


# -- CLI responsiveness ---------------------------------------------------------------------------
def bench_cli(run: Run, reps: int) -> None:
    from bench.libraries import library_dir

    def med(cmd: list[str], data: Path | None = None) -> float:
        times = []
        for _ in range(reps + 1):
            done = run_timed(cmd, env_for(data))
            if done.returncode != 0:
                raise RuntimeError(f"{cmd} failed: {done.stderr[-1000:]}")
            times.append(done.seconds)
        return sorted(times[1:])[len(times[1:]) // 2]  # the first run warms the disk cache

    python_s = med([PY, "-c", "pass"])
    help_s = med([PAPERS, "--help"])
    list_s = med([PAPERS, "list"], library_dir(1000))
    stats_s = med([PAPERS, "stats"], library_dir(1000))
    run.measurements["cli"] = {"python_start_s": python_s, "help_s": help_s, "list_1k_s": list_s, "stats_1k_s": stats_s}
    for key, name, value in (
        ("cli_help", "`papers --help`", help_s),
        ("cli_list", "`papers list` at 1k papers", list_s),
    ):
        g = run.add(
            Goal(
                key,
                name,
                "s",
                value,
                python_s,
                "bare `python -c pass`",
                ratio(value, python_s),
                "<= 1 s (our bar for 'instant')",
                value <= 1.0,
            )
        )
        if not g.met:
            g.profile = _profile_cli(["--help"] if key == "cli_help" else ["list"], data=library_dir(1000))


# -- scale: latency, load, memory -----------------------------------------------------------------
def bench_libraries(run: Run, sizes: list[int]) -> None:
    from bench.libraries import library_dir

    builds: dict[int, dict[str, Any]] = {}
    for n in sizes:
        out = run_worker("build", [str(n)], env_for(), timeout=3600)
        builds[n] = {k: v for k, v in out.items() if k != "corpus"}
        for part in ("chroma", "cache"):
            folder = library_dir(n) / part
            size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) if folder.exists() else 0
            builds[n][f"{part}_mb"] = round(size / 1e6, 1)
        log(f"lib-{n}: {'cached' if out.get('cached') else 'built'} ({out.get('build_s')}s to build)")
    run.measurements["libraries"] = builds


def bench_latency(run: Run, sizes: list[int], cfg: dict[str, Any]) -> None:
    from bench.libraries import library_dir

    results: dict[int, dict[str, Any]] = {}
    for n in sizes:
        args = [
            str(library_dir(n)),
            "--queries",
            str(cfg["queries"]),
            "--asks",
            str(cfg["asks"]),
            "--profile",
            str(CACHE / f"prof-{n}"),
        ]
        if n == sizes[0]:
            args += ["--concurrency", "20"]
        results[n] = run_worker("latency", args, env_for())
        log(
            f"latency {n}: search p50 {results[n]['search']['p50_ms']:.1f} ms, ask p50 "
            f"{results[n]['ask']['p50_ms']:.0f} ms, peak {results[n]['rss']['peak_mb']:.0f} MB"
        )
    run.measurements["latency"] = {str(n): r for n, r in results.items()}

    first = sizes[0]
    for n, r in results.items():
        for q in ("p50", "p95"):
            limit = RETRIEVAL_GOAL_MS[n] if n in RETRIEVAL_GOAL_MS else 100.0
            v = r["search"][f"{q}_ms"]
            g = run.add(
                Goal(
                    f"search_{q}_{n}",
                    f"retrieval (hybrid search) {q} at {n:,} papers",
                    "ms",
                    v,
                    r["floor"][f"{q}_ms"],
                    "floor: embed query + one raw Chroma query",
                    ratio(v, r["floor"][f"{q}_ms"]),
                    f"<= {limit:g} ms",
                    v <= limit,
                )
            )
            if not g.met:
                g.profile = profile_top(Path(r["profiles"]["search"]), 22)
    r1 = results[first]
    ask = r1["ask"]["p50_ms"]
    g = run.add(
        Goal(
            "ask_p50_1k",
            f"warm offline ask p50 at {first:,} papers",
            "ms",
            ask,
            r1["search"]["p50_ms"],
            "hybrid search alone (the retrieval every answer starts with)",
            ratio(ask, r1["search"]["p50_ms"]),
            "<= 300 ms",
            ask <= 300,
            note=f"p95 {r1['ask']['p95_ms']:.0f} ms",
        )
    )
    if not g.met:
        g.profile = profile_top(Path(r1["profiles"]["ask"]), 22)
    load = r1["load"]
    run.add(
        Goal(
            "load_20",
            f"20 concurrent asks through one Engine ({first:,} papers)",
            "errors",
            load["errors"],
            None,
            "",
            None,
            "0 errors (p95 recorded)",
            load["errors"] == 0,
            note=f"p50 {load.get('p50_ms', float('nan')):.0f} ms, p95 {load.get('p95_ms', float('nan')):.0f} ms, "
            f"all 20 done in {load['wall_s']:.1f} s; sequential ask p95 {r1['ask']['p95_ms']:.0f} ms",
        )
    )
    big = max(results)
    peak = results[big]["rss"]["peak_mb"]
    base = r1["rss"]["peak_before_load_mb"]  # before its 20-thread load test, like the big one
    g = run.add(
        Goal(
            f"rss_{big}",
            f"peak RSS at {big:,} papers (open, searches, asks)",
            "MB",
            peak,
            base,
            f"same process at {first:,} papers (before its load test)",
            ratio(peak, base),
            "<= 1536 MB (1.5 GB)",
            peak <= 1536,
            note="met only counts at 100,000 papers" if big < 100000 else "",
        )
    )
    if big < 100000:
        g.met = None
    if g.met is False:
        g.profile = "RSS by stage (MB):\n" + json.dumps(results[big]["rss"], indent=1)


def bench_ready(run: Run, reps: int) -> None:
    from bench.libraries import library_dir

    lib = library_dir(1000)
    times, firsts = [], []
    for _ in range(reps + 1):
        done = run_timed([PAPERS, "ask", QUESTION], env_for(lib))
        if done.returncode != 0:
            raise RuntimeError(f"papers ask failed: {done.stderr[-1000:]}")
        times.append(done.seconds)
        firsts.append(done.first_line_s or done.seconds)
    floors = [run_worker("ready_floor", [QUESTION], env_for())["_wall_s"] for _ in range(reps)]
    value = sorted(times[1:])[len(times[1:]) // 2]
    first = sorted(firsts[1:])[len(firsts[1:]) // 2]
    floor = sorted(floors)[len(floors) // 2]
    run.measurements["ready"] = {"runs_s": times, "first_line_s": firsts, "floor_runs_s": floors}
    g = run.add(
        Goal(
            "ready",
            "process start to first answer (`papers ask`, offline, 1,000 papers)",
            "s",
            value,
            floor,
            "process that only loads the model and embeds the question",
            ratio(value, floor),
            "<= 6 s",
            value <= 6.0,
            note=f"first answer line after {first:.2f} s",
        )
    )
    if not g.met:
        g.profile = _profile_cli(["ask", QUESTION], data=lib)


# -- Chroma server --------------------------------------------------------------------------------
def _port() -> int:
    for port in (8765, 0):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return int(s.getsockname()[1])
            except OSError:
                continue
    raise RuntimeError("no free port")


def bench_server(run: Run, sizes: list[int], cfg: dict[str, Any]) -> None:
    import httpx

    from bench.libraries import library_dir

    port = _port()
    url = f"http://127.0.0.1:{port}"
    path = CACHE / "chroma-server"
    log_file = (CACHE / "chroma-server.log").open("wb")
    proc = subprocess.Popen(
        [CHROMA, "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log_file,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    client_dir = CACHE / "server-client"
    out: dict[str, Any] = {"url": url}
    try:
        deadline = time.monotonic() + 120
        while True:
            with contextlib.suppress(httpx.HTTPError):  # not listening yet
                if httpx.get(f"{url}/api/v2/heartbeat", timeout=1).status_code == 200:
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("chroma run did not start; see bench/cache/chroma-server.log")
            time.sleep(0.3)
        for n in sizes:
            env = env_for(client_dir, PAPERS_CHROMA_URL=url, PAPERS_COLLECTION=f"bench_{n}")
            stats = run_timed([PAPERS, "stats", "--json"], env)
            expected = run.measurements.get("libraries", {}).get(n, {}).get("papers", n)
            have = json.loads(stats.stdout)["papers"] if stats.returncode == 0 else -1
            moved: dict[str, Any] = {"cached": have == expected}
            if have != expected:
                export = CACHE / f"export-{n}.jsonl"
                ex = run_timed([PAPERS, "export", str(export), "--json"], env_for(library_dir(n)))
                im = run_timed([PAPERS, "import", str(export), "--json"], env)
                if im.returncode != 0:
                    raise RuntimeError(f"import into the server failed: {im.stderr[-1500:]}")
                moved.update(
                    {
                        "export_s": ex.seconds,
                        "import_s": im.seconds,
                        "file_mb": export.stat().st_size / 1e6,
                        "import": json.loads(im.stdout),
                    }
                )
                export.unlink()
            r = run_worker(
                "latency",
                [
                    str(client_dir),
                    "--chroma-url",
                    url,
                    "--collection",
                    f"bench_{n}",
                    "--queries",
                    str(cfg["queries"]),
                    "--asks",
                    str(min(cfg["asks"], 10)),
                    "--profile",
                    str(CACHE / f"prof-server-{n}"),
                ],
                env_for(),
            )
            r["transfer"] = moved
            # A team-mate's first search with an empty local cache: manifest + BM25 rebuilt from the server.
            fresh = CACHE / "server-fresh-client"
            shutil.rmtree(fresh, ignore_errors=True)
            first = run_timed(
                [PAPERS, "search", QUESTION, "--json"],
                env_for(fresh, PAPERS_CHROMA_URL=url, PAPERS_COLLECTION=f"bench_{n}"),
            )
            shutil.rmtree(fresh, ignore_errors=True)
            r["fresh_client_first_search_s"] = first.seconds if first.returncode == 0 else None
            out[str(n)] = r
            log(f"server {n}: search p50 {r['search']['p50_ms']:.1f} ms")
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log_file.close()
    run.measurements["server"] = out
    embedded = run.measurements.get("latency", {})
    for n in sizes:
        r = out[str(n)]
        base = embedded.get(str(n), {}).get("search", {})
        limit = RETRIEVAL_GOAL_MS.get(n, 100.0)
        for q in ("p50", "p95"):
            v = r["search"][f"{q}_ms"]
            g = run.add(
                Goal(
                    f"server_search_{q}_{n}",
                    f"retrieval {q} against `chroma run` at {n:,} papers",
                    "ms",
                    v,
                    base.get(f"{q}_ms"),
                    "same search on the embedded library",
                    ratio(v, base.get(f"{q}_ms")),
                    f"<= {limit:g} ms",
                    v <= limit,
                )
            )
            if not g.met:
                g.profile = profile_top(Path(r["profiles"]["search"]), 22)


# -- ONNX -----------------------------------------------------------------------------------------
def bench_onnx(run: Run, n_texts: int) -> None:
    import importlib.util

    texts_file = next(iter(sorted(CACHE.glob("texts-*.json"), key=lambda p: -p.stat().st_size)), None)
    if importlib.util.find_spec("onnx") is None or texts_file is None:
        run.measurements["onnx"] = {
            "skipped": "the `onnx` package (needed by torch.onnx.export) is not installed"
            if texts_file
            else "no ingest texts to encode"
        }
        return
    texts = json.loads(texts_file.read_text())[:n_texts]
    sub = CACHE / f"onnx-texts-{len(texts)}.json"
    sub.write_text(json.dumps(texts))
    from assistant.settings import Settings

    model = CACHE / "minilm-l6.onnx"
    export_s = None
    if not model.exists():
        export_s = run_worker("onnx_export", [str(model)], env_for())["export_s"]
    import numpy as np

    batch = Settings(_env_file=None).embed_batch_size  # type: ignore[call-arg]
    runs: dict[str, list[dict[str, Any]]] = {"torch": [], "ort": []}
    for _ in range(2):  # alternating processes, best of two each
        for impl in ("torch", "ort"):
            runs[impl].append(run_worker("onnx_speed", [impl, str(sub), str(model), "--batch", str(batch)], env_for()))
    best = {impl: max(rs, key=lambda r: r["texts_per_s"]) for impl, rs in runs.items()}
    a, b = np.asarray(best["torch"]["vectors"]), np.asarray(best["ort"]["vectors"])
    cos = (a * b).sum(axis=1)
    out: dict[str, Any] = {
        "n": len(texts),
        "batch": batch,
        "export_s": export_s,
        **{
            f"{impl}_{k}": min(r[k] for r in rs) if k.endswith(("_s", "_ms_p50")) else max(r[k] for r in rs)
            for impl, rs in runs.items()
            for k in ("load_s", "texts_per_s", "query_ms_p50")
        },
        "cosine_min": float(cos.min()),
        "cosine_mean": float(cos.mean()),
        **run_worker("onnx_quality", [str(model), "--batch", str(batch)], env_for()),
    }
    out.pop("_wall_s", None)
    out["speedup"] = out["ort_texts_per_s"] / out["torch_texts_per_s"]
    out["mrr_delta"] = None if out["mrr_ort"] is None else abs(out["mrr_ort"] - out["mrr_torch"])
    out["adopt"] = bool(out["speedup"] > 1.0 and out["mrr_delta"] is not None and out["mrr_delta"] <= 0.005)
    run.measurements["onnx"] = out


SECTIONS = ["ingest", "libraries", "cli", "latency", "ready", "server", "onnx"]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="bench.run", description=__doc__)
    ap.add_argument("--quick", action="store_true", help="Small sizes for development (100-paper ingest, 1k+10k).")
    ap.add_argument("--only", default="", help=f"Comma-separated sections of: {', '.join(SECTIONS)}.")
    ap.add_argument("--sizes", default="", help="Library sizes, e.g. 1000,10000,100000.")
    ap.add_argument("--out", default=str(BENCH), help="Directory for RESULTS.md and results.json.")
    ap.add_argument("--ingest-n", type=int, default=0, help="Papers for the ingest goals (default 1000, quick 100).")
    args = ap.parse_args(argv)
    cfg = dict(QUICK if args.quick else FULL)
    if args.sizes:
        cfg["sizes"] = [int(s) for s in args.sizes.split(",")]
        cfg["server_sizes"] = [s for s in cfg["server_sizes"] if s in cfg["sizes"]] or cfg["sizes"][:1]
    if args.ingest_n:
        cfg["ingest_n"] = args.ingest_n
    only = set(args.only.split(",")) if args.only else set(SECTIONS)
    CACHE.mkdir(parents=True, exist_ok=True)
    run = Run(quick=args.quick)
    run.measurements["machine"] = machine()
    run.measurements["config"] = cfg
    t0 = time.perf_counter()
    if "ingest" in only:
        with _section(run, "ingest"):
            bench_ingest(run, cfg["ingest_n"])
    if only & {"libraries", "cli", "latency", "ready", "server"}:
        with _section(run, "libraries"):
            bench_libraries(run, cfg["sizes"])
    if "cli" in only:
        with _section(run, "cli"):
            bench_cli(run, cfg["reps"])
    if "latency" in only:
        with _section(run, "latency"):
            bench_latency(run, cfg["sizes"], cfg)
    if "ready" in only:
        with _section(run, "ready"):
            bench_ready(run, cfg["reps"])
    if "server" in only:
        with _section(run, "server"):
            bench_server(run, cfg["server_sizes"], cfg)
    if "onnx" in only:
        with _section(run, "onnx"):
            bench_onnx(run, cfg["onnx_texts"])
    run.measurements["bench_seconds"] = round(time.perf_counter() - t0, 1)
    out = Path(args.out)
    write_report(run, out)
    met = sum(g.met is True for g in run.goals)
    log(f"done in {run.measurements['bench_seconds']:.0f}s: {met}/{len(run.goals)} goals met; see {out / 'RESULTS.md'}")


if __name__ == "__main__":
    main()
