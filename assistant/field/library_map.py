"""The library map: every paper a point on a 2-D map, coloured by its theme, with its year.

- A paper's position comes from the vectors already in Chroma (the mean of its chunks' vectors,
  read by assistant/field/related.py), so drawing the map never loads the embedding model or re-embeds.
- Projection by size: t-SNE (scikit-learn, PCA start, fixed seed) while the library is small
  enough for it to take under a second (`Settings.map_tsne_max_papers`); beyond that PCA, which
  keeps 10k papers well inside the bench goal (bench/sections/library_map.py). UMAP was not taken:
  its numba compile alone costs more than the whole budget on a two-core machine.
- Themes are the summary's (assistant/reports/summary/themes.py: k-means by cosine silhouette, named
  by distinguishing phrases); above `THEME_SAMPLE` papers the themes are found on a seeded sample
  and every paper joins its nearest theme centre, so naming stays cheap.
- The result depends only on the library's content: it is cached by the papers' content hashes
  (assistant/field/graph.py `content_key`, read from the SQLite store; not `Library.generation`, which a
  process keeps from when it opened Chroma) in memory and on disk (`<library cache dir>/map.json`),
  and recomputed only when a paper was added, changed or removed.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from assistant.models import MAP_VERSION, LibraryMap, MapPoint, Paper

if TYPE_CHECKING:
    import numpy as np

    from assistant.library.library import Library

THEME_SAMPLE = 500  # papers the themes are clustered and named on; the rest join the nearest centre
SEED = 0
CACHE_FILE = "map.json"
CACHE_VERSION = MAP_VERSION


# --- projection and themes ---------------------------------------------------------------------------
def project(vectors: np.ndarray, tsne_max: int, seed: int = SEED) -> tuple[np.ndarray, str]:
    """2-D positions scaled into [-1, 1], and the method used (deterministic for a given input)."""
    import numpy as np

    n = len(vectors)
    if n < 3:
        return np.array([[-1.0, 0.0], [1.0, 0.0]][:n]).reshape(n, 2), "trivial"
    if n <= tsne_max:
        from sklearn.decomposition import PCA
        from sklearn.manifold import TSNE

        start = PCA(n_components=min(50, n, vectors.shape[1]), random_state=seed).fit_transform(vectors)
        tsne = TSNE(
            n_components=2,
            perplexity=float(min(30.0, max(2.0, (n - 1) / 3))),
            init="pca",
            random_state=seed,
        )
        xy, method = tsne.fit_transform(start), "tsne"
    else:
        from sklearn.decomposition import PCA

        xy, method = PCA(n_components=2, random_state=seed).fit_transform(vectors), "pca"
    xy = xy - xy.mean(axis=0)
    return xy / max(float(np.abs(xy).max()), 1e-9), method


def map_themes(
    vectors: np.ndarray, papers: Sequence[Paper], sample: int = THEME_SAMPLE, seed: int = SEED
) -> tuple[np.ndarray, list[str]]:
    """(theme index per paper, theme names), largest theme first: the summary's clustering and names."""
    import numpy as np

    from assistant.reports.summary.themes import cluster, theme_names

    n = len(vectors)
    if n == 0:
        return np.zeros(0, dtype=int), []
    picked = np.arange(n) if n <= sample else np.sort(np.random.default_rng(seed).choice(n, sample, replace=False))
    sub = vectors[picked]
    sub_labels = cluster(sub)
    chosen = [papers[i] for i in picked]
    texts = [f"{p.title}. {p.title}. {p.abstract}" for p in chosen]  # as the summary names themes
    names = theme_names(texts, sub_labels, [p.abstract for p in chosen])
    ids = sorted(set(int(x) for x in sub_labels))
    if n <= sample:
        labels = np.searchsorted(ids, sub_labels)
    else:
        centres = np.vstack([sub[sub_labels == t].mean(axis=0) for t in ids])
        labels = np.argmax(vectors @ centres.T, axis=1)
    sizes = np.bincount(labels, minlength=len(ids))
    order = sorted(range(len(ids)), key=lambda t: (-int(sizes[t]), t))
    rank = {old: new for new, old in enumerate(order)}
    return np.array([rank[int(t)] for t in labels], dtype=int), [names[t] for t in order]


def build_map(papers: Sequence[Paper], vectors: np.ndarray, tsne_max: int, content_key: str = "") -> LibraryMap:
    """Papers (in the order of `vectors`' rows) → the map."""
    import sklearn.cluster  # noqa: F401 - loaded first: threadpoolctl limits only the thread pools
    import sklearn.decomposition  # noqa: F401 - already loaded when the limit is set
    import sklearn.manifold  # noqa: F401
    from threadpoolctl import threadpool_limits

    # One thread: on a busy two-core machine OpenMP's threads fight each other (t-SNE of 50 papers
    # measured 7 s with the default pool, 0.07 s with one thread).
    with threadpool_limits(limits=1):
        xy, method = project(vectors, tsne_max)
        labels, names = map_themes(vectors, papers)
    points = [
        MapPoint(id=p.id, title=p.title, year=p.year, x=float(x), y=float(y), theme=int(t))
        for p, (x, y), t in zip(papers, xy, labels)
    ]
    return LibraryMap(points=points, themes=names, method=method, content_key=content_key)


# --- the library's map, cached by content ---------------------------------------------------------------
_MEMORY: dict[tuple[str, int], LibraryMap] = {}
_MEMORY_LOCK = threading.Lock()


def read_cached(path: Path, key: str) -> LibraryMap | None:
    try:
        found = LibraryMap.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, ValidationError):
        return None  # missing or damaged: recompute
    return found if found.content_key == key and found.version == CACHE_VERSION else None


def write_cached(path: Path, result: LibraryMap) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(result.model_dump_json(), encoding="utf-8")
        tmp.replace(path)
    except OSError:
        pass  # a read-only data dir still gets its map, only not kept


def compute_map(library: Library, tsne_max: int, key: str) -> LibraryMap:
    """The map of everything in `library` now (no cache), labelled with its content `key`."""
    from assistant.field.related import paper_vectors

    papers = {p.id: p for p in library.papers()}
    ids, vectors = paper_vectors(library.collection)  # the related papers' reader: mean chunk vectors
    ids_known = [i for i in ids if i in papers]
    if len(ids_known) != len(ids):
        import numpy as np

        keep = np.array([i in papers for i in ids])
        vectors = vectors[keep]
    return build_map([papers[i] for i in ids_known], vectors, tsne_max, key)


def library_map(library: Library, tsne_max: int) -> LibraryMap:
    """The library's map, recomputed only when its papers changed (memory, then disk, then compute)."""
    from assistant.field.cache import content_key

    key_now = content_key(library)
    path = library.cache_dir / CACHE_FILE
    slot = (str(path), tsne_max)
    with _MEMORY_LOCK:
        found = _MEMORY.get(slot)
    if found is not None and found.content_key == key_now:
        return found
    found = read_cached(path, key_now)
    if found is None or found.method == "tsne" and len(found.points) > tsne_max:
        found = compute_map(library, tsne_max, key_now)
        if content_key(library) == key_now:  # nobody wrote meanwhile
            write_cached(path, found)
    with _MEMORY_LOCK:
        _MEMORY[slot] = found
    return found
