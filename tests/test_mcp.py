"""`papers mcp` through the official MCP SDK's own client: the real console script over stdio on the
seeded library (every tool called, citations checked against the stored chunks, the paper
resources read), and one streamable-HTTP round trip behind API keys (a read key may ask, not add)."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp_types import CallToolResult, TextContent

from assistant.library.library import Library
from assistant.models import Answer, Comparison, IngestReport, Paper, Summary
from tests.arxiv_server import arxiv_replay
from tests.support import PAPERS, assert_one_line_error, papers, run_async

pytestmark = pytest.mark.slow

TOOLS = {"search_papers", "ask_papers", "compare_papers", "summarize_papers", "get_paper", "add_papers"}
QUESTION = "How can federated learning fine-tune large language models on devices?"
READ_KEY, WRITE_KEY = "read-key-0123-mcp", "write-key-4567-mcp"
NEW_RECORD = {
    "id": "mcp-test-1",
    "title": "Quokka Gait Analysis with Pressure Mats",
    "abstract": "We record the hopping gait of forty quokkas on pressure mats and find a stride asymmetry.",
    "authors": ["Ada Quill"],
    "year": 2024,
}


def server_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """What the subprocess needs: this test's library (the SDK passes only a minimal environment)."""
    keep = {k: os.environ[k] for k in ("PATH", "HOME", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE") if k in os.environ}
    return {**keep, "PAPERS_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1", **extra}


def stdio(data_dir: Path, **extra: str) -> Client:
    params = StdioServerParameters(command=str(PAPERS), args=["mcp"], env=server_env(data_dir, **extra))
    return Client(params, read_timeout_seconds=240)


def run(session: Callable[[], Awaitable[None]]) -> None:
    run_async(session)


def chunk_texts(library: Library, paper_id: str) -> list[str]:
    return [text for _, text in library.chunks_of(paper_id)]


def text_of(result: CallToolResult) -> str:
    first = result.content[0]
    assert isinstance(first, TextContent), result.content
    return first.text


def error_of(result: CallToolResult) -> str:
    """A failed call's one line (the SDK prefixes the tool's name)."""
    assert result.is_error, result
    return text_of(result)


def structured(result: Any) -> dict[str, Any]:
    assert not result.is_error, result.content
    assert result.structured_content is not None
    # The text content is the same JSON, for clients that read only text.
    assert json.loads(text_of(result)) == result.structured_content
    return dict(result.structured_content)


def assert_cited(answer: Answer, library: Library) -> None:
    """Every citation names a real paper by its real title and quotes one of its stored chunks exactly."""
    assert not answer.abstained and answer.citations, answer
    for cite in answer.citations:
        paper = library.get(cite.id)
        assert paper is not None and paper.title == cite.title
        assert cite.text in chunk_texts(library, cite.id)
        assert f"[{cite.n}]" in answer.answer


def test_every_tool_over_stdio(seed_library: Library, data_dir: Path) -> None:
    lib = seed_library
    first = lib.papers()[0]

    async def session() -> None:
        async with stdio(data_dir) as client:
            listed = await client.list_tools()
            assert {t.name for t in listed.tools} == TOOLS
            by_name = {t.name: t for t in listed.tools}
            assert "write API key" in (by_name["add_papers"].description or "")
            schema = by_name["ask_papers"].output_schema
            assert schema and "citations" in schema["properties"]

            found = structured(await client.call_tool("search_papers", {"query": QUESTION, "k": 3}))
            assert 1 <= len(found["hits"]) <= 3 and found["abstains"] is False
            for hit in found["hits"]:
                assert lib.get(hit["paper"]["id"]) is not None and hit["paper"]["sections"] == []
                for ev in hit["evidence"]:
                    assert ev["text"] in chunk_texts(lib, hit["paper"]["id"])

            answer = Answer.model_validate(structured(await client.call_tool("ask_papers", {"question": QUESTION})))
            assert_cited(answer, lib)
            assert answer.citations[0].id == found["hits"][0]["paper"]["id"]

            off = Answer.model_validate(
                structured(await client.call_tool("ask_papers", {"question": "What is the boiling point of tungsten?"}))
            )
            assert off.abstained and off.citations == []

            ids = [h["paper"]["id"] for h in found["hits"][:2]]
            table = Comparison.model_validate(
                structured(await client.call_tool("compare_papers", {"paper_ids": ids, "aspects": ["method", "data"]}))
            )
            assert [p.id for p in table.papers] == ids and table.aspects == ["method", "data"]
            for row in table.papers:
                text = " ".join([lib.get(row.id).title, lib.get(row.id).abstract])  # type: ignore[union-attr]
                quotes = [c.quote for c in row.cells.values() if c.quote]
                assert all(q in text or q in " ".join(chunk_texts(lib, row.id)) for q in quotes)

            both = await client.call_tool("compare_papers", {"paper_ids": ids, "query": "federated"})
            assert "not both" in error_of(both)

            summary = Summary.model_validate(
                structured(await client.call_tool("summarize_papers", {"topic": "language models", "max_papers": 4}))
            )
            assert summary.sections and 1 <= len(summary.references) <= 4
            assert all(lib.get(r.id) is not None for r in summary.references)

            paper = Paper.model_validate(structured(await client.call_tool("get_paper", {"paper_id": first.id})))
            assert paper == first
            missing = await client.call_tool("get_paper", {"paper_id": "no-such-paper"})
            assert "not in the library: no-such-paper" in error_of(missing)

            resources = await client.list_resources()
            assert {r.name for r in resources.resources} == {p.id for p in lib.papers()}
            mine = next(r for r in resources.resources if r.name == first.id)
            assert mine.title == first.title and mine.uri.startswith("paper://")
            read = await client.read_resource(mine.uri)
            record = json.loads(read.contents[0].text)  # type: ignore[union-attr]
            assert record["abstract"] == first.abstract and "sections" not in record

    run(session)


def test_add_papers_over_stdio_records_and_arxiv(seed_library: Library, data_dir: Path) -> None:
    with arxiv_replay() as replay:
        env = {"PAPERS_ARXIV_API_URL": replay.url, "PAPERS_ARXIV_RETRIES": "0"}

        async def session() -> None:
            async with stdio(data_dir, **env) as client:
                bad = {"abstract": "a record without a title"}
                got = IngestReport.model_validate(
                    structured(
                        await client.call_tool(
                            "add_papers", {"records": [NEW_RECORD, bad], "arxiv_ids": ["2308.05732", "not-an-id"]}
                        )
                    )
                )
                assert got.added == 2 and got.failed == 2, got
                named = " | ".join(f"{e.source}:{e.line} {e.message}" for e in got.errors)
                assert "api:records:2" in named and "not-an-id" in named, named

                # The new papers are searchable and readable at once, in the same server.
                hit = structured(await client.call_tool("search_papers", {"query": "quokka hopping gait", "k": 1}))
                assert hit["hits"][0]["paper"]["id"] == "mcp-test-1"
                fetched = await client.call_tool("get_paper", {"paper_id": "arxiv:2308.05732"})
                paper = Paper.model_validate(structured(fetched))
                assert paper.title and paper.abstract
                names = {r.name for r in (await client.list_resources()).resources}
                assert {"mcp-test-1", "arxiv:2308.05732"} <= names and len(names) == 48

                empty = await client.call_tool("add_papers", {})
                assert "arxiv_ids or records" in error_of(empty)

        run(session)
        assert any("id_list=2308.05732" in r for r in replay.requests), replay.requests
    seed_library.refresh_if_stale()
    assert seed_library.get("mcp-test-1") is not None  # written to the library itself


# -- streamable HTTP --------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def mcp_http(data_dir: Path, log_path: Path, **env: str) -> Iterator[str]:
    """`papers mcp --http` on a free port with keys (and `env`) until it answers; yields the /mcp URL."""
    port = free_port()
    full = {**os.environ, **server_env(data_dir, PAPERS_API_KEYS=f"read:{READ_KEY},write:{WRITE_KEY}", **env)}
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [str(PAPERS), "mcp", "--http", "--port", str(port)], env=full, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, log_path.read_text()
            try:
                httpx.get(url, timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "papers mcp --http did not start"
                time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()


@pytest.fixture()
def http_server(seed_library: Library, data_dir: Path, tmp_path: Path) -> Iterator[str]:
    with mcp_http(data_dir, tmp_path / "mcp-http.log") as url:
        yield url


def keyed(url: str, key: str) -> Client:
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=httpx2.Timeout(30, read=240))
    return Client(streamable_http_client(url, http_client=http), read_timeout_seconds=240)


def test_streamable_http_round_trip_behind_keys(http_server: str, seed_library: Library) -> None:
    # No key, or an unknown one: refused before MCP sees the request, with one line of JSON.
    init = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    for headers in ({}, {"Authorization": "Bearer not-a-key-at-all"}):
        accept = {"Accept": "application/json, text/event-stream"}
        refused = httpx.post(http_server, json=init, headers={**accept, **headers})
        assert refused.status_code == 401 and "API key" in refused.json()["error"]
        assert refused.headers["www-authenticate"] == "Bearer" and refused.headers["content-type"] == "application/json"

    async def session() -> None:
        async with keyed(http_server, READ_KEY) as client:
            assert {t.name for t in (await client.list_tools()).tools} == TOOLS
            answer = Answer.model_validate(structured(await client.call_tool("ask_papers", {"question": QUESTION})))
            assert_cited(answer, seed_library)
            denied = await client.call_tool("add_papers", {"records": [NEW_RECORD]})
            assert "read-only" in error_of(denied)
        async with keyed(http_server, WRITE_KEY) as client:
            added = await client.call_tool("add_papers", {"records": [NEW_RECORD]})
            got = IngestReport.model_validate(structured(added))
            assert got.added == 1

    run(session)
    seed_library.refresh_if_stale()
    assert seed_library.get("mcp-test-1") is not None


def test_http_beyond_loopback_needs_keys() -> None:
    done = papers("mcp", "--http", "--host", "0.0.0.0", "--port", str(free_port()))
    assert_one_line_error(done, "PAPERS_API_KEYS")


def test_http_port_in_use_is_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        done = papers("mcp", "--http", "--port", str(taken.getsockname()[1]))
    assert_one_line_error(done, "cannot listen on 127.0.0.1")


def test_http_has_the_apis_rate_and_body_limits(data_dir: Path, tmp_path: Path) -> None:
    # Limits are checked before MCP sees a request; the oversized one counts against the rate too.
    accept = {"Accept": "application/json, text/event-stream", "Authorization": f"Bearer {READ_KEY}"}
    ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    with mcp_http(data_dir, tmp_path / "mcp-http.log", PAPERS_API_RATE_LIMIT="3", PAPERS_MAX_FILE_MB="0.01") as url:
        big = httpx.post(url, json={**ping, "params": {"_meta": {"pad": "x" * 20_000}}}, headers=accept)
        assert big.status_code == 413 and "over the limit" in big.json()["error"]
        codes = [httpx.post(url, json=ping, headers=accept).status_code for _ in range(3)]
        assert 429 not in codes[:2] and codes[2] == 429, codes
        limited = httpx.post(url, json=ping, headers=accept)
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0
        assert "PAPERS_API_RATE_LIMIT" in limited.json()["error"]
