"""Comparison tables on the seed library: offline cells are verbatim sentences or "not stated"; LLM
cells (real openai client over HTTP against tests/llm_server.py) survive only with a verbatim quote."""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

import pytest
from markdown_it import MarkdownIt

from assistant.errors import LLMError, LLMTruncated, PapersError
from assistant.library.library import Library
from assistant.llm.client import build_llm
from assistant.llm.fallback import LLMSource
from assistant.models import Cell, ComparedPaper, Comparison
from assistant.reports.compare import DEFAULT_ASPECTS, aspect_for, compare, parse_aspects, select_papers
from assistant.reports.compare.aspects import LEXICON_FILE, lexicon, parse_lexicon
from assistant.reports.exports import comparison_csv, comparison_json, comparison_markdown
from assistant.retrieval.retrieve import Retriever
from assistant.settings import Settings, get_settings
from assistant.text import find_verbatim, md_escape, normalize_space, split_sentences
from tests.llm_server import LLMServer, Reply

PDE_REFINER = "t:6f74edd4d7db"
PIG = "t:4c709caec8fa"
CAPE = "t:dd5f736c0587"
FEDKSEED = "t:73f722a31abe"


def configured(settings: Settings) -> LLMSource:
    """The LLMSource an engine would pass: the model built from the settings."""
    return lambda: build_llm(settings)


def _abstracts(lib: Library, ids: list[str]) -> dict[str, str]:
    return {p.id: p.abstract for p in lib.papers(ids)}


def _assert_cells_verbatim(result: Comparison, lib: Library) -> None:
    abstracts = _abstracts(lib, [p.id for p in result.papers])
    for p in result.papers:
        assert list(p.cells) == result.aspects
        for cell in p.cells.values():
            assert (cell.text is None) == (cell.quote is None)
            if cell.quote is not None:
                assert cell.quote in abstracts[p.id], (p.title, cell.quote)


# --- offline ----------------------------------------------------------------------------------------
def test_offline_pde_query_picks_pde_papers_and_quotes_them_verbatim(seed_library: Library, embedder: Any) -> None:
    settings = get_settings()
    papers = select_papers(
        seed_library,
        query="neural solvers for partial differential equations",
        retriever=Retriever(seed_library, embedder, settings),
    )
    result = compare(papers, seed_library, embedder, settings)
    assert result.mode == "extractive" and result.fallback_reason is None
    ids = [p.id for p in result.papers]
    assert PDE_REFINER in ids
    pde = [p for p in result.papers if re.search(r"\bPDEs?\b|Partial Differential", p.title) and p.id != PDE_REFINER]
    assert len(pde) >= 2, [p.title for p in result.papers]
    assert result.aspects == list(DEFAULT_ASPECTS)
    _assert_cells_verbatim(result, seed_library)
    for p in result.papers:
        filled = [c.text for c in p.cells.values() if c.text]
        assert filled, p.title  # every paper states at least its method or results
        # Text is the quote offline, and one sentence serves one aspect when the abstract has enough.
        assert all(c.text == c.quote for c in p.cells.values())
        assert len(set(filled)) == len(filled), p.title
    refiner = next(p for p in result.papers if p.id == PDE_REFINER)
    assert "PDE-Refiner" in (refiner.cells["method"].text or "")
    assert "benchmarks" in (refiner.cells["data"].text or "") or "benchmarks" in (refiner.cells["results"].text or "")
    # The synthesis: one line per paper, each a verbatim sentence of that paper cited by its row number.
    lines = (result.synthesis or "").splitlines()
    assert len(lines) == len(result.papers)
    abstracts = _abstracts(seed_library, ids)
    for n, (line, p) in enumerate(zip(lines, result.papers), start=1):
        assert line.endswith(f"[{n}]")
        sentence = line.split(": ", 1)[1].rsplit(" [", 1)[0] if ": " in line else ""
        assert sentence and normalize_space(sentence) in normalize_space(abstracts[p.id])


