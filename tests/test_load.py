"""Load: 20 concurrent `ask` calls through one process-wide Engine (as Streamlit sessions share it).

Correctness only: 0 errors, and every answer is the one the same engine gives when asked alone
(extractive mode), or a valid cited LLM answer (LLM mode over the test server). The latencies are
reported as p50/p95 on the test output; the speed goal itself is measured in bench/.
"""

from __future__ import annotations

import json
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from assistant.engine import get_engine, reset_engines
from assistant.library.library import Library
from assistant.models import Answer
from assistant.settings import get_settings
from tests import compass
from tests.llm_server import LLMServer

N = 20
QUESTIONS = [
    json.loads(line)
    for line in (Path(__file__).resolve().parents[1] / "bench" / "dev_questions.jsonl").read_text().splitlines()
    if line.strip()
]


def _in_library(n: int) -> list[tuple[str, str]]:
    """(question, its relevant paper) for the first n questions the library covers."""
    return [(q["query"], q["relevant"][0]) for q in QUESTIONS if q["relevant"]][:n]


def _concurrently(engine: Any, questions: list[str]) -> tuple[list[Answer | BaseException], list[float]]:
    def one(question: str) -> tuple[Answer | BaseException, float]:
        t0 = time.perf_counter()
        try:
            answer: Answer | BaseException = engine.ask(question)
        except BaseException as exc:  # counted, not raised: every call's outcome is checked
            answer = exc
        return answer, time.perf_counter() - t0

    with ThreadPoolExecutor(max_workers=len(questions)) as pool:
        results = list(pool.map(one, questions))
    return [r for r, _ in results], [t for _, t in results]


def _percentiles(times: list[float]) -> str:
    cuts = statistics.quantiles(times, n=20, method="inclusive")
    return f"p50 {statistics.median(times):.2f}s, p95 {cuts[18]:.2f}s"


@pytest.fixture()
def engine(seed_library: Library) -> Any:
    reset_engines()
    yield get_engine(get_settings())
    reset_engines()


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_twenty_concurrent_extractive_asks(engine: Any) -> None:
    cases = _in_library(N)
    assert len(cases) == N
    assert get_engine(get_settings()) is engine  # one process-wide engine
    alone = {q: engine.ask(q) for q, _ in cases}  # also warms the engine: the model loads once
    answers, times = _concurrently(engine, [q for q, _ in cases])
    errors = [a for a in answers if not isinstance(a, Answer)]
    assert errors == [], errors
    for (question, _), answer in zip(cases, answers):
        assert isinstance(answer, Answer)
        assert answer.mode == "extractive" and not answer.abstained and answer.fallback_reason is None, question
        assert answer.citations and "[1]" in answer.answer, question
        # Same question, same engine: the same answer whether asked alone or among 19 others.
        assert answer.public() == alone[question].public(), question
    hit = sum(any(c.id == rel for c in a.citations) for (_, rel), a in zip(cases, answers) if isinstance(a, Answer))
    assert hit >= N * 3 // 4, hit  # the relevant paper is cited (retrieval quality lives in bench/)
    compass.record("concurrent asks without error", N, f"extractive: {_percentiles(times)}")


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_twenty_concurrent_llm_asks(
    seed_library: Library, llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    llm_server.configure_env(monkeypatch, timeout_s=30)
    reset_engines()
    shared = get_engine(get_settings())
    shared.ask(_in_library(1)[0][0])  # warm: the model loads once, outside the measured calls
    llm_server.requests.clear()
    cases = _in_library(N)
    answers, times = _concurrently(shared, [q for q, _ in cases])
    errors = [a for a in answers if not isinstance(a, Answer)]
    assert errors == [], errors
    assert len(llm_server.chat_requests) == N
    asked = sorted(body["messages"][-1]["content"].rsplit("Question: ", 1)[1].split("\n")[0]
                   for body in llm_server.chat_requests)
    assert asked == sorted(q for q, _ in cases)  # each request carried its own question
    for (question, _), answer in zip(cases, answers):
        assert isinstance(answer, Answer)
        assert answer.question == question
        assert answer.mode == "llm" and answer.fallback_reason is None, (question, answer.fallback_reason)
        # The test server's default reply restates the first source: "[1]" must name this question's top hit.
        assert answer.answer.endswith("[1].") and [c.verdict for c in answer.sentences] == ["supported"]
        assert answer.citations[0].id == shared.search(question).hits[0].paper.id
    compass.record("concurrent asks without error", N, f"LLM mode: {_percentiles(times)}")
    reset_engines()
