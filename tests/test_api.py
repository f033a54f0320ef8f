"""The REST API (`papers serve`, ui/api/) through a real HTTP client: httpx against uvicorn on
127.0.0.1, over the real seed library and the bundled model. Every endpoint, the SSE framing, 422
for malformed bodies, 413 for oversize ones, and upload names that try to leave the staging folder."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from assistant.engine import Engine
from assistant.library.library import Library
from assistant.models import Answer, Comparison, Paper, Summary
from assistant.reports.exports import comparison_markdown, summary_bibtex, summary_markdown
from assistant.settings import get_settings
from tests.api_server import api_in_thread, sse_events, wait_job

PIG_Q = "How can Gaussian functions with learnable positions replace a fixed mesh in physics-informed learning?"


@pytest.fixture()
def engine(seed_library: Library, embedder: Any) -> Engine:
    return Engine(get_settings(), library=seed_library, embedder=embedder)


@pytest.fixture()
def client(engine: Engine) -> Iterator[httpx.Client]:
    with api_in_thread(engine) as url, httpx.Client(base_url=url, timeout=120) as c:
        yield c


def records(n: int, start: int = 0) -> list[dict[str, Any]]:
    return [
        {
            "id": f"api-test-{i}",
            "title": f"Sparse probing of tokenizer artefact {i}",
            "abstract": f"We study tokenizer artefact number {i} with sparse linear probes and report where it fails.",
            "year": 2024,
        }
        for i in range(start, start + n)
    ]


def one_line_error(resp: httpx.Response, status: int, *fragments: str) -> str:
    assert resp.status_code == status, (resp.status_code, resp.text[:500])
    message = resp.json()["error"]
    assert isinstance(message, str) and "\n" not in message and "Traceback" not in resp.text
    for fragment in fragments:
        assert fragment in message, message
    return message


# -- service ----------------------------------------------------------------------------------------
def test_health_docs_and_openapi_name_every_endpoint(client: httpx.Client) -> None:
    assert client.get("/health").json() == {"status": "ok", "auth": False}
    docs = client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    assert "https://" not in docs.text and "cdn" not in docs.text  # its scripts come from this server
    assert client.get("/static-offline-docs/swagger-ui-bundle.js").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert set(paths) >= {"/papers", "/papers/{paper_id}", "/ingest", "/search", "/ask", "/chat", "/compare",
                          "/summarize", "/stats", "/health", "/jobs/{job_id}"}
    assert set(paths["/papers/{paper_id}"]) == {"get", "delete"}
    assert set(paths["/ingest"]["post"]["requestBody"]["content"]) == {"multipart/form-data", "application/json"}


def test_stats_is_the_cli_stats_plus_the_queue(client: httpx.Client, engine: Engine) -> None:
    got = client.get("/stats").json()
    assert got["papers"] == engine.count() == 46
    assert got["chunks"] == engine.chunk_count()
    assert got["jobs"] == {"queued": 0, "running": 0, "done": 0, "failed": 0}


# -- papers -----------------------------------------------------------------------------------------
def test_papers_are_the_engines_records(client: httpx.Client, engine: Engine) -> None:
    listed = client.get("/papers").json()
    assert [p["id"] for p in listed] == [p.id for p in engine.papers()]
    assert all("sections" not in p for p in listed)
    wanted = [listed[3]["id"], listed[7]["id"]]
    assert [p["id"] for p in client.get("/papers", params=[("id", i) for i in wanted]).json()] == wanted
    one = client.get(f"/papers/{wanted[0]}")
    assert Paper.model_validate(one.json()) == engine.papers([wanted[0]])[0]
    one_line_error(client.get("/papers/doi:10.0/none"), 404, "not in the library: doi:10.0/none")


def test_delete_removes_through_the_writer_queue(client: httpx.Client, engine: Engine) -> None:
    victim = engine.papers()[5].id
    resp = client.delete(f"/papers/{victim}")
    assert resp.status_code == 200 and resp.json()["removed"] == [victim]
    job = client.get(f"/jobs/{resp.json()['job']}").json()
    assert job["kind"] == "delete" and job["state"] == "done"
    assert client.get(f"/papers/{victim}").status_code == 404
    assert engine.count() == 45
    one_line_error(client.delete(f"/papers/{victim}"), 404, victim)
    one_line_error(client.get("/jobs/nope"), 404, "no such job")


# -- ingest -----------------------------------------------------------------------------------------
def test_ingest_json_records_is_a_job_with_the_cli_report(client: httpx.Client, engine: Engine) -> None:
    bad = {"abstract": "no title here"}
    resp = client.post("/ingest", json={"records": [*records(2), bad]})
    assert resp.status_code == 202
    job = wait_job(client, resp.json()["id"])
    assert job["state"] == "done" and job["kind"] == "ingest", job
    report = job["result"]
    assert (report["added"], report["failed"]) == (2, 1)
    assert report["errors"] == [{"source": "api:records", "line": 3, "message": "missing required field 'title'"}]
    assert job["total"] >= 2 and job["done"] == job["total"]
    assert engine.count() == 48
    again = client.post("/ingest", params={"wait": "true"}, json={"records": records(2)})
    assert again.status_code == 200
    assert (again.json()["report"]["added"], again.json()["report"]["unchanged"]) == (0, 2)
    assert client.get("/stats").json()["jobs"]["done"] == 2


def test_ingest_arxiv_ids_through_the_job(client: httpx.Client, engine: Engine) -> None:
    from tests.arxiv_server import arxiv_replay

    with arxiv_replay() as arxiv:
        engine.settings.arxiv_api_url, engine.settings.arxiv_retries = arxiv.url, 0
        resp = client.post("/ingest", params={"wait": "true"}, json={"arxiv": ["2308.05732", "9999.99999", "nonsense"]})
    report = resp.json()["report"]
    assert (report["added"], report["failed"]) == (1, 2), report
    assert [e["source"] for e in report["errors"]] == ["arxiv:nonsense", "arxiv:9999.99999"]
    paper = client.get("/papers/arxiv:2308.05732").json()
    assert paper["source"].startswith("arxiv:2308.05732") and paper["arxiv_id"].startswith("2308.05732")


def _multipart(parts: list[tuple[bytes, bytes]]) -> tuple[bytes, str]:
    """A multipart body written by hand, so a file name can hold bytes httpx would escape (NUL)."""
    boundary = b"paperstestboundary"
    body = b"".join(
        b"--" + boundary + b'\r\nContent-Disposition: form-data; name="files"; filename="' + name + b'"\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n" + content + b"\r\n"
        for name, content in parts
    )
    return body + b"--" + boundary + b"--\r\n", f"multipart/form-data; boundary={boundary.decode()}"


def test_upload_names_never_leave_the_staging_folder(client: httpx.Client, tmp_path: Path) -> None:
    line = (json.dumps(records(1)[0]) + "\n").encode()
    names = [b"../../etc/passwd.jsonl", b"/tmp/abs/evil.jsonl", b"nul\x00byte.jsonl", b"..", b"..\\..\\win.jsonl"]
    contents = [line.replace(b"api-test-0", f"up-{i}".encode()) for i in range(len(names))]
    body, ctype = _multipart(list(zip(names, contents)))
    resp = client.post("/ingest", params={"wait": "true"}, content=body, headers={"content-type": ctype})
    assert resp.status_code == 200, resp.text
    report = resp.json()["report"]
    assert (report["added"], report["failed"]) == (4, 1), report
    error = report["errors"][0]
    assert error["source"] == "upload:upload" and "unsupported file type" in error["message"]
    sources = sorted(p["source"] for p in client.get("/papers").json() if p["source"].startswith("upload:"))
    assert sources == ["upload:evil.jsonl:1", "upload:nul_byte.jsonl:1", "upload:passwd.jsonl:1", "upload:win.jsonl:1"]
    # Every name became a plain file inside the staging folder: none was written where it pointed.
    assert not Path("/tmp/abs/evil.jsonl").exists() and not (tmp_path.parent / "etc" / "passwd.jsonl").exists()


def test_uploads_of_every_name_are_ingested_and_labelled(client: httpx.Client) -> None:
    files: list[tuple[str, tuple[str, bytes]]] = [
        ("files", ("../../etc/passwd.jsonl", json.dumps(records(1, 10)[0]).encode())),
        ("files", ("/abs/refs.bib", b"@article{k, title={Bib title from an upload}, abstract={An abstract.}}\n")),
        ("files", ("notes.docx", b"plain text")),
    ]
    resp = client.post("/ingest", params={"wait": "true"}, files=files)
    report = resp.json()["report"]
    assert (report["added"], report["failed"]) == (2, 1), report
    error = report["errors"][0]
    assert error["source"] == "upload:notes.docx" and "unsupported file type" in error["message"]
    sources = sorted(p["source"] for p in client.get("/papers").json() if p["source"].startswith("upload:"))
    assert sources == ["upload:passwd.jsonl:1", "upload:refs.bib:1"], sources


def test_malformed_bodies_are_422_naming_the_field(client: httpx.Client) -> None:
    cases = [
        (client.post("/ask", json={}), "question: Field required"),
        (client.post("/ask", json={"question": "x", "stream": "maybe"}), "stream: Input should be a valid boolean"),
        (client.post("/search", json={"query": "x", "k": 0}), "k: Input should be greater than or equal to 1"),
        (client.post("/search", json={"query": "x", "kk": 3}), "kk: Extra inputs are not permitted"),
        (client.post("/search", content=b"{not json", headers={"content-type": "application/json"}), "JSON"),
        (client.post("/ingest", content=b"{oops", headers={"content-type": "application/json"}), "not valid JSON"),
        (client.post("/ingest", json={}), "give records, papers, arxiv ids or an arxiv_query"),
        (client.post("/ingest", json={"records": "abc"}), "records: Input should be a valid list"),
        (client.post("/ingest", json={"papers": [{"id": "x"}]}), "papers.0.title: Field required"),
        (client.post("/compare", json={}), "either paper_ids or query"),
        (client.post("/summarize", json={"format": "pdf"}), "format: Input should be 'json', 'markdown', 'bibtex' or"),
        (client.post("/chat", json={"question": "hi", "conversation_id": 5}), "conversation_id"),
    ]
    for resp, fragment in cases:
        one_line_error(resp, 422, fragment)


def test_oversize_bodies_are_413(client: httpx.Client, engine: Engine) -> None:
    limit = engine.settings.max_file_mb  # 50 MB by default: the same PAPERS_MAX_FILE_MB the CLI applies
    engine.settings.max_file_mb = 0.002  # 2 kB for this test (the app reads the limit per request)
    try:
        big = b"x" * 3000
        one_line_error(client.post("/ingest", files=[("files", ("big.jsonl", big))]), 413,
                       "big.jsonl", "over the limit of 0.002 MB", "PAPERS_MAX_FILE_MB")
        one_line_error(client.post("/ingest", json={"records": [{"title": "t", "abstract": "a" * 3000}]}), 413,
                       "request body over the limit")

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
            yield b'{"records": [{"title": "t", "abstract": "'
            for _ in range(10):
                yield b"a" * 500
            yield b'"}]}'

        chunked = client.post("/ingest", content=chunks(), headers={"content-type": "application/json"})
        one_line_error(chunked, 413, "request body over the limit")
    finally:
        engine.settings.max_file_mb = limit
    assert engine.count() == 46


# -- questions --------------------------------------------------------------------------------------
def test_search_is_the_engines_ranking(client: httpx.Client, engine: Engine) -> None:
    got = client.post("/search", json={"query": PIG_Q, "k": 3}).json()
    want = engine.search(PIG_Q, 3)
    assert [h["paper"]["id"] for h in got["hits"]] == [h.paper.id for h in want.hits]
    assert got["hits"][0]["evidence"] and "sections" not in got["hits"][0]["paper"]
    assert got["abstains"] is False and got["best_dense"] == pytest.approx(want.best_dense)
    none = client.post("/search", json={"query": PIG_Q, "filters": {"year_from": 2999}}).json()
    assert none["hits"] == []


def test_ask_is_the_engines_answer(client: httpx.Client, engine: Engine) -> None:
    got = Answer.model_validate(client.post("/ask", json={"question": PIG_Q}).json())
    want = engine.ask(PIG_Q)
    assert got == want and got.citations and not got.abstained
    off = client.post("/ask", json={"question": "What is the boiling point of ethanol?"}).json()
    assert off["abstained"] is True and off["citations"] == []


def test_ask_stream_is_tokens_then_one_final_answer(client: httpx.Client, engine: Engine) -> None:
    with client.stream("POST", "/ask", json={"question": PIG_Q, "stream": True}) as resp:
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/event-stream")
        events = sse_events(resp)
    kinds = [e for e, _ in events]
    assert kinds[-1] == "answer" and kinds.count("answer") == 1 and set(kinds[:-1]) == {"token"}, kinds
    answer = Answer.model_validate(events[-1][1])
    streamed = "".join(d["text"] for e, d in events if e == "token")
    assert " ".join(streamed.split()) == " ".join(answer.answer.split())
    assert answer == engine.ask(PIG_Q)


def test_ask_stream_with_an_llm_sends_the_text_as_it_comes(
    llm_server: Any, monkeypatch: pytest.MonkeyPatch, seed_library: Library, embedder: Any
) -> None:
    from tests.llm_server import Reply

    llm_server.configure_env(monkeypatch)
    reply = "PIG places Gaussians with trainable means and variances on the domain [1]. Grids are random in [2]."
    llm_server.script(Reply(text=reply, chunk_chars=5))
    eng = Engine(get_settings(), library=seed_library, embedder=embedder)
    with api_in_thread(eng) as url, httpx.stream("POST", f"{url}/ask", json={"question": PIG_Q, "stream": True},
                                                 timeout=60) as resp:
        events = sse_events(resp)
    tokens = [d["text"] for e, d in events if e == "token"]
    assert len(tokens) >= 2 and [e for e, _ in events][-1] == "answer"
    final = Answer.model_validate(events[-1][1])
    assert final.mode == "llm" and "".join(tokens).strip() == final.answer == reply
    assert [c.n for c in final.citations] == [1, 2]


def test_chat_keeps_the_conversation_by_id(client: httpx.Client) -> None:
    first = client.post("/chat", json={"question": PIG_Q}).json()
    cid = first["conversation_id"]
    assert first["answer"]["citations"]
    follow = client.post("/chat", json={"question": "What are its limitations?", "conversation_id": cid}).json()
    assert follow["conversation_id"] == cid
    assert follow["answer"]["query"] != "What are its limitations?"  # rewritten from the history
    fresh = client.post("/chat", json={"question": "What are its limitations?"}).json()
    assert fresh["conversation_id"] != cid and fresh["answer"]["query"] == "What are its limitations?"
    with client.stream("POST", "/chat", json={"question": "And its data?", "conversation_id": cid,
                                              "stream": True}) as resp:
        events = sse_events(resp)
    assert events[-1][0] == "answer" and events[-1][1]["conversation_id"] == cid
    one_line_error(client.post("/chat", json={"question": "x", "conversation_id": "gone"}), 404, "no such conversation")


def test_compare_in_every_format(client: httpx.Client, engine: Engine) -> None:
    ids = [p.id for p in engine.papers()[:2]]
    result = Comparison.model_validate(client.post("/compare", json={"paper_ids": ids}).json())
    assert [p.id for p in result.papers] == ids and result.aspects[:2] == ["problem", "method"]
    md = client.post("/compare", json={"paper_ids": ids, "format": "markdown"})
    assert md.headers["content-type"].startswith("text/markdown") and md.text == comparison_markdown(result)
    rows = list(csv.reader(io.StringIO(client.post("/compare", json={"paper_ids": ids, "format": "csv"}).text)))
    assert len(rows) == 3 and rows[1][0] != rows[2][0]
    by_query = client.post("/compare", json={"query": PIG_Q, "max_papers": 2, "aspects": ["method"]}).json()
    assert len(by_query["papers"]) <= 2 and by_query["aspects"] == ["method"]
    one_line_error(client.post("/compare", json={"paper_ids": ["nope:1"]}), 400, "nope:1")


def test_summarize_in_every_format(client: httpx.Client, engine: Engine) -> None:
    body = {"topic": "low-rank parameter-efficient fine-tuning", "max_papers": 4}
    summary = Summary.model_validate(client.post("/summarize", json=body).json())
    assert summary.references and summary.sections
    md = client.post("/summarize", json={**body, "format": "markdown"})
    assert md.headers["content-type"].startswith("text/markdown") and md.text == summary_markdown(summary)
    bib = client.post("/summarize", json={**body, "format": "bibtex"})
    assert bib.text == summary_bibtex(summary, engine.papers([r.id for r in summary.references]))
    assert bib.text.count("\n@") + bib.text.startswith("@") == len(summary.references)
    table = list(csv.DictReader(io.StringIO(client.post("/summarize", json={**body, "format": "csv"}).text)))
    assert [(int(r["n"]), r["id"], r["title"]) for r in table] == [(r.n, r.id, r.title) for r in summary.references]
