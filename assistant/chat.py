"""Multi-turn chat: history bounded in tokens, and follow-ups rewritten into standalone queries.

A follow-up ("and its limitations?") is searched as a standalone query: rewritten by the LLM when one
is configured, otherwise by joining it with the previous turn's subject (the paper that answer
cited first, or the previous query).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from assistant.citations import strip_markers
from assistant.errors import LLMError
from assistant.llm import ChatModel
from assistant.models import Answer
from assistant.text import title_name

if TYPE_CHECKING:
    from assistant.retrieve import Filters


@dataclass
class Turn:
    question: str
    answer: str
    query: str = ""  # the standalone query that was searched
    subjects: list[str] = field(default_factory=list)  # titles of the papers cited, first = main subject
    abstained: bool = False

    @classmethod
    def from_answer(cls, answer: Answer) -> Turn:
        return cls(
            question=answer.question,
            answer=answer.answer,
            query=answer.query or answer.question,
            subjects=[c.title for c in answer.citations],
            abstained=answer.abstained,
        )


@lru_cache(maxsize=1)
def _encoder() -> Any:
    from assistant.embeddings import offline_env

    offline_env()
    import tiktoken

    return tiktoken.get_encoding("cl100k_base")


def count_tokens(text: str) -> int:
    return len(_encoder().encode(text, disallowed_special=()))


def truncate_tokens(text: str, budget: int) -> str:
    enc = _encoder()
    ids = enc.encode(text, disallowed_special=())
    return text if len(ids) <= budget else enc.decode(ids[: max(0, budget)]) + " …"


def bounded_history(turns: Sequence[Turn], budget_tokens: int) -> list[Turn]:
    """The most recent turns that fit in `budget_tokens` (question + answer, cl100k tokens).

    The latest turn is always kept, its answer shortened if it alone is over budget: a follow-up
    needs at least the turn it follows.
    """
    if budget_tokens <= 0 or not turns:
        return []
    kept: list[Turn] = []
    used = 0
    for turn in reversed(turns):
        cost = count_tokens(turn.question) + count_tokens(turn.answer)
        if used + cost > budget_tokens:
            if not kept:
                room = max(0, budget_tokens - count_tokens(turn.question))
                kept.append(
                    Turn(turn.question, truncate_tokens(turn.answer, room), turn.query, turn.subjects, turn.abstained)
                )
            break
        kept.append(turn)
        used += cost
    return list(reversed(kept))


_REFERS_BACK = re.compile(
    r"\b(it|its|it's|they|them|their|theirs|this|that|these|those|he|she|his|her|"
    r"the (same|above|former|latter|method|approach|paper|model|technique|work|authors|algorithm|results?))\b",
    re.IGNORECASE,
)
_CONTINUES = re.compile(
    r"^\s*(and|also|but|so|then|what about|how about|why|how so|and what|what else|anything else|more)\b",
    re.IGNORECASE,
)
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'-]*")


def looks_like_followup(question: str) -> bool:
    """Does the question lean on the previous turn (pronouns, "and …", or too short to stand alone)?"""
    words = _WORD.findall(question)
    return len(words) <= 4 or bool(_CONTINUES.search(question)) or bool(_REFERS_BACK.search(question))


def subject_of(turn: Turn) -> str:
    if turn.subjects and not turn.abstained:
        title = turn.subjects[0]
        short = title_name(title, max_chars=None, max_words=3)  # "PIG: Physics-Informed …" → "PIG"
        return title if not short else f"{short} ({title.split(':', 1)[1].strip()})"
    return turn.query or turn.question


def rewrite_offline(question: str, history: Sequence[Turn]) -> str:
    """Follow-up + the previous turn's subject, e.g. "and its limitations?" → "and its limitations?
    — about PIG (Physics-Informed Gaussians …)"."""
    if not history or not looks_like_followup(question):
        return question
    prev = history[-1]
    subject = subject_of(prev)
    previous_query = prev.query or prev.question
    about = subject if subject == previous_query else f"{subject}; previous question: {previous_query}"
    return f"{question.strip()} — about {about}"


REWRITE_SYSTEM = (
    "You rewrite a follow-up question from a conversation about research papers into one standalone "
    "search query that names its subject explicitly. Reply with the query only, no explanation."
)


def rewrite_with_llm(llm: ChatModel, question: str, history: Sequence[Turn]) -> str:
    """The model's standalone query for a follow-up; LLMError when it fails or writes no usable query."""
    convo = "\n".join(
        f"User: {t.question}\nAssistant: {strip_markers(t.answer)}" for t in history
    )
    messages = [
        {"role": "system", "content": REWRITE_SYSTEM},
        {"role": "user", "content": f"Conversation:\n{convo}\n\nFollow-up: {question}\n\nStandalone query:"},
    ]
    text = llm.chat(messages).strip().splitlines()[0].strip().strip('"').strip()
    if not text or len(text) > 400:
        raise LLMError("unusable rewrite")
    return text


def standalone_query(question: str, history: Sequence[Turn], llm: ChatModel | None = None) -> str:
    """The query to search for `question` given the conversation so far."""
    if not history or not looks_like_followup(question):
        return question
    if llm is not None:
        try:
            return rewrite_with_llm(llm, question, history)
        except LLMError:
            pass  # the offline rewrite is still a good query
    return rewrite_offline(question, history)


class Conversation:
    """One chat session over an answer engine (anything with `stream(question, history, filters)`)."""

    def __init__(self, engine: Any, budget_tokens: int | None = None) -> None:
        self.engine = engine
        self.budget_tokens = budget_tokens if budget_tokens is not None else engine.settings.history_tokens
        self.turns: list[Turn] = []
        self._lock = threading.Lock()

    @property
    def history(self) -> list[Turn]:
        with self._lock:
            return bounded_history(self.turns, self.budget_tokens)

    def reset(self) -> None:
        with self._lock:
            self.turns.clear()

    def stream(self, question: str, filters: Filters | None = None) -> Iterator[str | Answer]:
        for item in self.engine.stream(question, history=self.history, filters=filters):
            if isinstance(item, Answer):
                self.record(item)
            yield item

    def ask(self, question: str, filters: Filters | None = None) -> Answer:
        final: Answer | None = None
        for item in self.stream(question, filters):
            if isinstance(item, Answer):
                final = item
        assert final is not None
        return final

    def record(self, answer: Answer) -> None:
        with self._lock:
            self.turns.append(Turn.from_answer(answer))
            # Keep memory itself bounded too; a long session must not grow without limit.
            self.turns = bounded_history(self.turns, max(self.budget_tokens, 1) * 4)
