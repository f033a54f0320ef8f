"""What every route depends on: the caller (API key and rate limit checked), the engine, the job queue."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ui.api.auth import Caller, Denied, Role, authorize

if TYPE_CHECKING:
    from assistant.engine import PaperAssistant
    from ui.api.jobs import JobQueue

# Declared for the OpenAPI docs (their Authorize button); the check itself is `authorize`.
_bearer = HTTPBearer(auto_error=False, description="An API key from PAPERS_API_KEYS (read:KEY or write:KEY).")


def _gate(request: Request, need: Role) -> Caller:
    state = request.app.state
    # Failed key attempts are limited per client address, checked before the key is: past the limit
    # even a right key waits, so guessing gains nothing.
    address = request.client.host if request.client else "unknown"
    if state.keys and (wait := state.auth_failures.waiting(address)):
        raise HTTPException(
            429,
            f"too many failed key attempts from this address; retry in {wait}s (PAPERS_API_AUTH_FAILURES)",
            headers={"Retry-After": str(wait)},
        )
    got = authorize(request.headers.get("authorization"), state.keys, need)
    if isinstance(got, Denied):
        if got.status == 401:
            state.auth_failures.note(address)
        headers = {"WWW-Authenticate": "Bearer"} if got.status == 401 else None
        raise HTTPException(got.status, got.message, headers=headers)
    if state.keys:  # the per-key limit; the keyless server is this machine's own
        wait = state.limiter.retry_after(got.name)
        if wait:
            raise HTTPException(
                429,
                f"rate limit of {state.limiter.per_minute} requests a minute reached for this key; "
                f"retry in {wait}s (PAPERS_API_RATE_LIMIT)",
                headers={"Retry-After": str(wait)},
            )
    request.state.caller = got.name
    return got


def reader(request: Request, _: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> Caller:
    return _gate(request, "read")


def writer(request: Request, _: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> Caller:
    return _gate(request, "write")


def engine_of(request: Request) -> PaperAssistant:
    eng: PaperAssistant = request.app.state.engine
    return eng


def jobs_of(request: Request) -> JobQueue:
    queue: JobQueue = request.app.state.jobs
    return queue


def state_of(request: Request) -> Any:
    return request.app.state
