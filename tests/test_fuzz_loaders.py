"""Property tests of the JSONL, CSV and BibTeX loaders on generated hostile files.

Each example is a whole file: good records mixed with malformed ones (truncated JSON, wrong types,
garbage bytes, unbalanced braces, huge numbers, deep nesting, mixed encodings, odd line breaks...).
For every file the loader must (1) raise nothing: every problem is a per-item LoadError, (2) name the
file and the malformed item's own line, and (3) still deliver every good record, exactly.

Examples are derandomized (same inputs on every run, so CI is stable) and the database is off.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.models import LoadError, Paper
from assistant.settings import Settings
from ingest.sources import load_path
from tests import compass

FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
SETTINGS = Settings(_env_file=None)  # type: ignore[call-arg]

# Title characters that survive every format unchanged: letters, digits, and accented letters that
# cp1252 encodes with bytes that can never form UTF-8 (so a cp1252 line stays detectable).
_WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789éüßñ", min_size=1, max_size=12)
_UNICODE_WORD = st.text(alphabet=st.characters(categories=("L", "N")), min_size=1, max_size=8)


@dataclass
class Item:
    """One record of a generated file: good (must come through as `title`) or bad (must be a LoadError)."""

    good: bool
    kind: str
    raw: bytes  # the item's bytes as written, without the trailing newline
    title: str = ""


@st.composite
def good_titles(draw: st.DrawFn, n: int, unicode: bool = True) -> str:
    words = draw(st.lists(_UNICODE_WORD if unicode and draw(st.booleans()) else _WORD, min_size=1, max_size=5))
    return f"Good {n} " + " ".join(words)


def _latin(title: str) -> bool:
    try:
        title.encode("cp1252")
        return True
    except UnicodeEncodeError:
        return False


def _encode(text: str, cp1252: bool) -> bytes:
    return text.encode("cp1252") if cp1252 else text.encode("utf-8")


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="fuzz-loaders-") as d:
        yield Path(d)


def _check(path: Path, items: list[Item], lines: list[int | None], loader: str) -> None:
    """The three properties, given each item's first line in the file."""
    out = list(load_path(path, SETTINGS))  # any exception fails the example
    papers = [x for x in out if isinstance(x, Paper)]
    errors = [x for x in out if isinstance(x, LoadError)]
    assert len(papers) + len(errors) == len(out)
    good = [(it, ln) for it, ln in zip(items, lines) if it.good]
    bad = [(it, ln) for it, ln in zip(items, lines) if not it.good]
    assert sorted(p.title for p in papers) == sorted(it.title for it, _ in good), (out, items)
    for p in papers:  # each paper says where it came from
        line = next(ln for it, ln in good if it.title == p.title)
        assert p.source == f"{path}:{line}", (p.source, line)
    for e in errors:
        assert e.source == str(path) and e.message.strip(), e
    error_lines = sorted(e.line for e in errors if e.line is not None)
    assert all(e.line is not None for e in errors), errors
    assert error_lines == sorted(ln for _, ln in bad if ln is not None), (errors, [(it.kind, ln) for it, ln in bad])
    compass.record("bad inputs tried", len(bad))
    _TRIED[loader] = _TRIED.get(loader, 0) + len(bad)


_TRIED: dict[str, int] = {}


def teardown_module() -> None:
    if _TRIED:
        compass.DETAILS.setdefault("bad inputs tried", []).append(
            "fuzzed " + ", ".join(f"{k} {v}" for k, v in sorted(_TRIED.items()))
        )


# --- JSONL ---------------------------------------------------------------------------------------
def _record(title: str, draw: st.DrawFn) -> dict[str, object]:
    rec: dict[str, object] = {"title": title, "abstract": f"An abstract about {title}."}
    if draw(st.booleans()):
        rec["authors"] = draw(st.lists(_WORD, max_size=3))
    if draw(st.booleans()):
        rec["year"] = draw(st.integers(1900, 2099) | st.integers(1900, 2099).map(str))
    if draw(st.booleans()):
        rec["tags"] = "a, b"
    return rec


_JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)


