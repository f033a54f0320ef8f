"""A small OpenAI-compatible HTTP server for tests, on 127.0.0.1 at a free port.

Real clients (the `openai` package, llama-index `OpenAILike`) talk to it over HTTP, so the LLM path is
exercised end to end. Per test it is scripted with replies (a queue, or a callback that sees the request
messages), and fault modes: a delay beyond the client's timeout, HTTP 429 / 500, and a stream cut
mid-answer (the socket closes inside a chunked body). Every request is recorded.

    def test_x(llm_server, monkeypatch):   # the fixture lives in tests/conftest.py
        llm_server.script("Answer [1].", Reply(status=429))
        llm_server.configure_env(monkeypatch, timeout_s=2)
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from assistant.text import split_sentences

MODEL = "test-model"


@dataclass
class Reply:
    """One scripted reply. `text` is the assistant message; the rest are fault modes."""

    text: str = ""
    status: int = 200
    delay_s: float = 0.0  # sleep before answering (beyond the client timeout → timeout)
    cut_after: int | None = None  # close the socket after this many content chunks (non-streaming: mid-body)
    chunk_chars: int = 6  # streaming: characters per content chunk
    chunk_delay_s: float = 0.0  # streaming: a pause before each content chunk (a model writing slowly)
    headers: dict[str, str] = field(default_factory=dict)  # e.g. {"Retry-After": "0"}
    error_in_stream: bool = False  # streaming: send an error object instead of finishing
    finish_reason: str | None = "stop"  # "length" when the model ran out of tokens; None: never sent
    send_done: bool = True  # streaming: the closing `data: [DONE]` (some servers close without it)
    reasoning: str = ""  # a `reasoning_content` field before the answer (vLLM, DeepSeek, OpenRouter)
    error_body: Any = None  # the JSON body sent with an error status (a provider's own error shape)
    body: Any = None  # non-streaming: this JSON body as is, with `status` (e.g. an error object with 200)


Responder = Callable[[list[dict[str, Any]], dict[str, Any]], "str | Reply"]


def source_numbers(messages: list[dict[str, Any]]) -> list[int]:
    """The source numbers the prompt offers (`<source n=3 ...>`), in order."""
    prompt = "\n".join(str(m.get("content", "")) for m in messages)
    return [int(n) for n in re.findall(r"<source n=(\d+)", prompt)]


STYLES: dict[str, Responder] = {}
"""Named reply styles: how real models and servers answer (reasoning blocks, odd citation styles,
loose JSON, truncation, provider error bodies). Each is a Responder; script one with
`llm_server.script(STYLES["qwen3-think"])` or `llm_server.style("qwen3-think")`."""


def style(name: str) -> Callable[[Responder], Responder]:
    """Register a named reply style."""

    def register(fn: Responder) -> Responder:
        STYLES[name] = fn
        return fn

    return register


def default_responder(messages: list[dict[str, Any]], body: dict[str, Any]) -> str:
    """Restates the first source's first sentence and cites it, so an unscripted call still looks like
    an answer, one its source bears out (the verification core checks what a citation claims)."""
    return first_source_sentence(messages) or "OK."


def first_source_sentence(messages: list[dict[str, Any]]) -> str:
    """"<the first source's first sentence> [n]." for a prompt with sources, else ""."""
    prompt = "\n".join(str(m.get("content", "")) for m in messages)
    found = re.search(r"<source n=(\d+)[^>]*>\n(.*?)\n</source>", prompt, re.DOTALL)
    if not found:
        return ""
    first = split_sentences(found.group(2))
    return f"{first[0].rstrip('.')} [{found.group(1)}]." if first else ""


def hashed_embedding(text: str, dim: int) -> list[float]:
    """Deterministic bag-of-words vector: texts sharing words get similar vectors."""
    vec = [0.0] * dim
    for tok in re.findall(r"[a-z0-9]+", text.lower()):
        h = hashlib.sha1(tok.encode()).digest()
        idx = int.from_bytes(h[:4], "little") % dim
        vec[idx] += 1.0 if h[4] & 1 else -1.0
    norm = sum(v * v for v in vec) ** 0.5
    if norm == 0:
        vec[0] = 1.0
        norm = 1.0
    return [v / norm for v in vec]


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # a handler sleeping in a delay fault must not block stop()

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return  # a client that gave up (timeout tests) is expected here
        super().handle_error(request, client_address)


class LLMServer:
    def __init__(self, embed_dim: int = 64) -> None:
        self.embed_dim = embed_dim
        self.model = MODEL
        # The context size /v1/models reports, as vLLM does (`max_model_len`); None: none, as
        # llama-cpp-python and OpenAI report none.
        self.context: int | None = None
        self.replies: deque[str | Reply | Responder] = deque()
        self.responder: Responder = default_responder
        self.embedding_faults: deque[Reply] = deque()
        self.embed_delay_s = 0.0  # every /embeddings answer waits this long (a slow embedding server)
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._httpd = _QuietServer(("127.0.0.1", 0), self._handler_class())
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------
    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """Base URL as OpenAI clients want it (…/v1)."""
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> LLMServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> LLMServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- scripting -------------------------------------------------------------
    def script(self, *replies: str | Reply | Responder) -> None:
        """Queue replies for the next chat requests, in order; then `responder` answers."""
        self.replies.extend(replies)

    def style(self, name: str, times: int = 1) -> None:
        """Queue a named reply style (STYLES) for the next `times` chat requests."""
        self.replies.extend([STYLES[name]] * times)

    def configure_env(
        self,
        monkeypatch: pytest.MonkeyPatch,
        *,
        timeout_s: float = 2.0,
        retries: int = 0,
        model: str | None = None,
        judge: bool = False,
    ) -> None:
        """Point the product's settings at this server (PAPERS_LLM_*), as a user would. The scripted
        replies play the answering model, so the LLM judge (a second request per answer) is off unless
        `judge`: its own tests script its reply."""
        from assistant.settings import get_settings

        monkeypatch.setenv("PAPERS_VERIFY_LLM_JUDGE", "1" if judge else "0")
        monkeypatch.setenv("PAPERS_LLM_MODEL", model or self.model)
        monkeypatch.setenv("PAPERS_LLM_BASE_URL", self.url)
        monkeypatch.setenv("PAPERS_LLM_API_KEY", "test-key")
        monkeypatch.setenv("PAPERS_LLM_TIMEOUT_S", str(timeout_s))
        monkeypatch.setenv("PAPERS_LLM_MAX_RETRIES", str(retries))
        get_settings.cache_clear()

    # -- inspection ------------------------------------------------------------
    @property
    def chat_requests(self) -> list[dict[str, Any]]:
        with self._lock:
            return [r["body"] for r in self.requests if r["path"].endswith("/chat/completions")]

    @property
    def embedding_requests(self) -> list[dict[str, Any]]:
        with self._lock:
            return [r["body"] for r in self.requests if r["path"].endswith("/embeddings")]

    def _record(self, method: str, path: str, body: Any, headers: dict[str, str]) -> None:
        with self._lock:
            self.requests.append({"method": method, "path": path, "body": body, "headers": headers})

    def _next_reply(self, messages: list[dict[str, Any]], body: dict[str, Any]) -> Reply:
        with self._lock:
            item: str | Reply | Responder = self.replies.popleft() if self.replies else self.responder
        if callable(item) and not isinstance(item, Reply):
            item = item(messages, body)
        return item if isinstance(item, Reply) else Reply(text=str(item))

    # -- HTTP ------------------------------------------------------------------
    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

            def _json(self, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def _error(self, reply: Reply) -> None:
                kind = "rate_limit_exceeded" if reply.status == 429 else "server_error"
                body = reply.error_body
                if body is None:
                    body = {"error": {"message": f"scripted HTTP {reply.status}", "type": kind, "code": kind}}
                self._json(reply.status, body, reply.headers)

            def do_GET(self) -> None:  # noqa: N802
                server._record("GET", self.path, None, dict(self.headers))
                if self.path.rstrip("/").endswith("/models"):
                    entry: dict[str, Any] = {"id": server.model, "object": "model"}
                    if server.context:
                        entry["max_model_len"] = server.context
                    self._json(200, {"object": "list", "data": [entry]})
                else:
                    self._json(404, {"error": {"message": "not found"}})

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    self._json(400, {"error": {"message": "bad json"}})
                    return
                server._record("POST", self.path, body, dict(self.headers))
                try:
                    if self.path.endswith("/chat/completions"):
                        self._chat(body)
                    elif self.path.endswith("/embeddings"):
                        self._embeddings(body)
                    else:
                        self._json(404, {"error": {"message": "not found"}})
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test): nothing to answer

            def _embeddings(self, body: dict[str, Any]) -> None:
                time.sleep(server.embed_delay_s)
                fault = server.embedding_faults.popleft() if server.embedding_faults else None
                if fault is not None:
                    time.sleep(fault.delay_s)
                    if fault.status != 200:
                        self._error(fault)
                        return
                inputs = body.get("input", [])
                if isinstance(inputs, str):
                    inputs = [inputs]
                data = []
                for i, text in enumerate(inputs):
                    vec = hashed_embedding(str(text), server.embed_dim)
                    emb: Any = vec
                    if body.get("encoding_format") == "base64":
                        emb = base64.b64encode(struct.pack(f"<{len(vec)}f", *vec)).decode()
                    data.append({"object": "embedding", "index": i, "embedding": emb})
                tokens = sum(len(str(t).split()) for t in inputs)
                self._json(
                    200,
                    {
                        "object": "list",
                        "data": data,
                        "model": body.get("model", server.model),
                        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
                    },
                )

            def _chat(self, body: dict[str, Any]) -> None:
                reply = server._next_reply(list(body.get("messages", [])), body)
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                if reply.status != 200:
                    self._error(reply)
                    return
                model = body.get("model", server.model)
                if body.get("stream"):
                    self._stream(reply, model)
                    return
                if reply.cut_after is not None:
                    self._cut_body(reply, model)
                    return
                if reply.body is not None:
                    self._json(200, reply.body, reply.headers)
                    return
                message: dict[str, Any] = {"role": "assistant", "content": reply.text}
                if reply.reasoning:
                    message["reasoning_content"] = reply.reasoning
                self._json(
                    200,
                    {
                        "id": "chatcmpl-test",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": model,
                        "choices": [
                            {
                                "index": 0,
                                "message": message,
                                "finish_reason": reply.finish_reason,
                            }
                        ],
                        "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
                    },
                    reply.headers,
                )

            def _cut_body(self, reply: Reply, model: str) -> None:
                """Non-streaming: the full Content-Length announced, then half the body and a hard close."""
                data = json.dumps(
                    {
                        "id": "chatcmpl-test",
                        "object": "chat.completion",
                        "model": model,
                        "choices": [{"index": 0, "message": {"role": "assistant", "content": reply.text}}],
                    }
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
                self.connection.close()
                self.close_connection = True

            def _chunk(self, payload: bytes) -> None:
                self.wfile.write(f"{len(payload):x}\r\n".encode() + payload + b"\r\n")
                self.wfile.flush()

            def _event(self, obj: Any) -> None:
                data = obj if isinstance(obj, str) else json.dumps(obj)
                self._chunk(f"data: {data}\n\n".encode())

            def _stream(self, reply: Reply, model: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.send_header("Cache-Control", "no-cache")
                self.end_headers()

                def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
                    return {
                        "id": "chatcmpl-test",
                        "object": "chat.completion.chunk",
                        "created": int(time.time()),
                        "model": model,
                        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                    }

                self._event(chunk({"role": "assistant", "content": ""}))
                for i in range(0, len(reply.reasoning), reply.chunk_chars):
                    self._event(chunk({"reasoning_content": reply.reasoning[i : i + reply.chunk_chars]}))
                pieces = [reply.text[i : i + reply.chunk_chars] for i in range(0, len(reply.text), reply.chunk_chars)]
                for n, piece in enumerate(pieces):
                    if reply.cut_after is not None and n >= reply.cut_after:
                        # Mid-body, mid-chunk: a half-written chunk then a hard close.
                        self.wfile.write(b"40\r\ndata: {\"id\"")
                        self.wfile.flush()
                        self.connection.shutdown(socket.SHUT_RDWR)
                        self.connection.close()
                        self.close_connection = True
                        return
                    time.sleep(reply.chunk_delay_s)
                    self._event(chunk({"content": piece}))
                if reply.error_in_stream:
                    self._event({"error": {"message": "scripted stream error", "type": "server_error"}})
                elif reply.finish_reason is not None:
                    self._event(chunk({}, reply.finish_reason))
                if reply.send_done:
                    self._event("[DONE]")
                self._chunk(b"")

        return Handler


# Named reply styles, one section per area (each section's owner adds below its own marker).

# --- reply styles: reasoning blocks, citation styles, maths and code, uncited claims ------------------

# Answers as real models write them. Each cites the prompt's real sources (a, b = the first two; d = a
# fourth, offered but never cited in the answer) so that what survives the cleaner can be asserted.
# Both claims say what their paper says, in other words: the verification core bears them out.
PIG_CLAIM = "PIG learns the mean and variance of each Gaussian, so their positions adjust during training"
GRID_CLAIM = "Another paper treats the collocation grids probabilistically, as random variables"
UNCITED_CLAIM = "This technique was first introduced by Google in 2019."


def _numbers(messages: list[dict[str, Any]]) -> tuple[int, int, int]:
    found = source_numbers(messages) or [1]
    second = found[1] if len(found) > 1 else found[0]
    return found[0], second, found[3] if len(found) > 3 else found[-1]


@style("qwen3-think")
def qwen3_think(messages: list[dict[str, Any]], body: dict[str, Any]) -> str:
    """Qwen3: a <think> block that weighs a source it will not cite, then the answer."""
    a, b, d = _numbers(messages)
    return (
        f"<think>\nOkay, the user is asking about Gaussians and meshes. Source [{a}] looks relevant. "
        f"Is [{d}] relevant? Probably not. I should cite [{a}] and [{b}].\n</think>\n\n"
        f"{PIG_CLAIM} [{a}][{b}]."
    )


@style("r1-no-open-tag")
def r1_no_open_tag(messages: list[dict[str, Any]], body: dict[str, Any]) -> str:
    """A DeepSeek-R1 distill: the chat template opened the block, so the reply starts mid-thought
    and only closes it."""
    a, b, d = _numbers(messages)
    return (
        f"Okay, so the user wants to know how PIG works. Hmm, [{d}] relevant? Probably not. "
        f"Let me answer from [{a}] and [{b}].\n</think>\n\n{PIG_CLAIM} [{a}]. {GRID_CLAIM} [{b}]."
    )


@style("cjk-cites")
def cjk_cites(messages: list[dict[str, Any]], body: dict[str, Any]) -> str:
    a, b, _ = _numbers(messages)
    return f"{PIG_CLAIM}【{a}】. {GRID_CLAIM}【{b}†source】."


@style("source-paren")
def source_paren(messages: list[dict[str, Any]], body: dict[str, Any]) -> str:
    a, b, _ = _numbers(messages)
    return f"{PIG_CLAIM} (Source {a}). {GRID_CLAIM} [Source {b}]. Both adapt the discretisation (Sources {a}, {b})."


@style("caret-footnotes")
def caret_footnotes(messages: list[dict[str, Any]], body: dict[str, Any]) -> str:
    a, b, d = _numbers(messages)
    return (
        f"{PIG_CLAIM}^{a}. {GRID_CLAIM}[^{b}].\n\n"
        f"[^{a}]: PIG: Physics-Informed Gaussians\n[^{b}]: Another paper\n[^{d}]: A paper never cited"
    )


@style("references-list")
def references_list(messages: list[dict[str, Any]], body: dict[str, Any]) -> str:
    a, _, d = _numbers(messages)
    return f"{PIG_CLAIM} [{a}].\n\nReferences:\n[{a}] PIG: Physics-Informed Gaussians\n[{d}] A paper never cited"


MATH_CODE_ANSWER = """{claim}, with $k < n$ Gaussians on $[0, 1]$ [{a}].

