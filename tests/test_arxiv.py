"""arXiv ingestion through our fetcher (httpx + feedparser) against a local server replaying Atom entries."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant.models import LoadError, Paper
from assistant.settings import Settings
from ingest.sources import arxiv as arxiv_source
from ingest.sources.arxiv import fetch_arxiv, normalize_id
from tests.arxiv_server import ArxivReplay, arxiv_replay, synthetic_entries
from tests.support import papers, papers_json


@pytest.fixture(scope="module")
def replay() -> Iterator[ArxivReplay]:
    with arxiv_replay() as server:
        yield server


def _settings(url: str, **kw: Any) -> Settings:
    fields = {"arxiv_api_url": url, "arxiv_retries": 0, "arxiv_timeout_s": 2, **kw}
    return Settings(_env_file=None, **fields)  # type: ignore[call-arg]


def test_normalize_id() -> None:
    assert normalize_id("arXiv:2308.05732v2") == "2308.05732v2"
    assert normalize_id("https://arxiv.org/pdf/2308.05732.pdf") == "2308.05732"
    assert normalize_id(" https://arxiv.org/abs/hep-th/9901001v1 ") == "hep-th/9901001v1"
    assert normalize_id("10.1038/s41586-020-2649-2") is None


def test_fetch_by_ids(replay: ArxivReplay) -> None:
    replay.requests.clear()
    items = list(fetch_arxiv(["2308.05732", "arXiv:2006.10256v1", "2308.05732v3", "9999.99999", "nonsense"],
                             "", 10, _settings(replay.url)))
    papers_ = [i for i in items if isinstance(i, Paper)]
    errors = [i for i in items if isinstance(i, LoadError)]
    # A journal DOI on the arXiv record: its id is the DOI's, as from every other format (make_paper_id).
    assert [p.id for p in papers_] == ["arxiv:2308.05732", "doi:10.1038/s41586-020-2649-2"]
    assert [(e.source, e.message) for e in errors] == [
        ("arxiv:nonsense", "'nonsense' is not an arXiv id (like 2308.05732)"),
        ("arxiv:9999.99999", "not found on arXiv"),
    ]
    # One request carrying the well-formed ids, each paper once (2308.05732v3 is 2308.05732).
    assert len(replay.requests) == 1 and "id_list=2308.05732%2C2006.10256v1%2C9999.99999&" in replay.requests[0]

    refiner, numpy_paper = papers_
    assert refiner.title == "PDE-Refiner: Achieving Accurate Long Rollouts with Neural PDE Solvers"
    assert refiner.abstract.startswith("Time-dependent partial differential equations (PDEs) are ubiquitous in")
    assert "\n" not in refiner.abstract and "  " not in refiner.abstract
    assert refiner.authors == [
        "Phillip Lippe", "Bastiaan S. Veeling", "Paris Perdikaris", "Richard E. Turner", "Johannes Brandstetter"
    ]
    assert (refiner.year, refiner.arxiv_id, refiner.doi) == (2023, "2308.05732", "")
    assert refiner.url == "http://arxiv.org/abs/2308.05732v3"
    assert refiner.tags == ["cs.LG", "physics.comp-ph", "physics.flu-dyn"]
    assert refiner.source == "arxiv:2308.05732v3"

    assert numpy_paper.doi == "10.1038/s41586-020-2649-2"
    assert numpy_paper.venue == "Nature 585, 357-362 (2020)"
    assert numpy_paper.year == 2020 and len(numpy_paper.authors) == 26
    assert "Stéfan J. van der Walt" in numpy_paper.authors and numpy_paper.tags == ["cs.MS", "stat.CO"]


def test_fetch_by_query(replay: ArxivReplay) -> None:
    replay.requests.clear()
    found = list(fetch_arxiv([], "all:diffusion AND cat:cs.LG", 1, _settings(replay.url)))
    # Two entries match; --max 1 keeps the first.
    assert [p.id if isinstance(p, Paper) else p for p in found] == ["arxiv:2308.05732"]
    assert "search_query=all%3Adiffusion+AND+cat%3Acs.LG" in replay.requests[0]
    (none,) = list(fetch_arxiv([], "ti:quantum", 5, _settings(replay.url)))
    assert isinstance(none, LoadError) and none.message == "no results on arXiv"
    assert none.source == "arxiv query 'ti:quantum'"


@pytest.mark.parametrize(
    ("prefix", "reason"),
    [
        ("/http503", "HTTP 503"),
        ("/html", "the answer is not an Atom feed (content type text/html)"),
        # Cut mid-XML: feedparser would hand over the entries before the cut; a failure, not a partial answer.
        ("/truncated", "the answer is not an Atom feed (content type application/atom+xml; charset=utf-8): line "),
        ("/stall", "no answer within 2s"),
    ],
)
def test_server_failures_are_one_error(replay: ArxivReplay, prefix: str, reason: str) -> None:
    url = f"http://127.0.0.1:{replay.port}{prefix}/api/query"
    items = list(fetch_arxiv(["2308.05732", "2303.08797"], "", 10, _settings(url)))
    assert len(items) == 1 and isinstance(items[0], LoadError), items
    assert items[0].source == "arxiv:2308.05732,2303.08797"
    assert items[0].message.startswith(f"arXiv API request to {url} failed: ") and reason in items[0].message


def test_retries_a_5xx_answer(replay: ArxivReplay, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(arxiv_source, "REQUEST_GAP_S", 0.2)
    url = f"http://127.0.0.1:{replay.port}/flaky/api/query"
    replay.requests.clear()
    replay.times.clear()
    got = list(fetch_arxiv(["2303.08797"], "", 10, _settings(url, arxiv_retries=1)))
    assert [p.id if isinstance(p, Paper) else p for p in got] == ["arxiv:2303.08797"]
    assert len(replay.requests) == 2 and replay.requests[0] == replay.requests[1]  # 503, then asked again
    assert replay.times[1] - replay.times[0] >= 0.2


def test_query_pages_through_results(monkeypatch: pytest.MonkeyPatch) -> None:
    assert arxiv_source.PAGE_SIZE == 100
    monkeypatch.setattr(arxiv_source, "REQUEST_GAP_S", 0.2)  # checked here at test speed; the 3 s in the CLI test
    with arxiv_replay(synthetic_entries(250)) as server:
        got = list(fetch_arxiv([], "synthetic", 230, _settings(server.url)))
        assert [p.id if isinstance(p, Paper) else p for p in got] == [f"arxiv:2401.{i:05d}" for i in range(230)]
        pages = [(r.split("start=")[1].split("&")[0], r.split("max_results=")[1]) for r in server.requests]
        assert pages == [("0", "100"), ("100", "100"), ("200", "30")]
        assert all(b - a >= 0.2 for a, b in zip(server.times, server.times[1:]))

        # Fewer results than asked for: paging stops at the total the feed announces.
        server.requests.clear()
        got = list(fetch_arxiv([], "synthetic", 1000, _settings(server.url)))
        assert len(got) == 250 and len({p.id for p in got if isinstance(p, Paper)}) == 250
        assert [r.split("start=")[1].split("&")[0] for r in server.requests] == ["0", "100", "200"]


def test_unreachable_server_is_one_error() -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    items = list(fetch_arxiv([], "neural operators", 5, _settings(f"http://127.0.0.1:{port}/api/query")))
    assert len(items) == 1 and isinstance(items[0], LoadError)
    assert items[0].source == "arxiv query 'neural operators'"
    assert "cannot connect ([Errno 111] Connection refused)" in items[0].message


def test_cli_arxiv_ingest(replay: ArxivReplay) -> None:
    env = {"PAPERS_ARXIV_API_URL": replay.url, "PAPERS_ARXIV_RETRIES": "0"}
    replay.requests.clear()
    replay.times.clear()
    report = papers_json(
        "ingest", "--arxiv", "2308.05732", "--arxiv", "https://arxiv.org/abs/2303.08797v2", "--arxiv", "9999.99999",
        "--arxiv-query", "all:numpy", "--max", "5", "--json", env=env, ok_codes=(1,),
    )
    assert (report["added"], report["updated"], report["unchanged"], report["failed"]) == (3, 0, 0, 1)
    assert report["errors"] == [{"source": "arxiv:9999.99999", "line": None, "message": "not found on arXiv"}]
    # One request for the ids, one for the query, 3 s apart as arXiv's terms of use ask.
    assert len(replay.times) == 2 and replay.times[1] - replay.times[0] >= arxiv_source.REQUEST_GAP_S == 3.0
    listed = {p["id"]: p for p in papers_json("list", "--json")}
    assert sorted(listed) == ["arxiv:2303.08797", "arxiv:2308.05732", "doi:10.1038/s41586-020-2649-2"]
    interp = listed["arxiv:2303.08797"]
    assert interp["title"] == "Stochastic Interpolants: A Unifying Framework for Flows and Diffusions"
    assert interp["authors"] == ["Michael S. Albergo", "Nicholas M. Boffi", "Eric Vanden-Eijnden"]
    assert (interp["year"], interp["url"]) == (2023, "http://arxiv.org/abs/2303.08797v3")

    # The API down: one readable error, nothing ingested, exit 2, no traceback.
    down = papers("ingest", "--arxiv", "2308.05732", "--json",
                  env={**env, "PAPERS_ARXIV_API_URL": f"http://127.0.0.1:{replay.port}/http503/api/query"})
    assert down.returncode == 2 and "Traceback" not in down.stderr
    failed = json.loads(down.stdout)
    assert failed["failed"] == 1 and "HTTP 503" in failed["errors"][0]["message"]


def test_cli_bad_max(replay: ArxivReplay) -> None:
    done = papers("ingest", "--arxiv-query", "all:numpy", "--max", "0", "--json",
                  env={"PAPERS_ARXIV_API_URL": replay.url})
    assert done.returncode == 2, done.stderr
    assert json.loads(done.stdout)["errors"][0]["message"] == "--max must be at least 1"
    assert replay.requests == [] or all("max_results=0" not in r for r in replay.requests)


def test_same_paper_from_bibtex_and_arxiv_is_kept_once(replay: ArxivReplay, tmp_path: Path) -> None:
    from assistant.library.ingestion import collect
    from assistant.models import IngestReport
    from ingest.sources.bibtex import load_bibtex

    bib = tmp_path / "refs.bib"
    bib.write_text("@article{r, title={PDE-Refiner}, abstract={Refined rollouts.}, eprint={2308.05732}}\n")
    report = IngestReport()
    kept = collect([*load_bibtex(bib), *fetch_arxiv(["2308.05732"], "", 5, _settings(replay.url))], report)
    assert [(p.id, p.source) for p in kept] == [("arxiv:2308.05732", f"{bib}:1")]
    assert [(e.source, e.line) for e in report.errors] == [("arxiv:2308.05732v3", None)]
    assert "duplicate paper id 'arxiv:2308.05732'" in report.errors[0].message
