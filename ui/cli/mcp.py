"""`papers mcp [--http --host --port]`: the library as an MCP server for AI assistants (ui/mcp/).

stdio by default (an assistant starts it as a subprocess: the local user's own library, writes
allowed); `--http` serves streamable HTTP at /mcp behind PAPERS_API_KEYS, as `papers serve` does.
"""

from __future__ import annotations

import typer

from ui.cli.common import engine, friendly

app = typer.Typer()


@app.command()
@friendly
def mcp(
    http: bool = typer.Option(False, "--http", help="Serve streamable HTTP at /mcp instead of stdio."),
    host: str = typer.Option("", "--host", help="Address to bind with --http (default PAPERS_API_HOST, 127.0.0.1)."),
    port: int = typer.Option(0, "--port", help="Port with --http (default PAPERS_API_PORT, 8000)."),
) -> None:
    """Serve the library to an AI assistant over MCP: search, cited answers, comparisons, summaries, papers."""
    from ui.mcp.server import build_server

    eng = engine()
    if not http:
        build_server(eng).run("stdio")
        return
    import uvicorn

    from ui.mcp.http import PATH, http_app

    host = host or eng.settings.api_host
    port = port or eng.settings.api_port
    app_ = http_app(eng, host)
    shown = f"[{host}]" if ":" in host else host
    typer.echo(f"serving {eng.location} over MCP at http://{shown}:{port}{PATH}", err=True)
    uvicorn.run(app_, host=host, port=port, log_level="warning")
