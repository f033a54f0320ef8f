"""`papers compare` and `papers summarize` against models that answer the way real ones do (the
structured-output reply styles of tests/llm_server.py), through the CLI's JSON as a user reads it:
cells filled with verified quotes, the mode, the reasons, and no reasoning text anywhere."""

from __future__ import annotations

import json
from typing import Any

import pytest

from assistant.library.library import Library
from assistant.text import find_verbatim, normalize_space
from tests.llm_server import STYLES, LLMServer, paper_sentences
from tests.support import invoke

PDE_REFINER = "t:6f74edd4d7db"
PIG = "t:4c709caec8fa"
ASPECTS = "problem,method,data,results"
LOOSE_JSON = [
    "json-trailing-commas",
    "json-comments",
    "json-keycase",
    "json-no-wrapper",
    "json-single-quotes",
    "json-prose-braces",
    "json-think",
]


def _compare(*extra: str) -> tuple[dict[str, Any], str]:
    done = invoke(["compare", "--paper", PDE_REFINER, "--paper", PIG, "--aspects", ASPECTS, "--format", "json", *extra])
    assert done.exit_code == 0, done.output
    return json.loads(done.stdout), done.stderr


def _paper_texts(lib: Library, ids: list[str]) -> dict[str, str]:
    out = {}
    for p in lib.papers(ids):
        out[p.id] = normalize_space(" ".join([p.abstract, *(t for _, t in lib.chunks_of(p.id))]))
    return out


def _assert_no_reasoning(*texts: str) -> None:
    for text in texts:
        assert "Probably not" not in text and "<think" not in text and "user wants" not in text, text


def _model_cell(cell: dict[str, Any]) -> bool:
    """The model's own cell text (the gist of the sentence it quoted), judged against its quote."""
    return cell["judge"] in ("offline", "llm") and cell["verdict"] in ("supported", "partly_supported")


def _assert_filled_from_llm(data: dict[str, Any], lib: Library) -> None:
    """Every cell holds the model's text and a quote found in its paper; nothing fell back."""
    assert data["mode"] == "llm" and data["fallback_reason"] is None
    texts = _paper_texts(lib, [p["id"] for p in data["papers"]])
    for p in data["papers"]:
        assert p["fallback_reason"] is None
        for aspect, cell in p["cells"].items():
            assert _model_cell(cell) and normalize_space(cell["text"]) in texts[p["id"]], (p["id"], aspect, cell)
            assert cell["quote"] and normalize_space(cell["quote"]) in texts[p["id"]], cell


