"""Graph page: the library's citation graph (who cites whom), per-paper counts, and the works cited by
two or more of your papers that the library lacks, each with an "add" button when arXiv answers."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from assistant.engine import PaperAssistant
from assistant.models import CitationGraph, MissingWork
from assistant.text import md_escape
from ui import render, state
from ui.graph_parts import dot_source

ADDED_KEY = "graph_added"


@st.cache_data(ttl=60, show_spinner="Checking arXiv…")
def arxiv_usable(url: str) -> bool:
    """Whether `add` can fetch from arXiv (ingest/arxiv_add.py); the probe is cached for a minute."""
    from ingest.arxiv_add import arxiv_usable as probe

    return probe(state.settings())


def counts_table(graph: CitationGraph) -> None:
    rows = [
        {
            "title": p.title,
            "year": p.year,
            "cites": p.cites,
            "cited_by": p.cited_by,
            "references": p.references,
            "id": p.id,
        }
        for p in sorted(graph.papers, key=lambda p: (-p.cited_by, -p.cites, p.title))
    ]
    st.dataframe(
        pd.DataFrame(rows, columns=["title", "year", "cites", "cited_by", "references", "id"]),
        hide_index=True,
        width="stretch",
        key="graph_counts",
        column_config={
            "title": st.column_config.TextColumn("Title", width="large"),
            "year": st.column_config.NumberColumn("Year", format="%d", width="small"),
            "cites": st.column_config.NumberColumn(
                "Cites (in library)", help="Cites N papers in your library", width="medium"
            ),
            "cited_by": st.column_config.NumberColumn(
                "Cited by (in library)", help="Cited by M papers in your library", width="medium"
            ),
            "references": st.column_config.NumberColumn(
                "References", help="Entries of its reference list (parsed from the PDF)", width="small"
            ),
            "id": st.column_config.TextColumn("Id", width="medium"),
        },
    )


def add(engine: PaperAssistant, work: MissingWork) -> None:
    from ingest.arxiv_add import add_from_arxiv

    with state.friendly(), st.spinner(f"Fetching arXiv:{work.arxiv_id}…"):
        report = add_from_arxiv(engine, work.arxiv_id)
    if report.added + report.updated + report.unchanged:
        st.session_state[ADDED_KEY] = ("ok", f"Added arXiv:{work.arxiv_id} to the library.")
    else:
        reason = "; ".join(str(e) for e in report.errors[:2]) or "nothing came back"
        st.session_state[ADDED_KEY] = ("error", f"Could not add arXiv:{work.arxiv_id}: {reason}")
    st.rerun()


def missing_list(engine: PaperAssistant, graph: CitationGraph, titles: dict[str, str]) -> None:
    st.subheader("Cited but missing")
    st.caption("Works that two or more of your papers cite and the library does not hold, most cited first.")
    if not graph.missing:
        st.info("No work is cited by two or more of your papers without being in the library.")
        return
    online = arxiv_usable(engine.settings.arxiv_api_url)
    if not online and any(w.arxiv_id for w in graph.missing):
        st.caption(
            "arXiv does not answer right now, so adding is off here; `papers ingest --arxiv ID` adds a paper later."
        )
    for n, w in enumerate(graph.missing, start=1):
        with st.container(border=True, key=f"missing-{n}"):
            cols = st.columns([5, 1])
            year = f" ({w.year})" if w.year else ""
            cols[0].markdown(f"**{n}. {md_escape(render.short(w.title, 160))}**{year} · cited by {w.count}")
            ids = [f"DOI {w.doi}" if w.doi else "", f"arXiv:{w.arxiv_id}" if w.arxiv_id else ""]
            citing = "; ".join(render.short(titles.get(pid, pid), 60) for pid in w.cited_by)
            cols[0].caption(md_escape(" · ".join(i for i in ids if i) or "no DOI or arXiv id") + " · cited by: "
                            + md_escape(citing))  # fmt: skip
            if w.arxiv_id and online and cols[1].button("Add", key=f"add-{n}", icon=":material/add:"):
                add(engine, w)


st.title("Citation graph")
with state.friendly():
    engine = state.engine()
    engine.refresh()
    graph = engine.citation_graph()
note = st.session_state.pop(ADDED_KEY, None)
if note:
    (st.success if note[0] == "ok" else st.error)(md_escape(note[1]))
titles = {p.id: p.title for p in graph.papers}
cols = st.columns(3)
cols[0].metric("Papers", len(graph.papers))
cols[1].metric("Citations between them", len(graph.links))
cols[2].metric("Cited but missing", len(graph.missing))
if not graph.papers:
    st.info("The library is empty: add papers on the Library page (PDFs bring their reference lists).")
elif graph.links or graph.missing:
    st.graphviz_chart(dot_source(graph), width="stretch")
    st.caption("Arrows point from the citing paper to the cited one; dashed boxes are cited works not in the library.")
else:
    st.info("No paper of the library cites another yet (reference lists come from ingested PDFs).")
counts_table(graph)
missing_list(engine, graph, titles)
