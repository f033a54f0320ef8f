"""Summary page: a themed literature summary of a topic (or the whole library), every sentence cited."""

from __future__ import annotations

import streamlit as st

from assistant.models import DEFAULT_MAX_PAPERS, Summary
from assistant.reports.exports import summary_bibtex, summary_markdown
from ui import render, state

RESULT = "summary_result"


def show(s: Summary) -> None:
    urls = [r.url for r in s.references]
    st.header(render.md_escape(s.title), anchor=False)
    mode = "offline: extractive" if s.mode == "extractive" else "LLM"
    st.caption(f"Mode: {mode} · {len(s.sections)} themes · {len(s.references)} references")
    if s.fallback_reason:
        st.warning(
            f"The LLM failed ({render.md_escape(s.fallback_reason)}); this is the offline extractive summary.",
            icon=":material/warning:",
        )
    for note in s.notes:  # the verification core's: sentences left out, parts kept offline
        st.caption(render.md_escape(note))
    render.model_markdown(s.overview, urls)
    for sec in s.sections:
        st.subheader(render.md_escape(sec.heading), anchor=False)
        for paragraph in sec.paragraphs:
            render.model_markdown(paragraph, urls)
    render.checked_sentences(s.sentences)
    st.subheader("References", anchor=False)
    for r in s.references:
        line = f"{r.n}\\. **{render.md_escape(r.title)}**"
        meta = render.byline(r.authors, r.year, limit=6)
        if meta:
            line += f" — {render.md_escape(meta)}"
        link = render.safe_url(r.url)
        if link:
            line += f" · [link]({link.replace(')', '%29').replace('(', '%28')})"
        st.markdown(line)


def downloads(s: Summary) -> None:
    papers = state.engine().papers([r.id for r in s.references])
    render.download_buttons(
        [
            ("Download Markdown", summary_markdown(s), "summary.md", "text/markdown", "summary_md"),
            ("Download BibTeX", summary_bibtex(s, papers), "summary.bib", "application/x-bibtex", "summary_bib"),
        ]
    )


st.title("Literature summary")
with state.friendly():
    engine = state.engine()
    engine.refresh()
    total = engine.count()
cols = st.columns([4, 1], vertical_alignment="bottom")
topic = cols[0].text_input(
    "Topic (leave empty to summarise the whole library)", key="summary_topic", placeholder="e.g. efficient fine-tuning"
)
max_papers = cols[1].number_input(
    "Papers", min_value=2, max_value=max(2, min(50, total)), value=min(DEFAULT_MAX_PAPERS, max(2, total)),
    key="summary_max",
)
if st.button("Write summary", type="primary", icon=":material/summarize:", disabled=total == 0, key="summary_go"):
    with state.friendly(), st.spinner("Grouping the papers into themes and writing…"):
        st.session_state[RESULT] = engine.summarize(topic, max_papers=int(max_papers))
result = st.session_state.get(RESULT)
if result is not None:
    st.divider()
    downloads(result)
    show(result)
