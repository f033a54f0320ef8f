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


def synth_papers(n: int, seed: int = 7) -> list[dict[str, object]]:
    rows = _seed_rows()
    rng = random.Random(seed)
    sentences = [s for r in rows for s in _SENT.split(r["abstract"]) if 40 <= len(s) <= 400]
    heads = [re.split(r"[:?]", r["title"])[0].strip() for r in rows]
    tails = [" ".join(r["title"].split()[-4:]) for r in rows]
    out: list[dict[str, object]] = []
    titles: set[str] = set()
    for i in range(n):
        title = f"{rng.choice(heads)} for {rng.choice(tails)}"
        if title in titles:
            title = f"{title} ({i})"
        titles.add(title)
        abstract = " ".join(rng.sample(sentences, rng.randint(6, 9)))
        out.append(
            {
                "id": f"synth-{i:06d}",
                "title": title,
                "abstract": abstract,
                "authors": [f"Author {rng.randint(1, 500)}", f"Author {rng.randint(1, 500)}"],
                "year": rng.randint(2015, 2025),
                "tags": [rng.choice(["ml", "physics", "optimization", "nlp", "vision"])],
            }
        )
    return out


def write_jsonl(path: Path, n: int, seed: int = 7) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for rec in synth_papers(n, seed):
            fh.write(json.dumps(rec) + "\n")
    return path
