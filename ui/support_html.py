"""An answer shown sentence by sentence with the verification core's verdicts (`Answer.sentences`,
computed in assistant/answers/verify, none here): each sentence carries chips naming the source that bears it
out, a partly supported one a "partly" badge, a sentence no source bears out a muted "no source"
badge, and hovering a chip (after a sentence or in the legend) highlights every sentence that source
supports. A chip's tooltip is the quote that bears the sentence out.

The hover is plain CSS (`:has()`), so it needs no script: Streamlit's `st.html` drops scripts
anyway. Safety: the answer is cleaned first (assistant/text.py `clean_output`, as every answer
shown is, inside `Answer.support`); each sentence's inline Markdown is rendered by markdown-it with
raw HTML off (any tag stays text) and images off; code, table cells and titles are `html.escape`d;
links keep only http(s) targets that cleaning allowed (the cited papers' own URLs).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from assistant.models import Answer, Citation, SentenceSupport, SupportBlock, support_counts

CSS = """
.pa-answer { line-height: 1.65; font-size: 1rem; }
.pa-answer p { margin: 0 0 0.6rem 0; }
.pa-answer ul, .pa-answer ol { margin: 0 0 0.6rem 0; padding-left: 1.4rem; }
.pa-sent { border-radius: 3px; padding: 0 1px; transition: background-color 0.1s; }
.pa-chip { display: inline-block; font-size: 0.72rem; line-height: 1.1; padding: 1px 5px; margin-left: 2px;
  border-radius: 8px; border: 1px solid rgba(49, 51, 63, 0.25); background: rgba(49, 51, 63, 0.06);
  vertical-align: super; cursor: default; }
