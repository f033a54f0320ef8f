"""The one reply cleaner (assistant/llm/reply.py) and the citation check that follows it
(assistant/answers/citations.py): reasoning blocks, citation styles, reference lists, code and maths left as
written, structure kept, uncited sentences dropped."""

from __future__ import annotations

import pytest

from assistant.answers.citations import cited_numbers, keep_cited_blocks, validate_markers
from assistant.llm.reply import ReasoningFilter, clean_reply, cut_to_complete, strip_reasoning
from assistant.spans import protect_spans
from assistant.text import clean_output

ANSWER = "PIG learns Gaussian positions [1][2]. The mesh adapts to the solution [1]."


# --- reasoning ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "reply",
    [
        f"<think>\nOkay, the user asks about PIG. Is [3] relevant? Probably not.\n</think>\n\n{ANSWER}",
        f"<thinking>Let me see [4].</thinking>{ANSWER}",
        f"<REASONING>\n[5] maybe\n</REASONING>\n{ANSWER}",
        f"<think>\n\n</think>\n\n{ANSWER}",  # Qwen3 with thinking switched off
        f"Okay, so the user wants PIG. Hmm, [3] relevant? Probably not.\n</think>\n\n{ANSWER}",  # R1 distill
        f"<think>[3]</think>{ANSWER}</think>",  # a stray closing tag after a block
    ],
)
def test_reasoning_is_stripped_whole_and_streamed(reply: str) -> None:
    assert strip_reasoning(reply) == ANSWER
    assert clean_reply(reply) == ANSWER
    for size in (1, 2, 3, 5, 7, 64):
        f = ReasoningFilter()
        pieces = [f.feed(reply[i : i + size]) for i in range(0, len(reply), size)] + [f.close()]
        assert "".join(pieces) == ANSWER, size
        for piece in pieces:
            assert not any(word in piece for word in ("Okay", "relevant", "Let me", "maybe", "<", "[3]", "[4]"))


def test_unclosed_reasoning_is_never_shown() -> None:
    reply = "<think>Okay, [3] is relevant [1]. Still thinking"
    assert strip_reasoning(reply) == ""
    f = ReasoningFilter()
    assert f.feed(reply) + f.close() == ""


def test_an_ordinary_answer_streams_before_it_ends() -> None:
    f = ReasoningFilter()
    assert f.feed("PIG learns Gaussian positions [1]. ") == "PIG learns Gaussian positions [1]. "
    assert f.feed("More <thi") == "More "  # a tag may be starting: held
    assert f.feed("nking>hidden [9]</thinking> after [2].") == " after [2]."
    assert f.close() == ""


def test_a_start_that_reads_like_reasoning_is_held_to_the_end() -> None:
    f = ReasoningFilter()
    assert f.feed("I need to check [3] first. Then PIG learns [1]. ") == ""
    assert f.close() == "I need to check [3] first. Then PIG learns [1]. "


# --- citation styles -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("PIG learns positions【1】. Grids differ【2†source】.", "PIG learns positions [1]. Grids differ [2]."),
        ("PIG learns positions【1, 3】.", "PIG learns positions [1][3]."),
        ("PIG learns positions (Source 1). Grids differ [Source 2].", "PIG learns positions [1]. Grids differ [2]."),
        ("Both adapt (Sources 1, 3). Also (Source 2 and Source 4).", "Both adapt [1][3]. Also [2][4]."),
        ("As Source 2 shows, grids differ.", "As Source [2] shows, grids differ."),
        ("PIG learns positions^1. Grids differ^[2].", "PIG learns positions [1]. Grids differ [2]."),
        ("PIG learns positions[^1]. Grids differ.[^2]\n\n[^1]: PIG paper\n[^2]: Grid paper",
         "PIG learns positions [1]. Grids differ [2]."),
        ("PIG learns positions<sup>1</sup>.", "PIG learns positions [1]."),
        ("Energy is x^2 and 3^2, e.g. 2^10 [1].", "Energy is x^2 and 3^2, e.g. 2^10 [1]."),
        ("PIG learns positions [1].\n\nReferences:\n[1] PIG: Physics-Informed Gaussians\n[4] Another paper",
         "PIG learns positions [1]."),
        ("PIG learns positions [1].\n\n**Sources:**\n- [1] PIG (2024)\n- [4] Other (2023)",
         "PIG learns positions [1]."),
        ("PIG learns positions [1].\nSources: [1], [4]", "PIG learns positions [1]."),
        ("Sources:\n- PIG learns positions [1].", "Sources:\n- PIG learns positions [1]."),  # a lead-in, not a list
    ],
)
def test_citation_styles_become_markers(reply: str, expected: str) -> None:
    assert clean_reply(reply) == expected


