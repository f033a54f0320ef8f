"""API keys: `PAPERS_API_KEYS="read:KEY1,write:KEY2"`, sent as `Authorization: Bearer KEY`.

A read key may call everything that only reads; a write key also ingests and deletes. Without keys
the API is open, which `papers serve` allows on a loopback address only (`check_binding`). Keys are
compared in constant time against every configured key (no early exit that a timing could reveal),
and never appear in a message or a log line: a request is named by the key's role and position.
A key has at least `MIN_KEY_CHARS` characters; failed attempts are limited per client address
(ui/api/deps.py, ui/mcp/http.py).
"""

from __future__ import annotations

import hmac
import ipaddress
from dataclasses import dataclass
from typing import Literal

from assistant.errors import PapersError

Role = Literal["read", "write"]
ROLES: tuple[Role, ...] = ("read", "write")


@dataclass(frozen=True)
class ApiKey:
    role: Role
    secret: bytes
    name: str  # what logs and rate limits call it: "write#2", never the key

    def __repr__(self) -> str:  # a key printed by accident shows no secret
        return f"ApiKey({self.name})"


@dataclass(frozen=True)
class Caller:
    """Who made a request: a key's name and role, or the open (keyless, loopback) caller."""

    name: str
    role: Role


OPEN_CALLER = Caller("open", "write")
# A floor, not a setting: a short key falls to guessing (failed attempts are also limited per address,
# PAPERS_API_AUTH_FAILURES); 16 characters of `openssl rand -hex` are 64 bits.
MIN_KEY_CHARS = 16


def parse_keys(text: str) -> list[ApiKey]:
    """`read:KEY,write:KEY,...` → keys; a malformed entry is one PapersError naming its position."""
    keys: list[ApiKey] = []
    for i, entry in enumerate((e.strip() for e in text.split(",")), start=1):
        if not entry:
            continue
        role, sep, secret = entry.partition(":")
        role = role.strip().lower()
        if not sep or role not in ROLES or not secret.strip():
            raise PapersError(f"PAPERS_API_KEYS entry {i} must be read:KEY or write:KEY")
        if len(secret.strip()) < MIN_KEY_CHARS:
            raise PapersError(
                f"PAPERS_API_KEYS entry {i}: a key needs at least {MIN_KEY_CHARS} characters "
                "(e.g. `openssl rand -hex 16`)"
            )
        keys.append(ApiKey(role, secret.strip().encode("utf-8"), f"{role}#{i}"))  # type: ignore[arg-type]
    return keys


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_binding(host: str, keys: list[ApiKey]) -> None:
    """Serving beyond this machine without keys would open the library to the network: refused."""
    if not keys and not is_loopback(host):
        raise PapersError(
            f"binding to {host} needs API keys: set PAPERS_API_KEYS (e.g. read:KEY,write:KEY), "
            "or serve on 127.0.0.1"
        )


def bearer(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def find_key(token: str, keys: list[ApiKey]) -> ApiKey | None:
    """The key matching `token`, comparing with every key in constant time."""
    given = token.encode("utf-8")
    found: ApiKey | None = None
    for key in keys:
        if hmac.compare_digest(given, key.secret):
            found = key
    return found


@dataclass(frozen=True)
class Denied:
    status: int  # 401: no or unknown key; 403: a read key on a write
    message: str


def authorize(header: str | None, keys: list[ApiKey], need: Role) -> Caller | Denied:
    """The caller of a request needing `need`, or why it is denied."""
    if not keys:
        return OPEN_CALLER
    token = bearer(header)
    if token is None:
        return Denied(401, "missing API key: send Authorization: Bearer KEY")
    key = find_key(token, keys)
    if key is None:
        return Denied(401, "unknown API key")
    if need == "write" and key.role != "write":
        return Denied(403, "this API key is read-only; ingest and delete need a write key")
    return Caller(key.name, key.role)
