"""The same commands against a real `chroma run` server instead of the embedded client."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import httpx

from tests.chroma_server import free_port
from tests.support import assert_one_line_error, papers, papers_json


def test_seed_ingest_against_chroma_server(chroma_server: str, data_dir: Path) -> None:
    env = {"PAPERS_CHROMA_URL": chroma_server, "PAPERS_COLLECTION": "server_seed"}
    first = papers_json("ingest", "--json", env=env)
    assert (first["added"], first["failed"]) == (46, 0)
    listed = papers_json("list", "--json", env=env)
    assert len(listed) == 46
    second = papers_json("ingest", "--json", env=env)
    assert (second["added"], second["updated"], second["unchanged"]) == (0, 0, 46)
    stats = papers_json("stats", "--json", env=env)
    assert stats["location"] == chroma_server and stats["papers"] == 46
    assert stats["chroma_chunks"] == stats["bm25_chunks"] == stats["chunks"]
    # The chunks live on the server, not under the data dir.
    assert not (data_dir / "chroma").exists()
    collections = httpx.get(
        f"{chroma_server}/api/v2/tenants/default_tenant/databases/default_database/collections", timeout=5
    ).json()
    assert "server_seed" in {c["name"] for c in collections}


def test_refused_connection_is_one_line() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    done = papers("list", env={"PAPERS_CHROMA_URL": url, "PAPERS_CHROMA_TIMEOUT_S": "2"})
    assert_one_line_error(done, f"cannot reach the Chroma server at {url}")


def test_silent_server_times_out_as_one_line() -> None:
    """A server that accepts connections but never answers: the heartbeat timeout ends the wait."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        held: list[socket.socket] = []
        stop = threading.Event()

        def accept_and_hold() -> None:
            listener.settimeout(0.2)
            while not stop.is_set():
                try:
                    conn, _ = listener.accept()
                    held.append(conn)
                except OSError:
                    continue

        t = threading.Thread(target=accept_and_hold, daemon=True)
        t.start()
        try:
            url = f"http://127.0.0.1:{port}"
            done = papers("list", env={"PAPERS_CHROMA_URL": url, "PAPERS_CHROMA_TIMEOUT_S": "1"}, timeout=60)
            assert_one_line_error(done, f"cannot reach the Chroma server at {url} (within 1s)", "Timeout")
        finally:
            stop.set()
            t.join()
            for conn in held:
                conn.close()
