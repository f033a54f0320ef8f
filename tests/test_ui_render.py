"""Safe-rendering helpers of the UI and the Streamlit server configuration."""

from __future__ import annotations

import html
import re
import tomllib
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from assistant import text
from assistant.models import Answer, Citation
from assistant.text import md_escape, safe_url
from tests.ui_support import ATTACKER, IMG, MD_IMG, SCRIPT
from ui import render
from ui.render import conversation_markdown, source_kind, source_name

ROOT = Path(__file__).resolve().parents[1]
MD = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])

TRICKY = [
    SCRIPT,
    IMG,
    MD_IMG,
    "PIG: Physics-Informed Gaussians",
    "**bold** _it_ `code` ~~s~~ # h1 > quote - item 1. item",
    "[link](http://x.org) <http://x.org> www.x.org a@b.org &amp; &#60;b&#62;",
    ":red[colour] :material/home: $x^2$ \\escaped\\ | pipe |",
]


def _visible(markdown: str) -> str:
    text = html.unescape(re.sub(r"<[^>]+>", "", MD.render(markdown)))
    return text.replace("\u200b", "").strip()


@pytest.mark.parametrize("text", TRICKY)
def test_md_escape_renders_as_the_literal_text(text: str) -> None:
    rendered = MD.render(md_escape(text))
    assert "<img" not in rendered and "<script" not in rendered and "<a " not in rendered
    assert "<strong>" not in rendered and "<em>" not in rendered and "<code>" not in rendered
    assert _visible(md_escape(text)) == text


def test_md_escape_breaks_bare_url_autolinks() -> None:
    # GFM links bare URLs and addresses in the rendered text, escapes notwithstanding: the text
    # must not hold one (a zero-width space splits them; the reader sees the same characters).
    source = md_escape(f"http://{ATTACKER}/x www.{ATTACKER} me@{ATTACKER}")
    rendered = html.unescape(re.sub(r"<[^>]+>", "", MD.render(source)))
    for linkable in (f"http://{ATTACKER}", f"www.{ATTACKER}", f"me@{ATTACKER}"):
        assert linkable not in rendered
        assert linkable in rendered.replace("\u200b", "")


def test_safe_url_allows_only_http_links() -> None:
    assert safe_url("https://arxiv.org/abs/2401.00001") == "https://arxiv.org/abs/2401.00001"
    assert safe_url("HTTP://Arxiv.org/x") == "HTTP://Arxiv.org/x"
    for bad in ["javascript:alert(1)", "data:text/html,<b>x</b>", "file:///etc/passwd", "http://", "", None,
                "https://a.org/x y", "https://a.org/\nx", "//a.org/x", "https://a.org/<x>", 'https://a.org/"x',
                "https://a.org/`x"]:  # fmt: skip
        assert safe_url(bad) is None, bad


def test_ui_and_exports_share_one_escaper_and_one_url_check() -> None:
    assert render.md_escape is text.md_escape and render.safe_url is text.safe_url


def test_source_names() -> None:
    assert source_name("/work/main/ingest/data/seed.jsonl:12") == "seed.jsonl"
    assert source_name("upload:refs.bib:3") == "refs.bib"
    assert source_kind("upload:refs.bibtex:3") == "bib"
    assert source_name("arxiv:2401.00001") == "arXiv"
    assert source_name("/tmp/papers.json#4") == "papers.json"


def test_conversation_markdown_has_answers_references_and_inert_quotes() -> None:
    evil = Citation(
        n=1, id="evil", title=f"Robots {MD_IMG}", text=f"Grippers pick tomatoes. {SCRIPT} {IMG}",
        url="javascript:alert(3)", authors=["Mallory"], year=2024,
    )  # fmt: skip
    good = Citation(n=2, id="pig", title="PIG", text="Gaussians with learnable means.", url="https://pig.org/p")
    answer = Answer(
        question="How?", answer=f"They pick tomatoes [1] with Gaussians [2]. {MD_IMG}", mode="extractive",
        citations=[evil, good],
    )  # fmt: skip
    doc = conversation_markdown([{"role": "user", "content": "How?"}, {"role": "assistant", "answer": answer}])
    assert doc.startswith("# Paper Assistant conversation")
    assert "## Q: How\\?" in doc and "### References" in doc
    assert "They pick tomatoes [1] with Gaussians [2]." in doc
    assert "<https://pig.org/p>" in doc and "javascript" not in doc
    rendered = MD.render(doc)
    assert "<img" not in rendered and "<script" not in rendered
    assert f'href="http://{ATTACKER}' not in rendered
    # The quoted chunk is there, verbatim once rendered.
    assert SCRIPT in html.unescape(re.sub(r"<[^>]+>", "", rendered)).replace("\u200b", "")


def test_streamlit_config_is_safe_for_serving() -> None:
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["headless"] is True
    assert config["server"]["enableXsrfProtection"] is True
    assert config["server"]["maxUploadSize"] >= 50
    assert config["client"]["showErrorDetails"] == "none"  # not `false`, which now means "stacktrace"
    assert config["browser"]["gatherUsageStats"] is False
