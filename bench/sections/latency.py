"""Scale sections: the bench libraries (`libraries`) and search/ask latency, load and memory (`latency`).

`latency` runs one fresh worker process per library size and records, for each size N,
`latency.N.search_p50_ms` / `_p95_ms`, `latency.N.floor_p50_ms` / `_p95_ms`, `latency.N.ask_p50_ms`,
`latency.N.peak_rss_mb`, `latency.N.rss_before_load_mb`, and at the first size (which runs the
20-thread load test) `latency.N.load_errors`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.common import CACHE, Config, Run, env_for, log, profile_top, run_worker


def measure_libraries(run: Run, cfg: Config) -> None:
    from bench.libraries import library_dir

    builds: dict[int, dict[str, Any]] = {}
    for n in cfg.sizes:
        out = run_worker("build", [str(n)], env_for(), timeout=3600)
        builds[n] = {k: v for k, v in out.items() if k != "corpus"}
        for part in ("chroma", "cache"):
            folder = library_dir(n) / part
            size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) if folder.exists() else 0
            builds[n][f"{part}_mb"] = round(size / 1e6, 1)
        log(f"lib-{n}: {'cached' if out.get('cached') else 'built'} ({out.get('build_s')}s to build)")
    run.measurements["libraries"] = builds


def record_search(run: Run, prefix: str, r: dict[str, Any]) -> None:
    """`PREFIX.search_p50_ms` / `_p95_ms` of one latency worker's result, with its search profile."""
    for q in ("p50", "p95"):
        run.record(
            f"{prefix}.search_{q}_ms",
            r["search"][f"{q}_ms"],
            profile=lambda: profile_top(Path(r["profiles"]["search"]), 22),
        )


def measure_latency(run: Run, cfg: Config) -> None:
    from bench.libraries import library_dir

    results: dict[int, dict[str, Any]] = {}
    for n in cfg.sizes:
        args = [
            str(library_dir(n)),
            "--queries",
            str(cfg.queries),
            "--asks",
            str(cfg.asks),
            "--profile",
            str(CACHE / f"prof-{n}"),
        ]
        if n == cfg.sizes[0]:
            args += ["--concurrency", "20"]
        results[n] = run_worker("latency", args, env_for())
        log(
            f"latency {n}: search p50 {results[n]['search']['p50_ms']:.1f} ms, ask p50 "
            f"{results[n]['ask']['p50_ms']:.0f} ms, peak {results[n]['rss']['peak_mb']:.0f} MB"
        )
    run.measurements["latency"] = {str(n): r for n, r in results.items()}
    for n, r in results.items():
        _record(run, n, r)


def _record(run: Run, n: int, r: dict[str, Any]) -> None:
    key = f"latency.{n}"
    record_search(run, key, r)
    for q in ("p50", "p95"):
        run.record(f"{key}.floor_{q}_ms", r["floor"][f"{q}_ms"])
    if r.get("ask"):
        run.record(
            f"{key}.ask_p50_ms",
            r["ask"]["p50_ms"],
            f"p95 {r['ask']['p95_ms']:.0f} ms",
            profile=lambda: profile_top(Path(r["profiles"]["ask"]), 22),
        )
    rss = r["rss"]
    run.record(
        f"{key}.peak_rss_mb",
        rss["peak_mb"],
        profile=lambda: "RSS by stage (MB):\n" + json.dumps(rss, indent=1),
    )
    run.record(f"{key}.rss_before_load_mb", rss["peak_before_load_mb"])
    load = r.get("load")
    if load:
        ask_p95 = r["ask"]["p95_ms"] if r.get("ask") else float("nan")
        run.record(
            f"{key}.load_errors",
            load["errors"],
            f"p50 {load.get('p50_ms', float('nan')):.0f} ms, p95 {load.get('p95_ms', float('nan')):.0f} ms, "
            f"all {load['concurrency']} done in {load['wall_s']:.1f} s; sequential ask p95 {ask_p95:.0f} ms",
        )
