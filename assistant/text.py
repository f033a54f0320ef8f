"""Plain-text helpers that answers, reports, exports and the UI share, each written once.

- sentences: `split_sentences` (exact slices of the source), `normalize_space`;
- verbatim evidence: `find_verbatim` (a quote's exact span in a paper), `quotable` (a sentence that
  output cleaning would leave as it is, so it can be shown word for word);
- Markdown: `md_escape` (untrusted text rendered literally), `md_escape_cited` (the same, our own
  [n] markers kept);
- links: `safe_url` (http/https only);
- invisible characters: `strip_invisible` (bidi controls, zero-width characters);
- titles: `title_name` ("PIG: Physics-…" → "PIG") and `short_title` (a short label for a row);
- citation markers: `CITATION_MARKER`, `marker_numbers` ("[1-3]" is 1, 2, 3), `cited_pieces` (the text
  each marker closes), read outside code and maths;
- output cleaning: `clean_output` (no images, raw HTML or links but the cited papers' own), what every
  model text goes through before a face shows it;
- folding: `fold` (letters and digits only, with where each came from), for matching a quote to a page.

It imports only the span protection (assistant/spans.py, a leaf): code and maths are never read as
markers nor cleaned.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from urllib.parse import urlparse

from assistant.spans import protect_spans


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


# -- the citation marker grammar (one parser: answers, reports and the citation view) ---------------
# [1], [1, 2], [1,2,3], [1-3] / [1–3]; a marker is never a markdown link's text ("[1](url)").
CITATION_MARKER = re.compile(r"\[(\s*\d+(?:\s*(?:,|-|–)\s*\d+)*\s*)\](?!\()")


def marker_numbers(spec: str) -> list[int]:
    """The source numbers inside a marker's brackets: "1, 3-5" is 1, 3, 4, 5."""
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
    for m in CITATION_MARKER.finditer(p.text):
        out.append((p.restore(p.text[last : m.start()]), marker_numbers(m.group(1))))
        last = m.end()
    return out


# -- output cleaning: what any model text goes through before it is shown
_MD_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)|!\[[^\]]*\]\[[^\]]*\]")
_MD_LINK = re.compile(r"\[([^\]]*)\]\(\s*<?([^)\s>]*)>?(?:\s+[\"'][^)]*[\"'])?\s*\)")
_REF_DEF = re.compile(r"^[ \t]*\[[^\]]+\]:[ \t]*<?(\S+?)>?(?:[ \t]+.*)?$", re.MULTILINE)
_OUT_AUTOLINK = re.compile(r"<((?:https?|ftp|mailto|javascript|data):[^>\s]*)>", re.IGNORECASE)
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
_HTML_TAG = re.compile(
    rf"</?\s*(?:(?:{_HTML_NAMES})\b|[A-Za-z][A-Za-z0-9]*-[A-Za-z0-9-]*)(?:[^<>]*)?/?>", re.IGNORECASE
)
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
        out = _OUT_AUTOLINK.sub(lambda m: m.group(1) if ok(m.group(1)) else "", out)
        out = _HTML_TAG.sub("", out)
    # A "<" that could still open a tag is escaped so no renderer makes one of it.
    out = re.sub(r"<(?=[A-Za-z/!?])", "&lt;", out)

    def link(m: re.Match[str]) -> str:
        label, url = m.group(1), m.group(2)
        if ok(url):
            return f"[{label}]({url})"
        # "[2](http://…)" is a citation marker dressed as a link: keep the marker.
        return f"[{label}]" if CITATION_MARKER.fullmatch(f"[{label}]") else label

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


# -- folding (the citation view and page placement compare text by its letters and digits) ---------
def fold(text: str) -> tuple[str, list[int]]:
    """(letters and digits of `text`, lower-cased and decomposed; the index in `text` of each)."""
    out: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(text):
        if ch.isascii():
            if ch.isalnum():
                out.append(ch.lower())
                where.append(i)
            continue
        for part in unicodedata.normalize("NFKD", ch):
            if part.isalnum():
                low = part.lower()
                out.append(low)
                where.extend([i] * len(low))
    return "".join(out), where
