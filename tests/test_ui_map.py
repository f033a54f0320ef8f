"""Map page through AppTest: the real seed library, the real map, the real page."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.ui_support import ATTACKER, EVIL_PAPER, NEW_PAPER, add_papers, app_test, assert_inert

PAGE = "views/map.py"


def figures(at: Any) -> list[dict[str, Any]]:
    return [json.loads(el.proto.spec) for el in at.get("plotly_chart")]


def map_traces(at: Any) -> list[dict[str, Any]]:
    return [t for t in figures(at)[0]["data"] if t["type"] in ("scatter", "scattergl")]


def test_map_page_draws_one_point_per_paper_with_named_themes(seed_library) -> None:  # type: ignore[no-untyped-def]
    at = app_test(PAGE)
    traces = map_traces(at)
    ids = [pid for t in traces for pid in t["customdata"]]
    assert len(ids) == len(set(ids)) == seed_library.count() == 46
    names = [t["name"] for t in traces]
    assert len(names) >= 2 and all(not n.startswith("Theme ") for n in names)
    assert "46 of 46 papers" in " ".join(c.value for c in at.caption)


OLDER = {**NEW_PAPER, "id": "ui-test-older", "title": "Widget Layouts Revisited", "year": 2019}


def test_year_timeline_filter_and_opening_a_paper(seed_library, embedder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    add_papers(seed_library, embedder, tmp_path, NEW_PAPER, OLDER)  # the seed papers carry no year
    at = app_test(PAGE)
    bars = figures(at)[1]["data"]  # the timeline beside the map
    per_year: dict[str, int] = {}
    for b in bars:
        for y, n in zip(b["y"], b["x"]):
            per_year[y] = per_year.get(y, 0) + n
    assert {y: n for y, n in per_year.items() if n} == {"2019": 1, "2023": 1}

    at.slider(key="map_years").set_value((2020, 2023)).run()
    assert not at.exception, at.exception
    shown = [pid for t in map_traces(at) for pid in t["customdata"]]
    assert shown == [NEW_PAPER["id"]]  # a narrower range leaves out the papers without a year

    paper = next(p for p in seed_library.papers() if p.id == NEW_PAPER["id"])
    at.selectbox(key="map_paper").set_value(paper.id).run()
    assert not at.exception, at.exception
    assert paper.abstract in [t.value for t in at.text]
    assert any(paper.title.split(":")[0] in m.value for m in at.markdown)


def test_hostile_paper_is_inert_on_the_map(seed_library, embedder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    add_papers(seed_library, embedder, tmp_path, EVIL_PAPER)
    at = app_test(PAGE)
    traces = map_traces(at)
    assert sum(len(t["customdata"]) for t in traces) == 47
    evil = next(t for t in traces if EVIL_PAPER["id"] in t["customdata"])
    hover = evil["hovertext"][evil["customdata"].index(EVIL_PAPER["id"])]
    assert "<b>" not in hover and "&lt;b&gt;" in hover  # plotly reads <b>, <a>: the title's stay text
    spec = json.dumps(figures(at))
    assert "<img" not in spec and "<script" not in spec and "javascript:" not in spec
    at.selectbox(key="map_paper").set_value(EVIL_PAPER["id"]).run()
    assert not at.exception, at.exception
    assert EVIL_PAPER["abstract"] in [t.value for t in at.text]
    assert_inert(at)
    assert ATTACKER not in " ".join(b.proto.url for b in at.get("link_button"))
