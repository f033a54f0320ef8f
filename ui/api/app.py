"""`build_app(engine)`: the FastAPI app of `papers serve` (uvicorn runs it; ui/cli/serve.py).

Every error a client can cause comes back as JSON `{"error": "one line"}` with a fitting status:
401/403 (key), 404 (no such paper or job), 409 (library busy or built with another model), 413
(too large), 415 (not JSON), 421/403 (a Host or an Origin not the API's own: ui/api/guard.py), 422
(malformed body, with the field named), 429 (rate, failed key attempts, a full writer queue). Domain
errors are the core's `PapersError`s, turned into that line here; anything else is a 500 with one line
naming only the exception's type, never a traceback.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from assistant.errors import (
    EmbeddingError,
    IngestError,
    LibraryBusyError,
    LibraryError,
    LLMError,
    ModelMismatchError,
    PapersError,
)
from ui.api.auth import parse_keys
from ui.api.guard import RequestGuard
from ui.api.jobs import JobQueue, QueueFull
from ui.api.limits import BodyLimit, RateLimiter

if TYPE_CHECKING:
    from assistant.engine import PaperAssistant

log = logging.getLogger("papers.api")

API_VERSION = "1"
STATUS: list[tuple[type[PapersError], int]] = [  # most specific first
    (QueueFull, 429),
    (LibraryBusyError, 409),
    (ModelMismatchError, 409),
    (LibraryError, 503),
    (EmbeddingError, 503),
    (LLMError, 502),
    (IngestError, 400),
    (PapersError, 400),
]


def status_of(exc: PapersError) -> int:
    return next(code for kind, code in STATUS if isinstance(exc, kind))


def validation_line(errors: Any) -> str:
    """The first problem of a 422 as one readable line: `body.question: Field required`."""
    first = list(errors)[0] if errors else {}
    loc = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "body"
    more = len(list(errors)) - 1
    return f"{loc}: {first.get('msg', 'invalid')}" + (f" (and {more} more)" if more > 0 else "")


def _errors(app: FastAPI) -> None:
    @app.exception_handler(PapersError)
    async def papers_error(request: Request, exc: PapersError) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=status_of(exc))

    @app.exception_handler(RequestValidationError)
    async def bad_body(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{k: v for k, v in e.items() if k in ("loc", "msg", "type")} for e in exc.errors()]
        return JSONResponse({"error": validation_line(errors), "detail": errors}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def bug(request: Request, exc: Exception) -> JSONResponse:
        # A bug still answers in JSON, one line; the traceback goes to the server's log only.
        return JSONResponse({"error": f"internal error ({type(exc).__name__})"}, status_code=500)


def _warm(engine: PaperAssistant) -> None:
    """Load the model before the first question needs it (in the background: the server is up at once)."""
    try:
        engine.warm()
    except PapersError as exc:
        log.warning("could not load the embedding model yet: %s", exc)


def build_app(engine: PaperAssistant, *, warm: bool = True, on_stop: Callable[[], None] | None = None) -> FastAPI:
    """The app over `engine`; `warm` loads the model in the background at start-up; `on_stop` runs at
    shutdown, after the queued writes are done (`papers serve` gives its claim on the library back there:
    uvicorn re-raises the stopping signal once it is done, so code after `Server.run` may never run)."""
    from ui.api import routes_answers, routes_library

    settings = engine.settings
    jobs = JobQueue(keep=settings.api_jobs_kept, max_pending=settings.api_max_pending_jobs)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if warm:
            threading.Thread(target=_warm, args=(engine,), name="papers-api-warm", daemon=True).start()
        yield
        jobs.stop()
        if on_stop is not None:
            on_stop()

    from fastapi_offline import FastAPIOffline

    # The docs pages' Swagger/ReDoc scripts are served from the package, not a CDN: /docs works offline.
    app = FastAPIOffline(
        title="Paper Assistant API",
        version=API_VERSION,
        description=(
            "Cited answers, search, comparisons and summaries over one paper library. Writes (ingest, delete) "
            "are queued jobs run by this server's one writer; `GET /jobs/{id}` follows them."
        ),
        lifespan=lifespan,
    )
    app.state.engine = engine
    app.state.keys = parse_keys(settings.api_keys.get_secret_value())
    app.state.limiter = RateLimiter(settings.api_rate_limit)
    app.state.auth_failures = RateLimiter(settings.api_auth_failures)  # per client address
    app.state.jobs = jobs
    app.state.conversations = routes_answers.Conversations()
    origins = [o.strip() for o in settings.api_cors_origins.split(",") if o.strip()]
    if origins:  # off unless asked for: a browser page elsewhere cannot call the API by default
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
        )
    app.add_middleware(BodyLimit, settings=settings)
    app.add_middleware(RequestGuard, settings=settings, keyless=not app.state.keys)  # outermost: first to look
    _errors(app)
    app.include_router(routes_library.router)
    app.include_router(routes_answers.router)
    return app
