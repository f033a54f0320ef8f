"""Citation integrity and output hygiene, shared by answers, comparisons and summaries.

- Sources are numbered 1..n and shown to an LLM as clearly delimited, untrusted data.
- Every [n] in generated text must name a numbered source; any other marker is removed.
- Output is cleaned: no images, no raw HTML, no links except to the cited papers' own URLs.
- Code and maths (assistant/spans.py `protect_spans`) are left as written: no citation is read in them,
  nothing in them is escaped; indentation and nested lists are kept.
- A reply's sentences without a valid citation are dropped (`keep_cited_blocks`), its structure kept.

A raw model reply goes through assistant/llm/reply.py `clean_reply` (reasoning, citation styles) first.

Why this module is long: numbering, the marker grammar, output cleaning and the block-keeping check
all read and rewrite the same markers inside the same protected spans; split, each part would
re-parse what the others parse.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from assistant.models import Citation, Paper, PaperHit, Reference
from assistant.spans import PLACEHOLDER, protect_spans
from assistant.text import CITATION_MARKER, clean_output, marker_numbers, split_sentences


@dataclass(frozen=True)
class Source:
    """A numbered source: one paper and the exact chunk text offered as its evidence."""

    n: int
    paper: Paper
    text: str
    chunk_id: str = ""
    section: str = ""  # the chunk's section heading; "abstract" and other pseudo-sections are not shown
    page: int | None = None  # the PDF page the chunk starts on

    def citation(self, text: str | None = None) -> Citation:
        return Citation(
            n=self.n,
            id=self.paper.id,
            title=self.paper.title,
            text=self.text if text is None else text,
            url=self.paper.url,
            authors=list(self.paper.authors),
            year=self.paper.year,
            section=shown_section(self.section),
            page=self.page,
        )

    def reference(self) -> Reference:
        p = self.paper
        return Reference(n=self.n, id=p.id, title=p.title, authors=list(p.authors), year=p.year, url=p.url)


_PSEUDO_SECTIONS = {"", "abstract", "title", "text"}


def shown_section(heading: str) -> str:
    """A chunk's section as a citation shows it: a real heading ("3.2 Attention"), never a pseudo one."""
    heading = " ".join(heading.split())
    return "" if heading.lower() in _PSEUDO_SECTIONS else heading[:120]


def section_of(hit: PaperHit, chunk_id: str) -> str:
    return next((e.section for e in hit.evidence if e.chunk_id == chunk_id), "")


def number_sources(hits: Sequence[PaperHit]) -> list[Source]:
    """One source per paper, numbered in rank order; its text is the paper's best evidence chunk."""
    out: list[Source] = []
    for hit in hits:
        ev = hit.evidence[0] if hit.evidence else None
        text = ev.text if ev else hit.paper.abstract
        chunk_id, section, page = (ev.chunk_id, ev.section, ev.page) if ev else ("", "", None)
        out.append(Source(len(out) + 1, hit.paper, text, chunk_id, section, page))
    return out


def _escape_source_text(text: str) -> str:
    # A source must not be able to close its own delimiter and speak as the prompt.
    return re.sub(r"</?\s*source\b", lambda m: m.group(0).replace("<", "&lt;"), text, flags=re.IGNORECASE)


def _attr(value: str) -> str:
    return html.escape(value, quote=True).replace("\n", " ")


def format_sources(sources: Iterable[Source]) -> str:
    """Sources for a prompt, each inside <source n=.. id=..> … </source>."""
    blocks = []
    for s in sources:
        year = f' year="{s.paper.year}"' if s.paper.year else ""
        blocks.append(
            f'<source n={s.n} id="{_attr(s.paper.id)}" title="{_attr(s.paper.title)}"{year}>\n'
            f"{_escape_source_text(s.text.strip())}\n</source>"
        )
    return "\n\n".join(blocks)




def cited_numbers(text: str) -> list[int]:
    """Source numbers cited in `text`, in order of first appearance."""
    seen: dict[int, None] = {}
    for m in CITATION_MARKER.finditer(protect_spans(text).text):
        for n in marker_numbers(m.group(1)):
            seen.setdefault(n, None)
    return list(seen)


def validate_markers(text: str, valid: Iterable[int]) -> str:
    """Drop every cited number that is not a valid source; a marker left empty disappears.

    Kept markers are normalised to the "[1][2]" form.
    """
    ok = set(valid)

    def fix(m: re.Match[str]) -> str:
        nums = [n for n in dict.fromkeys(marker_numbers(m.group(1))) if n in ok]
        return "".join(f"[{n}]" for n in nums)

    return _rewrite_markers(text, fix)


