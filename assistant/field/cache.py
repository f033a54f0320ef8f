"""Values computed once per library content (the citation graph, the paper vectors, the map), kept per
library object until a paper's content hash changes."""

from __future__ import annotations

import hashlib
import json
import threading
import weakref
from collections.abc import Callable
from typing import Any

_CACHE: weakref.WeakKeyDictionary[Any, tuple[str, Any]] = weakref.WeakKeyDictionary()
_CACHE_LOCK = threading.Lock()


def cached(owner: Any, key: str, name: str, compute: Callable[[], Any]) -> Any:
    """`compute()` once per (owner, name) until `key` (a content key) changes (owner: the library)."""
    with _CACHE_LOCK:
        slot = _CACHE.setdefault(owner, ("", {}))
        if slot[0] != key:
            slot = _CACHE[owner] = (key, {})
        values: dict[str, Any] = slot[1]
        if name not in values:
            values[name] = compute()
        return values[name]


def content_key(library: Any) -> str:
    """What the graph and the paper vectors depend on: every paper's content hash, from the SQLite store.

    Not `Library.generation`: that is read from Chroma's collection metadata, which this process's
    client keeps from when it opened the collection, so a write by another process (a CLI ingest while
    the app runs) left it unchanged here while the store, reconciled on refresh, had the new papers.
    """
    items = sorted(library.hashes().items())
    return hashlib.sha1(json.dumps(items).encode()).hexdigest()


