"""Pieces of the Graph page (ui/views/graph.py) and the Library page's "Related papers" panel.

`dot_source` is pure: the citation graph as Graphviz DOT for st.graphviz_chart, which Streamlit
renders in the browser with its bundled Graphviz (no request leaves the app). Paper text only ever
goes into quoted DOT strings with backslashes and quotes escaped, so a title cannot end its string,
start an HTML-like label or add attributes (and SVG text is text, never markup).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import streamlit as st

from assistant.errors import PapersError
from assistant.text import md_escape
from ui import render

if TYPE_CHECKING:
    from assistant.engine import PaperAssistant
    from assistant.models import CitationGraph, Paper

MAX_MISSING_NODES = 8  # the most-cited missing works drawn (dashed) beside the library's papers
LABEL_WIDTH = 28  # characters per line of a node label
RELATED_KEY = "related_paper"


def dot_text(text: str, width: int = LABEL_WIDTH, lines: int = 3) -> str:
    """Untrusted text as the inside of a quoted DOT string: wrapped with DOT's \\n, escaped."""
    words = re.sub(r"\s+", " ", text).strip().split(" ")
    out: list[str] = []
    for word in words:
        if out and len(out[-1]) + 1 + len(word) <= width:
            out[-1] += " " + word
        else:
            out.append(word[:width])
    if len(out) > lines:
        out = out[:lines]
        out[-1] = out[-1][: width - 1] + "…"
    escaped = [line.replace("\\", "\\\\").replace('"', '\\"') for line in out]
    return "\\n".join(escaped)


def dot_source(graph: CitationGraph, max_missing: int = MAX_MISSING_NODES) -> str:
    """Papers as boxes (cited by more: darker), citations as arrows, missing works dashed."""
    ids = {p.id: f"p{i}" for i, p in enumerate(graph.papers)}
    lines = [
        "digraph citations {",
        '  graph [rankdir=LR, bgcolor="transparent", nodesep=0.3, ranksep=0.6];',
        '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=10, color="#5b6b82"];',
        '  edge [color="#5b6b82", arrowsize=0.7];',
    ]
    linked = {x.source for x in graph.links} | {x.target for x in graph.links}
    shown_missing = graph.missing[:max_missing]
    citing_missing = {pid for w in shown_missing for pid in w.cited_by}
    for p in graph.papers:
        if p.id not in linked and p.id not in citing_missing:
            continue  # a paper with no tie would float alone; the table below lists it
        fill = "#c9daf3" if p.cited_by else "#eef3fb"
        year = f"\\n({p.year})" if p.year else ""
        lines.append(f'  {ids[p.id]} [label="{dot_text(p.title)}{year}", fillcolor="{fill}"];')
    for i, w in enumerate(shown_missing):
        lines.append(
            f'  m{i} [label="{dot_text(w.title)}\\n(cited by {w.count}, not in library)", '
            'style="rounded,dashed", fillcolor="white", fontcolor="#5b6b82"];'
        )
        lines += [f"  {ids[pid]} -> m{i} [style=dashed];" for pid in w.cited_by if pid in ids]
    lines += [f"  {ids[x.source]} -> {ids[x.target]};" for x in graph.links if x.source in ids and x.target in ids]
    lines.append("}")
    return "\n".join(lines)


def related_panel(engine: PaperAssistant, papers: list[Paper], selected: list[str]) -> None:
    """Pick a paper (a ticked table row picks it) and list its related papers with the reasons."""
    st.subheader("Related papers")
    if len(papers) < 2:
        st.caption("Related papers appear once the library holds two or more papers.")
        return
    by_id = {p.id: p for p in papers}
    if len(selected) == 1 and selected[0] in by_id:
        st.session_state[RELATED_KEY] = selected[0]
    elif st.session_state.get(RELATED_KEY) not in by_id:
        st.session_state.pop(RELATED_KEY, None)
    chosen = st.selectbox(
        "Papers related to",
        list(by_id),
        format_func=lambda pid: render.short(by_id[pid].title, 90),
        index=None,
        placeholder="Choose a paper (or tick one row above)",
        key=RELATED_KEY,
    )
    if chosen is None:
        return
    try:
        with st.spinner("Finding related papers…"):
            found = engine.related(chosen, k=5)
    except PapersError as exc:
        st.error(md_escape(str(exc)), icon=":material/error:")
        return
    for n, r in enumerate(found, start=1):
        with st.container(border=True, key=f"related-{n}"):
            year = f" ({r.year})" if r.year else ""
            st.markdown(f"**{n}. {md_escape(render.short(r.title, 140))}**{year}")
            st.caption(
                md_escape("; ".join(r.reasons))
                + f" · text similarity {r.similarity:.2f} · id {md_escape(r.id)}"
            )
