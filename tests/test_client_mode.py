"""Client mode: the real `papers` CLI with PAPERS_API_URL + PAPERS_API_KEY against a real `papers serve`
(uvicorn, subprocess) over the seed library: list, ingest, search, ask (JSON and streamed), remove;
the local data dir is never created; every refusal (key, read-only, 413, 422, server down) is one line.
`papers mcp` in client mode answers from the server's library too."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from assistant.library.library import Library
from assistant.models import Answer
from tests.api_server import ServeProcess, serve_process
from tests.chroma_server import free_port
from tests.support import PAPERS, assert_one_line_error, papers, papers_json, run_async
from ui.api_client import error_line, sse_events

pytestmark = pytest.mark.slow

READ_KEY, WRITE_KEY = "client-read-0123", "client-write-4567"
QUESTION = "How can federated learning fine-tune large language models on devices?"
QUOKKA = {
    "id": "client-quokka",
    "title": "Quokka Gait Analysis with Pressure Mats",
    "abstract": "We record the hopping gait of forty quokkas on pressure mats and find a stride asymmetry.",
}


@pytest.fixture()
def server(seed_library: Library, tmp_path: Path) -> Iterator[ServeProcess]:
    # A small body cap on the server only: the client loads the big record fine, the server refuses it (413).
    env = {"PAPERS_API_KEYS": f"read:{READ_KEY},write:{WRITE_KEY}", "PAPERS_MAX_FILE_MB": "0.2"}
    with serve_process(tmp_path / "serve.log", env=env) as served:
        yield served


def client_env(server: ServeProcess, tmp_path: Path, key: str = WRITE_KEY) -> dict[str, str]:
    return {"PAPERS_API_URL": server.url, "PAPERS_API_KEY": key, "PAPERS_DATA_DIR": str(tmp_path / "client-local")}


def chunk_texts(library: Library, paper_id: str) -> list[str]:
    return [text for _, text in library.chunks_of(paper_id)]


def test_cli_in_client_mode_lists_ingests_and_answers(
    server: ServeProcess, seed_library: Library, tmp_path: Path
) -> None:
    env = client_env(server, tmp_path)
    listed = papers_json("list", "--json", env=env)
    assert {p["id"] for p in listed} == {p.id for p in seed_library.papers()}

    src = tmp_path / "new.jsonl"
    src.write_text(json.dumps(QUOKKA) + "\n" + json.dumps({"abstract": "no title here"}) + "\n", encoding="utf-8")
    done = papers("ingest", str(src), env=env)
    assert done.returncode == 1 and done.stdout.startswith("added 1, updated 0, unchanged 0, failed 1"), done
    assert f"{src}:2: missing required field 'title'" in done.stderr, done

    # Written by the server into its library, seen by the next command and by the library itself.
    assert len(papers_json("list", "--json", env=env)) == len(listed) + 1
    seed_library.refresh_if_stale()
    assert seed_library.get("client-quokka") is not None
    found = papers_json("search", "quokka hopping gait", "--k", "1", "--json", env=env)
    assert found["results"][0]["id"] == "client-quokka"

    answer = Answer.model_validate(papers_json("ask", QUESTION, "--json", env=env))
    assert not answer.abstained and answer.citations
    for cite in answer.citations:
        paper = seed_library.get(cite.id)
        assert paper is not None and paper.title == cite.title
        assert cite.text in chunk_texts(seed_library, cite.id)
    streamed = papers("ask", QUESTION, env=env)  # the terminal answer comes as Server-Sent Events
    assert streamed.returncode == 0, streamed.stderr
    assert answer.citations[0].title[:40] in streamed.stdout

    stats = papers_json("stats", "--json", env=env)
    assert stats["papers"] == len(listed) + 1 and stats["jobs"]["done"] >= 1

    removed = papers("remove", "client-quokka", env=env)
    assert removed.returncode == 0 and "removed 1" in removed.stdout, removed
    assert len(papers_json("list", "--json", env=env)) == len(listed)
    assert not (tmp_path / "client-local").exists()  # client mode never opens a library here


def test_a_pdf_ingested_in_client_mode_arrives_whole(
    server: ServeProcess, seed_library: Library, tmp_path: Path
) -> None:
    """The CLI reads the PDF here and sends the whole paper: sections, pages, reference list, source."""
    pdf = Path(__file__).parent / "data" / "pdfs" / "twocol.pdf"
    report = papers_json("ingest", str(pdf), "--json", env=client_env(server, tmp_path))
    assert report["added"] == 1, report
    seed_library.refresh_if_stale()
    stored = seed_library.get("doi:10.5555/fict.2024.0042")
    assert stored is not None and stored.source == str(pdf) and len(stored.references) == 32
    assert [s.heading for s in stored.sections][:2] != ["", ""] and len(stored.authors) == 8
    answer = papers_json(
        "ask", "What routing temperature is used within each expert?", "--json", env=client_env(server, tmp_path)
    )
    cited = answer["citations"][0]
    assert cited["section"] == "3.2 Attention" and cited["page"] == 2, cited


def test_client_mode_refusals_are_one_line(server: ServeProcess, tmp_path: Path) -> None:
    read_only = client_env(server, tmp_path, READ_KEY)
    src = tmp_path / "new.jsonl"
    src.write_text(json.dumps(QUOKKA) + "\n", encoding="utf-8")

    assert_one_line_error(papers("ingest", str(src), env=read_only), "read-only", "PAPERS_API_KEY")
    assert_one_line_error(papers("remove", "x", env=read_only), "read-only")
    assert_one_line_error(papers("list", env=client_env(server, tmp_path, "wrong-key-000")), "unknown API key")
    assert_one_line_error(papers("list", env={**read_only, "PAPERS_API_KEY": ""}), "missing API key")

    big = tmp_path / "big.jsonl"
    big.write_text(json.dumps({**QUOKKA, "abstract": "quokka " * 40_000}) + "\n", encoding="utf-8")
    assert_one_line_error(papers("ingest", str(big), env=client_env(server, tmp_path)), "over the limit", "MB")

    assert_one_line_error(papers("search", "q" * 5000, env=read_only), "refused the request", "4000")
    assert_one_line_error(papers("reindex", env=read_only), "not available in client mode", server.url)
    down = {**read_only, "PAPERS_API_URL": f"http://127.0.0.1:{free_port()}"}
    assert_one_line_error(papers("list", env=down), "cannot reach the API", "PAPERS_API_URL")


def test_mcp_in_client_mode_answers_from_the_server(
    server: ServeProcess, seed_library: Library, tmp_path: Path
) -> None:
    env = {k: os.environ[k] for k in ("PATH", "HOME") if k in os.environ}
    env.update(client_env(server, tmp_path, READ_KEY), HF_HUB_OFFLINE="1")
    params = StdioServerParameters(command=str(PAPERS), args=["mcp"], env=env)

    async def session() -> None:
        async with Client(params, read_timeout_seconds=240) as client:
            got = await client.call_tool("ask_papers", {"question": QUESTION})
            assert not got.is_error and got.structured_content is not None, got.content
            answer = Answer.model_validate(got.structured_content)
            assert answer.citations and all(c.text in chunk_texts(seed_library, c.id) for c in answer.citations)
            names = {r.name for r in (await client.list_resources()).resources}
            assert names == {p.id for p in seed_library.papers()}

    run_async(session)
    assert not (tmp_path / "client-local").exists()


# -- the one-line messages, for statuses the tests above cannot make a real server send -----------------
def test_error_lines_name_the_server_and_what_to_fix() -> None:
    base = "http://api.example:8000"
    assert error_line(base, 500, '{"error": "internal error (KeyError)"}') == (
        f"the API at {base} failed (HTTP 500): internal error (KeyError)"
    )
    assert error_line(base, 502, "<html><body>Bad   gateway</body></html>") == (
        f"the API at {base} failed (HTTP 502): <html><body>Bad gateway</body></html>"
    )
    assert error_line(base, 503, "") == f"the API at {base} failed (HTTP 503): HTTP 503"
    assert error_line(base, 409, '{"error": "library busy"}') == "library busy"
    assert "\n" not in error_line(base, 500, "line one\nline two\n" * 50)


def test_sse_events_read_split_frames() -> None:
    """The client's reader (httpx-sse) over a response whose frames arrive cut anywhere, a frame's data
    over two lines, and a keep-alive comment between frames."""
    body = (
        b'event: token\ndata: {"text": "Hel"}\n\n: ping\n\n'
        b'event: token\r\ndata: {"text": "lo"}\r\n\r\n'
        b'event: answer\ndata: {"question": "q",\ndata: "answer": "Hello", "mode": "extractive"}\n\n'
    )
    pieces = [body[i : i + 7] for i in range(0, len(body), 7)]
    response = httpx.Response(200, headers={"content-type": "text/event-stream"}, content=iter(pieces))
    got = list(sse_events(response))
    assert got[:2] == [("token", {"text": "Hel"}), ("token", {"text": "lo"})]
    assert got[2] == ("answer", {"question": "q", "answer": "Hello", "mode": "extractive"})
    assert len(got) == 3
