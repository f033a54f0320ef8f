"""The chat LLM: built from settings (OpenAI or any OpenAI-compatible server), failures made readable.

Every failure of a call — timeout, HTTP 429/5xx, refused connection, a stream cut mid-answer, an error
object sent in place of a reply — leaves this module as one `LLMError` whose message is a short reason
carrying the provider's own words where it sent some ("HTTP 401: Incorrect API key provided: sk-***",
"HTTP 404: model \"llama3\" not found, try pulling it first", "stream error: out of memory"), shortened
and with the API key redacted, so callers can fall back to an extractive answer and say why. A reply
the model stopped at its token limit is `LLMTruncated`, carrying the text written so far. The context
size a server reports for its model (`reported_context`) is asked here too, once per model.

Why this module is long: it is the one seam to the provider — building the client, calling it, reading
what the server says of itself and turning every way a call fails into one reason; split, each part
would need the others' client and error shapes.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from http import HTTPStatus
from typing import Any, Protocol, runtime_checkable

from assistant.errors import LLMError, LLMTruncated
from assistant.models import LLMStatus
from assistant.settings import Settings

Message = Mapping[str, str] | Any  # {"role", "content"} or a llama-index ChatMessage

_NO_KEY = "not-needed"  # local servers (Ollama, vLLM, llama.cpp) ignore the key but the client wants one
_REASON_CHARS = 160  # a provider's message is shortened to this many characters


def _known_openai_models() -> set[str]:
    try:
        from llama_index.llms.openai.utils import ALL_AVAILABLE_MODELS

        return set(ALL_AVAILABLE_MODELS)
    except Exception:  # pragma: no cover - layout change
        return set()


def uses_openai_proper(settings: Settings) -> bool:
    """True when the model is one OpenAI's own API serves and no other server is configured."""
    return not settings.resolved_llm_base_url() and settings.llm_model.strip() in _known_openai_models()


@runtime_checkable
class ChatModel(Protocol):
    """What the answer, comparison and summary code needs of a chat model.

    Every failure leaves as one `LLMError` with a short reason; `chat` returns the whole reply,
    `stream` its text as it arrives. A reply cut at the token limit raises `LLMTruncated` (an
    `LLMError`) after its text: `chat` puts it in `partial`, `stream` has yielded it.
    """

    model: str

    def chat(self, messages: Sequence[Message]) -> str: ...

    def stream(self, messages: Sequence[Message]) -> Iterator[str]: ...


class ReplyTap:
    """An httpx response hook that keeps a 200 JSON body holding no `choices` (per thread).

    Some servers and proxies answer HTTP 200 with `{"error": {...}}` instead of a completion; the
    openai client takes it for a completion and llama-index fails on it with
    "TypeError: 'NoneType' object is not subscriptable". The hook lets the reason say the
    provider's words instead. Only JSON bodies are read here (a stream is left alone).
    """

    def __init__(self) -> None:
        self._local = threading.local()

    def reset(self) -> None:
        self._local.body = None

    @property
    def body(self) -> Any:
        return getattr(self._local, "body", None)

    def __call__(self, response: Any) -> None:
        if response.status_code != 200 or "json" not in response.headers.get("content-type", ""):
            return
        response.read()
        try:
            data = response.json()
        except ValueError:
            data = response.text
        if not (isinstance(data, Mapping) and isinstance(data.get("choices"), list) and data["choices"]):
            self._local.body = data


