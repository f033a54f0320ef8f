"""Domain exceptions. The faces (CLI, UI) turn these into one readable line."""

from __future__ import annotations


class PapersError(Exception):
    """Base of every error meant for the user."""


class IngestError(PapersError):
    """A source could not be read at all."""


class LibraryError(PapersError):
    """The library (Chroma, BM25, manifest) cannot be opened or written."""


class LibraryBusyError(LibraryError):
    """Another process holds the write lock."""


class ModelMismatchError(LibraryError):
    """The library was built with another embedding model."""


class EmbeddingError(PapersError):
    """The embedding model could not be loaded or failed."""


class LLMError(PapersError):
    """The LLM endpoint failed (timeout, HTTP error, broken stream)."""


class LLMTruncated(LLMError):
    """The model stopped at its token limit (`finish_reason: "length"`): `partial` is what it wrote.

    Callers that can use a partial reply (an answer cut back to its last complete cited sentence)
    catch this before LLMError; the rest treat it as a failure and fall back.
    """

    def __init__(self, partial: str, max_tokens: int | None = None) -> None:
        limit = f" of {max_tokens}" if max_tokens else ""
        super().__init__(f"reply cut at the token limit{limit} (raise PAPERS_LLM_MAX_TOKENS)")
        self.partial = partial
        self.max_tokens = max_tokens


class ZoteroError(IngestError):
    """A Zotero data directory or its zotero.sqlite cannot be read (missing, corrupt, too new)."""


class PdfViewError(PapersError):
    """A PDF page cannot be shown (file gone, unreadable, no such page); the message says which and why."""


class ApiError(PapersError):
    """Client mode: the API at PAPERS_API_URL refused a request or cannot be reached; `status` is the
    HTTP status (0: no answer)."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class ClientModeError(ApiError):
    """Client mode cannot do this (it needs the library's own machine); the message says where to run it."""
