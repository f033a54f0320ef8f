"""`papers export | import`: move a library between stores (embedded ↔ `chroma run` server) without re-embedding."""

from __future__ import annotations

from pathlib import Path

import typer

from ui.cli import _library, _print_json, app, friendly


@app.command("export")
@friendly
def export_cmd(
    file: Path = typer.Argument(..., help="JSONL file to write (header with model + one line per paper)."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Write the library's papers, chunks and embeddings to a JSONL file."""
    from assistant.transfer import export_library

    lib = _library(check_model=False)
    report = export_library(lib, file)
    if as_json:
        _print_json({"file": str(file), **report.__dict__})
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
    from assistant.transfer import import_library, read_header

    read_header(file)  # a wrong file fails before the library is opened
    lib = _library()
    report = import_library(lib, file)
    if as_json:
        _print_json({"file": str(file), "location": lib.location, **report.__dict__})
        return
    typer.echo(
        f"imported into {lib.location}: added {report.added}, updated {report.updated}, "
        f"unchanged {report.unchanged} ({report.chunks} chunks written, {report.seconds:.1f}s)"
    )