.pa-chip:hover { background: #ffe08a; border-color: #d9a400; color: #1a1a1a; }
.pa-unsupported { text-decoration: underline dotted rgba(160, 60, 40, 0.7); text-underline-offset: 3px; }
.pa-nosrc { display: inline-block; font-size: 0.68rem; padding: 0 5px; margin-left: 3px; border-radius: 8px;
  color: rgba(120, 50, 30, 0.9); border: 1px dashed rgba(160, 60, 40, 0.6); vertical-align: super; }
.pa-partly { display: inline-block; font-size: 0.68rem; padding: 0 5px; margin-left: 3px; border-radius: 8px;
  color: rgba(140, 100, 0, 0.95); border: 1px dashed rgba(180, 130, 0, 0.7); vertical-align: super; }
.pa-legend { margin-top: 0.4rem; font-size: 0.85rem; color: rgba(49, 51, 63, 0.75); }
.pa-legend .pa-chip { vertical-align: baseline; font-size: 0.8rem; margin: 2px 4px 2px 0; }
"""


@lru_cache(maxsize=1)
def _markdown() -> Any:
    from markdown_it import MarkdownIt

    # Raw HTML off: a tag is shown as text. Images off: nothing loads.
    return MarkdownIt("commonmark", {"html": False, "linkify": False}).disable("image").enable("table")


def _inline(text: str) -> str:
    return str(_markdown().renderInline(text))


def _chips(sources: Sequence[int]) -> str:
    return "".join(f'<span class="pa-chip" data-n="{n}">[{n}]</span>' for n in sources)


def _chips_with_quote(s: SentenceSupport) -> str:
    if s.check is None or not s.check.quote:
        return _chips(s.sources)
    quote = html.escape(f"{s.check.verdict.replace('_', ' ')} ({s.check.score:.2f}): “{s.check.quote}”")
    return "".join(f'<span class="pa-chip" data-n="{n}" title="{quote}">[{n}]</span>' for n in s.sources)


def sentence_html(s: SentenceSupport) -> str:
    body = _inline(s.text)
    if s.status in ("supported", "partly"):
        src = " ".join(str(n) for n in s.sources)
        partly = '<span class="pa-partly" title="The cited passage bears out only part of it">partly</span>'
        tail = partly if s.status == "partly" else ""
        sent = f'<span class="pa-sent" data-src="{src}" data-verdict="{s.status}">{body}</span>'
        return f"{sent}{_chips_with_quote(s)}{tail}"
    if s.status == "unsupported":
        why = (
            f"Cites [{'], ['.join(map(str, s.claimed))}], but that passage does not bear it out"
            if s.claimed
            else "No source supports this sentence"
        )
        return (
            f'<span class="pa-sent pa-unsupported" data-src="">{body}</span>'
            f'<span class="pa-nosrc" title="{html.escape(why)}">no source</span>'
        )
    return f'<span class="pa-sent pa-neutral" data-src="">{body}</span>'


def _prose(block: SupportBlock) -> str:
    return " ".join(sentence_html(s) for s in block.sentences)


def blocks_html(blocks: Sequence[SupportBlock]) -> str:
    """The answer's blocks as HTML: paragraphs, nested lists, headings (as bold lines), code, tables."""
    out: list[str] = []
    open_lists: list[str] = []  # tag per depth
    for b in blocks:
        if b.kind != "item":
            while open_lists:
                out.append(f"</li></{open_lists.pop()}>")
        if b.kind == "para":
            out.append(f"<p>{_prose(b)}</p>")
        elif b.kind == "heading":
            out.append(f"<p><strong>{_prose(b)}</strong></p>")
        elif b.kind == "code":
            lines = b.raw.split("\n")
            closed = len(lines) > 1 and lines[-1].strip().startswith(("```", "~~~"))
            inner = "\n".join(lines[1:-1] if closed else lines[1:])
            out.append(f"<pre><code>{html.escape(inner)}</code></pre>")
        elif b.kind == "table":
            out.append(str(_markdown().render(b.raw)))
        else:
            tag = "ol" if b.ordered else "ul"
            depth = min(b.depth, len(open_lists))
            while len(open_lists) > depth + 1:
                out.append(f"</li></{open_lists.pop()}>")
            if len(open_lists) == depth:
                out.append(f"<{tag}><li>")
                open_lists.append(tag)
            else:
                out.append("</li><li>")
            out.append(_prose(b))
    while open_lists:
        out.append(f"</li></{open_lists.pop()}>")
    return "".join(out)


def legend_html(citations: Sequence[Citation], cited: Sequence[int]) -> str:
    by_n = {c.n: c for c in citations}
    chips = []
    for n in cited:
        c = by_n.get(n)
        short, full = (html.escape(_short(c.title, 60)), html.escape(_short(c.title, 300))) if c else ("", "")
        chips.append(f'<span class="pa-chip" data-n="{n}" title="{full}">[{n}] {short}</span>')
    return f'<div class="pa-legend">Hover a source to see the sentences it supports: {"".join(chips)}</div>'


def _short(text: str, limit: int) -> str:
    one = " ".join((text or "").split())
    return one if len(one) <= limit else one[: limit - 1].rstrip() + "…"


def highlight_css(numbers: Sequence[int]) -> str:
    """Per source: hovering one of its chips lights the sentences it supports (CSS only)."""
    rules = [
        f'.pa-answer:has(.pa-chip[data-n="{n}"]:hover) .pa-sent[data-src~="{n}"]'
        " { background-color: #ffe08a; color: #1a1a1a; }"  # readable in the dark theme too
        for n in numbers
    ]
    return CSS + "\n".join(rules)


def answer_html(answer: Answer) -> str:
    """An answer and the core's verdicts → one self-contained HTML block (styles included). Its blocks
    come from `Answer.support()`, set by the core (assistant/answers/support.py) from the cleaned text
    (no images, tags or links but the cited papers' own), whatever the caller did."""
    citations = answer.citations
    blocks = answer.support()
    cited = sorted({n for b in blocks for s in b.sentences for n in s.sources})
    counts = support_counts(blocks)
    unsupported = counts["unsupported"]
    note = (
        f'<div class="pa-legend">{unsupported} sentence{"s" if unsupported != 1 else ""} '
        "without a supporting source (marked “no source”).</div>"
        if unsupported
        else ""
    )
    return (
        f"<style>{highlight_css(cited)}</style>"
        f'<div class="pa-answer">{blocks_html(blocks)}{legend_html(citations, cited) if cited else ""}{note}</div>'
    )


def render_answer_body(answer: Answer, key: str) -> None:
    """The answer body on a page, sentence by sentence with its sources."""
    import streamlit as st

    with st.container(key=key):
        st.html(answer_html(answer))
