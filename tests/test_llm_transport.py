"""The transport to real servers, through the real openai client against tests/llm_server.py: how a
reply ends (token limit, a clean close without `[DONE]` or a finish reason, a cut), the provider's own
words in every failure reason (Ollama's 404, OpenAI's 401 with the key redacted, error objects sent
with HTTP 200, SSE error events, a completion without `choices`), and the prompt budget
(PAPERS_LLM_CONTEXT_TOKENS). What the user sees is asserted through `papers ask --json`.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from assistant.answers.budget import fit_sources, prompt_budget, prompt_tokens
from assistant.answers.citations import Source
from assistant.errors import LLMError, LLMTruncated
from assistant.library.library import Library
from assistant.llm.client import build_llm, failure_reason, provider_message, redact
from assistant.llm.prompts import ANSWER_SYSTEM
from assistant.models import Paper
from assistant.settings import Settings, get_settings
from tests.llm_server import CITED_CLOSE, LENGTH_CUT, STYLES, LLMServer, Reply
from tests.support import invoke

PIG = "t:4c709caec8fa"
PIG_Q = "How can Gaussian functions with learnable positions replace a fixed mesh in physics-informed learning?"
HI = [{"role": "user", "content": "hi"}]
TRUNCATED = "reply cut at the token limit of 800 (raise PAPERS_LLM_MAX_TOKENS)"


def model_for(server: LLMServer, **update: Any) -> Any:
    fields: dict[str, Any] = {"llm_model": "m", "llm_base_url": server.url, "llm_api_key": "test-key"}
    return build_llm(Settings(_env_file=None, llm_max_retries=0, **{**fields, **update}))  # type: ignore[call-arg]


def ask_json(question: str = PIG_Q) -> dict[str, Any]:
    done = invoke(["ask", question, "--json"])
    assert done.exit_code == 0, (done.output, done.exception)
    return dict(json.loads(done.stdout))


# --- how a reply ends ---------------------------------------------------------------------------------
def test_token_limit_raises_truncated_with_the_text_written(llm_server: LLMServer) -> None:
    model = model_for(llm_server)
    llm_server.style("length-cut")
    with pytest.raises(LLMTruncated) as err:
        model.chat(HI)
    assert err.value.partial == "OK." and err.value.max_tokens == 800 and str(err.value) == TRUNCATED

    llm_server.style("length-cut")
    streamed: list[str] = []
    with pytest.raises(LLMTruncated) as err:
        for piece in model.stream(HI):
            streamed.append(piece)
    assert "".join(streamed) == err.value.partial == "OK.", "the text is yielded before the error"
    assert isinstance(err.value, LLMError), "callers that do not handle truncation fall back as for any failure"


def test_stream_closed_cleanly_without_done_or_finish_reason_is_a_reply(llm_server: LLMServer) -> None:
    model = model_for(llm_server)
    for name in ("no-done", "no-finish-clean-close"):
        llm_server.style(name)
        assert "".join(model.stream(HI)) == "OK.", name
    # A socket closed mid-chunk is still a cut, not a reply.
    llm_server.script(Reply(text=CITED_CLOSE, cut_after=3, finish_reason=None, send_done=False))
    with pytest.raises(LLMError, match="^stream cut$"):
        "".join(model.stream(HI))


# --- the provider's words -----------------------------------------------------------------------------
OLLAMA_REASON = 'HTTP 404: model "llama3" not found, try pulling it first'
KEY_REASON = (
    "HTTP 401: Incorrect API key provided: ***. You can find your API key at https://platform.openai.com/account/api-keys."
)
REASONS: dict[str, tuple[str, str]] = {  # style -> (reason when streamed, reason for one complete reply)
    "ollama-404": (OLLAMA_REASON, OLLAMA_REASON),
    "openai-401": (KEY_REASON, KEY_REASON),
    "err-200-body": (
        "stream error: scripted stream error",
        "provider error: Upstream provider overloaded, retry later (request id 42)",
    ),
    "sse-error-event": ("stream error: scripted stream error", "HTTP 500: scripted stream error"),
    "no-choices-200": (
        "empty reply",
        'reply without choices: {"id": "chatcmpl-test", "object": "chat.completion", "model": "test-model", '
        '"usage": {"total_tokens": 0}}',
    ),
}


@pytest.mark.parametrize("name", list(REASONS))
def test_failure_reasons_carry_the_providers_words(llm_server: LLMServer, name: str) -> None:
    streamed, plain = REASONS[name]
    model = model_for(llm_server)
    llm_server.style(name)
    with pytest.raises(LLMError) as err:
        "".join(model.stream(HI))
    assert str(err.value) == streamed
    llm_server.style(name)
    with pytest.raises(LLMError) as err:
        model.chat(HI)
    assert str(err.value) == plain
    assert "test-key" not in plain and "TypeError" not in plain and "NoneType" not in plain


def test_a_long_message_is_shortened_and_keys_are_redacted(llm_server: LLMServer) -> None:
    secret = "sk-proj-abcdefghijklmnop1234"
    llm_server.script(Reply(status=400, error_body={"error": {"message": f"bad key {secret} " + "blah " * 100}}))
    with pytest.raises(LLMError) as err:
        model_for(llm_server, llm_api_key=secret).chat(HI)
    reason = str(err.value)
    assert reason.startswith("HTTP 400: bad key *** blah") and reason.endswith("…")
    assert secret not in reason and "abcdefgh" not in reason and len(reason) <= len("HTTP 400: ") + 160
    # Shapes of error bodies seen in the wild, and what is left of them.
    assert provider_message({"detail": [{"msg": "field required"}]}) == "field required"
    assert provider_message([{"error": {"message": "quota"}}]) == "quota"
    assert provider_message({"object": "error", "message": "too long", "code": 400}) == "too long"
    assert redact("Authorization: Bearer abc.def-123 failed") == "Authorization: Bearer *** failed"
    # A body that only repeats the status adds nothing.
    llm_server.script(Reply(status=503, error_body={"error": "Service Unavailable"}))
    with pytest.raises(LLMError, match="^HTTP 503$"):
        model_for(llm_server).chat(HI)
    assert failure_reason(TypeError("x")) == "TypeError: x"


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("ollama-404", OLLAMA_REASON),
        ("openai-401", KEY_REASON),
        ("sse-error-event", "stream error: scripted stream error"),
    ],
)
def test_ask_json_shows_the_providers_words(
    llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch, seed_library: Library, name: str, reason: str
) -> None:
    llm_server.configure_env(monkeypatch)
    llm_server.style(name)
    data = ask_json()
    assert data["mode"] == "extractive" and not data["abstained"]
    assert data["fallback_reason"] == reason
    assert data["citations"][0]["id"] == PIG and "[1]" in data["answer"]


def test_compare_says_what_a_200_error_body_said(
    llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch, seed_library: Library
) -> None:
    """compare asks for complete replies: the error object sent with HTTP 200 is what the note quotes."""
    llm_server.configure_env(monkeypatch)
    llm_server.responder = STYLES["err-200-body"]
    done = invoke(["compare", "--paper", "t:6f74edd4d7db", "--paper", PIG, "--format", "json"])
    assert done.exit_code == 0, (done.output, done.exception)
    assert "provider error: Upstream provider overloaded, retry later (request id 42)" in done.stderr
    assert "TypeError" not in done.stderr and "empty reply" not in done.stderr
    table = json.loads(done.stdout)
    assert [p["id"] for p in table["papers"]] == ["t:6f74edd4d7db", PIG]


def test_ask_json_accepts_a_clean_close_without_finish_reason(
    llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch, seed_library: Library
) -> None:
    llm_server.configure_env(monkeypatch)
    llm_server.style("no-finish-clean-close")
    data = ask_json()
    assert data["mode"] == "llm" and data["fallback_reason"] is None
    assert data["answer"] == CITED_CLOSE and [c["id"] for c in data["citations"]] == [PIG]


def test_ask_json_never_shows_a_reply_cut_mid_word(
    llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch, seed_library: Library
) -> None:
    """`finish_reason: "length"`: the answer cut back to its last complete cited sentence, flagged
    `truncated`, with a note naming the setting to raise."""
    llm_server.configure_env(monkeypatch)
    llm_server.style("length-cut")
    data = ask_json()
    assert "reports that t" not in data["answer"]
    assert data["mode"] == "llm" and data["truncated"] is True and data["fallback_reason"] is None
    assert data["answer"] == LENGTH_CUT.split(" It also")[0]
    assert [c["id"] for c in data["citations"]] == [PIG]
    assert any("PAPERS_LLM_MAX_TOKENS=800" in note for note in data["notes"]), data["notes"]


# --- the prompt budget --------------------------------------------------------------------------------
def _source(n: int, words: int) -> Source:
    paper = Paper(id=f"t:{n}", title=f"Paper {n}", abstract="x")
    return Source(n, paper, " ".join(["token"] * words))


def test_fit_sources_drops_the_lowest_ranked_first() -> None:
    settings = Settings(_env_file=None, llm_context_tokens=2048, llm_max_tokens=800)  # type: ignore[call-arg]
    budget = prompt_budget(settings)
    assert budget == int(2048 * 0.9) - 800
    sources = [_source(n, 250) for n in range(1, 6)]
    kept, note = fit_sources(ANSWER_SYSTEM, sources, "q?", [], settings)
    assert [s.n for s in kept] == [1, 2, 3] and prompt_tokens(ANSWER_SYSTEM, kept, "q?", []) <= budget
    assert note is not None and note.startswith("2 of 5 sources (sources 4-5, the lowest-ranked) left out")
    assert "PAPERS_LLM_CONTEXT_TOKENS=2048" in note
    roomy = settings.model_copy(update={"llm_context_tokens": 32768})
    assert fit_sources(ANSWER_SYSTEM, sources, "q?", [], roomy) == (sources, None)
    # One source is always kept, and the note says it may still be too long.
    (one,), warning = fit_sources(ANSWER_SYSTEM, [_source(1, 3000), _source(2, 10)], "q?", [], settings)
    assert one.n == 1 and warning is not None and "may still not fit" in warning


def test_ask_json_notes_the_sources_left_out(
    llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch, seed_library: Library
) -> None:
    llm_server.configure_env(monkeypatch)
    # Five sources whatever their scores: this is about the prompt budget, not the relevance bar.
    monkeypatch.setenv("PAPERS_TOP_K", "5")
    monkeypatch.setenv("PAPERS_RELEVANCE_BAR", "0")
    get_settings.cache_clear()
    data = ask_json()
    assert data["notes"] == [] and len(re.findall(r"<source n=", json.dumps(llm_server.chat_requests[-1]))) == 5

    monkeypatch.setenv("PAPERS_LLM_CONTEXT_TOKENS", "2048")
    get_settings.cache_clear()
    data = ask_json()
    body = llm_server.chat_requests[-1]
    sent = [int(n) for n in re.findall(r"<source n=(\d+)", "\n".join(m["content"] for m in body["messages"]))]
    assert 1 <= len(sent) < 5 and sent == list(range(1, len(sent) + 1)), sent
    (note,) = data["notes"]
    assert note.startswith(f"{5 - len(sent)} of 5 sources") and "PAPERS_LLM_CONTEXT_TOKENS=2048" in note
    assert data["mode"] == "llm" and data["citations"][0]["id"] == PIG


def test_the_servers_reported_context_size_is_used_over_the_setting(
    llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch, seed_library: Library
) -> None:
    """vLLM reports `max_model_len` on /v1/models: the prompt is fitted to the server's real context,
    not to PAPERS_LLM_CONTEXT_TOKENS (here far larger than the model's)."""
    llm_server.configure_env(monkeypatch)
    monkeypatch.setenv("PAPERS_TOP_K", "5")
    monkeypatch.setenv("PAPERS_RELEVANCE_BAR", "0")
    monkeypatch.setenv("PAPERS_LLM_CONTEXT_TOKENS", "128000")
    llm_server.context = 2048
    get_settings.cache_clear()
    data = ask_json()
    body = llm_server.chat_requests[-1]
    sent = re.findall(r"<source n=(\d+)", "\n".join(m["content"] for m in body["messages"]))
    assert 1 <= len(sent) < 5, sent
    assert any("the server's context of 2048 tokens" in n for n in data["notes"]), data["notes"]
    assert any(r["path"].endswith("/models") for r in llm_server.requests if r["method"] == "GET")
