"""Code and maths in text: the spans no rewrite may touch.

Fenced code, inline code, `$…$` and `$$…$$` (maths only when it is plain TeX, `plain_tex`: other maths is
prose) are hidden behind placeholders by `protect_spans` and put back by `Protected.restore`. The reply
cleaner (assistant/llm/reply.py), the citation grammar and the output cleaner (assistant/text.py) and
the checks of the verification core all read text through it: no citation is read inside code or maths,
nothing is escaped or cleaned inside them. A shared leaf (stdlib only), so every room may use it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

# --- code and maths: protected spans ---------------------------------------------------------------
# A span is replaced by OPEN + one private-use character (its index) + CLOSE: no digit, letter,
# bracket or space, so no citation or cleaning pattern can match inside or across it.
_OPEN_PH, _CLOSE_PH, _BASE = "\ue000", "\ue001", 0xE100
_MAX_SPANS = 0xF8FF - _BASE
PLACEHOLDER = re.compile("\ue000([\ue100-\uf8ff])\ue001")
_FENCE = re.compile(r"^([ \t]*)(`{3,}|~{3,})(.*)$")
_INLINE_CODE = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)")
_DISPLAY_MATH = re.compile(r"(?<![\\$])\$\$(?!\$)(.+?)(?<!\\)\$\$", re.DOTALL)
# Pandoc's rule: "$" opens before a non-space and closes after one, not followed by a digit ("$5 and $6").
_INLINE_MATH = re.compile(r"(?<![\\$\w])\$(?=[^\s$])((?:[^$\n\\]|\\.)+?)(?<=[^\s\\])\$(?![\d$])")
# A maths span is kept verbatim only when it is plain TeX (an allow-list): renderers that know no maths
# (markdown-it on the Chat page, a Markdown viewer opening a download) read its inside as Markdown and
# HTML, so anything there that could become a link, an image, a tag or an entity makes the span prose,
# cleaned like the rest. Plain TeX here: letters, digits, whitespace, backslash commands and the ASCII
# symbols maths uses (below), and non-ASCII letters and symbols (α, ≤, ∑); never a quote, a backtick,
# "@" or a control or format character (bidi overrides).
_MATH_ASCII = frozenset("\\{}^_+-*/=()[]|,.;:!'<>~%#&? \t\n\r")
_MATH_TRAPS = re.compile(
    r"<[A-Za-z/!?]"  # could open a tag (`$x<y$` is written `$x < y$` to stay maths)
    r"|&[#A-Za-z]"  # an entity: `https&#58;//` is a scheme to a renderer
    r"|//|www\.|[A-Za-z][A-Za-z0-9+.-]*:(?=\S)"  # a protocol-relative URL, a host, a scheme
    r"|\]\s*[(:]"  # a Markdown link `[..](..)` or a reference definition `[..]: ..`
    r"|\\(?:href|url|html\w*|includegraphics|class|style|data|cssId|unicode|mathtip|texttip|toggle)\b",
    re.IGNORECASE,
)


def plain_tex(content: str) -> bool:
    """Is this maths content plain TeX, safe to show verbatim in a renderer that knows no maths?"""
    for ch in content:
        if ch.isascii():
            if not (ch.isalnum() or ch in _MATH_ASCII):
                return False
        elif unicodedata.category(ch)[0] == "C":  # control, format (bidi, zero-width), private use
            return False
    return not _MATH_TRAPS.search(content)


@dataclass
class Protected:
    """Text with its code and maths spans replaced by placeholders; `restore` puts them back."""

    text: str
    spans: list[str] = field(default_factory=list)

    def restore(self, text: str) -> str:
        return PLACEHOLDER.sub(lambda m: self.spans[ord(m.group(1)) - _BASE], text)


def fenced_blocks(text: str) -> tuple[list[tuple[int, int]], int | None]:
    """(start, end) of each fenced code block, from its opening fence to its closing fence (an
    unclosed fence runs to the end, as Markdown has it), and where an unclosed one starts."""
    spans: list[tuple[int, int]] = []
    pos = 0
    opened: tuple[int, str] | None = None
    for line in text.splitlines(keepends=True):
        start, pos = pos, pos + len(line)
        body = line.rstrip("\r\n")
        m = _FENCE.match(body)
        if opened is None:
            if m and not (m.group(2)[0] == "`" and "`" in m.group(3)):
                opened = (start + len(m.group(1)), m.group(2))
        elif m and m.group(2)[0] == opened[1][0] and len(m.group(2)) >= len(opened[1]) and not m.group(3).strip():
            spans.append((opened[0], start + len(body)))
            opened = None
    if opened is not None:
        spans.append((opened[0], len(text.rstrip())))
    return spans, opened[0] if opened is not None else None


def protect_spans(text: str) -> Protected:
    """Hide fenced code, inline code and $…$ / $$…$$ maths behind placeholders."""
    text = text.replace(_OPEN_PH, "").replace(_CLOSE_PH, "")
    spans: list[str] = []

    def hide(span: str) -> str:
        if len(spans) >= _MAX_SPANS:
            return span
        spans.append(span)
        return f"{_OPEN_PH}{chr(_BASE + len(spans) - 1)}{_CLOSE_PH}"

    out = text
    for start, end in reversed(fenced_blocks(text)[0]):
        out = out[:start] + hide(text[start:end]) + out[end:]
    # Fences were hidden back to front; renumbering is not needed, placeholders carry their index.
    out = _INLINE_CODE.sub(lambda m: hide(m.group(0)), out)

    def math(m: re.Match[str]) -> str:
        return hide(m.group(0)) if plain_tex(m.group(1)) else m.group(0)  # placeholders are private use: no

    out = _DISPLAY_MATH.sub(math, out)
    out = _INLINE_MATH.sub(math, out)
    return Protected(out, spans)
