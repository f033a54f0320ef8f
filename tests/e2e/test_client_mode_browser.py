"""Two Streamlit apps in client mode (PAPERS_API_URL + PAPERS_API_KEY) against one `papers serve`
(uvicorn, subprocess) over a copy of the seed library, in a real browser: a file uploaded on one
app's Library page is in the other app's library at its next page view, without a restart; then
the other app answers from it with a citation. Neither app opens a library of its own, and no
request leaves 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.api_server import ServeProcess, serve_process
from tests.e2e.conftest import CHROMIUM, App, Watch, start_app, stop_app, watched_page
from tests.ui_support import NEW_PAPER, jsonl_bytes, pdf_bytes

pytestmark = pytest.mark.e2e

WRITE_KEY = "e2e-write-key-0123"
ANSWER_TIMEOUT = 120_000  # ms; the server loads the model on the first question


@contextlib.contextmanager
def environ(**values: str) -> Iterator[None]:
    """start_app passes os.environ on: client mode for the apps started inside."""
    before = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture(scope="module")
def served(_seed_library_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    root = tmp_path_factory.mktemp("client-e2e") / "served"
    shutil.copytree(_seed_library_template, root)
    env = {"PAPERS_DATA_DIR": str(root), "PAPERS_API_KEYS": f"write:{WRITE_KEY}"}
    with serve_process(root.parent / "serve.log", env=env) as server:
        yield server


@pytest.fixture(scope="module")
def two_apps(served: ServeProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[App, App]]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make system-deps` (apt-get install chromium)")
    base = tmp_path_factory.mktemp("client-apps")
    apps: list[App] = []
    try:
        with environ(PAPERS_API_URL=served.url, PAPERS_API_KEY=WRITE_KEY):
            for name in ("a", "b"):
                apps.append(start_app(base / f"{name}-local-library", base / f"streamlit-{name}.log"))
        yield apps[0], apps[1]
    finally:
        for app in apps:
            stop_app(app)
        # Neither opened a library: an upload is read here (the one way in) and its PDF parse may be
        # cached under the local data directory, but no store was created there.
        local = [f for n in "ab" for f in (base / f"{n}-local-library").rglob("*") if f.is_file()]
        assert all(f.relative_to(base).parts[1:3] == ("cache", "pdf") for f in local), local


def go(pg: Any, page_title: str, ready_text: str) -> None:
    pg.locator("[data-testid=stSidebarNavLink]", has_text=page_title).click()
    pg.get_by_text(ready_text, exact=True).first.wait_for()


def open_chat(pg: Any) -> None:
    pg.locator("[data-testid=stSidebarNavLink]", has_text="Chat").click()
    pg.locator("[data-testid=stChatInputTextArea]").wait_for()


def metric(pg: Any, label: str) -> int:
    value = pg.locator("[data-testid=stMetric]", has_text=label).locator("[data-testid=stMetricValue]")
    return int(value.inner_text().replace(",", ""))


def paper_count(pg: Any) -> int:
    return metric(pg, "Papers")


def test_two_client_apps_see_each_others_uploads(
    browser: Any, two_apps: tuple[App, App], served: ServeProcess, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    app_a, app_b = two_apps
    watch_a, watch_b = Watch(), Watch()
    pa = watched_page(browser, (app_a.url,), watch_a)
    request.addfinalizer(pa.context.close)  # closed however the test ends
    pb = watched_page(browser, (app_b.url,), watch_b)
    request.addfinalizer(pb.context.close)

    pb.goto(app_b.url)
    go(pb, "Library", "Add papers")
    before = paper_count(pb)
    assert before == len(httpx.get(f"{served.url}/papers", headers={"Authorization": f"Bearer {WRITE_KEY}"}).json())

    pa.goto(app_a.url)
    go(pa, "Library", "Add papers")
    assert paper_count(pa) == before
    jsonl = tmp_path / "widgets.jsonl"
    jsonl.write_bytes(jsonl_bytes(NEW_PAPER))
    pdf = tmp_path / "protein.pdf"
    pdf.write_bytes(pdf_bytes())
    pa.locator("[data-testid=stFileUploader] input[type=file]").set_input_files([str(jsonl), str(pdf)])
    pa.get_by_text("widgets.jsonl").first.wait_for()
    pa.get_by_role("button", name="Add to library").click()
    pa.get_by_text("Last upload: 2 of 2 files read").wait_for(timeout=ANSWER_TIMEOUT)
    assert paper_count(pa) == before + 2

    # Read by the app, as in local mode (the one way in), and sent as whole papers labelled as the Library
    # page labels uploads (JSON records would be api:records:N); the PDF keeps its parsed metadata.
    auth = {"Authorization": f"Bearer {WRITE_KEY}"}
    listed = {p["source"].split(":")[1]: p["id"] for p in httpx.get(f"{served.url}/papers", headers=auth).json()
              if p["source"].startswith("upload:")}  # fmt: skip
    assert set(listed) == {"widgets.jsonl", "protein.pdf"}, listed
    parsed = httpx.get(f"{served.url}/papers/{quote(listed['protein.pdf'], safe='')}", headers=auth).json()
    assert parsed["title"] == "Sparse Mixture Routing for Protein Folding" and parsed["authors"] == ["Ada Lovelace"]

    # The other app, never restarted: its next page view asks the server again.
    open_chat(pb)
    go(pb, "Library", "Add papers")
    assert paper_count(pb) == before + 2
    assert metric(pb, "Chunks") == httpx.get(f"{served.url}/stats", headers=auth).json()["chunks"] > before
    search = pb.get_by_label("Search the library")
    search.fill("widget placement")
    search.press("Enter")
    pb.get_by_text(f"1 of {before + 2} papers", exact=False).wait_for()
    # The table is a canvas grid: its cells are in the page for screen readers, not visible.
    pb.locator("[role=gridcell]", has_text=NEW_PAPER["title"][:40]).first.wait_for(state="attached")

    # ... and answers from it: the first source of a question about it is the uploaded paper.
    open_chat(pb)
    box = pb.locator("[data-testid=stChatInputTextArea]")
    box.fill("Where should interface widgets be placed for screen-reader users?")
    box.press("Enter")
    pb.locator(".st-key-chips-1 button").first.wait_for(timeout=ANSWER_TIMEOUT)
    pb.locator(".st-key-chips-1 button", has_text="[1]").click()
    pb.wait_for_selector(".st-key-src-1-1 details[open]", timeout=30_000)
    source = pb.locator(".st-key-src-1-1 [data-testid=stText]").inner_text()
    assert "screen-reader users" in source or "ranking model" in source, source

    for watch in (watch_a, watch_b):
        assert watch.outside == [] and watch.dialogs == [] and watch.errors == [], watch
