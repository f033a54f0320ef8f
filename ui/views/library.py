"""Library page: statistics, a searchable sortable table, uploads with per-file results, deletion."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from assistant.engine import PaperAssistant
from assistant.errors import PapersError
from assistant.models import IngestReport, Paper
from ui import render, state
from ui.graph_parts import related_panel

UPLOAD_TYPES = ["jsonl", "ndjson", "json", "csv", "bib", "bibtex", "ris", "ciw", "txt", "pdf"]
RESULTS_KEY = "upload_results"
ZOTERO_KEY = "zotero_result"
TABLE_KEY = "library_table"


def _outcome(report: IngestReport) -> str:
    if report.added + report.updated + report.unchanged == 0:
        return "error"
    for word, n in (("added", report.added), ("updated", report.updated)):
        if n:
            return word
    return "unchanged"


def _reason(report: IngestReport) -> str:
    msgs = [str(e) for e in report.errors[:3]]
    more = report.failed - len(msgs)  # the report keeps only the first errors; `failed` counts them all
    return "; ".join(msgs) + (f"; … {more} more" if more > 0 else "")


def ingest_uploads(files: list[Any], engine: PaperAssistant) -> list[dict[str, Any]]:
    """Ingest each uploaded file on its own (so every file gets its own result), with a progress bar:
    the one way in (`ingest.pipeline.add_upload`: read here, enriched when PAPERS_ENRICH is on), in
    local and client mode alike."""
    from ingest.pipeline import add_upload
    from ingest.uploads import safe_name

    settings = engine.settings
    bar = st.progress(0.0, text="Starting…")
    results: list[dict[str, Any]] = []
    n = len(files)
    for i, f in enumerate(files):
        name = safe_name(f.name)
        bar.progress(i / n, text=f"Reading {name} ({i + 1}/{n})")

        def progress(done: int, total: int, stage: str, i: int = i, name: str = name) -> None:
            frac = (i + (done / total if total else 1.0)) / n
            bar.progress(min(frac, 1.0), text=f"{name} ({i + 1}/{n}): {stage} {done}/{total}")

        row: dict[str, Any] = {"file": name}
        try:
            added = add_upload(engine, name, f.getvalue(), settings, progress)
        except PapersError as exc:
            row.update(result="error", added=0, updated=0, unchanged=0, errors=1, reason=str(exc))
        else:
            report = added.report
            row.update(
                result=_outcome(report),
                added=report.added,
                updated=report.updated,
                unchanged=report.unchanged,
                errors=report.failed,
                reason=_reason(report),
                enrichment=added.enrichment,
            )
        results.append(row)
    bar.progress(1.0, text=f"Done: {n} file{'s' if n != 1 else ''}")
    return results


def stats(papers: list[Paper], chunk_total: int) -> None:
    years = [p.year for p in papers if p.year]
    files = {render.source_name(p.source) for p in papers}
    cols = st.columns(4)
    cols[0].metric("Papers", len(papers))
    cols[1].metric("Chunks", chunk_total)
    span = "–" if not years else str(min(years)) if min(years) == max(years) else f"{min(years)}–{max(years)}"
    cols[2].metric("Years", span)
    cols[3].metric("Source files", len(files))
    if papers:
        kinds = Counter(render.source_kind(p.source) for p in papers)
        st.caption("Sources: " + ", ".join(f"{k} {v}" for k, v in kinds.most_common()))


def table(papers: list[Paper], chunks: dict[str, int]) -> list[str]:
    """The papers as a sortable table filtered by the search box; returns the selected ids."""
    query = st.text_input(
        "Search the library", placeholder="title, author, id or tag", key="library_search"
    ).strip().lower()
    rows = [
        {**render.paper_row(p, chunks.get(p.id)), "metadata": metadata_source(p)}
        for p in papers
        if _matches(p, query)
    ]
    df = pd.DataFrame(rows, columns=["title", "authors", "year", "source", "metadata", "chunks", "id", "url"])
    st.caption(f"{len(rows)} of {len(papers)} papers · click a column header to sort, tick rows to select")
    event = st.dataframe(
        df,
        hide_index=True,
        width="stretch",
        height=min(38 + 35 * max(len(rows), 1), 560),
        key=TABLE_KEY,
        on_select="rerun",
        selection_mode="multi-row",
        column_config={
            "title": st.column_config.TextColumn("Title", width="large"),
            "authors": st.column_config.TextColumn("Authors", width="medium"),
            "year": st.column_config.NumberColumn("Year", format="%d", width="small"),
            "source": st.column_config.TextColumn("Source", width="small"),
            "metadata": st.column_config.TextColumn("Metadata from", width="small"),
            "chunks": st.column_config.NumberColumn("Chunks", width="small"),
            "id": st.column_config.TextColumn("Id", width="small"),
            "url": st.column_config.LinkColumn("Link", display_text="open", width="small"),
        },
    )
    selected = getattr(getattr(event, "selection", None), "rows", None) or []
    return [str(df.iloc[i]["id"]) for i in selected if 0 <= i < len(df)]


def metadata_source(p: Paper) -> str:
    """Where the metadata shown came from: Zotero, arXiv, a PDF's own pages, a bibliography file; then
    whether an online lookup filled gaps (enriched:*) and whether the user fixed fields by hand."""
    if p.source.startswith("zotero:"):
        base = "Zotero"
    elif p.source.startswith("arxiv:"):
        base = "arXiv"
    elif render.source_kind(p.source) == "pdf":
        base = "PDF"
    else:
        base = "file"
    if any(t.startswith("enriched:") for t in p.tags):
        base += " + enriched"
    fixed = p.edited_fields()
    return base + (f" + edited ({', '.join(fixed)})" if fixed else "")


def edit(engine: PaperAssistant, papers: list[Paper], ids: list[str]) -> None:
    """Fix one selected paper's title, authors or year; the edit survives re-ingest of its source."""
    found = [p for p in papers if p.id in ids]
    with st.popover("Edit selected", icon=":material/edit:", disabled=len(found) != 1):
        if len(found) != 1:
            st.write("Select one paper to edit.")
            return
        p = found[0]
        with st.form(f"edit_{p.id}", border=False):
            title = st.text_input("Title", value=p.title, key="edit_title")
            authors = st.text_area("Authors, one per line", value="\n".join(p.authors), key="edit_authors")
            year = st.text_input("Year", value=str(p.year or ""), key="edit_year")
            saved = st.form_submit_button("Save", type="primary")
        if saved:
            fields: dict[str, Any] = {}
            if title != p.title:
                fields["title"] = title
            new_authors = [a.strip() for a in authors.splitlines() if a.strip()]
            if new_authors != p.authors:
                fields["authors"] = new_authors
            if year.strip() != str(p.year or ""):
                fields["year"] = year.strip() or None
            if not fields:
                st.info("Nothing changed.")
                return
            try:
                with st.spinner("Saving…"):
                    engine.edit_paper(p.id, **fields)
            except PapersError as exc:
                st.error(render.md_escape(str(exc)), icon=":material/error:")
                return
            st.session_state["deleted_note"] = f"Saved your edit of {p.id} ({', '.join(fields)})."
            st.rerun()


