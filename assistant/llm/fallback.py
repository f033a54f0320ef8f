"""The one fallback policy: try the LLM; when it is off, fails to set up, fails mid-way, or writes a
reply the verification core rejects (`assistant.answers.verify.UnsupportedReply`, an `LLMError`: mostly
unsupported, degenerate, citing nothing), use the extractive result and say why in its
`fallback_reason`.

Answers (`stream_or_extractive`, streamed), comparisons and summaries (`llm_or_extractive`) all follow
it, so "LLM, else extractive, with a reason" is decided here and nowhere else. Finer parts keep their
own offline text by the same rule inside an LLM result — a comparison row or cell, a summary section —
and say so in their notes; a follow-up rewrite that fails keeps the offline rewrite (a query, not a
result).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Protocol, TypeVar

from assistant.errors import LLMError
from assistant.llm.client import ChatModel


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


T = TypeVar("T")


def stream_or_extractive(
    llm: ChatModel | None,
    setup_error: str | None,
    with_llm: Callable[[ChatModel], Iterator[T]],
    extractive: Callable[[str | None], Iterator[T]],
) -> Iterator[T]:
    """The same policy for a streamed result: `with_llm(model)`'s items, else `extractive(reason)`'s.
    What the model already streamed was shown; the last item, the authoritative result, is then the
    extractive one, with the reason."""
    if llm is None:
        yield from extractive(setup_error)
        return
    try:
        yield from with_llm(llm)
    except LLMError as exc:
        yield from extractive(str(exc))
