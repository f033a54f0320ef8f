"""The offline answerability check on the seed library: near-domain questions abstain with a reason."""

from __future__ import annotations

from typing import Any

import pytest

from assistant.engine import Engine
from assistant.library.library import Library
from assistant.retrieval.answerable import named_things
from assistant.settings import get_settings


def engine(seed_library: Library, embedder: Any, **update: Any) -> Engine:
    return Engine(get_settings().model_copy(update=update), library=seed_library, embedder=embedder)


def test_named_things_in_questions() -> None:
    assert named_things("How does BERT pretraining differ from GPT-3 and word2vec?") == ["BERT", "GPT-3", "word2vec"]
    assert named_things("What is the architecture of the ResNet network?") == ["ResNet"]
    assert named_things("How does the Adam optimizer work?") == ["Adam"]
    assert named_things("Neural surrogates for PDEs in fluids") == ["PDEs"]
    assert named_things("How are stars formed?") == []  # a capital at the start is not a name


@pytest.mark.parametrize(
    ("question", "named"),
    [
        ("How does BERT masked language model pretraining work?", "BERT"),
        ("How does the Adam optimizer adapt its learning rates?", "Adam"),
    ],
)
def test_near_domain_question_abstains_and_says_why(
    seed_library: Library, embedder: Any, question: str, named: str
) -> None:
    eng = engine(seed_library, embedder)
    result = eng.search(question)
    assert result.best_dense >= eng.settings.abstain_threshold, "the cosine floor alone would answer it"
    answer = eng.ask(question)
    assert answer.abstained and answer.citations == []
    assert answer.notes == [f"Not answered: the library never mentions {named}."]
    # With the check off, the cosine floor alone answers it from the closest papers.
    assert not engine(seed_library, embedder, answerability_check=False).ask(question).abstained


def test_acronym_spelled_out_in_the_passages_is_supported(seed_library: Library, embedder: Any) -> None:
    q = "Which design choices matter when penalizing model uncertainty in offline RL?"
    answer = engine(seed_library, embedder).ask(q)
    assert not answer.abstained, answer.notes  # "RL" is "reinforcement learning" in the abstract
    assert "Offline Model-Based Reinforcement Learning" in answer.citations[0].title


def test_off_topic_question_names_the_cosine_floor(seed_library: Library, embedder: Any) -> None:
    answer = engine(seed_library, embedder).ask("How do I bake sourdough bread at home?")
    assert answer.abstained and answer.notes == ["Not answered: no passage is close enough to the question."]


def test_name_spelled_out_by_the_question_itself_is_supported(seed_library: Library, embedder: Any) -> None:
    # "PIG" is in the library; "PIGA" is not, but the question defines it with words the passages hold.
    q = "How do physics-informed Gaussians as adaptive (PIGA) meshes replace fixed grids?"
    assert not engine(seed_library, embedder).ask(q).abstained
    q2 = "How do physics-informed Gaussians as adaptive meshes compare with the QXR solver?"
    answer = engine(seed_library, embedder).ask(q2)
    assert answer.abstained and answer.notes == ["Not answered: the library never mentions QXR."]


def test_llm_mode_is_gated_by_the_same_check(
    llm_server: Any, monkeypatch: pytest.MonkeyPatch, seed_library: Library, embedder: Any
) -> None:
    llm_server.configure_env(monkeypatch)
    get_settings.cache_clear()
    answer = engine(seed_library, embedder).ask("How does BERT masked language model pretraining work?")
    assert answer.abstained and answer.mode == "llm" and answer.citations == []
    assert answer.notes == ["Not answered: the library never mentions BERT."]
    assert llm_server.chat_requests == [], "the model is not asked about what the library never mentions"