```python
def residual(x):
    return x[0] + x[1]
```

- Gaussian parameters [{a}]:
  - their means and variances are trained [{a}]
  - collocation grids are random variables [{b}]
- Grids on $[2, 4]$ are treated probabilistically [{b}]."""


@style("markdown-math-code")
def markdown_math_code(messages: list[dict[str, Any]], body: dict[str, Any]) -> str:
    a, b, _ = _numbers(messages)
    return MATH_CODE_ANSWER.format(claim=PIG_CLAIM, a=a, b=b)


@style("uncited-claims")
def uncited_claims(messages: list[dict[str, Any]], body: dict[str, Any]) -> str:
    a, _, _ = _numbers(messages)
    return f"{PIG_CLAIM} [{a}]. {UNCITED_CLAIM} GPT-4 later made it popular."


# --- reply styles: structured output (JSON) ----------------------------------------------------------

# Each style answers a structured request (a comparison row, a summary outline) with the JSON a
# well-behaved model would send, dressed the way real models dress it; prose requests (synthesis,
# summary paragraphs) get plain cited sentences. Quotes are real sentences of the paper in the prompt.
JSON_REASONING = (
    'Okay, the user wants a table. Maybe {"cells": {}} would do? Is [3] relevant? Probably not. '
    "Let me write {text, quote} for each aspect."
)
JSON_NOTE = 'Note: each cell is {"text": ..., "quote": ...}; I used {"text": null} where the paper is silent.'
GARBAGE = "I'm sorry, but I cannot put this paper into a table right now."


def request_kind(messages: list[dict[str, Any]]) -> str:
    """The kind of request: "cells" (a comparison row), "outline" (a summary plan) or "prose"."""
    system = str(messages[0].get("content", "")) if messages else ""
    if "one row of a table" in system:
        return "cells"
    if "plan a literature summary" in system:
        return "outline"
    return "prose"


def paper_sentences(messages: list[dict[str, Any]]) -> list[str]:
    """Quotable sentences of the first paper in the prompt, exactly as they stand there."""
    prompt = "\n".join(str(m.get("content", "")) for m in messages)
    m = re.search(r"<source n=1 [^>]*>\n(.*?)\n</source>", prompt, re.DOTALL)
    text = m.group(1) if m else ""
    out = []
    for s in re.split(r"(?<=[.!?])\s+(?=[A-Z])", text):
        s = " ".join(s.split())
        if 9 <= len(s.split()) <= 60 and not re.search(r"https?:|www\.|<|\[\d|github", s, re.IGNORECASE):
            out.append(s)
    return out


def asked_aspects(messages: list[dict[str, Any]]) -> list[str]:
    prompt = "\n".join(str(m.get("content", "")) for m in messages)
    return re.findall(r'^- "([^"]+)":', prompt, re.MULTILINE)


def cell_text(sentence: str) -> str:
    """A well-behaved model's cell text for the sentence it quotes: its gist (here, its first ten words)."""
    return " ".join(sentence.split()[:10])


