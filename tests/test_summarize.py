"""Literature summaries on the seed library: themes, every sentence cited, references exactly the cited
papers; Markdown and BibTeX that real parsers accept; LLM mode against tests/llm_server.py."""

from __future__ import annotations

import json
import re
from typing import Any

import bibtexparser
import numpy as np
import pytest
from bibtexparser.middlewares import LatexDecodingMiddleware
from markdown_it import MarkdownIt

from assistant.answers.citations import cited_numbers, cited_sentences, keep_cited_sentences
from assistant.errors import PapersError
from assistant.library.library import Library
from assistant.llm.client import build_llm
from assistant.models import Paper, Reference, Summary, SummarySection
from assistant.reports.exports import summary_bibtex, summary_json, summary_markdown
from assistant.reports.summary import cluster, summarize, theme_names
from assistant.retrieval.retrieve import Retriever
from assistant.settings import get_settings
from assistant.text import md_escape, normalize_space, split_sentences
from ingest.sources.bibtex import clean_latex, entry_to_paper
from tests.llm_server import LLMServer, Reply

TOPIC = "fine-tuning large language models efficiently"


def run(lib: Library, embedder: Any, topic: str, *, with_llm: bool = False, **kw: Any) -> Summary:
    """The summary as an engine asks for it; `with_llm`: with the model the settings configure."""
    settings = get_settings()
    if with_llm:
        kw["llm"] = lambda: build_llm(settings)
    return summarize(topic, lib, embedder, settings, Retriever(lib, embedder, settings), **kw)


def all_texts(s: Summary) -> list[str]:
    return [s.overview] + [p for sec in s.sections for p in sec.paragraphs]


def assert_citations_consistent(s: Summary) -> None:
    """Every [n] names a reference, every reference is cited, numbered 1..N by first citation."""
    order: list[int] = []
    for text in all_texts(s):
        for n in cited_numbers(text):
            if n not in order:
                order.append(n)
    assert [r.n for r in s.references] == list(range(1, len(s.references) + 1))
    assert order == [r.n for r in s.references]
    assert len({r.id for r in s.references}) == len(s.references)


def assert_every_sentence_cited(s: Summary) -> None:
    for text in all_texts(s):
        sentences = cited_sentences(text)
        assert sentences
        for sentence in sentences:
            assert cited_numbers(sentence), sentence


# --- themes -----------------------------------------------------------------------------------------
def test_cluster_finds_separated_groups_and_stays_within_2_to_6() -> None:
    rng = np.random.default_rng(0)
    centres = np.eye(8)[:3]
    pts = np.vstack([c + 0.05 * rng.standard_normal((5, 8)) for c in centres])
    pts /= np.linalg.norm(pts, axis=1, keepdims=True)
    labels = cluster(pts)
    assert len(set(labels)) == 3
    assert all(len(set(labels[i * 5 : i * 5 + 5])) == 1 for i in range(3))
    noise = rng.standard_normal((40, 16))
    noise /= np.linalg.norm(noise, axis=1, keepdims=True)
    assert 2 <= len(set(cluster(noise))) <= 6
    assert list(cluster(pts[:1])) == [0]
    assert len(set(cluster(pts[:2]))) == 2


def test_theme_names_are_distinguishing_and_readable() -> None:
    texts = [
        "LoRA fine-tuning of language models with low-rank adapters. LoRA adapters cut memory.",
        "Low-rank adapters (LoRA) for parameter-efficient fine-tuning of language models.",
        "Neural PDE solvers for fluid dynamics: a neural operator for the Navier-Stokes equations.",
        "PDE surrogate models: neural solvers for Navier-Stokes and Burgers equations.",
    ]
    names = theme_names(texts, np.array([0, 0, 1, 1]))
    assert len(names) == 2 and names[0] != names[1]
    assert "LoRA" in names[0] or "low-rank" in names[0].lower() or "adapters" in names[0].lower()
    assert "PDE" in names[1] or "navier" in names[1].lower() or "solvers" in names[1].lower()
    assert all(n[0].isupper() for n in names)


