"""Themes of a literature summary: papers clustered on their embeddings, each theme named by its terms.

k-means on the unit paper vectors (title and abstract), k from 2..6 by the best cosine silhouette;
a theme's name is its most distinguishing phrase (used by most of its papers and few others), spelt
as the papers spell it ("Low-rank adaptation & LoRA").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from assistant.answers.extract import embed_sentences
from assistant.index.embeddings import Embedder
from assistant.models import Paper
from assistant.text import normalize_space

MIN_THEMES, MAX_THEMES = 2, 6


def paper_vectors(embedder: Embedder, papers: Sequence[Paper]) -> np.ndarray:
    """A paper's position: title and abstract (the model reads about 256 tokens of it)."""
    return embed_sentences(embedder, [f"{p.title}. {normalize_space(p.abstract)[:1200]}" for p in papers])


def cluster(vectors: np.ndarray, min_k: int = MIN_THEMES, max_k: int = MAX_THEMES) -> np.ndarray:
    """Theme label per paper: k-means on the (unit) paper vectors, k from min_k..max_k with the best
    cosine silhouette. A theme should hold about two papers or more, so k ≤ n/2."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    n = len(vectors)
    if n < 2:
        return np.zeros(n, dtype=int)
    if n < 4:
        return np.arange(n) if n == 2 else KMeans(2, n_init=10, random_state=0).fit_predict(vectors)
    best_labels, best_score = None, -2.0
    for k in range(min_k, max(min_k, min(max_k, n // 2)) + 1):
        labels = KMeans(k, n_init=10, random_state=0).fit_predict(vectors)
        if len(set(labels)) < 2:
            continue
        score = float(silhouette_score(vectors, labels, metric="cosine"))
        if score > best_score + 1e-9:
            best_labels, best_score = labels, score
    return best_labels if best_labels is not None else np.zeros(n, dtype=int)


# Words that name no theme (too common in abstracts); BibTeX keys skip them too.
NAMING_STOP = frozenset(
    """
    paper papers propose proposed proposes method methods approach approaches result results show shows
    shown based using use used new novel work study present presents introduce introduces existing
    problem problems demonstrate demonstrates performance framework significant significantly
    achieve achieves various different including provide provides allows allowing enable enables
    however furthermore additionally finally recent recently able effective paradigm key
    data loss level rate function functions large small number set sets time order case cases way
    terms term range type types class classes value values analysis general specific common
    important particular quality standard simple strong better improved improve improves
    """.split()
)
_TOKEN = r"(?u)\b[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*\b"


def _surface_forms(texts: Sequence[str]) -> dict[str, str]:
    """lower-case word → how the texts spell it mid-sentence ("lora" → "LoRA", "navier" → "Navier",
    "tokenization" → "tokenization"); a sentence's first word says nothing about its case."""
    counts: dict[str, dict[str, int]] = {}
    for text in texts:
        for m in re.finditer(_TOKEN, text):
            before = text[: m.start()].rstrip()
            if not before or before[-1] in ".!?:":
                continue
            word = m.group(0)
            forms = counts.setdefault(word.lower(), {})
            forms[word] = forms.get(word, 0) + 1
    return {low: max(forms.items(), key=lambda kv: kv[1])[0] for low, forms in counts.items()}


def _readable(term: str, forms: dict[str, str]) -> str:
    """Each word as the papers spell it mid-sentence (lower-case when they never do)."""
    return " ".join(forms.get(w, w) for w in term.split())


_PUNCT = re.compile(r"[.,;:!?()\[\]{}\"“”]+|\s[-–—]+\s")
_ADJECTIVE = re.compile(r"(al|ic|ive|ous|ful|able|ible|ary|ing)$")


def _phrases(stop: frozenset[str]) -> Callable[[str], list[str]]:
    """Analyzer: words and two-word phrases that really occur together (never across punctuation or a
    stop word, which would make phrases like "models neural" out of "models: neural")."""

    def analyze(text: str) -> list[str]:
        out: list[str] = []
        for segment in _PUNCT.split(text.lower()):
            run: list[str] = []
            for tok in re.findall(_TOKEN, segment) + [""]:
                if tok and tok not in stop and len(tok) > 1:
                    run.append(tok)
                    continue
                out += run + [f"{a} {b}" for a, b in zip(run, run[1:])]
                out += [f"{a} {b} {c}" for a, b, c in zip(run, run[1:], run[2:])]
                run = []
        return out

    return analyze


