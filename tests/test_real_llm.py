"""Every LLM face against a real local model: llama.cpp's server with SmolLM2-135M-Instruct
(tests/real_llm.py). Whatever it writes, no sentence its cited passage does not bear out is shown
unmarked, and no degenerate reply passes as LLM mode: ask (CLI JSON), stream, chat, compare and
summarize (CLI JSON and Markdown files), and the Chat page (AppTest).

The model is tiny and writes poorly; these tests do not expect good answers, only honest ones.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from assistant.models import Answer
from tests.real_llm import assert_checked_text, env
from tests.support import papers, papers_json

pytestmark = pytest.mark.slow

QUESTION = "How do Physics-Informed Gaussians represent the solution of a PDE?"
TOPIC = "fine-tuning large language models efficiently"


@pytest.fixture()
def real_env(real_llm_url: str, monkeypatch: pytest.MonkeyPatch, seed_library: Any) -> dict[str, str]:
    from assistant.settings import get_settings

    values = env(real_llm_url)
    for k, v in values.items():
        monkeypatch.setenv(k, v)
    get_settings.cache_clear()
    return values


def test_ask_json_carries_verdicts_and_shows_nothing_unsupported(real_env: dict[str, str]) -> None:
    got = papers_json("ask", QUESTION, "--json", env=real_env)
    assert not got["abstained"] and got["sentences"], got
    assert_checked_text(got["answer"], got["sentences"], got["mode"])
    if got["mode"] == "extractive":
        assert got["fallback_reason"], "an LLM answer not taken says why"
    else:
        assert any(s["judge"] in ("offline", "llm") for s in got["sentences"])


def test_stream_and_chat_keep_the_rules(real_env: dict[str, str]) -> None:
    from assistant.engine import get_engine, reset_engines

    reset_engines()
    eng = get_engine()
    items = list(eng.stream(QUESTION))
    final = items[-1]
    assert isinstance(final, Answer) and len(items) >= 2
    assert_checked_text(final.answer, [c.model_dump() for c in final.sentences], final.mode)
    conversation = eng.conversation()
    for question in (QUESTION, "And what are its limitations?"):
        answer = conversation.ask(question)
        if not answer.abstained:
            assert_checked_text(answer.answer, [c.model_dump() for c in answer.sentences], answer.mode)
    reset_engines()


def test_compare_cells_and_synthesis_are_checked(real_env: dict[str, str]) -> None:
    got = papers_json("compare", "--query", TOPIC, "--max", "3", "--format", "json", env=real_env)
    for paper in got["papers"]:
        for cell in paper["cells"].values():
            if cell["text"]:
                assert cell["verdict"] in ("supported", "partly_supported"), cell
                assert cell["quote"] and (cell["judge"] != "verbatim" or cell["text"] == cell["quote"]), cell
    if got["synthesis"]:
        synthesis_mode = "llm" if any(s["judge"] != "verbatim" for s in got["sentences"]) else "extractive"
        lines = got["synthesis"] if synthesis_mode == "llm" else ""
        assert_checked_text(lines, got["sentences"], synthesis_mode)


def test_summary_files_carry_verdicts_and_no_degenerate_overview(real_env: dict[str, str], tmp_path: Path) -> None:
    out_json, out_md = tmp_path / "s.json", tmp_path / "s.md"
    done = papers("summarize", TOPIC, "-o", str(out_json), env=real_env)
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(out_json.read_text())
    assert summary["sentences"], summary
    parts = [("overview", summary["overview"])]
    parts += [(s["heading"], " ".join(s["paragraphs"])) for s in summary["sections"]]
    for part, text in parts:
        mine = [s for s in summary["sentences"] if s["part"] == part]
        mode = "extractive" if all(s["judge"] == "verbatim" for s in mine) else "llm"
        assert_checked_text(text, mine, mode)
    if summary["mode"] == "extractive":
        assert summary["fallback_reason"], "a model summary not taken says why"
    done = papers("summarize", TOPIC, "-o", str(out_md), env=real_env)
    assert done.returncode == 0, done.stderr[-2000:]
    md = out_md.read_text()
    assert "## Checked sentences" in md and ("supported**" in md)


def test_chat_page_renders_the_cores_verdicts(real_env: dict[str, str]) -> None:
    from tests.ui_support import answer_html, app_test, shown_sentences

    at = app_test(timeout=300)
    at.chat_input[0].set_value(QUESTION).run()
    assert not at.exception, at.exception
    answer = at.session_state["chat_messages"][-1]["answer"]
    assert answer.sentences
    body = answer_html(at.chat_message[-1])
    statuses = [status for _, _, status in shown_sentences(body)]
    assert "unsupported" not in statuses, body
    assert_checked_text(answer.answer, [c.model_dump() for c in answer.sentences], answer.mode)
