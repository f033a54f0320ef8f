"""Support per sentence (assistant/support.py) and its view on the Chat page (ui/support_html.py):
sentences with the sources that bear them out, unsupported ones marked, hostile text inert."""

from __future__ import annotations

from typing import Any

import pytest

from assistant.models import Citation
from assistant.reply import clean_reply
from assistant.support import answer_support, support_counts
from tests.llm_server import PIG_CLAIM, STYLES, UNCITED_CLAIM, LLMServer
from tests.ui_support import (
    ATTACKER,
    EVIL_PAPER,
    EVIL_QUESTION,
    IMG,
    MD_IMG,
    PIG_QUESTION,
    SCRIPT,
    add_papers,
    answer_html,
    app_test,
    assert_inert,
    assert_view_inert,
    shown_sentences,
)
from ui.support_html import answer_html as build_html

PIG_PASSAGE = (
    "We propose Physics-Informed Gaussians (PIGs): the fixed mesh is replaced by Gaussian functions whose "
    "positions and shapes are learned during training."
)
GRID_PASSAGE = "Collocation points are placed on a random grid, and the studied placement adapts to the solution."


def messages(*passages: str) -> list[dict[str, Any]]:
    """A prompt as the answerer sends it: numbered sources."""
    blocks = "\n\n".join(
        f'<source n={i} id="p{i}" title="Paper {i}">\n{t}\n</source>' for i, t in enumerate(passages, 1)
    )
    return [{"role": "system", "content": "Answer from the sources."}, {"role": "user", "content": blocks}]


def flat(text: str, sources: Any) -> list[tuple[str, tuple[int, ...], str]]:
    return [(s.text, s.sources, s.status) for b in answer_support(text, sources) for s in b.sentences]


def test_a_model_reply_with_an_uncited_claim_marks_it_unsupported() -> None:
    raw = STYLES["uncited-claims"](messages(PIG_PASSAGE, GRID_PASSAGE), {})
    got = flat(clean_reply(str(raw)), {1: PIG_PASSAGE, 2: GRID_PASSAGE})
    assert got == [
        (f"{PIG_CLAIM}.", (1,), "supported"),
        (UNCITED_CLAIM, (), "unsupported"),
        ("GPT-4 later made it popular.", (), "unsupported"),
    ]


def test_a_claim_pinned_on_a_source_that_does_not_say_it_is_unsupported() -> None:
    text = f"{PIG_CLAIM} [1]. {UNCITED_CLAIM[:-1]} [1]. Grid points are placed at random [2]."
    blocks = answer_support(text, {1: PIG_PASSAGE, 2: GRID_PASSAGE})
    sentences = [s for b in blocks for s in b.sentences]
    assert [(s.sources, s.status, s.claimed) for s in sentences] == [
        ((1,), "supported", ()),
        ((), "unsupported", (1,)),  # it cites [1], but the passage shares none of its content
        ((2,), "supported", ()),
    ]
    # Without passages, a valid marker is all the support there is.
    assert [s for _, _, s in flat(text, [1, 2])] == ["supported"] * 3
    assert support_counts(blocks) == {"supported": 2, "unsupported": 1, "neutral": 0}


def test_an_answer_in_another_language_is_judged_by_its_markers() -> None:
    raw = STYLES["french"](messages(PIG_PASSAGE), {})
    got = flat(clean_reply(str(raw)), {1: PIG_PASSAGE})
    assert len(got) == 2 and all(sources == (1,) and status == "supported" for _, sources, status in got), got


def test_layout_blocks_lead_ins_code_and_maths() -> None:
    raw = STYLES["markdown-math-code"](messages(PIG_PASSAGE, GRID_PASSAGE), {})
    blocks = answer_support(clean_reply(str(raw)), [1, 2])
    assert [b.kind for b in blocks] == ["para", "code", "item", "item", "item", "item"]
    assert [b.depth for b in blocks if b.kind == "item"] == [0, 1, 1, 0]
    assert "    return x[0] + x[1]" in blocks[1].raw  # code kept whole, indentation and all
    last = blocks[-1].sentences[0]
    assert last.sources == (2,) and "$[2, 4]$" in last.text  # maths is no citation
    text = "## Findings\n\nThe steps are:\n\n1. Learn the means [1].\n2. Something else [9]."
    got = flat(text, [1])
    assert got == [
        ("Findings", (), "neutral"),
        ("The steps are:", (), "neutral"),  # a lead-in needs no source
        ("Learn the means.", (1,), "supported"),
        ("Something else.", (), "unsupported"),  # [9] names no source
    ]