def test_unsupported_aspects_are_not_stated_never_invented(seed_library: Library, embedder: Any) -> None:
    settings = get_settings()
    papers = seed_library.papers([PDE_REFINER, PIG])
    result = compare(papers, seed_library, embedder, settings, "method,boiling point of ethanol,limitations")
    assert result.aspects == ["method", "boiling point of ethanol", "limitations"]
    for p in result.papers:
        assert p.cells["method"].quote is not None
        assert p.cells["boiling point of ethanol"].text is None and p.cells["boiling point of ethanol"].quote is None
    # Neither abstract names a limitation of its own method (PIG names the limits of earlier work).
    assert all(p.cells["limitations"].text is None for p in result.papers)
    data = comparison_json(result)
    assert set(data) == {"aspects", "papers", "synthesis", "mode", "fallback_reason", "sentences", "notes"}
    # Offline cells and synthesis lines are the papers' own sentences: supported by construction.
    assert all(c["verdict"] == "supported" and c["judge"] == "verbatim"
               for p in data["papers"] for c in p["cells"].values() if c["text"])
    assert data["sentences"] and all(c["judge"] == "verbatim" for c in data["sentences"])
    assert data["mode"] == "extractive" and data["fallback_reason"] is None
    empty = {"text": None, "quote": None, "verdict": None, "score": None, "judge": None}
    assert data["papers"][0]["cells"]["boiling point of ethanol"] == empty
    assert set(data["papers"][0]) == {"id", "title", "cells", "fallback_reason"}
    assert data["papers"][0]["fallback_reason"] is None
    rows = list(csv.reader(io.StringIO(comparison_csv(result))))
    assert rows[0] == ["id", "title"] + [c for a in result.aspects for c in (a, f"{a} quote")]
    assert [r[0] for r in rows[1:]] == [p.id for p in papers]
    assert rows[1][4:6] == ["not stated", ""]  # the boiling point: no text, no quote


def test_aspect_names_and_aliases() -> None:
    assert parse_aspects(None) == list(DEFAULT_ASPECTS)
    assert parse_aspects(" Method, data/setting ,method,,Speed ") == ["method", "data/setting", "speed"]
    assert parse_aspects("") == list(DEFAULT_ASPECTS)
    # An alias keeps the user's name but gets the curated cues of the aspect it names.
    setting = aspect_for("setting")
    assert setting.name == "setting" and setting.description == aspect_for("data").description
    custom = aspect_for("robustness")
    assert custom.cue_score("The model is robust to noise.")[1]
    assert not custom.cue_score("We propose a solver.")[1]


def test_select_papers_errors(seed_library: Library, embedder: Any) -> None:
    retriever = Retriever(seed_library, embedder, get_settings())
    with pytest.raises(PapersError, match="not in the library: nope"):
        select_papers(seed_library, paper_ids=[PIG, "nope"])
    with pytest.raises(PapersError, match="no papers on"):
        select_papers(seed_library, query="What is the boiling point of ethanol?", retriever=retriever)
    assert [p.id for p in select_papers(seed_library, paper_ids=[PIG, PDE_REFINER, PIG])] == [PIG, PDE_REFINER]


def test_find_verbatim_normalises_whitespace_only() -> None:
    text = "We propose  a novel\nmethod for PDEs.\tIt works well."
    assert find_verbatim("We propose a novel method for PDEs.", text) == "We propose  a novel\nmethod for PDEs."
    assert find_verbatim('"It works well."', text) == "It works well."
    assert find_verbatim("We propose a new method for PDEs.", text) is None  # a paraphrase
    assert find_verbatim("works", text) is None  # too short to support anything


# --- LLM mode ---------------------------------------------------------------------------------------
def _paper_block(messages: list[dict[str, Any]]) -> str:
    prompt = "\n".join(str(m.get("content", "")) for m in messages)
    m = re.search(r"<source n=1 [^>]*>\n(.*?)\n</source>", prompt, re.DOTALL)
    assert m, prompt[:500]
    return m.group(1)