def structured_payload(messages: list[dict[str, Any]], quote: Callable[[str], str] = lambda s: s) -> dict[str, Any]:
    """The JSON a well-behaved model sends: a row (every aspect quoting a sentence of the paper,
    `quote(sentence)` as the quote) or an outline (a heading per theme)."""
    if request_kind(messages) == "outline":
        prompt = "\n".join(str(m.get("content", "")) for m in messages)
        themes = re.findall(r"^Theme (\d+):", prompt, re.MULTILINE)
        return {
            "title": "Scripted summary title",
            "themes": [{"heading": f"Scripted theme {k}", "focus": "What these papers share."} for k in themes],
        }
    sentences = paper_sentences(messages) or ["The paper states nothing quotable in this prompt."]
    cells = {
        a: {"text": cell_text(sentences[i % len(sentences)]), "quote": quote(sentences[i % len(sentences)])}
        for i, a in enumerate(asked_aspects(messages))
    }
    return {"cells": cells}


def cited_prose(messages: list[dict[str, Any]]) -> str:
    """Prose a well-behaved model writes: for each of the first three sources, what it says (its first
    sentence, or a comparison row's first cell), cited."""
    prompt = "\n".join(str(m.get("content", "")) for m in messages)
    out = []
    for n, body in re.findall(r"<source n=(\d+)[^>]*>\n(.*?)\n</source>", prompt, re.DOTALL)[:3]:
        first = re.sub(r"^[\w ]{1,40}: ", "", body.strip().splitlines()[0]) if body.strip() else ""
        sentence = (split_sentences(first) or [first])[0].rstrip(".")
        out.append(f"{sentence} [{n}].")
    return " ".join(out) or "This paper reports findings on this topic [1]."


