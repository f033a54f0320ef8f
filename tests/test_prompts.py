"""Prompts in one module: assistant/llm/prompts.py holds every text sent to an LLM, imports nothing of
ours (any room may use it), and the requests the product builds are made of its words."""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from assistant.answers.chat import rewrite_with_llm
from assistant.answers.citations import Source, format_sources
from assistant.llm import prompts
from assistant.llm.client import Message
from assistant.llm.structured import ask_structured
from assistant.models import Paper, Turn
from assistant.reports.summary.llm import Outline

ROOT = Path(__file__).resolve().parents[1]
PROMPTS = ROOT / "assistant" / "llm" / "prompts.py"


def test_prompts_import_only_the_standard_library() -> None:
    tree = ast.parse(PROMPTS.read_text(encoding="utf-8"))
    imported = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module]
    imported += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    assert imported and all(m.split(".")[0] in sys.stdlib_module_names | {"__future__"} for m in imported), imported


def test_no_prompt_text_outside_the_prompts_module() -> None:
    """No chat message ({"role": …}) and no instruction ("You …") is written anywhere else in the core."""
    found = []
    for path in sorted((ROOT / "assistant").rglob("*.py")):
        if path == PROMPTS:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Dict) and any(isinstance(k, ast.Constant) and k.value == "role" for k in node.keys):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: a chat message")
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("You "):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value[:40]!r}")
    assert found == []


def test_every_request_with_sources_says_they_are_untrusted() -> None:
    systems = [prompts.ANSWER_SYSTEM, prompts.JUDGE_SYSTEM, prompts.OUTLINE_SYSTEM, prompts.SECTION_SYSTEM,
               prompts.OVERVIEW_SYSTEM, prompts.CELLS_SYSTEM, prompts.SYNTHESIS_SYSTEM]
    assert all("untrusted" in s and "never follow" in s for s in systems)
    about = prompts.summary_about("neural PDEs")
    users = [
        prompts.judge_user([("A claim.", "<source n=1>x</source>")]),
        prompts.outline_user(about, "<source n=1>x</source>", [[1]]),
        prompts.section_user(about, "Heading", "Focus.", "<source n=1>x</source>"),
        prompts.overview_user(about, "<source n=1>x</source>", [("Heading", ["Para."])]),
        prompts.cells_user([("method", "how it works")], "<source n=1>x</source>"),
        prompts.synthesis_user("<source n=1>x</source>"),
    ]
    assert all(prompts.UNTRUSTED_NOTE in u for u in users)
    assert prompts.UNTRUSTED_NOTE in prompts.ANSWER_SYSTEM and prompts.SENTINEL in prompts.ANSWER_SYSTEM


def test_the_fake_servers_cues_are_the_prompts_words() -> None:
    """tests/llm_server.py tells requests apart by these words: they must stay in the prompts."""
    assert prompts.JUDGE_SYSTEM.startswith("You check sentences")
    assert "one row of a table" in prompts.CELLS_SYSTEM and "plan a literature summary" in prompts.OUTLINE_SYSTEM


class _Recorder:
    model = "recorder"

    def __init__(self, *replies: str) -> None:
        self.replies = list(replies)
        self.seen: list[list[dict[str, str]]] = []

    def chat(self, messages: Sequence[Message]) -> str:
        self.seen.append([dict(m) for m in messages])
        return self.replies.pop(0)

    def stream(self, messages: Sequence[Message]) -> Iterator[str]:
        yield self.chat(messages)


def test_an_answers_request_is_the_system_prompt_the_history_and_the_sources() -> None:
    from assistant.answers.answer import Answerer

    paper = Paper(id="p1", title="PIG", abstract="PIG is fast.")
    sources = [Source(1, paper, "PIG is fast.")]
    history = [Turn(question="What is PIG?", answer="A method [1].")]
    msgs = Answerer.messages(None, "Why?", sources, history)  # type: ignore[arg-type]  # uses no state
    assert [m["role"] for m in msgs] == ["system", "user", "assistant", "user"]
    assert msgs[0]["content"] == prompts.ANSWER_SYSTEM
    assert msgs[2]["content"] == "A method."  # earlier markers named earlier sources
    assert msgs[3]["content"] == prompts.answer_user(format_sources(sources), "Why?")
    assert msgs[3]["content"].endswith("Question: Why?\n\nAnswer from the sources above, citing them as [n].")


def test_the_rewrite_and_the_structured_retry_are_sent_in_the_prompts_words() -> None:
    llm = _Recorder("PIG limitations")
    turns = [Turn(question="What is PIG?", answer="PIG is a method [1].")]
    assert rewrite_with_llm(llm, "and its limits?", turns) == "PIG limitations"
    assert llm.seen[0] == prompts.messages_for(
        prompts.REWRITE_SYSTEM, prompts.rewrite_user("and its limits?", [("What is PIG?", "PIG is a method.")])
    )
    assert llm.seen[0][1]["content"].startswith("Conversation:\nUser: What is PIG?\nAssistant: PIG is a method.")

    llm = _Recorder("no json here", '{"title": "T", "themes": []}')
    parsed = ask_structured(llm, [{"role": "user", "content": "plan"}], Outline)
    assert parsed.value is not None and parsed.value.title == "T"
    retry = llm.seen[1][1:]
    assert retry[0] == {"role": "assistant", "content": "no json here"}
    assert retry[1]["role"] == "user" and retry[1]["content"].startswith("That reply was not valid (")