class LlamaIndexChat:
    """The one seam between this product and llama-index's LLM classes (a `ChatModel`).

    llama-index gives us the provider classes (OpenAI, OpenAILike) and their message types; this
    wrapper turns their replies and exceptions into the product's contract: text, or one `LLMError`.
    """

    def __init__(self, llm: Any, model: str, tap: ReplyTap | None = None, base_url: str = "") -> None:
        self.llm = llm
        self.model = model
        self.tap = tap or ReplyTap()
        self.base_url = base_url
        self._context: int | None | bool = False  # False: not asked yet

    @property
    def context_tokens(self) -> int | None:
        """The context size the server reports for this model (asked once), None when it reports none."""
        if self._context is False:
            key = getattr(self.llm, "api_key", "") or ""
            self._context = reported_context(self.base_url, key, self.model) if self.base_url else None
        return self._context if isinstance(self._context, int) and not isinstance(self._context, bool) else None

    @property
    def timeout(self) -> float | None:
        value = getattr(self.llm, "timeout", None)
        return float(value) if isinstance(value, int | float) else None

    @property
    def max_tokens(self) -> int | None:
        value = getattr(self.llm, "max_tokens", None)
        return int(value) if isinstance(value, int) else None

    def _secrets(self) -> list[str]:
        key = getattr(self.llm, "api_key", None)
        return [key] if isinstance(key, str) and key and key != _NO_KEY else []

    def _failure(self, exc: BaseException, streaming: bool) -> LLMError:
        """The error for `exc`; a 200 error body the tap kept explains a malformed-reply crash."""
        body = self.tap.body
        if body is not None and not isinstance(exc, LLMError):
            return LLMError(body_reason(body, self._secrets()))
        return LLMError(failure_reason(exc, self.timeout, streaming=streaming, secrets=self._secrets()))

    def chat(self, messages: Sequence[Message]) -> str:
        """One complete reply; any failure → LLMError(reason); the token limit → LLMTruncated."""
        self.tap.reset()
        try:
            response = self.llm.chat(to_chat_messages(messages))
        except Exception as exc:
            raise self._failure(exc, streaming=False) from exc
        text = str(response.message.content or "")
        if _finish_reason(response.raw) == "length":
            raise LLMTruncated(text, self.max_tokens)
        if not text.strip():
            body = self.tap.body
            raise LLMError(body_reason(body, self._secrets()) if body is not None else "empty reply")
        return text

    def stream(self, messages: Sequence[Message]) -> Iterator[str]:
        """Reply text as it arrives; a failure before or during the stream → LLMError(reason).

        A cut connection (the server died, a proxy dropped it) raises a transport error in httpx and
        is "stream cut". A body that closes cleanly is a finished reply even without `[DONE]` or a
        finish reason (some servers send neither). `finish_reason: "length"` → LLMTruncated after
        the text was yielded.
        """
        self.tap.reset()
        parts: list[str] = []
        finish: str | None = None
        try:
            for response in self.llm.stream_chat(to_chat_messages(messages)):
                finish = _finish_reason(response.raw) or finish
                delta = response.delta or ""
                if delta:
                    parts.append(delta)
                    yield delta
        except LLMError:
            raise
        except GeneratorExit:
            raise
        except Exception as exc:
            raise self._failure(exc, streaming=True) from exc
        if finish == "length":
            raise LLMTruncated("".join(parts), self.max_tokens)
        if not parts:
            body = self.tap.body
            raise LLMError(body_reason(body, self._secrets()) if body is not None else "empty reply")


def build_llm(settings: Settings) -> LlamaIndexChat:
    """The configured model: llama-index `OpenAI` for OpenAI's API, `OpenAILike` for the rest.

    Retries happen in the openai client only (it honours Retry-After): we build that client with
    `llm_max_retries` and hand it to llama-index through its public `openai_client` argument, while
    llama-index's own retry layer stays off (`max_retries=0`), so attempts are exactly 1 + retries.
    The client's httpx client carries a `ReplyTap` (error bodies sent with HTTP 200).
    """
    model = settings.llm_model.strip()
    if not model:
        raise LLMError("no LLM configured (set PAPERS_LLM_MODEL)")
    base = settings.resolved_llm_base_url().strip().rstrip("/")
    key = settings.resolved_llm_api_key()
    common: dict[str, Any] = {
        "model": model,
        "temperature": settings.llm_temperature,
        "max_tokens": settings.llm_max_tokens,
        "timeout": settings.llm_timeout_s,
        "max_retries": 0,
    }
    tap = ReplyTap()
    try:
        import openai

        http = openai.DefaultHttpxClient(event_hooks={"response": [tap]})
        if uses_openai_proper(settings):
            if not key:
                raise LLMError(
                    f"{model} is an OpenAI model and needs an API key: set PAPERS_LLM_API_KEY or OPENAI_API_KEY"
                )
            from llama_index.llms.openai import OpenAI

            client = openai.OpenAI(
                api_key=key, max_retries=settings.llm_max_retries, timeout=settings.llm_timeout_s, http_client=http
            )
            return LlamaIndexChat(OpenAI(api_key=key, openai_client=client, **common), model, tap)
        from llama_index.llms.openai_like import OpenAILike

        client = openai.OpenAI(
            api_key=key or _NO_KEY,
            base_url=base or None,
            max_retries=settings.llm_max_retries,
            timeout=settings.llm_timeout_s,
            http_client=http,
        )
        return LlamaIndexChat(
            OpenAILike(
                api_base=base or None,
                api_key=key or _NO_KEY,
                is_chat_model=True,
                context_window=settings.llm_context_tokens,
                openai_client=client,
                **common,
            ),
            model,
            tap,
            base,
        )
    except LLMError:
        raise
    except Exception as exc:
        raise LLMError(f"cannot set up LLM {model!r}: {exc}") from exc


