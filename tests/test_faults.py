"""LLM and Chroma faults, through the CLI.

With the LLM endpoint down, slow (beyond PAPERS_LLM_TIMEOUT_S), answering 429/500, or cutting its
reply mid-answer, `ask`, `compare` and `summarize` still give a result: the extractive one, flagged
with the reason. With the Chroma server unreachable (a closed port, or a server that accepts
connections and never answers), each command fails with one readable line naming the configured
timeout — and does fail, rather than hang (pytest-timeout).
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from assistant.engine import reset_engines
from assistant.library.library import Library
from assistant.settings import get_settings
from tests import compass
from tests.llm_server import LLMServer, Reply
from tests.support import assert_one_line_error, invoke, papers

PDE_REFINER = "t:6f74edd4d7db"
PIG = "t:4c709caec8fa"
PIG_Q = "How can Gaussian functions with learnable positions replace a fixed mesh in physics-informed learning?"
TOPIC = "neural solvers for partial differential equations"
TIMEOUT_S = 1
_LATE = f"timeout after {TIMEOUT_S}s"
CITED_REPLY = (
    "Gaussian functions with learnable positions replace the fixed mesh [1]. They adapt during training [1]. "
    "This sentence is never finished because the"
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture()
def cli() -> Iterator[Any]:
    """typer's CliRunner on the real app (same process: the model loads once); engines reset after."""
    def run(*args: str) -> Any:
        return invoke(args)

    yield run


