"""Run the real `papers` console script in a subprocess, with this test's environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

PAPERS = Path(sys.executable).parent / "papers"


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
