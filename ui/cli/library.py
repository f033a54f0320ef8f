"""`papers ingest | enrich | list | remove | stats | reindex | export | import`: keeping the library."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from ui.cli.common import engine, fail, friendly, print_json

if TYPE_CHECKING:
    from assistant.engine import PaperAssistant
    from assistant.models import IngestReport, LoadError, Paper
    from ingest.pipeline import Progress, Source

app = typer.Typer()


@app.command()
@friendly
def ingest(
    paths: list[Path] = typer.Argument(
        None, help="Files or directories (JSONL, JSON, CSV, BibTeX, PDF). None: the seed corpus."
    ),
    arxiv: list[str] = typer.Option(None, "--arxiv", help="arXiv ids to fetch (repeatable)."),
    arxiv_query: str = typer.Option("", "--arxiv-query", help="arXiv search query to fetch."),
    max_results: int = typer.Option(10, "--max", help="Most results for --arxiv-query."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    if_empty: bool = typer.Option(False, "--if-empty", help="Do nothing when the library already has papers."),
    zotero: bool = typer.Option(
        False, "--zotero", help="Import a Zotero library; PATHS is its data directory (default: ~/Zotero)."
    ),
    collections: list[str] = typer.Option(
        None, "--collection", help="With --zotero: only this collection and its subcollections (repeatable)."
    ),
    tags: list[str] = typer.Option(None, "--tag", help="With --zotero: only items with this tag (repeatable)."),
    prune: bool = typer.Option(False, "--prune", help="With --zotero: remove papers whose Zotero items are gone."),
) -> None:
    """Add papers to the library; unchanged papers are skipped, changed ones replaced."""
    from ingest.pipeline import add_to_library
    from ui.cli.common import exit_code

    if (collections or tags or prune) and not zotero:
        fail("--collection, --tag and --prune go with --zotero")
    if zotero and (arxiv or arxiv_query or len(paths or []) > 1):
        fail("--zotero reads one Zotero data directory (no other files or --arxiv in the same run)")
    eng = engine()
    settings = eng.settings
    if zotero:
        if if_empty and eng.count() > 0:
            typer.echo(f"library already holds {eng.count()} papers; nothing to do")
            return
        zotero_ingest(eng, paths[0] if paths else None, list(collections or []), list(tags or []), prune, as_json)
        return
    extra: list[Any] = []
    if arxiv or arxiv_query:
        from ingest.sources.arxiv import fetch_arxiv

        extra = list(fetch_arxiv(list(arxiv or []), arxiv_query, max_results, settings))
    targets = list(paths or [])
    if not targets and not extra:
        from ingest.sources.seed import SEED_FILE

        targets = [SEED_FILE]
    if if_empty and eng.count() > 0:
        typer.echo(f"library already holds {eng.count()} papers; nothing to do")
        return
    sources: list[Source] = [*targets, *extra]
    with progress_bar(as_json) as progress:  # load → dedupe → enrich (PAPERS_ENRICH) → Engine.ingest
        added = add_to_library(eng, sources, settings, progress)
    report = added.report
    if as_json:
        print_json(report.public())
    else:
        echo_report(report)
    if added.enrichment:
        typer.echo(added.enrichment, err=True)
    raise typer.Exit(exit_code(report))


def write_records(eng: PaperAssistant, records: Iterable[Paper | LoadError], as_json: bool) -> IngestReport:
    """`Engine.ingest`, with a progress bar on a terminal."""
    with progress_bar(as_json) as progress:
        return eng.ingest(records, progress=progress)


@contextmanager
def progress_bar(as_json: bool) -> Iterator[Progress | None]:
    """An ingest's progress callback drawing a bar on a terminal; None for JSON or a pipe."""
    if as_json or not sys.stderr.isatty():
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        transient=True,
    ) as bar:
        task = bar.add_task("reading", total=None)

        def progress(done: int, total: int, stage: str) -> None:
            bar.update(task, completed=done, total=total or None, description=stage)

        yield progress


def echo_report(report: IngestReport) -> None:
    typer.echo(
        f"added {report.added}, updated {report.updated}, unchanged {report.unchanged}, "
        f"failed {report.failed} ({report.seconds:.1f}s)"
    )
    for err in report.errors:
        typer.echo(f"  {err}", err=True)
    more = report.failed - len(report.errors)  # errors past PAPERS_INGEST_MAX_ERRORS are only counted
    if more > 0:
        typer.echo(f"  … and {more} more error{'s' if more != 1 else ''} (PAPERS_INGEST_MAX_ERRORS)", err=True)


def zotero_ingest(
    eng: PaperAssistant, data_dir: Path | None, collections: list[str], tags: list[str], prune: bool, as_json: bool
) -> None:
    """`papers ingest --zotero [DATA_DIR]`: a sync; papers whose items left Zotero go only with --prune."""
    from ingest.zotero_sync import sync_zotero
    from ui.cli.common import exit_code

    with progress_bar(as_json) as progress:
        done = sync_zotero(eng, data_dir, collections, tags, prune, progress=progress)
    report = done.report
    if done.enrichment:
        typer.echo(done.enrichment, err=True)
    if as_json:
        print_json({**report.public(), "zotero": done.public()})
        raise typer.Exit(exit_code(report))
    echo_report(report)
    got = done.read
    chosen = f"{got.selected} of {got.read}" if got.selected != got.read else f"{got.read}"
    typer.echo(f"zotero: {chosen} items from {got.database}; skipped {done.skipped_line()}")
    for warning in got.warnings:
        typer.echo(f"  warning: {warning}", err=True)
    for p in done.gone:
        verb = "removed" if p.id in done.removed else "would remove (use --prune)"
        typer.echo(f"{verb}: {p.id}  {p.title[:80]}  (gone from Zotero as {p.source})")
    raise typer.Exit(exit_code(report))


