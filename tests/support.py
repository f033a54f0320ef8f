"""The one shared test-support module: the environment tests must not leak, the real `papers` CLI
(in a subprocess or in-process), and ingesting files through the front door.

Imported everywhere as `tests.support` (pytest puts the repository root on sys.path).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from assistant.index.embeddings import Embedder
from assistant.library.library import Library
from assistant.models import IngestReport, LoadError, Paper, Progress
from assistant.settings import Settings

PAPERS = Path(sys.executable).parent / "papers"

# Environment a test must not inherit from the developer's shell (an LLM, a Chroma server, a model).
CLEARED_ENV = (
    "PAPERS_LLM_MODEL",
    "PAPERS_LLM_BASE_URL",
    "PAPERS_LLM_API_KEY",
    "PAPERS_CHROMA_URL",
    "PAPERS_EMBED_MODEL",
    "PAPERS_COLLECTION",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "PAPERS_VERIFY_LLM_JUDGE",
)


# -- the CLI in a subprocess (the real console script) ----------------------------------------------
def papers(*args: str, env: dict[str, str] | None = None, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    """os.environ (PAPERS_DATA_DIR set by the data_dir fixture) plus `env`."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [str(PAPERS), *args], capture_output=True, text=True, env=full_env, timeout=timeout, stdin=subprocess.DEVNULL
    )


def papers_json(*args: str, env: dict[str, str] | None = None, ok_codes: tuple[int, ...] = (0,)) -> Any:
    done = papers(*args, env=env)
    assert done.returncode in ok_codes, (done.returncode, done.stdout[-2000:], done.stderr[-2000:])
    return json.loads(done.stdout)


def assert_one_line_error(done: subprocess.CompletedProcess[str], *fragments: str) -> str:
    """A non-zero exit with one `error: ...` line on stderr and no traceback."""
    assert done.returncode != 0, done
    lines = [ln for ln in done.stderr.splitlines() if ln.strip()]
    assert "Traceback" not in done.stderr, done.stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


# -- the CLI in this process (the model loads once per session) --------------------------------------
def invoke(args: Sequence[str], input: str | None = None) -> Any:
    """typer's CliRunner on the real root app; the process's engines are dropped afterwards so the
    next call sees the environment of its own test."""
    from typer.testing import CliRunner

    from assistant.engine import reset_engines
    from ui.cli import app

    try:
        return CliRunner().invoke(app, list(args), input=input)
    finally:
        reset_engines()


# -- ingesting through the front door ------------------------------------------------------------------
def ingest_files(
    paths: Iterable[Path],
    library: Library,
    embedder: Embedder,
    settings: Settings,
    *,
    extra: Iterable[Paper | LoadError] = (),
    progress: Progress | None = None,
) -> IngestReport:
    """What `papers ingest PATHS` does, on an already opened library and the session's model."""
    from assistant.engine import Engine
    from ingest.pipeline import load_all

    engine = Engine(settings, library=library, embedder=embedder)
    return engine.ingest(load_all(paths, settings, extra), progress=progress)


def run_async(session: Any) -> None:
    """`anyio.run(session)` in a thread of its own: the browser tests' session-wide Playwright (its
    sync API) keeps an event loop running in the main thread, where anyio.run would refuse to start."""
    import threading

    import anyio

    failure: list[BaseException] = []

    def main() -> None:
        try:
            anyio.run(session)
        except BaseException as exc:  # re-raised in the test's thread, with its traceback
            failure.append(exc)

    worker = threading.Thread(target=main, name="anyio-session")
    worker.start()
    worker.join()
    if failure:
        raise failure[0]
