"""Questions not in English: told apart from English (py3langid, offline), searched as an English
query the LLM writes (the library's embeddings and the abstain threshold are English), answered in
the question's language. Through `papers ask --json` against the `french` reply style."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from assistant.answers.chat import is_english, question_language, standalone_query
from assistant.engine import Engine
from assistant.library.library import Library
from assistant.llm.prompts import ANSWER_SYSTEM, REWRITE_SYSTEM
from assistant.settings import get_settings
from tests.llm_server import FRENCH_QUERIES, STYLES, LLMServer
from tests.support import invoke

PIG = "t:4c709caec8fa"
((FRENCH_Q, ENGLISH_Q),) = FRENCH_QUERIES.items()

ENGLISH = [
    "How can Gaussian functions with learnable positions replace a fixed mesh in physics-informed learning?",
    "and its limitations?",
    "Why?",
    "PIG vs PDE-Refiner",
    "LoRA",
    "BM25 vs dense retrieval",
    "transformers for protein folding",
    "What is BM25?",
    "Is PDE-Refiner stable over long rollouts?",
    "Tell me more",
    "galaxy clustering systematics DESI",
    "[1] 2024",
]
FOREIGN = [
    (FRENCH_Q, "fr"),
    ("Pourquoi les gaussiennes remplacent-elles le maillage ?", "fr"),
    ("Quelles sont ses limites ?", "fr"),
    ("Wie können Gauß-Funktionen ein festes Netz ersetzen?", "de"),
    ("¿Cómo pueden las funciones gaussianas reemplazar una malla fija?", "es"),
    ("Quali sono i limiti?", "it"),
    ("Как работает внимание?", "ru"),
    ("質問は何ですか", "ja"),
]


@pytest.mark.parametrize("question", ENGLISH)
def test_english_questions_even_short_or_technical_are_english(question: str) -> None:
    assert is_english(question), question_language(question)


@pytest.mark.parametrize(("question", "lang"), FOREIGN)
def test_other_languages_are_recognised(question: str, lang: str) -> None:
    assert question_language(question)[0] == lang and not is_english(question)


def test_detection_is_imported_lazily() -> None:
    """`papers --help` and offline answers never load the language model."""
    code = "import assistant.answers.chat, assistant.answers.answer, ui.cli, sys; print('py3langid' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


class Recorder:
    """A ChatModel that records requests and answers each with the `french` style."""

    model = "recorder"

    def __init__(self) -> None:
        self.requests: list[list[dict[str, str]]] = []

    def chat(self, messages: Any) -> str:
        self.requests.append(list(messages))
        return str(STYLES["french"](list(messages), {}))

    def stream(self, messages: Any) -> Any:
        yield self.chat(messages)


def test_only_questions_in_other_languages_are_rewritten() -> None:
    model = Recorder()
    assert standalone_query(ENGLISH[0], [], model) == ENGLISH[0] and model.requests == []
    assert standalone_query(FRENCH_Q, [], model) == ENGLISH_Q
    ((system, user),) = model.requests
    assert system["content"] == REWRITE_SYSTEM and "English" in REWRITE_SYSTEM
    assert FRENCH_Q in user["content"] and "Conversation" not in user["content"]
    assert standalone_query(FRENCH_Q, [], None) == FRENCH_Q, "offline: nothing to translate with"


def test_a_french_question_is_searched_in_english_and_answered_in_french(
    llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch, seed_library: Library, embedder: Any
) -> None:
    # Offline, the English-only embeddings find nothing close enough: the library "does not cover" it.
    offline = json.loads(invoke(["ask", FRENCH_Q, "--json"]).stdout)
    assert offline["abstained"] is True

    # The French answer cannot be compared word for word with English passages: the model judges it.
    llm_server.configure_env(monkeypatch, judge=True)
    llm_server.responder = STYLES["french"]
    done = invoke(["ask", FRENCH_Q, "--json"])
    assert done.exit_code == 0, (done.output, done.exception)
    data = json.loads(done.stdout)
    assert data["mode"] == "llm" and not data["abstained"] and data["fallback_reason"] is None
    assert data["question"] == FRENCH_Q
    assert data["answer"].startswith("Des fonctions gaussiennes remplacent le maillage fixe")
    assert [c["id"] for c in data["citations"]] == [PIG]
    assert [(s["verdict"], s["judge"]) for s in data["sentences"]] == [("supported", "llm")] * 2

    rewrite, answer, judge = llm_server.chat_requests
    assert judge["messages"][0]["content"].startswith("You check sentences")
    assert rewrite["messages"][0]["content"] == REWRITE_SYSTEM and FRENCH_Q in rewrite["messages"][-1]["content"]
    assert answer["messages"][0]["content"] == ANSWER_SYSTEM
    assert "Answer in the language of the question." in ANSWER_SYSTEM
    assert f"Question: {FRENCH_Q}" in answer["messages"][-1]["content"], "the model answers the user's question"
    assert f'<source n=1 id="{PIG}"' in answer["messages"][-1]["content"], "found by the English query"

    # The searched query is the English one (Answer.query).
    a = Engine(get_settings(), library=seed_library, embedder=embedder).ask(FRENCH_Q)
    assert a.query == ENGLISH_Q and a.citations[0].id == PIG


def test_french_spacing_survives_cleaning(
    llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch, seed_library: Library
) -> None:
    llm_server.configure_env(monkeypatch, judge=True)
    llm_server.responder = STYLES["french"]
    data = json.loads(invoke(["ask", FRENCH_Q, "--json"]).stdout)
    # French typography puts a space before ":" and ";": the cleaner keeps it.
    assert "maillage fixe : leurs" in data["answer"] and "l'entraînement ; le" in data["answer"], data["answer"]


def test_without_a_judge_a_french_answer_is_not_shown_as_checked(
    llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch, seed_library: Library
) -> None:
    # With the LLM judge off, nothing can compare French sentences with English passages: the answer
    # is not shown as a checked LLM answer; the extractive one stands and says why.
    llm_server.configure_env(monkeypatch, judge=False)
    llm_server.responder = STYLES["french"]
    data = json.loads(invoke(["ask", FRENCH_Q, "--json"]).stdout)
    assert data["mode"] == "extractive" and "bear out only 0 of its 2" in data["fallback_reason"]
