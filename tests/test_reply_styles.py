"""What the user sees when the model answers the way real models do (tests/llm_server.py reply styles):
through `papers ask --json`, `Engine.stream`, the `papers chat` REPL and the chat page.

No style may show reasoning text, pass an uncited sentence as the answer, or lose a valid citation.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

import pytest

from assistant.engine import Engine
from assistant.errors import LLMTruncated
from assistant.library.library import Library
from assistant.models import Answer
from assistant.settings import get_settings
from assistant.text import md_escape
from tests.llm_server import GRID_CLAIM, MATH_CODE_ANSWER, PIG_CLAIM, LLMServer, Reply
from tests.support import invoke
from tests.ui_support import answer_html, assert_view_inert, shown_sentences

PIG = "t:4c709caec8fa"
PIG_Q = "How can Gaussian functions with learnable positions replace a fixed mesh in physics-informed learning?"
TWO = f"{PIG_CLAIM} [1]. {GRID_CLAIM} [2]."
DROPPED_2 = "2 sentences without a source were left out."
# "Both adapt the discretisation [1][2]" cites real sources that do not say it: the verification core
# leaves it out.
NOT_BORNE_OUT = "1 sentence whose cited passage does not bear it out was left out."

# style → (the answer shown, the citations, the notes)
EXPECTED: dict[str, tuple[str, list[int], list[str]]] = {
    "qwen3-think": (f"{PIG_CLAIM} [1][2].", [1, 2], []),
    "r1-no-open-tag": (TWO, [1, 2], []),
    "cjk-cites": (TWO, [1, 2], []),
    "source-paren": (TWO, [1, 2], [NOT_BORNE_OUT]),
    "caret-footnotes": (TWO, [1, 2], []),
    "references-list": (f"{PIG_CLAIM} [1].", [1], []),
    "markdown-math-code": (MATH_CODE_ANSWER.format(claim=PIG_CLAIM, a=1, b=2), [1, 2], []),
    "uncited-claims": (f"{PIG_CLAIM} [1].", [1], [DROPPED_2]),
}
# What reasoning, reference lists and uncited claims say: none of it may reach the user.
NEVER_SHOWN = ("think>", "Okay", "Hmm", "relevant?", "Probably not", "Let me", "I should", "References",
               "never cited", "[^", "【", "Source ", "Google", "GPT-4", "&lt;", "[4]")


def assert_shown(text: str) -> None:
    for bit in NEVER_SHOWN:
        assert bit not in text, (bit, text)


def engine(seed_library: Library, embedder: Any, llm: Any = None) -> Engine:
    return Engine(get_settings(), library=seed_library, embedder=embedder, llm=llm)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_style_through_ask_json(
    name: str, llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch, seed_library: Library
) -> None:
    llm_server.configure_env(monkeypatch)
    llm_server.style(name)
    done = invoke(["ask", PIG_Q, "--json"])
    assert done.exit_code == 0, done.output
    out = json.loads(done.stdout)
    answer, cites, notes = EXPECTED[name]
    assert out["answer"] == answer
    assert [c["n"] for c in out["citations"]] == cites and out["citations"][0]["id"] == PIG
    assert out["mode"] == "llm" and out["fallback_reason"] is None
    assert out["abstained"] is False and out["truncated"] is False and out["notes"] == notes
    assert_shown(out["answer"])


@pytest.mark.parametrize("name", list(EXPECTED))
def test_style_through_the_stream(
    name: str, llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch, seed_library: Library, embedder: Any
) -> None:
    llm_server.configure_env(monkeypatch)
    llm_server.style(name)
    *pieces, final = list(engine(seed_library, embedder).stream(PIG_Q))
    assert isinstance(final, Answer)
    answer, cites, notes = EXPECTED[name]
    assert final.answer == answer and [c.n for c in final.citations] == cites and final.notes == notes
    # Streamed text is the final answer, in complete checked pieces: nothing is shown and then taken back.
    assert "".join(str(p) for p in pieces) == final.answer
    for piece in pieces:
        assert_shown(str(piece))


def test_multi_sentence_answers_stream_sentence_by_sentence(
    llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch, seed_library: Library, embedder: Any
) -> None:
    llm_server.configure_env(monkeypatch)
    llm_server.style("r1-no-open-tag")
    *pieces, final = list(engine(seed_library, embedder).stream(PIG_Q))
    assert [str(p).strip() for p in pieces] == [f"{PIG_CLAIM} [1].", f"{GRID_CLAIM} [2]."]
    llm_server.style("uncited-claims")
    *pieces, final = list(engine(seed_library, embedder).stream(PIG_Q))
    assert pieces == [f"{PIG_CLAIM} [1]."], "the uncited sentences never stream"


def test_reasoning_content_field_stays_hidden(
    llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch, seed_library: Library, embedder: Any
) -> None:
    """vLLM / DeepSeek / OpenRouter send reasoning in `reasoning_content`; llama-index yields content only."""
    llm_server.configure_env(monkeypatch)
    thought = "Okay, the user asks about meshes. Is [4] relevant? Probably not."
    llm_server.script(Reply(text=TWO, reasoning=thought))
    *pieces, final = list(engine(seed_library, embedder).stream(PIG_Q))
    assert isinstance(final, Answer) and final.answer == TWO and [c.n for c in final.citations] == [1, 2]
    assert_shown("".join(str(p) for p in pieces))
    llm_server.script(Reply(text=TWO, reasoning=thought))
    out = json.loads(invoke(["ask", PIG_Q, "--json"]).stdout)
    assert out["answer"] == TWO and out["mode"] == "llm"


@pytest.mark.parametrize("name", ["qwen3-think", "r1-no-open-tag", "markdown-math-code", "uncited-claims"])
def test_style_through_the_chat_repl(
    name: str, llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch, seed_library: Library
) -> None:
    llm_server.configure_env(monkeypatch)
    llm_server.style(name, times=2)
    question = "Which papers learn the positions of Gaussian functions instead of using a fixed mesh?"
    done = invoke(["chat"], input=f"{PIG_Q}\n{question}\n/quit\n")
    assert done.exit_code == 0, done.output
    answer, _, notes = EXPECTED[name]
    assert done.stdout.count(answer) == 2, done.stdout
    assert done.stdout.count("\nSources:\n[1] PIG") == 2
    assert "[Answer]" not in done.stdout, "what was streamed is the final answer: nothing printed twice"
    assert_shown(done.stdout.replace(PIG_Q, "").replace(question, ""))
    assert [ln for ln in done.stderr.splitlines() if ln.startswith("note: ")] == [f"note: {n}" for n in notes] * 2


# --- truncation -------------------------------------------------------------------------------------------
TRUNCATED_NOTE = "PAPERS_LLM_MAX_TOKENS"


def test_reply_cut_at_the_token_limit_ends_at_its_last_cited_sentence(
    llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch, seed_library: Library
) -> None:
    llm_server.configure_env(monkeypatch)
    llm_server.script(Reply(text=f"{TWO} It also reports that t", finish_reason="length"))
    out = json.loads(invoke(["ask", PIG_Q, "--json"]).stdout)
    assert out["answer"] == TWO and out["mode"] == "llm" and out["truncated"] is True
    assert [c["n"] for c in out["citations"]] == [1, 2]
    assert len(out["notes"]) == 1 and TRUNCATED_NOTE in out["notes"][0]
    llm_server.script(Reply(text=f"{TWO} It also reports that t", finish_reason="length"))
    done = invoke(["ask", PIG_Q])
    assert done.stdout.startswith(TWO) and "reports that" not in done.stdout
    assert any(ln.startswith("note: ") and TRUNCATED_NOTE in ln for ln in done.stderr.splitlines()), done.stderr


def test_reply_cut_before_any_cited_sentence_falls_back(
    llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch, seed_library: Library
) -> None:
    llm_server.configure_env(monkeypatch)
    llm_server.script(Reply(text="<think>Okay, the user asks about [3]. I should look at", finish_reason="length"))
    out = json.loads(invoke(["ask", PIG_Q, "--json"]).stdout)
    assert out["mode"] == "extractive" and out["truncated"] is False
    assert TRUNCATED_NOTE in out["fallback_reason"] and out["citations"][0]["id"] == PIG
    # The offline answer may cite any of its own sources ([4] too); nothing of the reasoning shows.
    for bit in NEVER_SHOWN:
        if bit != "[4]":
            assert bit not in out["answer"], (bit, out["answer"])
    assert {int(n) for n in re.findall(r"\[(\d+)\]", out["answer"])} <= {c["n"] for c in out["citations"]}


class CutModel:
    """A ChatModel that writes some text and stops at its token limit (the LLMTruncated contract)."""

    model = "cut-model"

    def __init__(self, text: str) -> None:
        self.text = text

    def chat(self, messages: Any) -> str:
        raise LLMTruncated(self.text, 64)

    def stream(self, messages: Any) -> Any:
        yield from (self.text[i : i + 7] for i in range(0, len(self.text), 7))
        raise LLMTruncated(self.text, 64)


def test_truncation_on_the_chat_model_seam(seed_library: Library, embedder: Any) -> None:
    """The answer side of truncation, independent of the transport: cut back, flagged, noted."""
    cut = f"{PIG_CLAIM} [1].\n\n- {GRID_CLAIM} [2]\n- an unfinished ite"
    *pieces, final = list(engine(seed_library, embedder, CutModel(cut)).stream(PIG_Q))
    assert isinstance(final, Answer) and final.truncated and final.mode == "llm"
    assert final.answer == f"{PIG_CLAIM} [1].\n\n- {GRID_CLAIM} [2]"
    assert "".join(str(p) for p in pieces) == final.answer
    assert len(final.notes) == 1 and TRUNCATED_NOTE in final.notes[0]
    final = engine(seed_library, embedder, CutModel("Okay, so PIG uses [1")).ask(PIG_Q)
    assert final.mode == "extractive" and not final.truncated and TRUNCATED_NOTE in (final.fallback_reason or "")


# --- the chat page ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["qwen3-think", "markdown-math-code", "uncited-claims"])
def test_style_on_the_chat_page(
    name: str, llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch, seed_library: Library
) -> None:
    from tests.ui_support import app_test, assert_inert

    llm_server.configure_env(monkeypatch, timeout_s=5)
    llm_server.style(name)
    at = app_test()
    at.chat_input[0].set_value(PIG_Q).run()
    assert not at.exception, at.exception
    answer = at.session_state["chat_messages"][-1]["answer"]
    expected, cites, notes = EXPECTED[name]
    assert answer.mode == "llm" and answer.answer == expected and [c.n for c in answer.citations] == cites
    message = at.chat_message[-1]
    body = answer_html(message)  # the answer, sentence by sentence with its sources (ui/support_html.py)
    shown = shown_sentences(body)
    # A chip names the source whose passage the core found bearing the sentence out ([1][2] may show [1]).
    chipped = {n for _, chips, _ in shown for n in chips}
    assert chipped <= set(cites) and cites[0] in chipped
    seen = html.unescape(re.sub(r"<[^>]+>", " ", body.split("</style>", 1)[1]))
    assert_shown(seen)
    assert_view_inert(body)
    captions = [c.value for c in message.caption]
    assert [c for c in captions if "left out" in c] == [f":material/info: {md_escape(n)}" for n in notes]
    if name == "markdown-math-code":
        # Shown as written: maths literally, the code block with its indentation, the nested list nested.
        assert "$k &lt; n$" in body and "    return x[0] + x[1]" in body
        assert '<li><span class="pa-sent" data-src="1" data-verdict="supported">Gaussian parameters:' in body
        assert re.search(r'<span class="pa-chip" data-n="1"[^>]*>\[1\]</span><ul><li>', body)  # sub-list in the item
    assert_inert(at)
