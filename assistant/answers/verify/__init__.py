"""The verification core: does the passage a sentence cites say what the sentence says?

One room, used wherever a sentence carries a citation (answers, streamed and chat answers, comparison
cells and syntheses, summary overviews and sections, and so every export and face):

- `offline.py`, the offline judge: the passage's sentences against the claim (embedding similarity,
  IDF-weighted word coverage, numeric and negation agreement) → a verdict, a 0-1 score, the best
  verbatim quote with its page and section;
- `llm_judge.py`, the LLM judge (when an LLM is configured): batched per answer, structured output,
  shown the offline quote as evidence; its verdict wins when its reply parses;
- `policy.py`, the one policy: what a verdict does to a sentence, and when a whole reply falls back.

Both judges take `Claim`s and return `SentenceCheck`s (assistant/models.py), so every face shows the
same verdict. Extractive text is the papers' own sentences: `verbatim` checks, supported by construction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from assistant.answers.citations import (
    Decide,
    Source,
    cited_numbers,
    clean_output,
    finalize_reply,
    keep_cited_sentences,
    strip_markers,
    validate_markers,
)
from assistant.answers.verify.llm_judge import LLMJudge
from assistant.answers.verify.offline import Claim, DocFreq, Judge, OfflineJudge, Passage
from assistant.answers.verify.policy import MARK, UnsupportedReply, degenerate, left_out_note, marked, rejection, shown
from assistant.index.embeddings import Embedder
from assistant.llm.client import ChatModel
from assistant.models import SentenceCheck
from assistant.settings import Settings
from assistant.text import normalize_space

__all__ = [
    "MARK",
    "Claim",
    "Passage",
    "Verified",
    "Verifier",
    "UnsupportedReply",
    "degenerate",
    "left_out_note",
    "passage_of",
    "rejection",
    "verbatim_check",
]


def passage_of(source: Source) -> Passage:
    return Passage(source.n, source.text, source.paper.id, source.page, source.section)


def verbatim_check(text: str, source: Source, part: str = "") -> SentenceCheck:
    """An extractive sentence: the source's own words, supported by construction."""
    bare = normalize_space(strip_markers(text))
    return SentenceCheck(
        text=bare,
        cites=[source.n],
        verdict="supported",
        score=1.0,
        source=source.n,
        quote=bare,
        paper_id=source.paper.id,
        page=source.page,
        section=source.section,
        judge="verbatim",
        part=part,
    )


@dataclass
class Verified:
    """Model text after the citation check and the verification policy."""

    text: str
    checks: list[SentenceCheck] = field(default_factory=list)
    cited: list[Source] = field(default_factory=list)
    uncited: int = 0  # sentences dropped for citing no valid source

    def rejection(self, settings: Settings) -> str | None:
        return rejection(self.checks, settings)

    def notes(self) -> list[str]:
        out = []
        if self.uncited:
            were = "sentences without a source were" if self.uncited > 1 else "sentence without a source was"
            out.append(f"{self.uncited} {were} left out.")
        note = left_out_note(self.checks)
        return out + ([note] if note else [])


class Verifier:
    """Both judges behind one call: offline always, the LLM judge on top when a model is given."""

    def __init__(
        self, settings: Settings, embedder: Embedder, doc_freq: DocFreq | None = None, llm: ChatModel | None = None
    ) -> None:
        self.settings = settings
        self.offline = OfflineJudge(settings, embedder, doc_freq)
        self.judge: Judge = (
            LLMJudge(llm, self.offline, settings) if llm is not None and settings.verify_llm_judge else self.offline
        )

    def check(self, claims: Sequence[Claim], *, use_llm: bool = True) -> list[SentenceCheck]:
        """Each claim's check: the LLM judge's when a model is given (and `use_llm`), else the offline one."""
        return (self.judge if use_llm else self.offline).check_all(claims)

    # -- model text ---------------------------------------------------------------------------------
    def _decider(
        self, sentences: list[str], sources: Sequence[Source], part: str, use_llm: bool
    ) -> tuple[list[SentenceCheck], dict[str, str | None]]:
        by_n = {s.n: s for s in sources}
        claims = [
            Claim(
                strip_markers(s),
                tuple(passage_of(by_n[n]) for n in cited_numbers(s) if n in by_n),
                tuple(n for n in cited_numbers(s) if n in by_n),
                part,
            )
            for s in sentences
        ]
        checks = self.check(claims, use_llm=use_llm)
        for k, c in enumerate(checks):
            checks[k] = c.model_copy(update={"shown": shown(c)})
        decisions = {s: (marked(s, c) if shown(c) else None) for s, c in zip(sentences, checks)}
        return checks, decisions

    def reply(self, text: str, sources: Sequence[Source], *, part: str = "", use_llm: bool = True) -> Verified:
        """A cleaned reply (Markdown blocks kept): uncited sentences dropped, cited ones judged, the
        policy applied (partly supported marked, the rest left out)."""
        found: list[str] = []
        finalize_reply(text, sources, decide=_collect(found))
        found.reverse()  # the block pass reads from the end (a lead-in stands when what follows does)
        checks, decisions = self._decider(list(dict.fromkeys(found)), sources, part, use_llm)
        kept, cited, uncited = finalize_reply(text, sources, decide=decisions.get)
        return Verified(kept, _in_order(found, checks), cited, uncited)

    def prose(
        self, text: str, sources: Sequence[Source], allowed_urls: Sequence[str] = (), *, part: str = ""
    ) -> Verified:
        """Report prose (one paragraph): cited sentences judged, the policy applied."""
        valid = [s.n for s in sources]
        found: list[str] = []
        keep_cited_sentences(text, valid, allowed_urls, decide=_collect(found))
        checks, decisions = self._decider(list(dict.fromkeys(found)), sources, part, True)
        kept = keep_cited_sentences(text, valid, allowed_urls, decide=decisions.get)
        kept = validate_markers(clean_output(kept, allowed_urls), valid)
        by_n = {s.n: s for s in sources}
        return Verified(kept, _in_order(found, checks), [by_n[n] for n in cited_numbers(kept) if n in by_n])


def _collect(into: list[str]) -> Decide:
    """A first pass's `decide`: note each cited sentence, keep it."""

    def note(sentence: str) -> str:
        into.append(sentence)
        return sentence

    return note


def _in_order(found: Sequence[str], checks: Sequence[SentenceCheck]) -> list[SentenceCheck]:
    """One check per sentence occurrence, in reading order (a sentence said twice is judged once)."""
    by_text = dict(zip(dict.fromkeys(found), checks))
    return [by_text[s] for s in found if s in by_text]