_CONTEXT_KEYS = ("max_model_len", "context_length", "max_context_length", "context_window", "n_ctx")


def _context_in(value: Any) -> int | None:
    """A context size anywhere in a server's model record: vLLM `max_model_len`, LM Studio
    `max_context_length`, llama.cpp's `/props` `default_generation_settings.n_ctx`, `meta.n_ctx`…"""
    if isinstance(value, dict):
        for key in _CONTEXT_KEYS:
            got = value.get(key)
            if isinstance(got, int) and not isinstance(got, bool) and 256 <= got <= 10_000_000:
                return got
        for inner in value.values():
            found = _context_in(inner)
            if found:
                return found
    if isinstance(value, list):
        for inner in value:
            found = _context_in(inner)
            if found:
                return found
    return None


def reported_context(base_url: str, api_key: str = "", model: str = "", timeout_s: float = 3.0) -> int | None:
    """The model's context size as its server reports it: `GET {base}/models` (vLLM, LM Studio,
    llama.cpp) — the entry for `model` when several are listed — then llama.cpp's `GET /props`. None when
    the server reports none (llama-cpp-python, OpenAI) or cannot be reached: the setting stands."""
    import httpx

    headers = {"Authorization": f"Bearer {api_key}"} if api_key and api_key != _NO_KEY else {}
    root = re.sub(r"/v1/?$", "", base_url.rstrip("/"))
    for url in (f"{base_url.rstrip('/')}/models", f"{root}/props"):
        try:
            reply = httpx.get(url, headers=headers, timeout=timeout_s)
            if reply.status_code != 200:
                continue
            body = reply.json()
        except (httpx.HTTPError, ValueError):
            continue
        entries = body.get("data") if isinstance(body, dict) and isinstance(body.get("data"), list) else None
        mine = [e for e in entries or [] if isinstance(e, dict) and e.get("id") == model]
        found = _context_in(mine or body)
        if found:
            return found
    return None


def to_chat_messages(messages: Sequence[Message]) -> list[Any]:
    from llama_index.core.llms import ChatMessage

    out = []
    for m in messages:
        if isinstance(m, ChatMessage):
            out.append(m)
        else:
            out.append(ChatMessage(role=m["role"], content=m["content"]))
    return out


# --- reasons -----------------------------------------------------------------------------------------
_KEYLIKE = re.compile(r"\b((?:sk|pk|rk|key)-)[A-Za-z0-9_\-*.]{6,}|(\bBearer\s+)\S+", re.IGNORECASE)


def redact(text: str, secrets: Sequence[str] = ()) -> str:
    """`text` without the configured key(s) or anything shaped like an API key or bearer token."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return _KEYLIKE.sub(lambda m: f"{m.group(1) or m.group(2)}***", text)


def provider_message(body: Any) -> str:
    """The provider's own words in an error body, whatever its shape: OpenAI/vLLM/LiteLLM
    `{"error": {"message": …}}` (the openai client hands over the inner object), Ollama's
    `{"error": "model … not found"}`, `{"message": …}`, FastAPI's `{"detail": …}`, or a plain string."""
    if isinstance(body, str):
        return body.strip()
    if isinstance(body, list):
        return provider_message(body[0]) if body else ""
    if not isinstance(body, Mapping):
        return ""
    for key in ("error", "message", "detail", "msg"):
        value = body.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
        if isinstance(value, Mapping | list) and value:
            found = provider_message(value)
            if found:
                return found
    return ""


