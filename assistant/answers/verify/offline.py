"""The offline judge: does a passage say what a sentence says? Embeddings and words, no model call.

The passage is read sentence by sentence. Three measures, combined by a logistic model:

- `cos_best`: the sentence's embedding cosine to the passage's closest sentence (the bundled MiniLM);
- `lex_best`: the share of the sentence's terms, weighted by IDF over the library, that the passage's
  best-covering sentence holds (rare words count: "methadone" more than "patients");
- `lex_all`: the same share over the whole passage (a claim may draw on two of its sentences).

Weights were fitted once, with balanced classes, on the SciFact train claims (evidence, i.e. SUPPORT
or CONTRADICT, against NOT_ENOUGH_INFO) by `bench/fit_verifier.py`; bench/VERIFY.md has the
cross-validated AUC of every measure alone and of the combination. Then two agreement checks, which
only ever lower or turn a verdict:

- numbers: a figure in the sentence ("32%", "5-6 years") that the passage never gives caps the verdict
  at partly_supported;
- negation: evidence whose best sentence is negated where the sentence is not (or the reverse), or
  that says "decrease" where the sentence says "increase", is `contradicted`.

Pure computation over an `Embedder` and a document-frequency function; thread-safe.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from assistant.answers.extract import embed_sentences
from assistant.index.bm25 import tokenize
from assistant.index.embeddings import Embedder
from assistant.models import SentenceCheck, Verdict
from assistant.settings import Settings
from assistant.spans import PLACEHOLDER, protect_spans
from assistant.text import normalize_space, split_sentences


class Judge(Protocol):
    """What both judges offer: claims in, one check per claim out (assistant/answers/verify/llm_judge.py's
    `LLMJudge` and `OfflineJudge`)."""

    name: str

    def check_all(self, claims: Sequence[Claim]) -> list[SentenceCheck]: ...


DocFreq = Callable[[Sequence[str]], tuple[int, dict[str, int]]]
"""The library's chunk count and each term's chunk frequency (`Library.term_doc_freq`)."""

# Fitted by bench/fit_verifier.py on SciFact train claims (balanced classes, C=1); see bench/VERIFY.md.
WEIGHTS = {"cos_best": 2.51, "lex_best": 2.47, "lex_all": 3.5}
INTERCEPT = -4.11
MAX_SENTENCES = 80  # a passage is a chunk (about 500 tokens); a longer text is read up to here

# A sentence confidently in another language (an answer in French over English papers, told by the
# language identifier the question rewrite uses) cannot be compared word for word with the passage,
# nor by meaning with an English embedder (cross-lingual cosines measured 0.2-0.5 for true and false
# sentences alike).
OTHER_LANGUAGE = "written in another language than its passage: the offline judge cannot compare them"
_NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)?(?:\s?%)?")
_NEGATION = re.compile(
    r"\b(?:not|no|never|neither|nor|without|cannot|none|absence|absent|lack(?:s|ed|ing)?|fail(?:s|ed)?\s+to|"
    r"unable|unaffected|n't)\b|n't\b",
    re.IGNORECASE,
)
_UP = re.compile(r"\b(?:increas\w*|higher|rais\w*|elevat\w*|enhanc\w*|promot\w*|up-?regulat\w*|more likely)\b", re.I)
_DOWN = re.compile(
    r"\b(?:decreas\w*|lower\w*|reduc\w*|diminish\w*|inhibit\w*|suppress\w*|down-?regulat\w*|less likely)\b", re.I
)


@dataclass(frozen=True)
class Passage:
    """A cited source's text as the judge sees it, with where it is."""

    n: int
    text: str
    paper_id: str = ""
    page: int | None = None
    section: str = ""


@dataclass(frozen=True)
class Claim:
    """A sentence to check (its markers taken out) and the passages it cites."""

    text: str
    passages: tuple[Passage, ...]
    cites: tuple[int, ...] = ()
    part: str = ""


@dataclass(frozen=True)
class Features:
    cos_best: float
    lex_best: float
    lex_all: float
    quote: str  # the passage sentence that bears the claim out best

    def score(self) -> float:
        z = INTERCEPT + sum(WEIGHTS[k] * getattr(self, k) for k in WEIGHTS)
        return 1.0 / (1.0 + math.exp(-z))


def _uniform(terms: Sequence[str]) -> tuple[int, dict[str, int]]:
    return 0, {}


