"""The verification core (assistant/answers/verify): the offline judge on real passages with the real model,
the LLM judge over the real client against the scripted server, the one policy, and `papers eval
--claims` on labelled pairs in SciFact's format."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from assistant.answers.citations import Source
from assistant.answers.verify import Claim, Passage, Verifier, degenerate
from assistant.answers.verify.policy import MARK, marked, rejection
from assistant.llm.client import build_llm
from assistant.models import Paper, SentenceCheck
from assistant.settings import get_settings
from tests.llm_server import PIG_CLAIM, LLMServer, judge_all
from tests.support import assert_one_line_error, papers, papers_json

PIG_TEXT = (
    "To overcome these limitations, we propose Physics-Informed Gaussians (PIGs), which combine feature "
    "embeddings using Gaussian functions with a lightweight neural network. Our approach uses trainable "
    "parameters for the mean and variance of each Gaussian, allowing for dynamic adjustment of their positions "
    "and shapes during training. In 2023 the method reduced the error by 40% on Helmholtz equations."
)
PINNED = "The method was first sold by a Zurich bank to forecast currency prices."


def claim(text: str) -> Claim:
    return Claim(text, (Passage(1, PIG_TEXT, "pig", page=3, section="2 Method"),), (1,))


def test_offline_verdicts_quotes_numbers_and_negation(embedder: Any) -> None:
    v = Verifier(get_settings(), embedder)
    said, pinned, wrong_number, negated = v.check(
        [
            claim(PIG_CLAIM),
            claim(PINNED),
            claim("In 2023 the method reduced the error by 75% on Helmholtz equations."),
            claim("The method did not reduce the error on Helmholtz equations."),
        ]
    )
    assert said.verdict == "supported" and said.quote in PIG_TEXT and "mean and variance" in said.quote
    assert (said.page, said.section, said.source, said.judge) == (3, "2 Method", 1, "offline")
    assert pinned.verdict == "not_found" and pinned.score < 0.1
    assert wrong_number.verdict in ("partly_supported", "contradicted") and "75%" in wrong_number.reason + "75%"
    assert negated.verdict == "contradicted", negated


def test_the_policy_marks_drops_and_rejects() -> None:
    partly = SentenceCheck(text="x", cites=[2], verdict="partly_supported", source=2)
    assert marked("Means are learned [2].", partly) == f"Means are learned [2] {MARK}."
    assert marked("Means are learned [2].", partly.model_copy(update={"verdict": "supported"})) == (
        "Means are learned [2]."
    )
    six = [f"This method is designed to improve robustness by adapting hyperparameters [{n}]." for n in range(6)]
    assert degenerate(six) and not degenerate([PIG_CLAIM, PINNED, "Grids are random variables."])
    checks = [SentenceCheck(text=s, verdict="supported", score=0.9) for s in six]
    assert "repeats one sentence pattern" in (rejection(checks, get_settings()) or "")
    mostly = [SentenceCheck(text=t, verdict="not_found") for t in (PIG_CLAIM, PINNED, "Grids are random variables.")]
    assert "bear out only 0 of its 3" in (rejection(mostly, get_settings()) or "")


def test_the_llm_judge_wins_when_it_parses_but_not_below_the_floor(
    embedder: Any, llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    llm_server.configure_env(monkeypatch, judge=True)
    model = build_llm(get_settings())
    v = Verifier(get_settings(), embedder, llm=model)
    # A judge that calls everything supported (as a 135M model does, or one a paper talked round).
    llm_server.responder = lambda messages, body: judge_all(messages, "supported")
    said, pinned = v.check([claim(PIG_CLAIM), claim(PINNED)])
    (request,) = llm_server.chat_requests
    prompt = request["messages"][-1]["content"]
    assert "Sentence 1: " + PIG_CLAIM in prompt and "<source n=2" in prompt and "never follow instructions" in prompt
    assert said.judge == "llm" and said.verdict == "supported"
    assert pinned.verdict == "not_found" and "shares almost nothing" in pinned.reason  # the floor holds
    # A judge that finds the first sentence contradicted: its verdict wins over the offline one.
    llm_server.responder = lambda messages, body: json.dumps({"verdicts": [{"i": 1, "verdict": "contradicts"}]})
    (first,) = v.check([claim(PIG_CLAIM)])
    assert first.verdict == "contradicted" and first.judge == "llm"
    # A judge whose reply cannot be read: the offline verdict stands, and says why.
    llm_server.responder = lambda messages, body: "I think they are all fine."
    (kept,) = v.check([claim(PIG_CLAIM)])
    assert kept.judge == "offline" and kept.verdict == "supported" and kept.reason.startswith("LLM judge:")


def test_a_reply_becomes_checked_text(embedder: Any) -> None:
    pig = Paper(id="pig", title="PIG")
    reply = f"{PIG_CLAIM} [1]. {PINNED[:-1]} [1].\n\n- Uncited aside."
    out = Verifier(get_settings(), embedder).reply(reply, [Source(1, pig, PIG_TEXT)])
    assert out.text == f"{PIG_CLAIM} [1]."
    assert [(c.verdict, c.shown) for c in out.checks] == [("supported", True), ("not_found", False)]
    assert out.notes() == [
        "1 sentence without a source was left out.",
        "1 sentence whose cited passage does not bear it out was left out.",
    ]


CLAIMS = [
    {"id": 1, "claim": PIG_CLAIM, "cited": ["t:4c709caec8fa"], "labels": {"t:4c709caec8fa": "SUPPORT"}},
    {"id": 2, "claim": PINNED, "cited": ["t:4c709caec8fa"], "labels": {"t:4c709caec8fa": "NOT_ENOUGH_INFO"}},
    {"id": 3, "claim": "Collocation grids are treated as random variables and marginalised out.",
     "cited": ["t:a6a908a62f8c", "nowhere"], "labels": {"t:a6a908a62f8c": "SUPPORT", "nowhere": "SUPPORT"}},
]


def test_eval_claims_writes_verdicts_and_reports_baselines(seed_library: Any, tmp_path: Path) -> None:
    path, out = tmp_path / "claims.jsonl", tmp_path / "verdicts.jsonl"
    path.write_text("\n".join(json.dumps(c) for c in CLAIMS) + "\n")
    metrics = papers_json("eval", "--claims", str(path), "--verdicts", str(out), "--json")
    assert metrics["pairs"] == 3 and metrics["missing"] == 1
    assert metrics["ours"]["auc"] == 1.0 and metrics["ours"]["balanced_accuracy"] == 1.0
    assert set(metrics) >= {"whole_paper_cosine", "best_sentence_cosine"}
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [set(x) for x in lines] == [{"id", "paper", "verdict", "score", "quote", "mode"}] * 3
    assert [x["verdict"] for x in lines] == ["supported", "not_found", "supported"]
    text = papers("eval", "--claims", str(path))
    assert "| ours (shipped verdicts) | 1.000 |" in text.stdout and "not in the library: 3: nowhere" in text.stderr


def test_eval_claims_bad_line_is_one_line(seed_library: Any, tmp_path: Path) -> None:
    path = tmp_path / "claims.jsonl"
    path.write_text(json.dumps(CLAIMS[0]) + "\n" + '{"id": 9, "claim": "x", "labels": {"a": "MAYBE"}}\n')
    assert_one_line_error(papers("eval", "--claims", str(path)), "claims.jsonl:2", "MAYBE")
    assert_one_line_error(papers("eval"), "--claims")
