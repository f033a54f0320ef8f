"""Request limits: the size of a body (uploads capped like the CLI's files) and a per-key rate.

`BodyLimit` is plain ASGI middleware: a declared Content-Length over the cap is refused before a
byte is read, and a body without one (chunked) is counted as it arrives, so no request can make the
server spool more than the cap. `RateLimiter` is a sliding one-minute window per caller (a key, or
a client address for failed key attempts).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from fastapi import HTTPException
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from assistant.settings import Settings

MB = 1_000_000  # the loaders' megabyte (ingest/sources: size / 1e6)


def body_cap(content_type: str, max_file_mb: float, max_files: int) -> int:
    """Bytes a body may hold: an upload of `max_files` files at the file limit, else one file's worth."""
    if content_type.startswith("multipart/"):
        return int(max_file_mb * MB * max_files) + MB  # + room for the multipart framing
    return int(max_file_mb * MB)


def too_large(cap: int) -> str:
    return f"request body over the limit of {cap / MB:g} MB (PAPERS_MAX_FILE_MB, PAPERS_API_MAX_FILES)"


class BodyLimit:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings  # read per request: the limits are the ones in force

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        s = self.settings
        cap = body_cap(headers.get("content-type", ""), s.max_file_mb, s.api_max_files)
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            await refusal(413, too_large(cap))(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > cap:
                    raise HTTPException(413, too_large(cap))
            return message

        await self.app(scope, counted, send)


def refusal(status: int, message: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    """The `{"error": message}` JSON answer ASGI middleware sends before the app sees the request (the
    API's error shape): `await refusal(413, "…")(scope, receive, send)`."""
    return JSONResponse({"error": message}, status, headers)


class RateLimiter:
    """At most `per_minute` requests per caller in any 60 s (0: no limit)."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, caller: str) -> int:
        """0 and the request counted, or the seconds until this caller may call again."""
        return self._check(caller, count=True)

    def waiting(self, caller: str) -> int:
        """The seconds until this caller may call again (0: now), counting nothing: with `note`, a
        limit on some requests only (failed key attempts)."""
        return self._check(caller, count=False)

    def note(self, caller: str) -> None:
        """Count one request of this caller."""
        if self.per_minute > 0:
            now = self.clock()
            with self._lock:
                self._seen.setdefault(caller, deque()).append(now)
                if len(self._seen) > _MAX_CALLERS:  # callers by address: forget the quiet ones
                    for quiet in [c for c, w in self._seen.items() if not w or w[-1] <= now - 60]:
                        del self._seen[quiet]

    def _check(self, caller: str, count: bool) -> int:
        if self.per_minute <= 0:
            return 0
        now = self.clock()
        with self._lock:
            window = self._seen.setdefault(caller, deque())
            while window and window[0] <= now - 60:
                window.popleft()
            if len(window) >= self.per_minute:
                return max(1, math.ceil(window[0] + 60 - now))
            if count:
                window.append(now)
            return 0


_MAX_CALLERS = 10_000
