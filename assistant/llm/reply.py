"""The one reply cleaner: a model's raw reply, whole or streamed, turned into the content we show.

- Reasoning: `<think>…</think>` blocks (also `<thinking>`, `<reasoning>`, `<thought>`) are removed, and
  so is everything before a lone closing tag (DeepSeek-R1 distills start mid-thought because the chat
  template opened the block). `ReasoningFilter` does the same on a stream: text inside a block is held
  back until the block closes and never comes out; text at the start of a reply that reads like
  reasoning (first-person planning, "Okay, the user…") is held until the reply shows which it is.
  (`reasoning_content` / `reasoning` delta fields never reach us: llama-index yields content only.)
- Citations: `【1】`, `【2†source】`, `(Source 1)`, `[Source 1]`, `(Sources 1, 3)`, `^1`, `^[1]`, `[^1]`,
  `<sup>1</sup>` become `[n]`; footnote definitions (`[^1]: …`) and a "References:" / "Sources:" list
  are dropped, so a number that only appears there cites nothing.
- Code and maths: fenced code, inline code, `$…$` and `$$…$$` are left exactly as written;
  `protect_spans` hides them from every rewrite, here and in assistant/answers/citations.py (no citation is
  read inside them, nothing is escaped inside them). Maths only when it is plain TeX (`plain_tex`):
  other maths is prose. Indentation and nested lists are kept.

`clean_reply(text)` is the whole-reply entry point (answers, comparisons, summaries); checking which
sentences are cited is assistant/answers/citations.py's job.
"""

from __future__ import annotations

import re

from assistant.spans import fenced_blocks, protect_spans

# --- reasoning blocks ------------------------------------------------------------------------------
_TAG_NAMES = ("think", "thinking", "reasoning", "thought")
_TAGS = "|".join(_TAG_NAMES)
_OPEN_TAG = re.compile(rf"<\s*({_TAGS})\s*>", re.IGNORECASE)
_CLOSE_TAG = re.compile(rf"<\s*/\s*({_TAGS})\s*>", re.IGNORECASE)
_PARTIAL_TAG = re.compile(r"<\s*/?\s*([a-z]*)\s*$", re.IGNORECASE)
# How reasoning that was opened by the chat template reads: planning in the first person.
_REASONING_CUE = re.compile(
    r"^\W*(?:okay|ok|alright|all right|hmm+|so,|well,|wait)\b"
    r"|\b(?:the user (?:is|asks|asked|wants|wanted|needs|question)|let me|let's see|i need to|i should|"
    r"i'll|i will|i think|i must|i have to|i'm going to|we need to)\b",
    re.IGNORECASE,
)
_LEADING_BLANK = re.compile(r"\A(?:[ \t]*\n)+")


def strip_reasoning(text: str) -> str:
    """The reply without its reasoning: blocks removed, everything before a lone closing tag removed,
    an unclosed block removed to the end."""
    out = text
    close, opening = _CLOSE_TAG.search(out), _OPEN_TAG.search(out)
    if close and (opening is None or close.start() < opening.start()):
        out = out[close.end() :]  # started mid-thought: the template opened the block
    parts: list[str] = []
    pos = 0
    while True:
        opening = _OPEN_TAG.search(out, pos)
        if opening is None:
            parts.append(out[pos:])
            break
        parts.append(out[pos : opening.start()])
        close = _CLOSE_TAG.search(out, opening.end())
        if close is None:
            break  # never closed: the rest is reasoning
        pos = close.end()
    out = _CLOSE_TAG.sub("", "".join(parts))
    return _LEADING_BLANK.sub("", out).rstrip()


def _partial_tag_len(buf: str) -> int:
    """Length of a tail of `buf` that may be the start of a reasoning tag ("<thi", "</")."""
    lt = buf.rfind("<")
    if lt < 0 or len(buf) - lt > 16:
        return 0
    m = _PARTIAL_TAG.match(buf, lt)
    if m and any(name.startswith(m.group(1).lower()) for name in _TAG_NAMES):
        return len(buf) - lt
    return 0


