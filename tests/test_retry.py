"""The retry policy (ingest/retry.py, tenacity) against a real local HTTP server that answers a script of
statuses: Retry-After honoured on 429 / 503 (seconds, and an HTTP date), exponential back-off capped
otherwise, a bounded number of attempts; and the arXiv fetcher and the enricher waiting as told."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from assistant.models import Paper
from assistant.settings import Settings
from ingest.retry import RetryableStatus, call, retry_after_s, retryable
from ingest.sources import arxiv as arxiv_source
from ingest.sources.arxiv import fetch_arxiv
from tests.arxiv_server import render_feed, synthetic_entries

Answer = tuple[int, dict[str, str], bytes]


class Scripted:
    """Answers each path's scripted answers in turn, then its last one for ever; records arrival times."""

    def __init__(self) -> None:
        self.script: dict[str, list[Answer]] = {}
        self.times: dict[str, list[float]] = {}
        srv = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                srv.times.setdefault(path, []).append(time.monotonic())
                answers = srv.script.get(path) or [(404, {}, b"not found")]
                status, headers, body = answers.pop(0) if len(answers) > 1 else answers[0]
                self.send_response(status)
                for k, v in {"Content-Length": str(len(body)), **headers}.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def gaps(self, path: str) -> list[float]:
        t = self.times.get(path, [])
        return [b - a for a, b in zip(t, t[1:])]


@pytest.fixture()
def server() -> Iterator[Scripted]:
    srv = Scripted()
    threading.Thread(target=srv.server.serve_forever, daemon=True).start()
    try:
        yield srv
    finally:
        srv.server.shutdown()
        srv.server.server_close()


OK: Answer = (200, {"Content-Type": "text/plain"}, b"fine")


def _get(client: httpx.Client, url: str) -> Any:
    def attempt() -> httpx.Response:
        resp = client.get(url)
        if retryable(resp):
            raise RetryableStatus(resp)
        return resp

    return attempt


def _again(exc: BaseException) -> bool:
    return isinstance(exc, (RetryableStatus, httpx.TransportError))


def test_429_with_retry_after_seconds_is_waited_for(server: Scripted) -> None:
    server.script["/a"] = [(429, {"Retry-After": "1"}, b"slow down"), OK]
    with httpx.Client() as client:
        resp = call(_get(client, server.url + "/a"), attempts=3, again=_again, base_s=0.01)
    assert resp.status_code == 200 and resp.text == "fine"
    (gap,) = server.gaps("/a")
    assert 1.0 <= gap < 1.8, gap  # the server's second, not the 0.01 s back-off


def test_503_with_retry_after_as_an_http_date_is_waited_for(server: Scripted) -> None:
    when = formatdate(time.time() + 3, usegmt=True)  # whole seconds: 2 to 3 s from now
    server.script["/b"] = [(503, {"Retry-After": when}, b"maintenance"), OK]
    waits: list[float] = []
    with httpx.Client() as client:
        resp = call(_get(client, server.url + "/b"), attempts=2, again=_again, base_s=0.01, sleep=waits.append)
    assert resp.status_code == 200 and len(waits) == 1 and 1.5 <= waits[0] <= 3.0, waits


def test_without_retry_after_the_back_off_grows_and_is_capped(server: Scripted) -> None:
    busy: Answer = (502, {}, b"bad gateway")
    server.script["/c"] = [busy, busy, busy, busy, OK]
    waits: list[float] = []
    with httpx.Client() as client:
        resp = call(_get(client, server.url + "/c"), attempts=5, again=_again, base_s=0.01, cap_s=0.03,
                    sleep=waits.append)
    assert resp.status_code == 200 and waits == [0.01, 0.02, 0.03, 0.03]
    # A Retry-After past the cap is cut to it; a 429's header is honoured, a 500's is not.
    server.script["/d"] = [(429, {"Retry-After": "3600"}, b""), (500, {"Retry-After": "7"}, b""), OK]
    waits.clear()
    with httpx.Client() as client:
        call(_get(client, server.url + "/d"), attempts=3, again=_again, base_s=0.5, cap_s=2.0, sleep=waits.append)
    assert waits == [2.0, 1.0]


def test_attempts_are_bounded_and_the_last_failure_is_raised(server: Scripted) -> None:
    server.script["/down"] = [(503, {"Retry-After": "0"}, b"down")]
    with httpx.Client() as client, pytest.raises(RetryableStatus) as failed:
        call(_get(client, server.url + "/down"), attempts=3, again=_again, base_s=0.01)
    assert failed.value.response.status_code == 503 and str(failed.value) == "HTTP 503 Service Unavailable"
    assert len(server.times["/down"]) == 3
    server.script["/gone"] = [(404, {}, b"")]  # not worth asking again: one request
    with httpx.Client() as client:
        assert call(_get(client, server.url + "/gone"), attempts=3, again=_again).status_code == 404
    assert len(server.times["/gone"]) == 1


def test_retry_after_parsing() -> None:
    def resp(value: str) -> httpx.Response:
        return httpx.Response(429, headers={"Retry-After": value} if value else {})

    assert retry_after_s(resp("2")) == 2.0 and retry_after_s(resp("-5")) == 0.0
    assert retry_after_s(resp("")) is None and retry_after_s(resp("soon")) is None
    assert retry_after_s(resp(formatdate(0, usegmt=True))) == 0.0  # a date in the past: now


def test_the_arxiv_fetcher_honours_retry_after(server: Scripted, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(arxiv_source, "REQUEST_GAP_S", 0.0)  # so the wait measured is the server's alone
    monkeypatch.setattr(arxiv_source, "RETRY_BASE_S", 0.01)
    feed = render_feed(synthetic_entries(1), 1, 0, 1)
    server.script["/api/query"] = [(429, {"Retry-After": "1"}, b"Rate exceeded."),
                                   (200, {"Content-Type": "application/atom+xml"}, feed)]
    settings = Settings(_env_file=None, arxiv_api_url=server.url + "/api/query", arxiv_retries=1)  # type: ignore[call-arg]
    got = list(fetch_arxiv(["2401.00000"], "", 1, settings))
    assert [p.id for p in got if isinstance(p, Paper)] == ["arxiv:2401.00000"], got
    (gap,) = server.gaps("/api/query")
    assert 1.0 <= gap < 1.8, gap
    # Retries spent: one error naming the status, no traceback.
    server.script["/api/query"] = [(429, {"Retry-After": "0"}, b"Rate exceeded.")]
    (err,) = list(fetch_arxiv(["2401.00000"], "", 1, settings))
    assert "HTTP 429 Too Many Requests" in str(err)


def test_the_enricher_honours_retry_after(server: Scripted, tmp_path: Path) -> None:
    from ingest.enrich import Enricher

    body = b'{"status": "ok", "message": {"author": [{"given": "Ada", "family": "Lovelace"}], "issued": ' \
           b'{"date-parts": [[2021]]}}}'
    server.script["/crossref/works/10.1/x"] = [(429, {"Retry-After": "1"}, b""),
                                               (200, {"Content-Type": "application/json"}, body)]
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, data_dir=tmp_path, enrich=True, crossref_api_url=server.url + "/crossref",
        openalex_api_url=server.url + "/openalex", enrich_rate_per_s=100.0,
    )
    with Enricher(settings) as enricher:
        got = enricher.enrich(Paper(title="x", abstract="y", doi="10.1/x"))
    assert got.authors == ["Ada Lovelace"] and got.year == 2021
    (gap,) = server.gaps("/crossref/works/10.1/x")
    assert 1.0 <= gap < 1.8, gap
