"""`papers`: the terminal face. The root only mounts the command groups, each a `typer.Typer` in its
own module; nothing imports this module back. Heavy imports stay inside commands so `--help` and
`list` are instant."""

from __future__ import annotations

import typer

from ui.cli import answers, graph, library, library_map, mcp, reports, serve, watch

app = typer.Typer(
    help="Paper Assistant: ingest papers, ask cited questions, compare methods, summarise literature.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help texts mention [n] citations; rich markup would swallow them
)
for group in (library.app, answers.app, reports.app, watch.app, serve.app, graph.app, library_map.app, mcp.app):
    app.add_typer(group)


def main() -> None:
    app()