# --- offline ----------------------------------------------------------------------------------------
def test_offline_topic_summary_is_themed_cited_and_verbatim(seed_library: Library, embedder: Any) -> None:
    s = run(seed_library, embedder, TOPIC)
    assert s.mode == "extractive" and s.fallback_reason is None
    assert 2 <= len(s.sections) <= 6
    assert TOPIC in s.title
    assert_citations_consistent(s)
    assert_every_sentence_cited(s)
    ids = {r.id for r in s.references}
    assert "t:7133408c1175" in ids and "t:2d20be5bcac4" in ids  # LoRA-GGPO, PELA
    abstracts = {p.id: normalize_space(p.abstract) for p in seed_library.papers(list(ids))}
    by_n = {r.n: r.id for r in s.references}
    # Section sentences are the cited paper's own words.
    for sec in s.sections:
        assert sec.heading and sec.heading[0].isupper()
        for paragraph in sec.paragraphs:
            for sentence in cited_sentences(paragraph):
                nums = cited_numbers(sentence)
                assert len(nums) == 1
                words = re.sub(r"\s*\[\d+\]\s*$", "", sentence)
                assert words in abstracts[by_n[nums[0]]], sentence
    data = summary_json(s)
    assert set(data) == {
        "title", "overview", "sections", "references", "mode", "fallback_reason", "sentences", "notes"
    }
    # Every cited sentence is its paper's own: supported by construction, numbers as shown.
    assert data["sentences"]
    assert all(c["judge"] == "verbatim" and c["verdict"] == "supported" for c in data["sentences"])
    assert {n for c in data["sentences"] for n in c["cites"]} == {r["n"] for r in data["references"]}
    assert data["mode"] == "extractive" and data["fallback_reason"] is None
    assert set(data["sections"][0]) == {"heading", "paragraphs"}
    assert set(data["references"][0]) == {"n", "id", "title", "authors", "year", "url"}
    json.dumps(data)


def test_offline_whole_library_summary(seed_library: Library, embedder: Any) -> None:
    s = run(seed_library, embedder, "")
    assert 2 <= len(s.sections) <= 6
    assert "46 papers" in s.title and "46 papers" in s.overview
    assert_citations_consistent(s)
    assert_every_sentence_cited(s)
    headings = [sec.heading for sec in s.sections]
    assert len(set(headings)) == len(headings)


def test_off_topic_summary_is_refused(seed_library: Library, embedder: Any) -> None:
    with pytest.raises(PapersError, match="no papers on"):
        run(seed_library, embedder, "the boiling point of ethanol")


# --- exports ----------------------------------------------------------------------------------------
def _hostile_summary() -> Summary:
    refs = [
        Reference(
            n=1,
            id="p1",
            title="Braces {and} 100% & $cost$ #1 *bold* _x_ <img src=x>",
            authors=["Ada Lovelace", "Alan {M.} Turing"],
            year=2021,
            url="https://example.org/a?b=1&c={2}",
        ),
        Reference(n=2, id="p2", title="Plain title", authors=[], year=None, url="javascript:alert(1)"),
        Reference(n=3, id="p3", title="Braces again", authors=["Ada Lovelace"], year=2021, url=""),
    ]
    return Summary(
        title="A *summary* <script>x</script>",
        overview="It covers [1] things [2]. And more [3].",
        sections=[SummarySection(heading="Theme # one", paragraphs=["A sentence with *stars* [1][3]."])],
        references=refs,
    )


def test_markdown_export_parses_with_headings_and_references() -> None:
    md = summary_markdown(_hostile_summary())
    tokens = MarkdownIt("commonmark").parse(md)
    headings = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open"]
    assert headings[0].startswith("A \\*summary\\*") and headings[-1] == "References"
    assert "Theme \\# one" in headings
    items = [t for t in tokens if t.type == "list_item_open"]
    assert len(items) == 3
    html = MarkdownIt("commonmark").render(md)
    assert "<script" not in html and "<img" not in html and "javascript:" not in html
    assert "<em>" not in html.split("References")[0]  # paper text is literal, not formatting
    assert '<a href="https://example.org/a?b=1&amp;c=%7B2%7D">' in html or "https://example.org/a?b=1" in html


