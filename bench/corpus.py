"""Synthetic but realistic corpora for benchmarks and crash tests.

Abstracts are recombinations of real sentences from the seed corpus (6–9 sentences drawn from
different papers), titles recombine real title fragments; every paper is distinct. Deterministic
for a given seed, so runs are comparable.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

from ingest.sources.seed import SEED_FILE

_SENT = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


def _seed_rows() -> list[dict[str, str]]:
    return [json.loads(line) for line in SEED_FILE.read_text(encoding="utf-8").splitlines() if line.strip()]


def sentence_pool() -> list[str]:
    """The real abstract sentences every synthetic abstract is drawn from (in seed order)."""
    return [s for r in _seed_rows() for s in _SENT.split(r["abstract"]) if 40 <= len(s) <= 400]


def synth_papers_with_sentences(n: int, seed: int = 7) -> list[tuple[dict[str, object], list[str]]]:
    """Each synthetic paper with the sentences its abstract is made of (for cached sentence vectors)."""
    rows = _seed_rows()
    rng = random.Random(seed)
    sentences = sentence_pool()
    heads = [re.split(r"[:?]", r["title"])[0].strip() for r in rows]
    tails = [" ".join(r["title"].split()[-4:]) for r in rows]
    out: list[tuple[dict[str, object], list[str]]] = []
    titles: set[str] = set()
    for i in range(n):
        title = f"{rng.choice(heads)} for {rng.choice(tails)}"
        if title in titles:
            title = f"{title} ({i})"
        titles.add(title)
        picked = rng.sample(sentences, rng.randint(6, 9))
        record: dict[str, object] = {
            "id": f"synth-{i:06d}",
            "title": title,
            "abstract": " ".join(picked),
            "authors": [f"Author {rng.randint(1, 500)}", f"Author {rng.randint(1, 500)}"],
            "year": rng.randint(2015, 2025),
            "tags": [rng.choice(["ml", "physics", "optimization", "nlp", "vision"])],
        }
        out.append((record, picked))
    return out


def synth_papers(n: int, seed: int = 7) -> list[dict[str, object]]:
    return [record for record, _ in synth_papers_with_sentences(n, seed)]


def write_jsonl(path: Path, n: int, seed: int = 7) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for rec in synth_papers(n, seed):
            fh.write(json.dumps(rec) + "\n")
    return path
