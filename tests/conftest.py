"""Shared fixtures: every test gets its own library directory; the model loads once per session."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from assistant.index.embeddings import get_embedder  # noqa: E402
from assistant.index.tokens import offline_env  # noqa: E402
from assistant.settings import Settings, get_settings  # noqa: E402
from tests.support import CLEARED_ENV  # noqa: E402

offline_env()



@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for var in CLEARED_ENV:
        monkeypatch.delenv(var, raising=False)
    lib = tmp_path / "library"
    monkeypatch.setenv("PAPERS_DATA_DIR", str(lib))
    get_settings.cache_clear()
    yield lib
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def embedder():  # type: ignore[no-untyped-def]
    """The real bundled model, loaded once; get_embedder's cache makes library code share it."""
    return get_embedder(Settings(_env_file=None))  # type: ignore[call-arg]


@pytest.fixture(scope="session")
def _seed_library_template(tmp_path_factory: pytest.TempPathFactory, embedder) -> Path:  # type: ignore[no-untyped-def]
    from assistant.library.library import Library
    from ingest.sources.seed import SEED_FILE
    from tests.support import ingest_files

    root = tmp_path_factory.mktemp("seed-template")
    settings = Settings(_env_file=None, data_dir=root)  # type: ignore[call-arg]
    lib = Library(settings)
    report = ingest_files([SEED_FILE], lib, embedder, settings)
    assert report.added == 46, report
    lib.close()
    return root


@pytest.fixture()
def seed_library(_seed_library_template: Path, data_dir: Path):  # type: ignore[no-untyped-def]
    """A copy of the 46-paper seed library in this test's data dir, opened."""
    from assistant.library.library import Library

    shutil.copytree(_seed_library_template, data_dir)
    lib = Library(get_settings())
    yield lib
    lib.close()


@pytest.fixture()
def llm_server():  # type: ignore[no-untyped-def]
    """A started OpenAI-compatible test server on 127.0.0.1 (tests/llm_server.py);
    `llm_server.configure_env(monkeypatch)` points PAPERS_LLM_* at it."""
    from tests.llm_server import LLMServer

    server = LLMServer().start()
    try:
        yield server
    finally:
        server.stop()


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Under pytest-xdist each worker hands its compass figures to the controller, which prints them."""
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        import json

        from tests.compass import DETAILS, FIGURES

        workeroutput["compass"] = json.dumps({"figures": dict(FIGURES), "details": DETAILS})


@pytest.hookimpl(optionalhook=True)  # an xdist hook: unknown (and not called) when tests run serially
def pytest_testnodedown(node: Any, error: object) -> None:
    import json

    from tests.compass import DETAILS, FIGURES

    sent = json.loads(getattr(node, "workeroutput", {}).get("compass", "{}"))
    FIGURES.update(sent.get("figures", {}))
    for key, items in sent.get("details", {}).items():
        DETAILS.setdefault(key, []).extend(items)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The compass figures the tests recorded in tests/compass.py (in this process, or sent by the
    xdist workers), after the usual summary."""
    from tests.compass import DETAILS, FIGURES, summary_lines

    if not FIGURES:
        return
    terminalreporter.write_sep("-", "compass figures")
    for line in summary_lines(FIGURES, DETAILS):
        terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One real `chroma run` server for the session; tests keep apart by collection name."""
    from tests.chroma_server import chroma_run

    with chroma_run(tmp_path_factory.mktemp("chroma-server")) as url:
        yield url


@pytest.fixture(scope="session")
def real_llm_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """llama.cpp's server with SmolLM2-135M-Instruct (tests/real_llm.py), started once per session."""
    from tests.real_llm import real_llm_server

    with real_llm_server(tmp_path_factory.mktemp("llama")) as url:
        yield url
