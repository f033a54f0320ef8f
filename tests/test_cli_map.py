"""`papers map` through the real console script: themes, sizes and points of the seed library; the
map the CLI computes is the one the Map page then reads from the disk cache."""

from __future__ import annotations

from assistant.engine import Engine
from assistant.settings import get_settings
from tests.support import assert_one_line_error, papers, papers_json


def test_map_json_has_one_point_per_paper(seed_library) -> None:  # type: ignore[no-untyped-def]
    out = papers_json("map", "--json")
    ids = {p.id for p in seed_library.papers()}
    assert {p["id"] for p in out["points"]} == ids and len(out["points"]) == 46
    assert out["method"] == "tsne" and 2 <= len(out["themes"]) <= 6
    assert {p["theme"] for p in out["points"]} == set(range(len(out["themes"])))
    # The same map in this process: read from the cache the CLI wrote, equal point for point.
    here = Engine(get_settings(), library=seed_library).paper_map()
    assert here.themes == out["themes"] and [p.model_dump() for p in here.points] == out["points"]


def test_map_text_lists_named_themes_with_their_sizes(seed_library) -> None:  # type: ignore[no-untyped-def]
    done = papers("map")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("46 papers in ")
    sizes = [int(line.split("(")[-1].split(" ")[0]) for line in lines[1:] if line[:5].strip().rstrip(".").isdigit()]
    assert sum(sizes) == 46 and sizes == sorted(sizes, reverse=True)


def test_map_of_a_missing_library_is_one_line() -> None:
    done = papers("map", env={"PAPERS_CHROMA_URL": "http://127.0.0.1:9", "PAPERS_CHROMA_TIMEOUT_S": "1"})
    assert_one_line_error(done)


def test_map_of_an_empty_library_says_so() -> None:
    done = papers("map")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "The library is empty: add papers with `papers ingest` first."
