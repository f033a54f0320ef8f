"""One writer per library directory, across processes: a `filelock.FileLock` plus a pid note.

Why a separate pid file: filelock owns the lock file (some versions truncate it when they open it,
so text written into it by the holder would be wiped by every waiter). The holder's pid goes into
`writer.pid` beside it, only so that a second writer can say who holds the library.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.errors import LibraryBusyError

if TYPE_CHECKING:  # filelock imports in ~25 ms: loaded by the first writer, never by `papers list`
    from filelock import FileLock

LOCK_FILE = "write.lock"
PID_FILE = "writer.pid"


class WriterLock:
    """Exclusive, non-reentrant for callers (they check `held`), shared by all threads of one Library."""

    def __init__(self, data_dir: Path, timeout_s: float) -> None:
        self.data_dir = data_dir
        self.timeout_s = timeout_s
        self.pid_path = data_dir / PID_FILE
        self._lock: FileLock | None = None

    def acquire(self, timeout_s: float | None = None) -> None:
        """Wait up to `timeout_s` (default: the setting; 0: one try), else LibraryBusyError in one line."""
        from filelock import FileLock, Timeout

        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self._lock is None:
            # thread_local=False: the Library's threads (UI, server) share one writer, as they share
            # the Library; its own RLock orders them.
            self._lock = FileLock(str(self.data_dir / LOCK_FILE), thread_local=False)
        try:
            self._lock.acquire(timeout=self.timeout_s if timeout_s is None else timeout_s, poll_interval=0.05)
        except Timeout:
            raise LibraryBusyError(
                f"library is being updated by process {self.holder()}; try again when it finishes"
            ) from None
        tmp = self.pid_path.with_suffix(".tmp")
        tmp.write_text(str(os.getpid()), encoding="ascii")
        os.replace(tmp, self.pid_path)  # readers see the old pid or the new one, never half a number

    def try_acquire(self) -> bool:
        """One try, no wait: False while another process writes."""
        try:
            self.acquire(timeout_s=0)
        except LibraryBusyError:
            return False
        return True

    def release(self) -> None:
        if self._lock is None or not self._lock.is_locked:
            return
        with contextlib.suppress(OSError):
            self.pid_path.unlink()
        self._lock.release()

    @property
    def held(self) -> bool:
        return self._lock is not None and bool(self._lock.is_locked)

    def holder(self) -> str:
        """The pid written by the process holding the lock, or "unknown" (it died, or has not written it yet)."""
        try:
            text = self.pid_path.read_text(encoding="ascii").strip()
            os.kill(int(text), 0)  # a SIGKILLed holder leaves its note behind; a dead pid would mislead
        except PermissionError:
            return text  # alive, owned by another user
        except (OSError, ValueError):
            return "unknown"
        return text