def test_bibtex_export_round_trips() -> None:
    s = _hostile_summary()
    lib = bibtexparser.parse_string(summary_bibtex(s))
    assert not lib.failed_blocks
    entries = lib.entries
    assert len(entries) == 3
    assert len({e.key for e in entries}) == 3  # two "Lovelace 2021" papers get distinct keys
    first = {f.key: f.value for f in entries[0].fields}
    assert "Lovelace" in first["author"] and " and " in first["author"]
    assert first["year"] == "2021" and first["url"].startswith("https://example.org/a")
    assert clean_latex(first["title"]) == s.references[0].title  # braces, %, &, $, #, _ kept as text
    assert "url" not in {f.key for f in entries[1].fields}  # a javascript: URL is no URL


# Every character LaTeX or BibTeX reads as syntax, a LaTeX command written as text, and non-ASCII text.
ROUND_TRIP_TITLES = [
    'Braces {and} 100% & $cost$ #1 a_b ~ C:\\path "quoted" <x> |y| [z]',
    "{{Nested}} {PDE}-Refiner: \\emph{not} a command, \\'e not an accent",
    "Back\\slash at the end\\",
    "Café Müller – Łódź ß ø æ œ Ű Ω “quotes” 東京 🚀",
]


def _bibtex_balanced(value: str) -> bool:
    """BibTeX's own rule: every brace counts, escaped or not, and the count never goes below zero."""
    depth = 0
    for ch in value:
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0


def test_bibtex_titles_round_trip_through_bibtexparser_and_our_loader() -> None:
    refs = [
        Reference(n=i, id=f"doi:10.1000/x_{i}", title=t, authors=["Ada Lovelace", "Barnes and Noble", "Zoë Ørsted"],
                  year=2021)
        for i, t in enumerate(ROUND_TRIP_TITLES, start=1)
    ]
    refs.append(Reference(n=5, id="p5", title="A lone { brace and a } stray one } here", year=2020))
    venue = Paper(id="doi:10.1000/x_1", title="t", venue="Journal of A&B {Letters}", doi="10.1000/x_1",
                  arxiv_id="2301.00001")
    text = summary_bibtex(Summary(title="t", overview="", sections=[], references=refs), [venue])
    decoded = bibtexparser.parse_string(text, append_middleware=[LatexDecodingMiddleware()])
    raw = bibtexparser.parse_string(text)  # what our loader (ingest/sources/bibtex.py) parses
    assert not raw.failed_blocks and not decoded.failed_blocks and len(raw.entries) == 5
    for ref, entry, plain in zip(refs[:4], raw.entries, decoded.entries):
        assert all(_bibtex_balanced(f.value) for f in entry.fields), entry.fields
        assert plain.fields_dict["title"].value == ref.title  # bibtexparser's LaTeX decoding
        fields = {f.key: f.value for f in entry.fields} | {"abstract": "An abstract."}  # the export has none
        paper = entry_to_paper(entry.key, fields, "export.bib", 100_000)
        assert paper.title == ref.title
        assert paper.authors == ["Ada Lovelace", "Barnes and Noble", "Zoë Ørsted"]  # one corporate author
    first = entry_to_paper(raw.entries[0].key, {f.key: f.value for f in raw.entries[0].fields} | {"abstract": "x"},
                           "export.bib", 100_000)
    assert (first.venue, first.doi, first.arxiv_id) == ("Journal of A&B {Letters}", "10.1000/x_1", "2301.00001")
    # A brace without its pair cannot be written so that BibTeX reads the entry (it counts escaped
    # braces too): it is dropped, and the entry stays readable.
    lone = raw.entries[4].fields_dict["title"].value
    assert _bibtex_balanced(lone) and clean_latex(lone) == "A lone { brace and a } stray one here"