def json_style(name: str, dress: Callable[[dict[str, Any]], str], quote: Callable[[str], str] = lambda s: s) -> None:
    """Register a style: structured requests get `dress(payload)`, prose requests cited prose."""

    def respond(messages: list[dict[str, Any]], body: dict[str, Any]) -> str:
        if request_kind(messages) == "prose":
            return cited_prose(messages)
        return dress(structured_payload(messages, quote))

    STYLES[name] = respond


def _trailing_commas(payload: dict[str, Any]) -> str:
    return re.sub(r"([^\[{\s])(\n\s*[}\]])", r"\1,\2", json.dumps(payload, indent=2))


def _comments(payload: dict[str, Any]) -> str:
    lines = json.dumps(payload, indent=2).splitlines()
    out = ["// the row, as asked"]
    for line in lines:
        out.append(line + ("  // checked against the paper" if line.endswith(",") else ""))
    return "\n".join([*out, "/* end of the object */"])


def _key_case(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k)[:1].upper() + str(k)[1:]: _key_case(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_key_case(v) for v in value]
    return value


def _no_wrapper(payload: dict[str, Any]) -> str:
    return json.dumps(payload.get("cells", payload))


def _elided(sentence: str) -> str:
    """A clause of the sentence, first letter capitalised, its middle left out with "..."."""
    words = sentence.split()
    head, tail = " ".join(words[1:4]), " ".join(words[-3:])
    return f"{head[:1].upper()}{head[1:]} ... {tail}"


