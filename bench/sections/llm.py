"""LLM section: what `papers ask` costs in LLM mode over the model itself, against a real local model.

llama.cpp's OpenAI-compatible server (llama-cpp-python, `make llm`) serves SmolLM2-135M-Instruct. For the
same question over the seed library, in the same run:

- raw: the server answering the exact prompt `papers ask` sends (the same numbered sources, system
  prompt and question), streamed: time to its first content token and to its last;
- ours: `papers ask QUESTION` as a user runs it (a fresh process: start-up, retrieval, the streamed
  answer shown a checked sentence at a time, then the LLM judge's request and the final verdicts):
  time to its first byte on stdout and to its exit.

Both are medians of `REPS`; the ratios are the product's overhead. A tiny model often writes text the
passages do not bear out, so `ours` may end in the extractive answer: its mode is recorded beside the
times.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import PY, Config, Run, env_for, llama_server, log

QUESTION = "How can Gaussian functions with learnable positions replace a fixed mesh in physics-informed learning?"
ALIAS = "smollm2-135m-instruct"
REPS = 3


def _raw(url: str, messages: list[dict[str, str]], max_tokens: int) -> tuple[float, float]:
    """(first content token s, last s) of one streamed completion."""
    import httpx
    from httpx_sse import connect_sse

    body = {"model": ALIAS, "messages": messages, "stream": True, "max_tokens": max_tokens, "temperature": 0.1}
    t0 = time.perf_counter()
    first = None
    with httpx.Client(timeout=300) as client, connect_sse(client, "POST", f"{url}/chat/completions", json=body) as src:
        for event in src.iter_sse():
            if event.data == "[DONE]":
                continue
            delta = json.loads(event.data)["choices"][0].get("delta", {}).get("content") or ""
            if delta and first is None:
                first = time.perf_counter() - t0
    total = time.perf_counter() - t0
    return first if first is not None else total, total


def _ours(env: dict[str, str]) -> tuple[float, float, str]:
    """(first stdout byte s, exit s, mode) of `papers ask QUESTION`; the mode from a --json run after."""
    papers = str(Path(PY).parent / "papers")
    t0 = time.perf_counter()
    proc = subprocess.Popen([papers, "ask", QUESTION], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    proc.stdout.read(1)
    first = time.perf_counter() - t0
    proc.stdout.read()
    proc.wait(600)
    return first, time.perf_counter() - t0, ""


def measure(run: Run, cfg: Config) -> None:
    from assistant.answers.budget import fit_sources
    from assistant.answers.citations import number_sources
    from assistant.engine import Engine
    from assistant.retrieval.retrieve import above_bar
    from assistant.settings import Settings
    from bench.sections.quality import corpus_engine
    from ingest.sources.seed import SEED_FILE

    try:
        from bench.common import gguf_path

        gguf_path()
    except RuntimeError as exc:
        run.measurements["llm"] = {"skipped": f"not run: {exc}"}
        log(f"llm: not run ({exc})")
        return
    with tempfile.TemporaryDirectory(prefix="bench-llm-") as tmp, llama_server(Path(tmp) / "llama.log", ALIAS) as url:
        llm_env = {
            "PAPERS_LLM_MODEL": ALIAS, "PAPERS_LLM_BASE_URL": url, "PAPERS_LLM_TIMEOUT_S": "300",
            "PAPERS_LLM_MAX_RETRIES": "0", "PAPERS_LLM_MAX_TOKENS": "300", "PAPERS_LLM_CONTEXT_TOKENS": "8192",
        }
        with corpus_engine(SEED_FILE) as (built, _, _, _):
            data_dir = built.settings.data_dir
            settings = Settings(_env_file=None, data_dir=data_dir, **{k[7:].lower(): v for k, v in llm_env.items()})  # type: ignore[call-arg,arg-type]
            eng = Engine(settings, library=built.library, embedder=built.embedder)
            answerer = eng.answerer
            result = above_bar(answerer.search(QUESTION), settings.relevance_bar)
            from assistant.llm.prompts import ANSWER_SYSTEM

            sources, _ = fit_sources(ANSWER_SYSTEM, number_sources(result.hits), QUESTION, [], settings)
            messages = answerer.messages(QUESTION, sources, [])
            raw = [_raw(url, messages, settings.llm_max_tokens) for _ in range(REPS)]
            env = env_for(data_dir, **llm_env)
            ours = [_ours(env) for _ in range(REPS)]
            done = subprocess.run(
                [str(Path(PY).parent / "papers"), "ask", QUESTION, "--json"], env=env, capture_output=True, text=True,
                timeout=600,
            )
            answer: dict[str, Any] = json.loads(done.stdout) if done.returncode == 0 else {}
    raw_first, raw_total = statistics.median(r[0] for r in raw), statistics.median(r[1] for r in raw)
    our_first, our_total = statistics.median(o[0] for o in ours), statistics.median(o[1] for o in ours)
    mode = answer.get("mode", "?")
    why = answer.get("fallback_reason") or ""
    run.measurements["llm"] = {
        "raw_first_s": raw_first, "raw_total_s": raw_total, "ours_first_s": our_first, "ours_total_s": our_total,
        "mode": mode, "fallback_reason": why, "sources": len(sources), "reps": REPS,
    }
    detail = f"median of {REPS}; ours ended in {mode} mode" + (f" ({why})" if why else "")
    run.record("llm.raw_first_token_s", raw_first, "the server alone, same prompt, streamed")
    run.record("llm.raw_total_s", raw_total, "the server alone, same prompt")
    run.record("llm.ask_first_token_s", our_first, "papers ask (a fresh process), first byte on stdout")
    run.record("llm.ask_total_s", our_total, detail)
    run.record("llm.first_token_ratio", our_first / raw_first if raw_first else None, detail)
    run.record("llm.total_ratio", our_total / raw_total if raw_total else None, detail)


def report_lines(m: dict[str, Any] | None) -> list[str]:
    if not m:
        return []
    if "skipped" in m:
        return ["## LLM mode against a real local model", "", m["skipped"], ""]
    return [
        "## LLM mode against a real local model",
        "",
        "SmolLM2-135M-Instruct on llama.cpp's server (llama-cpp-python), the same question and prompt; "
        f"median of {m['reps']}.",
        "",
        "| | first token s | total s |",
        "|---|---|---|",
        f"| the server alone, the exact prompt `papers ask` sends ({m['sources']} sources), streamed "
        f"| {m['raw_first_s']:.2f} | {m['raw_total_s']:.2f} |",
        f"| `papers ask` (fresh process: start-up, retrieval, checked sentences streamed, the LLM judge) "
        f"| {m['ours_first_s']:.2f} | {m['ours_total_s']:.2f} |",
        f"| ratio | {m['ours_first_s'] / m['raw_first_s']:.1f}x | {m['ours_total_s'] / m['raw_total_s']:.1f}x |",
        "",
        f"`papers ask` ended in **{m['mode']}** mode" + (f": {m['fallback_reason']}." if m["fallback_reason"] else "."),
        "",
    ]
