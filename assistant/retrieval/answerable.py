"""Offline answerability: does the retrieved evidence actually speak to the question?

The dense-cosine floor (`abstain_threshold`) catches off-topic questions, but a near-domain question —
"How does BERT pretraining work?" over a library of other machine-learning papers — scores as high as
an answerable one (0.39 vs ≥ 0.40 on the dev set). What separates them is in the words: the question
names something the evidence never mentions, or shares almost none of its distinctive words with it.
Two checks, each a reason the user can read:

- a named thing in the question (an acronym such as BERT or PPO, a mixed-case name such as ResNet or
  word2vec, a capitalised name mid-sentence such as Adam or Planck) appears nowhere in the library and is
  not spelled out in the top passages (RL ↔ "reinforcement learning") nor, by the question's own
  definition, "Commelina yellow mottle virus (ComYMV)";
- the question's salient words (weighted by IDF over the library) are barely covered by the passages.

Measured and left out: an origin rule ("Which paper introduced X?" needs a title or a "we propose"
sentence carrying X's words). On the dev set it does not separate: answerable origin questions reach
0.14–0.29 of their terms in such a sentence, unanswerable ones 0.00–1.00 (bench/DEV_EVAL.md). Telling
"this paper uses X" from "this paper introduced X" needs a model that reads the passage (the LLM path).

Calibrated on the dev set's tune split (bench/DEV_EVAL.md, "Near-domain abstention"); the LLM path is
gated by the same check before the model is asked, and the model may still say the sources do not answer.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence

from assistant.index.bm25 import tokenize
from assistant.models import PaperHit

# Below every answerable dev question (lowest 0.20, a broad "astronomy and cosmology" question whose
# papers never use those two words), above the near-domain questions with nothing in common.
MIN_COVERAGE = 0.15
EVIDENCE_PAPERS = 3  # passages of the best few papers: what an answer would quote

# Words that frame a question rather than name its subject.
_FRAME = frozenset(
    tokenize(
        "what which who whom whose how why when where do does did done paper papers article work works "
        "method methods approach study studies introduce introduced introduces propose proposed first "
        "original originally invent invented new can could would should between about from its we our "
        "you your i me my is are was were been has have had any some most more very also"
    )
)
# Acronyms and mixed-case names (BERT, GPT-3, ResNet, AlphaGo, word2vec) ...
_NAMED = re.compile(r"\b(?:[A-Za-z]*[A-Z][a-z0-9]*[A-Z0-9][A-Za-z0-9-]*|[a-z]+[0-9][a-z0-9]*)\b")
# ... and capitalised words after a lower-case word (Adam, Goodfellow, Planck), not a sentence start.
_CAPITALISED = re.compile(r"(?<=[a-z,;:] )[A-Z][a-z]{2,}\b")
_WORDS = re.compile(r"[^\W_]+")


def named_things(question: str) -> list[str]:
    found = _NAMED.findall(question) + _CAPITALISED.findall(question)
    return list(dict.fromkeys(found))


def _spelled_out(acronym: str, words: Sequence[str]) -> bool:
    """RL in "reinforcement learning", PDEs in "partial differential equations"."""
    letters = re.sub(r"[^a-z]", "", acronym.lower())
    if acronym.endswith("s") and len(letters) > 2:
        letters = letters[:-1]
    n = len(letters)
    if n < 2 or n > 6:
        return False
    initials = "".join(w[0] for w in words)
    return any(initials[i : i + n] == letters for i in range(len(initials) - n + 1))


def _defined_in_question(name: str, question: str) -> list[str]:
    """The words a question spells `name` out with: "Commelina yellow mottle virus (ComYMV)" -> 4 words."""
    m = re.search(r"((?:[^\W_]+[\s-]+){1,8})\(\s*" + re.escape(name) + r"\s*\)", question)
    if not m:
        return []
    words = _WORDS.findall(m.group(1))
    letters = re.sub(r"[^a-z]", "", name.lower())
    n = min(len(words), max(2, len(letters)))
    return words[-n:]


def unsupported(
    question: str, hits: Sequence[PaperHit], doc_freq: Callable[[Sequence[str]], tuple[int, dict[str, int]]]
) -> str:
    """Why the top passages do not answer `question` ("" when they may).

    `doc_freq`: the library's chunk count and each term's document frequency (Library.term_doc_freq)."""
    top = list(hits[:EVIDENCE_PAPERS])
    if not top:
        return "no passage matches"
    texts = [h.paper.title for h in top] + [e.text for h in top for e in h.evidence]
    vocab = {t for text in texts for t in tokenize(text)}
    words = [w.lower() for text in texts for w in _WORDS.findall(text)]

    names = named_things(question)
    salient = [t for t in dict.fromkeys(tokenize(question)) if t not in _FRAME]
    n_chunks, df = doc_freq(list(dict.fromkeys(salient + [t for nm in names for t in tokenize(nm)])))
    for name in names:
        toks = tokenize(name)
        # A name the library holds somewhere is retrieval's business, not a reason to refuse; one it never
        # holds may still be spelled out in the passages (RL) or in the question itself (ComYMV).
        if not toks or all(df.get(t, 0) for t in toks) or _spelled_out(name, words):
            continue
        expansion = [t for w in _defined_in_question(name, question) for t in tokenize(w)]
        if expansion and set(expansion) <= vocab:
            continue
        return f"the library never mentions {name}"

    if not salient:
        return ""
    weight = {t: math.log(1.0 + (n_chunks - df.get(t, 0) + 0.5) / (df.get(t, 0) + 0.5)) for t in salient}
    total = sum(weight.values()) or 1.0
    coverage = sum(w for t, w in weight.items() if t in vocab) / total
    if coverage < MIN_COVERAGE:
        return "the matching passages share almost none of the question's terms"
    return ""
