"""A summary from start to end: which papers, their themes and sentences, then the LLM text or the
offline text, and references numbered in order of first citation.

The chat model comes from the caller as an `LLMSource` (assistant.llm.fallback): this module never
builds one, and "LLM, else the extractive summary with the reason" is assistant.llm.fallback's policy.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Literal

from assistant.answers.citations import Source, cited_numbers, cited_sentences, first_citation_order, renumber_markers
from assistant.answers.verify import Verifier, verbatim_check
from assistant.errors import PapersError
from assistant.index.embeddings import Embedder
from assistant.library.library import Library
from assistant.llm.client import ChatModel
from assistant.llm.fallback import LLMSource, llm_or_extractive, no_llm
from assistant.models import DEFAULT_MAX_PAPERS, Paper, Reference, SentenceCheck, Summary, SummarySection
from assistant.reports.sources import embed_sources, paper_sources
from assistant.reports.summary.extractive import PER_THEME, Sections, extractive_parts
from assistant.reports.summary.llm import llm_parts
from assistant.reports.summary.themes import build_themes, paper_vectors
from assistant.retrieval.retrieve import Retriever
from assistant.settings import Settings
from assistant.text import normalize_space

# Papers whose best passage is much weaker than the best paper's are off the topic for a summary,
# even when they clear the abstention threshold.
RELATIVE_CUTOFF = 0.6


def summary_papers(
    library: Library, retriever: Retriever, topic: str, max_papers: int | None, settings: Settings
) -> list[Paper]:
    """Best first: the papers on the topic (relevance-gated), or the whole library."""
    if not topic.strip():
        papers = library.papers()
        if not papers:
            raise PapersError("the library is empty: add papers with `papers ingest` first")
        return papers[:max_papers] if max_papers else papers
    result = retriever.search(topic, k=max_papers or DEFAULT_MAX_PAPERS)
    if not result.hits or result.best_dense < settings.abstain_threshold:
        raise PapersError(f"the library has no papers on {topic!r}")
    floor = max(settings.abstain_threshold, RELATIVE_CUTOFF * result.best_dense)
    return [h.paper for h in result.hits if h.dense_score >= floor] or [result.hits[0].paper]


def verbatim_checks(text: str, papers: Sequence[Paper], part: str) -> list[SentenceCheck]:
    """Extractive text is its papers' own sentences, each cited: supported by construction."""
    out = []
    for sentence in cited_sentences(text):
        numbers = [n for n in cited_numbers(sentence) if 1 <= n <= len(papers)]
        if numbers:
            out.append(verbatim_check(sentence, Source(numbers[0], papers[numbers[0] - 1], sentence), part))
    return out


def _renumbered(check: SentenceCheck, mapping: dict[int, int]) -> SentenceCheck:
    return check.model_copy(
        update={
            "cites": [mapping[n] for n in check.cites if n in mapping],
            "source": mapping.get(check.source) if check.source is not None else None,
        }
    )


def assemble(
    title: str,
    overview: str,
    sections: Sections,
    papers: Sequence[Paper],
    mode: Literal["llm", "extractive"],
    checks: Sequence[SentenceCheck] | None = None,
    offline_parts: Collection[str] = (),
    notes: Sequence[str] = (),
) -> Summary:
    """Renumber citations in reading order; references = exactly the papers cited. `checks`: the
    model-written parts' verdicts (local numbers); the other parts are extractive, checked verbatim."""
    texts = [overview] + [p for _, paras in sections for p in paras]
    order = [n for n in first_citation_order(texts) if 1 <= n <= len(papers)]
    mapping = {old: new for new, old in enumerate(order, start=1)}
    refs = []
    for old, new in mapping.items():
        p = papers[old - 1]
        refs.append(Reference(n=new, id=p.id, title=p.title, authors=list(p.authors), year=p.year, url=p.url))
    out_sections = [
        SummarySection(heading=h, paragraphs=[renumber_markers(p, mapping) for p in paras if p.strip()])
        for h, paras in sections
    ]
    judged = list(checks or [])
    if checks is None or "overview" in offline_parts:
        judged = verbatim_checks(overview, papers, "overview") + judged
    for heading, paras in sections:
        if checks is None or heading in offline_parts:
            judged += [c for p in paras for c in verbatim_checks(p, papers, heading)]
    return Summary(
        title=title,
        overview=renumber_markers(overview, mapping),
        sections=[s for s in out_sections if s.paragraphs],
        references=refs,
        mode=mode,
        sentences=[_renumbered(c, mapping) for c in judged],
        notes=list(notes),
    )


def default_title(topic: str, n_papers: int) -> str:
    return (
        f"Literature summary: {topic.strip()}"
        if topic.strip()
        else f"Literature summary of the library ({n_papers} papers)"
    )


def summarize(
    topic: str,
    library: Library,
    embedder: Embedder,
    settings: Settings,
    retriever: Retriever,
    *,
    max_papers: int | None = None,
    llm: LLMSource = no_llm,
) -> Summary:
    """A themed, cited summary of the papers on `topic` (the whole library when empty)."""
    topic = normalize_space(topic or "")
    papers = summary_papers(library, retriever, topic, max_papers, settings)
    vectors = paper_vectors(embedder, papers)
    themes = build_themes(papers, vectors, ranked=bool(topic))
    # Sentences only of the papers a paragraph may cite: a whole library stays cheap to summarise.
    wanted = sorted({i for th in themes for i in th.members[: PER_THEME + 2]} | set(range(min(3, len(papers)))))
    loaded = paper_sources(library, [papers[i] for i in wanted])
    embed_sources(embedder, loaded)
    sources = dict(zip(wanted, loaded))
    topic_vec = embedder.embed_query(topic) if topic else None
    overview, sections = extractive_parts(topic, papers, sources, themes, topic_vec)
    title = default_title(topic, len(papers))

    def with_llm(model: ChatModel) -> Summary:
        verifier = Verifier(settings, embedder, library.term_doc_freq, model)
        got = llm_parts(topic, papers, themes, (overview, sections), model, verifier)
        return assemble(
            got.title or title, got.overview, got.sections, papers, "llm", got.checks, got.offline_parts, got.notes
        )

    return llm_or_extractive(llm, with_llm, lambda: assemble(title, overview, sections, papers, "extractive"))