json_style("json-trailing-commas", _trailing_commas)
json_style("json-comments", _comments)
json_style("json-keycase", lambda payload: json.dumps(_key_case(payload)))
json_style("json-no-wrapper", _no_wrapper)
json_style("json-single-quotes", repr)  # a Python dict: single quotes, None
json_style("json-prose-braces", lambda payload: f"Here is the JSON:\n{json.dumps(payload)}\n\n{JSON_NOTE}")
json_style("quote-capitalised-elided", json.dumps, quote=_elided)
json_style("json-garbage", lambda payload: GARBAGE)


@style("json-think")
def _json_think(messages: list[dict[str, Any]], body: dict[str, Any]) -> str:
    """A reasoning model: a <think> block with braces and a [3] first, then the reply."""
    reply = cited_prose(messages) if request_kind(messages) == "prose" else json.dumps(structured_payload(messages))
    return f"<think>{JSON_REASONING}</think>\n\n{reply}"


# --- reply styles: transport (truncation, error bodies, stream endings) -------------------------------

# Each style is one way a real server ends or fails a reply; what the user should see is asserted in
# tests/test_llm_transport.py. Prose requests get a reply citing the first source in the prompt.
LENGTH_CUT = f"{PIG_CLAIM} [1]. It also reports that t"
CITED_CLOSE = f"{PIG_CLAIM} [1]. Their means and variances are trained along with a lightweight neural network [1]."
ERR_200 = {"error": {"message": "Upstream provider overloaded, retry later (request id 42)", "code": 502}}
OLLAMA_404 = {"error": 'model "llama3" not found, try pulling it first'}
OPENAI_401 = {
    "error": {
        "message": "Incorrect API key provided: test-key. You can find your API key at "
        "https://platform.openai.com/account/api-keys.",
        "type": "invalid_request_error",
        "param": None,
        "code": "invalid_api_key",
    }
}
NO_CHOICES = {"id": "chatcmpl-test", "object": "chat.completion", "model": MODEL, "usage": {"total_tokens": 0}}
# The French of the question a French user asks in the tests, and the English a model writes for it.
FRENCH_QUERIES = {
    "Comment des fonctions gaussiennes à positions apprenables peuvent-elles remplacer un maillage fixe "
    "en apprentissage informé par la physique ?": "How can Gaussian functions with learnable positions "
    "replace a fixed mesh in physics-informed learning?",
}
FRENCH_ANSWER = (
    "Des fonctions gaussiennes remplacent le maillage fixe : leurs positions sont apprises [{n}]. "
    "Elles se déplacent là où la solution varie le plus pendant l'entraînement ; le maillage suit [{n}]."
)


