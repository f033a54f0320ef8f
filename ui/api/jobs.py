"""The one writer: every write the API does (ingest, delete) is a job on one queue, run in order by
one worker thread, so any number of readers share one library while writes never interleave.

A job's status (queued, running, done, failed), progress (done/total and the ingest stage) and its
result or one-line error are what `GET /jobs/{id}` returns, to the caller that submitted it only (its
`owner`: a key's name, or "open" on a keyless server). Finished jobs are kept (the newest `keep`,
PAPERS_API_JOBS_KEPT) so a client polling after the fact still finds its job; at most `max_pending`
(PAPERS_API_MAX_PENDING_JOBS) wait or run at once, each holding its request's records until it runs.
A report's size is bounded at the source: an ingest report keeps PAPERS_INGEST_MAX_ERRORS errors.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, Field

from assistant.errors import PapersError

log = logging.getLogger("papers.api")

State = Literal["queued", "running", "done", "failed"]
Progress = Callable[[int, int, str], None]
Work = Callable[[Progress], dict[str, Any]]


class Job(BaseModel):
    """One write, as a client sees it."""

    id: str
    kind: str = Field(description="ingest or delete")
    state: State = "queued"
    position: int = Field(0, description="Jobs ahead of this one when it was queued.")
    done: int = 0
    total: int = 0
    stage: str = Field("", description="What the job is doing (reading, embedding, writing ...).")
    result: dict[str, Any] | None = Field(None, description="The job's report once done (ingest: the CLI's report).")
    error: str | None = None
    owner: str = Field("", exclude=True)  # who may read it (never sent)
    created: float = 0.0
    started: float | None = None
    finished: float | None = None

    @property
    def over(self) -> bool:
        return self.state in ("done", "failed")


class QueueFull(PapersError):
    """The writer has `max_pending` jobs already."""


class JobQueue:
    def __init__(self, keep: int = 200, max_pending: int = 100) -> None:
        self.keep = keep
        self.max_pending = max_pending
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._events: dict[str, threading.Event] = {}
        self._queue: queue.Queue[tuple[str, Work] | None] = queue.Queue()
        self._lock = threading.Lock()
        self._counter = itertools.count(1)
        self._thread = threading.Thread(target=self._run, name="papers-api-writer", daemon=True)
        self._thread.start()

    def submit(self, kind: str, work: Work, owner: str = "") -> Job:
        job_id = f"{next(self._counter)}-{uuid.uuid4().hex[:8]}"
        with self._lock:
            ahead = self._room()
            job = Job(id=job_id, kind=kind, position=ahead, created=time.time(), owner=owner)
            self._jobs[job_id] = job
            self._events[job_id] = threading.Event()
            self._trim()
        self._queue.put((job_id, work))
        return job.model_copy()

    def check_room(self) -> None:
        """QueueFull unless one more job may wait (before a request stages its uploads)."""
        with self._lock:
            self._room()

    def _room(self) -> int:
        """The jobs not over, or QueueFull if there is no room for one more (caller holds the lock)."""
        ahead = sum(1 for j in self._jobs.values() if not j.over)
        if ahead >= self.max_pending:
            raise QueueFull(
                f"the writer has {ahead} jobs waiting; try again when some are done (PAPERS_API_MAX_PENDING_JOBS)"
            )
        return ahead

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            job = self._jobs.get(job_id)
            return job.model_copy() if job else None

    def wait(self, job_id: str, timeout_s: float | None = None) -> Job | None:
        event = self._events.get(job_id)
        if event is not None:
            event.wait(timeout_s)
        return self.get(job_id)

    def counts(self) -> dict[str, int]:
        with self._lock:
            states = [j.state for j in self._jobs.values()]
        return {s: states.count(s) for s in ("queued", "running", "done", "failed")}

    def stop(self, timeout_s: float = 30) -> None:
        """Finish the queued jobs, then end the worker."""
        self._queue.put(None)
        self._thread.join(timeout_s)

    # -- the worker -----------------------------------------------------------------------------
    def _update(self, job_id: str, **fields: Any) -> None:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is not None:
                for name, value in fields.items():
                    setattr(job, name, value)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            job_id, work = item
            self._update(job_id, state="running", started=time.time())

            def progress(done: int, total: int, stage: str, job_id: str = job_id) -> None:
                self._update(job_id, done=done, total=total, stage=stage)

            try:
                result = work(progress)
            except PapersError as exc:
                self._update(job_id, state="failed", error=str(exc), finished=time.time())
            except Exception as exc:  # a bug must not kill the one writer: the job fails, the next one runs
                log.exception("job %s failed", job_id)
                self._update(job_id, state="failed", error=f"internal error ({type(exc).__name__})",
                             finished=time.time())
            else:
                self._update(job_id, state="done", result=result, stage="done", finished=time.time())
            event = self._events.get(job_id)
            if event is not None:
                event.set()

    def _trim(self) -> None:
        """Forget the oldest finished jobs beyond `keep` (caller holds the lock)."""
        over = len(self._jobs) - self.keep
        for job_id in [j.id for j in self._jobs.values() if j.over][: max(over, 0)]:
            del self._jobs[job_id]
            self._events.pop(job_id, None)
