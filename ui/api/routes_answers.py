"""Question routes: search, ask (JSON or Server-Sent Events), chat with a conversation id, compare,
summarize (JSON, or the export text of `format`).

The SSE stream of `stream=true` is `event: token` frames (`{"text": ...}`, the answer as it is
written), then one `event: answer` frame holding the authoritative `Answer` (for chat also its
`conversation_id`); a failure after the stream began is one `event: error` frame `{"error": ...}`.
Each `data:` is one line of JSON, so a frame is never split. The framing (and keep-alive comments on
a slow model) is sse-starlette's `EventSourceResponse`; the stream is sent as it is produced.
"""

from __future__ import annotations

import itertools
import json
import threading
import uuid
from collections import OrderedDict
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import PlainTextResponse
from sse_starlette import EventSourceResponse, ServerSentEvent

from assistant.errors import PapersError
from assistant.models import Answer, Comparison, Filters, Summary
from ui.api.auth import Caller
from ui.api.deps import engine_of, reader
from ui.api.schemas import (
    AskRequest,
    ChatRequest,
    ChatResponse,
    CompareRequest,
    SearchRequest,
    SearchResponse,
    SummarizeRequest,
)

if TYPE_CHECKING:
    from assistant.engine import ChatSession
    from assistant.engine import PaperAssistant as Door

router = APIRouter()

SSE_HEADERS = {"Cache-Control": "no-cache"}  # sse-starlette adds X-Accel-Buffering: no
TEXT_TYPES = {"markdown": "text/markdown", "csv": "text/csv", "bibtex": "application/x-bibtex"}


class Conversations:
    """The server's conversations by id, newest kept (a client that stops coming back is forgotten)."""

    def __init__(self, keep: int = 500) -> None:
        self.keep = keep
        self._items: OrderedDict[str, ChatSession] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, conversation_id: str | None, eng: Door) -> tuple[str, ChatSession]:
        with self._lock:
            if conversation_id:
                found = self._items.get(conversation_id)
                if found is None:
                    raise HTTPException(404, f"no such conversation: {conversation_id} (start one without an id)")
                self._items.move_to_end(conversation_id)
                return conversation_id, found
            new_id = uuid.uuid4().hex
            self._items[new_id] = eng.conversation()
            while len(self._items) > self.keep:
                self._items.popitem(last=False)
            return new_id, self._items[new_id]


def sse_event(event: str, data: Any) -> ServerSentEvent:
    return ServerSentEvent(data=json.dumps(data, ensure_ascii=False), event=event)


def sse_events(items: Iterator[str | Answer], extra: dict[str, Any] | None = None) -> Iterator[ServerSentEvent]:
    """Tokens, then the final Answer; a domain error mid-stream is one `error` event."""
    try:
        for item in items:
            if isinstance(item, Answer):
                yield sse_event("answer", {**item.model_dump(mode="json"), **(extra or {})})
            else:
                yield sse_event("token", {"text": item})
    except PapersError as exc:
        yield sse_event("error", {"error": str(exc)})


def event_stream(items: Iterator[str | Answer], extra: dict[str, Any] | None = None) -> EventSourceResponse:
    """The events sent as they come (a sync iterator runs in the thread pool), LF-separated frames."""
    return EventSourceResponse(sse_events(items, extra), headers=SSE_HEADERS, sep="\n")


def primed(items: Iterator[str | Answer]) -> Iterator[str | Answer]:
    """The stream with its first item already produced, so an error before any text (a library that
    cannot open, a bad filter) is a plain error response rather than a broken stream."""
    first = next(items)
    return itertools.chain([first], items)


def filters_of(body: AskRequest | ChatRequest | SearchRequest) -> Filters | None:
    return body.filters.to_filters() if body.filters else None


@router.post("/search", tags=["answers"], response_model=SearchResponse,
             response_model_exclude={"hits": {"__all__": {"paper": {"sections"}}}})
def search(body: SearchRequest, _: Caller = Depends(reader), eng: Door = Depends(engine_of)) -> SearchResponse:
    """Hybrid search (dense + BM25): papers with their evidence passages, best first."""
    result = eng.search(body.query, body.k, filters_of(body))
    return SearchResponse(query=result.query, hits=result.hits, best_dense=result.best_dense,
                          abstains=result.abstains)


@router.post("/ask", tags=["answers"], response_model=Answer,
             responses={200: {"content": {"text/event-stream": {}}, "description": "Answer, or SSE when stream"}})
def ask(body: AskRequest, _: Caller = Depends(reader), eng: Door = Depends(engine_of)) -> Any:
    """A cited answer; `stream=true`: Server-Sent Events (tokens, then the final Answer)."""
    from assistant.models import Turn

    history = [Turn(**t.model_dump()) for t in body.history]
    if body.stream:
        items = primed(iter(eng.stream(body.question, history, filters_of(body))))
        return event_stream(items)
    return eng.ask(body.question, history, filters_of(body))


@router.post("/chat", tags=["answers"], response_model=ChatResponse,
             responses={200: {"content": {"text/event-stream": {}}, "description": "ChatResponse, or SSE"}})
def chat(body: ChatRequest, request: Request, _: Caller = Depends(reader), eng: Door = Depends(engine_of)) -> Any:
    """One turn of a conversation kept by the server: follow-ups are understood from its history."""
    conversation_id, conversation = request.app.state.conversations.get(body.conversation_id, eng)
    if body.reset:
        conversation.reset()
    if body.stream:
        items = primed(iter(conversation.stream(body.question, filters_of(body))))
        return event_stream(items, {"conversation_id": conversation_id})
    answer = conversation.ask(body.question, filters_of(body))
    return ChatResponse(conversation_id=conversation_id, answer=answer)


@router.post("/compare", tags=["reports"], response_model=Comparison,
             responses={200: {"content": {"text/markdown": {}, "text/csv": {}}}})
def compare(body: CompareRequest, _: Caller = Depends(reader), eng: Door = Depends(engine_of)) -> Any:
    """Papers × aspects, every cell quoted from its paper; `format` markdown or csv gives that text."""
    from assistant.reports.exports import comparison_csv, comparison_markdown

    result = eng.compare(paper_ids=body.paper_ids, query=body.query, aspects=body.aspects, max_papers=body.max_papers)
    if body.format == "json":
        return result
    text = comparison_csv(result) if body.format == "csv" else comparison_markdown(result)
    return PlainTextResponse(text, media_type=TEXT_TYPES[body.format])


@router.post("/summarize", tags=["reports"], response_model=Summary,
             responses={200: {"content": {"text/markdown": {}, "application/x-bibtex": {}, "text/csv": {}}}})
def summarize(body: SummarizeRequest, _: Caller = Depends(reader), eng: Door = Depends(engine_of)) -> Any:
    """A themed literature summary with numbered references; `format` markdown, bibtex or csv gives that text."""
    from assistant.reports.exports import summary_bibtex, summary_csv, summary_markdown

    result = eng.summarize(body.topic, max_papers=body.max_papers)
    if body.format == "json":
        return result
    if body.format == "bibtex":
        text = summary_bibtex(result, eng.papers([r.id for r in result.references]))
    elif body.format == "csv":
        text = summary_csv(result)
    else:
        text = summary_markdown(result)
    return PlainTextResponse(text, media_type=TEXT_TYPES[body.format])
