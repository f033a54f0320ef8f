"""Every named reply style of the test server, through every face that asks the model: no style makes
`ask`, `compare`, `summarize` or `chat` show reasoning text, show a sentence without a source as if it
were cited, empty a comparison table the offline mode fills, or cite a source that is not listed.

The per-style tests (test_reply_styles, test_structured_styles, test_llm_transport, test_language)
say what each style should give; this sweep holds the rules for all of them at once, including
styles added later."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from assistant.answers.citations import cited_numbers
from assistant.library.library import Library
from assistant.spans import protect_spans
from assistant.text import split_sentences
from tests.llm_server import STYLES, LLMServer
from tests.support import invoke

PDE_REFINER = "t:6f74edd4d7db"
PIG = "t:4c709caec8fa"
QUESTION = "How can Gaussian functions with learnable positions replace a fixed mesh in physics-informed learning?"
# Words only the styles' reasoning blocks use: none may reach the user.
REASONING = re.compile(r"<\s*/?\s*think|Probably not|the user is asking|user wants|Let me check", re.IGNORECASE)


def _no_reasoning(*texts: str) -> None:
    for text in texts:
        assert not REASONING.search(text), text[:500]


def _sentences_all_cited(answer: str) -> None:
    """Outside code and maths, every sentence of an LLM answer carries a source marker (a lead-in
    line that ends with ':' introduces what follows and is allowed)."""
    prose = protect_spans(answer).text
    for block in re.split(r"\n\s*\n|\n(?=\s*(?:[-*+]|\d+[.)])\s)", prose):
        for sentence in split_sentences(" ".join(block.split())):
            if sentence.rstrip().endswith(":") or len(sentence.split()) < 3:
                continue
            assert cited_numbers(sentence), (sentence, answer[:600])


@pytest.fixture()
def offline_cells(seed_library: Library) -> int:
    """How many cells the offline comparison of the two papers fills."""
    done = invoke(["compare", "--paper", PDE_REFINER, "--paper", PIG, "--format", "json"])
    assert done.exit_code == 0, done.output
    data = json.loads(done.stdout)
    assert data["mode"] == "extractive"
    return _filled(data)


def _filled(data: dict[str, Any]) -> int:
    return sum(1 for p in data["papers"] for c in p["cells"].values() if c["quote"])


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(STYLES))
def test_no_style_breaks_the_rules(
    name: str, llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch, seed_library: Library, offline_cells: int
) -> None:
    llm_server.configure_env(monkeypatch)
    llm_server.responder = STYLES[name]

    asked = invoke(["ask", QUESTION, "--json"])
    assert asked.exit_code == 0, asked.output
    answer = json.loads(asked.stdout)
    _no_reasoning(answer["answer"], asked.stderr)
    listed = {c["n"] for c in answer["citations"]}
    assert set(cited_numbers(protect_spans(answer["answer"]).text)) <= listed, answer
    if answer["mode"] == "llm" and not answer["abstained"]:
        assert listed, answer
        _sentences_all_cited(answer["answer"])

    compared = invoke(["compare", "--paper", PDE_REFINER, "--paper", PIG, "--format", "json"])
    assert compared.exit_code == 0, compared.output
    table = json.loads(compared.stdout)
    _no_reasoning(compared.stdout, compared.stderr)
    assert _filled(table) >= min(offline_cells, 1), table  # never emptier than "nothing at all"
    if table["mode"] == "extractive" or any(p["fallback_reason"] for p in table["papers"]):
        assert table["fallback_reason"] or any(p["fallback_reason"] for p in table["papers"]), table

    summary = invoke(["summarize", "physics-informed learning", "--max-papers", "4", "--format", "json"])
    assert summary.exit_code == 0, summary.output
    _no_reasoning(summary.stdout, summary.stderr)

    chat = invoke(["chat"], input=f"{QUESTION}\nAnd what are its limitations?\n/quit\n")
    assert chat.exit_code == 0, chat.output
    _no_reasoning(chat.stdout)