@st.composite
def bad_jsonl_line(draw: st.DrawFn) -> Item:
    kind = draw(
        st.sampled_from(
            [
                "truncated",
                "not-an-object",
                "no-title",
                "blank-title",
                "no-abstract",
                "title-wrong-type",
                "authors-wrong-type",
                "bad-year",
                "garbage-bytes",
                "huge-integer",
                "deep-nesting",
                "control-chars",
            ]
        )
    )
    base = _record("Bad record", draw)
    if kind == "truncated":
        text = json.dumps(base)
        text = text[: draw(st.integers(1, len(text) - 1))]
    elif kind == "not-an-object":
        text = json.dumps(draw(_JSON_SCALARS | st.lists(_JSON_SCALARS, max_size=3)))
    elif kind == "no-title":
        base.pop("title")
        text = json.dumps(base)
    elif kind == "blank-title":
        base["title"] = draw(st.sampled_from(["", " ", "\t\n", None]))
        text = json.dumps(base)
    elif kind == "no-abstract":
        base.pop("abstract")
        if draw(st.booleans()):
            base["text"] = draw(st.sampled_from(["", "   ", None]))
        text = json.dumps(base)
    elif kind == "title-wrong-type":
        base["title"] = draw(st.sampled_from([{"a": 1}, ["x", "y"], True, [{"nested": []}]]))
        text = json.dumps(base)
    elif kind == "authors-wrong-type":
        base["authors"] = draw(st.sampled_from([{"name": "x"}, 42, 3.5, True]))
        text = json.dumps(base)
    elif kind == "bad-year":
        base["year"] = draw(st.sampled_from(["abc", "20 23", "12345", True, [2020], {"y": 1}, -5, "2023-01-01"]))
        text = json.dumps(base)
    elif kind == "garbage-bytes":
        # \xff never starts valid UTF-8 or JSON; the rest may be anything but a line break.
        tail = draw(st.binary(max_size=40)).replace(b"\n", b"").replace(b"\r", b"")
        return Item(False, kind, b"\xff" + tail)
    elif kind == "huge-integer":
        digits = draw(st.integers(4400, 20000))
        # Python refuses to convert integers over 4,300 digits: json.loads raises ValueError.
        field = draw(st.sampled_from(["year", "extra", "authors"]))
        text = json.dumps(base)[:-1] + f', "{field}": ' + "9" * digits + "}"
    elif kind == "deep-nesting":
        depth = draw(st.integers(5000, 100_000))
        text = '{"title": ' + "[" * depth + "]" * draw(st.sampled_from([0, depth]))
    else:  # a raw control character inside a JSON string is invalid JSON
        ch = draw(st.sampled_from(["\x00", "\x01", "\x1f", "\t", "\x0b", "\x0c", "\x1c", "\x85", "\u2028"]))
        text = json.dumps(base).replace("Bad record", f"Bad{ch}record")
        if ch in "\x85\u2028":  # legal inside a JSON string: make the record bad another way
            text = text.replace('"abstract"', '"xabstract"')
    return Item(False, kind, text.encode("utf-8"))


@st.composite
def jsonl_file(draw: st.DrawFn) -> list[Item]:
    n = draw(st.integers(1, 6))
    items: list[Item] = []
    for i in range(n):
        if draw(st.booleans()):
            title = draw(good_titles(i))
            cp1252 = _latin(title) and draw(st.booleans())
            rec = _record(title, draw)
            # Raw non-ASCII (U+2028 included: legal in JSON strings) or \u escapes.
            ascii_only = draw(st.booleans())
            if draw(st.booleans()) and not cp1252:
                rec["abstract"] = f"Line\u2028separated\x85abstract for {title}."
            raw = _encode(json.dumps(rec, ensure_ascii=ascii_only), cp1252)
            items.append(Item(True, "utf-8" if not cp1252 else "cp1252", raw, title))
        else:
            items.append(draw(bad_jsonl_line()))
    if all(it.good for it in items):
        items.insert(draw(st.integers(0, len(items))), draw(bad_jsonl_line()))
    return items