@pytest.mark.parametrize("name", LOOSE_JSON)
def test_compare_reads_loose_json(
    name: str, seed_library: Library, llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    llm_server.configure_env(monkeypatch)
    llm_server.responder = STYLES[name]
    data, stderr = _compare()
    _assert_filled_from_llm(data, seed_library)
    assert "note:" not in stderr
    # The synthesis is the model's cited prose, its reasoning gone, each sentence checked.
    assert "[1]" in data["synthesis"] and "[2]" in data["synthesis"]
    assert data["sentences"] and all(c["judge"] in ("offline", "llm") for c in data["sentences"])
    _assert_no_reasoning(json.dumps(data), stderr)
    requests = llm_server.chat_requests
    assert len(requests) == 3, "read at the first attempt: no retry"


def test_trailing_commas_on_every_attempt_still_fill_the_table(
    seed_library: Library, llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A model that keeps its trailing commas after being told: the reply itself must be read.
    llm_server.configure_env(monkeypatch)
    llm_server.responder = STYLES["json-trailing-commas"]
    first = llm_server.responder(
        [{"role": "system", "content": "one row of a table"}, {"role": "user", "content": '- "problem": x'}], {}
    )
    assert ",\n" in str(first) and "}" in str(first)
    data, _ = _compare()
    _assert_filled_from_llm(data, seed_library)


def test_capitalised_and_elided_quotes_are_verified_as_the_paper_words(
    seed_library: Library, llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    llm_server.configure_env(monkeypatch)
    llm_server.responder = STYLES["quote-capitalised-elided"]
    data, _ = _compare()
    _assert_filled_from_llm(data, seed_library)
    for p in data["papers"]:
        for cell in p["cells"].values():
            # The paper's own span is shown: the words left out are back, the case is the paper's.
            assert "..." not in cell["quote"] and len(cell["quote"].split()) >= 7
    # A quote whose parts are not the paper's in order is still rejected.
    paper = seed_library.papers([PIG])[0]
    sentences = paper_sentences([{"role": "user", "content": f"<source n=1 x>\n{paper.abstract}\n</source>"}])
    first, second = sentences[0].split(), sentences[1].split()
    assert find_verbatim(" ".join(second[1:4]) + " ... " + " ".join(first[-3:]), paper.abstract) is None


def test_garbage_row_falls_back_to_its_offline_cells_with_a_reason(
    seed_library: Library, llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    llm_server.configure_env(monkeypatch)
    llm_server.script(STYLES["json-garbage"], STYLES["json-garbage"])  # paper 1 and its retry
    llm_server.responder = STYLES["json-trailing-commas"]
    data, stderr = _compare()
    offline = _offline(monkeypatch)
    assert data["mode"] == "llm" and data["fallback_reason"] is None
    first, second = data["papers"]
    assert first["fallback_reason"] and "not the JSON asked for" in first["fallback_reason"]
    assert first["cells"] == offline["papers"][0]["cells"]  # the offline row, not "not stated"
    assert any(c["quote"] for c in first["cells"].values())
    assert second["fallback_reason"] is None and _model_cell(second["cells"]["method"])
    notes = [line for line in stderr.splitlines() if line.startswith("note:")]
    assert len(notes) == 1 and "row 1" in notes[0] and "offline" in notes[0], stderr


def test_garbage_everywhere_is_the_offline_table_with_the_reason(
    seed_library: Library, llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    llm_server.configure_env(monkeypatch)
    llm_server.responder = STYLES["json-garbage"]
    data, stderr = _compare()
    offline = _offline(monkeypatch)
    assert data["mode"] == "extractive" and "not the JSON asked for" in (data["fallback_reason"] or "")
    assert [p["cells"] for p in data["papers"]] == [p["cells"] for p in offline["papers"]]
    assert "note: the LLM failed" in stderr
    assert len(llm_server.chat_requests) == 4  # two rows, each retried once; no synthesis asked


def _offline(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The same comparison with no model configured: the offline table."""
    from assistant.settings import get_settings

    monkeypatch.delenv("PAPERS_LLM_MODEL")
    get_settings.cache_clear()
    data, _ = _compare()
    assert data["mode"] == "extractive" and data["fallback_reason"] is None
    return data


# --- summaries ---------------------------------------------------------------------------------------
def _summary() -> tuple[dict[str, Any], str]:
    done = invoke(["summarize", "fine-tuning large language models efficiently", "--format", "json"])
    assert done.exit_code == 0, done.output
    return json.loads(done.stdout), done.stderr


@pytest.mark.parametrize("name", ["json-think", "json-keycase", "json-prose-braces", "json-single-quotes"])
def test_summary_reads_the_outline_and_drops_reasoning(
    name: str, seed_library: Library, llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    llm_server.configure_env(monkeypatch)
    llm_server.responder = STYLES[name]
    data, stderr = _summary()
    assert data["mode"] == "llm" and data["fallback_reason"] is None
    assert data["title"] == "Scripted summary title"
    assert [s["heading"] for s in data["sections"]] == [
        f"Scripted theme {k}" for k in range(1, len(data["sections"]) + 1)
    ]
    judged = {c["text"] for c in data["sentences"] if c["judge"] in ("offline", "llm") and c["shown"]}
    for text in [data["overview"]] + [p for s in data["sections"] for p in s["paragraphs"]]:
        assert any(j.rstrip(".") in text for j in judged), text  # the model's checked sentences
    _assert_no_reasoning(json.dumps(data), stderr)
