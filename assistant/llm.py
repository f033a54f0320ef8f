"""The chat LLM: built from settings (OpenAI or any OpenAI-compatible server), failures made readable.

Every failure of a call — timeout, HTTP 429/5xx, refused connection, a stream cut mid-answer — leaves
this module as one `LLMError` whose message is a short reason ("timeout after 2s", "HTTP 429",
"stream cut"), so callers can fall back to an extractive answer and say why.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

from assistant.errors import LLMError
from assistant.settings import Settings

Message = Mapping[str, str] | Any  # {"role", "content"} or a llama-index ChatMessage

_NO_KEY = "not-needed"  # local servers (Ollama, vLLM, llama.cpp) ignore the key but the client wants one


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
    `stream` its text as it arrives.
    """

    model: str

    def chat(self, messages: Sequence[Message]) -> str: ...

    def stream(self, messages: Sequence[Message]) -> Iterator[str]: ...


class LlamaIndexChat:
    """The one seam between this product and llama-index's LLM classes (a `ChatModel`).

    llama-index gives us the provider classes (OpenAI, OpenAILike) and their message types; this
    wrapper turns their replies and exceptions into the product's contract: text, or one `LLMError`.
    """

    def __init__(self, llm: Any, model: str) -> None:
        self.llm = llm
        self.model = model

    @property
    def timeout(self) -> float | None:
        value = getattr(self.llm, "timeout", None)
        return float(value) if isinstance(value, int | float) else None

    def chat(self, messages: Sequence[Message]) -> str:
        """One complete reply; any failure → LLMError(reason)."""
        try:
            response = self.llm.chat(to_chat_messages(messages))
        except Exception as exc:
            raise LLMError(failure_reason(exc, self.timeout)) from exc
        text = response.message.content or ""
        if not text.strip():
            raise LLMError("empty reply")
        return str(text)

    def stream(self, messages: Sequence[Message]) -> Iterator[str]:
        """Reply text as it arrives; a failure before or during the stream → LLMError(reason).

        A stream that ends without a finish reason was cut (the server died or a proxy dropped it)
        even when the transport closed cleanly.
        """
        produced = False
        finished = False
        try:
            for response in self.llm.stream_chat(to_chat_messages(messages)):
                finished = finished or _finish_reason(response.raw) is not None
                delta = response.delta or ""
                if delta:
                    produced = True
                    yield delta
        except LLMError:
            raise
        except GeneratorExit:
            raise
        except Exception as exc:
            raise LLMError(failure_reason(exc, self.timeout, streaming=True)) from exc
        if not produced:
            raise LLMError("empty reply")
        if not finished:
            raise LLMError("stream cut")


def build_llm(settings: Settings) -> LlamaIndexChat:
    """The configured model: llama-index `OpenAI` for OpenAI's API, `OpenAILike` for the rest.

    Retries happen in the openai client only (it honours Retry-After): we build that client with
    `llm_max_retries` and hand it to llama-index through its public `openai_client` argument, while
    llama-index's own retry layer stays off (`max_retries=0`), so attempts are exactly 1 + retries.
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
    try:
        import openai

        if uses_openai_proper(settings):
            if not key:
                raise LLMError(
                    f"{model} is an OpenAI model and needs an API key: set PAPERS_LLM_API_KEY or OPENAI_API_KEY"
                )
            from llama_index.llms.openai import OpenAI

            client = openai.OpenAI(api_key=key, max_retries=settings.llm_max_retries, timeout=settings.llm_timeout_s)
            return LlamaIndexChat(OpenAI(api_key=key, openai_client=client, **common), model)
        from llama_index.llms.openai_like import OpenAILike

        client = openai.OpenAI(
            api_key=key or _NO_KEY,
            base_url=base or None,
            max_retries=settings.llm_max_retries,
            timeout=settings.llm_timeout_s,
        )
        return LlamaIndexChat(
            OpenAILike(
                api_base=base or None,
                api_key=key or _NO_KEY,
                is_chat_model=True,
                context_window=settings.llm_context_window,
                openai_client=client,
                **common,
            ),
            model,
        )
    except LLMError:
        raise
    except Exception as exc:
        raise LLMError(f"cannot set up LLM {model!r}: {exc}") from exc


def to_chat_messages(messages: Sequence[Message]) -> list[Any]:
    from llama_index.core.llms import ChatMessage

    out = []
    for m in messages:
        if isinstance(m, ChatMessage):
            out.append(m)
        else:
            out.append(ChatMessage(role=m["role"], content=m["content"]))
    return out


def failure_reason(exc: BaseException, timeout_s: float | None = None, *, streaming: bool = False) -> str:
    """A short human reason for any exception raised while talking to the LLM."""
    import httpx
    import openai

    after = f" after {timeout_s:g}s" if timeout_s else ""
    if isinstance(exc, LLMError):
        return str(exc)
    if isinstance(exc, openai.APITimeoutError | httpx.TimeoutException):
        return f"timeout{after}"
    if isinstance(exc, openai.APIStatusError):
        return f"HTTP {exc.status_code}"
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
        # A server sent an error object inside the stream (vLLM, Ollama do this mid-answer).
        return "stream error" if streaming else f"API error: {exc.message[:80]}"
    text = str(exc).strip().splitlines()[0][:120] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


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


@dataclass(frozen=True)
class LLMStatus:
    state: Literal["offline", "configured", "reachable", "unreachable"]
    model: str = ""
    base_url: str = ""
    detail: str = ""

    @property
    def label(self) -> str:
        if self.state == "offline":
            return "offline (extractive answers)"
        where = f" at {self.base_url}" if self.base_url else ""
        extra = f": {self.detail}" if self.detail else ""
        return f"{self.model}{where} — {self.state}{extra}"


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
        return LLMStatus("unreachable", model, base, f"HTTP {resp.status_code}")
    return LLMStatus("reachable", model, base)
