"""Summary page through AppTest: real library, real model, offline summary."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.llm_server import STYLES, LLMServer
from tests.ui_support import EVIL_PAPER, add_papers, app_test, assert_inert, markdown_sources

PAGE = "views/summary.py"


def test_summary_of_a_topic_renders_report_with_references(seed_library) -> None:  # type: ignore[no-untyped-def]
    at = app_test(PAGE)
    at.text_input(key="summary_topic").set_value("fine-tuning large language models efficiently").run()
    at.button(key="summary_go").click().run()
    assert not at.exception, at.exception
    s = at.session_state["summary_result"]
    assert len(s.sections) >= 2

    assert "fine\\-tuning" in at.header[0].value
    headings = [h.value for h in at.subheader]
    assert headings[-1] == "References" and len(headings) == len(s.sections) + 1
    body = [m.value for m in at.markdown]
    # Every citation in the rendered text points at a listed reference; every reference is cited.
    cited = {int(n) for text in body for n in re.findall(r"(?<!\\)\[(\d+)\]", text)}
    assert cited == {r.n for r in s.references}
    ref_lines = [t for t in body if re.match(r"\d+\\\. \*\*", t)]
    assert len(ref_lines) == len(s.references)
    assert {b.label for b in at.download_button} == {"Download Markdown", "Download BibTeX"}


def test_summary_of_whole_library_with_paper_count(seed_library) -> None:  # type: ignore[no-untyped-def]
    at = app_test(PAGE)
    at.number_input(key="summary_max").set_value(8).run()
    at.button(key="summary_go").click().run()
    assert not at.exception, at.exception
    s = at.session_state["summary_result"]
    assert "whole library" not in s.title and "8 papers" in s.title
    assert 1 <= len(s.references) <= 8


def test_hostile_paper_is_inert_on_summary_page(seed_library, embedder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    add_papers(seed_library, embedder, tmp_path, EVIL_PAPER)
    at = app_test(PAGE)
    at.text_input(key="summary_topic").set_value("robotic harvesting with soft grippers").run()
    at.button(key="summary_go").click().run()
    assert not at.exception, at.exception
    assert EVIL_PAPER["id"] in {r.id for r in at.session_state["summary_result"].references}
    assert_inert(at)


def test_summary_page_with_a_reasoning_model(  # type: ignore[no-untyped-def]
    seed_library, llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    llm_server.configure_env(monkeypatch, timeout_s=5)
    llm_server.responder = STYLES["json-think"]  # every reply opens with <think>{…} [3]…</think>
    at = app_test(PAGE)
    at.text_input(key="summary_topic").set_value("fine-tuning large language models efficiently").run()
    at.button(key="summary_go").click().run()
    assert not at.exception, at.exception
    s = at.session_state["summary_result"]
    assert s.mode == "llm" and s.fallback_reason is None and not at.warning
    assert "Scripted summary title" in at.header[0].value  # the outline was read past the reasoning
    assert [h.value for h in at.subheader][:-1] == [f"Scripted theme {k}" for k in range(1, len(s.sections) + 1)]
    body = [m.value for m in at.markdown]
    judged = [c.text.rstrip(".") for c in s.sentences if c.judge in ("offline", "llm") and c.shown]
    assert judged and any(j in t for j in judged for t in body)  # the model's checked sentences are shown
    assert not any("Probably not" in t or "user wants" in t or "think>" in t for t in markdown_sources(at))
