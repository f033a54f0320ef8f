"""`papers compare | summarize`: comparison tables and literature summaries in the terminal face."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from ui.cli.common import engine, fail, friendly, print_json

if TYPE_CHECKING:
    from assistant.models import Comparison

app = typer.Typer()


class CompareFormat(StrEnum):
    markdown = "markdown"
    json = "json"
    csv = "csv"


class SummaryFormat(StrEnum):
    markdown = "markdown"
    json = "json"


def _note_fallback(reason: str | None) -> None:
    if reason:
        typer.echo(f"note: the LLM failed ({reason}); this is the extractive version", err=True)


def _note_rows(result: Comparison) -> None:
    from assistant.text import short_title

    for n, p in enumerate(result.papers, start=1):
        if p.fallback_reason:
            typer.echo(f"note: row {n} ({short_title(p.title)}): {p.fallback_reason}", err=True)


def _write(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write {path}: {exc.strerror or exc}")


@app.command()
@friendly
def compare(
    paper: list[str] = typer.Option(None, "--paper", help="A paper id to compare (repeatable)."),
    query: str = typer.Option("", "--query", help="Compare the best papers for this query instead."),
    max_papers: int = typer.Option(5, "--max", min=1, max=20, help="Most papers taken for --query."),
    aspects: str = typer.Option(
        "problem,method,data,results,limitations",
        "--aspects",
        help="Comma-separated aspects (columns); any name works, these five have tuned cues.",
    ),
    fmt: CompareFormat = typer.Option(CompareFormat.markdown, "--format", help="markdown, json or csv."),
) -> None:
    """Compare papers side by side: one row per paper, one cited cell per aspect ("not stated" when
    the paper does not say)."""
    from assistant.reports.exports import comparison_csv, comparison_json, comparison_markdown

    if not paper and not query.strip():
        fail("name papers with --paper ID (repeatable) or give --query TEXT")
    if paper and query.strip():
        fail("use either --paper or --query, not both")
    result = engine().compare(paper_ids=paper or [], query=query, aspects=aspects, max_papers=max_papers)
    _note_fallback(result.fallback_reason)
    _note_rows(result)
    if fmt == CompareFormat.json:
        print_json(comparison_json(result))
    elif fmt == CompareFormat.csv:
        typer.echo(comparison_csv(result), nl=False)
    else:
        typer.echo(comparison_markdown(result), nl=False)


@app.command()
@friendly
def summarize(
    topic: str = typer.Argument("", help="What the summary is about; empty: the whole library."),
    max_papers: int = typer.Option(
        0, "--max-papers", min=0, max=200, help="Most papers summarised (default: 12 for a topic, all without)."
    ),
    fmt: SummaryFormat | None = typer.Option(
        None, "--format", help="markdown or json on stdout (default: markdown, or nothing with -o)."
    ),
    out: Path | None = typer.Option(
        None, "-o", "--output", help="Write the summary here (.json: JSON, else Markdown)."
    ),
    bib: Path | None = typer.Option(None, "--bib", help="Write BibTeX of the cited papers here."),
) -> None:
    """A literature summary: the papers grouped into themes, an overview, a cited paragraph per theme
    and numbered references."""
    from assistant.reports.exports import describe, summary_bibtex, summary_json, summary_markdown

    eng = engine()
    result = eng.summarize(topic, max_papers=max_papers or None)
    _note_fallback(result.fallback_reason)
    if out is not None:
        if out.suffix.lower() == ".json":
            import json

            _write(out, json.dumps(summary_json(result), ensure_ascii=False, indent=2) + "\n")
        else:
            _write(out, summary_markdown(result))
    if bib is not None:
        papers = eng.papers([r.id for r in result.references])
        _write(bib, summary_bibtex(result, papers))
    if fmt == SummaryFormat.json:
        print_json(summary_json(result))
    elif fmt == SummaryFormat.markdown or (fmt is None and out is None):
        typer.echo(summary_markdown(result), nl=False)
    if out is not None or bib is not None:
        written = ", ".join(str(p) for p in (out, bib) if p is not None)
        typer.echo(f"wrote {written}: {describe(result)}", err=True)
