"""Server section: the same search latency against a local `chroma run` server.

Each bench library is moved onto the server with `papers export` + `papers import` (kept between
runs), then the latency worker runs with `PAPERS_CHROMA_URL`. Records `server.N.search_p50_ms` /
`_p95_ms` per size; a team-mate's first search with an empty local cache is noted in the report.
"""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path
from typing import Any

from bench.common import CACHE, CHROMA, PAPERS, Config, Run, env_for, log, run_timed, run_worker, server_process
from bench.sections.cli import QUESTION
from bench.sections.latency import record_search


def _port() -> int:
    for port in (8765, 0):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return int(s.getsockname()[1])
            except OSError:
                continue
    raise RuntimeError("no free port")


def _move(run: Run, n: int, env: dict[str, str]) -> dict[str, Any]:
    """Put library N on the server unless it is there already."""
    from bench.libraries import library_dir

    stats = run_timed([PAPERS, "stats", "--json"], env)
    expected = run.measurements.get("libraries", {}).get(n, {}).get("papers", n)
    have = json.loads(stats.stdout)["papers"] if stats.returncode == 0 else -1
    moved: dict[str, Any] = {"cached": have == expected}
    if have != expected:
        export = CACHE / f"export-{n}.jsonl"
        ex = run_timed([PAPERS, "export", str(export), "--json"], env_for(library_dir(n)))
        im = run_timed([PAPERS, "import", str(export), "--json"], env)
        if im.returncode != 0:
            raise RuntimeError(f"import into the server failed: {im.stderr[-1500:]}")
        moved.update(
            {
                "export_s": ex.seconds,
                "import_s": im.seconds,
                "file_mb": export.stat().st_size / 1e6,
                "import": json.loads(im.stdout),
            }
        )
        export.unlink()
    return moved


def _one_size(run: Run, cfg: Config, n: int, url: str, client_dir: Path) -> dict[str, Any]:
    env = env_for(client_dir, PAPERS_CHROMA_URL=url, PAPERS_COLLECTION=f"bench_{n}")
    moved = _move(run, n, env)
    r = run_worker(
        "latency",
        [
            str(client_dir),
            "--chroma-url",
            url,
            "--collection",
            f"bench_{n}",
            "--queries",
            str(cfg.queries),
            "--asks",
            str(min(cfg.asks, 10)),
            "--profile",
            str(CACHE / f"prof-server-{n}"),
        ],
        env_for(),
    )
    r["transfer"] = moved
    # A team-mate's first search with an empty local cache: manifest + BM25 rebuilt from the server.
    fresh = CACHE / "server-fresh-client"
    shutil.rmtree(fresh, ignore_errors=True)
    first = run_timed(
        [PAPERS, "search", QUESTION, "--json"],
        env_for(fresh, PAPERS_CHROMA_URL=url, PAPERS_COLLECTION=f"bench_{n}"),
    )
    shutil.rmtree(fresh, ignore_errors=True)
    r["fresh_client_first_search_s"] = first.seconds if first.returncode == 0 else None
    return r


def measure(run: Run, cfg: Config) -> None:
    port = _port()
    url = f"http://127.0.0.1:{port}"
    cmd = [CHROMA, "run", "--path", str(CACHE / "chroma-server"), "--host", "127.0.0.1", "--port", str(port)]

    def ready() -> bool:
        import httpx

        return httpx.get(f"{url}/api/v2/heartbeat", timeout=1).status_code == 200

    out: dict[str, Any] = {"url": url}
    with server_process(cmd, CACHE / "chroma-server.log", ready, stop_s=20):
        for n in cfg.server_sizes:
            r = out[str(n)] = _one_size(run, cfg, n, url, CACHE / "server-client")
            log(f"server {n}: search p50 {r['search']['p50_ms']:.1f} ms")
    run.measurements["server"] = out
    for n in cfg.server_sizes:
        record_search(run, f"server.{n}", out[str(n)])
