"""`papers`: the terminal face. Heavy imports stay inside commands so --help and list are instant."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import typer

app = typer.Typer(
    help="Paper Assistant: ingest papers, ask cited questions, compare methods, summarise literature.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help texts mention [n] citations; rich markup would swallow them
)

F = TypeVar("F", bound=Callable[..., Any])


def _fail(message: str, code: int = 2) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def friendly(fn: F) -> F:
    """Domain errors become one readable line on stderr, never a traceback."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from pydantic import ValidationError

        from assistant.errors import PapersError

        try:
            return fn(*args, **kwargs)
        except PapersError as exc:
            _fail(str(exc))
        except ValidationError as exc:
            first = exc.errors()[0]
            _fail(f"invalid setting {'.'.join(str(p) for p in first['loc'])}: {first['msg']}")
        except KeyboardInterrupt:
            _fail("interrupted", 130)

    return wrapper  # type: ignore[return-value]


def _settings() -> Any:
    from assistant.settings import get_settings

    return get_settings()


def _library(check_model: bool = True) -> Any:
    from assistant.library import Library

    return Library(_settings(), check_model=check_model)


def _embedder_factory() -> Callable[[], Any]:
    from assistant.embeddings import get_embedder

    settings = _settings()
    return lambda: get_embedder(settings)


def _print_json(obj: Any) -> None:
    typer.echo(json.dumps(obj, ensure_ascii=False, indent=2))


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
    from ingest.pipeline import exit_code
    from ingest.pipeline import ingest as run_ingest

    settings = _settings()
    extra: list[Any] = []
    if arxiv or arxiv_query:
        from ingest.sources.arxiv import fetch_arxiv

        extra = list(fetch_arxiv(list(arxiv or []), arxiv_query, max_results, settings))
    targets = list(paths or [])
    if not targets and not extra:
        from ingest.sources.seed import SEED_FILE

        targets = [SEED_FILE]
    lib = _library()
    if if_empty and lib.count() > 0:
        typer.echo(f"library already holds {lib.count()} papers; nothing to do")
        return
    if as_json or not sys.stderr.isatty():
        report = run_ingest(targets, lib, _embedder_factory(), settings, extra=extra)
    else:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        with Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            transient=True,
        ) as bar:
            task = bar.add_task("reading", total=None)

            def progress(done: int, total: int, stage: str) -> None:
                bar.update(task, completed=done, total=total or None, description=stage)

            report = run_ingest(targets, lib, _embedder_factory(), settings, extra=extra, progress=progress)
    if as_json:
        _print_json(report.public())
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
    papers = _library(check_model=False).papers()
    if as_json:
        _print_json([p.record() for p in papers])
        return
    for p in papers:
        year = p.year or "----"
        typer.echo(f"{p.id:<28} {year}  {p.title[:90]}")
    typer.echo(f"{len(papers)} papers")


@app.command()
@friendly
def remove(ids: list[str] = typer.Argument(..., help="Paper ids to remove.")) -> None:
    """Remove papers (their chunks leave Chroma and BM25 together)."""
    removed = _library(check_model=False).remove(ids)
    missing = [i for i in ids if i not in removed]
    typer.echo(f"removed {len(removed)}")
    if missing:
        _fail(f"not in the library: {', '.join(missing)}", 1)


@app.command()
@friendly
def stats(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Library size, embedding model and storage."""
    settings = _settings()
    lib = _library(check_model=False)
    meta = lib.meta
    info = {
        "papers": lib.count(),
        "chunks": lib.chunk_count(),
        "chroma_chunks": lib.collection.count(),
        "bm25_chunks": len(lib.bm25),
        "embed_model": meta.get("embed_model", settings.embed_model),
        "embed_dim": meta.get("embed_dim"),
        "location": lib.location,
        "collection": settings.collection,
        "llm": settings.llm_model or "offline (extractive)",
    }
    if as_json:
        _print_json(info)
        return
    for k, v in info.items():
        typer.echo(f"{k:<14} {v}")


@app.command()
@friendly
def reindex() -> None:
    """Re-embed every chunk with the current embedding model (after changing PAPERS_EMBED_MODEL)."""
    lib = _library(check_model=False)
    embed = _embedder_factory()()
    n = lib.reindex(embed.embed)
    typer.echo(f"re-embedded {n} chunks with {lib.model_name}")


def _register_commands() -> None:
    """Command groups live in sibling modules; importing one registers its commands on `app`."""
    import ui.cli_admin  # noqa: F401  export, import
    import ui.cli_answers  # noqa: F401  search, ask, chat, eval
    import ui.cli_reports  # noqa: F401  compare, summarize


def main() -> None:
    _register_commands()
    app()


if __name__ == "__main__":
    main()
