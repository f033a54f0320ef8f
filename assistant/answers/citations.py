"""Citation integrity and output hygiene, shared by answers, comparisons and summaries.

- Sources are numbered 1..n and shown to an LLM as clearly delimited, untrusted data.
- Every [n] in generated text must name a numbered source; any other marker is removed.
- Output is cleaned: no images, no raw HTML, no links except to the cited papers' own URLs.
- Code and maths (assistant/llm/reply.py `protect_spans`) are left as written: no citation is read in them,
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

from assistant.llm.reply import PLACEHOLDER, protect_spans
from assistant.models import Citation, Paper, PaperHit, Reference
from assistant.text import INVISIBLE, split_sentences

# [1], [1, 2], [1,2,3], [1-3] / [1–3]; a marker is never a markdown link's text ("[1](url)").
_MARKER = re.compile(r"\[(\s*\d+(?:\s*(?:,|-|–)\s*\d+)*\s*)\](?!\()")


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


def _expand(spec: str) -> list[int]:
    nums: list[int] = []
    for part in re.split(r"\s*,\s*", spec.strip()):
        rng = re.split(r"\s*[-–]\s*", part)
        if len(rng) == 2 and rng[0].isdigit() and rng[1].isdigit():
            lo, hi = int(rng[0]), int(rng[1])
            if lo <= hi and hi - lo < 50:
                nums.extend(range(lo, hi + 1))
                continue
        if part.isdigit():
            nums.append(int(part))
    return nums


def cited_pieces(text: str) -> list[tuple[str, list[int]]]:
    """The text before each citation marker (since the one before it) and the marker's source numbers:
    "[1-3]" is 1, 2 and 3. Code and maths are no citations (`protect_spans`), and come back as written."""
    p = protect_spans(text)
    out: list[tuple[str, list[int]]] = []
    last = 0
    for m in _MARKER.finditer(p.text):
        out.append((p.restore(p.text[last : m.start()]), _expand(m.group(1))))
        last = m.end()
    return out


def cited_numbers(text: str) -> list[int]:
    """Source numbers cited in `text`, in order of first appearance."""
    seen: dict[int, None] = {}
    for m in _MARKER.finditer(protect_spans(text).text):
        for n in _expand(m.group(1)):
            seen.setdefault(n, None)
    return list(seen)


def validate_markers(text: str, valid: Iterable[int]) -> str:
    """Drop every cited number that is not a valid source; a marker left empty disappears.

    Kept markers are normalised to the "[1][2]" form.
    """
    ok = set(valid)

    def fix(m: re.Match[str]) -> str:
        nums = [n for n in dict.fromkeys(_expand(m.group(1))) if n in ok]
        return "".join(f"[{n}]" for n in nums)

    return _rewrite_markers(text, fix)


_SPACED_MARKER = re.compile(r"([ \t]*)(" + _MARKER.pattern + ")")


def _rewrite_markers(text: str, fix: Callable[[re.Match[str]], str]) -> str:
    p = protect_spans(text)

    def rewrite(m: re.Match[str]) -> str:
        marker = _MARKER.fullmatch(m.group(2))
        assert marker is not None
        new = fix(marker)
        # A removed marker takes the space before it along ("word [9]." -> "word."), and only
        # then: the space in "Pourquoi ?" is French typography, not a leftover.
        return m.group(1) + new if new else ""

    out = _SPACED_MARKER.sub(rewrite, p.text)
    out = re.sub(r"[ \t]+$", "", out, flags=re.MULTILINE)
    return p.restore(re.sub(r"(?<=\S)[ \t]{2,}", " ", out))


def strip_markers(text: str) -> str:
    return validate_markers(text, ())


# --- output cleaning -----------------------------------------------------------------------------
_MD_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)|!\[[^\]]*\]\[[^\]]*\]")
_MD_LINK = re.compile(r"\[([^\]]*)\]\(\s*<?([^)\s>]*)>?(?:\s+[\"'][^)]*[\"'])?\s*\)")
_REF_DEF = re.compile(r"^[ \t]*\[[^\]]+\]:[ \t]*<?(\S+?)>?(?:[ \t]+.*)?$", re.MULTILINE)
_AUTOLINK = re.compile(r"<((?:https?|ftp|mailto|javascript|data):[^>\s]*)>", re.IGNORECASE)
_DANGEROUS_BLOCK = re.compile(
    r"<\s*(script|style|iframe|object|embed|svg|math|template|noscript|textarea|xmp)\b[^>]*>.*?<\s*/\s*\1\s*>",
    re.IGNORECASE | re.DOTALL,
)
_COMMENT = re.compile(r"<!--.*?(-->|$)", re.DOTALL)
_HTML_NAMES = (
    "a|abbr|address|applet|area|article|aside|audio|b|base|basefont|bdi|bdo|big|blink|blockquote|body|br|"
    "button|canvas|caption|center|cite|code|col|colgroup|data|datalist|dd|del|details|dfn|dialog|div|dl|dt|"
    "em|embed|fieldset|figcaption|figure|font|footer|form|frame|frameset|h[1-6]|head|header|hgroup|hr|html|"
    "i|iframe|image|img|input|ins|kbd|label|legend|li|link|main|map|mark|marquee|math|menu|meta|meter|nav|"
    "noscript|object|ol|optgroup|option|output|p|param|picture|plaintext|pre|progress|q|rp|rt|ruby|s|samp|"
    "script|section|select|slot|small|source|span|strike|strong|style|sub|summary|sup|svg|table|tbody|td|"
    "template|textarea|tfoot|th|thead|time|title|tr|track|tt|u|ul|var|video|wbr|xmp"
)
# Known HTML elements and custom elements (with a dash); any other "<word" is escaped, not removed,
# so prose such as "x<y and y>z" survives.
_TAG = re.compile(rf"</?\s*(?:(?:{_HTML_NAMES})\b|[A-Za-z][A-Za-z0-9]*-[A-Za-z0-9-]*)(?:[^<>]*)?/?>", re.IGNORECASE)
_BARE_URL = re.compile(r"\b(?:https?://|www\.)[^\s<>()\[\]\ue000-\uf8ff]+", re.IGNORECASE)
_CONTROL = re.compile(rf"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff{INVISIBLE}]")  # + bidi, zero-width
_SCHEME_URL = re.compile(r"\b(?:javascript|data|vbscript):[^\s\ue000-\uf8ff]*", re.IGNORECASE)


def _norm_url(url: str) -> str:
    u = url.strip().strip("<>").rstrip("/.,;:").lower()
    u = re.sub(r"^https?://", "", u)
    return re.sub(r"^www\.", "", u)


def clean_output(text: str, allowed_urls: Iterable[str] = ()) -> str:
    """Make generated text safe to show as markdown.

    Images (markdown and <img>) are removed; raw HTML tags are removed (script/style blocks with
    their content); a link keeps its text and loses its URL unless the URL is one of
    `allowed_urls` (the cited papers' own); bare URLs that are not allowed are removed.
    """
    allowed = {_norm_url(u) for u in allowed_urls if u and u.strip()}

    def ok(url: str) -> bool:
        return bool(url) and _norm_url(url) in allowed and url.lower().startswith(("http://", "https://"))

    out = _CONTROL.sub("", text)  # ESC sequences would drive the terminal that prints this
    protected = protect_spans(out)  # code and maths as written: shown literally, never as HTML
    out = _COMMENT.sub("", protected.text)
    prev = None
    while prev != out:  # nested or split tags ("<scr<script>ipt>") reappear after one pass
        prev = out
        inner = None
        while inner != out:
            inner = out
            out = _DANGEROUS_BLOCK.sub("", out)
        out = _MD_IMAGE.sub("", out)
        out = _AUTOLINK.sub(lambda m: m.group(1) if ok(m.group(1)) else "", out)
        out = _TAG.sub("", out)
    # A "<" that could still open a tag is escaped so no renderer makes one of it.
    out = re.sub(r"<(?=[A-Za-z/!?])", "&lt;", out)

    def link(m: re.Match[str]) -> str:
        label, url = m.group(1), m.group(2)
        if ok(url):
            return f"[{label}]({url})"
        # "[2](http://…)" is a citation marker dressed as a link: keep the marker.
        return f"[{label}]" if _MARKER.fullmatch(f"[{label}]") else label

    out = _MD_LINK.sub(link, out)
    out = _REF_DEF.sub(lambda m: m.group(0) if ok(m.group(1)) else "", out)
    kept_links: list[str] = []

    def protect(m: re.Match[str]) -> str:
        kept_links.append(m.group(0))
        return f"\x00{len(kept_links) - 1}\x00"

    out = re.sub(r"\[[^\]]*\]\([^)]*\)", protect, out)  # allowed links survive the bare-URL pass
    out = _BARE_URL.sub(lambda m: m.group(0) if ok(m.group(0)) else "", out)
    out = _SCHEME_URL.sub("", out)
    out = re.sub(r"\x00(\d+)\x00", lambda m: kept_links[int(m.group(1))], out)
    out = re.sub(r"[ \t]+\n", "\n", out)
    out = re.sub(r"\n{3,}", "\n\n", out)
    out = re.sub(r"(?<=\S)[ \t]{2,}", " ", out)
    return protected.restore(out.strip())


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
        nums = [mapping[n] for n in dict.fromkeys(_expand(m.group(1))) if n in mapping]
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
        return any(n in ok for m in _MARKER.finditer(s) for n in _expand(m.group(1)))

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
            bare = _MARKER.sub("", PLACEHOLDER.sub("", s)).strip().rstrip("*_ ")
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
