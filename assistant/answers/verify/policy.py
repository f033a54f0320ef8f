"""The one policy for model text that cites: what a verdict does to a sentence, and when a whole reply
is not taken at all. Answers, comparison syntheses and summaries all follow it.

- `supported`: shown as written.
- `partly_supported`: shown with a visible mark, "… [2] (partly supported).", in every face
  (the mark is part of the text, so the CLI, the Markdown and JSON exports and the pages all carry it).
- `contradicted` and `not_found`: left out, and counted in the result's notes.
- A reply whose cited sentences are less than `verify_min_supported_share` at least partly supported,
  or that repeats one sentence pattern (`degenerate`), is rejected whole: `UnsupportedReply`, an
  `LLMError`, so it takes the one fallback path (assistant/llm/fallback.py) to the extractive result with
  the reason.

Extractive text is the papers' own sentences: each is `supported` by construction (`verbatim`), not
judged again.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.errors import LLMError
from assistant.models import SentenceCheck
from assistant.settings import Settings

SHOWN = frozenset({"supported", "partly_supported"})
_WORD = re.compile(r"[^\W\d_]{2,}")
MARK = "(partly supported)"
NEAR_DUPLICATE = 0.6  # word-set overlap (Jaccard) from which two sentences are one pattern said twice


class UnsupportedReply(LLMError):
    """A model reply the passages do not bear out, or a degenerate one: the extractive result stands."""


_END = re.compile(r"[.!?:]+(?:\s*\[\d+\])*\s*$")


def marked(sentence: str, check: SentenceCheck) -> str:
    """The sentence as shown: as written when supported, else with its visible mark before the closing
    punctuation ("… learned [1] (partly supported)."), so the mark stays inside its sentence."""
    if check.verdict != "partly_supported":
        return sentence
    end = _END.search(sentence)
    cut = end.start() if end else len(sentence.rstrip())
    return f"{sentence[:cut].rstrip()} {MARK}{sentence[cut:]}"


def shown(check: SentenceCheck) -> bool:
    return check.verdict in SHOWN


def _words(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text)}


def degenerate(sentences: Sequence[str]) -> bool:
    """Three sentences or more, and at least half of them repeat an earlier one's pattern (six copies
    of one invented sentence, each with another [n], is not a literature summary)."""
    if len(sentences) < 3:
        return False
    seen: list[set[str]] = []
    repeats = 0
    for s in sentences:
        words = _words(s)
        if any(words and len(words & w) / len(words | w) >= NEAR_DUPLICATE for w in seen):
            repeats += 1
        seen.append(words)
    return repeats * 2 >= len(sentences)


def rejection(checks: Sequence[SentenceCheck], settings: Settings) -> str | None:
    """Why a model reply is not taken (None: it is), from its checked sentences."""
    if not checks:
        return None
    if degenerate([c.text for c in checks]):
        return f"the model's reply repeats one sentence pattern ({len(checks)} sentences)"
    ok = sum(shown(c) for c in checks)
    if ok < settings.verify_min_supported_share * len(checks):
        return (
            f"the passages the model cites bear out only {ok} of its {len(checks)} cited sentences "
            "(the rest: not found or contradicted)"
        )
    return None


def left_out_note(checks: Sequence[SentenceCheck]) -> str | None:
    """The note for sentences left out for want of support ("2 sentences … were left out")."""
    n = sum(not c.shown for c in checks)
    if not n:
        return None
    were = "sentences whose cited passage does not bear them out were" if n > 1 else (
        "sentence whose cited passage does not bear it out was"
    )
    return f"{n} {were} left out."
