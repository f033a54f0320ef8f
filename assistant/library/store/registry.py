"""One API server per library: `papers serve` claims the library before it listens, and a second one
is refused with a line naming the first.

Embedded library: a `filelock` (`serve.lock` in data_dir) held for the server's life, and beside it
`server.json` saying who holds it (address, pid, host) — a separate note for the reason given in
assistant/library/store/lock.py. The OS frees the lock when the holder dies, so a crashed server never blocks.

Chroma server library: other machines see neither file, so the claim is a record in the Chroma
server itself, in a small collection `<collection>-serve`: address, pid, host, heartbeat and expiry.
The holder renews it every `api_heartbeat_s` from a thread; a record past its expiry belongs to a
server that died and may be taken over. Two servers starting in the same instant could both write
their claim: each reads it back after writing, and the one that does not find its own gives way.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.errors import LibraryBusyError
from assistant.settings import Settings

LOCK_FILE = "serve.lock"
NOTE_FILE = "server.json"
EXPIRY_BEATS = 3  # a claim not renewed for this many heartbeats is a dead server's


@dataclass(frozen=True)
class ServerNote:
    """Who serves a library."""

    address: str
    pid: int
    host: str
    expires: float = 0.0  # unix time; 0: held by a lock, never expires

    def describe(self) -> str:
        return f"papers serve at {self.address} (pid {self.pid} on {self.host})"

    def as_meta(self) -> dict[str, Any]:
        return {"address": self.address, "pid": self.pid, "host": self.host, "expires": self.expires}

    @classmethod
    def from_meta(cls, meta: dict[str, Any]) -> ServerNote:
        return cls(str(meta.get("address", "?")), int(meta.get("pid", 0)), str(meta.get("host", "?")),
                   float(meta.get("expires", 0.0)))


def refusal(note: ServerNote | None, location: str) -> LibraryBusyError:
    who = note.describe() if note else "another papers serve (it has not said where yet)"
    return LibraryBusyError(f"the library at {location} is already served by {who}; use that server, or stop it first")


def this_server(address: str, expires: float = 0.0) -> ServerNote:
    return ServerNote(address, os.getpid(), socket.gethostname(), expires)


class ServerClaim:
    """A held claim; `release` gives it up (also what the process's death does, one way or another)."""

    def __init__(self, note: ServerNote) -> None:
        self.note = note

    def release(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError


class FileClaim(ServerClaim):
    def __init__(self, data_dir: Path, note: ServerNote, lock: Any) -> None:
        super().__init__(note)
        self.note_path = data_dir / NOTE_FILE
        self._lock = lock

    def release(self) -> None:
        if self._lock.is_locked:
            with contextlib.suppress(OSError):
                self.note_path.unlink()
            self._lock.release()


def read_note(path: Path) -> ServerNote | None:
    try:
        return ServerNote.from_meta(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None


def claim_embedded(settings: Settings, address: str) -> FileClaim:
    from filelock import FileLock, Timeout

    data_dir = settings.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(data_dir / LOCK_FILE), thread_local=False)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise refusal(read_note(data_dir / NOTE_FILE), str(data_dir)) from None
    note = this_server(address)
    tmp = data_dir / (NOTE_FILE + ".tmp")
    tmp.write_text(json.dumps(note.as_meta()), encoding="utf-8")
    os.replace(tmp, data_dir / NOTE_FILE)
    return FileClaim(data_dir, note, lock)


class ChromaClaim(ServerClaim):
    """A claim record in the Chroma server, renewed by a daemon thread until released."""

    def __init__(self, collection: Any, record_id: str, note: ServerNote, token: str, beat_s: float) -> None:
        super().__init__(note)
        self._collection = collection
        self._id = record_id
        self._token = token
        self._beat_s = beat_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._renew, name="papers-serve-heartbeat", daemon=True)
        self._thread.start()

    def _renew(self) -> None:
        while not self._stop.wait(self._beat_s):
            with contextlib.suppress(Exception):  # a Chroma hiccup: the next beat tries again
                write_claim(self._collection, self._id, self.note, self._token, self._beat_s)

    def release(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        with contextlib.suppress(Exception):
            current = read_claim(self._collection, self._id)
            if current is not None and current[1] == self._token:
                self._collection.delete(ids=[self._id])


def read_claim(collection: Any, record_id: str) -> tuple[ServerNote, str] | None:
    got = collection.get(ids=[record_id], include=["metadatas"])
    metas = got.get("metadatas") or []
    if not metas or not metas[0]:
        return None
    meta = dict(metas[0])
    return ServerNote.from_meta(meta), str(meta.get("token", ""))


def write_claim(collection: Any, record_id: str, note: ServerNote, token: str, beat_s: float) -> None:
    renewed = ServerNote(note.address, note.pid, note.host, time.time() + EXPIRY_BEATS * beat_s)
    meta = {**renewed.as_meta(), "token": token, "heartbeat": time.time()}
    collection.upsert(ids=[record_id], embeddings=[[0.0]], metadatas=[meta])


def claim_on_server(settings: Settings, address: str) -> ChromaClaim:
    from assistant.library.store.chroma import make_client

    client = make_client(settings)
    collection = client.get_or_create_collection(f"{settings.collection}-serve", embedding_function=None)
    record_id = settings.collection
    held = read_claim(collection, record_id)
    if held is not None and held[0].expires > time.time():
        raise refusal(held[0], f"{settings.chroma_url} (collection {settings.collection})")
    token = uuid.uuid4().hex
    note = this_server(address)
    write_claim(collection, record_id, note, token, settings.api_heartbeat_s)
    back = read_claim(collection, record_id)
    if back is None or back[1] != token:  # someone claimed it in the same instant and won
        raise refusal(back[0] if back else None, f"{settings.chroma_url} (collection {settings.collection})")
    return ChromaClaim(collection, record_id, note, token, settings.api_heartbeat_s)


def claim_library(settings: Settings, address: str) -> ServerClaim:
    """Claim the configured library for the API server at `address`, or LibraryBusyError naming the holder."""
    if settings.chroma_url:
        return claim_on_server(settings, address)
    return claim_embedded(settings, address)
