"""The API on a real uvicorn on 127.0.0.1 for the tests: in a thread of this process (sharing the
session's model), or as a real `papers serve` subprocess; and a reader of Server-Sent Events (httpx-sse)."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from httpx_sse import EventSource

from assistant.engine import Engine
from bench.common import free_port, server_process
from tests.support import PAPERS
from ui.api.app import build_app


@contextlib.contextmanager
def api_in_thread(engine: Engine, timeout_s: float = 30) -> Iterator[str]:
    """`build_app(engine)` served by uvicorn in a thread; yields its base URL."""
    port = free_port()
    config = uvicorn.Config(build_app(engine, warm=False), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


class ServeProcess:
    """A running `papers serve`; `log()` is what it wrote to stdout and stderr so far."""

    def __init__(self, proc: subprocess.Popen[bytes], url: str, log_path: Path) -> None:
        self.proc = proc
        self.url = url
        self.log_path = log_path

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


def start_serve(log_path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    out = log_path.open("wb")
    return subprocess.Popen(
        [str(PAPERS), "serve", *args],
        stdout=out,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
    )


@contextlib.contextmanager
def serve_process(
    log_path: Path, *args: str, env: dict[str, str] | None = None, timeout_s: float = 120
) -> Iterator[ServeProcess]:
    """`papers serve --port FREE --no-warm ARGS` until /health answers; stopped with SIGTERM afterwards."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        return httpx.get(f"{url}/health", timeout=1).status_code == 200

    cmd = [str(PAPERS), "serve", "--port", str(port), "--no-warm", *args]
    with server_process(cmd, log_path, ready, env={**os.environ, **(env or {})}, timeout_s=timeout_s) as proc:
        yield ServeProcess(proc, url, log_path)


def sse_events(response: httpx.Response) -> list[tuple[str, Any]]:
    """(event, JSON data) of each event of a `text/event-stream` response (read by httpx-sse), checking
    that every event is named and its data is one JSON value."""
    events: list[tuple[str, Any]] = []
    for sse in EventSource(response).iter_sse():
        assert sse.event in ("token", "answer", "error"), sse
        events.append((sse.event, json.loads(sse.data)))
    return events


def wait_job(client: httpx.Client, job_id: str, timeout_s: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        job: dict[str, Any] = client.get(f"/jobs/{job_id}").json()
        if job["state"] in ("done", "failed") or time.monotonic() > deadline:
            return job
        time.sleep(0.1)
