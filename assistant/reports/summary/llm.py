"""The summary text written by a chat model: an outline, a paragraph per theme, an overview.

The themes come from the offline clustering; the model plans a title and a heading per theme (one
structured-JSON request, read leniently by assistant.llm.structured), writes each theme's paragraph
from its papers' abstracts, then the overview. Reasoning blocks never reach the text
(assistant.reports.prose), every sentence without a valid citation is dropped, and a part left
with none keeps its extractive text. LLM failures (LLMError) propagate: the caller falls back to
the offline summary.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

from assistant.answers.citations import Source, clean_output, format_sources, strip_markers
from assistant.answers.verify import UnsupportedReply, Verified, Verifier
from assistant.llm.client import ChatModel
from assistant.llm.prompts import (
    OUTLINE_SYSTEM,
    OVERVIEW_SYSTEM,
    SECTION_SYSTEM,
    messages_for,
    outline_user,
    overview_user,
    section_user,
    summary_about,
)
from assistant.llm.structured import chat_structured
from assistant.models import Paper, SentenceCheck
from assistant.reports.prose import report_prose
from assistant.reports.summary.extractive import Sections
from assistant.reports.summary.themes import Theme
from assistant.text import normalize_space

LLM_PER_THEME = 8  # papers of a theme shown to the LLM


class ThemePlan(BaseModel):
    model_config = ConfigDict(extra="ignore")
    heading: str
    focus: str = ""


class Outline(BaseModel):
    model_config = ConfigDict(extra="ignore")
    title: str
    themes: list[ThemePlan]


def _sources(papers: Sequence[Paper], indices: Sequence[int], chars: int = 1500) -> list[Source]:
    return [Source(i + 1, papers[i], normalize_space(papers[i].abstract)[:chars] or papers[i].title) for i in indices]


class LLMParts:
    """What the model wrote, checked: title, overview, sections (local citation numbers), the checks
    of the parts it wrote, which parts kept their extractive text, and notes."""

    def __init__(self) -> None:
        self.title: str | None = None
        self.overview = ""
        self.sections: Sections = []
        self.checks: list[SentenceCheck] = []
        self.offline_parts: set[str] = set()
        self.notes: list[str] = []


def _judged(verifier: Verifier, raw: str, sources: Sequence[Source], urls: Sequence[str], part: str) -> Verified:
    """One part's prose through the verification core; a degenerate part rejects the whole summary."""
    verified = verifier.prose(raw, sources, urls, part=part)
    rejected = verified.rejection(verifier.settings)
    if rejected and "repeats" in rejected:
        raise UnsupportedReply(f"{part}: {rejected}")
    if rejected:
        return Verified("", verified.checks, [], verified.uncited)
    return verified


def llm_parts(
    topic: str,
    papers: Sequence[Paper],
    themes: Sequence[Theme],
    fallback: tuple[str, Sections],
    llm: ChatModel,
    verifier: Verifier,
) -> LLMParts:
    """The model's title, overview and sections, local citation numbers, each part's cited sentences
    judged (assistant/answers/verify). A part the model leaves without a sentence its sources bear out (or
    mostly unsupported) keeps its extractive text; a degenerate part, or no part of the model's left,
    rejects the whole summary (`UnsupportedReply`: the caller falls back to the offline summary)."""
    out = LLMParts()
    shown = [th.members[:LLM_PER_THEME] for th in themes]  # prompts stay bounded for big themes
    about = summary_about(topic)
    everyone = [i for members in shown for i in members]
    groups = [[i + 1 for i in members] for members in shown]
    outline = chat_structured(
        llm, messages_for(OUTLINE_SYSTEM, outline_user(about, format_sources(_sources(papers, everyone, 400)), groups)),
        Outline,
    )
    title = _plain(outline.title, 120) if outline else None
    plans = list(outline.themes) if outline else []
    fb_overview, fb_sections = fallback
    sections = []
    for k, theme in enumerate(themes):
        plan = plans[k] if k < len(plans) else None
        heading = (_plain(plan.heading, 80) if plan else "") or theme.name
        focus = _plain(plan.focus, 300) if plan else ""
        valid = [i + 1 for i in shown[k]]
        sources = format_sources(_sources(papers, shown[k]))
        raw = report_prose(llm, messages_for(SECTION_SYSTEM, section_user(about, heading, focus, sources)))
        verified = _judged(verifier, raw, _sources(papers, shown[k]), _urls(papers, valid), heading)
        if verified.text:
            sections.append((heading, [verified.text]))
            out.checks += verified.checks
            out.notes += [f"{heading}: {n}" for n in verified.notes()]
        else:
            sections.append((heading, fb_sections[k][1]))
            out.offline_parts.add(heading)
    shown_all = format_sources(_sources(papers, everyone, 300))
    raw = report_prose(llm, messages_for(OVERVIEW_SYSTEM, overview_user(about, shown_all, sections)))
    numbers = [i + 1 for i in everyone]
    # Judged against the abstracts as the sections saw them, not the 300-character digest of the prompt.
    verified = _judged(verifier, raw, _sources(papers, everyone), _urls(papers, numbers), "overview")
    if verified.text:
        out.overview = verified.text
        out.checks = verified.checks + out.checks
        out.notes = [f"overview: {n}" for n in verified.notes()] + out.notes
    else:
        out.overview = fb_overview
        out.offline_parts.add("overview")
    if len(out.offline_parts) == len(themes) + 1:
        raise UnsupportedReply("no part of the model's summary is borne out by the sources it cites")
    if out.offline_parts:
        out.notes.append(f"Offline (extractive) text kept for: {', '.join(sorted(out.offline_parts))}.")
    out.title, out.sections = title, sections
    return out


def _urls(papers: Sequence[Paper], numbers: Sequence[int]) -> list[str]:
    return [papers[n - 1].url for n in numbers if papers[n - 1].url]


def _plain(text: str, limit: int) -> str:
    """A heading or title from the model: cleaned, one line, no markers, no Markdown syntax."""
    out = normalize_space(strip_markers(clean_output(text or "", [])))
    out = re.sub(r"[#*_`>\[\]]", "", out).strip(" .:-")
    return out[:limit].rstrip()