# fault -> (server script for one call, or None for "endpoint down"; reasons accepted for a
# streaming call (ask) and for a plain call (compare, summarize))
FAULTS: dict[str, tuple[Reply | None, set[str], set[str]]] = {
    "endpoint down": (None, {"connection failed"}, {"connection failed"}),
    "slow": (Reply(text="late [1].", delay_s=TIMEOUT_S + 2), {_LATE}, {_LATE}),
    "HTTP 429": (Reply(status=429, headers={"Retry-After": "0"}), {"HTTP 429"}, {"HTTP 429"}),
    "HTTP 500": (Reply(status=500), {"HTTP 500"}, {"HTTP 500"}),
    "cut mid-answer": (
        Reply(text=CITED_REPLY, cut_after=12, chunk_chars=8),
        {"stream cut"},
        {"connection failed", "connection broken"},
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("fault", list(FAULTS))
@pytest.mark.timeout(240)
def test_llm_fault_falls_back_to_extractive(
    fault: str, cli: Any, llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch, seed_library: Library
) -> None:
    reply, stream_reasons, plain_reasons = FAULTS[fault]
    llm_server.configure_env(monkeypatch, timeout_s=TIMEOUT_S, retries=0)
    if reply is None:
        monkeypatch.setenv("PAPERS_LLM_BASE_URL", f"http://127.0.0.1:{_free_port()}/v1")
        get_settings.cache_clear()

    def scripted() -> None:
        llm_server.replies.clear()
        if reply is not None:
            llm_server.script(reply)

    scripted()
    ask = cli("ask", PIG_Q, "--json")
    assert ask.exit_code == 0, (ask.output, ask.exception)
    answer = json.loads(ask.stdout)
    assert answer["mode"] == "extractive" and not answer["abstained"], answer
    assert answer["fallback_reason"] in stream_reasons, answer["fallback_reason"]
    assert answer["citations"] and answer["citations"][0]["id"] == PIG and "[1]" in answer["answer"]

    scripted()
    compared = cli("compare", "--paper", PDE_REFINER, "--paper", PIG, "--format", "json")
    assert compared.exit_code == 0, (compared.output, compared.exception)
    (note,) = compared.stderr.splitlines()
    assert note.startswith("note: the LLM failed (") and note.endswith("); this is the extractive version")
    assert note[len("note: the LLM failed (") : -len("); this is the extractive version")] in plain_reasons, note
    table = json.loads(compared.stdout)
    assert [p["id"] for p in table["papers"]] == [PDE_REFINER, PIG]
    assert all(any(c["quote"] for c in p["cells"].values()) for p in table["papers"])

    scripted()
    summary = cli("summarize", TOPIC, "--max-papers", "4", "--format", "json")
    assert summary.exit_code == 0, (summary.output, summary.exception)
    (note,) = summary.stderr.splitlines()
    assert note[len("note: the LLM failed (") : -len("); this is the extractive version")] in plain_reasons, note
    data = json.loads(summary.stdout)
    assert data["sections"] and data["references"] and "[1]" in data["overview"]

    if reply is not None:
        assert len(llm_server.chat_requests) == 3  # one failed call each, no retries
    compass.record("fault modes survived", 3, f"LLM {fault} x ask/compare/summarize")


def test_stream_cut_after_cited_text_was_shown(
    cli: Any, llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch, seed_library: Library
) -> None:
    """The terminal already shows the first cited sentence when the stream dies: the extractive answer
    follows, labelled with the reason."""
    llm_server.configure_env(monkeypatch, timeout_s=TIMEOUT_S)
    llm_server.script(Reply(text=CITED_REPLY, cut_after=12, chunk_chars=8))
    done = cli("ask", PIG_Q)
    assert done.exit_code == 0, (done.output, done.exception)
    streamed, _, rest = done.stdout.partition("[LLM failed (stream cut); extractive answer]")
    assert "replace the fixed mesh [1]." in streamed, done.stdout
    assert rest.strip() and "[1]" in rest and "Sources:" in rest
    assert done.stderr.strip() == "(offline answer: the LLM failed — stream cut)"
    compass.record("fault modes survived", 1, "LLM stream cut after cited text was streamed")


# --- Chroma server faults --------------------------------------------------------------------------
class SilentServer:
    """Accepts TCP connections and never answers."""

    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.listener.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.held: list[socket.socket] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
                self.held.append(conn)
            except OSError:
                continue

    def __enter__(self) -> SilentServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()
        for conn in self.held:
            conn.close()
        self.listener.close()


COMMANDS = {
    "ask": ["ask", PIG_Q, "--json"],
    "compare": ["compare", "--paper", PDE_REFINER, "--paper", PIG],
    "summarize": ["summarize", TOPIC],
    "search": ["search", TOPIC],
    "ingest": ["ingest"],
    "stats": ["stats"],
}


@pytest.mark.timeout(120)
def test_chroma_unreachable_is_one_line_within_the_timeout(cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    with SilentServer() as silent:
        targets = {"closed port": f"http://127.0.0.1:{_free_port()}", "silent server": silent.url}
        for kind, url in targets.items():
            monkeypatch.setenv("PAPERS_CHROMA_URL", url)
            monkeypatch.setenv("PAPERS_CHROMA_TIMEOUT_S", "1")
            get_settings.cache_clear()
            for name, args in COMMANDS.items():
                reset_engines()
                done = cli(*args)
                assert done.exit_code == 2, (kind, name, done.output, done.exception)
                assert isinstance(done.exception, SystemExit), (kind, name, done.exception)
                lines = [ln for ln in done.stderr.splitlines() if ln.strip()]
                assert lines == [lines[0]] and lines[0].startswith(
                    f"error: cannot reach the Chroma server at {url} (within 1s)"
                ), (kind, name, done.stderr)
                assert done.stdout == ""
                compass.record("fault modes survived", 1)
        compass.DETAILS.setdefault("fault modes survived", []).append(
            f"Chroma closed port/silent server x {'/'.join(COMMANDS)}"
        )
        # And from a real process: no traceback, one line, exit status 2.
        done = papers("ask", PIG_Q, env={"PAPERS_CHROMA_URL": silent.url, "PAPERS_CHROMA_TIMEOUT_S": "1"}, timeout=60)
        assert done.returncode == 2
        assert_one_line_error(done, f"cannot reach the Chroma server at {silent.url} (within 1s)", "Timeout")