def _short(text: str, secrets: Sequence[str] = ()) -> str:
    flat = redact(" ".join(text.split()), secrets)
    return flat if len(flat) <= _REASON_CHARS else flat[: _REASON_CHARS - 1].rstrip() + "…"


def _status_reason(status: int, body: Any, secrets: Sequence[str]) -> str:
    message = provider_message(body)
    try:
        phrase = HTTPStatus(status).phrase.lower()
    except ValueError:
        phrase = ""
    plain = message.lower().strip(" .")
    if not message or plain == phrase or f"http {status}" in plain:
        return f"HTTP {status}"  # the body only repeats the status
    return f"HTTP {status}: {_short(message, secrets)}"


def body_reason(body: Any, secrets: Sequence[str] = ()) -> str:
    """The reason for an HTTP 200 body that is no completion (an error object, or no `choices`)."""
    message = provider_message(body)
    if message:
        return f"provider error: {_short(message, secrets)}"
    shown = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
    return f"reply without choices: {_short(shown, secrets)}" if shown.strip() else "empty reply"


def failure_reason(
    exc: BaseException, timeout_s: float | None = None, *, streaming: bool = False, secrets: Sequence[str] = ()
) -> str:
    """A short human reason for any exception raised while talking to the LLM."""
    import httpx
    import openai

    after = f" after {timeout_s:g}s" if timeout_s else ""
    if isinstance(exc, LLMError):
        return str(exc)
    if isinstance(exc, openai.APITimeoutError | httpx.TimeoutException):
        return f"timeout{after}"
    if isinstance(exc, openai.APIStatusError):
        return _status_reason(exc.status_code, exc.body, secrets)
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__
        if isinstance(cause, httpx.TimeoutException):
            return f"timeout{after}"
        if streaming and isinstance(cause, httpx.RemoteProtocolError | httpx.ReadError):
            return "stream cut"
        return "connection failed"
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.StreamError):
        return "stream cut" if streaming else "connection broken"
    if isinstance(exc, httpx.TransportError):
        return "connection failed"
    if isinstance(exc, openai.APIError):
        # An error object inside the stream (vLLM, Ollama, OpenRouter send `data: {"error": …}` mid-answer).
        message = provider_message(exc.body) or exc.message
        return f"{'stream' if streaming else 'API'} error: {_short(message, secrets)}"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {_short(text, secrets)}" if text else type(exc).__name__


def _finish_reason(raw: Any) -> str | None:
    try:
        choices = raw.choices if hasattr(raw, "choices") else raw.get("choices", [])
        for choice in choices or []:
            reason = choice.finish_reason if hasattr(choice, "finish_reason") else choice.get("finish_reason")
            if reason:
                return str(reason)
    except Exception:
        return None
    return None


def llm_status(settings: Settings, probe: bool = True, timeout_s: float = 2.0) -> LLMStatus:
    """offline (no model set) / configured (not probed) / reachable / unreachable (GET /models)."""
    model = settings.llm_model.strip()
    if not model:
        return LLMStatus("offline")
    base = settings.resolved_llm_base_url().strip().rstrip("/")
    if not probe:
        return LLMStatus("configured", model, base)
    import httpx

    url = (base or "https://api.openai.com/v1") + "/models"
    key = settings.resolved_llm_api_key()
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    try:
        resp = httpx.get(url, headers=headers, timeout=min(timeout_s, settings.llm_timeout_s))
    except httpx.TimeoutException:
        return LLMStatus("unreachable", model, base, f"timeout after {min(timeout_s, settings.llm_timeout_s):g}s")
    except httpx.HTTPError as exc:
        return LLMStatus("unreachable", model, base, type(exc).__name__)
    if resp.status_code >= 400:
        try:
            body: Any = resp.json()
        except ValueError:
            body = resp.text[:500]
        return LLMStatus("unreachable", model, base, _status_reason(resp.status_code, body, [key]))
    return LLMStatus("reachable", model, base)
