"""`papers serve [--host] [--port]`: the REST API (ui/api/) over this library, the team's one writer.

Before listening it claims the library (`Engine.claim_server`): a second `papers serve` on the same
library, embedded or on the same Chroma server, stops with one line naming the one already running.
The socket is bound before the claim, so a port already in use is one line too, and no claim is left.
"""

from __future__ import annotations

import signal
import socket
from types import FrameType

import typer

from ui.cli.common import engine, fail, friendly

app = typer.Typer()


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


@app.command()
@friendly
def serve(
    host: str = typer.Option("", "--host", help="Address to bind (default PAPERS_API_HOST, 127.0.0.1)."),
    port: int = typer.Option(0, "--port", help="Port (default PAPERS_API_PORT, 8000)."),
    log_level: str = typer.Option("info", "--log-level", help="uvicorn log level: warning, info, debug."),
    warm: bool = typer.Option(
        True, "--warm/--no-warm", help="Load the embedding model at start-up (in the background)."
    ),
) -> None:
    """Serve the library over HTTP: REST API with OpenAPI docs at /docs; writes go through one queue."""
    import uvicorn

    from ui.api.app import build_app
    from ui.api.auth import check_binding, parse_keys

    eng = engine()
    settings = eng.settings
    host = host or settings.api_host
    port = port or settings.api_port
    check_binding(host, parse_keys(settings.api_keys.get_secret_value()))
    sock = bind(host, port)
    shown = f"[{host}]" if ":" in host else host
    address = f"http://{shown}:{sock.getsockname()[1]}"
    # SIGTERM is an exception here (uvicorn, too, re-raises the signal that stopped it once it is done),
    # held back while the claim is taken, so the claim is given back however early the stop comes.
    signal.signal(signal.SIGTERM, _terminate)
    stops = {signal.SIGTERM, signal.SIGINT}
    signal.pthread_sigmask(signal.SIG_BLOCK, stops)
    try:
        claim = eng.claim_server(address)
    except BaseException:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, stops)
        raise
    try:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, stops)  # a stop that came meanwhile is raised here
        app_ = build_app(eng, warm=warm, on_stop=claim.release)
        config = uvicorn.Config(app_, log_level=log_level, access_log=True, lifespan="on")
        typer.echo(f"serving {eng.location} at {address} (API docs: {address}/docs)", err=True)
        uvicorn.Server(config).run(sockets=[sock])
    except KeyboardInterrupt:
        typer.echo("stopped serving", err=True)
    finally:
        claim.release()
        sock.close()
