"""Support per sentence, for the faces: a final answer split into its blocks and sentences, each
sentence with the verdict the verification core gave it (assistant/answers/verify, `Answer.sentences`).

Nothing is judged here: a sentence takes the `SentenceCheck` whose text it carries (its [n] markers and
the policy's "(partly supported)" mark taken out). `supported` shows its source; a
`partly_supported` one shows it too, marked "partly"; a cited sentence the core left out, or has no
verdict for, is "unsupported" and keeps the numbers it claimed (`claimed`). What can stand without a
source is a lead-in ("The steps are:"), a heading, code or maths: those are "neutral".

Layout is kept as blocks: paragraphs, list items (with their depth), headings, and code or table
blocks kept whole (no sentence of theirs is judged). Markers inside code and maths are no citations
(assistant/spans.py `protect_spans`, through `cited_numbers` / `strip_markers`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from assistant.answers.citations import cited_numbers, cited_sentences, strip_markers
from assistant.answers.verify.policy import MARK
from assistant.models import Answer, BlockKind, SentenceCheck, SentenceSupport, SupportBlock, SupportStatus
from assistant.text import clean_output, normalize_space, safe_url

_ITEM = re.compile(r"^([ \t]*)(?:[-*+]|(\d{1,3})[.)])[ \t]+")
_HEADING = re.compile(r"^[ \t]{0,3}(#{1,6})[ \t]+")
_FENCE = re.compile(r"^[ \t]*(```|~~~)")
_LETTER = re.compile(r"[^\W\d_]")


_MARK = re.compile(r"\s*" + re.escape(MARK))
Verdicts = Mapping[str, SentenceCheck]


def _key(text: str) -> str:
    return normalize_space(strip_markers(_MARK.sub("", text))).rstrip(" .").lower()


def verdicts_by_text(checks: Iterable[SentenceCheck]) -> dict[str, SentenceCheck]:
    return {_key(c.text): c for c in checks}


def judge(sentence: str, verdicts: Verdicts) -> SentenceSupport:
    """One sentence with the core's verdict (see the module)."""
    cited = tuple(cited_numbers(_MARK.sub("", sentence)))
    bare = strip_markers(_MARK.sub("", sentence)).strip()
    check = verdicts.get(_key(sentence))
    if check is not None and check.shown and check.verdict in ("supported", "partly_supported"):
        source = (check.source,) if check.source is not None else tuple(check.cites)
        status: SupportStatus = "supported" if check.verdict == "supported" else "partly"
        return SentenceSupport(bare, source, status, tuple(n for n in cited if n not in source), check)
    if not cited and (bare.rstrip("*_ ").endswith(":") or not _LETTER.search(bare)):
        return SentenceSupport(bare, (), "neutral")
    return SentenceSupport(bare, (), "unsupported", cited, check)


def _prose(kind: BlockKind, text: str, valid: Verdicts, **extra: int | bool) -> SupportBlock:
    sentences = [judge(s, valid) for s in cited_sentences(" ".join(text.split()))]
    return SupportBlock(kind, [s for s in sentences if s.text], **extra)  # type: ignore[arg-type]


def answer_support(text: str, checks: Iterable[SentenceCheck]) -> list[SupportBlock]:
    """The answer's blocks in order, every prose sentence with its verdict from `checks` (the core's,
    `Answer.sentences`)."""
    ok = verdicts_by_text(checks)
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


def with_support(answer: Answer) -> Answer:
    """The answer with its support blocks attached, from its cleaned text (only the cited papers' own
    links survive) and its sentences' verdicts: what every face shows, computed once, here."""
    allowed = [u for u in (safe_url(c.url) for c in answer.citations) if u]
    answer.blocks = answer_support(clean_output(answer.answer, allowed), answer.sentences)
    return answer
