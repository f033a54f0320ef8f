"""Model prose for reports (a comparison's synthesis, a summary's paragraphs): the reply without its
reasoning, and a reply cut at the token limit cut back to its last complete sentence.

What is left still goes through `citations.keep_cited_sentences`: only cited sentences are shown.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.errors import LLMTruncated
from assistant.llm import ChatModel
from assistant.structured import strip_reasoning

# A sentence's end: its punctuation, closing quotes or brackets, then the markers citing it.
_SENTENCE_END = re.compile(r"[.!?][\"')\]]*(?:\s*\[\d+(?:\s*[,–-]\s*\d+)*\])*")


def complete_sentences(text: str) -> str:
    """`text` up to the end of its last complete sentence ("" when none ended)."""
    ends = list(_SENTENCE_END.finditer(text))
    return text[: ends[-1].end()].rstrip() if ends else ""


def report_prose(llm: ChatModel, messages: Sequence[dict[str, str]]) -> str:
    """The model's prose reply without reasoning; a cut reply (`LLMTruncated`) keeps its complete
    sentences. Other LLM failures (LLMError) propagate."""
    try:
        return strip_reasoning(llm.chat(messages))
    except LLMTruncated as cut:
        return complete_sentences(strip_reasoning(cut.partial or ""))
