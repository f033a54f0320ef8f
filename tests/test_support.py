"""Support per sentence (assistant/answers/support.py) and its view on the Chat page (ui/support_html.py):
the verification core's verdicts shown sentence by sentence (none computed in the view), what it left
out absent, hostile text inert."""

from __future__ import annotations

from typing import Any

import pytest

from assistant.answers.citations import Source
from assistant.answers.support import answer_support, with_support
from assistant.answers.verify import MARK, Verifier
from assistant.llm.reply import clean_reply
from assistant.models import Answer, Citation, Paper, SentenceCheck
from assistant.settings import get_settings
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

# Sentences of the two seed papers' abstracts (PIG; Random Grid Neural Processes).
PIG_PASSAGE = (
    "To overcome these limitations, we propose Physics-Informed Gaussians (PIGs), which combine feature "
    "embeddings using Gaussian functions with a lightweight neural network. Our approach uses trainable "
    "parameters for the mean and variance of each Gaussian, allowing for dynamic adjustment of their positions "
    "and shapes during training."
)
GRID_PASSAGE = (
    "We achieve this by assigning probability measures to the spatial domain, which allows us to treat "
    "collocation grids probabilistically as random variables to be marginalised out."
)


def messages(*passages: str) -> list[dict[str, Any]]:
    """A prompt as the answerer sends it: numbered sources."""
    blocks = "\n\n".join(
        f'<source n={i} id="p{i}" title="Paper {i}">\n{t}\n</source>' for i, t in enumerate(passages, 1)
    )
    return [{"role": "system", "content": "Answer from the sources."}, {"role": "user", "content": blocks}]


def flat(text: str, checks: Any) -> list[tuple[str, tuple[int, ...], str]]:
    return [(s.text, s.sources, s.status) for b in answer_support(text, checks) for s in b.sentences]


def sources(*passages: str) -> list[Source]:
    return [Source(i, Paper(id=f"p{i}", title=f"Paper {i}"), t) for i, t in enumerate(passages, 1)]


def test_the_core_judges_a_claim_pinned_on_a_source_that_does_not_say_it(embedder: Any) -> None:
    text = f"{PIG_CLAIM} [1]. {UNCITED_CLAIM[:-1]} [1]. Collocation grids are treated as random variables [2]."
    verified = Verifier(get_settings(), embedder).reply(text, sources(PIG_PASSAGE, GRID_PASSAGE))
    assert [(c.verdict, c.shown) for c in verified.checks] == [
        ("supported", True),
        ("not_found", False),  # it cites [1], but the passage shares none of its content
        ("supported", True),
    ]
    assert UNCITED_CLAIM[:-1] not in verified.text and verified.notes() == [
        "1 sentence whose cited passage does not bear it out was left out."
    ]
    # The view takes the core's verdicts: what was left out of the text is not in it to mark.
    assert [s for _, _, s in flat(verified.text, verified.checks)] == ["supported", "supported"]
    quote = verified.checks[0].quote
    assert quote and quote in PIG_PASSAGE  # the best verbatim quote of the passage


def test_statuses_are_the_cores_verdicts_and_nothing_is_judged_in_the_view() -> None:
    partly = SentenceCheck(text="Means are learned", cites=[1], verdict="partly_supported", source=1, score=0.55)
    left = SentenceCheck(text="Made up", cites=[2], verdict="not_found", source=2, shown=False)
    text = f"{PIG_CLAIM} [1]. Means are learned [1] {MARK}. Made up [2]. Uncited claim here."
    ok = SentenceCheck(text=f"{PIG_CLAIM}.", cites=[1], verdict="supported", source=1, score=0.9)
    assert flat(text, [ok, partly, left]) == [
        (f"{PIG_CLAIM}.", (1,), "supported"),
        ("Means are learned.", (1,), "partly"),  # the mark is the view's badge, not text
        ("Made up.", (), "unsupported"),
        ("Uncited claim here.", (), "unsupported"),
    ]


def test_layout_blocks_lead_ins_code_and_maths(embedder: Any) -> None:
    raw = STYLES["markdown-math-code"](messages(PIG_PASSAGE, GRID_PASSAGE), {})
    verified = Verifier(get_settings(), embedder).reply(clean_reply(str(raw)), sources(PIG_PASSAGE, GRID_PASSAGE))
    blocks = answer_support(verified.text, verified.checks)
    assert [b.kind for b in blocks] == ["para", "code", "item", "item", "item", "item"]
    assert [b.depth for b in blocks if b.kind == "item"] == [0, 1, 1, 0]
    assert "    return x[0] + x[1]" in blocks[1].raw  # code kept whole, indentation and all
    last = blocks[-1].sentences[0]
    assert last.sources == (2,) and "$[2, 4]$" in last.text  # maths is no citation
    text = "## Findings\n\nThe steps are:\n\n1. Learn the means [1].\n2. Something else [9]."
    learn = SentenceCheck(text="Learn the means.", cites=[1], verdict="supported", source=1)
    assert flat(text, [learn]) == [
        ("Findings", (), "neutral"),
        ("The steps are:", (), "neutral"),  # a lead-in needs no source
        ("Learn the means.", (1,), "supported"),
        ("Something else.", (), "unsupported"),  # [9] names no source, the core judged nothing
    ]


def test_view_marks_sentences_and_keeps_hostile_text_inert() -> None:
    evil = Citation(n=1, id="evil", title=EVIL_PAPER["title"], text=EVIL_PAPER["abstract"], url="javascript:alert(3)")
    text = f"Soft grippers pick ripe tomatoes without bruising them [1]. Demo {SCRIPT} {IMG} {MD_IMG} here. Fine."
    judged = SentenceCheck(
        text="Soft grippers pick ripe tomatoes without bruising them.", cites=[1], verdict="supported", source=1
    )
    body = build_html(with_support(Answer(question="q", answer=text, mode="llm", citations=[evil], sentences=[judged])))
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
    # The marker is valid, but the verification core finds the passage does not say it: left out.
    assert answer.mode == "llm" and pinned not in answer.answer
    assert [(c.verdict, c.shown) for c in answer.sentences] == [("supported", True), ("not_found", False)]
    body = answer_html(at.chat_message[-1])
    assert shown_sentences(body) == [(f"{PIG_CLAIM}.", [1], "supported")]
    captions = " ".join(c.value for c in at.chat_message[-1].caption)
    assert "does not bear it out was left out" in captions
