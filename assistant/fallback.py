"""The one fallback policy: try the LLM; when it is off, fails to set up or fails mid-way, use the
extractive result and say why in its `fallback_reason`.

Answers, comparisons and summaries all follow it, so "LLM, else extractive, with a reason" is
decided here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

from assistant.errors import LLMError
from assistant.llm import ChatModel


class Fallible(Protocol):
    fallback_reason: str | None


R = TypeVar("R", bound=Fallible)

LLMSource = Callable[[], ChatModel | None]
"""Returns the chat model, None when none is configured, or raises LLMError when it cannot be set up."""


def no_llm() -> None:
    """The LLMSource of offline use: no chat model."""
    return None


def resolve_llm(source: LLMSource) -> tuple[ChatModel | None, str | None]:
    """(model, None), (None, None) when offline, or (None, reason) when set-up failed."""
    try:
        return source(), None
    except LLMError as exc:
        return None, str(exc)


def flagged(result: R, reason: str | None) -> R:
    if reason:
        result.fallback_reason = reason
    return result


def llm_or_extractive(source: LLMSource, with_llm: Callable[[ChatModel], R], extractive: Callable[[], R]) -> R:
    """`with_llm(model)` when a model is there and does not fail, else `extractive()` with the reason."""
    llm, reason = resolve_llm(source)
    if llm is None:
        return flagged(extractive(), reason)
    try:
        return with_llm(llm)
    except LLMError as exc:
        return flagged(extractive(), str(exc))
