"""The offline summary text: each theme's paragraph is its papers' own sentences, each cited [n].

Per theme, the most relevant papers (at most PER_THEME) each give their best sentence for the topic
and the theme; a small theme gets a second sentence per paper when it adds something. The overview
says what was summarised and how it is grouped, then quotes the sentence that best states the topic.
Citation numbers here are local (paper index + 1); the pipeline renumbers them in reading order.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import numpy as np

from assistant.models import Paper
from assistant.reports.sources import PaperSource
from assistant.reports.summary.themes import Theme, unit
from assistant.text import normalize_space

PER_THEME = 5  # papers a theme paragraph cites at most (the most relevant ones)
MAX_SENTENCES = 6  # per theme paragraph

Sections = list[tuple[str, list[str]]]  # (heading, paragraphs) per theme


# Sentences that lean on the one before ("This…", "However,…") read badly out of their paper.
_LEANS_BACK = re.compile(
    r"^(this|these|that|those|it|its|they|their|such|here|however|furthermore|moreover|additionally|"
    r"finally|further|also|thus|hence|therefore|in addition|in particular|building on|to (address|this)|"
    r"first|second|third|lastly|as a (result|by-product)|to (overcome|tackle|solve|remedy|mitigate))\b"
    r"|\b(these|this|those|such) (limitations?|issues?|problems?|challenges?|insights?|observations?)\b"
    r"|\bto this end\b",
    re.IGNORECASE,
)


def _prose(sentence: str) -> bool:
    """Mostly words: formulas and tables read badly in a summary."""
    return sum(c.isalpha() or c.isspace() for c in sentence) >= 0.85 * len(sentence)


def _sentence_scores(src: PaperSource, targets: Sequence[np.ndarray]) -> np.ndarray:
    if not src.sentences:
        return np.zeros(0)
    sims = np.mean([src.vectors @ t for t in targets], axis=0)
    penalty = np.array([(0.08 if _LEANS_BACK.search(s) else 0.0) + (0.0 if _prose(s) else 0.3) for s in src.sentences])
    return np.asarray(sims - penalty)


def _theme_sentences(
    theme: Theme, sources: Mapping[int, PaperSource], topic_vec: np.ndarray | None, used: set[str]
) -> list[tuple[str, int]]:
    """(sentence, paper index) for a theme paragraph: each cited paper's best sentence for the topic
    and the theme, papers in order of relevance; a small theme gets a second sentence per paper."""
    targets = [theme.centroid] + ([topic_vec] if topic_vec is not None else [])
    cited = [i for i in theme.members if i in sources and sources[i].sentences][:PER_THEME]
    ranked: dict[int, list[int]] = {}
    for i in cited:
        scores = _sentence_scores(sources[i], targets)
        ranked[i] = [j for j in np.argsort(-scores) if normalize_space(sources[i].sentences[j]) not in used]
    picks: dict[int, list[int]] = {i: ranked[i][:1] for i in cited if ranked[i]}
    rounds = 1
    while sum(len(v) for v in picks.values()) < min(MAX_SENTENCES, 3) and rounds < 3:
        rounds += 1
        for i in cited:
            for j in ranked.get(i, [])[len(picks.get(i, [])) :]:
                vec = sources[i].vectors[j]
                # A second sentence must add something, not restate the first.
                if all(float(vec @ sources[i].vectors[k]) < 0.8 for k in picks.get(i, [])):
                    picks.setdefault(i, []).append(j)
                    break
    out = []
    for i in cited:
        for j in sorted(picks.get(i, [])):  # a paper's sentences in its own order
            sentence = normalize_space(sources[i].sentences[j])
            used.add(sentence)
            out.append((sentence, i))
    return out[:MAX_SENTENCES]


def _cite(sentence: str, local: int) -> str:
    return f"{sentence} [{local}]"


def _join_names(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _inline(name: str) -> str:
    """A heading inside a sentence: "Language models & LoRA" → "language models & LoRA"; "PDE…" stays."""
    first = name.split(" ", 1)[0]
    return name if any(c.isupper() for c in first[1:]) else name[0].lower() + name[1:]


def _overview_lead(topic: str, n_papers: int, themes: Sequence[Theme], cited: dict[int, list[int]]) -> str:
    """The one sentence not taken from a paper: what was summarised and how it is grouped, with the
    papers of each theme cited."""
    where = f'on "{topic}"' if topic else "in the library"
    what = f"The {n_papers} paper{'s' if n_papers != 1 else ''} {where}"
    if len(themes) == 1:
        marks = "".join(f"[{i + 1}]" for i in cited[0])
        return f"{what} share one theme, {_inline(themes[0].name)} {marks}."
    parts = [f"{_inline(th.name)} {''.join(f'[{i + 1}]' for i in cited[k])}" for k, th in enumerate(themes)]
    return f"{what} fall into {len(themes)} themes: {_join_names(parts)}."


def extractive_parts(
    topic: str,
    papers: Sequence[Paper],
    sources: Mapping[int, PaperSource],
    themes: Sequence[Theme],
    topic_vec: np.ndarray | None,
) -> tuple[str, Sections]:
    """(overview, [(heading, paragraphs)]) with local citation numbers (paper index + 1)."""
    used: set[str] = set()
    sections = []
    cited: dict[int, list[int]] = {}
    for k, theme in enumerate(themes):
        picked = _theme_sentences(theme, sources, topic_vec, used)
        cited[k] = list(dict.fromkeys(i for _, i in picked)) or theme.members[:1]
        paragraph = " ".join(_cite(s, i + 1) for s, i in picked)
        sections.append((theme.name, [paragraph] if paragraph else []))
    overview = _overview_lead(topic, len(papers), themes, cited)
    # Then the sentence that best states the topic (or the library's centre) in a paper's words.
    target = topic_vec if topic_vec is not None else unit(np.mean([t.centroid for t in themes], axis=0))
    best: tuple[float, str, int] | None = None
    leaders = [th.members[0] for th in themes] if topic_vec is None else range(min(3, len(papers)))
    for i in leaders:
        src = sources[i]
        for j, s in enumerate(src.sentences):
            text = normalize_space(s)
            if text in used or _LEANS_BACK.search(s) or not _prose(s):
                continue
            score = float(src.vectors[j] @ target)
            if best is None or score > best[0]:
                best = (score, text, i)
    if best is not None:
        overview += " " + _cite(best[1], best[2] + 1)
    return overview, sections
