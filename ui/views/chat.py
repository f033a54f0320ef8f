"""Chat page: streamed, cited answers; citation chips open the exact source text."""

from __future__ import annotations

import itertools
from typing import Any

import streamlit as st

from assistant.errors import PapersError
from assistant.models import Answer, Citation
from ui import passage, render, state
from ui.support_html import render_answer_body

MESSAGES = "chat_messages"
CONVERSATION = "chat_conversation"


def _conversation() -> Any:
    conv = st.session_state.get(CONVERSATION)
    if conv is None:
        conv = st.session_state[CONVERSATION] = state.engine().conversation()
    # The sidebar's k may have changed since the last question: use its engine, keep the history.
    conv.engine = state.engine()
    return conv


def new_chat() -> None:
    st.session_state[MESSAGES] = []
    conv = st.session_state.get(CONVERSATION)
    if conv is not None:
        conv.reset()
    for key in [k for k in st.session_state if str(k).startswith(("src-", "chips-"))]:
        del st.session_state[key]


def source_key(turn: int, n: int) -> str:
    return f"src-{turn}-{n}"


def open_source(turn: int) -> None:
    """A citation chip was clicked: open (and keep open) that source's expander."""
    chips = f"chips-{turn}"
    n = st.session_state.get(chips)
    if n is not None:
        st.session_state[source_key(turn, int(n))] = True
        st.session_state[chips] = None  # a chip is a button: the next click opens it again


def mode_label(answer: Answer) -> str:
    return f"LLM: {answer.model}" if answer.mode == "llm" else "offline: extractive"


def render_answer(answer: Answer, turn: int) -> None:
    icon = ":material/smart_toy:" if answer.mode == "llm" else ":material/offline_bolt:"
    st.caption(f"{icon} {render.md_escape(mode_label(answer))}")
    if answer.fallback_reason:
        st.warning(
            f"The LLM failed ({render.md_escape(answer.fallback_reason)}); this is the offline extractive answer.",
            icon=":material/warning:",
        )
    if answer.abstained:
        st.info(render.md_escape(answer.answer), icon=":material/search_off:")
        st.caption("Nothing in the library matched the question well enough, so nothing is cited.")
        return
    render_answer_body(answer, key=f"support-{turn}")  # each sentence with its sources
    notes(answer)
    if not answer.citations:
        return
    by_n = {c.n: c for c in answer.citations}
    st.pills(
        "Sources — click a citation to open it",
        options=list(by_n),
        format_func=lambda n: f"[{n}] {render.label(by_n[n].title, 48)}",
        key=f"chips-{turn}",
        on_change=open_source,
        args=(turn,),
    )
    for c in answer.citations:
        source_expander(c, turn)


def notes(answer: Answer) -> None:
    """What the user should know about the answer (sentences left out, the token limit), muted."""
    for note in answer.notes:
        st.caption(f":material/info: {render.md_escape(note)}")
    if answer.truncated and not answer.notes:
        st.caption(":material/info: The model stopped at its token limit; the answer was cut short.")


def source_expander(c: Citation, turn: int) -> None:
    """The cited passage in place (its PDF page, or its abstract), rendered only while the expander is open."""
    with st.expander(
        f"[{c.n}] {render.label(c.title, 110)}",
        key=source_key(turn, c.n),
        on_change="rerun",
        icon=":material/description:",
    ) as box:
        passage.show(c, key=f"{turn}-{c.n}", answer=_answer_text(turn), expanded=bool(box.open))


def _answer_text(turn: int) -> str:
    """The answer this citation belongs to (its sentences say what the source is cited for)."""
    messages = st.session_state.get(MESSAGES) or []
    answer = messages[turn].get("answer") if turn < len(messages) else None
    return answer.answer if isinstance(answer, Answer) else ""


def stream_answer(question: str) -> Answer | None:
    """Stream the answer into the page; the final Answer (validated and cleaned) is authoritative."""
    conv = _conversation()
    filters = state.filters()
    box = st.empty()
    # Streamed text is rendered through the same cleaning as the final answer, so not even a
    # half-finished reply can show an image or raw HTML (hence no bare st.write_stream).
    text = ""
    final: Answer | None = None
    try:
        items = iter(conv.stream(question, filters))
        with st.spinner("Searching the library…"):
            first = next(items, None)
        for item in itertools.chain([first] if first is not None else [], items):
            if isinstance(item, Answer):
                final = item
                break
            text += item
            box.markdown(render.clean_markdown(text) + " ▌")
    except PapersError as exc:
        box.empty()
        st.error(str(exc), icon=":material/error:")
        return None
    box.empty()
    return final


def header(messages: list[dict[str, Any]]) -> None:
    st.title("Ask your library")
    status = state.llm_status()
    mode = "offline: extractive" if status.state == "offline" else f"LLM: {status.model} ({status.state})"
    active = state.describe_filters(state.filters())
    cols = st.columns([3, 1, 1], vertical_alignment="center")
    cols[0].caption(
        f"Mode: {render.md_escape(mode)} · up to {state.top_k()} sources per answer"
        + (f" · filtered: {render.md_escape(active)}" if active else "")
    )
    cols[1].button(
        "New chat", icon=":material/add_comment:", on_click=new_chat, disabled=not messages, width="stretch"
    )
    cols[2].download_button(
        "Download",
        data=render.conversation_markdown(messages),
        file_name="conversation.md",
        mime="text/markdown",
        icon=":material/download:",
        on_click="ignore",
        disabled=not messages,
        width="stretch",
        key="download_chat",
        help="The conversation as Markdown, with each answer's references and quoted sources.",
    )


messages: list[dict[str, Any]] = st.session_state.setdefault(MESSAGES, [])
with state.friendly():
    header(messages)
    if not messages:
        st.caption(
            "Ask a question about the papers in the library. Answers cite their sources as [n]; "
            "click a citation to read the exact passage it comes from."
        )
    for i, msg in enumerate(messages):
        with st.chat_message(msg["role"]):
            if msg["role"] == "user":
                st.text(msg["content"])
            else:
                render_answer(msg["answer"], i)

question = st.chat_input("Ask about the papers in your library")
if question and question.strip():
    with st.chat_message("user"):
        st.text(question)
    with st.chat_message("assistant"):
        answer = stream_answer(question.strip())
    if answer is not None:
        messages.append({"role": "user", "content": question.strip()})
        messages.append({"role": "assistant", "answer": answer})
        st.rerun()
