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
