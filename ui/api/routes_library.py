"""Library routes: health, stats, papers (list, one, delete), ingest (files, records, arXiv) and jobs;
and what the library holds around its papers, read-only: chunk counts, the LLM's status, related
papers, the citation graph and the library map (what `RemoteEngine` needs to answer as `Engine` does).

Writes never run in the request's thread: they are jobs on the one writer queue (ui/api/jobs.py).
`DELETE` waits for its job (a delete is quick and its answer is the ids removed); `POST /ingest`
returns 202 with the job to follow at `GET /jobs/{id}`, or, with `?wait=true`, the finished report.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from assistant.models import (
    CitationGraph,
    JobCounts,
    LibraryMap,
    LibraryStats,
    LLMStatus,
    LoadError,
    Paper,
    RelatedPaper,
)
from ingest.sources.jsonl import unparsable
from ingest.uploads import load_staged, safe_name, staged_path
from ui.api.auth import Caller
from ui.api.deps import engine_of, jobs_of, reader, writer
from ui.api.jobs import Job, JobQueue, Progress, QueueFull, Work
from ui.api.limits import MB
from ui.api.schemas import Health, IngestDone, IngestRequest, Removed
from ui.api.uploads import load_records

if TYPE_CHECKING:
    from assistant.engine import PaperAssistant
    from assistant.settings import Settings

router = APIRouter()

WAIT_S = 3600.0  # the longest a `wait=true` request holds on to its job

_INGEST_BODY: dict[str, Any] = {
    "requestBody": {
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"files": {"type": "array", "items": {"type": "string", "format": "binary"}}},
                }
            },
            "application/json": {"schema": IngestRequest.model_json_schema()},
        }
    }
}


@router.get("/health", tags=["service"], response_model=Health)
def health(request: Request) -> Health:
    """Up or not (no key needed, nothing about the library)."""
    return Health(auth=bool(request.app.state.keys))


@router.get("/stats", tags=["library"], response_model=LibraryStats)
def stats(
    _: Caller = Depends(reader), eng: PaperAssistant = Depends(engine_of), jobs: JobQueue = Depends(jobs_of)
) -> LibraryStats:
    """What `papers stats --json` prints, with the writer queue's job counts (`jobs`)."""
    return eng.stats().model_copy(update={"jobs": JobCounts(**jobs.counts())})


@router.get("/chunk-counts", tags=["library"], response_model=dict[str, int])
def chunk_counts(_: Caller = Depends(reader), eng: PaperAssistant = Depends(engine_of)) -> dict[str, int]:
    """Chunks per paper id."""
    return eng.chunk_counts()


@router.get("/llm", tags=["service"], response_model=LLMStatus)
def llm_status(
    probe: bool = Query(True, description="Ask the LLM endpoint whether it answers (one short request)."),
    _: Caller = Depends(reader),
    eng: PaperAssistant = Depends(engine_of),
) -> LLMStatus:
    """The server's chat model: offline / configured / reachable / unreachable."""
    return eng.llm_status(probe)


@router.get("/related", tags=["field"], response_model=list[RelatedPaper])
def related(
    paper_id: str = Query(alias="id", min_length=1, description="The paper to find neighbours of."),
    k: int = Query(5, ge=1, le=100),
    _: Caller = Depends(reader),
    eng: PaperAssistant = Depends(engine_of),
) -> list[RelatedPaper]:
    """The `k` papers nearest `id` by text and citations, each with its reasons."""
    return eng.related(paper_id, k)


@router.get("/graph", tags=["field"], response_model=CitationGraph)
def citation_graph(_: Caller = Depends(reader), eng: PaperAssistant = Depends(engine_of)) -> CitationGraph:
    """Which papers of the library cite which, and the works cited but missing."""
    return eng.citation_graph()


@router.get("/map", tags=["field"], response_model=LibraryMap)
def paper_map(_: Caller = Depends(reader), eng: PaperAssistant = Depends(engine_of)) -> LibraryMap:
    """Every paper on a 2-D map with its theme and year (from the stored vectors; no model loaded)."""
    return eng.paper_map()


@router.get("/papers", tags=["library"], response_model=list[Paper], response_model_exclude={"__all__": {"sections"}})
def list_papers(
    ids: list[str] | None = Query(None, alias="id", description="Only these paper ids (repeatable)."),
    _: Caller = Depends(reader),
    eng: PaperAssistant = Depends(engine_of),
) -> list[Paper]:
    """Every paper's record (body sections left out; `GET /papers/{id}` has them)."""
    return eng.papers(ids)


@router.get("/papers/{paper_id:path}", tags=["library"], response_model=Paper)
def get_paper(paper_id: str, _: Caller = Depends(reader), eng: PaperAssistant = Depends(engine_of)) -> Paper:
    found = eng.papers([paper_id])
    if not found:
        raise HTTPException(404, f"not in the library: {paper_id}")
    return found[0]


@router.delete("/papers/{paper_id:path}", tags=["library"], response_model=Removed)
def delete_paper(
    paper_id: str, caller: Caller = Depends(writer), eng: PaperAssistant = Depends(engine_of),
    jobs: JobQueue = Depends(jobs_of),
) -> Removed:
    """Remove a paper from every store (a job on the writer queue; this waits for it)."""
    job = jobs.submit("delete", lambda progress: {"removed": eng.remove([paper_id])}, owner=caller.name)
    done = jobs.wait(job.id, WAIT_S) or job
    if done.state == "failed":
        raise HTTPException(409, done.error or "delete failed")
    removed = (done.result or {}).get("removed", [])
    if paper_id not in removed:
        raise HTTPException(404, f"not in the library: {paper_id}")
    return Removed(removed=removed, job=done.id)


