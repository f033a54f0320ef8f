"""`papers ingest | list | remove | stats | reindex | export | import`: keeping the library."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

from ui.cli.common import engine, fail, friendly, print_json

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
) -> None:
    """Add papers to the library; unchanged papers are skipped, changed ones replaced."""
    from assistant.ingestion import exit_code
    from ingest.pipeline import load_all

    eng = engine()
    settings = eng.settings
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
    records = load_all(targets, settings, extra)
    if as_json or not sys.stderr.isatty():
        report = eng.ingest(records)
    else:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        with Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            transient=True,
        ) as bar:
            task = bar.add_task("reading", total=None)

            def progress(done: int, total: int, stage: str) -> None:
                bar.update(task, completed=done, total=total or None, description=stage)

            report = eng.ingest(records, progress=progress)
    if as_json:
        print_json(report.public())
    else:
        typer.echo(
            f"added {report.added}, updated {report.updated}, unchanged {report.unchanged}, "
            f"failed {report.failed} ({report.seconds:.1f}s)"
        )
        for err in report.errors:
            typer.echo(f"  {err}", err=True)
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
    info = engine(check_model=False).stats()
    if as_json:
        print_json(info)
        return
    for k, v in info.items():
        typer.echo(f"{k:<14} {v}")


@app.command()
@friendly
def reindex() -> None:
    """Re-embed every chunk with the current embedding model (after changing PAPERS_EMBED_MODEL)."""
    eng = engine(check_model=False)
    n = eng.reindex()
    typer.echo(f"re-embedded {n} chunks with {eng.embed_model}")


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
