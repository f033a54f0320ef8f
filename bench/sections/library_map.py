"""Map section: the library map (assistant/field/library_map.py `build_map`) for 10,000 papers, against a
plain PCA of the same vectors measured in the same run.

Synthetic but shaped like a library: 384-d unit vectors around a dozen topic centres (MiniLM's size),
and titles/abstracts built from each topic's words so the theme naming has real text to work on.
What is timed is what the Map page waits for on a changed library once the vectors are read:
projection (PCA above `map_tsne_max_papers`), themes on the sample, names, points. Reading vectors
from Chroma is left out (it is the related-papers reader, shared, and bounded by Chroma's get).
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from bench.common import Config, Run

N = 10_000
TOPICS = 12
DIM = 384


def synthetic(n: int, seed: int = 0) -> tuple[Any, list[Any]]:
    """(unit vectors, papers) for `n` synthetic papers over TOPICS topics."""
    import numpy as np

    from assistant.models import Paper

    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(TOPICS, DIM))
    topic = rng.integers(0, TOPICS, n)
    # Noise well above the centres' spread: topics overlap as real abstracts do (k-means needs many rounds).
    vectors = (centres[topic] + rng.normal(size=(n, DIM)) * 1.5).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    words = [f"topic{t} structure{t} estimation{t}" for t in range(TOPICS)]
    papers = [
        Paper(
            id=f"map-{i}",
            title=f"Learning {words[t].split()[0]} with {words[t].split()[1]}",
            abstract=f"We study {words[t]} in depth. Our method improves {words[t].split()[2]} on benchmarks.",
            year=1995 + int(i % 30),
        )
        for i, t in enumerate(topic)
    ]
    return vectors, papers


def measure(run: Run, cfg: Config) -> None:
    from sklearn.decomposition import PCA
    from threadpoolctl import threadpool_limits

    from assistant.field.library_map import build_map
    from assistant.settings import Settings

    tsne_max = Settings(_env_file=None).map_tsne_max_papers  # type: ignore[call-arg]
    vectors, papers = synthetic(N)
    build_map(papers[:200], vectors[:200], tsne_max)  # imports and first-call costs, as a warm page has them
    times, pca_times, result = [], [], None
    for _ in range(max(cfg.reps, 1)):
        with threadpool_limits(limits=1):  # as the map runs: one thread
            t0 = time.perf_counter()
            PCA(n_components=2, random_state=0).fit_transform(vectors)
            pca_times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        result = build_map(papers, vectors, tsne_max)
        times.append(time.perf_counter() - t0)
    assert result is not None and len(result.points) == N
    value, base = statistics.median(times), statistics.median(pca_times)
    run.record("map.10000_s", value, f"{result.method}, {len(result.themes)} named themes, median of {len(times)}")
    run.record("map.pca_10000_s", base, "sklearn PCA(2) of the same 10k×384 vectors, one thread")
    run.measurements["map"] = {
        "papers": N,
        "method": result.method,
        "themes": result.themes,
        "map_s": [round(t, 3) for t in times],
        "pca_s": [round(t, 3) for t in pca_times],
    }
