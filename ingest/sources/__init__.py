"""Sources → Papers. One module per format; each yields Paper or a per-item LoadError."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from assistant.models import LoadError, Paper
from assistant.settings import Settings

Loader = Callable[[Path, Settings], Iterator[Paper | LoadError]]


def _jsonl(path: Path, settings: Settings) -> Iterator[Paper | LoadError]:
    from ingest.sources.jsonl import load_jsonl

    return load_jsonl(path, settings.max_paper_chars)


def _csv(path: Path, settings: Settings) -> Iterator[Paper | LoadError]:
    from ingest.sources.csv import load_csv

    return load_csv(path, settings.max_paper_chars)


def _bib(path: Path, settings: Settings) -> Iterator[Paper | LoadError]:
    from ingest.sources.bibtex import load_bibtex

    return load_bibtex(path, settings.max_paper_chars)


def _json(path: Path, settings: Settings) -> Iterator[Paper | LoadError]:
    from ingest.sources.csl import load_json

    return load_json(path, settings.max_paper_chars)  # CSL-JSON by content, else a JSON array


def _ris(path: Path, settings: Settings) -> Iterator[Paper | LoadError]:
    from ingest.sources.ris import load_ris

    return load_ris(path, settings.max_paper_chars)


def _wos(path: Path, settings: Settings) -> Iterator[Paper | LoadError]:
    from ingest.sources.wos import load_wos

    return load_wos(path, settings.max_paper_chars)


def _pdf(path: Path, settings: Settings) -> Iterator[Paper | LoadError]:
    from ingest.sources.pdf import load_pdf

    return load_pdf(path, settings)


LOADERS: dict[str, Loader] = {
    ".jsonl": _jsonl,
    ".ndjson": _jsonl,
    ".json": _json,
    ".csv": _csv,
    ".bib": _bib,
    ".bibtex": _bib,
    ".ris": _ris,
    ".ciw": _wos,  # Web of Science tagged export
    ".txt": _wos,  # WoS "Plain text file" export (savedrecs.txt); other .txt files are not papers
    ".pdf": _pdf,
}


def wanted(path: Path) -> bool:
    """A file a folder walk (or the watcher) reads: a known extension, and for `.txt` only a Web of
    Science export (a folder of papers holds README.txt and notes, which are no error)."""
    suffix = path.suffix.lower()
    if suffix not in LOADERS:
        return False
    if suffix != ".txt":
        return True
    from ingest.sources.wos import looks_like_wos

    try:
        with path.open("rb") as fh:
            head = fh.read(512)
    except OSError:
        return False
    return looks_like_wos(head.decode("utf-8", "replace"))


def load_path(path: Path, settings: Settings) -> Iterator[Paper | LoadError]:
    """A file by its extension, or a directory recursively; unreadable files become LoadErrors."""
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and wanted(p))
        if not files:
            yield LoadError(source=str(path), message=f"no {', '.join(sorted(LOADERS))} files in this directory")
        for f in files:
            yield from load_path(f, settings)
        return
    if not path.exists():
        yield LoadError(source=str(path), message="no such file or directory")
        return
    loader = LOADERS.get(path.suffix.lower())
    if loader is None:
        yield LoadError(
            source=str(path),
            message=f"unsupported file type {path.suffix or '(none)'}; expected one of {', '.join(sorted(LOADERS))}",
        )
        return
    size_mb = path.stat().st_size / 1e6
    if size_mb > settings.max_file_mb:
        yield LoadError(
            source=str(path),
            message=f"file is {size_mb:.1f} MB, over the limit of {settings.max_file_mb:g} MB (PAPERS_MAX_FILE_MB)",
        )
        return
    try:
        yield from loader(path, settings)
    except OSError as exc:
        yield LoadError(source=str(path), message=f"cannot read file: {exc.strerror or exc}")