def theme_names(texts: Sequence[str], labels: np.ndarray, prose: Sequence[str] = ()) -> list[str]:
    """Per theme, a readable name from its most distinguishing terms — used by most of the theme's
    papers and few others: the best phrase, then a word that adds to it ("Low-rank adaptation & LoRA")."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer

    themes = sorted(set(int(x) for x in labels))
    vec = TfidfVectorizer(analyzer=_phrases(frozenset(ENGLISH_STOP_WORDS | NAMING_STOP)), sublinear_tf=True)
    try:
        matrix = vec.fit_transform(texts).toarray()
    except ValueError:  # nothing but stop words
        return [f"Theme {i + 1}" for i in range(len(themes))]
    terms = list(vec.get_feature_names_out())
    is_phrase = np.array([" " in t for t in terms])
    # A lone adjective ("neural", "cosmological") names nothing; inside a phrase it is fine.
    adjective = np.array([" " not in t and bool(_ADJECTIVE.search(t)) for t in terms])
    present = matrix > 0
    idf = np.log((1 + len(texts)) / (1 + present.sum(axis=0))) + 1.0
    forms = _surface_forms(prose or texts)
    names: list[str] = []
    for t in themes:
        inside = labels == t
        outside = ~inside
        cov_in = present[inside].mean(axis=0)
        cov_out = present[outside].mean(axis=0) if outside.any() else np.zeros_like(cov_in)
        weight_in = matrix[inside].mean(axis=0)
        weight_out = matrix[outside].mean(axis=0) if outside.any() else np.zeros_like(weight_in)
        # Shared by the theme's papers, rare elsewhere, rare overall (idf keeps "data" out of names).
        score = (cov_in - cov_out + 0.25 * (weight_in - weight_out)) * idf * np.where(adjective, 0.5, 1.0)
        order = [i for i in np.argsort(-score) if cov_in[i] > 0 and score[i] > 0]
        if not order:
            names.append(f"Theme {len(names) + 1}")
            continue
        top = order[0]
        phrase = next((i for i in order if is_phrase[i]), None)
        first = phrase if phrase is not None and score[phrase] >= 0.7 * score[top] else top
        parts = [terms[first]]
        taken = set(terms[first].split())
        for i in order:
            if is_phrase[i] or adjective[i] or score[i] < 0.7 * score[first]:
                continue
            if any(terms[i] in w or w in terms[i] for w in taken):
                continue
            parts.append(terms[i])
            break
        label = " & ".join(_readable(p, forms) for p in parts)
        label = label[0].upper() + label[1:]
        while label in names:
            label += f" ({len(names) + 1})"
        names.append(label)
    return names


@dataclass
class Theme:
    members: list[int]  # indices into the summary's papers, best first
    name: str
    centroid: np.ndarray


def build_themes(papers: Sequence[Paper], vectors: np.ndarray, ranked: bool) -> list[Theme]:
    """Themes with their members best first: by relevance when the papers come ranked for a topic
    (then themes follow their best paper), else by closeness to the theme's centre (then the largest
    theme comes first)."""
    labels = cluster(vectors)
    texts = [f"{p.title}. {p.title}. {p.abstract}" for p in papers]  # the title counts twice
    names = theme_names(texts, labels, [p.abstract for p in papers])
    ids = sorted(set(int(x) for x in labels))
    themes = []
    for name, t in zip(names, ids):
        members = [i for i in range(len(papers)) if labels[i] == t]
        centroid = unit(vectors[members].mean(axis=0))
        if not ranked:
            members.sort(key=lambda i: -float(vectors[i] @ centroid))
        themes.append(Theme(members, name, centroid))
    if ranked:
        themes.sort(key=lambda th: th.members[0])
    else:
        themes.sort(key=lambda th: -len(th.members))
    return themes


def unit(v: np.ndarray) -> np.ndarray:
    return v / max(float(np.linalg.norm(v)), 1e-9)
