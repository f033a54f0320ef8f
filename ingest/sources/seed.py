"""The bundled seed corpus: a trending-papers page parsed once into ingest/data/seed.jsonl."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from assistant.models import Paper

SEED_FILE = Path(__file__).resolve().parent.parent / "data" / "seed.jsonl"
# The page SEED_FILE is made from (`make seed-data`), shipped so the seed can be rebuilt and checked.
SEED_PAGE = SEED_FILE.with_name("trending-papers-page.txt")
SEED_PAGE_NAME = "trending-papers-page.txt"
# An abstract on the page is one long paragraph; titles and page chrome are short lines.
_MIN_ABSTRACT_CHARS = 300


def parse_seed_page(text: str, source_name: str = SEED_PAGE_NAME) -> list[Paper]:
    """Pairs each abstract paragraph with the nearest non-empty line above it (its title)."""
    lines = text.splitlines()
    papers: list[Paper] = []
    last_title: tuple[int, str] | None = None
    for lineno, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line:
            continue
        if len(line) >= _MIN_ABSTRACT_CHARS:
            if last_title is None:
                continue
            title_line, title = last_title
            papers.append(
                Paper(
                    title=title,  # id: the model's rule, a hash of the title
                    abstract=line,
                    source=f"{source_name}:{title_line}",
                    tags=["seed"],
                )
            )
            last_title = None
        else:
            last_title = (lineno, line)
    return papers


def write_seed_file(page: Path, out: Path = SEED_FILE) -> int:
    papers = parse_seed_page(page.read_text(encoding="utf-8"), page.name)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as fh:
        for p in papers:
            fh.write(json.dumps(p.record(), ensure_ascii=False) + "\n")
    return len(papers)


def load_seed(path: Path = SEED_FILE) -> Iterator[Paper]:
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield Paper.model_validate_json(line)


if __name__ == "__main__":  # regenerate: python -m ingest.sources.seed ingest/data/trending-papers-page.txt
    import sys

    print(write_seed_file(Path(sys.argv[1])))