def _matches(p: Paper, query: str) -> bool:
    if not query:
        return True
    hay = " ".join([p.title, " ".join(p.authors), p.id, " ".join(p.tags), str(p.year or "")]).lower()
    return all(word in hay for word in query.split())


def delete(engine: PaperAssistant, ids: list[str]) -> None:
    with st.popover(
        f"Delete {len(ids)} selected" if ids else "Delete selected",
        icon=":material/delete:",
        disabled=not ids,
    ):
        st.write(f"Remove {len(ids)} paper{'s' if len(ids) != 1 else ''} and their chunks from the library?")
        if st.button("Delete", type="primary", key="confirm_delete"):
            with state.friendly(), st.spinner("Removing…"):
                removed = engine.remove(ids)
            st.session_state["deleted_note"] = f"Removed {len(removed)} paper{'s' if len(removed) != 1 else ''}."
            st.session_state.pop(TABLE_KEY, None)
            st.rerun()


def upload(engine: PaperAssistant) -> None:
    st.subheader("Add papers")
    with st.form("upload_form", clear_on_submit=True, border=False):
        files = st.file_uploader(
            "JSONL, CSV, BibTeX, RIS, CSL-JSON, Web of Science (.txt/.ciw) or PDF files (several at once)",
            type=UPLOAD_TYPES,
            accept_multiple_files=True,
        )
        submitted = st.form_submit_button("Add to library", icon=":material/upload:", type="primary")
    if submitted and files:
        with state.friendly():
            st.session_state[RESULTS_KEY] = ingest_uploads(list(files), engine)
        st.rerun()
    elif submitted:
        st.warning("Choose one or more files first.")
    results = st.session_state.get(RESULTS_KEY)
    if results:
        ok = sum(1 for r in results if r["result"] != "error")
        st.caption(f"Last upload: {ok} of {len(results)} files read")
        for r in results:
            if r.get("enrichment"):  # PAPERS_ENRICH: what the metadata services filled, per file
                st.caption(render.md_escape(f"{r['file']}: {r['enrichment']}"))
        st.dataframe(
            pd.DataFrame(results, columns=["file", "result", "added", "updated", "unchanged", "errors", "reason"]),
            hide_index=True,
            width="stretch",
            key="upload_results_table",
            column_config={
                "file": "File",
                "result": "Result",
                "added": "Added",
                "updated": "Updated",
                "unchanged": "Unchanged",
                "errors": "Errors",
                "reason": st.column_config.TextColumn("Reason", width="large"),
            },
        )


