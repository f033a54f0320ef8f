"""The prompt budget: an answer prompt fitted to the model's context (PAPERS_LLM_CONTEXT_TOKENS).

A server given a prompt longer than its context does not refuse it: Ollama, llama.cpp and some vLLM
setups silently drop its beginning, which holds the system prompt (the citation rules, the
"sources are untrusted" note). So the prompt is measured before it is sent, in cl100k tokens (what
tiktoken ships offline; a model with another tokenizer counts somewhat differently, hence the
margin), and the lowest-ranked sources are left out first until it fits, with a note saying so.
Sources keep their numbers: they are ranked 1..n and only the tail goes.
"""

from __future__ import annotations

from collections.abc import Sequence

from assistant.answers.citations import Source, format_sources, strip_markers
from assistant.index.tokens import count_tokens
from assistant.models import Turn
from assistant.settings import Settings

MARGIN = 0.10  # of the context, for tokenizers that count more tokens than cl100k
PER_MESSAGE = 8  # role and framing tokens of one chat message
TEMPLATE = 40  # "Sources:", "Question:", the closing instruction of the user message


def prompt_budget(settings: Settings, context_tokens: int | None = None) -> int:
    """Tokens the prompt may use: the context (the server's own figure when it reports one, else
    PAPERS_LLM_CONTEXT_TOKENS) less the margin and the reply's PAPERS_LLM_MAX_TOKENS."""
    return int((context_tokens or settings.llm_context_tokens) * (1 - MARGIN)) - settings.llm_max_tokens


def prompt_tokens(system: str, sources: Sequence[Source], question: str, history: Sequence[Turn]) -> int:
    """The answer prompt's size in cl100k tokens (system, history turns, the sources and question)."""
    used = count_tokens(system) + PER_MESSAGE
    for turn in history:
        used += count_tokens(turn.question) + count_tokens(strip_markers(turn.answer)) + 2 * PER_MESSAGE
    return used + count_tokens(format_sources(sources)) + count_tokens(question) + TEMPLATE + PER_MESSAGE


def fit_sources(
    system: str,
    sources: Sequence[Source],
    question: str,
    history: Sequence[Turn],
    settings: Settings,
    context_tokens: int | None = None,
) -> tuple[list[Source], str | None]:
    """The sources that fit the prompt budget, best-ranked first, and a note when some were left out.

    At least one source is kept (an answer needs one); when even that one is over budget the note
    says the prompt may still be too long for the model.
    """
    kept = list(sources)
    budget = prompt_budget(settings, context_tokens)
    total = prompt_tokens(system, kept, question, history)
    if total <= budget or not kept:
        return kept, None
    while len(kept) > 1 and prompt_tokens(system, kept, question, history) > budget:
        kept.pop()
    dropped = [s.n for s in sources[len(kept) :]]
    limit = (
        f"the server's context of {context_tokens} tokens"
        if context_tokens
        else f"PAPERS_LLM_CONTEXT_TOKENS={settings.llm_context_tokens}"
    )
    if not dropped:
        return kept, f"the prompt ({total} tokens) may not fit {limit} with {settings.llm_max_tokens} for the reply"
    span = f"source {dropped[0]}" if len(dropped) == 1 else f"sources {dropped[0]}-{dropped[-1]}"
    fits = prompt_tokens(system, kept, question, history) <= budget
    tail = "" if fits else "; the rest may still not fit"
    return kept, (
        f"{len(dropped)} of {len(sources)} sources ({span}, the lowest-ranked) left out of the LLM prompt "
        f"to fit {limit} ({total} tokens asked, {budget} available after {settings.llm_max_tokens} for the "
        f"reply){tail}"
    )
