"""A real `chroma run` server on 127.0.0.1 for the tests that need one."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

CHROMA = Path(sys.executable).parent / "chroma"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def until_stopped(
    proc: subprocess.Popen[bytes], ready_url: str, log_path: Path, timeout_s: float = 60, stop_s: float = 30
) -> Iterator[None]:
    """Wait for GET `ready_url` to answer 200 while `proc` runs (else RuntimeError with the end of its log),
    yield, then stop it with SIGTERM (SIGKILL after `stop_s`)."""
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            with contextlib.suppress(httpx.HTTPError):  # not listening yet
                if httpx.get(ready_url, timeout=1).status_code == 200:
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                log = log_path.read_text(encoding="utf-8", errors="replace")[-2000:]
                raise RuntimeError(f"{proc.args!s} did not start: {log}")
            time.sleep(0.2)
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(stop_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def chroma_run(path: Path, timeout_s: float = 60) -> Iterator[str]:
    """Start `chroma run --path PATH` on a free port, wait for its heartbeat, yield its URL."""
    port = free_port()
    log_path = path / "server.log"
    url = f"http://127.0.0.1:{port}"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [str(CHROMA), "run", "--path", str(path / "db"), "--host", "127.0.0.1", "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        with until_stopped(proc, f"{url}/api/v2/heartbeat", log_path, timeout_s, stop_s=10):
            yield url
