"""`papers mcp [--http --host --port]`: the library as an MCP server for AI assistants (ui/mcp/).

stdio by default (an assistant starts it as a subprocess: the local user's own library, writes
allowed); `--http` serves streamable HTTP at /mcp behind PAPERS_API_KEYS, as `papers serve` does.
"""

from __future__ import annotations

import typer

from ui.cli.common import engine, friendly
from ui.cli.serve import bind

app = typer.Typer()


@app.command()
@friendly
def mcp(
    http: bool = typer.Option(False, "--http", help="Serve streamable HTTP at /mcp instead of stdio."),
    host: str = typer.Option("", "--host", help="Address to bind with --http (default PAPERS_API_HOST, 127.0.0.1)."),
    port: int = typer.Option(0, "--port", help="Port with --http (default PAPERS_MCP_PORT, 8001)."),
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
    port = port or eng.settings.mcp_port
    app_ = http_app(eng, host)
    sock = bind(host, port)  # a port in use is one line, as for `papers serve`
    shown = f"[{host}]" if ":" in host else host
    typer.echo(f"serving {eng.location} over MCP at http://{shown}:{sock.getsockname()[1]}{PATH}", err=True)
    try:
        uvicorn.Server(uvicorn.Config(app_, log_level="warning")).run(sockets=[sock])
    finally:
        sock.close()
