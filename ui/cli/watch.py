"""`papers watch [DIR...]`: keep watched folders in step with the library (see ingest/watch.py)."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from types import FrameType

import typer

from ui.cli.common import engine, fail, friendly

app = typer.Typer()


def _echo(line: str) -> None:
    print(line, flush=True)


def _warn(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@app.command()
@friendly
def watch(
    folders: list[Path] = typer.Argument(None, help="Folders to watch (default: PAPERS_WATCH, os.pathsep-separated)."),
    once: bool = typer.Option(False, "--once", help="Scan and reconcile deletions once, then exit."),
    debounce: float = typer.Option(
        None, "--debounce", help="Seconds a file's size and mtime must stay unchanged before it is read."
    ),
) -> None:
    """Ingest new or changed PDFs and bibliography files as they land; remove papers whose file was deleted."""
    from ingest.watch import watch as run_watch

    eng = engine()
    settings = eng.settings
    targets = list(folders or []) or [Path(p) for p in settings.watch.split(os.pathsep) if p.strip()]
    if not targets:
        fail("no folder to watch: give DIR arguments or set PAPERS_WATCH")
    missing = [str(t) for t in targets if not t.is_dir()]
    if missing:
        fail(f"not a directory: {', '.join(missing)}")
    if debounce is not None and debounce <= 0:
        fail("--debounce must be greater than 0")
    signal.signal(signal.SIGTERM, _terminate)
    try:
        run_watch(
            eng,
            targets,
            debounce_s=debounce if debounce is not None else settings.watch_debounce_s,
            echo=_echo,
            warn=_warn,
            once=once,
        )
    except KeyboardInterrupt:
        _echo("stopped watching")