@router.get("/jobs/{job_id}", tags=["jobs"], response_model=Job)
def get_job(job_id: str, caller: Caller = Depends(reader), jobs: JobQueue = Depends(jobs_of)) -> Job:
    """A job, to the key that submitted it (its report names the records it read); to any other key it
    does not exist."""
    job = jobs.get(job_id)
    if job is None or job.owner != caller.name:
        raise HTTPException(404, f"no such job: {job_id}")
    return job


# -- ingest -------------------------------------------------------------------------------------
Items = Callable[[], Iterable[Paper | LoadError]]


def ingest_work(eng: PaperAssistant, items: Items, cleanup: Path | None = None) -> Work:
    """The job: records (read when it runs, not when it is queued) the one way in
    (`ingest.pipeline.add_to_library`: enriched when PAPERS_ENRICH is on, then `ingest`); its
    result is the whole `IngestReport` (the CLI's `--json` report and more)."""

    def work(progress: Progress) -> dict[str, Any]:
        from ingest.pipeline import add_to_library

        try:
            return add_to_library(eng, items(), eng.settings, progress).report.model_dump(mode="json")
        finally:
            if cleanup is not None:
                shutil.rmtree(cleanup, ignore_errors=True)

    return work


def stage_uploads(files: list[UploadFile], settings: Settings) -> tuple[Path, list[tuple[Path, str]]]:
    """Copy each upload into a private temporary folder under its safe name (413 for one over the limit)."""
    cap = settings.max_file_mb * MB
    for f in files:
        if f.size is not None and f.size > cap:
            raise HTTPException(
                413,
                f"{safe_name(f.filename or '')}: file is {f.size / MB:.1f} MB, over the limit of "
                f"{settings.max_file_mb:g} MB (PAPERS_MAX_FILE_MB)",
            )
    folder = Path(tempfile.mkdtemp(prefix="papers-api-upload-"))
    staged: list[tuple[Path, str]] = []
    for i, f in enumerate(files):
        name = safe_name(f.filename or "")
        path = staged_path(folder, i, name)
        with path.open("wb") as out:
            f.file.seek(0)
            shutil.copyfileobj(f.file, out)
        staged.append((path, name))
    return folder, staged


def json_items(body: IngestRequest, settings: Settings) -> Items:
    def items() -> Iterator[Paper | LoadError]:
        yield from load_records(body.records, settings)
        yield from body.papers  # validated as Paper by the request model; scrubbed and deduped by Engine.ingest
        if body.arxiv or body.arxiv_query.strip():
            from ingest.sources.arxiv import fetch_arxiv

            yield from fetch_arxiv(list(body.arxiv), body.arxiv_query, body.max_results, settings)

    return items


async def read_json_body(request: Request) -> IngestRequest:
    raw = await request.body()
    try:
        data = json.loads(raw or b"null")
    except json.JSONDecodeError as exc:
        raise RequestValidationError([{"loc": ("body",), "msg": f"not valid JSON ({exc})", "type": "json"}]) from None
    except (ValueError, RecursionError) as exc:  # bad bytes, deep nesting, a 5,000-digit number: said plainly
        msg = f"not valid JSON ({unparsable(exc)})"
        raise RequestValidationError([{"loc": ("body",), "msg": msg, "type": "json"}]) from None
    try:
        return IngestRequest.model_validate(data)
    except ValidationError as exc:
        raise RequestValidationError(
            [{"loc": ("body", *e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
        ) from None


@router.post(
    "/ingest", tags=["library"], openapi_extra=_INGEST_BODY, status_code=202, response_model=Job,
    responses={200: {"model": IngestDone, "description": "`wait=true`: the finished job and its report"}},
)
async def ingest(
    request: Request,
    wait: bool = Query(False, description="Hold the request until the job is done and return its report."),
    caller: Caller = Depends(writer),
    eng: PaperAssistant = Depends(engine_of),
    jobs: JobQueue = Depends(jobs_of),
) -> Any:
    """Upload files (multipart `files`: any format `papers ingest` reads) or send JSON records / arXiv ids.

    202 with the queued job; `?wait=true`: 200 with `report` (the CLI's `--json` report and more) and `job`.
    """
    settings = eng.settings
    jobs.check_room()  # a full writer queue refuses before any upload is read
    folder: Path | None = None
    if request.headers.get("content-type", "").startswith("multipart/"):
        form = await request.form(max_files=settings.api_max_files, max_fields=20)
        try:
            files = [f for f in form.getlist("files") if isinstance(f, UploadFile)]
            if not files:
                missing = {"loc": ("body", "files"), "msg": "no files uploaded", "type": "missing"}
                raise RequestValidationError([missing])
            folder, staged = await run_in_threadpool(stage_uploads, files, settings)
        finally:
            await form.close()
        work = ingest_work(eng, lambda: load_staged(staged, settings), cleanup=folder)
    else:
        body = await read_json_body(request)
        work = ingest_work(eng, json_items(body, settings))
    try:
        job = jobs.submit("ingest", work, owner=caller.name)
    except QueueFull:  # filled up meanwhile: the staged uploads go now, not with the job
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
        raise
    if not wait:
        return JSONResponse(job.model_dump(mode="json"), status_code=202)
    done = await run_in_threadpool(jobs.wait, job.id, WAIT_S)
    done = done or job
    if done.state == "failed":
        return JSONResponse({"error": done.error, "job": done.model_dump(mode="json")}, status_code=409)
    return JSONResponse({"report": done.result, "job": done.model_dump(mode="json")}, status_code=200)