HOSTILE_TITLE = "*Bold* _claims_ <img src=x onerror=alert(1)> [x](javascript:alert(1)) see http://attacker.invalid/p"


def test_summary_exports_escape_like_the_ui_and_drop_non_http_urls() -> None:
    import html

    s = _hostile_summary()
    s.references[0].title = HOSTILE_TITLE
    s.references[1].url = "data:text/html,<b>x</b>"
    s.references.append(Reference(n=4, id="p4", title="Four", url="javascript:alert(4)"))
    s.overview += f" {HOSTILE_TITLE} [4]."
    md = summary_markdown(s)
    assert md_escape(HOSTILE_TITLE) in md  # the UI's escaper, character for character
    rendered = MarkdownIt("commonmark", {"html": True}).render(md)
    before_refs, refs = rendered.split("References", 1)
    assert "<img" not in rendered and "<strong>" not in rendered and "<b>" not in rendered
    assert "<em>" not in before_refs
    assert rendered.count("<a ") == 1 and '<a href="https://example.org/a' in rendered  # the one http link
    visible = html.unescape(re.sub(r"<[^>]+>", "", rendered))
    assert "javascript:alert(1)" in visible  # the title's fake link is text
    assert "http://attacker.invalid" not in visible  # no bare URL left for GFM to link
    for bad in ("javascript:alert(4)", "data:text/html"):
        assert bad not in md
        assert bad not in summary_bibtex(s)
    urls = [r["url"] for r in summary_json(s)["references"]]
    assert urls == ["https://example.org/a?b=1&c={2}", "", "", ""]


def test_keep_cited_sentences_drops_uncited_sentences_and_invented_markers() -> None:
    raw = (
        "## Heading\nFirst claim [1]. An uncited claim. Second claim [2][9]. "
        "Only invented [9]. ![x](http://evil.example/x.png) Third claim. [3]"
    )
    out = keep_cited_sentences(raw, [1, 2, 3], ["https://example.org/1"])
    assert out == "First claim [1]. Second claim [2]. Third claim. [3]"


# --- LLM mode ---------------------------------------------------------------------------------------
def _source_numbers(messages: list[dict[str, Any]]) -> list[int]:
    prompt = "\n".join(str(m.get("content", "")) for m in messages)
    return [int(n) for n in re.findall(r"<source n=(\d+)", prompt)]


def _said_by(messages: list[dict[str, Any]], n: int) -> str:
    """The first sentence source n's text holds, as a model restating its source writes it."""
    prompt = "\n".join(str(m.get("content", "")) for m in messages)
    body = re.search(rf"<source n={n}\b[^>]*>\n(.*?)\n</source>", prompt, re.DOTALL)
    first = split_sentences(body.group(1) if body else "")
    return first[0].rstrip(".") if first else "It studies fine-tuning"


def _responder(messages: list[dict[str, Any]], body: dict[str, Any]) -> str:
    system = str(messages[0]["content"])
    nums = _source_numbers(messages)
    if "plan a literature summary" in system:
        groups = re.findall(r"^Theme \d+:", str(messages[-1]["content"]), re.MULTILINE)
        themes = [{"heading": f"Planned heading {k + 1}", "focus": "What unites them."} for k in range(len(groups))]
        return json.dumps({"title": "Efficient fine-tuning: a survey", "themes": themes})
    if "one section" in system:
        return (
            f"{_said_by(messages, nums[0])} [{nums[0]}]. This sentence cites nothing. "
            f"{_said_by(messages, nums[-1])} [{nums[-1]}][42]. <img src=x onerror=alert(1)>Made up [42]."
        )
    return f"{_said_by(messages, nums[0])} [{nums[0]}][{nums[-1]}]. An unsupported remark."


