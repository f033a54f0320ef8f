"""Chat page through AppTest: real engine, real library, real model (offline, extractive)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from assistant.answers.citations import strip_markers
from assistant.models import Answer
from tests.ui_support import (
    EVIL_PAPER,
    EVIL_QUESTION,
    IMG,
    MD_IMG,
    OFF_TOPIC_QUESTION,
    PIG_QUESTION,
    SCRIPT,
    add_papers,
    answer_html,
    app_test,
    assert_inert,
    shown_sentences,
)
from ui.render import conversation_markdown


def _ask(at: Any, question: str) -> Answer:
    at.chat_input[0].set_value(question).run()
    assert not at.exception, at.exception
    last = at.session_state["chat_messages"][-1]
    assert last["role"] == "assistant"
    return last["answer"]


def _source_texts(at: Any) -> dict[str, list[str]]:
    """Expander label → the plain-text elements inside it."""
    return {e.label: [t.value for t in e.text] for e in at.main.expander}


def test_ask_streams_a_cited_answer_with_clickable_sources(seed_library) -> None:  # type: ignore[no-untyped-def]
    at = app_test()
    answer = _ask(at, PIG_QUESTION)
    assert not answer.abstained and answer.mode == "extractive"
    assert answer.citations and answer.citations[0].title.startswith("PIG")

    msgs = at.chat_message
    assert [m.name for m in msgs] == ["user", "assistant"]
    # The cleaned answer, sentence by sentence, each with the sources that support it.
    shown = shown_sentences(answer_html(msgs[1]))
    assert shown and shown[0][1] == [1]
    flat = " ".join(strip_markers(answer.answer).split())
    assert all(" ".join(text.split()) in flat for text, _, _ in shown)
    assert "offline" in msgs[1].caption[0].value

    # One chip per citation, then one expander per source holding the exact chunk text.
    chips = at.pills(key="chips-1")
    assert [o.split("]")[0] + "]" for o in chips.options] == [f"[{c.n}]" for c in answer.citations]
    sources = _source_texts(at)
    assert len(sources) == len(answer.citations)
    for c in answer.citations:
        label = next(lbl for lbl in sources if lbl.startswith(f"[{c.n}]"))
        assert sources[label] == [c.text]
        assert c.text in [t for _, t in seed_library.chunks_of(c.id)]  # verbatim chunk of that paper

    # Clicking a chip opens that source's expander.
    assert not at.session_state["src-1-1"] if "src-1-1" in at.session_state else True
    at.pills(key="chips-1").set_value(1).run()
    assert not at.exception, at.exception
    assert at.session_state["src-1-1"] is True
    assert at.session_state["chips-1"] is None  # ready to be clicked again


def test_follow_up_keeps_context_new_chat_clears_and_download(seed_library) -> None:  # type: ignore[no-untyped-def]
    at = app_test()
    first = _ask(at, PIG_QUESTION)
    follow = _ask(at, "and its limitations?")
    assert follow.question == "and its limitations?"
    assert "PIG" in follow.query  # rewritten with the previous turn's subject
    assert follow.citations and follow.citations[0].id == first.citations[0].id
    assert len(at.chat_message) == 4

    doc = conversation_markdown(at.session_state["chat_messages"])
    assert doc.count("## Q:") == 2 and doc.count("### References") == 2
    assert "PIG\\: Physics\\-Informed Gaussians" in doc
    assert not at.download_button(key="download_chat").disabled

    next(b for b in at.button if b.label == "New chat").click().run()
    assert not at.exception, at.exception
    assert at.session_state["chat_messages"] == []
    assert at.session_state["chat_conversation"].turns == []
    assert len(at.chat_message) == 0
    # A fresh chat does not treat a short question as a follow-up of the old one.
    again = _ask(at, "and its limitations?")
    assert "PIG" not in again.query


def test_abstention_is_shown_as_such(seed_library) -> None:  # type: ignore[no-untyped-def]
    at = app_test()
    answer = _ask(at, OFF_TOPIC_QUESTION)
    assert answer.abstained and not answer.citations
    assert "does not cover" in at.info[0].value
    assert len(at.pills) == 0 and len(at.main.expander) == 0


def test_sidebar_k_and_filters_reach_the_engine(seed_library) -> None:  # type: ignore[no-untyped-def]
    at = app_test()
    at.slider(key="retrieval_k").set_value(1)
    at.text_input(key="retrieval_author").set_value("Nobody Of That Name").run()
    answer = _ask(at, PIG_QUESTION)
    assert answer.abstained  # no paper passes the author filter
    at = app_test()
    at.slider(key="retrieval_k").set_value(1).run()
    answer = _ask(at, PIG_QUESTION)
    assert [c.title[:3] for c in answer.citations] == ["PIG"]  # one source only


def test_hostile_paper_is_inert_in_chat(seed_library, embedder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    add_papers(seed_library, embedder, tmp_path, EVIL_PAPER)
    at = app_test()
    answer = _ask(at, EVIL_QUESTION)
    assert answer.citations and answer.citations[0].id == EVIL_PAPER["id"]
    assert_inert(at)
    # The source text is shown verbatim, payloads included, as plain text.
    shown = [t for texts in _source_texts(at).values() for t in texts]
    evil_text = next(t for t in shown if "tomatoes" in t)
    assert SCRIPT in evil_text and IMG in evil_text and MD_IMG in evil_text
    # The label of the chip and the expander keep the title readable but escaped.
    assert any("Soft grippers" in o for o in at.pills(key="chips-1").options)
    assert any("Soft grippers" in lbl and "\\!\\[t\\]" in lbl for lbl in _source_texts(at))
