"""One way in: every face that adds papers goes through `ingest.pipeline.add_to_library`, so PAPERS_ENRICH
counts everywhere. For each face — `papers ingest`, the Library page's upload (`add_upload`), `papers watch`,
the Graph page's "add" (`add_from_arxiv`), the REST API's POST /ingest (JSON and multipart) and MCP
`add_papers` — its real code path on a real library, against a local Crossref / OpenAlex / arXiv
(tests/enrich_server.py, tests/arxiv_server.py): on, the record lacking authors gets them from Crossref;
off, it does not and no request is sent.
"""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from assistant.engine import Engine
from assistant.models import IngestReport, Paper
from assistant.settings import Settings
from tests.arxiv_server import ATOM, arxiv_replay, synthetic_entries
from tests.enrich_server import VASWANI_DOI, EnrichServer

RECORD = {"id": "vaswani", "title": "Attention is all you need", "abstract": "Transformers.", "doi": VASWANI_DOI}
CROSSREF_AUTHORS = ["Ashish Vaswani", "Noam Shazeer", "Niki Parmar"]
CROSSREF_VENUE = "Proceedings of the 31st International Conference on Neural Information Processing Systems"


@pytest.fixture()
def server() -> Iterator[EnrichServer]:
    srv = EnrichServer().start()
    try:
        yield srv
    finally:
        srv.stop()


def _env(server: EnrichServer, enrich: bool) -> dict[str, str]:
    return {**server.env(), "PAPERS_ENRICH_RATE_PER_S": "100", "PAPERS_ENRICH": "1" if enrich else "0"}


def _settings(server: EnrichServer, data_dir: Path, enrich: bool, **kw: Any) -> Settings:
    env = server.env()
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        data_dir=data_dir,
        enrich=enrich,
        crossref_api_url=env["PAPERS_CROSSREF_API_URL"],
        openalex_api_url=env["PAPERS_OPENALEX_API_URL"],
        arxiv_api_url=env["PAPERS_ARXIV_API_URL"],
        enrich_rate_per_s=100.0,
        **kw,
    )


def _engine(server: EnrichServer, tmp_path: Path, enrich: bool, embedder: Any, **kw: Any) -> Engine:
    return Engine(_settings(server, tmp_path / "library", enrich, **kw), embedder=embedder)


def _check(paper: Paper, server: EnrichServer, enrich: bool) -> None:
    if enrich:
        assert paper.authors == CROSSREF_AUTHORS and paper.year == 2017, paper
        assert "enriched:crossref" in paper.tags and any("/crossref/works/" in r for r in server.requests)
    else:
        assert paper.authors == [] and paper.year is None and paper.tags == [], paper
        assert server.requests == []


def _jsonl(path: Path) -> Path:
    path.write_text(json.dumps(RECORD) + "\n", encoding="utf-8")
    return path


ON_OFF = pytest.mark.parametrize("enrich", [True, False], ids=["enrich-on", "enrich-off"])


@ON_OFF
def test_cli_ingest(
    enrich: bool, server: EnrichServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, embedder: Any
) -> None:
    from assistant.settings import get_settings
    from tests.support import invoke

    for key, value in _env(server, enrich).items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    done = invoke(["ingest", str(_jsonl(tmp_path / "p.jsonl")), "--json"])
    assert done.exit_code == 0, done.output
    assert ("enrichment: 1 papers filled" in done.output) == enrich
    listed = invoke(["list", "--json"])
    _check(Paper.model_validate(json.loads(listed.stdout)[0]), server, enrich)


@ON_OFF
def test_library_page_upload(enrich: bool, server: EnrichServer, tmp_path: Path, embedder: Any) -> None:
    from ingest.pipeline import add_upload

    engine = _engine(server, tmp_path, enrich, embedder)
    added = add_upload(engine, "refs.jsonl", _jsonl(tmp_path / "p.jsonl").read_bytes(), engine.settings)
    assert added.report.added == 1 and bool(added.enrichment) == enrich
    (paper,) = engine.papers()
    assert paper.source == "upload:refs.jsonl:1"
    _check(paper, server, enrich)


