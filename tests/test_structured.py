"""Lenient structured output (assistant/llm/structured.py) and the quote check it feeds (find_verbatim):
replies as real models write them, each read into the model it was asked for."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from assistant.errors import LLMTruncated
from assistant.llm.structured import ask_structured, parse_reply
from assistant.reports.compare.llm import PaperReply
from assistant.reports.summary.llm import Outline
from assistant.text import find_verbatim

ROW = {"problem": ("Long rollouts drift.", "rollouts drift"), "data": (None, None)}


def _cells(reply: PaperReply) -> dict[str, tuple[str | None, str | None]]:
    return {k: ((v.text, v.quote) if v else (None, None)) for k, v in reply.cells.items()}


@pytest.mark.parametrize(
    "reply",
    [
        '{"cells": {"problem": {"text": "Long rollouts drift.", "quote": "rollouts drift"}, '
        '"data": {"text": null, "quote": null}}}',
        # a fence and a sentence around it
        'Sure! Here it is:\n```json\n{"cells": {"problem": {"text": "Long rollouts drift.", '
        '"quote": "rollouts drift"}, "data": {"text": null, "quote": null}}}\n```\nHope this helps.',
        # trailing commas
        '{"cells": {"problem": {"text": "Long rollouts drift.", "quote": "rollouts drift",}, '
        '"data": {"text": null, "quote": null,},},}',
        # comments
        '// the row\n{"cells": {"problem": {"text": "Long rollouts drift.", // short\n'
        '"quote": "rollouts drift"}, /* none */ "data": {"text": null, "quote": null}}}',
        # key case
        '{"Cells": {"problem": {"Text": "Long rollouts drift.", "QUOTE": "rollouts drift"}, '
        '"data": {"Text": null, "Quote": null}}}',
        # no wrapper
        '{"problem": {"text": "Long rollouts drift.", "quote": "rollouts drift"}, '
        '"data": {"text": null, "quote": null}}',
        # a Python dict
        "{'cells': {'problem': {'text': 'Long rollouts drift.', 'quote': 'rollouts drift'}, "
        "'data': {'text': None, 'quote': None}}}",
        # a note after the JSON, with braces of its own
        '{"cells": {"problem": {"text": "Long rollouts drift.", "quote": "rollouts drift"}, '
        '"data": {"text": null, "quote": null}}}\n\nNote: each cell is {text, quote}; {"text": null} when silent.',
        # braces in the prose before it
        'I fill {"text", "quote"} per aspect: {"cells": {"problem": {"text": "Long rollouts drift.", '
        '"quote": "rollouts drift"}, "data": {"text": null, "quote": null}}}',
        # reasoning first, with braces and a marker
        '<think>Is {"cells": {}} enough? [3]? Probably not.</think>\n{"cells": {"problem": {"text": '
        '"Long rollouts drift.", "quote": "rollouts drift"}, "data": {"text": null, "quote": null}}}',
        # a reply that starts mid-thought and only closes the block
        'so {"cells": {"x": 1}} is wrong, hmm.</think>{"cells": {"problem": {"text": "Long rollouts drift.", '
        '"quote": "rollouts drift"}, "data": {"text": null, "quote": null}}}',
    ],
    ids=[
        "clean",
        "fenced",
        "trailing-commas",
        "comments",
        "key-case",
        "no-wrapper",
        "single-quotes",
        "note-after",
        "braces-before",
        "think",
        "lone-close",
    ],
)
def test_loose_replies_read_as_the_row(reply: str) -> None:
    assert _cells(parse_reply(reply, PaperReply)) == ROW


def test_outline_key_case_and_trailing_commas() -> None:
    outline = parse_reply('{"Title": "T", "Themes": [{"Heading": "H", "Focus": "F"},],}', Outline)
    assert outline.title == "T" and [(t.heading, t.focus) for t in outline.themes] == [("H", "F")]


@pytest.mark.parametrize(
    ("reply", "problem"),
    [
        ("Sure! Here is the table you asked for.", "no JSON object"),
        ("{}", "no JSON object"),
        ('{"cells": {"problem": "not an object"}}', "cells.problem"),
        ('<think>{"cells": {"problem": {"text": "a", "quote": "b"}}}', "no JSON object"),
    ],
)
def test_what_cannot_be_read_says_why(reply: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_reply(reply, PaperReply)


class Scripted:
    """A ChatModel that answers from a list (an LLMTruncated raises it)."""

    model = "scripted"

    def __init__(self, *replies: str | LLMTruncated) -> None:
        self.replies = list(replies)
        self.seen: list[list[dict[str, str]]] = []

    def chat(self, messages: Sequence[Any]) -> str:
        self.seen.append(list(messages))
        reply = self.replies.pop(0)
        if isinstance(reply, LLMTruncated):
            raise reply
        return reply

    def stream(self, messages: Sequence[Any]) -> Iterator[str]:
        yield self.chat(messages)


def test_a_cut_reply_is_read_from_what_arrived() -> None:
    cut = LLMTruncated(
        '{"cells": {"problem": {"text": "Long rollouts drift.", "quote": "rollouts drift"}, "data": {"te', 64
    )
    llm = Scripted(cut)
    parsed = ask_structured(llm, [{"role": "user", "content": "row"}], PaperReply)
    assert parsed.value is not None and parsed.truncated and len(llm.seen) == 1
    assert _cells(parsed.value)["problem"] == ROW["problem"]


def test_a_reply_read_nowhere_is_asked_again_then_given_up_with_the_reason() -> None:
    cut = LLMTruncated("<think>Let me think about {", 64)
    llm = Scripted("I cannot do that.", cut)
    parsed = ask_structured(llm, [{"role": "user", "content": "row"}], PaperReply)
    assert parsed.value is None and len(llm.seen) == 2
    assert "not valid (no JSON object in the reply)" in llm.seen[1][-1]["content"]
    assert parsed.problem and "not the JSON asked for" in parsed.problem and "token limit" in parsed.problem


# --- quotes ----------------------------------------------------------------------------------------
PAPER = (
    "Neural solvers drift over long rollouts.  We propose a refinement\nmodel that denoises each step, "
    "and it keeps rollouts stable for 400 steps. Code is released."
)


@pytest.mark.parametrize(
    ("quote", "span"),
    [
        (
            "We propose a refinement model that denoises each step",
            "We propose a refinement\nmodel that denoises each step",
        ),
        ("Propose a refinement model", "propose a refinement\nmodel"),  # a clause quoted as a sentence
        ("neural solvers drift over long rollouts.", "Neural solvers drift over long rollouts."),
        (
            "We propose a refinement model ... stable for 400 steps.",
            "We propose a refinement\nmodel that denoises each step, and it keeps rollouts stable for 400 steps.",
        ),
        ("Denoises each step, … 400 steps", "denoises each step, and it keeps rollouts stable for 400 steps"),
        ("[...] keeps rollouts stable", "keeps rollouts stable"),
    ],
)
def test_quotes_are_found_up_to_first_letter_case_and_elisions(quote: str, span: str) -> None:
    assert find_verbatim(quote, PAPER) == span


@pytest.mark.parametrize(
    "quote",
    [
        "We propose a new refinement model",  # a paraphrase
        "stable for 400 steps ... We propose",  # parts out of order
        "We propose ... 500 steps",  # a part the paper does not have
        "wE PROPOSE a refinement model",  # only a first letter's case is forgiven
        "We ... it",  # parts too short to support anything
    ],
)
def test_quotes_the_paper_does_not_support_are_rejected(quote: str) -> None:
    assert find_verbatim(quote, PAPER) is None
