"""The API's OpenAPI docs (`/docs`) in a real browser: Swagger UI renders every endpoint from
scripts the server itself serves, with no request leaving 127.0.0.1 (no CDN)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from assistant.engine import Engine
from assistant.settings import get_settings
from tests.api_server import api_in_thread
from tests.e2e.conftest import CHROMIUM

pytestmark = pytest.mark.e2e


def test_docs_render_offline(browser: Any) -> None:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make system-deps` (apt-get install chromium)")
    outside: list[str] = []
    errors: list[str] = []
    with api_in_thread(Engine(get_settings())) as url:
        context = browser.new_context()

        def route(r: Any) -> None:
            if r.request.url.startswith(url) or r.request.url.startswith("data:"):
                r.continue_()
            else:
                outside.append(r.request.url)
                r.abort()

        context.route("**/*", route)
        page = context.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{url}/docs")
        page.get_by_text("Paper Assistant API").first.wait_for(timeout=30_000)
        for path in ("/ask", "/ingest", "/papers/{paper_id}", "/jobs/{job_id}"):
            page.locator(f"[data-path='{path}']").first.wait_for(timeout=30_000)
        operations = sum(len(methods) for methods in httpx.get(f"{url}/openapi.json").json()["paths"].values())
        assert page.locator(".opblock").count() == operations == 17  # one block per operation
        context.close()
    assert outside == [] and errors == []
