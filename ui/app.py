"""Streamlit entry point (minimal library page; the full UI comes with the UI issue)."""

from __future__ import annotations

import streamlit as st

from assistant.library import Library
from assistant.settings import get_settings


@st.cache_resource
def library() -> Library:
    return Library(get_settings(), check_model=False)


st.set_page_config(page_title="Paper Assistant", layout="wide")
st.title("Paper Assistant")
lib = library()
papers = lib.papers()
st.caption(f"{len(papers)} papers in the library")
st.dataframe(
    [{"title": p.title, "authors": "; ".join(p.authors), "year": p.year, "id": p.id} for p in papers],
    hide_index=True,
    width="stretch",
)
