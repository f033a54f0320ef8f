"""Streamlit entry point: navigation between the four pages and the shared sidebar."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from assistant.text import md_escape
from ui import state

# Not "pages/": a pages/ folder beside the entry script switches Streamlit (and AppTest) to the
# old directory-based multipage mode, in which the entry script and its sidebar do not rerun.
_PAGES = Path(__file__).parent / "views"


def sidebar() -> None:
    s = state.settings()
    with state.friendly():
        engine = state.engine()
        engine.refresh()
        span, tags = state.facets()
    with st.sidebar:
        with st.container(border=True):
            st.markdown(
                f"**Library** · {engine.count()} papers · {engine.chunk_count()} chunks",
            )
            st.caption(f"Embedding model: {md_escape(engine.embed_model.rsplit('/', 1)[-1])}")
            st.caption(f"LLM: {md_escape(llm_line())}")
        with st.expander("Retrieval settings", icon=":material/tune:"):
            st.slider(
                "Most sources per answer (k)",
                1,
                20,
                s.top_k,
                key=state.K_KEY,
                help="Answers use every paper above the relevance bar (PAPERS_RELEVANCE_BAR), at most k.",
            )
            if span and span[0] < span[1]:
                st.session_state["_year_bounds"] = span
                st.slider("Years", span[0], span[1], span, key=state.YEARS_KEY)
            st.text_input("Author contains", key=state.AUTHOR_KEY, placeholder="e.g. Vaswani")
            if tags:
                st.selectbox("Tag", [state.ANY_TAG, *tags], key=state.TAG_KEY)
            active = state.describe_filters(state.filters())
            if active:
                st.caption(f"Filtering: {md_escape(active)}")


def llm_line() -> str:
    return str(state.llm_status().label)


# An emoji favicon: a :material/…: page icon is fetched from fonts.gstatic.com, and the app
# must not need the internet.
st.set_page_config(page_title="Paper Assistant", page_icon="📚", layout="wide")
page = st.navigation(
    [
        st.Page(_PAGES / "chat.py", title="Chat", icon=":material/forum:", default=True),
        st.Page(_PAGES / "library.py", title="Library", icon=":material/library_books:"),
        st.Page(_PAGES / "compare.py", title="Compare", icon=":material/table_chart:"),
        st.Page(_PAGES / "summary.py", title="Summary", icon=":material/summarize:"),
        st.Page(_PAGES / "graph.py", title="Graph", icon=":material/hub:"),
        st.Page(_PAGES / "map.py", title="Map", icon=":material/scatter_plot:"),
    ]
)
sidebar()
page.run()
