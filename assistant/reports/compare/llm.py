"""The comparison table written by a chat model, every cell checked against its paper.

Each paper gets one structured-JSON request (text and quote per aspect), read leniently
(assistant.llm.structured); a cell survives only when its quote is found in the paper
(`find_verbatim`: verbatim, up to a first letter's case and elisions), otherwise it is "not
stated", never filled by guesswork. A row whose reply still cannot be read holds the paper's offline
(extractive) cells and says why in its `fallback_reason`; when no row can be read, the whole table
is the offline one. A reply cut at the token limit keeps the cells it completed, the rest offline.
Every model-written cell is judged against its own quote by the verification core (assistant/answers/verify):
one the quote does not bear out shows the quote instead. The synthesis keeps only sentences citing
table rows that the rows bear out (partly supported ones marked), and gives way to the offline
synthesis when none is left or the policy rejects it. LLM failures (LLMError) propagate: the caller
falls back to the offline table.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pydantic import BaseModel, ConfigDict

from assistant.answers.citations import Source, clean_output, format_sources, strip_markers
from assistant.answers.verify import Claim, Passage, Verifier
from assistant.llm.client import ChatModel
from assistant.llm.prompts import CELLS_SYSTEM, SYNTHESIS_SYSTEM, cells_user, messages_for, synthesis_user
from assistant.llm.structured import Parsed, ask_structured
from assistant.models import NOT_STATED, Cell, ComparedPaper, Comparison
from assistant.reports.compare.aspects import Aspect, aspect_for
from assistant.reports.compare.extractive import compared_papers, distinguishing_synthesis, synthesis_checks
from assistant.reports.prose import report_prose
from assistant.reports.sources import PaperSource, is_clean
from assistant.settings import Settings
from assistant.text import find_verbatim, normalize_space

SYNTHESIS_CHARS = 6000  # of each paper's text a synthesis sentence is judged against (abstract and more)


class CellReply(BaseModel):
    model_config = ConfigDict(extra="ignore")
    text: str | None = None
    quote: str | None = None


class PaperReply(BaseModel):
    """What the model returns for one paper: aspect → {text, quote} (or null)."""

    model_config = ConfigDict(extra="ignore")
    cells: dict[str, CellReply | None]


def _cells_prompt(src: PaperSource, aspects: Sequence[Aspect], max_chars: int) -> list[dict[str, str]]:
    body = src.text if len(src.text) <= max_chars else src.text[:max_chars]
    wanted = [(a.name, a.description) for a in aspects]
    return messages_for(CELLS_SYSTEM, cells_user(wanted, format_sources([Source(1, src.paper, body)])))


def checked_cells(reply: PaperReply | None, src: PaperSource, aspect_names: Sequence[str]) -> dict[str, Cell]:
    """Cells whose quote is found verbatim in the paper (the paper's own span is kept); a cell with
    no quote, or a quote the paper does not contain, is "not stated"."""
    cells: dict[str, Cell] = {}
    got = {k.strip().lower(): v for k, v in (reply.cells if reply else {}).items()}
    for name in aspect_names:
        item = got.get(name)
        if item is None or not (item.text or "").strip() or not (item.quote or "").strip():
            cells[name] = Cell()
            continue
        quote = find_verbatim(item.quote or "", src.text)
        # A quoted <img> or script is no evidence; a paper's own project URL may be quoted.
        quote = quote if quote is not None and is_clean(quote, bare_urls=True) else None
        text = normalize_space(strip_markers(clean_output(item.text or "", [])))
        if quote is None or not text:
            cells[name] = Cell()
            continue
        cells[name] = Cell(text=text, quote=quote)
    return cells


def _synthesis_prompt(sources: Sequence[PaperSource], rows: Sequence[dict[str, Cell]]) -> list[dict[str, str]]:
    numbered = []
    for n, (src, cells) in enumerate(zip(sources, rows), start=1):
        lines = [f"{name}: {c.text if c.text else NOT_STATED}" for name, c in cells.items()]
        numbered.append(Source(n, src.paper, "\n".join(lines)))
    return messages_for(SYNTHESIS_SYSTEM, synthesis_user(format_sources(numbered)))


OfflineRows = Callable[[], Sequence[dict[str, Cell]]]
"""The offline table's cells, per paper (computed on first need)."""


def _readable(parsed: Parsed[PaperReply], names: Sequence[str]) -> Parsed[PaperReply]:
    """A reply naming none of the aspects asked for (other keys, or none) is no row either."""
    if parsed.value is None or any(k.strip().lower() in names for k in parsed.value.cells):
        return parsed
    keys = ", ".join(repr(k) for k in list(parsed.value.cells)[:5]) or "none"
    return Parsed(None, problem=f"the model's reply names none of the aspects asked for (keys: {keys})")


def _row(parsed: Parsed[PaperReply], src: PaperSource, names: Sequence[str], offline: dict[str, Cell]) -> ComparedPaper:
    """One paper's row: the checked cells, or its offline cells with the reason."""
    paper = ComparedPaper(id=src.paper.id, title=src.paper.title, cells=offline)
    if parsed.value is None:
        paper.fallback_reason = f"{parsed.problem}; this row holds the offline extractive cells"
        return paper
    cells = checked_cells(parsed.value, src, names)
    if parsed.truncated:
        # The last cell the model began may be cut mid-quote; it and those never reached are offline.
        given = [k.strip().lower() for k in parsed.value.cells]
        unsure = {n for n in names if n not in given[:-1]}
        for name in unsure:
            cells[name] = offline[name]
        if unsure:
            paper.fallback_reason = (
                f"the reply was cut at the token limit (raise PAPERS_LLM_MAX_TOKENS); "
                f"offline cells for {', '.join(n for n in names if n in unsure)}"
            )
    paper.cells = cells
    return paper


def llm_comparison(
    sources: Sequence[PaperSource],
    aspect_names: Sequence[str],
    settings: Settings,
    llm: ChatModel,
    offline_rows: OfflineRows,
    verifier: Verifier,
) -> Comparison:
    """One request per paper for its row, one for the synthesis (two papers or more)."""
    aspects = [aspect_for(a) for a in aspect_names]
    # The paper text gets what the context window leaves after instructions and the reply.
    max_chars = max(2000, (settings.llm_context_window - settings.llm_max_tokens - 600) * 3)
    parsed = [
        _readable(ask_structured(llm, _cells_prompt(src, aspects, max_chars), PaperReply), aspect_names)
        for src in sources
    ]
    needs_offline = any(p.value is None or p.truncated for p in parsed)
    offline = list(offline_rows()) if needs_offline else [{} for _ in sources]
    papers = [_row(p, src, aspect_names, cells) for p, src, cells in zip(parsed, sources, offline)]
    if sources and all(p.value is None for p in parsed):
        # Not one row could be read: this is the offline table, and says so.
        offline_synthesis = distinguishing_synthesis(sources)
        return Comparison(
            aspects=list(aspect_names),
            papers=compared_papers(sources, offline),
            synthesis=offline_synthesis,
            mode="extractive",
            fallback_reason=parsed[0].problem,
            sentences=synthesis_checks(sources, offline_synthesis),
        )
    notes = verify_cells(papers, verifier)
    rows = [p.cells for p in papers]
    synthesis: str | None = None
    sentences = []
    if len(sources) >= 2:
        raw = report_prose(llm, _synthesis_prompt(sources, rows))
        # Judged against the papers themselves (the rows are drawn from them): only cited sentences
        # their papers bear out stay; a synthesis with none, or one the policy rejects, gives way to the
        # papers' own sentences.
        texts = [Source(n, s.paper, s.text[:SYNTHESIS_CHARS]) for n, s in enumerate(sources, 1)]
        verified = verifier.prose(raw, texts, [s.paper.url for s in sources if s.paper.url], part="synthesis")
        rejected = verified.rejection(verifier.settings)
        if verified.text and not rejected:
            synthesis, sentences = verified.text, verified.checks
            notes += verified.notes()
        else:
            if rejected:
                notes.append(f"The model's synthesis was not used: {rejected}.")
            synthesis = distinguishing_synthesis(sources)
            sentences = synthesis_checks(sources, synthesis)
    return Comparison(
        aspects=list(aspect_names), papers=papers, synthesis=synthesis, mode="llm", sentences=sentences, notes=notes
    )


def verify_cells(papers: Sequence[ComparedPaper], verifier: Verifier) -> list[str]:
    """Each model-written cell judged against its own verified quote. A cell its quote does not bear
    out shows the quote instead (the paper's words: supported by construction); the count is a note."""
    todo = [
        (paper, name, cell)
        for paper in papers
        for name, cell in paper.cells.items()
        if cell.text and cell.quote and cell.judge is None
    ]
    claims = [Claim(c.text or "", (Passage(1, c.quote or "", paper.id),), (1,), name) for paper, name, c in todo]
    replaced = 0
    for (paper, name, cell), check in zip(todo, verifier.check(claims)):
        if check.verdict in ("supported", "partly_supported"):
            judged = {"verdict": check.verdict, "score": check.score, "judge": check.judge}
            paper.cells[name] = cell.model_copy(update=judged)
            continue
        paper.cells[name] = Cell(text=cell.quote, quote=cell.quote, verdict="supported", score=1.0, judge="verbatim")
        replaced += 1
    if not replaced:
        return []
    cells = "cells' model text was" if replaced > 1 else "cell's model text was"
    return [f"{replaced} {cells} not borne out by its own quote: the quote is shown instead."]