def test_llm_summary_outline_sections_and_citation_check(
    seed_library: Library, embedder: Any, llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    llm_server.configure_env(monkeypatch)
    llm_server.responder = _responder
    s = run(seed_library, embedder, TOPIC, with_llm=True)
    assert s.mode == "llm" and s.fallback_reason is None
    assert s.title == "Efficient fine-tuning: a survey"
    assert [sec.heading for sec in s.sections] == [f"Planned heading {k + 1}" for k in range(len(s.sections))]
    assert len(s.sections) >= 2
    for sec in s.sections:
        text = " ".join(sec.paragraphs)
        assert "cites nothing" not in text and "Made up" not in text and "<img" not in text
        assert "[42]" not in text
    assert "unsupported remark" not in s.overview
    assert_citations_consistent(s)
    assert_every_sentence_cited(s)
    requests = llm_server.chat_requests
    assert len(requests) == len(s.sections) + 2  # outline, one per theme, overview


def test_llm_summary_bad_outline_keeps_offline_names(
    seed_library: Library, embedder: Any, llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    llm_server.configure_env(monkeypatch)
    llm_server.script("no json here", "{still: not json")
    llm_server.responder = _responder
    s = run(seed_library, embedder, TOPIC, with_llm=True)
    offline = run(seed_library, embedder, TOPIC)  # no model passed: offline, whatever the settings say
    assert s.mode == "llm"
    assert [sec.heading for sec in s.sections] == [sec.heading for sec in offline.sections]
    assert s.title == offline.title
    assert_citations_consistent(s)


def test_llm_failure_gives_the_extractive_summary(
    seed_library: Library, embedder: Any, llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    llm_server.configure_env(monkeypatch)
    llm_server.script(Reply(status=429))
    s = run(seed_library, embedder, TOPIC, with_llm=True)
    assert s.mode == "extractive" and s.fallback_reason == "HTTP 429"
    assert_citations_consistent(s)
    assert_every_sentence_cited(s)


SIX_COPIES = (
    "This method is designed to improve robustness by allowing for adaptation of hyperparameters, which has "
    "been hindered by traditional methods"
)


def test_a_degenerate_reply_does_not_pass_as_an_llm_summary(
    seed_library: Library, embedder: Any, llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a real 135M model wrote: one invented sentence six times, each with another valid [n]."""

    def responder(messages: list[dict[str, Any]], body: dict[str, Any]) -> str:
        if "plan a literature summary" in str(messages[0]["content"]):
            return _responder(messages, body)
        nums = _source_numbers(messages)
        return " ".join(f"{SIX_COPIES} [{nums[k % len(nums)]}]." for k in range(6))

    llm_server.configure_env(monkeypatch)
    llm_server.responder = responder
    s = run(seed_library, embedder, TOPIC, with_llm=True)
    assert s.mode == "extractive" and s.fallback_reason and "repeats one sentence pattern" in s.fallback_reason
    assert SIX_COPIES not in summary_markdown(s)
    assert all(c.judge == "verbatim" for c in s.sentences)


def test_an_invented_section_keeps_its_offline_text_and_says_so(
    seed_library: Library, embedder: Any, llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def responder(messages: list[dict[str, Any]], body: dict[str, Any]) -> str:
        if "one section" in str(messages[0]["content"]):
            nums = _source_numbers(messages)
            return f"Quantum gravity explains the cosmic microwave background [{nums[0]}]."
        return _responder(messages, body)

    llm_server.configure_env(monkeypatch)
    llm_server.responder = responder
    s = run(seed_library, embedder, TOPIC, with_llm=True)
    assert s.mode == "llm" and "Quantum gravity" not in summary_markdown(s)
    assert any(n.startswith("Offline (extractive) text kept for: ") for n in s.notes), s.notes
    judged = [c for c in s.sentences if c.part == "overview"]
    assert judged and all(c.judge in ("offline", "llm") and c.verdict in ("supported", "partly_supported")
                          for c in judged if c.shown)
    md = summary_markdown(s)
    assert "## Checked sentences" in md and "**supported**" in md
