"""Cited answers: retrieve → abstain or answer (LLM or extractive) → check citations → clean.

`Answerer.stream()` yields answer text as it is produced and ends with the structured `Answer`, which
is authoritative: its text is the validated, cleaned version. When the LLM fails mid-answer the final
Answer is the extractive one (with `fallback_reason`), so a consumer that already showed LLM text
re-renders from the Answer.

An LLM reply goes through the one reply cleaner (assistant/llm/reply.py: reasoning, citation styles, code
and maths kept) and then the verification core (assistant/answers/verify): a sentence without a valid source
is dropped, each cited sentence is judged against its passage and the one policy applied (partly
supported: marked; not found or contradicted: left out), as in comparisons and summaries, and
`Answer.notes` says how many; `Answer.sentences` holds every verdict. A reply mostly unsupported or
degenerate falls back to the extractive answer with the reason.
A reply cut at the token limit (`LLMTruncated`) ends at its last complete, cited sentence, flagged
`truncated`; with nothing cited left it falls back like any failure.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from assistant.answers.budget import fit_sources
from assistant.answers.chat import bounded_history, standalone_query
from assistant.answers.citations import (
    Source,
    cited_numbers,
    finalize,
    format_sources,
    number_sources,
    section_of,
    strip_markers,
)
from assistant.answers.extract import ScoredSentence, is_contrasting, rank_sentences, sentences_of_hits
from assistant.answers.support import with_support
from assistant.answers.verify import UnsupportedReply, Verifier, verbatim_check
from assistant.errors import LLMTruncated
from assistant.library.pages import page_of
from assistant.llm.client import ChatModel
from assistant.llm.fallback import LLMSource, no_llm, resolve_llm, stream_or_extractive
from assistant.llm.prompts import ANSWER_SYSTEM, SENTINEL, answer_user, messages_for
from assistant.llm.reply import ReasoningFilter, clean_reply, cut_to_complete
from assistant.models import Answer, Citation, PaperHit, SentenceCheck, Turn
from assistant.retrieval.answerable import unsupported
from assistant.retrieval.retrieve import Filters, Retriever, SearchResult, above_bar
from assistant.settings import Settings
from assistant.text import normalize_space

NOT_COVERED = "The library does not cover this question."

# How an LLM says "the sources do not answer this" when it ignores the sentinel instruction.
_NO_ANSWER = re.compile(
    r"^\W*(i'?m sorry,?\s*)?(but\s*)?(the|these)\s+(provided\s+)?(numbered\s+)?"
    r"(sources|documents|papers|context|excerpts)"
    r"\s+(do not|don't|does not|doesn't)\s+(contain|cover|answer|address|provide|mention|include|discuss)",
    re.IGNORECASE,
)


def _paper_prior(hits: Sequence[PaperHit]) -> dict[str, float]:
    return {h.paper.id: 1.0 / (1 + i) for i, h in enumerate(hits)}


class Answerer:
    """Cited answers over a retriever, with the LLM when the source gives one (else extractive).

    Holds no state of its own besides what it is given; thread-safe as its parts are.
    """

    def __init__(self, settings: Settings, retriever: Retriever, llm: LLMSource = no_llm) -> None:
        self.settings = settings
        self.retriever = retriever
        self.embedder = retriever.embedder
        self.llm = llm

    def verifier(self, llm: ChatModel | None = None) -> Verifier:
        """The verification core over this library's words (IDF) and embedder; with `llm`, its judge too."""
        return Verifier(self.settings, self.embedder, self.retriever.library.term_doc_freq, llm)

    def search(self, query: str, k: int | None = None, filters: Filters | None = None) -> SearchResult:
        return self.retriever.search(query, k or self.settings.top_k, filters)

    def abstains(self, result: SearchResult) -> bool:
        """The library is taken not to cover the question (see `abstain_reason`)."""
        return bool(self.abstain_reason(result))

    def abstain_reason(self, result: SearchResult) -> str:
        """Why the library is taken not to cover `result.query` ("" when it may): retrieval confidence
        below the floor, or evidence that does not speak to the question (assistant/retrieval/answerable.py)."""
        if not result.hits or result.best_dense < self.settings.abstain_threshold:
            return "no passage is close enough to the question"
        if not self.settings.answerability_check:
            return ""
        return unsupported(result.query, result.hits, self.retriever.library.term_doc_freq)

    def ask(self, question: str, history: Sequence[Turn] | None = None, filters: Filters | None = None) -> Answer:
        final: Answer | None = None
        for item in self.stream(question, history, filters):
            if isinstance(item, Answer):
                final = item
        assert final is not None
        return final

    def stream(
        self, question: str, history: Sequence[Turn] | None = None, filters: Filters | None = None
    ) -> Iterator[str | Answer]:
        """Text as it is produced, then the `Answer` with its support blocks attached."""
        for item in self._stream(question, history, filters):
            yield with_support(item) if isinstance(item, Answer) else item

    def _stream(
        self, question: str, history: Sequence[Turn] | None = None, filters: Filters | None = None
    ) -> Iterator[str | Answer]:
        question = question.strip()
        turns = bounded_history(list(history or []), self.settings.history_tokens)
        llm, setup_error = resolve_llm(self.llm)
        query = standalone_query(question, turns, llm)  # follow-ups stand alone; other languages → English
        result = above_bar(self.search(query, filters=filters), self.settings.relevance_bar)
        mode = "llm" if llm is not None else "extractive"
        base = {"question": question, "query": query, "model": llm.model if llm is not None else ""}
        reason = self.abstain_reason(result) if question else "empty question"
        if reason:
            yield NOT_COVERED
            notes = [f"Not answered: {reason}."]
            yield Answer(answer=NOT_COVERED, mode=mode, abstained=True, notes=notes, **base)  # type: ignore[arg-type]
            return
        yield from stream_or_extractive(
            llm,
            setup_error,
            lambda model: self._with_llm(model, question, result, turns, base),
            lambda why: self._extractive(question, result, base, why),
        )

    # -- LLM mode ---------------------------------------------------------------------------------
    def messages(self, question: str, sources: Sequence[Source], history: Sequence[Turn]) -> list[dict[str, str]]:
        # Earlier [n] referred to earlier sources; left in, they would invite wrong citations.
        turns = [(t.question, strip_markers(t.answer)) for t in history]
        return messages_for(ANSWER_SYSTEM, answer_user(format_sources(sources), question), turns)

    def _with_llm(
        self,
        llm: ChatModel,
        question: str,
        result: SearchResult,
        history: Sequence[Turn],
        base: dict[str, Any],
    ) -> Iterator[str | Answer]:
        context = getattr(llm, "context_tokens", None)  # the server's real context, when it says
        sources, cut = fit_sources(
            ANSWER_SYSTEM, number_sources(result.hits), question, history, self.settings, context
        )
        base = {**base, "notes": [*base.get("notes", []), cut]} if cut else base
        verifier = self.verifier(llm)
        raw = ""
        visible = ""  # the reply outside reasoning blocks, as far as it is known
        shown = ""  # what has been yielded: a prefix of the checked answer
        upto = 0
        hold = ReasoningFilter()
        cut_reason = ""
        # Only complete sentences are shown, each checked as if the reply ended there (reasoning
        # stripped, citations normalised, sentences without a valid source dropped): the first words
        # of a reply that cites nothing (one obeying an order planted in a paper, say) never stream.
        try:
            for token in llm.stream(self.messages(question, sources, history)):
                raw += token
                visible += hold.feed(token)
                end = _complete_upto(visible)
                if end > upto:
                    upto = end
                    # Offline verdicts while streaming (one embedding per new sentence); the LLM judge
                    # reads the whole answer once, and the final Answer is authoritative.
                    checked = verifier.reply(clean_reply(visible[:end]), sources, use_llm=False).text
                    piece, shown = _extend(shown, checked)
                    if piece:
                        yield piece
        except LLMTruncated as exc:  # other LLM failures take the one fallback path (the caller's)
            raw, cut_reason = max(raw, exc.partial or "", key=len), str(exc)
        text = clean_reply(cut_to_complete(raw) if cut_reason else raw)
        if text.startswith(SENTINEL) or (_NO_ANSWER.search(text) and not cited_numbers(text)):
            yield Answer(answer=NOT_COVERED, mode="llm", abstained=True, **base)
            return
        verified = verifier.reply(text, sources)
        rejected = verified.rejection(self.settings)
        if rejected:
            raise UnsupportedReply(rejected)
        if not verified.cited:
            # An answer that points to no source cannot be checked against the library.
            raise UnsupportedReply(cut_reason or "LLM reply cited no source")
        final = verified.text
        piece, shown = _extend(shown, final)
        if piece:
            yield piece
        notes = list(base.get("notes", [])) + verified.notes()
        if cut_reason:
            notes.append(
                f"The model stopped at its token limit (PAPERS_LLM_MAX_TOKENS={self.settings.llm_max_tokens}): "
                "the answer was cut back to its last complete, cited sentence."
            )
        yield Answer(
            answer=final,
            mode="llm",
            citations=[s.citation() for s in verified.cited],
            truncated=bool(cut_reason),
            sentences=verified.checks,
            **{**base, "notes": notes},
        )

    # -- extractive mode --------------------------------------------------------------------------
    def _extractive(
        self,
        question: str,
        result: SearchResult,
        base: dict[str, Any],
        fallback_reason: str | None,
    ) -> Iterator[str | Answer]:
        text, citations, checks = self.compose_extractive(result.query, result.hits, result.query_vec)
        if not citations:
            yield NOT_COVERED
            yield Answer(answer=NOT_COVERED, mode="extractive", abstained=True, fallback_reason=fallback_reason, **base)
            return
        yield from text.splitlines(keepends=True)
        yield Answer(
            answer=text,
            mode="extractive",
            fallback_reason=fallback_reason,
            citations=citations,
            sentences=checks,
            **{**base, "model": ""},
        )

    def compose_extractive(
        self, query: str, hits: Sequence[PaperHit], query_vec: np.ndarray | None = None
    ) -> tuple[str, list[Citation], list[SentenceCheck]]:
        """An answer from the papers' own sentences: a lead from the best paper, then supporting and
        contrasting sentences from other papers, each followed by its [n], and each sentence's check
        (`verbatim`: the paper's own words support it by construction).

        The lead may come from the best paper's two best chunks; other papers offer only their best
        chunk (sentence embedding is the cost of an offline answer)."""
        candidates = sentences_of_hits(hits[:1], chunks_per_paper=2) + sentences_of_hits(hits[1:], chunks_per_paper=1)
        if not candidates:
            return "", [], []
        qvec = query_vec if query_vec is not None else self.embedder.embed_query(query)
        prior = _paper_prior(hits)
        lead_pid = hits[0].paper.id
        lead_pool = [s for s in candidates if s.paper_id == lead_pid]
        others_pool = [s for s in candidates if s.paper_id != lead_pid]
        lead = rank_sentences(qvec, lead_pool, self.embedder, query=query, k=2, diversity=0.35, max_per_paper=2)
        if not lead:  # the best paper has no usable sentence (e.g. a title-only record)
            lead = rank_sentences(qvec, candidates, self.embedder, query=query, k=1, paper_prior=prior)
            lead_pid = lead[0].paper_id if lead else lead_pid
            others_pool = [s for s in candidates if s.paper_id != lead_pid]
        if not lead:
            return "", [], []
        first = lead[0]
        # A second lead sentence only when it is nearly as relevant as the first.
        lead = [first] + [s for s in lead[1:] if s.similarity >= max(0.3, 0.75 * first.similarity)]
        floor = max(0.3, 0.6 * first.similarity)
        others = rank_sentences(
            qvec, others_pool, self.embedder, query=query, k=3, diversity=0.3, max_per_paper=1, paper_prior=prior
        )
        others = [s for s in others if s.similarity >= floor]
        supporting = [s for s in others if not is_contrasting(s.text)]
        contrasting = [s for s in others if is_contrasting(s.text)]

        numbers: dict[str, int] = {}
        chunk_of: dict[str, str] = {}
        quoted: list[tuple[str, int]] = []

        def cite(s: ScoredSentence) -> str:
            if s.paper_id not in numbers:
                numbers[s.paper_id] = len(numbers) + 1
                chunk_of[s.paper_id] = s.sentence.chunk_id
            quoted.append((normalize_space(s.text), numbers[s.paper_id]))
            return f"{quoted[-1][0]} [{numbers[s.paper_id]}]"

        parts = [" ".join(cite(s) for s in lead)]
        if supporting:
            parts.append("Other papers in the library add:\n" + "\n".join(f"- {cite(s)}" for s in supporting))
        if contrasting:
            parts.append("In contrast, or as a caveat:\n" + "\n".join(f"- {cite(s)}" for s in contrasting))
        text = "\n\n".join(parts)

        by_id = {h.paper.id: h for h in hits}
        citations = []
        for pid, n in numbers.items():
            hit = by_id[pid]
            chunk_text = next((e.text for e in hit.evidence if e.chunk_id == chunk_of[pid]), hit.paper.abstract)
            cid = chunk_of[pid]
            citations.append(Source(n, hit.paper, chunk_text, cid, section_of(hit, cid), page_of(hit, cid)).citation())
        text, _ = finalize(text, [Source(c.n, by_id[c.id].paper, c.text) for c in citations])
        by_n = {c.n: Source(c.n, by_id[c.id].paper, c.text, section=c.section, page=c.page) for c in citations}
        return text, citations, [verbatim_check(q, by_n[n]) for q, n in quoted]


def _complete_upto(text: str) -> int:
    """Where the streamed text's last complete line or sentence ends (0: none yet)."""
    cut = max(text.rfind("\n"), *(text.rfind(p) for p in (". ", "! ", "? ")))
    return cut + 1 if cut >= 0 else 0


def _extend(shown: str, checked: str) -> tuple[str, str]:
    """The part of `checked` not yet shown, when it extends what was shown; else nothing (the final
    Answer, authoritative, replaces what was streamed)."""
    if len(checked) > len(shown) and checked.startswith(shown):
        return checked[len(shown) :], checked
    return "", shown