def zotero(engine: PaperAssistant) -> None:
    """Import or re-sync a Zotero library (read-only copy of zotero.sqlite; unchanged items embed nothing)."""
    from ingest.sources.zotero import default_data_dir
    from ingest.zotero_sync import sync_zotero

    st.subheader("Import from Zotero")
    with st.form("zotero_form", border=False):
        folder = st.text_input("Zotero data directory", value=str(default_data_dir()), key="zotero_dir")
        cols = st.columns(2)
        collection = cols[0].text_input("Collection (optional, with its subcollections)", key="zotero_collection")
        tag = cols[1].text_input("Tag (optional)", key="zotero_tag")
        prune = st.checkbox("Also remove papers whose Zotero item was deleted", key="zotero_prune")
        go = st.form_submit_button("Import from Zotero", icon=":material/sync:")
    if go:
        try:
            with st.spinner("Reading Zotero…"):
                done = sync_zotero(
                    engine,
                    Path(folder.strip() or str(default_data_dir())).expanduser(),
                    [collection.strip()] if collection.strip() else [],
                    [tag.strip()] if tag.strip() else [],
                    prune,
                )
        except PapersError as exc:
            st.session_state[ZOTERO_KEY] = {"error": str(exc)}
        else:
            r = done.report
            st.session_state[ZOTERO_KEY] = {
                "line": (
                    f"Zotero: {done.read.selected} items · added {r.added}, updated {r.updated}, unchanged "
                    f"{r.unchanged}, failed {r.failed} · skipped {done.skipped_line()}"
                ),
                "problems": [*r.errors, *done.read.warnings],
                "gone": [(p.id, p.title) for p in done.gone],
                "removed": done.removed,
            }
        st.rerun()
    got = st.session_state.get(ZOTERO_KEY)
    if not got:
        return
    if "error" in got:
        st.error(render.md_escape(got["error"]), icon=":material/error:")
        return
    st.success(render.md_escape(got["line"]), icon=":material/check:")
    for problem in got["problems"]:
        st.warning(render.md_escape(str(problem)))
    if got["gone"]:
        verb = "Removed" if got["removed"] else "Gone from Zotero (tick the box above to remove them)"
        st.caption(verb + ": " + "; ".join(render.md_escape(f"{pid} {title[:60]}") for pid, title in got["gone"]))


st.title("Library")
with state.friendly():
    engine = state.engine()
    engine.refresh()
    papers = engine.papers()
    chunk_counts = engine.chunk_counts()
note = st.session_state.pop("deleted_note", None)
if note:
    st.success(note, icon=":material/check:")
stats(papers, sum(chunk_counts.values()) if chunk_counts else engine.chunk_count())  # client mode: no per-paper counts
if not papers:
    st.info("The library is empty: add files below, or run `papers ingest` for the seed corpus.")
selected = table(papers, chunk_counts)
cols = st.columns(2)
with cols[0]:
    delete(engine, selected)
with cols[1]:
    edit(engine, papers, selected)
st.divider()
related_panel(engine, papers, selected)
st.divider()
upload(engine)
st.divider()
zotero(engine)
