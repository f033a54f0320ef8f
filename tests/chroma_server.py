"""A real `chroma run` server on 127.0.0.1 for the tests that need one. Starting, waiting for and
stopping a server process is bench.common's one helper (the bench runs the same servers)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx

from bench.common import free_port, server_process

__all__ = ["CHROMA", "chroma_run", "free_port"]

CHROMA = Path(sys.executable).parent / "chroma"


@contextlib.contextmanager
def chroma_run(path: Path, timeout_s: float = 60) -> Iterator[str]:
    """Start `chroma run --path PATH` on a free port, wait for its heartbeat, yield its URL."""
    url = f"http://127.0.0.1:{free_port()}"
    cmd = [str(CHROMA), "run", "--path", str(path / "db"), "--host", "127.0.0.1", "--port", url.rsplit(":", 1)[1]]

    def ready() -> bool:
        return httpx.get(f"{url}/api/v2/heartbeat", timeout=1).status_code == 200

    with server_process(cmd, path / "server.log", ready, timeout_s=timeout_s, stop_s=10):
        yield url
