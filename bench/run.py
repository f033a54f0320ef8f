"""`make bench` / `python -m bench.run [--quick] [--only ...]`: every goal against a same-run baseline.

Runs the sections of bench/sections/ (each records measurements only), checks the goal table of
bench/goals.py once against what they recorded, profiles the goals not met, and writes
bench/RESULTS.md and bench/results.json (bench/report.py). Sections start their measurements in
processes of their own (bench/workers.py), so imports, model loads and peak memory are measured as
a user meets them.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

from bench import goals
from bench.common import BENCH, CACHE, Config, Run, log, machine
from bench.report import write_report
from bench.sections import SECTIONS, plan

FULL = Config(
    ingest_n=1000,
    sizes=(1000, 10000, 100000),
    server_sizes=(1000, 10000, 100000),
    queries=54,
    asks=30,
    onnx_texts=400,
    reps=3,
)
QUICK = Config(ingest_n=100, sizes=(1000, 10000), server_sizes=(1000,), queries=20, asks=10, onnx_texts=100, reps=2)


def config(quick: bool, sizes: str = "", ingest_n: int = 0) -> Config:
    """FULL or QUICK with `--sizes` and `--ingest-n` applied."""
    cfg = QUICK if quick else FULL
    if sizes:
        chosen = tuple(int(s) for s in sizes.split(","))
        server = tuple(s for s in cfg.server_sizes if s in chosen) or chosen[:1]
        cfg = dataclasses.replace(cfg, sizes=chosen, server_sizes=server)
    if ingest_n:
        cfg = dataclasses.replace(cfg, ingest_n=ingest_n)
    return cfg


def profile_unmet(run: Run, outcomes: list[goals.Outcome]) -> None:
    """Attach to each goal not met the profile its metric's section left for that case."""
    for o in outcomes:
        metric = run.metrics.get(o.goal.metric)
        if o.status == "not met" and metric is not None and metric.profile is not None:
            log(f"profiling: {o.name}")
            o.profile = metric.profile()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="bench.run", description=__doc__)
    ap.add_argument("--quick", action="store_true", help="Small sizes for development (100-paper ingest, 1k+10k).")
    ap.add_argument("--only", default="", help=f"Comma-separated sections of: {', '.join(SECTIONS)}.")
    ap.add_argument("--sizes", default="", help="Library sizes, e.g. 1000,10000,100000.")
    ap.add_argument("--out", default=str(BENCH), help="Directory for RESULTS.md and results.json.")
    ap.add_argument("--ingest-n", type=int, default=0, help="Papers for the ingest goals (default 1000, quick 100).")
    args = ap.parse_args(argv)
    cfg = config(args.quick, args.sizes, args.ingest_n)
    try:
        names = plan({s.strip() for s in args.only.split(",") if s.strip()})
    except ValueError as exc:
        ap.error(str(exc))
    CACHE.mkdir(parents=True, exist_ok=True)
    run = Run(quick=args.quick)
    run.measurements["machine"] = machine()
    run.measurements["config"] = dataclasses.asdict(cfg)
    t0 = time.perf_counter()
    for name in names:
        log(f"--- {name}")
        ts = time.perf_counter()
        SECTIONS[name].measure(run, cfg)
        run.timings[name] = round(time.perf_counter() - ts, 1)
    outcomes = goals.check(run.metrics, {"ingest_n": cfg.ingest_n})
    for o in outcomes:
        if o.status != "not run":
            log(f"goal {o.name}: {o.value:.4g} {o.goal.unit} ({o.status}; target {o.goal.target_text()})")
    profile_unmet(run, outcomes)
    run.measurements["bench_seconds"] = round(time.perf_counter() - t0, 1)
    out = Path(args.out)
    write_report(run, outcomes, out)
    log(f"done in {run.measurements['bench_seconds']:.0f}s: {goals.summary(outcomes)}; see {out / 'RESULTS.md'}")


if __name__ == "__main__":
    main()
