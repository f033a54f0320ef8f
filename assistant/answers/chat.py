"""Multi-turn chat: history bounded in tokens, and questions turned into the query that is searched.

A follow-up ("and its limitations?") is searched as a standalone query: rewritten by the LLM when one
is configured, otherwise by joining it with the previous turn's subject (the paper that answer
cited first, or the previous query). A question not in English is, when an LLM is configured,
rewritten to an English search query first: the library's embeddings and BM25 are English, so the
abstain threshold must judge the English query (the answer itself is written in the question's
language). Language detection is py3langid (an offline model shipped in the wheel), loaded lazily.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterator, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from assistant.answers.citations import strip_markers
from assistant.errors import LLMError
from assistant.index.tokens import count_tokens, truncate_tokens
from assistant.llm.client import ChatModel
from assistant.llm.prompts import REWRITE_SYSTEM, messages_for, rewrite_user
from assistant.llm.reply import clean_reply
from assistant.models import Answer, Turn
from assistant.text import title_name

if TYPE_CHECKING:
    from assistant.retrieval.retrieve import Filters


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


# What a chatty model writes before (or instead of) the query: never searched.
_INTERJECTION = r"(?:sure|okay|ok|certainly|of course|absolutely|got it|alright|great)"
_LEAD_IN = re.compile(
    rf"^\W*(?:{_INTERJECTION}|here(?:'s| is| are)|below is|the (?:rewritten|standalone|search|english)|"
    r"i would|i'd|i will|i'll|let me)(?=[\s!,.:]|$)",
    re.IGNORECASE,
)
_INTERJECTED = re.compile(rf"^\W*{_INTERJECTION}\s*[!.,]+\s*", re.IGNORECASE)
_LABEL = re.compile(
    r"^\W*(?:(?:rewritten|standalone|english|search)\s+)*(?:query|question|search)\s*:\s*", re.IGNORECASE
)
_QUOTES = "\"'`“”‘’«»「」*_ "


def query_from_reply(text: str) -> str:
    """The search query in a rewrite reply, past what chatty models add: reasoning blocks, a lead-in
    line ("Here is the rewritten standalone query:", "Sure! …"), a "Query:" label, quotes, bold,
    bullets, and any explanation after it. Empty when no line is left."""
    for raw_line in clean_reply(text).splitlines():
        line = raw_line.strip().lstrip("-*>•").strip()
        while line and _LEAD_IN.match(line):
            # "Sure! Here is the query: What are …?" keeps what follows the colon, "Sure! What …?" what
            # follows the interjection; a line that only announces the query is skipped.
            _, colon, rest = line.partition(":")
            if colon:
                line = rest.strip()
                break
            interjected = _INTERJECTED.match(line)
            line = line[interjected.end() :].strip() if interjected else ""
        line = _LABEL.sub("", line).strip().strip(_QUOTES).strip()
        if line:
            return line
    return ""


def rewrite_with_llm(llm: ChatModel, question: str, history: Sequence[Turn]) -> str:
    """The model's standalone English query for `question` (a follow-up given `history`, or a
    question in another language); LLMError when it fails or writes no usable query."""
    turns = [(t.question, strip_markers(t.answer)) for t in history]
    text = query_from_reply(llm.chat(messages_for(REWRITE_SYSTEM, rewrite_user(question, turns))))
    if not text or len(text) > 400:
        raise LLMError("unusable rewrite")
    return text


# Languages a question is told apart from English among (py3langid knows 97; restricting it keeps
# short English questions from being taken for a close relative, e.g. Nigerian Pidgin).
LANGUAGES = (
    "en fr de es it pt nl ru uk pl cs sk sl hr sr bg ro hu el tr ar he fa hi bn ur zh ja ko vi th id ms "
    "sv da no fi et lv lt ca eu gl"
).split()
_FOREIGN_CONFIDENCE = 0.8  # short or technical English ("PIG vs PDE-Refiner") scores low for every language


@lru_cache(maxsize=1)
def _identifier() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    ident = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    ident.set_languages(LANGUAGES)
    return ident


def question_language(text: str) -> tuple[str, float]:
    """(ISO 639-1 code, probability) of `text`; ("en", 1.0) for text without letters."""
    letters = re.sub(r"\[\d+\]|https?://\S+|`[^`]*`", " ", text)
    if not any(ch.isalpha() for ch in letters):
        return "en", 1.0
    lang, prob = _identifier().classify(letters)
    return str(lang), float(prob)


def is_english(text: str) -> bool:
    """False when the question is mostly in a non-Latin script, or confidently in another language
    (an extra rewrite of an English question costs one LLM call; missing a French one, the answer)."""
    letters = [ch for ch in text if ch.isalpha()]
    if letters and sum(not unicodedata.name(ch, "").startswith("LATIN") for ch in letters) > len(letters) / 2:
        return False  # Cyrillic, CJK, Arabic...: which language matters less than that it is not English
    lang, prob = question_language(text)
    return lang == "en" or prob < _FOREIGN_CONFIDENCE


def standalone_query(question: str, history: Sequence[Turn], llm: ChatModel | None = None) -> str:
    """The query to search for `question` given the conversation so far: a follow-up made to stand
    alone, and, when an LLM is configured, a question in another language rewritten to English."""
    followup = bool(history) and looks_like_followup(question)
    if llm is not None and (followup or (question.strip() and not is_english(question))):
        try:
            return rewrite_with_llm(llm, question, history if followup else [])
        except LLMError:
            pass  # the offline rewrite (or the question itself) is still a query
    return rewrite_offline(question, history) if followup else question


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
