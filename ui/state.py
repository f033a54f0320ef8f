"""Process-wide resources (settings and the engine, the front door to library, model and LLM) and
the sidebar's retrieval choices.

Resources are cached with st.cache_resource keyed by the settings, so one server process loads the
model and opens the library once, and every browser session shares them. The key matters in tests,
where each test points PAPERS_DATA_DIR somewhere else inside the same process.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import streamlit as st

from assistant.engine import Engine, PaperAssistant
from assistant.errors import PapersError
from assistant.models import Filters, LLMStatus
from assistant.settings import Settings, get_settings

# Session-state keys of the sidebar's retrieval widgets (read by every page).
K_KEY = "retrieval_k"
YEARS_KEY = "retrieval_years"
AUTHOR_KEY = "retrieval_author"
TAG_KEY = "retrieval_tag"
ANY_TAG = "(any)"


def settings() -> Settings:
    return get_settings()


def _key(s: Settings) -> str:
    return s.model_dump_json()


@st.cache_resource(show_spinner="Opening the library…", max_entries=8)
def _engine(key: str) -> PaperAssistant:
    # `key` is get_settings() serialised: it only selects the cache entry. The engine opens the
    # library and loads the model on first use, not here.
    s = get_settings()
    if s.api_url.strip():  # client mode: the same methods over a `papers serve` (ui/api_client.py)
        from ui.api_client import remote_engine

        return remote_engine(s)
    return Engine(s)


def engine() -> PaperAssistant:
    """The front door for the sidebar's k: one shared library and model per settings, any k."""
    return _engine(_key(settings())).with_top_k(top_k())


@st.cache_data(ttl=30, show_spinner="Checking the LLM…")
def _llm_status(key: str) -> LLMStatus:
    return _engine(key).llm_status()


def llm_status() -> LLMStatus:
    """offline / configured / reachable / unreachable. The probe is an HTTP call: cached briefly
    rather than repeated on every rerun."""
    return _llm_status(_key(settings()))


def top_k() -> int:
    return int(st.session_state.get(K_KEY) or settings().top_k)


def filters() -> Filters:
    """The sidebar's filters; a year range equal to the library's full span means 'no year filter'
    so that papers without a year stay searchable."""
    years = st.session_state.get(YEARS_KEY)
    year_from = year_to = None
    bounds = st.session_state.get("_year_bounds")
    if years and bounds and tuple(years) != tuple(bounds):
        year_from, year_to = int(years[0]), int(years[1])
    author = (st.session_state.get(AUTHOR_KEY) or "").strip() or None
    tag = st.session_state.get(TAG_KEY)
    return Filters(
        year_from=year_from,
        year_to=year_to,
        author=author,
        tag=None if tag in (None, "", ANY_TAG) else str(tag),
    )


def describe_filters(f: Filters) -> str:
    parts = []
    if f.year_from is not None or f.year_to is not None:
        parts.append(f"years {f.year_from or '…'}–{f.year_to or '…'}")
    if f.author:
        parts.append(f"author contains “{f.author}”")
    if f.tag:
        parts.append(f"tag {f.tag}")
    return ", ".join(parts)


@contextlib.contextmanager
def friendly() -> Iterator[None]:
    """Domain errors become one readable line on the page, never a traceback."""
    try:
        yield
    except PapersError as exc:
        st.error(str(exc), icon=":material/error:")
        st.stop()


@st.cache_data(show_spinner=False, max_entries=16)
def _facets(key: str, generation: str) -> tuple[tuple[int, int] | None, list[str]]:
    papers = _engine(key).papers()
    years = [p.year for p in papers if p.year]
    tags = sorted({t for p in papers for t in p.tags if t}, key=str.lower)
    return ((min(years), max(years)) if years else None), tags


def facets() -> tuple[tuple[int, int] | None, list[str]]:
    """(year span, tags) of the library, recomputed only when the library changes."""
    key = _key(settings())
    return _facets(key, _engine(key).generation)
