"""The library map (assistant/field/library_map.py) on the real seed library: one point per paper, named
themes, deterministic, cached by the papers' content, never loading the model."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from assistant.engine import Engine
from assistant.field.cache import content_key
from assistant.field.library_map import CACHE_FILE, LibraryMap, map_themes, project
from assistant.library.library import Library
from assistant.models import Paper
from assistant.settings import get_settings
from tests.ui_support import NEW_PAPER, add_papers


def test_map_has_one_point_per_paper_with_named_themes(seed_library) -> None:  # type: ignore[no-untyped-def]
    engine = Engine(get_settings(), library=seed_library)
    m = engine.paper_map()
    papers = {p.id: p for p in seed_library.papers()}
    assert len(m.points) == len(papers) == 46
    assert {p.id for p in m.points} == set(papers)
    assert m.method == "tsne"  # 46 papers are under the t-SNE limit
    assert 2 <= len(m.themes) <= 6 and len(set(m.themes)) == len(m.themes)
    assert all(not name.startswith("Theme ") for name in m.themes), m.themes
    assert {p.theme for p in m.points} == set(range(len(m.themes)))
    sizes = [sum(p.theme == t for p in m.points) for t in range(len(m.themes))]
    assert sizes == sorted(sizes, reverse=True), "largest theme first"
    for p in m.points:
        assert -1.0 <= p.x <= 1.0 and -1.0 <= p.y <= 1.0
        assert p.title == papers[p.id].title and p.year == papers[p.id].year
    assert sum(m.years().values()) == sum(1 for p in papers.values() if p.year)
    assert not engine.embedder_loaded, "the map reads the stored vectors; it never loads the model"


def test_map_is_cached_until_the_library_changes(seed_library, embedder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    engine = Engine(get_settings(), library=seed_library)
    first = engine.paper_map()
    cached = seed_library.cache_dir / CACHE_FILE
    assert LibraryMap.model_validate_json(cached.read_text()).content_key == content_key(seed_library)
    assert engine.paper_map() is first  # same papers: nothing recomputed

    # A fresh engine (another process) reads the disk cache; a damaged file is recomputed, not an error.
    assert Engine(get_settings(), library=seed_library).paper_map() == first
    cached.write_text("{not json")
    from assistant.field import library_map

    library_map._MEMORY.clear()
    assert Engine(get_settings(), library=seed_library).paper_map().points == first.points

    # Another process adds a paper: this engine's library object sees it after a refresh, as the app does.
    other = Library(get_settings())
    try:
        add_papers(other, embedder, tmp_path, NEW_PAPER)
    finally:
        other.close()
    engine.refresh()
    after = engine.paper_map()
    assert after.content_key == content_key(seed_library) != first.content_key
    assert len(after.points) == 47 and NEW_PAPER["id"] in {p.id for p in after.points}


def test_projection_is_deterministic_and_picked_by_size() -> None:
    rng = np.random.default_rng(1)
    v = rng.normal(size=(60, 16)).astype(np.float32)
    a, method_a = project(v, tsne_max=100)
    b, _ = project(v, tsne_max=100)
    assert method_a == "tsne" and np.array_equal(a, b)
    c, method_c = project(v, tsne_max=10)
    assert method_c == "pca" and c.shape == (60, 2) and np.abs(c).max() <= 1.0 + 1e-6
    assert project(v[:1], 100)[1] == "trivial" and project(v[:0], 100)[0].shape == (0, 2)


def test_large_library_themes_come_from_a_sample_and_cover_every_paper() -> None:
    rng = np.random.default_rng(2)
    centres = np.eye(3, 24) * 4
    which = rng.integers(0, 3, 900)
    v = centres[which] + rng.normal(size=(900, 24)) * 0.3
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    words = ["graph neural networks", "protein folding", "galaxy surveys"]
    papers = [
        Paper(id=f"p{i}", title=f"On {words[w]}", abstract=f"We study {words[w]} here.") for i, w in enumerate(which)
    ]
    labels, names = map_themes(v, papers, sample=200)
    assert len(labels) == 900 and len(names) == 3
    # Each true group lands in one theme, named by its own words.
    for w, phrase in enumerate(words):
        got = set(labels[which == w].tolist())
        assert len(got) == 1, (phrase, got)
        assert phrase.split()[0] in names[got.pop()].lower()
