"""Watched folders: new or changed paper files are ingested as they land, deleted ones removed.

A watchdog `Observer` only marks paths as pending; the main loop stats the pending paths and reads a
file once its size and mtime stayed unchanged for `debounce_s` (`settle`, a pure decision), so a file
still being copied is never read half-written. Every write goes the one way in
(`ingest.pipeline.add_to_library`, enriched when PAPERS_ENRICH is on) or through `Engine.remove`, both
taking the library's single-writer lock.

Which papers a file holds: the papers its last load yielded (kept in memory), plus the library's
papers whose `source` names it ("dir/x.pdf", "dir/x.bib:12", "dir/x.json#3"). When a file changes,
the papers it held and no longer yields are removed; when it is deleted, all of them are (a paper
another live watched file still yields stays). A file that yields only errors removes nothing.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from assistant.models import LoadError, Paper

if TYPE_CHECKING:
    from assistant.engine import PaperAssistant

Echo = Callable[[str], None]
Stat = tuple[int, float]
Verdict = Literal["wait", "ready", "gone"]

_LOCATION = re.compile(r"(?::|#)\d+$")


def suffixes() -> frozenset[str]:
    from ingest.sources import LOADERS

    return frozenset(LOADERS)


def watched(path: Path) -> bool:
    """A file the watcher reads: a known extension, not a hidden or editor temp file."""
    from ingest.sources import wanted

    name = path.name
    if name.startswith((".", "~")) or path.suffix.lower() not in suffixes():
        return False
    # A .txt is read only once it shows a Web of Science header; while it is still being written
    # (empty), later events look again.
    return path.suffix.lower() != ".txt" or not path.exists() or wanted(path)


def source_file(source: str) -> Path | None:
    """The file a paper's `source` names, absolute ("x.bib:12" and "x.json#3" → x.bib, x.json);
    None for sources that are not files (arxiv:ID, seed:N, zotero:KEY)."""
    if not source:
        return None
    path = _LOCATION.sub("", source)
    if Path(path).suffix.lower() not in suffixes():
        return None
    return Path(os.path.abspath(path))


def under(path: Path, folders: Iterable[Path]) -> bool:
    return any(path == f or f in path.parents for f in folders)


@dataclass(frozen=True)
class Seen:
    """A pending file's last observed (size, mtime) and when it was first observed so."""

    stat: Stat
    since: float


def settle(prev: Seen | None, stat: Stat | None, now: float, debounce_s: float) -> tuple[Seen | None, Verdict]:
    """One look at a pending file: gone (missing), ready (unchanged for `debounce_s`) or wait."""
    if stat is None:
        return None, "gone"
    if prev is None or prev.stat != stat:
        return Seen(stat, now), "wait"
    if now - prev.since >= debounce_s:
        return prev, "ready"
    return prev, "wait"


def stat_of(path: Path) -> Stat | None:
    try:
        st = path.stat()
    except OSError:
        return None
    if not path.is_file():
        return None
    return st.st_size, st.st_mtime


class Debouncer:
    """Pending paths (thread-safe `touch`) → the ones ready to read and the ones gone (`poll`)."""

    def __init__(self, debounce_s: float, stat: Callable[[Path], Stat | None] = stat_of) -> None:
        self.debounce_s = debounce_s
        self._stat = stat
        self._pending: dict[Path, Seen | None] = {}
        self._lock = threading.Lock()

    def touch(self, path: Path) -> None:
        with self._lock:
            self._pending.setdefault(path, None)

    def __contains__(self, path: object) -> bool:
        with self._lock:
            return path in self._pending

    def __len__(self) -> int:
        with self._lock:
            return len(self._pending)

    def poll(self, now: float) -> tuple[list[Path], list[Path]]:
        ready: list[Path] = []
        gone: list[Path] = []
        with self._lock:
            for path, prev in list(self._pending.items()):
                seen, verdict = settle(prev, self._stat(path), now, self.debounce_s)
                if verdict == "wait":
                    self._pending[path] = seen
                    continue
                del self._pending[path]
                (ready if verdict == "ready" else gone).append(path)
        return sorted(ready), sorted(gone)


def plural(n: int) -> str:
    return f"{n} paper{'s' if n != 1 else ''}"


