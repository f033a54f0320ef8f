"""One writer for a team: a second `papers serve` on the same library is refused naming the first
(embedded library: a lock file; a Chroma server: a heartbeat record other machines see), a dead
server's claim expires, and many clients reading while an ingest job runs see no error and no lost
or duplicated paper (correctness only; the 50-client figures are bench/sections/api_load.py's)."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from assistant.engine import Engine
from assistant.errors import LibraryBusyError
from assistant.library.library import Library
from assistant.settings import Settings, get_settings
from tests.api_server import api_in_thread, serve_process, sse_events, wait_job
from tests.chroma_server import free_port
from tests.support import assert_one_line_error, papers

PIG_Q = "How can Gaussian functions with learnable positions replace a fixed mesh in physics-informed learning?"


def test_a_second_server_on_the_same_library_is_refused(tmp_path: Path, data_dir: Path) -> None:
    with serve_process(tmp_path / "first.log") as first:
        done = papers("serve", "--port", str(free_port()), "--no-warm", timeout=60)
        line = assert_one_line_error(done, f"already served by papers serve at {first.url}", f"pid {first.proc.pid}")
        assert str(data_dir) in line
        with pytest.raises(LibraryBusyError, match=first.url):  # the same claim, in-process
            Engine(get_settings()).claim_server("http://127.0.0.1:9")
    # The first one stopped (SIGTERM) and gave its claim back: the library may be served again.
    claim = Engine(get_settings()).claim_server("http://127.0.0.1:9")
    claim.release()


def test_a_busy_port_is_one_line_and_leaves_no_claim(data_dir: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        done = papers("serve", "--port", str(taken.getsockname()[1]), "--no-warm", timeout=60)
    assert_one_line_error(done, "cannot listen on 127.0.0.1:")
    Engine(get_settings()).claim_server("http://127.0.0.1:9").release()


@pytest.mark.slow
def test_one_server_per_collection_on_a_chroma_server(chroma_server: str, tmp_path: Path) -> None:
    env = {"PAPERS_CHROMA_URL": chroma_server, "PAPERS_COLLECTION": "api_writer", "PAPERS_API_HEARTBEAT_S": "0.5"}
    with serve_process(tmp_path / "a.log", env={**env, "PAPERS_DATA_DIR": str(tmp_path / "machine-a")}) as first:
        # Another machine (its own data dir) on the same Chroma server and collection: refused.
        other = {**env, "PAPERS_DATA_DIR": str(tmp_path / "machine-b")}
        done = papers("serve", "--port", str(free_port()), "--no-warm", env=other, timeout=60)
        assert_one_line_error(done, f"collection api_writer) is already served by papers serve at {first.url}")
        # Another collection on the same server is another library.
        elsewhere = Settings(_env_file=None, data_dir=tmp_path / "machine-c", chroma_url=chroma_server,  # type: ignore[call-arg]
                             collection="api_writer_other")
        Engine(elsewhere).claim_server("http://127.0.0.1:9").release()
        # The claim is renewed while the server lives (expiry 1.5 s; two seconds later still refused).
        time.sleep(2)
        assert papers("serve", "--port", str(free_port()), "--no-warm", env=other, timeout=60).returncode == 2
        os.kill(first.proc.pid, signal.SIGKILL)  # dies without giving the claim back
        first.proc.wait()
    time.sleep(2)  # past the dead server's expiry
    settings = Settings(_env_file=None, data_dir=tmp_path / "machine-b", chroma_url=chroma_server,  # type: ignore[call-arg]
                        collection="api_writer")
    claim = Engine(settings).claim_server("http://127.0.0.1:9")
    with pytest.raises(LibraryBusyError, match="127.0.0.1:9"):
        Engine(settings).claim_server("http://127.0.0.1:10")
    claim.release()
    Engine(settings).claim_server("http://127.0.0.1:10").release()


def test_a_stopped_server_on_a_chroma_server_gives_its_claim_back(chroma_server: str, tmp_path: Path) -> None:
    env = {"PAPERS_CHROMA_URL": chroma_server, "PAPERS_COLLECTION": "api_writer_stop", "PAPERS_DATA_DIR": str(tmp_path)}
    settings = Settings(_env_file=None, data_dir=tmp_path / "x", chroma_url=chroma_server,  # type: ignore[call-arg]
                        collection="api_writer_stop")
    with serve_process(tmp_path / "serve.log", env=env) as served:
        with pytest.raises(LibraryBusyError, match=served.url):
            Engine(settings).claim_server("http://127.0.0.1:9")
    # SIGTERM: the claim is given back at once, no waiting for its expiry (10 s by default).
    Engine(settings).claim_server("http://127.0.0.1:9").release()


# -- readers while the writer works -----------------------------------------------------------------
def _records(n: int) -> list[dict[str, Any]]:
    return [{"id": f"load-{i}", "title": f"Concurrent ingest paper {i} on contrastive retrieval",
             "abstract": f"Paper {i} studies contrastive dense retrieval with hard negatives under load."}
            for i in range(n)]


KINDS = ("search", "ask", "stream")
MIN_PER_CLIENT = 3  # each client makes at least one request of each kind, however slow the machine


def _client_loop(url: str, stop: threading.Event, errors: list[str], ends: list[tuple[str, float]], seed: int) -> None:
    with httpx.Client(base_url=url, timeout=120) as c:
        n = 0
        while not stop.is_set() or n < MIN_PER_CLIENT:
            kind = KINDS[(seed + n) % len(KINDS)]
            n += 1
            try:
                if kind == "search":
                    r = c.post("/search", json={"query": PIG_Q, "k": 5})
                    ok = r.status_code == 200 and len(r.json()["hits"]) > 0
                elif kind == "ask":
                    r = c.post("/ask", json={"question": PIG_Q})
                    ok = r.status_code == 200 and bool(r.json()["citations"])
                else:
                    r = c.post("/ask", json={"question": PIG_Q, "stream": True})
                    events = sse_events(r) if r.status_code == 200 else []
                    ok = bool(events) and events[-1][0] == "answer" and bool(events[-1][1]["citations"])
            except Exception as exc:  # counted, not raised: the test reports every failure
                errors.append(f"{kind}: {type(exc).__name__}: {exc}")
                continue
            ends.append((kind, time.time()))
            if not ok:
                errors.append(f"{kind}: {r.status_code} {r.text[:200]}")


@pytest.mark.slow
def test_readers_during_an_ingest_job_see_no_error_and_no_lost_paper(seed_library: Library, embedder: Any) -> None:
    engine = Engine(get_settings(), library=seed_library, embedder=embedder)
    before = {p.id for p in engine.papers()}
    with api_in_thread(engine) as url, httpx.Client(base_url=url, timeout=120) as c:
        stop = threading.Event()
        errors: list[str] = []
        ends: list[tuple[str, float]] = []
        threads = [threading.Thread(target=_client_loop, args=(url, stop, errors, ends, i)) for i in range(4)]
        for t in threads:
            t.start()
        jobs = [c.post("/ingest", json={"records": _records(60)[i::3]}).json()["id"] for i in range(3)]
        finished = [wait_job(c, j, timeout_s=240) for j in jobs]
        time.sleep(1)  # readers keep going after the writes too
        stop.set()
        for t in threads:
            t.join(120)
        listed = [p["id"] for p in c.get("/papers").json()]
    assert errors == []
    assert all(sum(1 for k, _ in ends if k == kind) >= 4 for kind in KINDS), ends
    writing = (min(j["started"] for j in finished), max(j["finished"] for j in finished))
    assert any(writing[0] <= t <= writing[1] for _, t in ends), "no read was answered while the writer worked"
    assert [j["state"] for j in finished] == ["done"] * 3 and sum(j["result"]["added"] for j in finished) == 60
    assert len(listed) == len(set(listed)) == 46 + 60
    assert set(listed) == before | {f"load-{i}" for i in range(60)}