@settings(FUZZ, max_examples=110)
@given(items=jsonl_file(), eol=st.sampled_from([b"\n", b"\r\n"]), blanks=st.lists(st.booleans(), max_size=8))
def test_jsonl_loader_on_generated_files(workdir: Path, items: list[Item], eol: bytes, blanks: list[bool]) -> None:
    path = workdir / "fuzz.jsonl"
    data = b""
    lines: list[int | None] = []
    line = 1
    for i, it in enumerate(items):
        if i < len(blanks) and blanks[i]:
            data += b"   " + eol
            line += 1
        lines.append(line)
        data += it.raw + eol
        line += 1
    path.write_bytes(data)
    _check(path, items, lines, "JSONL")


# --- CSV -----------------------------------------------------------------------------------------
HEADER = ["id", "title", "abstract", "year", "authors"]


def _row_text(cells: list[str], delim: str) -> str:
    buf = io.StringIO()
    csv.writer(buf, delimiter=delim, lineterminator="\n").writerow(cells)
    return buf.getvalue()[:-1]


@st.composite
def bad_csv_row(draw: st.DrawFn, delim: str, last: bool) -> Item:
    kinds = ["extra-fields", "blank-title", "no-abstract", "bad-year", "garbage-bytes", "title-only"]
    if last:
        kinds.append("unclosed-quote")  # swallows the rest of the file, so only ever in the last row
    kind = draw(st.sampled_from(kinds))
    if kind == "extra-fields":
        # An unquoted delimiter in a field pushes every later field one column right.
        extra = draw(st.integers(1, 3))
        text = delim.join(["", "Bad", "title"] + ["x"] * (len(HEADER) - 2 + extra))
    elif kind == "blank-title":
        text = _row_text(["", draw(st.sampled_from(["", "  "])), "An abstract.", "", ""], delim)
    elif kind == "no-abstract":
        text = _row_text(["", "Bad record", draw(st.sampled_from(["", " "])), "2020", ""], delim)
    elif kind == "bad-year":
        text = _row_text(["", "Bad record", "An abstract.", draw(st.sampled_from(["abc", "20x4", "99999"])), ""], delim)
    elif kind == "garbage-bytes":
        tail = draw(st.binary(max_size=30))
        for b in (b"\n", b"\r", b'"', delim.encode()):
            tail = tail.replace(b, b"")
        return Item(False, kind, b"\xff" + tail)
    elif kind == "title-only":
        text = "Only a title"
    else:
        text = _row_text(["", "Bad record", "An abstract.", "", ""], delim)[:-1] + delim + '"never closed'
    return Item(False, kind, text.encode("utf-8"))


@st.composite
def csv_file(draw: st.DrawFn, delim: str) -> list[Item]:
    n = draw(st.integers(1, 6))
    items: list[Item] = []
    bad_at = draw(st.integers(0, n - 1))
    for i in range(n):
        if i != bad_at and draw(st.booleans()):
            title = draw(good_titles(i))
            # Titles and abstracts with the delimiter, quotes or line breaks inside a quoted field.
            decoration = draw(st.sampled_from(["", f"{delim} part two", ' "quoted"', "\nsecond line"]))
            cp1252 = _latin(title) and draw(st.booleans())
            cells = ["", title + decoration, f"An abstract about {title}.\nWith a second line.", "", "A. Author"]
            if draw(st.booleans()):
                cells[3] = str(draw(st.integers(1900, 2099)))
            raw = _encode(_row_text(cells, delim), cp1252)
            full = " ".join((title + decoration).split())
            items.append(Item(True, "cp1252" if cp1252 else "utf-8", raw, full))
        else:
            items.append(draw(bad_csv_row(delim, last=i == n - 1)))
    return items


@settings(FUZZ, max_examples=70)
@given(data=st.data(), delim=st.sampled_from([",", ";", "\t"]), eol=st.sampled_from(["\n", "\r\n"]))
def test_csv_loader_on_generated_files(workdir: Path, data: st.DataObject, delim: str, eol: str) -> None:
    items = data.draw(csv_file(delim))
    path = workdir / "fuzz.csv"
    out = (delim.join(HEADER) + eol).encode()
    lines: list[int | None] = []
    line = 2
    for it in items:
        lines.append(line)
        raw = it.raw.replace(b"\n", eol.encode())
        out += raw + eol.encode()
        line += raw.count(b"\n") + 1
    path.write_bytes(out)
    _check(path, items, lines, "CSV")