def test_view_marks_sentences_and_keeps_hostile_text_inert() -> None:
    evil = Citation(n=1, id="evil", title=EVIL_PAPER["title"], text=EVIL_PAPER["abstract"], url="javascript:alert(3)")
    text = f"Soft grippers pick ripe tomatoes without bruising them [1]. Demo {SCRIPT} {IMG} {MD_IMG} here. Fine."
    body = build_html(text, [evil])
    assert_view_inert(body)
    assert ATTACKER not in body.replace(f"http://{ATTACKER}", "")  # only as escaped text, never a link
    assert "&lt;b&gt;now&lt;/b&gt;" in body  # the title's tag in the legend is text
    sentences = shown_sentences(body)
    assert sentences[0] == ("Soft grippers pick ripe tomatoes without bruising them.", [1], "supported")
    assert [s for _, _, s in sentences[1:]] == ["unsupported", "unsupported"]
    assert '.pa-sent[data-src~="1"]' in body  # hovering chip 1 lights its sentences


def test_chat_page_shows_each_sentence_with_its_sources(seed_library) -> None:  # type: ignore[no-untyped-def]
    at = app_test()
    at.chat_input[0].set_value(PIG_QUESTION).run()
    assert not at.exception, at.exception
    answer = at.session_state["chat_messages"][-1]["answer"]
    shown = shown_sentences(answer_html(at.chat_message[-1]))
    supported = [(t, chips) for t, chips, status in shown if status == "supported"]
    assert len(supported) >= 2
    cited = {c.n for c in answer.citations}
    by_n = {c.n: c.text for c in answer.citations}
    for text, chips in supported:
        assert chips and set(chips) <= cited
        # Extractive: every sentence is its source's own words.
        assert any(" ".join(text.rstrip(".").split()) in " ".join(by_n[n].split()) for n in chips), (text, chips)
    assert {n for _, chips in supported for n in chips} == cited
    assert all(status != "unsupported" for _, _, status in shown)
    assert_inert(at)


def test_chat_page_hostile_paper_stays_inert_in_the_view(seed_library, embedder, tmp_path) -> None:  # type: ignore[no-untyped-def]
    add_papers(seed_library, embedder, tmp_path, EVIL_PAPER)
    at = app_test()
    at.chat_input[0].set_value(EVIL_QUESTION).run()
    assert not at.exception, at.exception
    answer = at.session_state["chat_messages"][-1]["answer"]
    assert EVIL_PAPER["id"] in {c.id for c in answer.citations}
    body = answer_html(at.chat_message[-1])
    assert_view_inert(body)
    assert_inert(at)


def test_llm_answer_drops_the_uncited_claim_and_shows_the_rest_supported(  # type: ignore[no-untyped-def]
    seed_library, llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    llm_server.configure_env(monkeypatch, timeout_s=5)
    llm_server.style("uncited-claims")
    at = app_test()
    at.chat_input[0].set_value(PIG_QUESTION).run()
    assert not at.exception, at.exception
    shown = shown_sentences(answer_html(at.chat_message[-1]))
    assert shown == [(f"{PIG_CLAIM}.", [1], "supported")]  # the cited source's passage bears it out
    captions = " ".join(c.value for c in at.chat_message[-1].caption)
    assert "left out" in captions  # the uncited claims were removed before the view, and it says so


def test_llm_claim_pinned_on_a_real_source_is_marked_on_the_page(  # type: ignore[no-untyped-def]
    seed_library, llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    llm_server.configure_env(monkeypatch, timeout_s=5)
    pinned = "The method was first sold by a Zurich bank to forecast currency prices"
    llm_server.script(f"{PIG_CLAIM} [1]. {pinned} [1].")
    at = app_test()
    at.chat_input[0].set_value(PIG_QUESTION).run()
    assert not at.exception, at.exception
    answer = at.session_state["chat_messages"][-1]["answer"]
    assert answer.mode == "llm" and answer.answer.count("[1]") == 2  # the citation check keeps both
    body = answer_html(at.chat_message[-1])
    assert shown_sentences(body) == [(f"{PIG_CLAIM}.", [1], "supported"), (f"{pinned}.", [], "unsupported")]
    assert "Cites [1], but that passage does not bear it out" in body
    assert "1 sentence without a supporting source" in body
