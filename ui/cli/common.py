"""What every command of the terminal face shares: one-line errors, JSON output, the engine."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import typer

if TYPE_CHECKING:
    from assistant.engine import PaperAssistant
    from assistant.models import IngestReport

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def friendly(fn: F) -> F:
    """Domain errors become one readable line on stderr, never a traceback."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from pydantic import ValidationError

        from assistant.errors import PapersError

        try:
            return fn(*args, **kwargs)
        except PapersError as exc:
            fail(str(exc))
        except ValidationError as exc:
            first = exc.errors()[0]
            fail(f"invalid setting {'.'.join(str(p) for p in first['loc'])}: {first['msg']}")
        except KeyboardInterrupt:
            fail("interrupted", 130)

    return wrapper  # type: ignore[return-value]


def engine(check_model: bool = True) -> PaperAssistant:
    """The process's engine for the configured library (imports stay here so --help is instant).

    `check_model=False` for commands that never embed, so they work on a library built with another
    embedding model (list, stats, remove, export, reindex).
    """
    from assistant.engine import get_engine
    from assistant.settings import get_settings

    settings = get_settings()
    if settings.api_url.strip():  # client mode: the same methods over a `papers serve` (ui/api_client.py)
        from ui.api_client import remote_engine

        return remote_engine(settings)
    return get_engine(settings, check_model=check_model)


def print_json(obj: Any) -> None:
    typer.echo(json.dumps(obj, ensure_ascii=False, indent=2))


def exit_code(report: IngestReport) -> int:
    """0: nothing failed; 1: some items failed, the rest went in; 2: nothing could be read."""
    if report.failed == 0:
        return 0
    if report.added + report.updated + report.unchanged == 0:
        return 2
    return 1