@dataclass
class Watcher:
    """The folders' files kept in step with the library, one file at a time."""

    engine: PaperAssistant
    folders: Sequence[Path]
    echo: Echo
    warn: Echo
    held: dict[Path, set[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.folders = [Path(os.path.abspath(f)) for f in self.folders]

    # -- what the library says ---------------------------------------------------------------------
    def _library_files(self) -> dict[Path, set[str]]:
        """Papers in the library by the watched file their `source` names."""
        self.engine.refresh()
        out: dict[Path, set[str]] = {}
        for p in self.engine.papers():
            f = source_file(p.source)
            if f is not None and under(f, self.folders):
                out.setdefault(f, set()).add(p.id)
        return out

    def files(self) -> list[Path]:
        found: set[Path] = set()
        for folder in self.folders:
            if folder.is_dir():
                found.update(p for p in folder.rglob("*") if p.is_file() and watched(p))
        return sorted(found)

    # -- events -----------------------------------------------------------------------------------
    def scan(self) -> None:
        """Everything present (unchanged papers are skipped by hash), then papers of files gone."""
        for path in self.files():
            self.changed(path)
        self.reconcile()

    def reconcile(self) -> None:
        """Remove the papers of watched files gone (after the present files were read, so a paper that
        moved to another file stays)."""
        for path in sorted(self._library_files()):
            if not path.exists():
                self.deleted(path)

    def changed(self, path: Path) -> None:
        """(Re)read one file: add or update its papers, remove those it no longer yields."""
        from ingest.pipeline import add_to_library, load_all

        # Only the first PAPERS_INGEST_MAX_ERRORS errors are held (the rest counted): a file of a
        # million bad lines must not become a million error objects.
        cap, errors, unkept = self.engine.settings.ingest_max_errors, 0, 0
        items: list[Paper | LoadError] = []
        try:
            for item in load_all([path], self.engine.settings):
                if isinstance(item, LoadError):
                    errors += 1
                    if errors > cap:
                        unkept += 1
                        continue
                items.append(item)
        except Exception as exc:  # a loader bug must not stop the watcher
            self.warn(f"error: {path}: cannot read: {exc}")
            return
        papers = [i for i in items if isinstance(i, Paper)]
        try:
            added = add_to_library(self.engine, items, self.engine.settings)
        except Exception as exc:
            self.warn(f"error: {path}: {exc}")
            return
        report = added.report
        if added.enrichment:
            self.echo(f"{added.enrichment} ({self._name(path)})")
        for err in report.errors:
            self.warn(f"error: {err}")
        more = report.failed + unkept - len(report.errors)
        if more > 0:
            self.warn(f"error: {self._name(path)}: … and {more} more errors (PAPERS_INGEST_MAX_ERRORS)")
        if not papers and report.errors:
            return  # an unreadable file keeps what it had in the library
        ids = {p.id for p in papers}
        before = self.held.get(path, set()) | self._library_files().get(path, set())
        self.held[path] = ids
        removed = self._remove(before - ids)
        parts = [f"{label} {plural(n)}" for label, n in (("added", report.added), ("updated", report.updated)) if n]
        if removed:
            parts.append(f"removed {plural(len(removed))} no longer in it")
        if parts:
            self.echo(f"{', '.join(parts)} from {self._name(path)}")

    def deleted(self, path: Path) -> None:
        ids = self.held.pop(path, set()) | self._library_files().get(path, set())
        removed = self._remove(ids)
        if removed:
            self.echo(f"removed {plural(len(removed))} ({self._name(path)} deleted)")

    def _remove(self, ids: set[str]) -> list[str]:
        live = set().union(*self.held.values()) if self.held else set()
        todo = sorted(ids - live)
        if not todo:
            return []
        try:
            return self.engine.remove(todo)
        except Exception as exc:
            self.warn(f"error: cannot remove {', '.join(todo)}: {exc}")
            return []

    def _name(self, path: Path) -> str:
        for folder in self.folders:
            if folder in path.parents:
                return str(path.relative_to(folder))
        return str(path)

    def known_under(self, folder: Path) -> list[Path]:
        """Files held under a folder (a deleted or moved-away directory)."""
        return [p for p in list(self.held) if p == folder or folder in p.parents]


def _handler(debouncer: Debouncer, watcher: Watcher) -> Any:
    from watchdog.events import FileSystemEvent, FileSystemEventHandler

    class Handler(FileSystemEventHandler):
        def on_any_event(self, event: FileSystemEvent) -> None:
            if event.event_type in ("opened", "closed_no_write") or (
                event.is_directory and event.event_type == "modified"  # an entry changed: its own event follows
            ):
                return
            for raw in (event.src_path, getattr(event, "dest_path", "")):
                if not raw:
                    continue
                path = Path(os.path.abspath(os.fsdecode(raw)))
                if event.is_directory:
                    for known in watcher.known_under(path):
                        debouncer.touch(known)
                    if path.is_dir():
                        for p in path.rglob("*"):
                            if p.is_file() and watched(p):
                                debouncer.touch(p)
                elif watched(path):
                    debouncer.touch(path)

    return Handler()


def watch(
    engine: PaperAssistant,
    folders: Sequence[Path],
    *,
    debounce_s: float,
    echo: Echo = print,
    warn: Echo = print,
    once: bool = False,
    stop: threading.Event | None = None,
    tick_s: float = 0.2,
) -> None:
    """Scan the folders once (`once`: then return), else keep them in step until `stop` is set or
    KeyboardInterrupt. Observing starts before the scan so nothing landing meanwhile is missed."""
    watcher = Watcher(engine, list(folders), echo, warn)
    if once:
        watcher.scan()
        return
    from watchdog.observers import Observer

    stop = stop or threading.Event()
    debouncer = Debouncer(debounce_s)
    observer = Observer()
    handler = _handler(debouncer, watcher)
    for folder in watcher.folders:
        observer.schedule(handler, str(folder), recursive=True)
    observer.start()
    try:
        # The files already there are read once quiet too (one may be mid-copy); deletions are
        # reconciled once all of them were read.
        initial = watcher.files()
        for path in initial:
            debouncer.touch(path)
        reconciled = False
        echo(f"watching {', '.join(str(f) for f in watcher.folders)} (debounce {debounce_s:g}s)")
        while not stop.wait(tick_s):
            if not reconciled and not any(p in debouncer for p in initial):
                watcher.reconcile()
                reconciled = True
            ready, gone = debouncer.poll(time.monotonic())
            for path in gone:
                watcher.deleted(path)
            for path in ready:
                if stop.is_set():
                    break
                watcher.changed(path)
    finally:
        observer.stop()
        observer.join(timeout=5)
