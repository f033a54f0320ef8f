"""Support per sentence: a final answer split into its blocks and sentences, each sentence with the
sources that support it, and the sentences no source supports marked.

A sentence is supported by a source it cites (a valid [n]) whose text shares its content: at least
`MIN_OVERLAP` of the sentence's content words (stop words out, compared by their first five
letters, so "learned" meets "learnable") occur in that source's passage. A citation whose passage
shares almost nothing with the sentence (a model pinning a claim of its own on a real source) does
not count: the sentence is "unsupported" and keeps the number it claimed (`claimed`). Extractive
answers quote their sources word for word, so each of their sentences is supported.

Pure text → data, for the faces: the Chat page shows every sentence's sources and marks the
unsupported ones. A final answer has already lost the uncited sentences of a model reply
(assistant/citations.py `keep_cited_blocks`); what can still stand without a source is a lead-in
("The steps are:"), a heading, code or maths, so those are "neutral", not "unsupported". Applied to
a reply before that check (a model's own text), the claims it did not cite come out "unsupported".

Layout is kept as blocks: paragraphs, list items (with their depth), headings, and code or table
blocks kept whole (no sentence of theirs is judged). Markers inside code and maths are no citations
(assistant/reply.py `protect_spans`, through `cited_numbers` / `strip_markers`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from assistant.citations import cited_numbers, cited_sentences, strip_markers

Status = Literal["supported", "unsupported", "neutral"]
BlockKind = Literal["para", "item", "heading", "code", "table"]

_ITEM = re.compile(r"^([ \t]*)(?:[-*+]|(\d{1,3})[.)])[ \t]+")
_HEADING = re.compile(r"^[ \t]{0,3}(#{1,6})[ \t]+")
_FENCE = re.compile(r"^[ \t]*(```|~~~)")
_LETTER = re.compile(r"[^\W\d_]")
_WORD = re.compile(r"[^\W_][\w-]*")
MIN_OVERLAP = 0.25  # share of a sentence's content words its cited passage must hold
# Words compared are English: a sentence without one of these (an answer in French over English
# papers) is judged by its markers alone, since its words cannot match the passage's.
_ENGLISH = frozenset("the of and is are to in with that this by for from on as which its".split())
MIN_WORDS = 4  # a sentence with fewer content words is judged by its markers alone
_STOP = frozenset(
    """
    the and for are was were been being with that this these those from into onto than then there their
    they them its it's his her our your you not but also can could may might will would shall should
    have has had does did done which who whom whose what when where while how why all any each both
    such only other same more most some very just over under about above below between through during
    before after again further once here out off own too per via both either neither whether upon
    """.split()
)


@dataclass(frozen=True)
class SentenceSupport:
    text: str  # the sentence as written, its [n] markers taken out
    sources: tuple[int, ...]  # the sources that support it, in citation order
    status: Status
    claimed: tuple[int, ...] = ()  # valid sources it cites whose passages do not bear it out


@dataclass
class SupportBlock:
    kind: BlockKind
    sentences: list[SentenceSupport] = field(default_factory=list)
    raw: str = ""  # code and tables: the block as written
    depth: int = 0  # list items: nesting (indent / 2)
    ordered: bool = False  # list items: numbered


def content_words(text: str) -> set[str]:
    """Words that carry content, by their first five letters (a crude, language-light stem)."""
    return {w[:5] for w in (m.group(0).lower() for m in _WORD.finditer(text)) if len(w) >= 3 and w not in _STOP}


def bears_out(sentence: str, passage: str | None) -> bool:
    """Does the passage hold enough of the sentence's content? (No passage known, or a sentence not
    in English: the marker counts.)"""
    if passage is None or not _ENGLISH & {m.group(0).lower() for m in _WORD.finditer(sentence)}:
        return True
    words = content_words(sentence)
    if len(words) < MIN_WORDS:
        return True
    return len(words & content_words(passage)) / len(words) >= MIN_OVERLAP


def judge(sentence: str, passages: Mapping[int, str | None]) -> SentenceSupport:
    """One sentence: the cited sources that bear it out, or why it needs none (a lead-in, no
    words), or unsupported (no valid source, or none whose passage shares its content)."""
    cited = tuple(n for n in cited_numbers(sentence) if n in passages)
    bare = strip_markers(sentence).strip()
    sources = tuple(n for n in cited if bears_out(bare, passages[n]))
    if sources:
        status: Status = "supported"
    elif not cited and (bare.rstrip("*_ ").endswith(":") or not _LETTER.search(bare)):
        status = "neutral"
    else:
        status = "unsupported"
    return SentenceSupport(bare, sources, status, tuple(n for n in cited if n not in sources))


def _prose(kind: BlockKind, text: str, valid: Mapping[int, str | None], **extra: int | bool) -> SupportBlock:
    sentences = [judge(s, valid) for s in cited_sentences(" ".join(text.split()))]
    return SupportBlock(kind, [s for s in sentences if s.text], **extra)  # type: ignore[arg-type]


def answer_support(text: str, sources: Mapping[int, str] | Iterable[int]) -> list[SupportBlock]:
    """The answer's blocks in order, every prose sentence judged against the sources: source number →
    its passage (the cited chunk text), or just the valid numbers (then a valid marker is support)."""
    ok: dict[int, str | None] = dict(sources) if isinstance(sources, Mapping) else dict.fromkeys(sources)
    blocks: list[SupportBlock] = []
    para: list[str] = []
    lines = text.split("\n")
    i = 0

    def flush() -> None:
        if para:
            blocks.append(_prose("para", " ".join(para), ok))
            para.clear()

    while i < len(lines):
        line = lines[i]
        fence = _FENCE.match(line)
        if fence:
            flush()
            end = next((j for j in range(i + 1, len(lines)) if lines[j].strip().startswith(fence.group(1))), len(lines))
            blocks.append(SupportBlock("code", raw="\n".join(lines[i : end + 1])))
            i = end + 1
            continue
        if line.lstrip().startswith("|"):
            flush()
            end = i
            while end + 1 < len(lines) and lines[end + 1].lstrip().startswith("|"):
                end += 1
            blocks.append(SupportBlock("table", raw="\n".join(lines[i : end + 1])))
            i = end + 1
            continue
        heading, item = _HEADING.match(line), _ITEM.match(line)
        if not line.strip():
            flush()
        elif heading:
            flush()
            blocks.append(_prose("heading", line[heading.end() :], {}))
            blocks[-1].sentences = [SentenceSupport(s.text, s.sources, "neutral") for s in blocks[-1].sentences]
        elif item:
            flush()
            body = [line[item.end() :]]
            # An item's continuation lines (indented, not a new item) belong to it.
            while i + 1 < len(lines) and lines[i + 1].startswith((" ", "\t")) and lines[i + 1].strip() and not (
                _ITEM.match(lines[i + 1]) or _FENCE.match(lines[i + 1])
            ):
                i += 1
                body.append(lines[i].strip())
            depth = len(item.group(1).expandtabs(4)) // 2
            blocks.append(_prose("item", " ".join(body), ok, depth=depth, ordered=item.group(2) is not None))
        else:
            para.append(line.strip())
        i += 1
    flush()
    return [b for b in blocks if b.sentences or b.raw]


def support_counts(blocks: Iterable[SupportBlock]) -> dict[Status, int]:
    """How many sentences are supported, unsupported, neutral (for a caption or a test)."""
    out: dict[Status, int] = {"supported": 0, "unsupported": 0, "neutral": 0}
    for b in blocks:
        for s in b.sentences:
            out[s.status] += 1
    return out
