"""`papers mcp --http`: the MCP server over streamable HTTP (`/mcp`), behind the REST API's keys and limits.

Every HTTP request needs a key from PAPERS_API_KEYS (read or write) in `Authorization: Bearer KEY`,
checked by ui/api/auth.py (the one key parser); `add_papers` further needs a write key (ui/mcp/server.py).
Each key has the API's rate (PAPERS_API_RATE_LIMIT a minute, then 429) and a body is capped as the
API caps JSON (PAPERS_MAX_FILE_MB, ui/api/limits.py). Without keys the server is open and, as
`papers serve`, only allowed on a loopback address.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from ui.api.auth import ApiKey, Denied, authorize, check_binding, parse_keys
from ui.api.limits import BodyLimit, RateLimiter, refusal

if TYPE_CHECKING:
    from assistant.engine import PaperAssistant

PATH = "/mcp"


class KeyGate:
    """ASGI middleware: an HTTP request without a known key is answered 401, one over its key's rate 429
    (JSON, one line), before MCP sees it."""

    def __init__(self, app: ASGIApp, keys: list[ApiKey], limiter: RateLimiter, failures: RateLimiter) -> None:
        self.app = app
        self.keys = keys
        self.limiter = limiter
        self.failures = failures  # failed key attempts per client address, as the REST API (ui/api/deps.py)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            address = str((scope.get("client") or ("unknown",))[0])
            if self.keys and (wait := self.failures.waiting(address)):
                message = f"too many failed key attempts from this address; retry in {wait}s (PAPERS_API_AUTH_FAILURES)"
                await refusal(429, message, {"retry-after": str(wait)})(scope, receive, send)
                return
            got = authorize(Headers(scope=scope).get("authorization"), self.keys, "read")
            if isinstance(got, Denied):
                self.failures.note(address)
                await refusal(got.status, got.message, {"www-authenticate": "Bearer"})(scope, receive, send)
                return
            wait = self.limiter.retry_after(got.name) if self.keys else 0
            if wait:
                message = (
                    f"rate limit of {self.limiter.per_minute} requests a minute reached for this key; "
                    f"retry in {wait}s (PAPERS_API_RATE_LIMIT)"
                )
                await refusal(429, message, {"retry-after": str(wait)})(scope, receive, send)
                return
        await self.app(scope, receive, send)


def http_app(engine: PaperAssistant, host: str) -> KeyGate:
    """The streamable-HTTP app at /mcp, key-gated; refuses a non-loopback `host` without keys."""
    from ui.mcp.server import build_server

    settings = engine.settings
    keys = parse_keys(settings.api_keys.get_secret_value())
    check_binding(host, keys)
    server = build_server(engine, keys=keys, http=True)
    mcp_app = server.streamable_http_app(streamable_http_path=PATH, host=host)
    capped = BodyLimit(mcp_app, settings)
    return KeyGate(capped, keys, RateLimiter(settings.api_rate_limit), RateLimiter(settings.api_auth_failures))
