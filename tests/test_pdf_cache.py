"""The PDF parse cache (ingest/sources/pdf_cache.py): an unchanged PDF is parsed once, by its bytes;
a re-sync of a Zotero library starts no parser process; changed bytes, other limits or the cache
turned off parse again; a corrupt entry is re-parsed, never an error."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from assistant.models import Paper
from assistant.settings import Settings
from ingest.sources import pdf
from ingest.sources.zotero import load_zotero

PDFS = Path(__file__).parent / "data" / "pdfs"
FIXTURE = Path(__file__).parent / "data" / "zotero-fixture"


def _settings(tmp_path: Path, **kw: Any) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path / "data", **kw)  # type: ignore[call-arg]


class Spawns:
    """Counts parser processes started through subprocess.run (the worker runs nothing else)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        real = subprocess.run

        def run(*args: Any, **kw: Any) -> Any:
            self.count += 1
            return real(*args, **kw)

        monkeypatch.setattr(pdf.subprocess, "run", run)


def _load(path: Path, settings: Settings) -> Paper:
    (got,) = list(pdf.load_pdf(path, settings))
    assert isinstance(got, Paper), got
    return got


def test_an_unchanged_pdf_is_parsed_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spawns = Spawns(monkeypatch)
    settings = _settings(tmp_path)
    target = Path(shutil.copy(PDFS / "twocol.pdf", tmp_path / "paper.pdf"))
    first = _load(target, settings)
    assert spawns.count == 1 and list((settings.data_dir / "cache" / "pdf").rglob("*.json"))
    os.utime(target, (1, 1))  # touched (a re-download): same bytes, still the stored parse
    again = _load(target, settings)
    assert spawns.count == 1 and again == first
    moved = Path(shutil.copy(target, tmp_path / "renamed.pdf"))  # same bytes elsewhere: its own source
    assert _load(moved, settings).source == str(moved) and spawns.count == 1

    shutil.copy(PDFS / "onecol.pdf", target)  # new bytes at the same path
    assert _load(target, settings).title != first.title and spawns.count == 2
    _load(target, _settings(tmp_path, pdf_max_pages=3))  # other limits: another parse
    assert spawns.count == 3
    off = _settings(tmp_path, pdf_cache=False)
    _load(target, off), _load(target, off)
    assert spawns.count == 5


def test_a_corrupt_entry_is_parsed_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spawns = Spawns(monkeypatch)
    settings = _settings(tmp_path)
    first = _load(PDFS / "twocol.pdf", settings)
    (entry,) = list((settings.data_dir / "cache" / "pdf").rglob("*.json"))
    entry.write_text('{"title": "cut sh')
    assert _load(PDFS / "twocol.pdf", settings) == first and spawns.count == 2


def test_a_zotero_resync_starts_no_parser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spawns = Spawns(monkeypatch)
    settings = _settings(tmp_path)
    first = load_zotero(FIXTURE, settings)
    started = spawns.count
    assert started >= 1  # the fixture's stored PDFs
    again = load_zotero(FIXTURE, settings)
    assert spawns.count == started and again.records == first.records
