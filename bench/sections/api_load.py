"""API load section: one `papers serve` over a copy of the 1k bench library, 50 clients mixing
search, ask and streamed ask for 30 s (quick: 10 clients, 10 s) while an ingest job of 200 new
papers runs on the server's one writer.

Records `api.errors` (requests that failed or came back wrong), `api.lost_papers` (new
papers missing after the job, plus duplicated ids) and latency `api.p50_ms` / `p95_ms` over all
requests (per kind in the report's table; a stream's time to its first token too).
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from typing import Any

from bench.common import (
    CACHE,
    DEV_QUESTIONS,
    PAPERS,
    Config,
    Run,
    env_for,
    free_port,
    log,
    pct,
    run_worker,
    server_process,
)

KINDS = ("search", "ask", "stream")
NEW_PAPERS = 200


def _questions() -> list[str]:
    return [json.loads(line)["query"] for line in DEV_QUESTIONS.read_text().splitlines() if line.strip()]


def _records(n: int) -> list[dict[str, Any]]:
    return [
        {
            "id": f"api-load-{i}",
            "title": f"Load-test paper {i}: contrastive dense retrieval with hard negatives",
            "abstract": f"Paper {i} studies contrastive dense retrieval with mined hard negatives and reports recall "
            "on open-domain question answering; the negatives come from a BM25 first stage.",
        }
        for i in range(n)
    ]


def _client(url: str, seed: int, until: float, questions: list[str], out: dict[str, Any]) -> None:
    import httpx
    from httpx_sse import connect_sse

    n = seed
    with httpx.Client(base_url=url, timeout=300) as c:
        while time.monotonic() < until:
            kind = KINDS[n % len(KINDS)]
            question = questions[n % len(questions)]
            n += 1
            t0 = time.perf_counter()
            try:
                if kind == "search":
                    r = c.post("/search", json={"query": question, "k": 8})
                    ok = r.status_code == 200 and "hits" in r.json()
                elif kind == "ask":
                    r = c.post("/ask", json={"question": question})
                    ok = r.status_code == 200 and "answer" in r.json()
                else:
                    first: float | None = None
                    last = ""  # the stream must end with its `answer` event
                    with connect_sse(c, "POST", "/ask", json={"question": question, "stream": True}) as src:
                        for event in src.iter_sse():
                            if first is None:
                                first = time.perf_counter() - t0
                            last = event.event
                    ok = src.response.status_code == 200 and last == "answer"
                    if first is not None:
                        out["first_token"].append(first)
            except Exception as exc:  # a failed request is counted, never raised
                out["errors"].append(f"{kind}: {type(exc).__name__}: {exc}"[:300])
                continue
            out[kind].append(time.perf_counter() - t0)
            if not ok:
                out["errors"].append(f"{kind}: HTTP {r.status_code}")


def _scenario(url: str, clients: int, seconds: float) -> dict[str, Any]:
    import httpx

    questions = _questions()
    with httpx.Client(base_url=url, timeout=300) as c:
        before = [p["id"] for p in c.get("/papers").json()]
        out: dict[str, Any] = {k: [] for k in (*KINDS, "first_token", "errors")}
        until = time.monotonic() + seconds
        threads = [threading.Thread(target=_client, args=(url, i, until, questions, out)) for i in range(clients)]
        t0, started = time.perf_counter(), time.time()
        for t in threads:
            t.start()
        job = c.post("/ingest", json={"records": _records(NEW_PAPERS)}).json()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
        while job["state"] not in ("done", "failed"):
            time.sleep(0.5)
            job = c.get(f"/jobs/{job['id']}").json()
        after = [p["id"] for p in c.get("/papers").json()]
    expected = set(before) | {r["id"] for r in _records(NEW_PAPERS)}
    every = [x for k in KINDS for x in out[k]]
    return {
        "clients": clients,
        "seconds": seconds,
        "wall_s": round(wall, 1),
        "requests": len(every),
        "requests_per_s": round(len(every) / wall, 2),
        "errors": len(out["errors"]),
        "error_samples": out["errors"][:5],
        "lost_papers": len(expected - set(after)),
        "duplicated_papers": len(after) - len(set(after)),
        "papers_before": len(before),
        "papers_after": len(after),
        "job": {k: job.get(k) for k in ("state", "error", "result")},
        "job_s": round(job["finished"] - job["started"], 1) if job.get("finished") else None,
        "job_overlapped": bool(job.get("started") and job["started"] < started + wall),
        "all": _ms(every),
        **{k: _ms(out[k]) for k in (*KINDS, "first_token")},
    }


def _ms(xs: list[float]) -> dict[str, float]:
    ms = [x * 1000 for x in xs]
    return {"p50_ms": pct(ms, 50), "p95_ms": pct(ms, 95), "n": len(ms)}


def measure(run: Run, cfg: Config) -> None:
    from bench.libraries import library_dir

    clients, seconds = (10, 10.0) if run.quick else (50, 30.0)
    run_worker("build", ["1000"], env_for(), timeout=3600)  # the 1k bench library (cached between runs)
    lib = CACHE / "api-load-lib"
    shutil.rmtree(lib, ignore_errors=True)
    shutil.copytree(library_dir(1000), lib)  # the job writes into a copy: the cached library stays as built
    url = f"http://127.0.0.1:{free_port()}"

    def ready() -> bool:
        import httpx

        # The first search loads the model: ready means answering, not only listening.
        return httpx.post(f"{url}/search", json={"query": "warm up"}, timeout=120).status_code == 200

    cmd = [PAPERS, "serve", "--port", url.rsplit(":", 1)[1], "--log-level", "warning"]
    with server_process(cmd, CACHE / "api-load-serve.log", ready, env=env_for(lib), timeout_s=300, stop_s=60):
        result = _scenario(url, clients, seconds)
    shutil.rmtree(lib, ignore_errors=True)
    run.measurements["api"] = result
    log(f"api load: {result['requests']} requests from {clients} clients, {result['errors']} errors, "
        f"p50 {result['all']['p50_ms']:.0f} ms, p95 {result['all']['p95_ms']:.0f} ms")
    detail = f"{clients} clients, {seconds:g} s, ingest job of {NEW_PAPERS} papers running"
    run.record("api.errors", result["errors"], detail)
    run.record("api.lost_papers", result["lost_papers"] + result["duplicated_papers"], "lost + duplicated")
    run.record("api.p50_ms", result["all"]["p50_ms"], detail)
    run.record("api.p95_ms", result["all"]["p95_ms"], detail)


def report_lines(r: dict[str, Any] | None) -> list[str]:
    """The report's section (bench/report.py)."""
    if not r:
        return []
    rows = [f"| {k} | {r[k]['n']:,} | {r[k]['p50_ms']:.0f} | {r[k]['p95_ms']:.0f} |" for k in (*KINDS, "first_token")
            if r[k]["n"]]
    return [
        "## API under load (`papers serve`)",
        "",
        f"{r['clients']} clients for {r['seconds']:g} s against one `papers serve` over the 1k library, mixing "
        f"search, ask and streamed ask, while an ingest job of {NEW_PAPERS} papers ran on its one writer "
        f"({r['job_s']} s, {r['job']['state']}). {r['requests']:,} requests ({r['requests_per_s']}/s), "
        f"**{r['errors']} errors**; papers {r['papers_before']:,} → {r['papers_after']:,}: "
        f"{r['lost_papers']} lost, {r['duplicated_papers']} duplicated.",
        "",
        "| request | n | p50 ms | p95 ms |",
        "|---|---|---|---|",
        *rows,
        f"| all | {r['all']['n']:,} | {r['all']['p50_ms']:.0f} | {r['all']['p95_ms']:.0f} |",
        "",
        "first_token: a streamed ask's time to its first bytes. All figures with the clients on the same "
        "two cores as the server.",
        "",
        *_stall_note(r),
    ]


def _stall_note(r: dict[str, Any]) -> list[str]:
    """Why p95 is near the job's length, when it is: reads wait for the writer in the same process."""
    if not r.get("job_s") or r["all"]["p95_ms"] < 500 * r["job_s"]:
        return []
    return [
        f"The slow tail (p95 {r['all']['p95_ms'] / 1000:.1f} s against a {r['job_s']} s job) is reads that arrived "
        "while the job wrote: the server's readers and its writer share one Library, whose lock an ingest holds "
        "for the whole job, embedding included (`library.writing()` around every batch in "
        "assistant/library/ingestion.py), so a read waits for the job's end. p50 is the cost of the concurrency alone.",
        "",
    ]
