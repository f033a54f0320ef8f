"""Plain-text helpers that answers, reports, exports and the UI share, each written once.

- sentences: `split_sentences` (exact slices of the source), `normalize_space`;
- verbatim evidence: `find_verbatim` (a quote's exact span in a paper), `quotable` (a sentence that
  output cleaning would leave as it is, so it can be shown word for word);
- Markdown: `md_escape` (untrusted text rendered literally), `md_escape_cited` (the same, our own
  [n] markers kept);
- links: `safe_url` (http/https only);
- invisible characters: `strip_invisible` (bidi controls, zero-width characters);
- titles: `title_name` ("PIG: Physics-…" → "PIG") and `short_title` (a short label for a row).

Nothing here imports the rest of the product.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlparse


# --- sentences -------------------------------------------------------------------------------------
def normalize_space(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


# Tokens after which a period does not end a sentence (lower-cased, without the final period).
_ABBREVIATIONS = frozenset(
    """
    e.g i.e et al etc cf vs viz approx resp fig figs eq eqs ref refs sec secs tab no nos vol
    pp ch dr mr mrs ms prof st jr sr inc ltd co corp dept univ est min max avg std var
    """.split()
)
_BOUNDARY = re.compile(r"[.!?]+[\"')\]]*(?=\s+)")
_NEXT_START = re.compile(r"\s+([\"'(\[]?[A-Z0-9])")
_WORD_BEFORE = re.compile(r"([A-Za-z][A-Za-z.]*)$")


def _is_abbreviation(text_before: str) -> bool:
    m = _WORD_BEFORE.search(text_before)
    if not m:
        return False
    word = m.group(1).lower().rstrip(".")
    if word in _ABBREVIATIONS:
        return True
    # "et al." and initials ("J. Smith", "A.B. Jones")
    if word == "al" and text_before.lower().endswith("et al"):
        return True
    return bool(re.fullmatch(r"(?:[a-z]\.)*[a-z]", word)) and len(m.group(1)) <= 4 and m.group(1)[0].isupper()


def split_sentences(text: str) -> list[str]:
    """Sentences of `text` in order, each an exact slice of it (surrounding whitespace dropped).

    Paragraph breaks always end a sentence; ". " followed by a capital or digit ends one unless the
    word before the period is a known abbreviation ("e.g.", "et al.", "Fig.") or an initial.
    Decimals ("3.5") and lower-case continuations never split.
    """
    out: list[str] = []
    for para_start, para_end in _paragraph_spans(text):
        start = para_start
        for m in _BOUNDARY.finditer(text, para_start, para_end):
            end = m.end()
            nxt = _NEXT_START.match(text, end, para_end)
            if not nxt:
                continue
            if text[m.start()] == "." and _is_abbreviation(text[start : m.start()]):
                continue
            piece = text[start:end].strip()
            if piece:
                out.append(piece)
            start = nxt.start(1)
        piece = text[start:para_end].strip()
        if piece:
            out.append(piece)
    return out


def _paragraph_spans(text: str) -> Iterable[tuple[int, int]]:
    pos = 0
    for m in re.finditer(r"\n\s*\n", text):
        yield pos, m.start()
        pos = m.end()
    yield pos, len(text)


# --- verbatim evidence -----------------------------------------------------------------------------
# What output cleaning (citations.clean_output) would alter, so a sentence holding it could no longer
# be shown verbatim: links (bare, or Markdown's `[..](..)` whatever its URL looks like), the start of
# a tag, and "[12]"-style references of a paper's own bibliography (they would read as citations of ours).
_UNQUOTABLE = re.compile(
    r"https?://|www\.|\]\s*\(|<[A-Za-z/!]|\[\s*\d+(?:\s*[,–-]\s*\d+)*\s*\]", re.IGNORECASE
)


def quotable(sentence: str) -> bool:
    """Can this sentence be shown word for word as evidence (no link, tag or numeric reference)?

    The one rule for answers and reports; reports add a word range and an exact cleaning check
    (assistant.reports.sources.report_sentence).
    """
    return not _UNQUOTABLE.search(sentence)


_ELISION = re.compile(r"\s*(?:\[\s*(?:\.\s*){3}\]|\(\s*(?:\.\s*){3}\)|(?:\.\s*){3,}|…)\s*")
_MIN_QUOTE = 8  # characters: shorter quotes (or elided parts) support nothing
_MIN_PART = 4
_MAX_GAP = 300  # characters an elision may leave out: a quote stays within one passage


def _normalized_index(text: str) -> tuple[str, list[int]]:
    """`text` with each whitespace run as one space, and each character's place in `text`."""
    chars: list[str] = []
    index: list[int] = []
    in_space = False
    for i, ch in enumerate(text):
        if ch.isspace():
            if not in_space and chars:
                chars.append(" ")
                index.append(i)
            in_space = True
        else:
            chars.append(ch)
            index.append(i)
            in_space = False
    return "".join(chars), index


def _find_part(part: str, norm: str, start: int) -> int:
    """Where `part` first occurs in `norm` from `start`, its first letter in either case."""
    variants = {part, part[:1].lower() + part[1:], part[:1].upper() + part[1:]}
    found = [pos for pos in (norm.find(v, start) for v in variants) if pos >= 0]
    return min(found) if found else -1


