"""API keys, rate limits, CORS and the binding rule, through real HTTP: a real `papers serve`
subprocess for the key matrix (its whole log is then searched for the keys), uvicorn in a thread
for the rest."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from assistant.engine import Engine
from assistant.errors import PapersError
from assistant.settings import Settings, get_settings
from tests.api_server import api_in_thread, serve_process
from tests.support import assert_one_line_error, papers
from ui.api.auth import authorize, check_binding, find_key, parse_keys
from ui.api.limits import RateLimiter

READ_KEY = "reader-key-7Hq2mZ"
WRITE_KEY = "writer-key-9Xw4pL"
WRONG_KEY = "wrong-key-3Jd8vN"
KEYS = f"read:{READ_KEY},write:{WRITE_KEY}"
RECORD = {"id": "auth-1", "title": "Keyed ingest", "abstract": "A paper sent with a write key is ingested."}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


# -- the rules, as functions ---------------------------------------------------------------------
def test_keys_parse_by_role_and_bad_entries_say_which() -> None:
    keys = parse_keys(f" read:{READ_KEY} , write:{WRITE_KEY},")
    assert [(k.role, k.name) for k in keys] == [("read", "read#1"), ("write", "write#2")]
    assert READ_KEY not in repr(keys)
    for text, fragment in [(f"admin:{READ_KEY}", "entry 1 must be read:KEY or write:KEY"),
                           (f"read:{READ_KEY},{WRITE_KEY}", "entry 2 must be"),
                           ("write:short", "at least 16 characters"), ("write:fifteen-chars-x", "at least 16")]:
        with pytest.raises(PapersError, match=fragment) as err:
            parse_keys(text)
        assert READ_KEY not in str(err.value) and WRITE_KEY not in str(err.value)


def test_the_matrix_of_keys_and_needs() -> None:
    keys = parse_keys(KEYS)
    assert find_key(READ_KEY, keys) is keys[0] and find_key(WRONG_KEY, keys) is None
    assert find_key(READ_KEY[:-1], keys) is None and find_key(READ_KEY + "x", keys) is None
    got = {
        (header, need): getattr(authorize(header, keys, need), "status", "ok")
        for header in (None, "Bearer", f"Basic {READ_KEY}", f"Bearer {WRONG_KEY}", f"Bearer {READ_KEY}",
                       f"bearer {WRITE_KEY}")
        for need in ("read", "write")
    }
    assert got == {
        (None, "read"): 401, (None, "write"): 401,
        ("Bearer", "read"): 401, ("Bearer", "write"): 401,
        (f"Basic {READ_KEY}", "read"): 401, (f"Basic {READ_KEY}", "write"): 401,
        (f"Bearer {WRONG_KEY}", "read"): 401, (f"Bearer {WRONG_KEY}", "write"): 401,
        (f"Bearer {READ_KEY}", "read"): "ok", (f"Bearer {READ_KEY}", "write"): 403,
        (f"bearer {WRITE_KEY}", "read"): "ok", (f"bearer {WRITE_KEY}", "write"): "ok",
    }
    assert getattr(authorize(None, [], "write"), "status", "ok") == "ok"  # keyless: loopback only


def test_binding_beyond_loopback_needs_keys() -> None:
    for host in ("127.0.0.1", "localhost", "::1", "127.0.0.2"):
        check_binding(host, [])
    for host in ("0.0.0.0", "192.168.1.5", "::", "example.org"):
        with pytest.raises(PapersError, match="needs API keys"):
            check_binding(host, [])
        check_binding(host, parse_keys(KEYS))
    done = papers("serve", "--host", "0.0.0.0", "--port", "1")
    assert_one_line_error(done, "binding to 0.0.0.0 needs API keys", "PAPERS_API_KEYS")


def test_rate_window_slides() -> None:
    now = [0.0]
    limiter = RateLimiter(2, clock=lambda: now[0])
    assert [limiter.retry_after("a") for _ in range(3)] == [0, 0, 60]
    assert limiter.retry_after("b") == 0
    now[0] = 59.5
    assert limiter.retry_after("a") == 1
    now[0] = 60.01
    assert limiter.retry_after("a") == 0
    assert RateLimiter(0).retry_after("a") == 0


# -- a real `papers serve` with keys --------------------------------------------------------------
@pytest.mark.slow
def test_key_matrix_over_http_and_no_key_in_the_log(tmp_path: Path) -> None:
    env = {"PAPERS_API_KEYS": KEYS}
    with serve_process(tmp_path / "serve.log", env=env) as served, httpx.Client(base_url=served.url, timeout=120) as c:
        assert c.get("/health").json() == {"status": "ok", "auth": True}
        no_key = c.get("/papers")
        assert no_key.status_code == 401 and no_key.headers["www-authenticate"] == "Bearer"
        assert no_key.json() == {"error": "missing API key: send Authorization: Bearer KEY"}
        assert c.get("/papers", headers=bearer(WRONG_KEY)).json() == {"error": "unknown API key"}
        assert c.get("/papers", headers=bearer(READ_KEY)).json() == []
        assert c.get("/stats", headers=bearer(WRITE_KEY)).status_code == 200
        for headers, status in ((None, 401), (bearer(WRONG_KEY), 401), (bearer(READ_KEY), 403)):
            ingest = c.post("/ingest", json={"records": [RECORD]}, headers=headers)
            delete = c.delete("/papers/auth-1", headers=headers)
            assert (ingest.status_code, delete.status_code) == (status, status), (ingest.text, delete.text)
        assert "read-only" in c.delete("/papers/x", headers=bearer(READ_KEY)).json()["error"]
        done = c.post("/ingest", params={"wait": "true"}, json={"records": [RECORD]}, headers=bearer(WRITE_KEY))
        assert done.status_code == 200 and done.json()["report"]["added"] == 1
        assert [p["id"] for p in c.get("/papers", headers=bearer(READ_KEY)).json()] == ["auth-1"]
        assert c.delete("/papers/auth-1", headers=bearer(WRITE_KEY)).json()["removed"] == ["auth-1"]
        log = served.log()
    assert '"GET /papers HTTP/1.1" 401' in log and '"POST /ingest?wait=true HTTP/1.1" 200' in log
    for key in (READ_KEY, WRITE_KEY, WRONG_KEY):
        assert key not in log


# -- limits and CORS over HTTP (uvicorn in a thread) ------------------------------------------------
@pytest.fixture()
def keyed_client(monkeypatch: pytest.MonkeyPatch) -> Iterator[httpx.Client]:
    monkeypatch.setenv("PAPERS_API_KEYS", KEYS)
    monkeypatch.setenv("PAPERS_API_RATE_LIMIT", "3")
    get_settings.cache_clear()
    with api_in_thread(Engine(get_settings())) as url, httpx.Client(base_url=url, timeout=60) as c:
        yield c


def test_rate_limit_is_per_key(keyed_client: httpx.Client) -> None:
    codes = [keyed_client.get("/papers", headers=bearer(READ_KEY)).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    limited = keyed_client.get("/papers", headers=bearer(READ_KEY))
    assert limited.status_code == 429 and 1 <= int(limited.headers["retry-after"]) <= 60
    assert "rate limit of 3 requests a minute" in limited.json()["error"]
    assert keyed_client.get("/papers", headers=bearer(WRITE_KEY)).status_code == 200  # its own window
    assert keyed_client.get("/health").status_code == 200  # health is never limited


def _preflight(client: httpx.Client, origin: str) -> httpx.Response:
    return client.options("/papers", headers={"Origin": origin, "Access-Control-Request-Method": "GET",
                                              "Access-Control-Request-Headers": "authorization"})


def test_cors_is_off_by_default_and_names_its_origins(monkeypatch: pytest.MonkeyPatch) -> None:
    with api_in_thread(Engine(get_settings())) as url, httpx.Client(base_url=url) as c:
        assert "access-control-allow-origin" not in _preflight(c, "http://evil.test").headers
        assert "access-control-allow-origin" not in c.get("/health", headers={"Origin": "http://evil.test"}).headers
    settings = Settings(_env_file=None, data_dir=get_settings().data_dir,  # type: ignore[call-arg]
                        api_cors_origins="http://team.test, http://other.test")
    with api_in_thread(Engine(settings)) as url, httpx.Client(base_url=url) as c:
        ok = _preflight(c, "http://team.test")
        assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == "http://team.test"
        assert "access-control-allow-origin" not in _preflight(c, "http://evil.test").headers
        got: Any = c.get("/health", headers={"Origin": "http://other.test"}).headers
        assert got["access-control-allow-origin"] == "http://other.test"
