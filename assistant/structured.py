"""Structured output from a chat model: a JSON object in the reply, validated into a pydantic model.

Models wrap JSON in ```json fences or a sentence of their own; `parse_json_object` finds the object.
`chat_structured` asks once, and when the reply does not validate, shows the model its reply and the
error and asks once more; still invalid → None, and the caller uses its extractive part instead.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from assistant.llm import ChatModel

M = TypeVar("M", bound=BaseModel)

_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL)


def parse_json_object(reply: str) -> Any:
    """The JSON object in a reply, tolerating a ```json fence or a sentence around it.

    Raises ValueError (json.JSONDecodeError is one) when there is none.
    """
    text = reply.strip()
    fenced = _FENCE.search(text)
    if fenced:
        text = fenced.group(1).strip()
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        raise ValueError("no JSON object in the reply")
    return json.loads(text[start : end + 1])


def chat_structured(llm: ChatModel, messages: Sequence[dict[str, str]], model: type[M]) -> M | None:
    """One reply validated as `model`; an invalid one is answered with the error and asked once
    more. Still invalid → None. LLM failures (LLMError) propagate."""
    history = list(messages)
    reply = llm.chat(history)
    for attempt in range(2):
        try:
            return model.model_validate(parse_json_object(reply))
        except (ValueError, ValidationError) as exc:
            if attempt == 1:
                return None
            problem = str(exc).splitlines()[0][:200]
            history = [
                *history,
                {"role": "assistant", "content": reply},
                {
                    "role": "user",
                    "content": f"That reply was not valid ({problem}). Reply again with the JSON object only.",
                },
            ]
            reply = llm.chat(history)
    return None
