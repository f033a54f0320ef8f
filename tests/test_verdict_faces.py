"""One sentence, one verdict, through every face: the verification core decides once (assistant/answers/verify)
and the CLI text, `ask --json`, the REST API's POST /ask, /compare and /summarize over real HTTP, the
MCP `ask_papers` result and the Chat page all carry that verdict; none computes its own.

The model is the scripted OpenAI-compatible server (tests/llm_server.py). Whatever it is asked — an
answer, a comparison synthesis, a summary section or overview — it writes the same two sentences: one
its PIG source says (PIG_CLAIM) and one nobody's paper says (PINNED), each citing the PIG source; a
row request gets cells quoting the paper.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from assistant.engine import Engine
from assistant.library.library import Library
from assistant.settings import get_settings
from tests.api_server import api_in_thread
from tests.llm_server import PIG_CLAIM, LLMServer
from tests.support import papers, papers_json, run_async
from tests.test_mcp import stdio, structured

pytestmark = pytest.mark.slow

PIG = "t:4c709caec8fa"
GRID = "t:a6a908a62f8c"
QUESTION = "How can Gaussian functions with learnable positions replace a fixed mesh in physics-informed learning?"
PINNED = "The method was first sold by a Zurich bank to forecast currency prices"
SAID = f"{PIG_CLAIM}."


def _pig_number(messages: list[dict[str, Any]]) -> int:
    prompt = "\n".join(str(m.get("content", "")) for m in messages)
    found = re.search(r'<source n=(\d+) id="t:4c709caec8fa"', prompt)
    return int(found.group(1)) if found else 1


def _responder(messages: list[dict[str, Any]], body: dict[str, Any]) -> str:
    system = str(messages[0].get("content", ""))
    if "plan a literature summary" in system:
        return json.dumps({"title": "Gaussians", "themes": []})
    if "one row of a table" in system:
        quote = "Our approach uses trainable parameters for the mean and variance of each Gaussian"
        return json.dumps({"cells": {"method": {"text": "Trainable Gaussian means and variances.", "quote": quote}}})
    n = _pig_number(messages)
    return f"{PIG_CLAIM} [{n}]. {PINNED} [{n}]."


def _verdict(checks: list[dict[str, Any]], text: str = SAID) -> tuple[str, bool]:
    found = [(c["verdict"], c["shown"]) for c in checks if c["text"] == text]
    assert found, (text, checks)
    return found[0]


@pytest.fixture()
def scripted(llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch, seed_library: Library) -> dict[str, str]:
    llm_server.configure_env(monkeypatch, timeout_s=10)
    llm_server.responder = _responder
    return {k: v for k, v in os.environ.items() if k.startswith("PAPERS_")}


def test_one_sentence_one_verdict_in_every_face(
    scripted: dict[str, str], seed_library: Library, embedder: Any, data_dir: Path
) -> None:
    seen: dict[str, tuple[str, bool]] = {}

    # CLI --json and the CLI text.
    answer = papers_json("ask", QUESTION, "--json", env=scripted)
    assert answer["mode"] == "llm" and PINNED not in answer["answer"]
    seen["ask --json"] = _verdict(answer["sentences"])
    seen["ask --json (pinned)"] = _verdict(answer["sentences"], f"{PINNED}.")
    done = papers("ask", QUESTION, env=scripted)
    assert done.returncode == 0, done.stderr
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("- ")]
    said = next(ln for ln in lines if PIG_CLAIM[:40] in ln)
    pinned = next(ln for ln in lines if PINNED[:40] in ln)
    seen["CLI text"] = (said.split(" [")[0][2:].replace(" ", "_"), "left out" not in said)
    seen["CLI text (pinned)"] = (pinned.split(" [")[0][2:].replace(" ", "_"), "left out" not in pinned)

    # The REST API over real HTTP.
    eng = Engine(get_settings(), library=seed_library, embedder=embedder)
    with api_in_thread(eng) as url, httpx.Client(base_url=url, timeout=120) as client:
        got = client.post("/ask", json={"question": QUESTION})
        assert got.status_code == 200, got.text
        seen["POST /ask"] = _verdict(got.json()["sentences"])
        got = client.post("/compare", json={"paper_ids": [PIG, GRID], "aspects": ["method"]})
        assert got.status_code == 200, got.text
        comparison = got.json()
        seen["POST /compare"] = _verdict(comparison["sentences"])
        got = client.post("/summarize", json={"topic": "Gaussian functions as a learnable mesh for PDEs"})
        assert got.status_code == 200, got.text
        summary = got.json()
        assert summary["mode"] == "llm", summary
        seen["POST /summarize"] = _verdict(summary["sentences"])

    # MCP ask_papers (stdio, the SDK's client).
    async def session() -> None:
        async with stdio(data_dir, **{k: v for k, v in scripted.items() if k != "PAPERS_DATA_DIR"}) as client:
            result = structured(await client.call_tool("ask_papers", {"question": QUESTION}))
            seen["MCP ask_papers"] = _verdict(result["sentences"])

    run_async(session)

    # The Chat page: the answer's verdicts, and its HTML marks nothing of its own.
    from tests.ui_support import answer_html, app_test, shown_sentences

    at = app_test()
    at.chat_input[0].set_value(QUESTION).run()
    assert not at.exception, at.exception
    page_answer = at.session_state["chat_messages"][-1]["answer"]
    seen["Chat page"] = _verdict([c.model_dump() for c in page_answer.sentences])
    shown = shown_sentences(answer_html(at.chat_message[-1]))
    assert [(t, status) for t, _, status in shown] == [(SAID, "supported")]

    verdicts = {face: v for face, v in seen.items() if "pinned" not in face}
    assert set(verdicts.values()) == {("supported", True)}, seen
    assert seen["ask --json (pinned)"] == seen["CLI text (pinned)"] == ("not_found", False), seen

