"""Hand edits of title / authors / year survive re-ingest of the unchanged (and the changed) source."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from assistant.engine import Engine
from assistant.errors import PapersError
from assistant.settings import get_settings
from tests.support import invoke

RECORD = {
    "id": "p1",
    "title": "Atention Is All You Ned",  # as a sloppy export spells it
    "abstract": "Sequence transduction with attention only, no recurrence or convolutions at all.",
    "authors": ["A. Vaswani"],
    "year": 2016,
    "tags": ["nlp"],
}


def _write(path: Path, **update: Any) -> Path:
    path.write_text(json.dumps({**RECORD, **update}) + "\n", encoding="utf-8")
    return path


def _ingest(path: Path) -> dict[str, Any]:
    done = invoke(["ingest", str(path), "--json"])
    assert done.exit_code == 0, done.output
    return dict(json.loads(done.stdout))


def test_an_edit_survives_reingest_of_the_unchanged_and_the_changed_file(tmp_path: Path) -> None:
    src = _write(tmp_path / "lib.jsonl")
    assert _ingest(src)["added"] == 1
    eng = Engine(get_settings())
    edited = eng.edit_paper("p1", title="Attention Is All You Need", authors=["Ashish Vaswani", "Noam Shazeer"])
    assert edited.title == "Attention Is All You Need" and edited.authors == ["Ashish Vaswani", "Noam Shazeer"]
    assert edited.year == 2016 and "edited:title" in edited.tags and "nlp" in edited.tags
    # The search index follows: the fixed title is what the paper is found by.
    assert eng.search("Attention Is All You Need", 1).hits[0].paper.id == "p1"

    again = _ingest(src)
    assert again["unchanged"] == 1 and again["updated"] == 0, "the unchanged file embeds nothing"
    assert Engine(get_settings()).papers(["p1"])[0].title == "Attention Is All You Need"

    _write(src, abstract=str(RECORD["abstract"]) + " Revised.", year=2017)
    changed = _ingest(src)
    assert changed["updated"] == 1
    (p,) = Engine(get_settings()).papers(["p1"])
    assert p.abstract.endswith("Revised.") and p.year == 2017, "fields not edited follow the source"
    assert p.title == "Attention Is All You Need" and p.authors == ["Ashish Vaswani", "Noam Shazeer"]

    Engine(get_settings()).edit_paper("p1", year=2017)
    assert _ingest(src)["unchanged"] == 1


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"title": "  "}, "title: must not be empty"),
        ({"year": "soon"}, "year: 'soon' is not a year"),
        ({"year": 99999}, "year: 99999 is outside 1000-2100"),
        ({"abstract": "x"}, "abstract cannot be edited"),
    ],
)
def test_bad_edits_are_one_line_errors(tmp_path: Path, fields: dict[str, Any], message: str) -> None:
    _ingest(_write(tmp_path / "lib.jsonl"))
    with pytest.raises(PapersError, match=message):
        Engine(get_settings()).edit_paper("p1", **fields)
    with pytest.raises(PapersError, match="not in the library: nope"):
        Engine(get_settings()).edit_paper("nope", title="x")
