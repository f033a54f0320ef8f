"""Limits and awkward text: file size and text-per-paper limits with clear messages, huge single
lines, non-UTF-8 and mixed encodings, and duplicate ids within one file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant.library.ingestion import collect
from assistant.models import IngestReport, LoadError, Paper
from assistant.settings import Settings
from ingest.sources import load_path
from tests import compass
from tests import pdf_files as pf
from tests.support import invoke

TITLES = ["Über Gradienten", "Café neural solvers", "Naïve Bayes für Straßen"]


def _settings(**kw: Any) -> Settings:
    return Settings(_env_file=None, **kw)  # type: ignore[call-arg]


def _load(path: Path, settings: Settings | None = None) -> list[Paper | LoadError]:
    return list(load_path(path, settings or _settings()))


def _rec(title: str, **kw: Any) -> dict[str, Any]:
    return {"title": title, "abstract": f"About {title}.", **kw}


def _jsonl(*records: dict[str, Any]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def _only_errors(items: list[Paper | LoadError]) -> list[LoadError]:
    return [x for x in items if isinstance(x, LoadError)]


def _titles(items: list[Paper | LoadError]) -> list[str]:
    return [x.title for x in items if isinstance(x, Paper)]


def _tried(n: int = 1) -> None:
    compass.record("bad inputs tried", n)


# --- file size ------------------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".bib", ".pdf"])
def test_file_over_max_file_mb_is_refused_before_reading(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"big{suffix}"
    with path.open("wb") as fh:  # 3 MB; the content does not matter, it is never read
        fh.write(b"%PDF-1.4\n" if suffix == ".pdf" else b"")
        fh.write(b"x" * 3_000_000)
    items = _load(path, _settings(max_file_mb=2))
    assert len(items) == 1 and isinstance(items[0], LoadError), items
    assert items[0].source == str(path)
    assert items[0].message == "file is 3.0 MB, over the limit of 2 MB (PAPERS_MAX_FILE_MB)"
    _tried()


def test_fifty_megabyte_single_line(tmp_path: Path) -> None:
    """One 50 MB JSONL line: refused by size with a small limit; with the default 50 MB limit it is read
    and refused by the text limit, naming its line, while the line after it still loads."""
    path = tmp_path / "huge.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        fh.write(json.dumps(_rec("Small first")) + "\n")
        fh.write('{"title": "Huge", "abstract": "' + "word " * 9_900_000 + '"}\n')
        fh.write(json.dumps(_rec("Small last")) + "\n")
    size_mb = path.stat().st_size / 1e6
    assert 49 < size_mb < 50
    small = _load(path, _settings(max_file_mb=5))
    assert [str(e) for e in _only_errors(small)] == [
        f"{path}: file is {size_mb:.1f} MB, over the limit of 5 MB (PAPERS_MAX_FILE_MB)"
    ]
    items = _load(path)
    assert _titles(items) == ["Small first", "Small last"]
    (err,) = _only_errors(items)
    assert err.line == 2
    assert err.message == "text is 49,499,999 characters, over the limit of 2,000,000 (PAPERS_MAX_PAPER_CHARS)"
    _tried(2)


# --- text per paper -------------------------------------------------------------------------------
FIVE_MB = "A sentence about neural operators. " * 150_000  # 5.25 M characters


def test_five_megabyte_abstract_in_each_format(tmp_path: Path) -> None:
    limit = "over the limit of 2,000,000 (PAPERS_MAX_PAPER_CHARS)"
    jsonl = tmp_path / "a.jsonl"
    jsonl.write_text(_jsonl(_rec("Fine one"), {"title": "Too long", "abstract": FIVE_MB}, _rec("Fine two")))
    csv_path = tmp_path / "a.csv"
    csv_path.write_text(f'title,abstract\nFine one,About it.\nToo long,"{FIVE_MB}"\nFine two,About it.\n')
    bib = tmp_path / "a.bib"
    bib.write_text(
        "@article{one, title={Fine one}, abstract={About it.}}\n"
        f"@article{{long, title={{Too long}}, abstract={{{FIVE_MB}}}}}\n"
        "@article{two, title={Fine two}, abstract={About it.}}\n"
    )
    array = tmp_path / "a.json"
    array.write_text(json.dumps([_rec("Fine one"), {"title": "Too long", "abstract": FIVE_MB}, _rec("Fine two")]))
    for path, where in [(jsonl, 2), (csv_path, 3), (bib, 2), (array, None)]:
        items = _load(path)
        assert _titles(items) == ["Fine one", "Fine two"], path
        (err,) = _only_errors(items)
        assert (err.source, err.line) == (str(path), where)
        assert limit in err.message and f"{len(FIVE_MB.strip()):,} characters" in err.message, err.message
    assert "entry 2:" in _only_errors(_load(array))[0].message
    assert "entry 'long'" in _only_errors(_load(bib))[0].message
    _tried(4)


def test_text_limit_is_configurable(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text(_jsonl({"title": "Medium", "abstract": "x " * 3000}))
    assert _titles(_load(path)) == ["Medium"]
    (err,) = _only_errors(_load(path, _settings(max_paper_chars=5000)))
    assert "over the limit of 5,000 (PAPERS_MAX_PAPER_CHARS)" in err.message


def test_pdf_text_is_cut_at_the_limit_not_refused(tmp_path: Path) -> None:
    """A long PDF is a real paper: its text is kept up to the limit (the abstract first)."""
    (paper,) = _load(pf.paper_pdf(tmp_path / "p.pdf"), _settings(max_paper_chars=1000))
    assert isinstance(paper, Paper) and paper.abstract == pf.ABSTRACT
    assert len(paper.full_text) <= 1000 + 2 * len(paper.sections)


# --- other huge or hostile single lines -----------------------------------------------------------
def test_deep_nesting_and_giant_numbers_are_line_errors(tmp_path: Path) -> None:
    path = tmp_path / "odd.jsonl"
    path.write_text(
        json.dumps(_rec("Before"))
        + "\n"
        + '{"title": "Deep", "abstract": '
        + "[" * 200_000
        + "\n"
        + '{"title": "Big", "abstract": "x", "year": '
        + "9" * 100_000
        + "}\n"
        + json.dumps(_rec("After"))
        + "\n"
    )
    items = _load(path)
    assert _titles(items) == ["Before", "After"]
    assert [(e.line, e.message) for e in _only_errors(items)] == [
        (2, "invalid JSON: nested too deeply"),
        (3, "invalid JSON: a number has more than 4300 digits"),
    ]
    array = tmp_path / "deep.json"
    array.write_text("[" * 200_000)
    assert [str(e) for e in _load(array)] == [f"{array}: invalid JSON: nested too deeply"]
    _tried(3)


def test_unclosed_csv_quote_mid_file_is_reported_at_its_row(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_text('title,abstract\nFine,About it.\nBroken,"never closed\nLost,row\nAlso lost,row\n')
    items = _load(path)
    assert _titles(items) == ["Fine"]
    (err,) = _only_errors(items)
    assert err.line == 3 and "never closed" in err.message and "rest of the file" in err.message
    _tried()


# --- encodings ------------------------------------------------------------------------------------
@pytest.mark.parametrize("encoding", ["cp1252", "latin-1", "utf-8-sig", "utf-16", "utf-16-be", "utf-32"])
def test_whole_file_encodings(tmp_path: Path, encoding: str) -> None:
    bom = "\ufeff" if encoding in ("utf-16-be",) else ""
    jsonl = tmp_path / "e.jsonl"
    jsonl.write_bytes((bom + _jsonl(*(_rec(t) for t in TITLES))).encode(encoding))
    csv_path = tmp_path / "e.csv"
    csv_path.write_bytes((bom + "title;abstract\n" + "".join(f"{t};About {t}.\n" for t in TITLES)).encode(encoding))
    bib = tmp_path / "e.bib"
    bib.write_bytes(
        (bom + "".join(f"@article{{k{i}, title={{{t}}}, abstract={{About {t}.}}}}\n" for i, t in enumerate(TITLES)))
        .encode(encoding)
    )
    for path in (jsonl, csv_path, bib):
        items = _load(path)
        assert _titles(items) == TITLES, (path.name, items)
        assert all(isinstance(x, Paper) and x.abstract == f"About {x.title}." for x in items)
    _tried(3)


def test_mixed_encodings_in_one_file(tmp_path: Path) -> None:
    """Files concatenated from several sources: UTF-8, cp1252 and latin-1 lines side by side."""
    lines = [
        json.dumps(_rec(TITLES[0]), ensure_ascii=False).encode("utf-8"),
        json.dumps(_rec(TITLES[1]), ensure_ascii=False).encode("cp1252"),
        json.dumps(_rec("Quotes \u201csmart\u201d \u2014 dash"), ensure_ascii=False).encode("cp1252"),
        json.dumps(_rec(TITLES[2]), ensure_ascii=False).encode("utf-8"),
        b'{"title": "Control \\u0000 and \x81 byte", "abstract": "x"}',  # 0x81: not cp1252, so latin-1
    ]
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b"\r\n".join(lines) + b"\r\n")
    items = _load(path)
    assert _titles(items) == [TITLES[0], TITLES[1], "Quotes \u201csmart\u201d \u2014 dash", TITLES[2],
                              "Control \x00 and \x81 byte"]
    assert [x.source for x in items] == [f"{path}:{i}" for i in range(1, 6)]
    csv_path = tmp_path / "mixed.csv"
    csv_path.write_bytes(
        b"title,abstract\n" + "Café,über\n".encode() + "Café,über\n".encode("cp1252").replace(b"Caf", b"Kaf")
    )
    assert _titles(_load(csv_path)) == ["Café", "Kafé"]
    _tried(2)


def test_binary_file_with_a_text_extension(tmp_path: Path) -> None:
    """Random bytes named .jsonl / .csv / .bib: per-line or per-file errors, never an exception."""
    import random

    rng = random.Random(7)
    blob = bytes(rng.randrange(256) for _ in range(20_000))
    for suffix in (".jsonl", ".csv", ".bib"):
        path = tmp_path / f"noise{suffix}"
        path.write_bytes(blob)
        items = _load(path)
        assert items and all(isinstance(x, LoadError) and x.source == str(path) for x in items), items[:3]
    _tried(3)


# --- duplicate ids within one file ---------------------------------------------------------------
def _collect(path: Path) -> tuple[list[Paper], IngestReport]:
    report = IngestReport()
    papers = collect(load_path(path, _settings()), report)
    return papers, report


def test_duplicate_ids_within_one_file(tmp_path: Path) -> None:
    jsonl = tmp_path / "dup.jsonl"
    jsonl.write_text(
        _jsonl(_rec("First", id="p1"), _rec("Other", id="p2"), _rec("Second copy", id="p1"), _rec("No id twice"),
               _rec("No  id twice"))
    )
    papers, report = _collect(jsonl)
    assert [p.title for p in papers] == ["First", "Other", "No id twice"]
    assert [str(e) for e in report.errors] == [
        f"{jsonl}:3: duplicate paper id 'p1' (first seen at {jsonl}:1); skipped",
        f"{jsonl}:5: duplicate paper id '{papers[2].id}' (first seen at {jsonl}:4); skipped",
    ]
    csv_path = tmp_path / "dup.csv"
    csv_path.write_text("id,title,abstract\np1,First,a\np1,Second,b\n")
    _, report = _collect(csv_path)
    assert [(e.source, e.line) for e in report.errors] == [(str(csv_path), 3)]
    bib = tmp_path / "dup.bib"
    bib.write_text(
        "@article{a, title={First}, abstract={x}, doi={10.1/X}}\n\n"
        "@article{a, title={Same key}, abstract={x}}\n\n"
        "@article{b, title={Same DOI}, abstract={x}, doi={10.1/x}}\n"
    )
    papers, report = _collect(bib)
    assert [p.title for p in papers] == ["First"]
    assert [(e.line, e.message.split(";")[0]) for e in report.errors] == [
        (3, "duplicate entry key 'a'"),
        (5, f"duplicate paper id 'doi:10.1/x' (first seen at {bib}:1)"),
    ]
    _tried(5)


# --- through the CLI ------------------------------------------------------------------------------
@pytest.fixture()
def cli(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from assistant.settings import get_settings

    def run(*args: str, **env: str) -> Any:
        for k, v in env.items():
            monkeypatch.setenv(k, v)
        get_settings.cache_clear()
        return invoke(args)

    yield run


def test_cli_reports_limits_as_lines_and_exit_codes(tmp_path: Path, cli: Any) -> None:
    big = tmp_path / "big.jsonl"
    big.write_text(_jsonl(_rec("x", abstract="y " * 400_000)))
    done = cli("ingest", str(big), PAPERS_MAX_FILE_MB="0.5")
    assert done.exit_code == 2, done.output
    assert f"  {big}: file is 0.8 MB, over the limit of 0.5 MB (PAPERS_MAX_FILE_MB)" in done.stderr.splitlines()
    assert "Traceback" not in done.output
    done = cli("ingest", str(big), PAPERS_MAX_FILE_MB="5", PAPERS_MAX_PAPER_CHARS="10000")
    assert done.exit_code == 2
    assert f"  {big}:1: text is 799,999 characters, over the limit of 10,000 (PAPERS_MAX_PAPER_CHARS)" in (
        done.stderr.splitlines()
    )
    done = cli("ingest", str(big), PAPERS_MAX_FILE_MB="-1")
    assert done.exit_code == 2 and done.stderr.startswith("error: invalid setting max_file_mb"), done.stderr
    _tried(2)


def test_surrogates_and_control_characters_are_scrubbed_at_ingest(tmp_path: Path, embedder: Any) -> None:
    """JSON may spell a lone surrogate (unencodable: it used to crash the whole ingest with a traceback)
    or NUL/ESC (a terminal escape sequence once printed); the library keeps neither."""
    from assistant.library.library import Library
    from assistant.settings import get_settings
    from tests.support import ingest_files

    path = tmp_path / "controls.jsonl"
    path.write_text(
        '{"title": "Lone \\ud800 surrogate", "abstract": "Half a pair \\udc00 here.", "authors": ["A \\u0000 B"]}\n'
        '{"title": "Escape \\u001b[2J\\u001b]52;c;cHduZWQ=\\u0007 codes", "abstract": "NUL \\u0000 and DEL \\u007f."}\n'
    )
    lib = Library(get_settings())
    report = ingest_files([path], lib, embedder, get_settings())
    assert (report.added, report.failed) == (2, 0), report
    stored = {p.title: p for p in lib.papers()}
    assert set(stored) == {"Lone  surrogate", "Escape [2J]52;c;cHduZWQ= codes"}
    assert stored["Lone  surrogate"].abstract == "Half a pair  here."
    assert stored["Lone  surrogate"].authors == ["A  B"]
    assert stored["Escape [2J]52;c;cHduZWQ= codes"].abstract == "NUL  and DEL ."
    text = " ".join(t for p in stored.values() for _, t in lib.chunks_of(p.id))
    assert not any(ord(c) < 32 and c not in "\t\n\r" for c in text)
    lib.close()
    _tried(2)
