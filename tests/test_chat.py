"""Chat: token-bounded memory and follow-up rewriting, offline and with the test LLM server."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from assistant.answers.chat import (
    Conversation,
    bounded_history,
    looks_like_followup,
    query_from_reply,
    rewrite_offline,
    rewrite_with_llm,
    standalone_query,
)
from assistant.engine import Engine
from assistant.errors import LLMError
from assistant.index.tokens import count_tokens
from assistant.library.library import Library
from assistant.llm.prompts import REWRITE_SYSTEM
from assistant.models import Turn
from assistant.settings import get_settings
from tests.llm_server import PIG_CLAIM, STYLES, LLMServer
from tests.support import invoke

PIG = "t:4c709caec8fa"
PIG_TITLE = "PIG: Physics-Informed Gaussians as Adaptive Parametric Mesh Representations"
PIG_Q = "How can Gaussian functions with learnable positions replace a fixed mesh in physics-informed learning?"


def test_count_tokens_is_cl100k() -> None:
    assert count_tokens("hello world") == 2
    assert count_tokens("") == 0


def test_history_is_bounded_in_tokens_newest_kept() -> None:
    turns = [Turn(f"question {i}", "word " * 100) for i in range(10)]
    kept = bounded_history(turns, 350)
    assert [t.question for t in kept] == ["question 7", "question 8", "question 9"]
    assert sum(count_tokens(t.question) + count_tokens(t.answer) for t in kept) <= 350
    # A single turn over budget is still kept (a follow-up needs it), its answer shortened.
    (only,) = bounded_history([Turn("q", "word " * 1000)], 50)
    assert count_tokens(only.question) + count_tokens(only.answer) <= 52
    assert bounded_history(turns, 0) == []


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("and its limitations?", True),
        ("What about the training cost?", True),
        ("How does it compare to LoRA?", True),
        ("Why?", True),
        ("Which papers study galaxy clustering systematics in DESI?", False),
        ("How can federated learning fine-tune large language models cheaply?", False),
    ],
)
def test_followup_detection(question: str, expected: bool) -> None:
    assert looks_like_followup(question) is expected


def test_offline_rewrite_names_the_previous_subject() -> None:
    prev = Turn(PIG_Q, "… [1]", query=PIG_Q, subjects=[PIG_TITLE])
    q = rewrite_offline("and its limitations?", [prev])
    assert q.startswith("and its limitations?") and "PIG" in q and "Physics-Informed Gaussians" in q
    assert rewrite_offline("Which papers study galaxy clustering in DESI?", [prev]).startswith("Which papers")
    assert rewrite_offline("and its limitations?", []) == "and its limitations?"


class ScriptedModel:
    """A ChatModel that answers every request with one reply (or raises it)."""

    model = "scripted"

    def __init__(self, reply: str | Exception) -> None:
        self.reply = reply
        self.requests: list[Sequence[Any]] = []

    def chat(self, messages: Sequence[Any]) -> str:
        self.requests.append(messages)
        if isinstance(self.reply, Exception):
            raise self.reply
        return self.reply

    def stream(self, messages: Sequence[Any]) -> Iterator[str]:
        yield self.chat(messages)


def test_rewrite_with_llm_uses_the_chat_model() -> None:
    prev = Turn(PIG_Q, "Gaussians [1].", query=PIG_Q, subjects=[PIG_TITLE])
    model = ScriptedModel('"What are the limitations of PIG?"\nbecause the user asked')
    assert rewrite_with_llm(model, "and its limitations?", [prev]) == "What are the limitations of PIG?"
    (messages,) = model.requests
    assert messages[0]["content"] == REWRITE_SYSTEM and "[1]" not in messages[-1]["content"]
    # A failing model leaves the offline rewrite; a question that stands alone is never rewritten.
    failing = ScriptedModel(LLMError("HTTP 500"))
    assert standalone_query("and its limitations?", [prev], failing) == rewrite_offline("and its limitations?", [prev])
    assert standalone_query(PIG_Q, [prev], failing) == PIG_Q and len(failing.requests) == 1


def test_offline_conversation_follow_up_stays_on_pig(seed_library: Library, embedder: Any) -> None:
    conv = Conversation(Engine(get_settings(), library=seed_library, embedder=embedder))
    first = conv.ask(PIG_Q)
    assert first.citations[0].id == PIG
    follow = conv.ask("and its limitations?")
    assert "PIG" in follow.query and follow.question == "and its limitations?"
    assert not follow.abstained and follow.citations[0].id == PIG
    assert len(conv.turns) == 2
    conv.reset()
    alone = conv.ask("and its limitations?")
    assert alone.query == "and its limitations?", "after /new there is nothing to lean on"


def test_llm_rewrites_the_follow_up(
    llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch, seed_library: Library, embedder: Any
) -> None:
    llm_server.configure_env(monkeypatch)

    def responder(messages: list[dict[str, Any]], body: dict[str, Any]) -> str:
        if messages[0]["content"] == REWRITE_SYSTEM:
            assert "and its limitations?" in messages[-1]["content"]
            assert PIG_Q in messages[-1]["content"], "the rewrite sees the conversation"
            return "What are the limitations of Physics-Informed Gaussians (PIG) for solving PDEs?"
        return f"{PIG_CLAIM} [1]."

    llm_server.responder = responder
    conv = Conversation(Engine(get_settings(), library=seed_library, embedder=embedder))
    conv.ask(PIG_Q)
    assert len(llm_server.chat_requests) == 1, "a first question needs no rewrite"
    follow = conv.ask("and its limitations?")
    assert follow.query == "What are the limitations of Physics-Informed Gaussians (PIG) for solving PDEs?"
    assert follow.mode == "llm" and follow.citations[0].id == PIG
    answer_req = llm_server.chat_requests[-1]
    roles = [m["role"] for m in answer_req["messages"]]
    assert roles == ["system", "user", "assistant", "user"], "history travels with the question"


def test_failed_llm_rewrite_falls_back_to_offline_rewrite(
    llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch, seed_library: Library, embedder: Any
) -> None:
    from tests.llm_server import Reply

    llm_server.configure_env(monkeypatch, timeout_s=1)
    engine = Engine(get_settings(), library=seed_library, embedder=embedder)
    history = [Turn(PIG_Q, "Gaussians [1].", query=PIG_Q, subjects=[PIG_TITLE])]
    llm_server.script(Reply(status=500), f"{PIG_CLAIM} [1].")
    a = engine.ask("and its limitations?", history=history)
    assert "PIG" in a.query and a.mode == "llm" and a.citations[0].id == PIG


LIMITS = "What are the limitations of PIG?"


@pytest.mark.parametrize(
    "reply",
    [
        f"Here is the rewritten standalone query:\n\n\"{LIMITS}\"\n\nThis names the paper explicitly.",
        f"Sure! Here is the query: {LIMITS}",
        f"Sure! {LIMITS}",
        f"Sure!\n\n**Standalone query:** {LIMITS}",
        f"Query: “{LIMITS}”",
        f"- {LIMITS}",
        f"<think>The user means PIG. Query: not this one</think>\n{LIMITS}",
        f"The user asks about PIG's limits, so\n</think>\n\n{LIMITS}",  # a reasoning model that never opened it
    ],
)
def test_a_chatty_rewrite_yields_only_the_query(reply: str) -> None:
    assert query_from_reply(reply) == LIMITS
    prev = Turn(PIG_Q, "Gaussians [1].", query=PIG_Q, subjects=[PIG_TITLE])
    assert rewrite_with_llm(ScriptedModel(reply), "and its limitations?", [prev]) == LIMITS


def test_a_rewrite_that_is_all_lead_in_is_unusable() -> None:
    assert query_from_reply("OK-VQA results") == "OK-VQA results", "a query may start like an interjection"
    for reply in ("Okay.", "Here is the rewritten standalone query:", "<think>still thinking"):
        assert query_from_reply(reply) == ""
        with pytest.raises(LLMError, match="unusable rewrite"):
            rewrite_with_llm(ScriptedModel(reply), "and its limitations?", [Turn(PIG_Q, "a [1].")])


def test_chat_repl_searches_the_query_not_the_lead_in(
    llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch, seed_library: Library
) -> None:
    """`papers chat` with a chatty model: the follow-up is searched as the quoted query, so it is
    answered from PIG, not refused as the lead-in line "Here is the rewritten standalone query:" was."""
    llm_server.configure_env(monkeypatch)
    llm_server.responder = STYLES["lead-in-rewrite"]
    done = invoke(["chat"], input=f"{PIG_Q}\nand its limitations?\n")
    assert done.exit_code == 0, (done.output, done.exception)
    assert "does not cover" not in done.stdout, done.stdout
    first, rewrite, answer = llm_server.chat_requests
    assert rewrite["messages"][0]["content"] == REWRITE_SYSTEM
    assert "Follow-up: and its limitations?" in rewrite["messages"][-1]["content"]
    prompt = answer["messages"][-1]["content"]
    assert f'<source n=1 id="{PIG}"' in prompt and "Question: and its limitations?" in prompt
    follow_up = done.stdout.split("> and its limitations?", 1)[1]
    assert "[1]" in follow_up and "Sources:\n[1] PIG" in follow_up
