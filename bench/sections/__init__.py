"""The bench sections, by the name `--only` takes: each records measurements, none decides a goal.

A section is a function `(run, cfg) -> None` that calls `run.record(metric, value, detail)` and
fills `run.measurements[name]` for the report's tables; `needs` names the sections it reads from
(they run first, in registry order, when it is selected).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bench.common import Config, Run
from bench.sections import api_load, cli, ingest, latency, library_map, llm, onnx, quality, server, verify


@dataclass(frozen=True)
class Section:
    measure: Callable[[Run, Config], None]
    needs: tuple[str, ...] = ()


SECTIONS: dict[str, Section] = {
    "ingest": Section(ingest.measure),
    "libraries": Section(latency.measure_libraries),
    "cli": Section(cli.measure_cli, needs=("libraries",)),
    "latency": Section(latency.measure_latency, needs=("libraries",)),
    "ready": Section(cli.measure_ready, needs=("libraries",)),
    "server": Section(server.measure, needs=("libraries",)),
    "onnx": Section(onnx.measure),
    "quality": Section(quality.measure),
    "api": Section(api_load.measure),
    "map": Section(library_map.measure),
    "verify": Section(verify.measure),
    "llm": Section(llm.measure),
}


def plan(only: set[str]) -> list[str]:
    """The sections to run for `--only` (all when empty), with what they need, in registry order."""
    unknown = only - SECTIONS.keys()
    if unknown:
        raise ValueError(f"unknown bench sections: {', '.join(sorted(unknown))} (known: {', '.join(SECTIONS)})")
    chosen = set(only or SECTIONS)
    for name in list(chosen):
        chosen.update(SECTIONS[name].needs)
    return [name for name in SECTIONS if name in chosen]
