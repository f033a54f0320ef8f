"""The one retry policy of the HTTP clients in ingest/ (metadata enrichment, the arXiv API), on tenacity:
a bounded number of attempts; between them the server's `Retry-After` (seconds or an HTTP date) on a
429 or 503 answer, else exponential back-off from `base_s`, each wait capped at `cap_s`.

A request that should be asked again raises; an answer worth asking again (429, 5xx) is raised as
`RetryableStatus`, so tenacity sees one kind of outcome. The last failure is re-raised as it was.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TypeVar

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_exponential
from tenacity.wait import wait_base

T = TypeVar("T")

CAP_S = 60.0  # the longest one wait, Retry-After included: a server asking for an hour is not waited on
HONOURED = (429, 503)  # the statuses whose Retry-After says when to come back (RFC 9110 §10.2.3)


class RetryableStatus(Exception):
    """An HTTP answer worth asking again: 429 Too Many Requests or a 5xx."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"HTTP {response.status_code} {response.reason_phrase}".strip())
        self.response = response


def retryable(response: httpx.Response) -> bool:
    return response.status_code == 429 or response.status_code >= 500


def retry_after_s(response: httpx.Response, now: datetime | None = None) -> float | None:
    """The answer's `Retry-After` in seconds (delta-seconds, or an HTTP date from now); None when absent
    or unreadable."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # an HTTP date is always GMT
        when = when.replace(tzinfo=UTC)
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)


class wait_retry_after(wait_base):  # noqa: N801 (tenacity's naming of wait strategies)
    """The server's Retry-After on a 429 / 503 answer, else `fallback`; never more than `cap_s`."""

    def __init__(self, fallback: wait_base, cap_s: float) -> None:
        self.fallback = fallback
        self.cap_s = cap_s

    def __call__(self, retry_state: RetryCallState) -> float:
        outcome = retry_state.outcome
        exc = outcome.exception() if outcome is not None else None
        if isinstance(exc, RetryableStatus) and exc.response.status_code in HONOURED:
            after = retry_after_s(exc.response)
            if after is not None:
                return min(after, self.cap_s)
        return min(float(self.fallback(retry_state)), self.cap_s)


def call(
    attempt: Callable[[], T],
    *,
    attempts: int,
    again: Callable[[BaseException], bool],
    base_s: float = 0.5,
    cap_s: float = CAP_S,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """`attempt()` up to `attempts` times while what it raises is worth another try (`again`), waiting as
    the module says between tries; the last exception is re-raised."""
    policy = Retrying(
        stop=stop_after_attempt(max(attempts, 1)),
        wait=wait_retry_after(wait_exponential(multiplier=base_s, max=cap_s), cap_s),
        retry=retry_if_exception(again),
        sleep=sleep,
        reraise=True,
    )
    return policy(attempt)
