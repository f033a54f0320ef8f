"""`papers search | ask | chat`: the real console script for the issue's "Done when" commands, typer's
CliRunner (same process, model loaded once) for the rest."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from assistant.library.library import Library
from tests.llm_server import LLMServer, Reply
from tests.support import invoke, papers, papers_json

PIG = "t:4c709caec8fa"
PIG_Q = "How can Gaussian functions with learnable positions replace a fixed mesh in physics-informed learning?"
ASK_KEYS = [
    "question", "answer", "mode", "abstained", "fallback_reason", "truncated", "notes", "sentences", "citations"
]


@pytest.fixture()
def cli(seed_library: Library) -> Iterator[Any]:
    def run(*args: str, input: str | None = None) -> Any:
        return invoke(args, input=input)

    yield run


def test_done_when_ask_cites_pig_first_offline(seed_library: Library) -> None:
    out = papers_json("ask", PIG_Q, "--json")
    assert list(out) == ASK_KEYS
    assert out["mode"] == "extractive" and out["abstained"] is False and out["fallback_reason"] is None
    assert out["citations"][0]["id"] == PIG and out["citations"][0]["n"] == 1
    assert out["citations"][0]["title"].startswith("PIG:")
    assert "[1]" in out["answer"]
    # Extractive sentences are the papers' own words: supported by construction, each with its quote.
    assert out["sentences"] and all(
        s["verdict"] == "supported" and s["judge"] == "verbatim" and s["quote"] == s["text"] for s in out["sentences"]
    )


def test_done_when_off_topic_abstains(seed_library: Library) -> None:
    out = papers_json("ask", "What is the boiling point of ethanol?", "--json")
    assert out["abstained"] is True and out["citations"] == []
    assert out["answer"] == "The library does not cover this question."


def test_search_json_shape_and_k(cli: Any) -> None:
    done = cli("search", "neural PDE solvers that stay stable over long rollouts", "-k", "3", "--json")
    assert done.exit_code == 0, done.output
    out = json.loads(done.output)
    assert out["query"] == "neural PDE solvers that stay stable over long rollouts"
    assert len(out["results"]) == 3
    assert set(out["results"][0]) == {"id", "title", "score", "snippet", "year", "authors", "url"}
    assert out["results"][0]["title"].startswith("PDE-Refiner")
    assert out["results"][0]["snippet"] and len(out["results"][0]["snippet"]) <= 300
    filtered = json.loads(cli("search", "neural PDE solvers", "--year-from", "2100", "--json").output)
    assert filtered["results"] == []


def test_ask_text_prints_answer_then_numbered_sources(cli: Any) -> None:
    done = cli("ask", PIG_Q)
    assert done.exit_code == 0, done.output
    answer, sources = done.output.split("\nSources:\n")
    assert "[1]" in answer
    assert sources.splitlines()[0].startswith("[1] PIG: Physics-Informed Gaussians") and PIG in sources


def test_ask_with_failing_llm_says_why_and_still_answers(
    cli: Any, llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    llm_server.configure_env(monkeypatch, timeout_s=1)
    llm_server.script(Reply(status=429))
    out = json.loads(cli("ask", PIG_Q, "--json").output)
    assert out["mode"] == "extractive" and out["fallback_reason"] == "HTTP 429"
    assert out["citations"][0]["id"] == PIG
    # Cut after the first sentence was shown: the CLI says so and prints the extractive answer.
    llm_server.script(Reply(text="PIG learns Gaussian positions [1]. It also adapts", cut_after=7))
    text = cli("ask", PIG_Q).output
    assert "LLM failed (stream cut); extractive answer" in text and "\nSources:\n[1] PIG" in text


def test_chat_repl_with_piped_input(cli: Any) -> None:
    done = cli("chat", input=f"{PIG_Q}\nand its limitations?\n/new\nWho won the 2018 FIFA World Cup?\n/quit\nignored\n")
    assert done.exit_code == 0, done.output
    out = done.output
    assert out.count("\nSources:\n[1] PIG") == 2, "the follow-up stays on the PIG paper"
    assert "(new conversation)" in out
    assert "The library does not cover this question." in out
    assert "ignored" not in out, "/quit ends the session"
    eof = cli("chat", input="")
    assert eof.exit_code == 0 and eof.output == ""


def test_ask_text_says_how_its_sentences_were_checked(seed_library: Library) -> None:
    done = papers("ask", PIG_Q)
    assert done.returncode == 0, done.stderr
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith("Checked: all ") and "their papers' own words (supported)" in last, done.stdout