def _is_cells_request(messages: list[dict[str, Any]]) -> bool:
    return "one row of a table" in str(messages[0].get("content", ""))


def _gist(sentence: str) -> str:
    """A model's short cell text for a sentence: its first ten words."""
    return " ".join(sentence.split()[:10])


def _cells_reply(messages: list[dict[str, Any]], *, fabricate: str | None = None) -> str:
    """A well-behaved model: quotes real sentences of the paper it was given, with a cell text that
    says what the quote says (but for "problem", whose text neither paper's first sentence says); and, when asked,
    fabricates one quote."""
    sentences = split_sentences(_paper_block(messages))
    cells: dict[str, Any] = {
        "problem": {"text": "Long, stable rollouts are hard.", "quote": sentences[0]},
        "method": {"text": f"<b>{_gist(sentences[-1])}</b> ![x](http://evil.example/x.png)", "quote": sentences[-1]},
        "data": {"text": None, "quote": None},
        "results": {"text": "It is 100x faster than every solver.", "quote": sentences[1]},
    }
    if fabricate:
        cells[fabricate] = {"text": "Beats all baselines.", "quote": "Our method beats all baselines by 300%."}
    return "```json\n" + json.dumps({"cells": cells}) + "\n```"


def test_llm_cells_are_checked_against_the_paper(
    seed_library: Library, embedder: Any, llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    llm_server.configure_env(monkeypatch)
    settings = get_settings()

    def responder(messages: list[dict[str, Any]], body: dict[str, Any]) -> str:
        if _is_cells_request(messages):
            return _cells_reply(messages, fabricate="results")
        return (
            "PDE-Refiner models all frequency components with a multistep refinement process [1]. "
            "PIG learns the mean and variance of each Gaussian, so their positions adjust [2]. "
            "Both address accuracy [1][2][7]. <img src=x onerror=alert(1)> See http://evil.example/ ."
        )

    llm_server.responder = responder
    papers = seed_library.papers([PDE_REFINER, PIG])
    result = compare(papers, seed_library, embedder, settings, "problem,method,data,results", llm=configured(settings))
    assert result.mode == "llm" and result.fallback_reason is None
    abstracts = _abstracts(seed_library, [PDE_REFINER, PIG])
    for p in result.papers:
        first, last = split_sentences(abstracts[p.id])[0], split_sentences(abstracts[p.id])[-1]
        # Neither paper's first sentence says anything of rollouts: the quote is shown instead.
        problem = p.cells["problem"]
        assert problem.quote == first
        assert problem.text == first and problem.judge == "verbatim" and problem.verdict == "supported"
        assert p.cells["method"].quote == last
        # HTML, the image (and a URL the gist carries: PIG's project page) are cleaned away.
        assert p.cells["method"].text == re.sub(r"\s*https?://\S+", "", _gist(last))
        assert p.cells["method"].verdict in ("supported", "partly_supported")
        assert p.cells["data"].text is None  # the model said the paper does not state it
        # The fabricated quote is in neither paper: the cell is dropped, its claim not shown.
        assert p.cells["results"].text is None and p.cells["results"].quote is None
    synthesis = result.synthesis or ""
    assert "[1]" in synthesis and "[2]" in synthesis and "[7]" not in synthesis
    assert "<img" not in synthesis and "evil.example" not in synthesis
    assert "See" not in synthesis  # left without a citation once the link is gone: dropped
    assert "Both address accuracy" not in synthesis  # cites real papers that do not say it: left out
    assert [c.verdict for c in result.sentences if c.shown] and all(
        c.verdict in ("supported", "partly_supported") for c in result.sentences if c.shown
    )
    assert result.notes[0] == "2 cells' model text was not borne out by its own quote: the quote is shown instead."
    assert len(llm_server.chat_requests) == 3  # one per paper, one synthesis


def test_llm_invalid_json_is_retried_once_then_the_offline_row(
    seed_library: Library, embedder: Any, llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    llm_server.configure_env(monkeypatch)
    llm_server.script(
        "Sure! Here is the table you asked for.",  # paper 1: no JSON at all
        '{"cells": {"problem": "not an object"}}',  # paper 1 retry: JSON of the wrong shape
        "{cells: broken",  # paper 2: invalid JSON
        lambda messages, _body: _cells_reply(messages),  # paper 2 retry: valid
        "They differ [1][2].",  # synthesis
    )
    papers = seed_library.papers([PDE_REFINER, PIG])
    settings = get_settings()
    result = compare(papers, seed_library, embedder, settings, "problem,method", llm=configured(settings))
    requests = llm_server.chat_requests
    assert len(requests) == 5
    retry = requests[1]["messages"]
    assert retry[-2]["role"] == "assistant" and retry[-2]["content"].startswith("Sure!")
    assert "not valid" in retry[-1]["content"]
    first, second = result.papers
    # Paper 1 could not be read twice: its row is the offline one, and says why.
    offline = compare(papers, seed_library, embedder, settings, "problem,method")
    assert first.cells == offline.papers[0].cells and any(c.quote for c in first.cells.values())
    assert first.fallback_reason and "cells.problem" in first.fallback_reason
    assert second.fallback_reason is None
    assert second.cells["problem"].quote is not None and second.cells["method"].quote is not None
    assert result.mode == "llm" and result.fallback_reason is None
    # "They differ [1][2]." is borne out by neither paper: the offline synthesis stands, and says so.
    assert result.synthesis == offline.synthesis
    assert any(n.startswith("The model's synthesis was not used") for n in result.notes)


class CutModel:
    """A ChatModel whose row replies stop at the token limit (LLMTruncated carries what arrived)."""

    model = "cut"

    def __init__(self, abstracts: dict[str, str]) -> None:
        self.abstracts = abstracts

    def chat(self, messages: Any) -> str:
        if not _is_cells_request(messages):
            return "They differ [1][2]."
        sentences = split_sentences(_paper_block(messages))
        cells = {
            "problem": {"text": "Long, stable rollouts are hard.", "quote": sentences[0]},
            "method": {"text": "A refinement model.", "quote": sentences[-1]},
            "results": {"text": "Stable for long.", "quote": sentences[1]},
        }
        reply = json.dumps({"cells": cells})
        raise LLMTruncated(reply[: reply.rindex(sentences[1]) + 12], 256)  # cut inside the last quote

    def stream(self, messages: Any) -> Any:
        yield self.chat(messages)


def test_a_row_cut_at_the_token_limit_keeps_its_complete_cells(seed_library: Library, embedder: Any) -> None:
    papers = seed_library.papers([PDE_REFINER, PIG])
    settings = get_settings()
    abstracts = _abstracts(seed_library, [PDE_REFINER, PIG])
    aspects = "problem,method,data,results"
    result = compare(papers, seed_library, embedder, settings, aspects, llm=lambda: CutModel(abstracts))
    offline = compare(papers, seed_library, embedder, settings, aspects)
    assert result.mode == "llm" and result.fallback_reason is None
    for p, off in zip(result.papers, offline.papers):
        sentences = split_sentences(abstracts[p.id])
        assert p.cells["problem"].quote == sentences[0] and p.cells["method"].quote == sentences[-1]
        assert p.cells["problem"].verdict and p.cells["method"].verdict  # each model cell judged
        # The cell being written when the reply was cut, and the one never reached: offline.
        assert p.cells["results"] == off.cells["results"] and p.cells["data"] == off.cells["data"]
        assert p.fallback_reason and "token limit" in p.fallback_reason and "data, results" in p.fallback_reason
    assert result.synthesis == offline.synthesis  # "They differ" is borne out by neither paper


def test_llm_failure_falls_back_to_the_extractive_table(
    seed_library: Library, embedder: Any, llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    llm_server.configure_env(monkeypatch)
    llm_server.script(Reply(status=500))
    papers = seed_library.papers([PDE_REFINER, CAPE, FEDKSEED])
    result = compare(papers, seed_library, embedder, get_settings(), llm=configured(get_settings()))
    assert result.mode == "extractive" and result.fallback_reason == "HTTP 500"
    offline = compare(papers, seed_library, embedder, get_settings())
    assert comparison_json(result) == {**comparison_json(offline), "fallback_reason": "HTTP 500"}
    _assert_cells_verbatim(result, seed_library)


def test_llm_set_up_failure_is_the_fallback_reason(seed_library: Library, embedder: Any) -> None:
    def broken() -> None:
        raise LLMError("cannot set up LLM 'x': no route")

    papers = seed_library.papers([PDE_REFINER, PIG])
    result = compare(papers, seed_library, embedder, get_settings(), "method", llm=broken)
    assert result.mode == "extractive" and result.fallback_reason == "cannot set up LLM 'x': no route"
    assert result.papers[0].cells["method"].quote is not None


def test_compare_never_builds_an_llm_itself(
    seed_library: Library, embedder: Any, llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A configured model is the caller's to pass: without `llm=`, the table is offline.
    llm_server.configure_env(monkeypatch)
    result = compare(seed_library.papers([PDE_REFINER, PIG]), seed_library, embedder, get_settings(), "method")
    assert result.mode == "extractive" and result.fallback_reason is None
    assert llm_server.chat_requests == []


# --- aspect lexicon (data) --------------------------------------------------------------------------
def test_aspect_lexicon_is_package_data_and_checked() -> None:
    from importlib import resources

    assert resources.files("assistant.reports.compare").joinpath(LEXICON_FILE).is_file()
    lex = lexicon()
    assert set(lex.default) <= set(lex.aspects) and lex.aliases["setting"] == "data"
    assert aspect_for("results").cue_score("It is 3.5x faster than the baseline.")[1]  # a number is a strong cue
    with pytest.raises(ValueError, match="unknown aspects: speed"):
        parse_lexicon({"default": ["speed"], "aspects": {}, "aliases": {}})


# --- Markdown export: escaped like the UI ------------------------------------------------------------
MD = MarkdownIt("commonmark", {"html": True}).enable(["table"])
HOSTILE_TITLE = "*Bold* _claims_ <img src=x onerror=alert(1)> [x](javascript:alert(1)) see http://attacker.invalid/p"


def _visible(markdown: str) -> str:
    import html

    return html.unescape(re.sub(r"<[^>]+>", "", MD.render(markdown)))


def test_comparison_markdown_escapes_like_the_ui() -> None:
    cell = Cell(text="We *propose* <b>x</b> [y](javascript:alert(2)) | a pipe", quote="q")
    c = Comparison(
        aspects=["method", "data"],
        papers=[ComparedPaper(id="p1", title=HOSTILE_TITLE, cells={"method": cell, "data": Cell()})],
        synthesis=f"{HOSTILE_TITLE}: it works [1]",
    )
    doc = comparison_markdown(c)
    assert md_escape(HOSTILE_TITLE) in doc  # the UI's escaper, character for character
    rendered = MD.render(doc)
    ours = rendered.replace("<em>not stated</em>", "")  # the one formatting the export adds itself
    for tag in ("<img", "<a ", "<em>", "<strong>", "<b>"):
        assert tag not in ours, tag
    assert "javascript:alert(1)" in _visible(doc)  # shown as text, never a link
    assert "http://attacker.invalid" not in _visible(doc)  # no bare URL left for GFM to link
    cells = re.findall(r"<td>(.*?)</td>", rendered)
    assert any("propose" in td and "a pipe" in td for td in cells), cells  # a pipe in a cell opens no column
    assert "[1]" in doc  # our own marker stays a marker