def is_streamed(body: dict[str, Any]) -> bool:
    return bool(body.get("stream"))


def judge_request(messages: list[dict[str, Any]]) -> int:
    """How many sentences a verification request (assistant/answers/verify/llm_judge.py) asks about; 0: none."""
    if not messages or not str(messages[0].get("content", "")).startswith("You check sentences"):
        return 0
    return len(re.findall(r"^Sentence \d+:", str(messages[-1].get("content", "")), re.MULTILINE))


def judge_all(messages: list[dict[str, Any]], verdict: str = "supported") -> str:
    """A capable judge's reply: one verdict for every sentence asked about."""
    return json.dumps({"verdicts": [{"i": i, "verdict": verdict} for i in range(1, judge_request(messages) + 1)]})


def rewrite_request(messages: list[dict[str, Any]]) -> str | None:
    """The user message of a query-rewrite request (no sources, "query:" asked for), else None."""
    if not messages or source_numbers(messages):
        return None
    last = str(messages[-1].get("content", ""))
    return last if last.rstrip().endswith("query:") else None


def first_source_reply(messages: list[dict[str, Any]], text: str = CITED_CLOSE) -> str:
    found = source_numbers(messages)
    return text.replace("[1]", f"[{found[0]}]") if found else "OK."


@style("length-cut")
def _length_cut(messages: list[dict[str, Any]], body: dict[str, Any]) -> Reply:
    """The model hit max_tokens mid-word: `finish_reason: "length"`."""
    return Reply(text=first_source_reply(messages, LENGTH_CUT), finish_reason="length")


