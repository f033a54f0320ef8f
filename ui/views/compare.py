"""Compare page: papers × aspects, every cell backed by a verbatim quote from its paper."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from assistant.models import DEFAULT_ASPECTS, NOT_STATED, Comparison, Paper
from assistant.reports.exports import comparison_csv, comparison_markdown
from ui import render, state

RESULT = "compare_result"
BY_PAPERS, BY_QUERY = "Choose papers", "From a query"


def table(c: Comparison) -> pd.DataFrame:
    rows = []
    for n, p in enumerate(c.papers, start=1):
        row: dict[str, Any] = {"#": n, "paper": p.title}
        for a in c.aspects:
            cell = p.cells[a]
            partly = " (partly supported)" if cell.verdict == "partly_supported" else ""
            row[a] = (cell.text + partly) if cell.text else NOT_STATED
        rows.append(row)
    return pd.DataFrame(rows, columns=["#", "paper", *c.aspects])


def show(c: Comparison, papers: dict[str, Paper]) -> None:
    mode = "offline: extractive" if c.mode == "extractive" else "LLM"
    st.caption(f"Mode: {mode} · {len(c.papers)} papers × {len(c.aspects)} aspects")
    if c.fallback_reason:
        st.warning(
            f"The LLM failed ({render.md_escape(c.fallback_reason)}); this is the offline extractive table.",
            icon=":material/warning:",
        )
    for note in c.notes:  # the verification core's: cells shown as their quote, a synthesis not used
        st.info(render.md_escape(note), icon=":material/fact_check:")
    for n, p in enumerate(c.papers, start=1):
        if p.fallback_reason:
            st.info(
                f"Row {n} ({render.label(p.title, 60)}) shows its offline extractive cells: "
                f"{render.md_escape(p.fallback_reason)}",
                icon=":material/info:",
            )
    st.dataframe(
        table(c),
        hide_index=True,
        width="stretch",
        key="compare_table",
        column_config={
            "#": st.column_config.NumberColumn("#", width="small"),
            "paper": st.column_config.TextColumn("Paper", width="medium"),
            **{a: st.column_config.TextColumn(a.capitalize(), width="medium") for a in c.aspects},
        },
    )
    st.caption(
        "Every cell is backed by a verbatim quote from its paper, and the cell's text was checked against "
        "it — open a paper below to read them."
    )
    for n, p in enumerate(c.papers, start=1):
        with st.expander(f"[{n}] {render.label(p.title, 110)} — quotes", icon=":material/format_quote:"):
            paper = papers.get(p.id)
            if paper is not None:
                render.paper_header(paper.title, paper.authors, paper.year, paper.url, key=f"cmp-{n}")
            for a in c.aspects:
                cell = p.cells[a]
                st.markdown(f"**{render.md_escape(a.capitalize())}**")
                if cell.quote:
                    render.plain(cell.quote)
                else:
                    st.caption(NOT_STATED)
    if c.synthesis:
        st.subheader("How they differ")
        if c.mode == "llm":
            render.model_markdown(c.synthesis, [])
        else:
            for line in c.synthesis.splitlines():
                if line.strip():
                    render.model_markdown("- " + line, [])
    render.download_buttons(
        [
            ("Download CSV", comparison_csv(c), "comparison.csv", "text/csv", "compare_csv"),
            ("Download Markdown", comparison_markdown(c), "comparison.md", "text/markdown", "compare_md"),
        ]
    )


st.title("Compare methods")
with state.friendly():
    engine = state.engine()
    engine.refresh()
    all_papers = {p.id: p for p in engine.papers()}

how = st.segmented_control("Papers", [BY_PAPERS, BY_QUERY], default=BY_PAPERS, key="compare_how", required=True)
chosen: list[str] = []
query = ""
if how == BY_PAPERS:
    chosen = st.multiselect(
        "Papers to compare (type to search)",
        options=list(all_papers),
        format_func=lambda pid: render.short(all_papers[pid].title, 100) if pid in all_papers else pid,
        key="compare_papers",
        placeholder="Search titles…",
    )
else:
    cols = st.columns([4, 1])
    query = cols[0].text_input("Topic or method", key="compare_query", placeholder="e.g. neural PDE solvers")
    cols[1].number_input("Max papers", 2, 10, 5, key="compare_max")
aspects = st.multiselect(
    "Aspects (add your own by typing)",
    options=list(DEFAULT_ASPECTS),
    default=list(DEFAULT_ASPECTS),
    accept_new_options=True,
    key="compare_aspects",
)
ready = bool(aspects) and (len(chosen) >= 2 if how == BY_PAPERS else bool(query.strip()))
if st.button("Compare", type="primary", icon=":material/table_chart:", disabled=not ready, key="compare_go"):
    with state.friendly(), st.spinner("Reading the papers and filling the table…"):
        st.session_state[RESULT] = engine.compare(
            paper_ids=chosen, query=query, aspects=aspects, max_papers=int(st.session_state.get("compare_max") or 5)
        )
if how == BY_PAPERS and len(chosen) < 2:
    st.caption("Choose at least two papers, or switch to a query.")

result = st.session_state.get(RESULT)
if result is not None:
    st.divider()
    show(result, all_papers)
