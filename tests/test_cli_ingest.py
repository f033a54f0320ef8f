"""`papers ingest / list / remove / stats` as a user runs them: the real console script, in a subprocess."""

from __future__ import annotations

import json
from pathlib import Path

from ingest.sources.seed import SEED_FILE
from tests.support import papers, papers_json


def test_seed_ingest_list_reingest_remove_stats() -> None:
    first = papers_json("ingest", "--json")
    assert first == {"added": 46, "updated": 0, "unchanged": 0, "failed": 0, "errors": []}

    listed = papers_json("list", "--json")
    assert len(listed) == 46
    for paper in listed:
        assert {"id", "title", "authors", "year", "url", "abstract"} <= paper.keys()
        assert paper["title"] and len(paper["abstract"]) > 300
    seed_titles = {json.loads(line)["title"] for line in SEED_FILE.read_text().splitlines()}
    assert {p["title"] for p in listed} == seed_titles

    second = papers_json("ingest", "--json")
    assert second == {"added": 0, "updated": 0, "unchanged": 46, "failed": 0, "errors": []}
    plain = papers("ingest")  # the human summary line
    assert plain.returncode == 0 and "added 0, updated 0, unchanged 46, failed 0" in plain.stdout

    victim = listed[0]["id"]
    removed = papers("remove", victim, "no-such-paper")
    assert removed.returncode == 1
    assert "removed 1" in removed.stdout and "not in the library: no-such-paper" in removed.stderr
    stats = papers_json("stats", "--json")
    assert stats["papers"] == 45
    assert stats["chroma_chunks"] == stats["bm25_chunks"] == stats["chunks"] >= 45
    assert victim not in {p["id"] for p in papers_json("list", "--json")}

    text = papers("list")
    assert text.returncode == 0 and text.stdout.strip().endswith("45 papers")


def test_partly_broken_and_unreadable_files(tmp_path: Path) -> None:
    rows = [json.dumps({"title": f"Paper {i}", "abstract": f"We study topic number {i} in depth."}) for i in range(10)]
    rows.insert(3, "{not json")
    rows.insert(7, json.dumps({"abstract": "no title here"}))
    rows.insert(11, json.dumps({"title": "No abstract"}))
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text("\n".join(rows) + "\n")
    done = papers("ingest", str(mixed), "--json")
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert (report["added"], report["failed"]) == (10, 3)
    assert [(e["source"], e["line"]) for e in report["errors"]] == [(str(mixed), 4), (str(mixed), 8), (str(mixed), 12)]
    assert "invalid JSON" in report["errors"][0]["message"]

    # Nothing readable at all: exit 2; the errors are listed on stderr without --json.
    junk = tmp_path / "junk.jsonl"
    junk.write_text("{broken\n[1, 2\n")
    scan = tmp_path / "notes.pdf"
    scan.write_text("not a pdf")
    nothing = papers("ingest", str(junk), str(scan), str(tmp_path / "missing.csv"))
    assert nothing.returncode == 2
    assert "added 0, updated 0, unchanged 0, failed 4" in nothing.stdout
    assert f"{junk}:1: invalid JSON" in nothing.stderr and f"{junk}:2: invalid JSON" in nothing.stderr
    assert f"{scan}: not a PDF file" in nothing.stderr and "missing.csv: no such file or directory" in nothing.stderr
    assert "Traceback" not in nothing.stderr
    assert len(papers_json("list", "--json")) == 10
