"""Where a chunk's text lies in its PDF: the page it starts on, and the characters of a page it covers.

Text extracted from a PDF never reads exactly like a chunk made from it: the chunk's lines were
joined and de-hyphenated, page numbers dropped, ligatures kept or split, another extractor may space
words differently. So both sides are *folded* first (NFKD, lower case, letters and digits only) and
matched on that: "ﬁne-\\ntuned" and "fine-tuned" both fold to "finetuned". Matching is anchored (the
first characters of the chunk found verbatim) and then walks both texts, re-anchoring past what only
the page has (a running header, a page number, a footnote mark).

Pure functions of text: assigning pages at ingest (from the page texts the PDF reader gave) and the
highlight of a page at view time (ingest/pdf_pages.py, from PDFium's characters) share them.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Sequence

from assistant.models import PaperHit
from assistant.text import fold

ANCHOR = 32  # folded characters that place a chunk: long enough to be unique on a page
RESYNC = 16  # folded characters that pick the walk up again after a mismatch
SKIP = 600  # folded page characters a walk may jump over (a header, a footnote, a figure caption)
_ALNUM = re.compile(r"[^\W_]+")  # what str.isalnum() accepts


def folded(text: str) -> str:
    """`fold(text)[0]` without the index map, five times faster: for placing chunks at ingest."""
    return "".join(_ALNUM.findall(unicodedata.normalize("NFKD", text).lower()))


def _probes(folded: str) -> list[int]:
    """Offsets in a folded chunk to place it from: its start, then further in (its start may sit on
    the page before, or read differently there)."""
    if len(folded) <= ANCHOR:
        return [0] if folded else []
    return list(range(0, len(folded) - ANCHOR + 1, ANCHOR))[:8]


def assign_pages(chunks: Sequence[str], page_texts: Sequence[str]) -> list[int | None]:
    """The 1-based page each chunk starts on (None where its text is not found in any page)."""
    folded_pages = [folded(t) for t in page_texts]
    starts: list[int] = []
    total = 0
    for f in folded_pages:
        starts.append(total)
        total += len(f)
    book = "".join(folded_pages)
    out: list[int | None] = []
    cursor = 0  # chunks come in reading order: look after the last one first (repeated phrases)
    for chunk in chunks:
        letters = folded(chunk)
        found = None
        for offset in _probes(letters):
            probe = letters[offset : offset + ANCHOR]
            at = book.find(probe, cursor)
            if at < 0:
                at = book.find(probe)
            if at >= 0:
                found = max(0, at - offset) if offset else at
                break
        if found is None:
            out.append(None)
            continue
        cursor = found
        out.append(bisect.bisect_right(starts, found))
    return out


def matched_positions(chunk: str, page_text: str) -> list[int]:
    """Indexes into `page_text` of the characters that `chunk`'s text covers on this page, in order.

    Empty when the chunk is not on the page. A chunk that starts on the page before is picked up
    where its text reaches this page; one that runs on to the next page ends at this page's end.
    """
    a, _ = fold(chunk)
    b, where = fold(page_text)
    if not a or not b:
        return []
    for offset in _probes(a):
        probe = a[offset : offset + ANCHOR]
        starts: list[int] = []
        at = b.find(probe)
        while at >= 0 and len(starts) < 20:
            starts.append(at)
            at = b.find(probe, at + 1)
        if starts:
            # A phrase can recur (the abstract's opening in the introduction): keep the longest walk,
            # of those the most compact (a walk that jumped from one occurrence to the next spans more).
            walks = [_walk(a, b, where, offset, j) for j in starts]
            return max(walks, key=lambda w: (len(w), -(w[-1] - w[0]) if w else 0))
    return []


def _walk(a: str, b: str, where: list[int], i: int, j: int) -> list[int]:
    """Page indexes of a[i:] walked along b[j:], re-anchoring after mismatches."""
    hits: list[int] = []
    while i < len(a) and j < len(b):
        if a[i] == b[j]:
            if not hits or hits[-1] != where[j]:  # a ligature is several folded letters of one character
                hits.append(where[j])
            i += 1
            j += 1
            continue
        step = _resync(a, b, i, j)
        if step is None:
            break
        i, j = step
    return hits


def _resync(a: str, b: str, i: int, j: int) -> tuple[int, int] | None:
    """After a mismatch at a[i] / b[j]: the next place both continue together, or None."""
    for skip_a in (0, 1, 2, 4, 8, RESYNC, 2 * RESYNC, 4 * RESYNC):
        probe = a[i + skip_a : i + skip_a + RESYNC]
        if len(probe) < min(RESYNC, len(a) - i):
            break
        at = b.find(probe, j, j + SKIP + len(probe))
        if at >= 0:
            return i + skip_a, at
    return None


def runs(positions: Sequence[int], text: str) -> list[tuple[int, int]]:
    """Positions as [start, end) runs of `text`; a gap of only spaces and punctuation joins two runs."""
    out: list[tuple[int, int]] = []
    for p in positions:
        if out and not any(ch.isalnum() for ch in text[out[-1][1] : p]):
            out[-1] = (out[-1][0], p + 1)
        else:
            out.append((p, p + 1))
    return out


def page_number(value: object) -> int | None:
    """A stored page (Chroma metadata) as a 1-based page number; None for a chunk without one."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value) if value >= 1 else None


def page_of(hit: PaperHit, chunk_id: str) -> int | None:
    """The page of one of a hit's evidence chunks."""
    return next((e.page for e in hit.evidence if e.chunk_id == chunk_id), None)
