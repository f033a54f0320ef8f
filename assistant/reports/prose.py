"""Model prose for reports (a comparison's synthesis, a summary's paragraphs): the reply cleaned by
assistant.llm.reply (no reasoning, citation styles as [n]), and a reply cut at the token limit cut back
to its complete sentences.

What is left still goes through `citations.keep_cited_sentences`: only cited sentences are shown.
"""

from __future__ import annotations

from collections.abc import Sequence

from assistant.errors import LLMTruncated
from assistant.llm.client import ChatModel
from assistant.llm.reply import clean_reply, cut_to_complete


def report_prose(llm: ChatModel, messages: Sequence[dict[str, str]]) -> str:
    """The model's prose reply, cleaned; a cut reply (`LLMTruncated`) keeps its complete sentences.
    Other LLM failures (LLMError) propagate."""
    try:
        return clean_reply(llm.chat(messages))
    except LLMTruncated as cut:
        # Cut first: cleaning strips the trailing newline that marks a finished last line.
        return clean_reply(cut_to_complete(cut.partial or ""))
