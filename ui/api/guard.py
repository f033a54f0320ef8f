"""Browsers and the API: no web page may use `papers serve` through the user's browser.

A keyless API on 127.0.0.1 trusts whoever can reach the port, and a browser on this machine can: a
page on any site can send it requests (CSRF: a form, `fetch` with a "simple" body), and a host name
that a hostile DNS server points at 127.0.0.1 makes the page's requests same-origin (DNS rebinding).
`RequestGuard` (plain ASGI, in front of everything else) refuses, with one JSON line:

- 421 a Host header that is not this machine's (127.0.0.1, localhost, [::1], any port) on a keyless
  server, or not in PAPERS_API_ALLOWED_HOSTS when that is set: a rebound name never gets an answer;
- 403 an Origin other than the API's own or one of PAPERS_API_CORS_ORIGINS (`null` included), and a
  write without Origin that the browser marks `Sec-Fetch-Site: cross-site` or `same-site`;
- 415 a POST whose body is not `application/json` (or `multipart/form-data` to /ingest): a browser
  sends JSON cross-origin only after a CORS preflight, which this API never grants to a stranger, so
  a `text/plain` form or a body without Content-Type is not JSON here.

A multipart upload is what a plain HTML form can send cross-origin without a preflight; browsers send
an Origin with every cross-origin POST, so the Origin rule refuses it. These checks are the same as
`papers mcp --http`'s (the MCP SDK's transport security: 421, 403, 400), and they run with keys too:
a bearer key is never sent by a browser on its own, but the rules cost a legitimate client nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from ui.api.auth import is_loopback
from ui.api.limits import refusal

if TYPE_CHECKING:
    from assistant.settings import Settings

UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
WRONG_HOST = "this server does not answer to that Host (PAPERS_API_ALLOWED_HOSTS)"
OTHER_PAGE = "requests from other web pages are refused (PAPERS_API_CORS_ORIGINS)"
JSON_ONLY = (
    "Content-Type must be application/json (or multipart/form-data for file uploads to /ingest)"
)


def split_host(host: str) -> tuple[str, str]:
    """`name:port`, `[::1]:8000`, `name` → (name, port); IPv6 brackets dropped, the name lower-cased."""
    host = host.strip().lower()
    if host.startswith("["):
        name, _, rest = host[1:].partition("]")
        return name, rest.removeprefix(":")
    name, _, port = host.rpartition(":") if host.count(":") == 1 else (host, "", "")
    return name, port


def comma_list(text: str) -> set[str]:
    return {part.strip().lower() for part in text.split(",") if part.strip()}


def host_allowed(host: str, keyless: bool, allowed: set[str]) -> bool:
    """Is `host` (a Host header) one this server answers to?"""
    if not host:
        return False
    name, _ = split_host(host)
    if host.strip().lower() in allowed or name in allowed:
        return True
    if keyless:  # the keyless server listens on loopback only (ui/api/auth.py `check_binding`)
        return is_loopback(name)
    return not allowed  # with keys a rebound name gains nothing: the page has no key


def origin_allowed(origin: str, host: str, cors: set[str]) -> bool:
    """Is a request from `origin` one of the API's own pages (its /docs) or a configured CORS origin?"""
    if origin.strip().lower() in cors:
        return True
    try:
        parts = urlsplit(origin.strip())
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc) and parts.netloc.lower() == host.strip().lower()


def body_allowed(path: str, content_type: str) -> bool:
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind == "application/json" or (kind.startswith("application/") and kind.endswith("+json")):
        return True
    return kind == "multipart/form-data" and path.rstrip("/") == "/ingest"


class RequestGuard:
    def __init__(self, app: ASGIApp, settings: Settings, keyless: bool) -> None:
        self.app = app
        self.keyless = keyless
        self.hosts = comma_list(settings.api_allowed_hosts)
        self.cors = {o.rstrip("/") for o in comma_list(settings.api_cors_origins)}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        host = headers.get("host", "")
        method = scope.get("method", "GET").upper()
        if not host_allowed(host, self.keyless, self.hosts):
            await refusal(421, WRONG_HOST)(scope, receive, send)
            return
        origin = headers.get("origin")
        fetched_from = headers.get("sec-fetch-site")
        cross_site = origin is None and method in UNSAFE and fetched_from in ("cross-site", "same-site")
        if cross_site or (origin is not None and not origin_allowed(origin, host, self.cors)):
            await refusal(403, OTHER_PAGE)(scope, receive, send)
            return
        path, content_type = scope.get("path", ""), headers.get("content-type", "")
        if method in ("POST", "PUT", "PATCH") and not body_allowed(path, content_type):
            await refusal(415, JSON_ONLY)(scope, receive, send)
            return
        await self.app(scope, receive, send)
