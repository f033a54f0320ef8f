"""A comparison from start to end: which papers, their sentences, then the LLM table or the offline one.

The chat model comes from the caller as an `LLMSource` (assistant.llm.fallback): this module never
builds one, and "LLM, else the extractive table with the reason" is assistant.llm.fallback's policy.
"""

from __future__ import annotations

from collections.abc import Sequence

from assistant.answers.verify import Verifier
from assistant.errors import PapersError
from assistant.index.embeddings import Embedder
from assistant.library.library import Library
from assistant.llm.client import ChatModel
from assistant.llm.fallback import LLMSource, llm_or_extractive, no_llm
from assistant.models import Comparison, Paper
from assistant.reports.compare.aspects import parse_aspects
from assistant.reports.compare.extractive import extractive_cells, extractive_comparison
from assistant.reports.compare.llm import llm_comparison
from assistant.reports.sources import embed_sources, paper_sources
from assistant.retrieval.retrieve import Retriever, above_bar
from assistant.settings import Settings


def compare(
    papers: Sequence[Paper],
    library: Library,
    embedder: Embedder,
    settings: Settings,
    aspects: str | Sequence[str] | None = None,
    *,
    llm: LLMSource = no_llm,
) -> Comparison:
    """Papers × aspects. With a chat model, structured cells checked against the paper; offline, or
    when the model fails, the extractive table (flagged with the reason when it failed)."""
    names = parse_aspects(aspects)
    sources = paper_sources(library, papers)
    embed_sources(embedder, sources)

    def with_llm(model: ChatModel) -> Comparison:
        verifier = Verifier(settings, embedder, library.term_doc_freq, model)
        offline = lambda: extractive_cells(sources, names, embedder)  # noqa: E731
        return llm_comparison(sources, names, settings, model, offline, verifier)

    return llm_or_extractive(llm, with_llm, lambda: extractive_comparison(sources, names, embedder))


def select_papers(
    library: Library,
    *,
    paper_ids: Sequence[str] = (),
    query: str = "",
    max_papers: int = 5,
    retriever: Retriever | None = None,
) -> list[Paper]:
    """The papers to compare: named ids (in the order given) or the best hits for a query."""
    if paper_ids:
        ids = list(dict.fromkeys(paper_ids))
        found = {p.id: p for p in library.papers(ids)}
        missing = [i for i in ids if i not in found]
        if missing:
            raise PapersError(f"not in the library: {', '.join(missing)}")
        return [found[i] for i in ids]
    if not query.strip():
        raise PapersError("name papers with --paper ID or give --query")
    if retriever is None:
        raise ValueError("select_papers: a query needs a retriever")
    result = above_bar(retriever.search(query, k=max_papers), library.settings.relevance_bar)
    threshold = library.settings.abstain_threshold
    hits = [h for h in result.hits if h.dense_score >= threshold]
    if result.best_dense < threshold or not hits:
        raise PapersError(f"the library has no papers on {query!r}")
    return [h.paper for h in hits]