@ON_OFF
def test_papers_watch(enrich: bool, server: EnrichServer, tmp_path: Path, embedder: Any) -> None:
    from ingest.watch import watch

    folder = tmp_path / "inbox"
    folder.mkdir()
    _jsonl(folder / "p.jsonl")
    engine = _engine(server, tmp_path, enrich, embedder)
    said: list[str] = []
    watch(engine, [folder], debounce_s=0.0, echo=said.append, warn=said.append, once=True)
    assert "added 1 paper from p.jsonl" in said, said
    (paper,) = engine.papers()
    _check(paper, server, enrich)


@ON_OFF
def test_graph_page_add_from_arxiv(enrich: bool, server: EnrichServer, tmp_path: Path, embedder: Any) -> None:
    """The arXiv record has authors, year and abstract but no journal: Crossref (by its DOI) gives the venue."""
    from ingest.arxiv_add import add_from_arxiv

    entry = synthetic_entries(1)[0]
    node = entry.find(f"{ATOM}id")
    assert node is not None
    node.text = "http://arxiv.org/abs/1706.03762v7"
    ET.SubElement(entry, "{http://arxiv.org/schemas/atom}doi").text = VASWANI_DOI
    with arxiv_replay([entry]) as replay:
        engine = _engine(server, tmp_path, enrich, embedder, arxiv_retries=0)
        engine.settings.arxiv_api_url = replay.url  # the paper from here; Crossref and OpenAlex from the server
        report = add_from_arxiv(engine, "1706.03762")
    assert report.added == 1, report
    (paper,) = engine.papers()
    assert paper.id == f"doi:{VASWANI_DOI}" and paper.arxiv_id == "1706.03762"
    assert paper.venue == (CROSSREF_VENUE if enrich else "")
    assert ("enriched:crossref" in paper.tags) == enrich
    assert any("/crossref/works/" in r for r in server.requests) == enrich


@ON_OFF
def test_rest_api_post_ingest(enrich: bool, server: EnrichServer, tmp_path: Path, embedder: Any) -> None:
    from tests.api_server import api_in_thread

    engine = _engine(server, tmp_path, enrich, embedder)
    second = {**RECORD, "id": "vaswani-upload"}
    with api_in_thread(engine) as url, httpx.Client(base_url=url, timeout=120) as c:
        done = c.post("/ingest", params={"wait": "true"}, json={"records": [RECORD]})
        assert done.status_code == 200, done.text
        upload = c.post("/ingest", params={"wait": "true"},
                        files=[("files", ("more.jsonl", json.dumps(second) + "\n"))])
        assert upload.status_code == 200, upload.text
    for body in (done.json(), upload.json()):
        assert IngestReport.model_validate(body["report"]).added == 1
    by_id = {p.id: p for p in engine.papers()}
    assert by_id["vaswani-upload"].source == "upload:more.jsonl:1"
    for paper in by_id.values():
        _check(paper, server, enrich)


@pytest.mark.slow
@ON_OFF
def test_mcp_add_papers(enrich: bool, server: EnrichServer, data_dir: Path) -> None:
    from tests.test_mcp import run, stdio, structured

    # The SDK passes the server a minimal environment: this checkout's PYTHONPATH too, when one is set.
    env = {**_env(server, enrich), **{k: os.environ[k] for k in ("PYTHONPATH",) if k in os.environ}}

    async def session() -> None:
        async with stdio(data_dir, **env) as client:
            got = IngestReport.model_validate(structured(await client.call_tool("add_papers", {"records": [RECORD]})))
            assert got.added == 1, got
            paper = Paper.model_validate(structured(await client.call_tool("get_paper", {"paper_id": "vaswani"})))
            _check(paper, server, enrich)

    run(session)