class ReasoningFilter:
    """Streamed reply text in, the text outside reasoning out.

    `feed(chunk)` returns what may be shown now (possibly ""), `close()` what is left at the end.
    Nothing inside a reasoning block ever comes out. At the start of a reply, text is held until it
    is known not to be reasoning: a block opens (held until it closes), a lone closing tag arrives
    (everything before it dropped), or a first complete sentence that does not read like reasoning.
    A start that reads like reasoning is held until a closing tag or the end of the reply.
    """

    def __init__(self) -> None:
        self._buf = ""
        self._state = "start"  # start: not known yet · in: inside a block · out: answer text
        self._suspect = False
        self._emitted = False

    def feed(self, chunk: str) -> str:
        self._buf += chunk
        return self._drain(final=False)

    def close(self) -> str:
        return self._drain(final=True)

    def _emit(self, text: str) -> str:
        if not self._emitted:
            text = _LEADING_BLANK.sub("", text)
        self._emitted = self._emitted or bool(text)
        return text

    def _drain(self, final: bool) -> str:
        out: list[str] = []
        while True:
            if self._state == "start":
                if not self._undecided(final):
                    return "".join(out)
                continue
            if self._state == "in":
                close = _CLOSE_TAG.search(self._buf)
                if close is None:
                    self._buf = "" if final else self._buf[-24:]  # only what may start the closing tag
                    return "".join(out)
                self._buf, self._state = self._buf[close.end() :], "out"
                continue
            found = [m for m in (_OPEN_TAG.search(self._buf), _CLOSE_TAG.search(self._buf)) if m]
            if not found:
                keep = 0 if final else _partial_tag_len(self._buf)
                out.append(self._emit(self._buf[: len(self._buf) - keep]))
                self._buf = self._buf[len(self._buf) - keep :]
                return "".join(out)
            first = min(found, key=lambda m: m.start())
            out.append(self._emit(self._buf[: first.start()]))
            self._buf = self._buf[first.end() :]
            if _OPEN_TAG.fullmatch(first.group(0)):
                self._state = "in"  # a stray closing tag is just dropped

    def _undecided(self, final: bool) -> bool:
        """Decide the state of a reply's start; False while it must stay held."""
        head = self._buf.lstrip()
        opening = _OPEN_TAG.match(head)
        if opening:
            self._buf, self._state = head[opening.end() :], "in"
            return True
        close, anywhere = _CLOSE_TAG.search(self._buf), _OPEN_TAG.search(self._buf)
        if close and (anywhere is None or close.start() < anywhere.start()):
            self._buf, self._state = self._buf[close.end() :], "out"
            return True
        if final:
            self._state = "out"
            return True
        if not head or (_partial_tag_len(head) == len(head)):
            return False
        self._suspect = self._suspect or bool(_REASONING_CUE.search(head))
        if self._suspect or not re.search(r"[.!?:](?:\s)|\n", head):
            return False
        self._state = "out"
        return True


# --- citation styles ---------------------------------------------------------------------------------
_NUM = r"\d{1,3}"
_NUMS = rf"{_NUM}(?:\s*(?:[,;，、]|and|&|[-–]|to)\s*{_NUM})*"
_SRC_WORD = r"(?:sources?|src|refs?\.?|references?|docs?|documents?)\s*:?\s*#?"
_CJK = re.compile(rf"【\s*(?:{_SRC_WORD})?({_NUMS})\s*(?:[†:][^】]*)?】", re.IGNORECASE)
_BRACKETED_SOURCE = re.compile(
    rf"[(\[]\s*(?:see\s+)?({_SRC_WORD}{_NUMS}(?:\s*(?:[,;]|and|&)\s*(?:{_SRC_WORD})?{_NUMS})*)\s*[)\]]",
    re.IGNORECASE,
)
_BARE_SOURCE = re.compile(rf"\b(Sources?|sources?)\s+#?({_NUMS})\b(?![\])])")
_CARET_BRACKET = re.compile(rf"\^\[\s*({_NUMS})\s*\]")
_FOOTNOTE_REF = re.compile(rf"\[\^\s*({_NUM})\s*\](?!:)")
_CARET = re.compile(
    rf"(?:(?<=[A-Za-z]{{2}})|(?<=[.,;:!?)\]\"”’]))\^({_NUM}(?:\s*,\s*{_NUM})*)\^?(?!\w|\.\d)"
)
_SUP = re.compile(rf"<sup>\s*\[?\s*({_NUMS})\s*\]?\s*</sup>", re.IGNORECASE)
_DAGGER = re.compile(rf"\[\s*({_NUM})\s*†[^\]]*\]")
_DOUBLE = re.compile(rf"\[\[\s*({_NUM})\s*\]\]")
# A marker we made is wrapped in MARK … END until spacing is fixed.
_MARK, _END = "\ue002", "\ue003"


def _numbers(spec: str) -> list[int]:
    nums: list[int] = []
    for part in re.split(r"\s*(?:[,;，、]|and|&)\s*", re.sub(_SRC_WORD, "", spec, flags=re.IGNORECASE).strip()):
        rng = re.split(r"\s*(?:[-–]|to)\s*", part.strip())
        if len(rng) == 2 and rng[0].isdigit() and rng[1].isdigit() and 0 <= int(rng[1]) - int(rng[0]) < 50:
            nums.extend(range(int(rng[0]), int(rng[1]) + 1))
        elif part.strip().isdigit():
            nums.append(int(part))
    return list(dict.fromkeys(nums))