# --- BibTeX --------------------------------------------------------------------------------------
@st.composite
def bad_bib_entry(draw: st.DrawFn, key: str, good_keys: list[str], last: bool) -> Item:
    kinds = ["no-title", "no-abstract", "no-comma-after-key", "unbalanced-field", "blank-title", "no-key"]
    if good_keys:
        kinds.append("duplicate-key")
    if last:
        kinds.append("unclosed-entry")
    kind = draw(st.sampled_from(kinds))
    if kind == "no-title":
        text = f"@article{{{key},\n  abstract = {{Something}},\n  year = {{2020}}\n}}"
    elif kind == "no-abstract":
        text = f"@article{{{key},\n  title = {{A title without abstract}}\n}}"
    elif kind == "blank-title":
        text = f"@article{{{key},\n  title = {{{draw(st.sampled_from(['', ' ', '{}']))}}},\n  abstract = {{x}}\n}}"
    elif kind == "no-comma-after-key":
        text = f"@article{{{key}\n  title = {{T}},\n  abstract = {{A}}\n}}"
    elif kind == "no-key":
        text = "@article{\n  title = {T},\n  abstract = {A}\n}"
    elif kind == "unbalanced-field":
        text = f"@article{{{key},\n  title = {{Open {{brace}},\n  abstract = {{A}}\n}}"
    elif kind == "duplicate-key":
        text = f"@article{{{draw(st.sampled_from(good_keys))},\n  title = {{Dup}},\n  abstract = {{A}}\n}}"
    else:
        text = f"@article{{{key},\n  title = {{Never closed}},\n  abstract = {{A}}"
    return Item(False, kind, text.encode("utf-8"))


_NOISE = [
    "% a comment line",
    "Some text between entries is a comment in BibTeX.",
    "@comment{anything {goes} here}",
    '@string{jml = "Journal of Machine Learning"}',
    "@preamble{ \"\\newcommand{\\noop}[1]{}\" }",
]


@st.composite
def bib_file(draw: st.DrawFn) -> list[Item]:
    n = draw(st.integers(1, 5))
    items: list[Item] = []
    good_keys: list[str] = []
    bad_at = draw(st.integers(0, n - 1))
    for i in range(n):
        key = f"key{i}"
        if draw(st.booleans()) and items:
            items.append(Item(True, "noise", draw(st.sampled_from(_NOISE)).encode(), ""))
        if i != bad_at and draw(st.booleans()):
            title = draw(good_titles(i))
            cp1252 = _latin(title) and draw(st.booleans())
            latex = draw(st.sampled_from(["", " \\emph{x}", " {Braced}", " $\\alpha$", " \\unknowncmd{y}"]))
            fields = [f"  title = {{{title}}}", f"  abstract = {{An abstract about {title}.{latex}}}"]
            if draw(st.booleans()):
                fields.append(f"  year = {{{draw(st.sampled_from(['2021', 'abc', '20xx', 'May 2019']))}}}")
            if draw(st.booleans()):
                fields.append("  author = {Lovelace, Ada and {Barnes and Noble} and others}")
            if draw(st.booleans()):
                fields.append("  doi = {10.1000/ABC\\_" + str(i) + "}")
            raw = _encode(f"@{draw(st.sampled_from(['article', 'inproceedings', 'misc', 'ARTICLE']))}{{{key},\n"
                          + ",\n".join(fields) + "\n}", cp1252)
            items.append(Item(True, "entry", raw, title))
            good_keys.append(key)
        else:
            items.append(draw(bad_bib_entry(key, good_keys, last=i == n - 1)))
    return items


@settings(FUZZ, max_examples=70)
@given(items=bib_file())
def test_bibtex_loader_on_generated_files(workdir: Path, items: list[Item]) -> None:
    path = workdir / "fuzz.bib"
    data = b""
    lines: list[int | None] = []
    line = 1
    for it in items:
        lines.append(line)
        data += it.raw + b"\n\n"
        line += it.raw.count(b"\n") + 2
    path.write_bytes(data)
    # Noise blocks are neither papers nor errors.
    real = [(it, ln) for it, ln in zip(items, lines) if it.kind != "noise"]
    _check(path, [it for it, _ in real], [ln for _, ln in real], "BibTeX")