@style("no-done")
def _no_done(messages: list[dict[str, Any]], body: dict[str, Any]) -> Reply:
    """A finish reason, then the body closes without `data: [DONE]`."""
    return Reply(text=first_source_reply(messages), send_done=False)


@style("no-finish-clean-close")
def _no_finish_clean_close(messages: list[dict[str, Any]], body: dict[str, Any]) -> Reply:
    """Neither a finish reason nor `[DONE]`: the chunked body just ends (cleanly, not cut)."""
    return Reply(text=first_source_reply(messages), finish_reason=None, send_done=False)


@style("err-200-body")
def _err_200_body(messages: list[dict[str, Any]], body: dict[str, Any]) -> Reply:
    """A proxy's error object sent with HTTP 200 in place of a completion. (This server sends `body`
    only to a non-streaming request; a streamed one gets the error as an SSE event instead.)"""
    if is_streamed(body):
        return Reply(error_in_stream=True)
    return Reply(body=ERR_200)


@style("ollama-404")
def _ollama_404(messages: list[dict[str, Any]], body: dict[str, Any]) -> Reply:
    """Ollama asked for a model it has not pulled: 404 with a plain-string `error`."""
    return Reply(status=404, error_body=OLLAMA_404)


@style("openai-401")
def _openai_401(messages: list[dict[str, Any]], body: dict[str, Any]) -> Reply:
    """OpenAI's wrong-key answer, which quotes the key sent (configure_env sends "test-key")."""
    return Reply(status=401, error_body=OPENAI_401)


@style("sse-error-event")
def _sse_error_event(messages: list[dict[str, Any]], body: dict[str, Any]) -> Reply:
    """vLLM/Ollama: some text, then `data: {"error": …}` instead of a finish (non-streaming: HTTP 500)."""
    if not is_streamed(body):
        return Reply(status=500, error_body={"error": {"message": "scripted stream error"}})
    return Reply(text="PIG places Gaussian functions with", error_in_stream=True, send_done=False)


@style("no-choices-200")
def _no_choices_200(messages: list[dict[str, Any]], body: dict[str, Any]) -> Reply:
    """HTTP 200 with a completion that has no `choices` (llama-index used to crash on it: TypeError)."""
    if is_streamed(body):
        return Reply(text="", finish_reason=None)
    return Reply(body=NO_CHOICES)


@style("lead-in-rewrite")
def _lead_in_rewrite(messages: list[dict[str, Any]], body: dict[str, Any]) -> str:
    """A chatty model: the rewritten query after a lead-in line, in quotes, with an explanation;
    answers cite the first source."""
    asked = rewrite_request(messages)
    if asked is None:
        return first_source_reply(messages)
    first = re.search(r"^User: (.+)$", asked, re.MULTILINE)
    follow = re.search(r"^(?:Follow-up|Question): (.+)$", asked, re.MULTILINE)
    subject = first.group(1) if first else ""
    query = f"{follow.group(1).rstrip('?') if follow else 'details'} in: {subject}".strip()
    return f'Here is the rewritten standalone query:\n\n"{query}"\n\nThis query names the subject explicitly.'


@style("french")
def _french(messages: list[dict[str, Any]], body: dict[str, Any]) -> str:
    """Answers in French citing the first source; asked to rewrite, gives the English of a question
    it knows (FRENCH_QUERIES), else repeats the question; asked to judge its French sentences against
    the English passages, finds them supported (what a model reading both languages does)."""
    if judge_request(messages):
        return judge_all(messages)
    asked = rewrite_request(messages)
    if asked is not None:
        question = re.search(r"^(?:Follow-up|Question): (.+)$", asked, re.MULTILINE)
        text = question.group(1).strip() if question else ""
        return FRENCH_QUERIES.get(text, text)
    found = source_numbers(messages)
    return FRENCH_ANSWER.format(n=found[0]) if found else "NOT_IN_SOURCES"
