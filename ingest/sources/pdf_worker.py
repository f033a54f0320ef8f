"""PDF bytes → title, abstract and sections. Runs as a script in a limited child process (see pdf.py).

Imports only the standard library and pypdf: the child starts in a tenth of a second, its memory
limit is spent on the PDF rather than on the application, and it never imports the package
(`python -P` keeps this directory, with its csv.py, off sys.path).
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import re
import sys
from typing import Any


class PdfProblem(Exception):
    """A PDF that cannot give text; the message is the user-facing reason."""


_KNOWN = {
    "abstract",
    "introduction",
    "related work",
    "related works",
    "background",
    "preliminaries",
    "method",
    "methods",
    "methodology",
    "approach",
    "our approach",
    "proposed method",
    "experiments",
    "experimental setup",
    "experimental results",
    "evaluation",
    "results",
    "results and discussion",
    "discussion",
    "analysis",
    "conclusion",
    "conclusions",
    "conclusion and future work",
    "conclusions and future work",
    "summary",
    "limitations",
    "future work",
    "acknowledgments",
    "acknowledgements",
    "acknowledgment",
    "acknowledgement",
    "references",
    "bibliography",
    "appendix",
    "supplementary material",
}
_DROPPED = {"references", "bibliography"}
_HEADING = re.compile(
    r"^(?:(?P<num>\d{1,2}(?:\.\d{1,2}){0,2})\.?\s+|(?P<roman>[IVX]{1,5})\.\s+)?"
    r"(?P<title>[A-Za-z][A-Za-z0-9 ,:&()'/\-]{1,80}?)\s*$"
)
_INLINE_ABSTRACT = re.compile(r"^\s*abstract\s*[.:\u2014\u2013-]\s*(?P<rest>\S.*)$", re.IGNORECASE)
_DOI = re.compile(r"\b(10\.\d{4,9}/[-._;()/:A-Za-z0-9]+)")
_ARXIV = re.compile(
    r"(?:arxiv:\s*|arxiv\.org/(?:abs|pdf)/)(\d{4}\.\d{4,5}|[a-z][a-z\-]*(?:\.[A-Z]{2})?/\d{7})(v\d+)?", re.IGNORECASE
)
_NOT_TITLE = re.compile(
    r"^(arxiv:|preprint|published as|under review|accepted (at|to|for)|proceedings|workshop|page \d|\d+$)",
    re.IGNORECASE,
)
_JOINERS = ("-", ":", " and", " of", " for", " the", " with", " in", " on", " to", " via", " a", " an")
_ABSTRACT_FALLBACK_CHARS = 1500
_MIN_FRONT_ABSTRACT = 400


def _clean(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\x00", " ")).strip()


def join_lines(lines: list[str]) -> str:
    """Visual lines → running text; a hyphen that breaks a word across lines is removed."""
    out = ""
    for raw in lines:
        line = raw.strip()
        if not line:
            continue
        if out.endswith("-") and line[:1].islower() and len(out) > 1 and out[-2].isalpha():
            out = out[:-1] + line
        else:
            out = f"{out} {line}" if out else line
    return _clean(out)


def _heading(line: str, last_top: int) -> tuple[str, int] | None:
    """(heading, top-level number) if the line looks like a section heading, else None.

    A numbered heading must continue the numbering seen so far: this keeps a wrapped body line
    that happens to start with a number ("2 The model ...") from splitting a section.
    """
    s = line.strip()
    if not s or len(s) > 90:
        return None
    m = _HEADING.match(s)
    if not m:
        return None
    title = m.group("title").strip()
    known = title.lower().rstrip(":") in _KNOWN
    if m.group("num"):
        top = int(m.group("num").split(".")[0])
        nested = "." in m.group("num")
        ok_seq = top == last_top if nested else top in (last_top + 1, last_top) and (top > 0 or known)
        if ok_seq and title[:1].isupper() and len(title.split()) <= 10 and not title.endswith("."):
            return f"{m.group('num')} {title}", top
        return None
    if m.group("roman"):
        if known or (title.isupper() and len(title.split()) <= 6):
            return f"{m.group('roman')}. {title}", last_top
        return None
    if known:
        return title.rstrip(":"), last_top
    return None


def split_sections(lines: list[str]) -> list[tuple[str, list[str]]]:
    """[(heading, lines)], the first with heading "" holding what precedes any heading."""
    sections: list[tuple[str, list[str]]] = [("", [])]
    last_top = 0
    for line in lines:
        inline = _INLINE_ABSTRACT.match(line)
        if inline and not any(h.lower() == "abstract" for h, _ in sections):
            sections.append(("Abstract", [inline.group("rest")]))
            continue
        found = _heading(line, last_top)
        if found:
            heading, last_top = found
            sections.append((heading, []))
        else:
            sections[-1][1].append(line)
    return sections


def _base_name(heading: str) -> str:
    return re.sub(r"^([\d.]+|[IVX]+\.)\s*", "", heading).lower()


def guess_title(lines: list[str]) -> tuple[str, int]:
    """The first heading-like lines of page one; returns (title, lines consumed)."""
    i = 0
    while i < len(lines) and (len(lines[i].strip()) < 4 or _NOT_TITLE.match(lines[i].strip())):
        i += 1
    if i >= len(lines):
        return "", 0
    title = lines[i].strip()
    if len(title) > 200:  # running text, not a heading
        return "", 0
    j = i + 1
    # Wrapped titles continue in lower case or after a dangling function word.
    while j < len(lines) and j < i + 3 and len(title) < 200:
        nxt = lines[j].strip()
        if not nxt or "@" in nxt or _NOT_TITLE.match(nxt) or _INLINE_ABSTRACT.match(nxt):
            break
        if nxt[:1].islower() or title.lower().endswith(_JOINERS):
            title = join_lines([title, nxt])
            j += 1
        else:
            break
    return _clean(title), j


def _first_paragraphs(text: str, limit: int = _ABSTRACT_FALLBACK_CHARS) -> tuple[str, str]:
    """(leading sentences up to about `limit` characters, the rest)."""
    if len(text) <= limit:
        return text, ""
    cut = text.rfind(". ", 0, limit)
    if cut < limit // 3:
        cut = text.find(". ", limit)
        if cut < 0:
            return text, ""
    return text[: cut + 1].strip(), text[cut + 1 :].strip()


def _meta_title(meta: Any) -> str:
    title = _clean(str(getattr(meta, "title", None) or "")) if meta else ""
    low = title.lower()
    if (
        len(title) < 4
        or low in ("untitled", "title", "paper")
        or low.endswith((".pdf", ".doc", ".docx", ".tex", ".dvi", ".ps"))
        or low.startswith("microsoft word")
    ):
        return ""
    return title


def _meta_authors(meta: Any) -> list[str]:
    raw = _clean(str(getattr(meta, "author", None) or "")) if meta else ""
    if not raw:
        return []
    return [a.strip() for a in re.split(r"\s*(?:;|,|\band\b)\s*", raw) if a.strip()]


# fmt: off
_PAGE_ERRORS: tuple[type[Exception], ...] = (
    ValueError, KeyError, TypeError, AttributeError, IndexError, AssertionError, ZeroDivisionError,
    NotImplementedError, OverflowError, RuntimeError,  # unknown filters, absurd numbers, deep nesting
)
# fmt: on


def parse_pdf(data: bytes, max_pages: int, max_chars: int) -> dict[str, Any]:
    """Title, abstract, sections and identifiers of one PDF; raises PdfProblem with the reason."""
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError, LimitReachedError, PyPdfError

    read_errors: tuple[type[Exception], ...] = (PyPdfError, *_PAGE_ERRORS)
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    if not data:
        raise PdfProblem("empty file (0 bytes)")
    if b"%PDF-" not in data[:1024]:
        raise PdfProblem("not a PDF file (no %PDF header)")
    if b"%%EOF" not in data[-2048:]:
        # pypdf can often limp through a cut-off file, but then silently drops pages; a partial
        # download should be fetched again rather than half-ingested.
        raise PdfProblem("truncated PDF (no %EOF marker at the end); the file is incomplete")
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            try:
                ok = reader.decrypt("")
            except DependencyError as exc:
                raise PdfProblem(f"encrypted PDF that cannot be decrypted here: {exc}") from exc
            if not ok:
                raise PdfProblem("encrypted PDF: it needs a password; save an unencrypted copy")
        n_pages = len(reader.pages)
        if n_pages == 0:
            raise PdfProblem("PDF has no pages")
        page_texts: list[str] = []
        layout: list[str] = []  # every page's text in page order, "" for an unreadable one: chunks' pages
        total = 0
        truncated = n_pages > max_pages
        for page in reader.pages[:max_pages]:
            # One damaged page (a broken font or content stream) costs that page, not the paper.
            try:
                text = page.extract_text() or ""
            except LimitReachedError:
                raise
            except read_errors:
                layout.append("")
                continue
            page_texts.append(text)
            layout.append(text)
            total += len(text)
            if total >= max_chars:
                truncated = True
                break
        if layout and not page_texts:  # every page read was unreadable
            raise PdfProblem(f"corrupt PDF: none of its {len(layout)} page(s) could be read")
        meta = reader.metadata
    except PdfProblem:
        raise
    except FileNotDecryptedError as exc:
        raise PdfProblem("encrypted PDF: it needs a password; save an unencrypted copy") from exc
    except LimitReachedError as exc:
        # pypdf also reports reference loops as a "limit": that file is corrupt, not a bomb.
        if re.search(r"loop|cyclic", str(exc), re.IGNORECASE):
            found = re.search(r"IndirectObject\((\d+), (\d+)", str(exc))
            which = f" (object {found.group(1)} {found.group(2)} R refers to itself)" if found else ""
            raise PdfProblem(f"corrupt PDF: circular object references{which}") from exc
        raise PdfProblem(f"PDF exceeded pypdf's decompression limit (a compression bomb?): {exc}") from exc
    except read_errors as exc:
        raise PdfProblem(f"corrupt PDF, cannot read it: {_clean(str(exc))[:200] or type(exc).__name__}") from exc
    if sum(len(t.strip()) for t in page_texts) < 20:
        raise PdfProblem(
            f"no extractable text in {n_pages} page(s): a scanned or image-only PDF (OCR is not supported)"
        )
    return {**structure(page_texts, meta, truncated, n_pages, max_chars), "page_texts": layout}


def structure(page_texts: list[str], meta: Any, truncated: bool, n_pages: int, max_chars: int) -> dict[str, Any]:
    first_page = page_texts[0] if page_texts else ""
    lines = [
        ln for ln in "\n".join(page_texts).replace("\x00", " ").splitlines() if ln.strip() and not ln.strip().isdigit()
    ]
    sections = split_sections(lines)

    title = _meta_title(meta)
    preamble = sections[0][1]
    guessed, used = guess_title(preamble if preamble else lines)
    if not title:
        title = guessed
    if preamble and guessed:
        sections[0] = ("", preamble[used:])
    front_lines, ref_lines = sections[0][1][:60], []  # parsed into authors and references by pdf.py

    abstract = ""
    front = ""  # what precedes the first heading, title removed: authors, affiliations, maybe the abstract
    body: list[dict[str, str]] = []
    for heading, sec_lines in sections:
        text = join_lines(sec_lines)
        base = _base_name(heading)
        if not heading:
            front = text
        elif base in _DROPPED or not text:
            ref_lines += sec_lines if base in _DROPPED else []
        elif base == "abstract" and not abstract:
            abstract = text
        else:
            body.append({"heading": heading, "text": text})
    if not abstract:
        if not body:
            # No headings at all: the opening paragraphs are the abstract, the rest the body.
            abstract, rest = _first_paragraphs(front)
            body = [{"heading": "text", "text": rest}] if rest else []
        elif len(front) >= _MIN_FRONT_ABSTRACT:
            # An unlabelled abstract between the title and the first heading (author lines and all).
            abstract, rest = _first_paragraphs(front, 3 * _ABSTRACT_FALLBACK_CHARS)
            if rest:
                body.insert(0, {"heading": "text", "text": rest})
        else:
            # Front matter is only names: the first section's opening sentences stand in.
            abstract, rest = _first_paragraphs(body[0]["text"])
            if rest:
                body[0] = {"heading": body[0]["heading"], "text": rest}
            else:
                del body[0]

    doi_m = _DOI.search(first_page)
    doi = doi_m.group(1).rstrip(".,;)") if doi_m else ""
    arxiv_m = _ARXIV.search(first_page)
    arxiv_id = arxiv_m.group(1) if arxiv_m else ""
    year = None
    if arxiv_id and re.match(r"\d{4}\.", arxiv_id):
        year = 2000 + int(arxiv_id[:2])
    text_total = len(abstract) + sum(len(s["text"]) for s in body)
    if text_total > max_chars:
        keep = max_chars - len(abstract)
        trimmed = []
        for s in body:
            if keep <= 0:
                break
            trimmed.append({"heading": s["heading"], "text": s["text"][:keep]})
            keep -= len(s["text"])
        body = trimmed
        truncated = True
    return {
        "title": title,
        "abstract": abstract,
        "sections": body,
        "authors": _meta_authors(meta),
        "doi": doi,
        "arxiv_id": arxiv_id,
        "year": year,
        "pages": n_pages,
        "truncated": truncated,
        "front_lines": front_lines,
        "first_page": first_page[:4000],
        "ref_lines": ref_lines[:4000],
        "created": str(meta.get("/CreationDate", "") if meta else "")[:40],
    }


def _address_space_bytes() -> int:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _limit_memory(memory_mb: int) -> None:
    # Where rlimits are unavailable the parent's time limit still bounds this child.
    with contextlib.suppress(ImportError, ValueError, OSError):
        import resource

        # The budget comes on top of what the interpreter and pypdf already map: a bare Python's
        # address space differs by platform, the PDF's share should not.
        limit = _address_space_bytes() + memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def run(path: str, max_pages: int, max_chars: int, memory_mb: int) -> dict[str, Any]:
    """One {"kind": "ok" | "error" | "memory", "payload": ...} result; never raises."""
    import pypdf  # noqa: F401  loaded before the limit so only the PDF's own work counts against it

    _limit_memory(memory_mb)
    try:
        with open(path, "rb") as fh:
            data = fh.read()
        return {"kind": "ok", "payload": parse_pdf(data, max_pages, max_chars)}
    except PdfProblem as exc:
        return {"kind": "error", "payload": str(exc)}
    except MemoryError:
        return {"kind": "memory", "payload": ""}
    except RecursionError:
        return {"kind": "error", "payload": "corrupt PDF: its object structure nests too deeply"}
    except OSError as exc:
        return {"kind": "error", "payload": f"cannot read file: {exc.strerror or exc}"}
    except Exception as exc:  # the parent turns any failure into one LoadError; never a traceback
        return {"kind": "error", "payload": f"cannot read PDF: {type(exc).__name__}: {_clean(str(exc))[:200]}"}


def main(argv: list[str]) -> int:
    """`python -P pdf_worker.py PATH MAX_PAGES MAX_CHARS MEMORY_MB` → one JSON object on stdout."""
    result = run(argv[0], int(argv[1]), int(argv[2]), int(argv[3]))
    try:
        out = json.dumps(result, ensure_ascii=True)
    except MemoryError:
        out = json.dumps({"kind": "memory", "payload": ""})
    sys.stdout.write(out)
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