_SPACEDCITATION_MARKER = re.compile(r"([ \t]*)(" + CITATION_MARKER.pattern + ")")


def _rewrite_markers(text: str, fix: Callable[[re.Match[str]], str]) -> str:
    p = protect_spans(text)

    def rewrite(m: re.Match[str]) -> str:
        marker = CITATION_MARKER.fullmatch(m.group(2))
        assert marker is not None
        new = fix(marker)
        # A removed marker takes the space before it along ("word [9]." -> "word."), and only
        # then: the space in "Pourquoi ?" is French typography, not a leftover.
        return m.group(1) + new if new else ""

    out = _SPACEDCITATION_MARKER.sub(rewrite, p.text)
    out = re.sub(r"[ \t]+$", "", out, flags=re.MULTILINE)
    return p.restore(re.sub(r"(?<=\S)[ \t]{2,}", " ", out))


def strip_markers(text: str) -> str:
    return validate_markers(text, ())


def finalize(text: str, sources: Sequence[Source]) -> tuple[str, list[Source]]:
    """Validate markers against `sources`, clean the text, and return the sources actually cited
    (in order of first citation)."""
    by_n = {s.n: s for s in sources}
    cited_urls = [by_n[n].paper.url for n in cited_numbers(text) if n in by_n and by_n[n].paper.url]
    text = validate_markers(clean_output(text, cited_urls), by_n)
    cited = [by_n[n] for n in cited_numbers(text) if n in by_n]
    return text, cited


def renumber_markers(text: str, mapping: dict[int, int]) -> str:
    """Rewrite every cited number through `mapping` (old → new); numbers it lacks are dropped.

    For texts whose sources are numbered in order of first citation only at the end (summaries).
    """

    def fix(m: re.Match[str]) -> str:
        nums = [mapping[n] for n in dict.fromkeys(marker_numbers(m.group(1))) if n in mapping]
        return "".join(f"[{n}]" for n in dict.fromkeys(nums))

    return _rewrite_markers(text, fix)


def first_citation_order(texts: Iterable[str]) -> list[int]:
    """Cited numbers across `texts`, in order of first appearance (reading order)."""
    seen: dict[int, None] = {}
    for text in texts:
        for n in cited_numbers(text):
            seen.setdefault(n, None)
    return list(seen)


def cited_sentences(text: str) -> list[str]:
    """Sentences of generated text; a marker written after a sentence's period stays with it."""
    out: list[str] = []
    for s in split_sentences(text):
        lead = re.match(r"^((?:\[\d+\])+)\s*", s)
        if lead and out:
            out[-1] += " " + lead.group(1)
            s = s[lead.end() :]
        if s.strip():
            out.append(s.strip())
    return out


Decide = Callable[[str], str | None]
"""What becomes of a cited sentence: the text to show (itself, or marked), or None to leave it out
(assistant/answers/verify's policy)."""


def keep_cited_sentences(
    text: str, valid: Iterable[int], allowed_urls: Iterable[str] = (), decide: Decide | None = None
) -> str:
    """Generated prose reduced to what is cited: invented markers removed, output cleaned, headings
    dropped, and every sentence left without a valid [n] dropped (and, with `decide`, each cited one
    shown as it says or left out). One paragraph."""
    text = validate_markers(text, valid)
    text = clean_output(text, allowed_urls)
    text = re.sub(r"^\s*#+\s.*$", "", text, flags=re.MULTILINE)  # a heading is no sentence
    text = re.sub(r"^\s*([-*+]|\d+[.)])\s+", "", text, flags=re.MULTILINE)  # list items become sentences
    kept = [s for s in cited_sentences(re.sub(r"\s+", " ", text).strip()) if cited_numbers(s)]
    decided = [d for d in (decide(s) if decide else s for s in kept) if d]
    return " ".join(decided)


# --- a reply's uncited sentences, structure kept ---------------------------------------------------
_PREFIX = re.compile(r"^[ \t]*(?:>[ \t]?)*(?:(?:[-*+]|\d{1,3}[.)])[ \t]+)?")
_STARTS_BLOCK = re.compile(r"^[ \t]*(?:>|[-*+][ \t]|\d{1,3}[.)][ \t])")
_HEADING = re.compile(r"^[ \t]{0,3}#{1,6}(?:[ \t]|$)")
_RULE = re.compile(r"^[ \t]*(?:[-*_][ \t]*){3,}$")
_LETTER = re.compile(r"[^\W\d_]")