def _markers(spec: str) -> str:
    nums = _numbers(spec)
    return f"{_MARK}{''.join(f'[{n}]' for n in nums)}{_END}" if nums else ""


def normalize_citations(text: str) -> str:
    """Every citation style we know, as `[n]` (on text whose code and maths are protected)."""
    out = _CJK.sub(lambda m: _markers(m.group(1)), text)
    out = _BRACKETED_SOURCE.sub(lambda m: _markers(m.group(1)), out)
    out = _BARE_SOURCE.sub(lambda m: f"{m.group(1)} {_markers(m.group(2))}", out)
    out = _SUP.sub(lambda m: _markers(m.group(1)), out)
    out = _CARET_BRACKET.sub(lambda m: _markers(m.group(1)), out)
    out = _FOOTNOTE_REF.sub(lambda m: _markers(m.group(1)), out)
    out = _CARET.sub(lambda m: _markers(m.group(1)), out)
    out = _DAGGER.sub(lambda m: _markers(m.group(1)), out)
    out = _DOUBLE.sub(lambda m: _markers(m.group(1)), out)
    # "mesh.【1】 Next" → "mesh [1]. Next"; "mesh【1】" → "mesh [1]".
    out = re.sub(rf"(?<![.!?])([.!?,;:])[ \t]?{_MARK}([^{_END}]*){_END}", r" \2\1", out)
    out = re.sub(rf"(?<=[^\s(\[{_MARK}]){_MARK}", f" {_MARK}", out)
    return out.replace(_MARK, "").replace(_END, "")


# --- reference lists and footnote definitions ----------------------------------------------------
_FOOTNOTE_DEF = re.compile(r"^[ \t]*\[\^[^\]\n]+\]:.*(?:\n(?:[ \t]{2,}).*)*(?:\n|$)", re.MULTILINE)
_LIST_HEADING = re.compile(
    r"^[ \t]*(?:#{1,6}[ \t]*)?[*_]{0,2}[ \t]*(?:references|sources|citations|bibliography|works cited|"
    r"sources used|cited sources)[ \t]*:?[ \t]*[*_]{0,2}[ \t]*:?[ \t]*$",
    re.IGNORECASE,
)
_LIST_LINE = re.compile(
    r"^[ \t]*[*_]{0,2}(?:references|sources|citations)[*_]{0,2}[ \t]*:[*_]{0,2}[ \t]*"
    r"(?:(?:\[\^?\d{1,3}\]|【[^】]*】|\d{1,3})[ \t,;]*(?:and[ \t]+)?)+\.?[ \t]*$",
    re.IGNORECASE,
)
_ENTRY = re.compile(
    r"^[ \t]*(?:[-*+][ \t]+)?[*_]{0,2}(?:\[\^?\d{1,3}\]|\^\d{1,3}|【[^】]*】|\(?sources?[ \t]+\d{1,3}\)?|\d{1,3}[.):])",
    re.IGNORECASE,
)


def drop_reference_lists(text: str) -> str:
    """Remove footnote definitions and "References:" / "Sources:" lists (a heading followed by
    entries that start with a number), and one-line "Sources: [1], [3]"."""
    out = _FOOTNOTE_DEF.sub("", text)
    lines = out.split("\n")
    kept: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if _LIST_LINE.match(line):
            i += 1
            continue
        if _LIST_HEADING.match(line):
            j = i + 1
            entries = 0
            while j < len(lines) and (not lines[j].strip() or _ENTRY.match(lines[j]) or
                                      (entries and lines[j][:1] in " \t")):
                entries += bool(lines[j].strip())
                j += 1
            if entries or j >= len(lines):
                i = j
                continue
        kept.append(line)
        i += 1
    return "\n".join(kept)


_SENTENCE_END = re.compile(r"[.!?][\"')\]*_”’]*(?:[ \t]*(?:\[\d+\])+)?(?=\s|$)")


def cut_to_complete(text: str) -> str:
    """A reply cut at the token limit, back to what was finished: an unclosed code fence is dropped,
    and an unfinished last line keeps only its complete sentences."""
    unclosed = fenced_blocks(text)[1]
    if unclosed is not None:
        return text[:unclosed]
    if text.endswith("\n"):
        return text
    start = text.rfind("\n") + 1
    ends = list(_SENTENCE_END.finditer(text, start))
    return text[: ends[-1].end()] if ends else text[:start]


def clean_reply(text: str) -> str:
    """A raw model reply as content: no reasoning, citations as `[n]`, no reference list or footnote
    definitions; code and maths exactly as written; structure kept."""
    body = strip_reasoning(text)
    p = protect_spans(body)
    out = normalize_citations(drop_reference_lists(p.text))
    out = re.sub(r"[ \t]+\n", "\n", out)
    out = re.sub(r"\n{3,}", "\n\n", out)
    return _LEADING_BLANK.sub("", p.restore(out)).rstrip()
