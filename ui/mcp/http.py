"""`papers mcp --http`: the MCP server over streamable HTTP (`/mcp`), behind the REST API's keys.

Every HTTP request needs a key from PAPERS_API_KEYS (read or write) in `Authorization: Bearer KEY`,
checked by ui/api/auth.py (the one key parser); `add_papers` further needs a write key (ui/mcp/server.py).
Without keys the server is open and, as `papers serve`, only allowed on a loopback address.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any

from ui.api.auth import ApiKey, Denied, authorize, check_binding, parse_keys

if TYPE_CHECKING:
    from starlette.types import ASGIApp

    from assistant.engine import Engine

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

PATH = "/mcp"


class KeyGate:
    """ASGI middleware: an HTTP request without a known key is answered 401 (JSON, one line) before MCP sees it."""

    def __init__(self, app: ASGIApp, keys: list[ApiKey]) -> None:
        self.app = app
        self.keys = keys

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            header = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"authorization"), None)
            got = authorize(header, self.keys, "read")
            if isinstance(got, Denied):
                body = json.dumps({"error": got.message}).encode()
                await send(
                    {
                        "type": "http.response.start",
                        "status": got.status,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"www-authenticate", b"Bearer"),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)  # type: ignore[arg-type]


def http_app(engine: Engine, host: str) -> KeyGate:
    """The streamable-HTTP app at /mcp, key-gated; refuses a non-loopback `host` without keys."""
    from ui.mcp.server import build_server

    keys = parse_keys(engine.settings.api_keys.get_secret_value())
    check_binding(host, keys)
    server = build_server(engine, keys=keys, http=True)
    return KeyGate(server.streamable_http_app(streamable_http_path=PATH, host=host), keys)
