"""Map page: every paper as a point (plotly, rendered by Streamlit's own bundled plotly.js: no
internet), coloured by its named theme, filtered by year, titles on hover; clicking a point (or
choosing a title) opens that paper. Beside it, the year timeline: papers per year and theme.

The map itself comes from `Engine.paper_map()`, which recomputes only when the library changed.
Plotly reads a subset of HTML in hover text, legend names and axis labels, so every paper title
and theme name is `html.escape`d before it goes into the figure.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import streamlit as st

from assistant.models import LibraryMap, MapPoint
from ui import render, state

CHART_KEY = "library_map"
PAPER_KEY = "map_paper"
YEARS_KEY = "map_years"
_LAST_CLICK = "_map_last_click"
SVG_MAX_POINTS = 3000  # one SVG path per point up to here (exact, inspectable); WebGL beyond
NO_PAPER = ""


def _hover(p: MapPoint, theme: str) -> str:
    year = f" ({p.year})" if p.year else ""
    return f"{html.escape(render.short(p.title, 140))}{year}<br><i>{html.escape(render.short(theme, 60))}</i>"


def visible_points(m: LibraryMap, years: Sequence[int] | None) -> list[MapPoint]:
    """The points the year filter keeps; papers without a year stay unless a narrower range is chosen."""
    if not years:
        return list(m.points)
    span = m.years()
    full = bool(span) and (years[0], years[1]) == (min(span), max(span))
    return [p for p in m.points if (p.year is None and full) or (p.year is not None and years[0] <= p.year <= years[1])]


def map_figure(m: LibraryMap, points: Sequence[MapPoint]) -> Any:
    """One trace per theme (the legend names the themes); each point carries its paper id."""
    import plotly.graph_objects as go

    trace = go.Scatter if len(points) <= SVG_MAX_POINTS else go.Scattergl
    fig = go.Figure()
    for t, name in enumerate(m.themes):
        members = [p for p in points if p.theme == t]
        if not members:
            continue
        fig.add_trace(
            trace(
                x=[p.x for p in members],
                y=[p.y for p in members],
                mode="markers",
                name=html.escape(render.short(name, 40)),
                customdata=[p.id for p in members],
                hovertext=[_hover(p, name) for p in members],
                hovertemplate="%{hovertext}<extra></extra>",
                marker={"size": 11 if len(points) <= 500 else 6, "opacity": 0.85, "line": {"width": 0.5}},
                selected={"marker": {"opacity": 1.0}},
                unselected={"marker": {"opacity": 0.45}},  # the clicked paper stands out, the rest stay readable
            )
        )
    fig.update_layout(
        height=560,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        legend={"orientation": "h", "yanchor": "top", "y": -0.01, "x": 0},  # below: the toolbar sits on top
        xaxis={"visible": False},
        yaxis={"visible": False, "scaleanchor": "x"},
        clickmode="event+select",
        dragmode="pan",
    )
    return fig


def timeline_figure(m: LibraryMap, points: Sequence[MapPoint]) -> Any:
    """Papers per year (horizontal bars, newest at the top), stacked by theme."""
    import plotly.graph_objects as go

    years = sorted({p.year for p in points if p.year is not None})
    fig = go.Figure()
    for t, name in enumerate(m.themes):
        counts = [sum(1 for p in points if p.theme == t and p.year == y) for y in years]
        if any(counts):
            fig.add_trace(go.Bar(y=[str(y) for y in years], x=counts, orientation="h", name=html.escape(name)))
    fig.update_layout(
        barmode="stack",
        height=560,
        showlegend=False,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        title={"text": "Papers per year", "font": {"size": 14}},
        yaxis={"type": "category", "categoryorder": "category ascending"},
        xaxis={"dtick": 1 if len(points) <= 60 else None},
    )
    return fig


def clicked_paper(event: Any) -> str | None:
    """The paper id of the point the user clicked, if any."""
    points = (getattr(event, "selection", None) or {}).get("points") or []
    if not points:
        return None
    data = points[0].get("customdata")
    if isinstance(data, list):
        data = data[0] if data else None
    return str(data) if data else None


def paper_details(paper_id: str, m: LibraryMap) -> None:
    found = state.engine().papers([paper_id])
    if not found:
        st.caption("That paper is no longer in the library.")
        return
    p = found[0]
    theme = next((m.themes[pt.theme] for pt in m.points if pt.id == p.id), "")
    with st.container(border=True, key="map_details"):
        render.paper_header(p.title, p.authors, p.year, p.url, key=f"map-{p.id}")
        if theme:
            st.caption(f"Theme: {render.md_escape(theme)} · paper id: {render.md_escape(p.id)}")
        render.plain(p.abstract or "(no abstract)")


def page() -> None:
    st.title("Library map")
    m = state.engine().paper_map()
    if not m.points:
        st.info("The library is empty: add papers on the Library page first.", icon=":material/info:")
        return
    span = m.years()
    years: tuple[int, int] | None = None
    if len(span) >= 2:
        lo, hi = min(span), max(span)
        years = st.slider("Years", lo, hi, (lo, hi), key=YEARS_KEY)
    points = visible_points(m, years)
    st.caption(
        f"{len(points)} of {len(m.points)} papers · {len(m.themes)} themes · "
        f"layout: {'t-SNE' if m.method == 'tsne' else m.method.upper()} of the stored paper vectors · "
        "hover a point for its title, click it to open the paper"
    )
    left, right = st.columns([3, 1])
    with left:
        event = st.plotly_chart(
            map_figure(m, points),
            key=CHART_KEY,
            on_select="rerun",
            selection_mode="points",
            config={"displaylogo": False, "scrollZoom": True},
        )
    with right:
        st.plotly_chart(timeline_figure(m, points), key="map_timeline", config={"displayModeBar": False})
    clicked = clicked_paper(event)
    if clicked and clicked != st.session_state.get(_LAST_CLICK):
        st.session_state[PAPER_KEY] = clicked  # set before the select box is drawn below
    st.session_state[_LAST_CLICK] = clicked
    titles = {p.id: p.title for p in m.points}
    options = [NO_PAPER, *sorted(titles, key=lambda i: titles[i].lower())]
    if st.session_state.get(PAPER_KEY) not in options:
        st.session_state[PAPER_KEY] = NO_PAPER
    chosen = st.selectbox(
        "Open a paper",
        options,
        key=PAPER_KEY,
        format_func=lambda i: render.short(titles[i], 100) if i else "(click a point, or choose a title)",
    )
    if chosen:
        paper_details(chosen, m)


with state.friendly():
    page()
