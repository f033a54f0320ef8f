"""Structured output from a chat model: a JSON object in the reply, validated into a pydantic model.

Real models are loose about JSON: fences, a sentence before or a note after (braces and all),
trailing commas, `//` comments, Python-dict quotes, `Cells` for `cells`, the wrapper object left
out, a reasoning block (`<think>…</think>`) first, a reply cut at the token limit. `parse_reply`
reads such a reply leniently: reasoning stripped (assistant.llm.reply's rule), every JSON object in the
text repaired by the `json-repair` library, keys matched to the model's fields whatever their case,
a missing single wrapper put back; the first object that then validates wins.

`ask_structured` asks once, and when the reply still does not validate, shows the model its reply
and the problem and asks once more; still invalid → a `Parsed` with no value and the problem in
words, and the caller uses its extractive part instead. A reply cut at the token limit
(`LLMTruncated`) is parsed from what arrived. Other LLM failures (LLMError) propagate.
"""

from __future__ import annotations

import re
import types
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, Union, get_args, get_origin

import json_repair
from pydantic import BaseModel, ValidationError

from assistant.errors import LLMTruncated
from assistant.llm.client import ChatModel
from assistant.llm.prompts import retry_turns
from assistant.llm.reply import strip_reasoning

M = TypeVar("M", bound=BaseModel)

_FENCE = re.compile(r"```[A-Za-z0-9_-]*[ \t]*\n?(.*?)(?:```|$)", re.DOTALL)
_MAX_STARTS = 40  # object starts tried in one reply: a reply is a few KB, its braces few


# --- lenient parsing -------------------------------------------------------------------------------
def _key(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip()).lower()


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models an annotation allows (`X`, `X | None`, `Optional[X]`)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    if get_origin(annotation) in (Union, types.UnionType):
        return [m for arg in get_args(annotation) for m in _models_in(arg)]
    return []


def conform(data: Any, annotation: Any) -> Any:
    """`data` with its keys renamed to the fields of the models `annotation` names, at every depth
    (`Cells` → `cells`, `Quote` → `quote`); keys matching no field are left as they are."""
    models = _models_in(annotation)
    if models and isinstance(data, dict):
        model = models[0]
        lookup = {_key(name): name for name in model.model_fields}
        lookup |= {_key(f.alias): name for name, f in model.model_fields.items() if f.alias}
        out: dict[Any, Any] = {}
        for k, v in data.items():
            name = lookup.get(_key(k)) if isinstance(k, str) else None
            if name is None:
                out.setdefault(k, v)
            else:
                out[name] = conform(v, model.model_fields[name].annotation)
        return out
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (Union, types.UnionType):
        for arg in args:
            if arg is not type(None) and (get_origin(arg) in (dict, list)):
                return conform(data, arg)
        return data
    if origin is dict and isinstance(data, dict) and len(args) == 2:
        return {k: conform(v, args[1]) for k, v in data.items()}
    if origin is list and isinstance(data, list) and args:
        return [conform(v, args[0]) for v in data]
    return data


def _wrapped(data: Any, model: type[BaseModel]) -> Any | None:
    """A reply that left out the model's single wrapper field (`{"problem": …}` for
    `{"cells": {"problem": …}}`), wrapped; None when the model has no such field or `data` has one
    of the model's own keys."""
    fields = list(model.model_fields)
    if len(fields) != 1:
        return None
    if isinstance(data, dict) and (not data or fields[0] in data):
        return None
    return {fields[0]: data}


def _values(text: str) -> Iterator[Any]:
    """Every JSON value json-repair can read out of `text`: fenced blocks first, then the whole
    text, then from each `{` / `[` on (prose around the JSON may hold braces of its own)."""
    pieces = [m.group(1) for m in _FENCE.finditer(text)] + [text]
    starts = [m.start() for m in re.finditer(r"[{\[]", text)][:_MAX_STARTS]
    pieces += [text[i:] for i in starts]
    seen: set[str] = set()
    for piece in pieces:
        piece = piece.strip()
        if not piece or piece in seen:
            continue
        seen.add(piece)
        try:
            value = json_repair.loads(piece)
        except Exception:  # json-repair gives up on some inputs: this piece holds nothing
            continue
        yield value
        if isinstance(value, list):  # several top-level values come back as a list of them
            yield from value


def _problem(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ())) or "the object"
    return f"{where}: {first.get('msg', 'invalid')}"


def _without_last(value: Any) -> Any:
    """`value` without its last leaf (the deepest last entry): where a cut reply stopped writing."""
    if isinstance(value, dict) and value:
        *rest, last = value
        inner = value[last]
        if isinstance(inner, dict | list) and inner:
            return {**value, last: _without_last(inner)}
        return {k: value[k] for k in rest}
    if isinstance(value, list) and value:
        inner = value[-1]
        if isinstance(inner, dict | list) and inner:
            return [*value[:-1], _without_last(inner)]
        return value[:-1]
    return value


def parse_reply(reply: str, model: type[M], *, truncated: bool = False) -> M:
    """The first object in `reply` that validates as `model`, read leniently (see the module).
    `truncated`: the reply was cut at the token limit, so its last entries may be half-written
    and are let go, one by one, until the rest validates.

    Raises ValueError saying what was wrong when none does.
    """
    text = strip_reasoning(reply)
    candidates = [v for v in _values(text) if isinstance(v, dict | list) and v]
    problems: list[str] = []
    # Objects as they are first; an object that left out the wrapper only when none validates.
    for shape in (lambda v: v if isinstance(v, dict) else None, lambda v: _wrapped(v, model)):
        for value in candidates:
            shaped = shape(value)
            for _ in range(_MAX_STARTS if truncated else 1):
                if not shaped:
                    break
                try:
                    return model.model_validate(conform(shaped, model))
                except ValidationError as exc:
                    problems.append(_problem(exc))
                shaped = _without_last(shaped)
    if not candidates:
        raise ValueError("no JSON object in the reply")
    raise ValueError(problems[0] if problems else "no JSON object in the reply")


# --- asking ----------------------------------------------------------------------------------------
@dataclass
class Parsed(Generic[M]):
    """What came of a structured request: the value, or why there is none."""

    value: M | None
    problem: str | None = None  # why `value` is None, in words for the user
    truncated: bool = False  # the value was read from a reply cut at the token limit


def _chat(llm: ChatModel, history: Sequence[dict[str, str]]) -> tuple[str, LLMTruncated | None]:
    try:
        return llm.chat(history), None
    except LLMTruncated as cut:
        return cut.partial or "", cut


def ask_structured(llm: ChatModel, messages: Sequence[dict[str, str]], model: type[M]) -> Parsed[M]:
    """One reply parsed as `model`; an invalid one is answered with the problem and asked once
    more. LLM failures other than a cut reply (LLMError) propagate."""
    history = list(messages)
    problem = ""
    for attempt in range(2):
        reply, cut = _chat(llm, history)
        try:
            return Parsed(parse_reply(reply, model, truncated=cut is not None), truncated=cut is not None)
        except ValueError as exc:
            problem = str(exc).splitlines()[0][:200]
            if cut is not None:
                problem = f"{cut} ({problem})"
        if attempt == 0:
            history = [*history, *retry_turns(reply, problem)]
    return Parsed(None, problem=f"the model's reply is not the JSON asked for: {problem}")


def chat_structured(llm: ChatModel, messages: Sequence[dict[str, str]], model: type[M]) -> M | None:
    """`ask_structured`'s value: the parsed object, or None."""
    return ask_structured(llm, messages, model).value