@dataclass
class _Block:
    kind: str  # blank, heading, rule, code, table, para
    lines: list[str]
    keep: bool = True


def _blocks(lines: list[str]) -> list[_Block]:
    blocks: list[_Block] = []
    for line in lines:
        prev = blocks[-1] if blocks else None
        if not line.strip():
            kind = "blank"
        elif _HEADING.match(line):
            kind = "heading"
        elif _RULE.match(line):
            kind = "rule"
        elif not _LETTER.search(PLACEHOLDER.sub("", line)) and PLACEHOLDER.search(line):
            kind = "code"  # a fenced block or display maths on its own line
        elif line.lstrip().startswith("|"):
            kind = "table"
        else:
            kind = "para"
        joins = prev is not None and prev.kind == kind and kind in ("table", "para")
        if joins and kind == "para" and _STARTS_BLOCK.match(line):
            joins = False
        if joins and prev is not None:
            prev.lines.append(line)
        else:
            blocks.append(_Block(kind, [line]))
    return blocks


def keep_cited_blocks(text: str, valid: Iterable[int], decide: Decide | None = None) -> tuple[str, int]:
    """`text` with every sentence that has no valid [n] dropped, and how many were dropped. With
    `decide`, each cited sentence is shown as it returns (marked, say) or left out when it returns None
    (not counted among the dropped: the verdicts count those).

    Paragraphs, list items (nested, indented), tables, code and maths keep their layout; a block
    whose sentences are all cited is kept exactly. Code, maths and other sentences without words
    need no citation; a lead-in ("The steps are:") or a heading stays only when what follows it stays.
    """
    ok = set(valid)
    p = protect_spans(text)
    blocks = _blocks(p.text.split("\n"))

    def cited(s: str) -> bool:
        return any(n in ok for m in CITATION_MARKER.finditer(s) for n in marker_numbers(m.group(1)))

    dropped = 0
    rendered: list[list[str]] = []
    following = False  # is the nearest content after this point kept?
    section = False  # is any content kept between this point and the next heading?
    for block in reversed(blocks):
        if block.kind in ("blank", "rule"):
            rendered.append(block.lines)
            continue
        if block.kind == "heading":
            block.keep, section = section, False
            rendered.append(block.lines if block.keep else [])
            continue
        if block.kind in ("code", "table"):
            block.keep = block.kind == "code" or cited("\n".join(block.lines))
            dropped += not block.keep
            following = block.keep
            section = section or block.keep
            rendered.append(block.lines if block.keep else [])
            continue
        whole = "\n".join(block.lines)
        prefix = _PREFIX.match(whole)
        head = prefix.group(0) if prefix else ""
        kept: list[str] = []
        sentences = cited_sentences(whole[len(head) :])
        for s in reversed(sentences):
            bare = CITATION_MARKER.sub("", PLACEHOLDER.sub("", s)).strip().rstrip("*_ ")
            if bare.endswith(":"):
                keep = following  # a lead-in
                if keep and decide is not None and cited(s):  # one that cites is a claim too
                    decided = decide(p.restore(s))
                    keep, s = decided is not None, decided or s
            else:
                keep = not _LETTER.search(bare) or cited(s)
                dropped += not keep
                if keep and decide is not None and cited(s):
                    decided = decide(p.restore(s))
                    keep, s = decided is not None, decided or s
                following = keep
            if keep:
                kept.append(s)
        section = section or bool(kept)
        if len(kept) == len(sentences):
            rendered.append(block.lines)
        elif kept:
            rendered.append([head + " ".join(reversed(kept))])
        else:
            rendered.append([])
    lines = [line for chunk in reversed(rendered) for line in chunk]
    out = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")
    return p.restore(out), dropped


def finalize_reply(
    text: str, sources: Sequence[Source], decide: Decide | None = None
) -> tuple[str, list[Source], int]:
    """A cleaned reply (assistant/llm/reply.py `clean_reply`) checked against `sources`: output cleaned,
    sentences without a valid citation dropped (with `decide`, cited ones as it says), invented markers
    removed. Returns the text, the sources it cites (in order of first citation) and how many
    sentences were dropped for want of a citation."""
    by_n = {s.n: s for s in sources}
    cited_urls = [by_n[n].paper.url for n in cited_numbers(text) if n in by_n and by_n[n].paper.url]
    kept, dropped = keep_cited_blocks(clean_output(text, cited_urls), by_n, decide)
    kept = validate_markers(kept, by_n)
    return kept, [by_n[n] for n in cited_numbers(kept) if n in by_n], dropped