def _idf(n_docs: int, df: int) -> float:
    if n_docs <= 0:
        return 1.0  # no library to weigh words by: every word counts the same
    return math.log(1.0 + (n_docs - df + 0.5) / (df + 0.5))


def passage_sentences(text: str) -> list[str]:
    out = [s for s in split_sentences(text) if len(s.split()) >= 3]
    return out[:MAX_SENTENCES] or ([normalize_space(text)] if text.strip() else [])


def reads_english(text: str) -> bool:
    from assistant.answers.chat import is_english  # py3langid, loaded on first use

    return is_english(text)


def numbers_of(text: str) -> set[str]:
    return {re.sub(r"\s", "", m.group(0)).replace(",", ".") for m in _NUMBER.finditer(text)}


def negated(text: str) -> bool:
    return len(_NEGATION.findall(text)) % 2 == 1


def direction(text: str) -> int:
    up, down = bool(_UP.search(text)), bool(_DOWN.search(text))
    return int(up) - int(down)


class OfflineJudge:
    """Verdicts from embeddings and words (see the module)."""

    name = "offline"

    def __init__(self, settings: Settings, embedder: Embedder, doc_freq: DocFreq | None = None) -> None:
        self.settings = settings
        self.embedder = embedder
        self.doc_freq = doc_freq or _uniform

    def features(self, claim: str, passage: str, claim_vec: np.ndarray | None = None) -> Features:
        sents = passage_sentences(passage)
        terms = list(dict.fromkeys(tokenize(claim)))
        if not sents or not terms:
            return Features(0.0, 0.0, 0.0, "")
        n_docs, df = self.doc_freq(terms)
        weight = {t: _idf(n_docs, df.get(t, 0)) for t in terms}
        total = sum(weight.values()) or 1.0

        def coverage(text: str) -> float:
            have = set(tokenize(text))
            return sum(w for t, w in weight.items() if t in have) / total

        qv = claim_vec if claim_vec is not None else embed_sentences(self.embedder, [claim])[0]
        cos = embed_sentences(self.embedder, sents) @ np.asarray(qv, dtype=np.float32)
        lex = [coverage(s) for s in sents]
        best = int(np.argmax(cos + np.asarray(lex)))  # the quote: close in meaning and in words
        return Features(float(cos.max()), max(lex), coverage(" ".join(sents)), sents[best])

    def verdict(self, claim: str, f: Features) -> tuple[Verdict, str]:
        score = f.score()
        if score < self.settings.verify_evidence_threshold:
            return "not_found", ""
        if negated(claim) != negated(f.quote) or direction(claim) * direction(f.quote) < 0:
            return "contradicted", "the passage says the opposite (negation or direction differs)"
        if score < self.settings.verify_supported_threshold:
            return "partly_supported", ""
        return "supported", ""

    def check(self, claim: Claim) -> SentenceCheck:
        """The claim against each passage it cites; the passage that bears it out best decides. Its
        words are judged: code and maths in it are no claim (the passage would not spell them alike)."""
        text = normalize_space(claim.text)
        words = normalize_space(PLACEHOLDER.sub(" ", protect_spans(text).text)) or text
        if not claim.passages:
            return SentenceCheck(text=text, cites=list(claim.cites), verdict="not_found", part=claim.part)
        if not reads_english(words):
            p = claim.passages[0]
            return SentenceCheck(
                text=text, cites=list(claim.cites), verdict="not_found", source=p.n, paper_id=p.paper_id,
                page=p.page, section=p.section, part=claim.part, reason=OTHER_LANGUAGE,
            )
        qv = embed_sentences(self.embedder, [words])[0]
        best: tuple[float, Passage, Features] | None = None
        for p in claim.passages:
            f = self.features(words, p.text, qv)
            s = f.score()
            if best is None or s > best[0]:
                best = (s, p, f)
        assert best is not None
        score, p, f = best
        verdict, reason = self.verdict(words, f)
        missing = numbers_of(words) - numbers_of(p.text)
        if verdict == "supported" and missing:
            verdict, reason = "partly_supported", f"the passage does not give {', '.join(sorted(missing)[:3])}"
        return SentenceCheck(
            text=text,
            cites=list(claim.cites),
            verdict=verdict,
            score=round(score, 4),
            source=p.n,
            quote=f.quote,
            paper_id=p.paper_id,
            page=p.page,
            section=p.section,
            judge="offline",
            part=claim.part,
            reason=reason,
        )

    def check_all(self, claims: Sequence[Claim]) -> list[SentenceCheck]:
        return [self.check(c) for c in claims]
