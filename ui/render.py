"""Safe rendering helpers: paper text is shown as plain text, labels are Markdown-escaped, model
output goes through assistant.text's clean_output before Markdown, links are http(s) only. Code and maths in
model output are left as written (no escaping inside `$k<n$` or a code block), and so are indentation
and nested lists: Markdown renders them literally, never as HTML.

The escaper (`md_escape`) and the link check (`safe_url`) are assistant.text's, the same ones the
report exports use, so a downloaded file is as inert as the page.

Streamlit renders Markdown in labels (buttons, pills, expanders, metrics), including links and
images, so a title like `![x](http://attacker/?q=...)` would otherwise load an image. Nothing here
ever passes unsafe_allow_html (the citation view's page image and marked abstract, ui/passage.py, are
`st.html` built from numbers and `html.escape`d text).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import streamlit as st

from assistant.models import Citation, Paper, SentenceCheck
from assistant.text import clean_output, md_escape, safe_url

_SPACE = re.compile(r"\s+")


def short(text: str, limit: int = 80) -> str:
    """One line, at most `limit` characters (unescaped)."""
    one = _SPACE.sub(" ", text or "").strip()
    return one if len(one) <= limit else one[: limit - 1].rstrip() + "…"


def label(text: str, limit: int = 80) -> str:
    """A widget label built from untrusted text: shortened, then escaped."""
    return md_escape(short(text, limit))


def byline(authors: Iterable[str], year: int | None, limit: int = 4) -> str:
    names = [a for a in authors if a]
    who = ", ".join(names[:limit]) + (" et al." if len(names) > limit else "")
    parts = [p for p in (who, str(year) if year else "") if p]
    return " · ".join(parts)


def clean_markdown(text: str, allowed_urls: Iterable[str] = ()) -> str:
    """Model output made safe for st.markdown: no images, raw HTML or links outside allowed_urls."""
    return clean_output(text, {u for u in allowed_urls if safe_url(u)})


def model_markdown(text: str, allowed_urls: Iterable[str] = ()) -> None:
    """Render model (or extractive) output as Markdown, only after cleaning."""
    st.markdown(clean_markdown(text, allowed_urls))


def plain(text: str) -> None:
    """Paper text exactly as stored, never interpreted."""
    st.text(text)


def paper_header(title: str, authors: Iterable[str], year: int | None, url: str | None, key: str) -> None:
    """Title, byline and a link button; every piece escaped or validated."""
    st.markdown(f"**{md_escape(title)}**")
    line = byline(authors, year)
    if line:
        st.caption(md_escape(line))
    link = safe_url(url)
    if link:
        st.link_button("Open paper", link, icon=":material/open_in_new:", key=f"link-{key}")


def source_body(citation: Citation, key: str) -> None:
    """Inside a source expander: metadata, then the exact chunk text as plain text."""
    paper_header(citation.title, citation.authors, citation.year, citation.url, key)
    source_text(citation)


def source_text(citation: Citation) -> None:
    """The exact chunk text an answer used, as plain text, under its paper id, section and page."""
    where = f" · {md_escape(section_label(citation.section))}" if citation.section else ""
    where += f" · page {citation.page}" if citation.page else ""
    st.caption(f"Paper id: {md_escape(citation.id)}{where} · exact text used:")
    plain(citation.text)


def section_label(section: str) -> str:
    """A cited section as shown: "§3.2 Attention" (unescaped)."""
    return f"§{short(section, 100)}" if section.strip() else ""


def paper_row(p: Paper, chunks: int | None = None) -> dict[str, object]:
    return {
        "title": p.title,
        "authors": "; ".join(p.authors),
        "year": p.year,
        "source": source_name(p.source),
        "chunks": chunks,
        "id": p.id,
        "url": safe_url(p.url),
    }


def source_name(source: str) -> str:
    """Where a paper came from, short: the file name (no directory, no line) or `arXiv`."""
    if source.startswith("arxiv:"):
        return "arXiv"
    path = re.sub(r"(:\d+|#\d+)$", "", source.removeprefix("upload:"))
    return path.rsplit("/", 1)[-1] or "other"


def source_kind(source: str) -> str:
    """The kind of source: `arXiv` or the file type (jsonl, csv, bib, pdf)."""
    name = source_name(source)
    if name == "arXiv" or "." not in name:
        return name
    ext = name.rsplit(".", 1)[-1].lower()
    return {"bibtex": "bib", "ndjson": "jsonl", "json": "jsonl"}.get(ext, ext)


def conversation_markdown(turns: list[dict[str, object]]) -> str:
    """The chat as a Markdown document: each question, its answer, and that answer's references."""
    from assistant.models import Answer

    out = ["# Paper Assistant conversation", ""]
    for turn in turns:
        if turn.get("role") == "user":
            out += [f"## Q: {md_escape(str(turn.get('content', '')))}", ""]
            continue
        answer = turn.get("answer")
        if not isinstance(answer, Answer):
            continue
        urls = [c.url for c in answer.citations]
        out += [clean_markdown(answer.answer, urls), ""]
        mode = f"LLM ({answer.model})" if answer.mode == "llm" else "offline: extractive"
        note = f" — fell back: {answer.fallback_reason}" if answer.fallback_reason else ""
        out += [f"*Mode: {md_escape(mode)}{md_escape(note)}*", ""]
        out += [line for n in answer.notes for line in (f"*Note: {md_escape(n)}*", "")]
        if answer.abstained:
            out += ["*The library does not cover this question; nothing was cited.*", ""]
        if answer.citations:
            out += ["### References", ""]
            for c in answer.citations:
                meta = md_escape(byline(c.authors, c.year))
                link = safe_url(c.url)
                ref = f"[{c.n}] **{md_escape(c.title)}**" + (f". {meta}" if meta else "")
                ref += f", {md_escape(section_label(c.section))}" if c.section else ""
                ref += f". <{link.replace('<', '%3C').replace('>', '%3E')}>" if link else ""
                out += [ref, ""]
                quoted = "\n".join("> " + md_escape(line) if line.strip() else ">" for line in c.text.splitlines())
                out += [quoted, ""]
    return "\n".join(out).rstrip() + "\n"


def download_buttons(files: list[tuple[str, str, str, str, str]]) -> None:
    """Side-by-side downloads: (label, data, file name, mime type, widget key) each. `on_click="ignore"`
    keeps a download from re-running the page, which would drop the result being downloaded."""
    for col, (label, data, name, mime, key) in zip(st.columns(len(files)), files):
        col.download_button(
            label, data=data, file_name=name, mime=mime, icon=":material/download:", on_click="ignore", key=key
        )


def checked_sentences(checks: Sequence[SentenceCheck]) -> None:
    """The verification core's verdict for each cited sentence, with the quote that bears it out."""
    if not checks:
        return
    shown = sum(c.shown for c in checks)
    with st.expander(f"Checked sentences ({shown} shown of {len(checks)})", icon=":material/fact_check:"):
        for c in checks:
            cites = "".join(f"[{n}]" for n in c.cites)
            left = "" if c.shown else ", left out"
            verdict = c.verdict.replace("_", " ")
            st.markdown(f"**{verdict}** {cites} ({c.score:.2f}, {c.judge}{left}): {md_escape(c.text)}")
            if c.quote:
                plain(c.quote)
