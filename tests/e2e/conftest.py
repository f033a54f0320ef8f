"""Browser-test harness: the real app (`streamlit run ui/app.py`) on a free port over a temporary
copy of the seed library (plus the hostile paper), driven by Debian chromium through Playwright.

One server and one browser serve the whole e2e session; each test gets a fresh page that records
every request leaving 127.0.0.1 (and blocks it) and every JavaScript dialog.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support import CLEARED_ENV

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class App:
    url: str
    data_dir: Path
    log: Path
    proc: subprocess.Popen[bytes]

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""


def start_app(data_dir: Path, log: Path, timeout_s: float = 90) -> App:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in CLEARED_ENV}
    env.update(PAPERS_DATA_DIR=str(data_dir), HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1")
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(ROOT / "ui" / "app.py"),
        "--server.port", str(port), "--server.address", "127.0.0.1", "--server.headless", "true",
        "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    fh = log.open("wb")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT)
    app = App(f"http://127.0.0.1:{port}", data_dir, log, proc)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}:\n{app.log_tail()}")
        try:
            with urllib.request.urlopen(f"{app.url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return app
        except OSError:
            time.sleep(0.3)
    stop_app(app)
    raise RuntimeError(f"streamlit did not become healthy in {timeout_s}s:\n{app.log_tail()}")


def stop_app(app: App) -> None:
    app.proc.terminate()
    try:
        app.proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        app.proc.kill()
        app.proc.wait(timeout=10)


@pytest.fixture(scope="session")
def e2e_library(_seed_library_template: Path, embedder, tmp_path_factory: pytest.TempPathFactory) -> Path:  # type: ignore[no-untyped-def]
    """The seed library plus the hostile paper, in a directory of its own."""
    from assistant.library.library import Library
    from assistant.settings import Settings
    from tests.support import ingest_files
    from tests.ui_support import EVIL_PAPER, jsonl_bytes

    root = tmp_path_factory.mktemp("e2e") / "library"
    shutil.copytree(_seed_library_template, root)
    settings = Settings(_env_file=None, data_dir=root)  # type: ignore[call-arg]
    src = root.parent / "evil.jsonl"
    src.write_bytes(jsonl_bytes(EVIL_PAPER))
    lib = Library(settings)
    report = ingest_files([src], lib, embedder, settings)
    lib.close()
    assert report.added == 1, report
    return root


@pytest.fixture(scope="session")
def app(e2e_library: Path) -> Iterator[App]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make system-deps` (apt-get install chromium)")
    running = start_app(e2e_library, e2e_library.parent / "streamlit.log")
    yield running
    stop_app(running)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@dataclass
class Watch:
    """What a page tried to do beyond the app: requests off 127.0.0.1, JavaScript dialogs."""

    outside: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def watched_page(browser: Any, allowed: tuple[str, ...], watch: Watch, **context_args: Any) -> Any:
    """A fresh page that records in `watch` (and blocks) every request not to `allowed`, and its dialogs
    and script errors. Close it with `pg.context.close()`."""
    ok = (*allowed, "data:", "blob:")
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, **context_args)

    def route(r: Any) -> None:
        if r.request.url.startswith(ok):
            r.continue_()
        else:
            watch.outside.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    pg = context.new_page()
    pg.set_default_timeout(60_000)

    def on_dialog(d: Any) -> None:
        watch.dialogs.append(d.message)
        d.dismiss()

    pg.on("dialog", on_dialog)
    pg.on("pageerror", lambda e: watch.errors.append(str(e)))
    # A request that bypasses routing (e.g. an <img> the browser preloads) still shows up here.
    pg.on("request", lambda r: None if r.url.startswith(ok) else watch.outside.append(r.url))
    return pg


@pytest.fixture()
def page(browser, app: App) -> Iterator[tuple[Any, Watch]]:  # type: ignore[no-untyped-def]
    watch = Watch()
    pg = watched_page(browser, (app.url,), watch, accept_downloads=True)
    yield pg, watch
    pg.context.close()
