from __future__ import annotations

import json
from pathlib import Path

from assistant.engine import Engine
from assistant.library.library import Library
from assistant.settings import get_settings
from ingest.pipeline import load_all
from ingest.sources.seed import SEED_FILE, SEED_PAGE, parse_seed_page
from tests.support import ingest_files
from ui.cli.common import exit_code


def test_seed_file_has_46_papers_parsed_from_page() -> None:
    lines = [json.loads(line) for line in SEED_FILE.read_text().splitlines()]
    assert len(lines) == 46
    assert all(r["title"] and len(r["abstract"]) > 300 for r in lines)
    # The page the seed file is made from ships beside it, so this check always runs.
    assert [p.title for p in parse_seed_page(SEED_PAGE.read_text())] == [r["title"] for r in lines]


def test_jsonl_good_and_bad_lines(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    src = tmp_path / "papers.jsonl"
    rows = [json.dumps({"title": f"Paper {i}", "abstract": f"We study topic number {i} in depth."}) for i in range(10)]
    rows.insert(3, "{not json")
    rows.insert(7, json.dumps({"abstract": "no title here"}))
    rows.insert(11, json.dumps({"title": "No abstract"}))
    src.write_text("\n".join(rows) + "\n")
    settings = get_settings()
    lib = Library(settings)
    report = ingest_files([src], lib, embedder, settings)
    assert (report.added, report.failed) == (10, 3)
    assert sorted(e.line or 0 for e in report.errors) == [4, 8, 12]
    assert "invalid JSON" in report.errors[0].message
    assert exit_code(report) == 1
    assert lib.count() == 10 and lib.collection.count() == 10 and len(lib.bm25) == 10


def test_reingest_unchanged_embeds_nothing(seed_library: Library) -> None:
    settings = get_settings()

    # No embedder given: the engine would load the model on first use, and must not need to.
    engine = Engine(settings, library=seed_library)
    report = engine.ingest(load_all([SEED_FILE], settings))
    assert not engine.embedder_loaded, "re-ingesting unchanged papers must not load the model"
    assert (report.unchanged, report.added, report.embedded) == (46, 0, 0)


class _GatedEmbedder:
    """The real model, but each batch after the first waits for the test to let it go: the ingest is
    held in its embedding step for as long as the test needs, whatever the machine's speed."""

    def __init__(self, real, gate) -> None:  # type: ignore[no-untyped-def]
        self.real, self.gate, self.calls = real, gate, 0
        self.name, self.dim = real.name, real.dim

    def embed(self, texts):  # type: ignore[no-untyped-def]
        self.calls += 1
        if self.calls > 1:
            assert self.gate.wait(120), "the test never released the ingest"
        return self.real.embed(texts)

    def embed_query(self, text):  # type: ignore[no-untyped-def]
        return self.real.embed_query(text)


def test_searches_in_the_writers_process_do_not_wait_for_the_ingest(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    """A server's readers share the writer's Library: while an ingest embeds its next batch, a search
    answers from what is committed (the first batch), instead of waiting for the whole ingest."""
    import threading

    from assistant.models import Paper

    gate = threading.Event()
    engine = Engine(get_settings(), embedder=_GatedEmbedder(embedder, gate))
    papers = [
        Paper(id=f"p{i}", title=f"Kelp forest survey {i}", abstract=f"Sea otters and urchins at site {i}. " * 3)
        for i in range(200)
    ]
    writer = threading.Thread(target=engine.ingest, args=(papers,))
    writer.start()
    try:
        for _ in range(600):  # the first batch is committed, the second waits at the gate
            if engine.library.count() > 0 and engine.embedder.calls > 1:  # type: ignore[attr-defined]
                break
            writer.join(0.1)
        done: list[object] = []
        reader = threading.Thread(target=lambda: done.append(engine.search("sea otters urchins", k=3)))
        reader.start()
        reader.join(60)
        assert done, "the search waited for the ingest to finish"
        assert writer.is_alive() and 0 < engine.count() < 200
        assert done[0].hits  # type: ignore[attr-defined]
    finally:
        gate.set()
        writer.join(300)
    assert engine.count() == 200