def find_verbatim(quote: str, text: str) -> str | None:
    """The exact span of `text` that `quote` matches, or None.

    Forgiven: whitespace, surrounding quotation marks, the case of a first letter (a clause quoted
    as a sentence), and elisions ("...", "…", "[...]"): every part around one must be verbatim in
    `text`, in order, within one passage; the span returned runs from the first part to the last,
    the paper's own words between included. Nothing else is forgiven.
    """
    q = normalize_space(quote).strip("\"'“”‘’ ")
    if len(q) < _MIN_QUOTE:
        return None
    norm, index = _normalized_index(text)
    parts = [p.strip("\"'“”‘’ ,;") for p in _ELISION.split(q)]
    parts = [p for p in parts if p]
    if not parts or any(len(p) < _MIN_PART for p in parts) or sum(len(p) for p in parts) < _MIN_QUOTE:
        return None
    first = _find_part(parts[0], norm, 0)
    while first >= 0:
        end, ok = first + len(parts[0]), True
        for part in parts[1:]:
            pos = _find_part(part, norm, end)
            if pos < 0 or pos - end > _MAX_GAP:
                ok = False
                break
            end = pos + len(part)
        if ok:
            return text[index[first] : index[end - 1] + 1]
        first = _find_part(parts[0], norm, first + 1)
    return None


# --- invisible characters --------------------------------------------------------------------------
# Bidi controls (U+202A-U+202E embeddings/overrides, U+2066-U+2069 isolates, LRM, RLM, ALM) reorder
# what a reader sees ("Invoice \u202egnp.exe" shows as "Invoice exe.png"), and zero-width characters
# (ZWSP, word joiner, invisible operators, BOM) hide text inside words. Neither belongs in a title, an
# author or an answer, so ingestion (assistant/library/ingestion.py `scrub`), the Markdown escaper and output
# cleaning remove them. ZWNJ and ZWJ (U+200C, U+200D) stay: Persian, Indic scripts and emoji need them.
INVISIBLE = "\u061c\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff"
_INVISIBLE = re.compile(f"[{INVISIBLE}]")


def strip_invisible(text: str) -> str:
    return _INVISIBLE.sub("", text)


# --- Markdown --------------------------------------------------------------------------------------
# CommonMark lets any ASCII punctuation be backslash-escaped; escaping all of it defeats links and
# images, HTML (`\<img`), entities (`\&`), LaTeX (`\$`), tables (`\|`) and Streamlit's
# `:color[...]` / `:material/…:` directives.
_MD_SPECIAL = re.compile(r"([!-/:-@\[-`{-~])")
_SPACE = re.compile(r"\s+")
# GFM turns bare URLs and e-mail addresses into links after parsing, escapes notwithstanding; a
# zero-width space after the scheme / before the "@" keeps them text.
_AUTOLINK = re.compile(r"(?i)\b(https?|ftp|www)(?=[:.])|(?=@)")
_ZWSP = "\u200b"
_OUR_MARKER = re.compile(r"\[\d+\]")


def _escape(one_line: str) -> str:
    # Invisible characters go first: the only zero-width space left is the one we put after a scheme.
    one_line = strip_invisible(one_line)
    return _MD_SPECIAL.sub(r"\\\1", _AUTOLINK.sub(lambda m: (m.group(1) or "") + _ZWSP, one_line))


def md_escape(text: str) -> str:
    """Text that renders literally inside Markdown (one paragraph: newlines become spaces)."""
    return _escape(_SPACE.sub(" ", text or "").strip())


def md_escape_cited(text: str) -> str:
    """Like md_escape, but our own [n] citation markers stay markers."""
    one = _SPACE.sub(" ", text or "").strip()
    pieces = _OUR_MARKER.split(one)
    out = [_escape(pieces[0])]
    for marker, piece in zip(_OUR_MARKER.findall(one), pieces[1:]):
        out += [marker, _escape(piece)]
    return "".join(out)


# --- links -----------------------------------------------------------------------------------------
_NOT_IN_URL = frozenset("<>\"'`")


def safe_url(url: str | None) -> str | None:
    """The URL if it is a plain http(s) link, else None (no javascript:, data:, file: …; nothing
    that could close the `<…>` or quotes it is written in)."""
    if not url:
        return None
    url = url.strip()
    if any(ch.isspace() or ord(ch) < 32 or ch in _NOT_IN_URL for ch in url):
        return None
    try:
        parsed = urlparse(url)
    except ValueError:
        return None
    if parsed.scheme.lower() not in ("http", "https") or not parsed.netloc:
        return None
    return url


# --- titles ----------------------------------------------------------------------------------------
def title_name(title: str, *, max_chars: int | None = 40, max_words: int | None = None) -> str:
    """The short name a title opens with: "PDE-Refiner: Achieving …" → "PDE-Refiner"; "" when the
    title has none (no colon, or the part before it is longer than `max_chars` / `max_words`)."""
    title = normalize_space(title)
    if ":" not in title:
        return ""
    head = title.split(":", 1)[0].strip()
    if not head or (max_chars is not None and len(head) > max_chars):
        return ""
    if max_words is not None and len(head.split()) > max_words:
        return ""
    return head


def short_title(title: str, limit: int = 60) -> str:
    """A title as a short label: its name ("PDE-Refiner"), else the title, cut at a word past `limit`."""
    name = title_name(title)
    if name:
        return name
    title = normalize_space(title)
    if len(title) <= limit:
        return title
    return title[:limit].rsplit(" ", 1)[0].rstrip(",;:-") + "…"
