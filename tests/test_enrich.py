"""Metadata enrichment (ingest/enrich.py) against a local Crossref / OpenAlex / arXiv (tests/enrich_server.py)."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant.models import Paper
from assistant.settings import Settings
from ingest.enrich import (
    Enricher,
    EnrichStats,
    abstract_from_inverted_index,
    crossref_to_fields,
    enrich_records,
    merge_missing,
    openalex_to_fields,
)
from tests.enrich_server import (
    CROSSREF_WORKS,
    OPENALEX_WORKS,
    RESNET_ABSTRACT,
    RESNET_DOI,
    UNKNOWN_DOI,
    VASWANI_DOI,
    EnrichServer,
)
from tests.support import invoke


@pytest.fixture()
def server() -> Iterator[EnrichServer]:
    srv = EnrichServer(slow_s=3.0).start()
    try:
        yield srv
    finally:
        srv.stop()


def _settings(server: EnrichServer, data_dir: Path, fault: str = "", **kw: Any) -> Settings:
    env = server.env(fault)
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        data_dir=data_dir,
        enrich=True,
        enrich_mailto="lab@example.org",
        crossref_api_url=env["PAPERS_CROSSREF_API_URL"],
        openalex_api_url=env["PAPERS_OPENALEX_API_URL"],
        arxiv_api_url=env["PAPERS_ARXIV_API_URL"],
        enrich_rate_per_s=100.0,
        **kw,
    )


def _bare(doi: str = "", arxiv_id: str = "", **kw: Any) -> Paper:
    return Paper(id=f"p-{doi or arxiv_id}", title="A title", doi=doi, arxiv_id=arxiv_id, **kw)


# -- pure functions ------------------------------------------------------------------------------------
def test_crossref_and_openalex_shapes_to_fields() -> None:
    got = crossref_to_fields({"status": "ok", "message-type": "work", "message": CROSSREF_WORKS[VASWANI_DOI]})
    assert got["authors"] == ["Ashish Vaswani", "Noam Shazeer", "Niki Parmar"]
    assert got["year"] == 2017
    assert got["venue"].startswith("Proceedings of the 31st")
    assert got["abstract"].startswith("The dominant sequence transduction models")
    assert "<" not in got["abstract"] and "&amp;" not in got["abstract"] and "& dispensing" in got["abstract"]
    alex = openalex_to_fields(OPENALEX_WORKS[RESNET_DOI])
    assert alex == {
        "authors": ["Kaiming He", "Xiangyu Zhang", "Jian Sun"],
        "year": 2016,
        "venue": "2016 IEEE Conference on Computer Vision and Pattern Recognition (CVPR)",
        "abstract": RESNET_ABSTRACT,
    }
    assert abstract_from_inverted_index({"b": [1, 3], "a": [0, 2]}) == "a b a b"
    assert openalex_to_fields({"primary_location": None, "abstract_inverted_index": None}) == {}
    assert crossref_to_fields({"message": {"author": [{"name": "The XYZ Consortium", "sequence": "first"}]}}) == {
        "authors": ["The XYZ Consortium"]
    }


def test_merge_missing_never_overwrites() -> None:
    paper = _bare(VASWANI_DOI, authors=["Somebody Else"], year=1999)
    fields = {"authors": ["A B"], "year": 2017, "venue": "NeurIPS", "abstract": "Text."}
    merged = merge_missing(paper, fields, "crossref")
    assert (merged.authors, merged.year, merged.venue, merged.abstract) == (["Somebody Else"], 1999, "NeurIPS", "Text.")
    assert merged.tags == ["enriched:crossref"]
    assert merge_missing(merged, fields, "crossref") is merged  # nothing left to fill: the same paper


# -- the client against the local services -----------------------------------------------------------
def test_fills_missing_fields_from_crossref(server: EnrichServer, tmp_path: Path) -> None:
    with Enricher(_settings(server, tmp_path)) as enricher:
        got = enricher.enrich(_bare(VASWANI_DOI.upper(), tags=["nlp"]))
    assert got.authors == ["Ashish Vaswani", "Noam Shazeer", "Niki Parmar"]
    assert (got.year, got.venue[:15]) == (2017, "Proceedings of ")
    assert got.abstract.startswith("The dominant sequence")
    assert got.tags == ["nlp", "enriched:crossref"]
    assert len(server.requests) == 1 and server.requests[0].startswith("/crossref/works/10.5555/3295222.3295349")
    assert "mailto=lab%40example.org" in server.requests[0]
    assert "paper-assistant" in server.agents[0] and "mailto:lab@example.org" in server.agents[0]
    assert enricher.stats.summary() == "enrichment: 1 papers filled, 0 not found, 0 unreachable"


def test_falls_back_to_openalex_on_crossref_404(server: EnrichServer, tmp_path: Path) -> None:
    with Enricher(_settings(server, tmp_path)) as enricher:
        got = enricher.enrich(_bare(f"https://doi.org/{RESNET_DOI}"))
    assert [r.split("?")[0] for r in server.requests] == [
        f"/crossref/works/{RESNET_DOI}",
        f"/openalex/works/https://doi.org/{RESNET_DOI}",
    ]
    assert "mailto=lab%40example.org" in server.requests[1]
    assert got.authors == ["Kaiming He", "Xiangyu Zhang", "Jian Sun"]
    assert (got.year, got.abstract) == (2016, RESNET_ABSTRACT)
    assert got.tags == ["enriched:openalex"]


def test_arxiv_id_path(server: EnrichServer, tmp_path: Path) -> None:
    with Enricher(_settings(server, tmp_path)) as enricher:
        got = enricher.enrich(_bare(arxiv_id="2308.05732v2", abstract="Kept as it is."))
    assert server.requests == ["/arxiv/api/query?id_list=2308.05732"]
    assert got.authors and got.year and got.year >= 2023
    assert got.abstract == "Kept as it is."
    assert got.tags == ["enriched:arxiv"]


def test_present_values_are_never_overwritten(server: EnrichServer, tmp_path: Path) -> None:
    paper = _bare(VASWANI_DOI, authors=["Our Own Spelling"], year=2018, abstract="Our abstract.")
    with Enricher(_settings(server, tmp_path)) as enricher:
        got = enricher.enrich(paper)
        complete = got.model_copy(update={"venue": "Mine"})
        assert enricher.enrich(complete) is complete  # nothing missing: no request at all
    assert (got.authors, got.year, got.abstract) == (["Our Own Spelling"], 2018, "Our abstract.")
    assert got.venue.startswith("Proceedings of the 31st")
    assert len(server.requests) == 1


def test_cache_makes_a_second_run_ask_nothing(server: EnrichServer, tmp_path: Path) -> None:
    papers = [_bare(VASWANI_DOI), _bare(RESNET_DOI), _bare(UNKNOWN_DOI), _bare(arxiv_id="2303.08797")]
    settings = _settings(server, tmp_path)
    with Enricher(settings) as first:
        once = [first.enrich(p) for p in papers]
    asked = len(server.requests)
    assert asked == 1 + 2 + 2 + 1
    assert first.stats.summary() == "enrichment: 3 papers filled, 1 not found, 0 unreachable"
    cached = sorted(p.relative_to(tmp_path).parts[:3] for p in (tmp_path / "cache").rglob("*.json"))
    assert {c[2] for c in cached} == {"crossref", "openalex", "arxiv"} and len(cached) == asked
    with Enricher(settings) as second:
        twice = [second.enrich(p) for p in papers]
    assert len(server.requests) == asked  # the 404s are cached too
    assert twice == once
    assert second.stats.summary() == first.stats.summary()


def test_429_with_retry_after_and_503_are_retried(server: EnrichServer, tmp_path: Path) -> None:
    slept: list[float] = []
    with Enricher(_settings(server, tmp_path / "a", "r429"), sleep=slept.append) as enricher:
        got = enricher.enrich(_bare(VASWANI_DOI))
    assert got.authors and len(server.requests) == 2 and 1.0 in slept  # Retry-After: 1
    with Enricher(_settings(server, tmp_path / "b", "flaky"), sleep=slept.append) as enricher:
        got = enricher.enrich(_bare(RESNET_DOI))
    assert got.tags == ["enriched:openalex"]
    assert len(server.requests) == 2 + 4  # each of the two services: 503, then the answer
    with Enricher(_settings(server, tmp_path / "c", "down", enrich_retries=1), sleep=slept.append) as enricher:
        paper = _bare(VASWANI_DOI)
        assert enricher.enrich(paper) == paper
    assert enricher.stats.summary() == "enrichment: 0 papers filled, 0 not found, 1 unreachable"
    assert not (tmp_path / "c" / "cache").exists()  # a failure is not cached: the next run asks again


def test_a_slow_service_leaves_the_paper_unchanged(server: EnrichServer, tmp_path: Path) -> None:
    settings = _settings(server, tmp_path, "slow", enrich_timeout_s=0.3)
    papers = [_bare(VASWANI_DOI), _bare(RESNET_DOI)]
    stats = EnrichStats()
    start = time.monotonic()
    out = list(enrich_records(papers, settings, stats))
    assert out == papers
    assert time.monotonic() - start < 2.0  # one timeout per service, not one per paper and try
    assert len(server.requests) == 2  # crossref once, openalex once, then both are given up on
    assert stats.summary() == "enrichment: 0 papers filled, 0 not found, 2 unreachable"


# -- through the CLI ---------------------------------------------------------------------------------------
def _jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


ROWS = [
    {"id": "vaswani", "title": "Attention is all you need", "abstract": "Transformers.", "doi": VASWANI_DOI},
    {"id": "resnet", "title": "Deep residual learning", "abstract": "Residual nets.", "doi": RESNET_DOI},
    {"id": "plain", "title": "No identifier at all", "abstract": "Nothing to look up."},
]


def _env(monkeypatch: pytest.MonkeyPatch, server: EnrichServer, enrich: bool) -> None:
    for key, value in server.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("PAPERS_ENRICH_RATE_PER_S", "100")
    if enrich:
        monkeypatch.setenv("PAPERS_ENRICH", "1")
    else:
        monkeypatch.delenv("PAPERS_ENRICH", raising=False)


def _listed() -> dict[str, dict[str, Any]]:
    done = invoke(["list", "--json"])
    assert done.exit_code == 0, done.output
    return {p["id"]: p for p in json.loads(done.stdout)}


def test_enrich_off_sends_nothing_and_imports_nothing(
    server: EnrichServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, embedder: Any
) -> None:
    _env(monkeypatch, server, enrich=False)
    monkeypatch.delitem(sys.modules, "ingest.enrich", raising=False)
    done = invoke(["ingest", str(_jsonl(tmp_path / "p.jsonl", ROWS)), "--json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["added"] == 3
    assert server.requests == []
    assert "ingest.enrich" not in sys.modules
    assert "enrichment:" not in done.output
    assert _listed()["vaswani"]["authors"] == []


def test_papers_enrich_dry_run_then_for_real(
    server: EnrichServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, embedder: Any
) -> None:
    _env(monkeypatch, server, enrich=False)
    assert invoke(["ingest", str(_jsonl(tmp_path / "p.jsonl", ROWS)), "--json"]).exit_code == 0

    dry = invoke(["enrich", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would fill vaswani: authors, year, venue (from crossref)" in dry.stdout
    assert "would fill resnet: authors, year, venue (from openalex)" in dry.stdout
    assert dry.stdout.strip().splitlines()[-1] == "enrichment: 2 papers filled, 0 not found, 0 unreachable"
    assert _listed()["vaswani"]["authors"] == []  # a dry run changes nothing

    asked = len(server.requests)
    real = invoke(["enrich", "--json"])
    assert real.exit_code == 0, real.output
    body = json.loads(real.stdout)
    assert (body["filled"], body["dry_run"], body["report"]["updated"]) == (2, False, 2)
    assert len(server.requests) == asked  # the dry run's answers were cached
    listed = _listed()
    assert listed["vaswani"]["authors"][0] == "Ashish Vaswani" and listed["vaswani"]["year"] == 2017
    assert listed["vaswani"]["abstract"] == "Transformers."  # present: kept
    assert "enriched:crossref" in listed["vaswani"]["tags"]
    assert listed["resnet"]["authors"] == ["Kaiming He", "Xiangyu Zhang", "Jian Sun"]
    assert "enriched:openalex" in listed["resnet"]["tags"]
    assert listed["plain"]["authors"] == [] and listed["plain"]["tags"] == []

    again = invoke(["enrich"])  # nothing missing any more that the services know: no writes
    assert again.exit_code == 0, again.output
    assert again.stdout.strip().splitlines()[-1] == "enrichment: 0 papers filled, 0 not found, 0 unreachable"


def test_ingest_with_enrich_on_fills_a_record_lacking_authors(
    server: EnrichServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, embedder: Any
) -> None:
    _env(monkeypatch, server, enrich=True)
    done = invoke(["ingest", str(_jsonl(tmp_path / "p.jsonl", ROWS[:1] + ROWS[2:])), "--json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["added"] == 2
    assert "enrichment: 1 papers filled, 0 not found, 0 unreachable" in done.output
    got = _listed()["vaswani"]
    assert got["authors"] == ["Ashish Vaswani", "Noam Shazeer", "Niki Parmar"] and got["year"] == 2017
    assert got["tags"] == ["enriched:crossref"]


def test_ingest_offline_is_silent_with_one_summary_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, embedder: Any
) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    monkeypatch.setenv("PAPERS_ENRICH", "1")
    monkeypatch.setenv("PAPERS_CROSSREF_API_URL", dead)
    monkeypatch.setenv("PAPERS_OPENALEX_API_URL", dead)
    monkeypatch.setenv("PAPERS_ENRICH_RETRIES", "0")
    done = invoke(["ingest", str(_jsonl(tmp_path / "p.jsonl", ROWS))])
    assert done.exit_code == 0, done.output
    lines = [ln for ln in done.output.splitlines() if ln.strip()]
    assert lines[0].startswith("added 3, updated 0, unchanged 0, failed 0")
    assert lines[1:] == ["enrichment: 0 papers filled, 0 not found, 2 unreachable"]