@app.command()
@friendly
def enrich(
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would be filled; change nothing."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Fill missing authors/year/venue/abstract of the library's papers by DOI (Crossref, OpenAlex) or arXiv id."""
    from ingest.enrich import Enricher
    from ui.cli.common import exit_code

    eng = engine(check_model=not dry_run)  # writing re-embeds: the library's model must be the configured one
    changed: list[Paper] = []
    skipped: list[str] = []  # PDFs: the library keeps no body text to re-ingest them with
    with Enricher(eng.settings) as enricher:
        for paper in eng.papers():
            new = enricher.enrich(paper)
            if new is paper:
                continue
            if paper.source.lower().endswith(".pdf"):
                skipped.append(paper.id)
            else:
                changed.append(new)
    stats = enricher.stats
    report = None if dry_run or not changed else write_records(eng, changed, as_json)
    if as_json:
        print_json(
            {
                "filled": stats.filled,
                "not_found": stats.not_found,
                "unreachable": stats.unreachable,
                "dry_run": dry_run,
                "changes": [{"id": i, "fields": f, "from": s} for i, f, s in stats.changes],
                "skipped_pdf": skipped,
                **({"report": report.public()} if report is not None else {}),
            }
        )
    else:
        verb = "would fill" if dry_run else "filled"
        for paper_id, fields, services in stats.changes:
            note = "  (a PDF: re-ingest its file with PAPERS_ENRICH=1)" if paper_id in skipped else ""
            typer.echo(f"{verb} {paper_id}: {', '.join(fields)} (from {', '.join(services)}){note}")
        if report is not None:
            echo_report(report)
        typer.echo(stats.summary())
    if report is not None:
        raise typer.Exit(exit_code(report))


@app.command("list")
@friendly
def list_papers(as_json: bool = typer.Option(False, "--json", help="Print a JSON array.")) -> None:
    """List the papers in the library."""
    papers = engine(check_model=False).papers()
    if as_json:
        print_json([p.record() for p in papers])
        return
    for p in papers:
        year = p.year or "----"
        typer.echo(f"{p.id:<28} {year}  {p.title[:90]}")
    typer.echo(f"{len(papers)} papers")


@app.command()
@friendly
def remove(ids: list[str] = typer.Argument(..., help="Paper ids to remove.")) -> None:
    """Remove papers (their chunks leave every store together)."""
    removed = engine(check_model=False).remove(ids)
    missing = [i for i in ids if i not in removed]
    typer.echo(f"removed {len(removed)}")
    if missing:
        fail(f"not in the library: {', '.join(missing)}", 1)


@app.command()
@friendly
def stats(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Library size, embedding model and storage."""
    info = engine(check_model=False).stats().public()
    if as_json:
        print_json(info)
        return
    for k, v in info.items():
        typer.echo(f"{k:<14} {v}")


@app.command()
@friendly
def reindex(
    pdf_layout: bool = typer.Option(
        False, "--pdf-layout", help="Instead: add page numbers to the chunks of PDFs ingested before they were kept."
    ),
) -> None:
    """Re-embed every chunk with the current embedding model (after changing PAPERS_EMBED_MODEL)."""
    eng = engine(check_model=False)
    if pdf_layout:
        add_pdf_layout(eng)
        return
    n = eng.reindex()
    typer.echo(f"re-embedded {n} chunks with {eng.embed_model}")


def add_pdf_layout(eng: PaperAssistant) -> None:
    """`papers reindex --pdf-layout`: each PDF read again for its pages; one line per file that cannot be."""
    from ingest.pdf_layout import page_texts

    layouts, errors = page_texts(eng.papers(), eng.settings)
    for err in errors:
        typer.echo(f"skipped {err}", err=True)
    report = eng.add_pdf_layout(layouts) if layouts else None
    placed = report.chunks if report else 0
    papers = report.papers if report else 0
    unplaced = sum(report.unplaced.values()) if report else 0
    typer.echo(
        f"pages added to {placed} chunks of {papers} PDF papers"
        + (f"; {unplaced} chunks not found in their PDF's text" if unplaced else "")
        + (f"; {len(errors)} PDFs skipped" if errors else "")
    )


@app.command("export")
@friendly
def export_cmd(
    file: Path = typer.Argument(..., help="JSONL file to write (header with model + one line per paper)."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Write the library's papers, chunks and embeddings to a JSONL file."""
    report = engine(check_model=False).export(file)
    if as_json:
        print_json({"file": str(file), **report.__dict__})
        return
    typer.echo(
        f"exported {report.papers} papers ({report.chunks} chunks, {report.embed_model}, "
        f"{report.embed_dim} dims) to {file} ({report.seconds:.1f}s)"
    )


@app.command("import")
@friendly
def import_cmd(
    file: Path = typer.Argument(..., help="A file written by `papers export`."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Load an exported library into the configured one (embedded or PAPERS_CHROMA_URL), keeping its vectors."""
    eng = engine()
    report = eng.import_file(file)
    if as_json:
        print_json({"file": str(file), "location": eng.location, **report.__dict__})
        return
    typer.echo(
        f"imported into {eng.location}: added {report.added}, updated {report.updated}, "
        f"unchanged {report.unchanged} ({report.chunks} chunks written, {report.seconds:.1f}s)"
    )