# --- code and maths -----------------------------------------------------------------------------------
MD = """PIG works on $[0, 1]$ with $k < n$ Gaussians and $$\\sum_{i} w_i [2, 4]$$ weights [1].

```python
def f(x):
    return x[0] + x[1]  # <b>not html</b>
```

- Gaussian parameters [1]:
  - means are learned `x[3]` [1]
    1. deeper [2]
- The interval $[2, 4]$ is not a citation [2]."""


def test_code_and_maths_are_left_as_written() -> None:
    assert clean_reply(MD) == MD
    assert clean_output(MD) == MD, "no escaping inside maths or code, indentation kept"
    assert validate_markers(MD, {1, 2}) == MD
    only_1 = validate_markers(MD, {1})
    assert "deeper\n" in only_1 and "citation." in only_1, "markers outside code and maths are checked"
    assert "$[2, 4]$" in only_1 and "w_i [2, 4]$$" in only_1 and "x[0] + x[1]" in only_1, "inside, nothing is"
    assert cited_numbers(MD) == [1, 2]
    assert keep_cited_blocks(MD, {1, 2}) == (MD, 0)


def test_maths_that_could_carry_html_or_links_is_cleaned_as_prose() -> None:
    out = clean_output("Bad $<img src=x onerror=alert(1)>$ and $\\href{javascript:alert(1)}{x}$ maths [1].")
    assert "<img" not in out and "javascript" not in out
    assert protect_spans("`a` $b$ ```c```").spans == ["`a`", "```c```", "$b$"]
    assert protect_spans("costs $5 and $6 today").spans == []


def test_interval_in_prose_is_still_read_as_citations() -> None:
    # Outside maths "[2, 4]" reads as markers; inside maths it never does.
    assert cited_numbers("values in [2, 4] [1]") == [2, 4, 1]
    assert cited_numbers("values in $[2, 4]$ [1]") == [1]


# --- uncited sentences ----------------------------------------------------------------------------------
def test_uncited_sentences_are_dropped_with_structure_kept() -> None:
    text = (
        "## Method\n\nPIG learns positions [1]. This was invented by Google in 2019. GPT-4 uses it [9].\n\n"
        "The steps are:\n\n- first step [1]\n  - a nested detail [2]\n  - an uncited detail\n- a second step\n\n"
        "## History\n\nNobody cited this.\n\n| a | b |\n|---|---|\n| x | y |"
    )
    out, dropped = keep_cited_blocks(text, {1, 2})
    assert out == (
        "## Method\n\nPIG learns positions [1].\n\nThe steps are:\n\n- first step [1]\n  - a nested detail [2]"
    )
    assert dropped == 6  # three sentences, two list items, one table; the lone heading goes quietly


def test_a_lead_in_stays_only_with_what_it_introduces() -> None:
    assert keep_cited_blocks("In short:\n\n- uncited", {1}) == ("", 1)
    assert keep_cited_blocks("PIG learns [1]. It works as follows:\n\n```\ncode\n```", {1})[1] == 0


def test_cut_to_complete() -> None:
    assert cut_to_complete("PIG learns [1]. It also reports that t") == "PIG learns [1]."
    assert cut_to_complete("PIG learns [1].\n- item [2]\n- half an it") == "PIG learns [1].\n- item [2]\n"
    assert cut_to_complete("PIG learns [1].\n```python\nx = [") == "PIG learns [1].\n"
    assert cut_to_complete("no sentence ends here") == ""
