"""CLI sections: how soon a `papers` process is done — start-up (`cli`) and first answer (`ready`).

`cli` records `cli.python_s`, `cli.help_s`, `cli.list_1k_s`, `cli.stats_1k_s`; `ready` records
`ready.s` and `ready.floor_s`. Both run on the 1k bench library (the `libraries` section).
"""

from __future__ import annotations

from pathlib import Path

from bench.common import PAPERS, PY, Config, Run, env_for, median, profile_cli, run_timed, run_worker

QUESTION = "How can physics-informed neural networks solve partial differential equations?"


def measure_cli(run: Run, cfg: Config) -> None:
    from bench.libraries import library_dir

    lib = library_dir(1000)

    def med(cmd: list[str], data: Path | None = None) -> float:
        times = []
        for _ in range(cfg.reps + 1):
            done = run_timed(cmd, env_for(data))
            if done.returncode != 0:
                raise RuntimeError(f"{cmd} failed: {done.stderr[-1000:]}")
            times.append(done.seconds)
        return median(times[1:])  # the first run warms the disk cache

    python_s = med([PY, "-c", "pass"])
    help_s = med([PAPERS, "--help"])
    list_s = med([PAPERS, "list"], lib)
    stats_s = med([PAPERS, "stats"], lib)
    run.measurements["cli"] = {"python_start_s": python_s, "help_s": help_s, "list_1k_s": list_s, "stats_1k_s": stats_s}
    run.record("cli.python_s", python_s)
    run.record("cli.help_s", help_s, profile=lambda: profile_cli(["--help"], data=lib))
    run.record("cli.list_1k_s", list_s, profile=lambda: profile_cli(["list"], data=lib))
    run.record("cli.stats_1k_s", stats_s)


def measure_ready(run: Run, cfg: Config) -> None:
    from bench.libraries import library_dir

    lib = library_dir(1000)
    times, firsts = [], []
    for _ in range(cfg.reps + 1):
        done = run_timed([PAPERS, "ask", QUESTION], env_for(lib))
        if done.returncode != 0:
            raise RuntimeError(f"papers ask failed: {done.stderr[-1000:]}")
        times.append(done.seconds)
        firsts.append(done.first_line_s or done.seconds)
    floors = [run_worker("ready_floor", [QUESTION], env_for())["_wall_s"] for _ in range(cfg.reps)]
    first = median(firsts[1:])
    run.measurements["ready"] = {"runs_s": times, "first_line_s": firsts, "floor_runs_s": floors}
    run.record(
        "ready.s",
        median(times[1:]),
        f"first answer line after {first:.2f} s",
        profile=lambda: profile_cli(["ask", QUESTION], data=lib),
    )
    run.record("ready.floor_s", median(floors))
