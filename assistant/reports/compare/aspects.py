"""The columns of a comparison table: aspect names as users type them, and what finds each in a paper.

The known aspects (problem, method, data, results, limitations), their aliases and cue phrases are
data, in aspects.toml beside this module; any other aspect a user names is built from its own words
(a sentence using most of them names it).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from importlib import resources
from typing import Any

from assistant.models import DEFAULT_ASPECTS
from assistant.text import normalize_space

LEXICON_FILE = "aspects.toml"


@dataclass(frozen=True)
class Aspect:
    name: str  # the key shown to the user, exactly as asked for
    description: str  # what a sentence about this aspect says (also the LLM's instruction)
    examples: tuple[str, ...] = ()  # abstract-style sentences of this aspect: the embedding targets
    strong: str = ""  # cue pattern that marks a sentence as this aspect on its own
    weak: str = ""  # cue pattern that only helps
    position: float | None = None  # where in an abstract it usually sits: 0 first sentence .. 1 last
    needs_cue: bool = False  # never filled from similarity alone
    min_similarity: float = 0.42  # similarity that qualifies a sentence without any cue
    exclude: str = ""  # pattern that shows a sentence is about something else
    min_position: float = 0.0  # abstract sentences before this place never qualify

    terms: tuple[str, ...] = ()  # a user's aspect: its words, most of which a sentence must use

    def cue_score(self, sentence: str) -> tuple[float, bool]:
        """(cue strength 0..1, whether a strong cue matched)."""
        if self.terms:
            words = re.findall(r"[a-z0-9]+", sentence.lower())
            found = sum(any(w.startswith(t) for w in words) for t in self.terms)
            share = found / len(self.terms)
            return share, share >= 0.5 and found >= min(2, len(self.terms))
        strong = bool(self.strong) and re.search(self.strong, sentence, re.IGNORECASE) is not None
        weak_hits = len(re.findall(self.weak, sentence, re.IGNORECASE)) if self.weak else 0
        return min(1.0, (0.7 if strong else 0.0) + 0.25 * weak_hits), strong


@dataclass(frozen=True)
class Lexicon:
    aspects: Mapping[str, Aspect]
    aliases: Mapping[str, str]
    default: tuple[str, ...]
    stop_words: frozenset[str]


def _words(phrases: Sequence[str]) -> str:
    """Cue phrases as one pattern matched as whole words: \\b(a|b|c)\\b."""
    return rf"\b({'|'.join(phrases)})\b" if phrases else ""


def _aspect(name: str, entry: Mapping[str, Any]) -> Aspect:
    strong = _words(entry.get("strong", []))
    anywhere = entry.get("strong_anywhere", [])
    if anywhere:
        strong = f"({'|'.join([strong, *anywhere])})" if strong else f"({'|'.join(anywhere)})"
    return Aspect(
        name,
        entry["description"],
        tuple(entry.get("examples", ())),
        strong=strong,
        weak=_words(entry.get("weak", [])),
        position=entry.get("position"),
        needs_cue=bool(entry.get("needs_cue", False)),
        min_similarity=float(entry.get("min_similarity", 0.42)),
        exclude=_words(entry.get("exclude", [])),
        min_position=float(entry.get("min_position", 0.0)),
    )


def parse_lexicon(data: Mapping[str, Any]) -> Lexicon:
    """The lexicon from the parsed TOML; every pattern is compiled once here, so a bad one fails early."""
    aspects = {name: _aspect(name, entry) for name, entry in data["aspects"].items()}
    for a in aspects.values():
        for pattern in (a.strong, a.weak, a.exclude):
            re.compile(pattern)
    aliases = dict(data.get("aliases", {}))
    default = tuple(data.get("default", DEFAULT_ASPECTS))
    unknown = sorted({v for v in aliases.values() if v not in aspects} | set(default) - set(aspects))
    if unknown:
        raise ValueError(f"{LEXICON_FILE}: aliases or defaults name unknown aspects: {', '.join(unknown)}")
    return Lexicon(aspects, aliases, default, frozenset(data.get("stop_words", ())))


@lru_cache(maxsize=1)
def lexicon() -> Lexicon:
    """The known aspects, read once from the package's aspects.toml."""
    text = resources.files(__package__).joinpath(LEXICON_FILE).read_text(encoding="utf-8")
    return parse_lexicon(tomllib.loads(text))




def default_aspects() -> list[str]:
    return list(DEFAULT_ASPECTS)


def parse_aspects(spec: str | Sequence[str] | None) -> list[str]:
    """Aspect names from "a,b,c" or a list: trimmed, lower-cased, de-duplicated; empty → defaults."""
    if spec is None:
        return default_aspects()
    items = spec.split(",") if isinstance(spec, str) else [p for s in spec for p in s.split(",")]
    names = [normalize_space(s).lower() for s in items]
    out = list(dict.fromkeys(n for n in names if n))
    return out or default_aspects()


def _stem(word: str) -> str:
    """A prefix shared by a word's forms: "robustness" → "robu" (robust), "scalability" → "scalab"."""
    for suffix in ("ness", "ity", "ation", "ing", "ies", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            word = word[: -len(suffix)]
            break
    return word[: max(4, len(word) - 2)]


def aspect_for(name: str) -> Aspect:
    """The curated definition for a known aspect (or alias); otherwise one built from the words."""
    lex = lexicon()
    key = normalize_space(name).lower()
    known = lex.aspects.get(lex.aliases.get(key, key))
    if known is not None:
        return replace(known, name=key)
    words = [w for w in re.findall(r"[a-z0-9]+", key) if w not in lex.stop_words and len(w) > 2]
    # Stems ("robust" finds "robustness"); a sentence using most of the aspect's own words names it.
    stems = tuple(dict.fromkeys(_stem(w) for w in words))
    return Aspect(
        key,
        f"What the paper says about its {key}.",
        (f"The {key} of the proposed approach.", f"We discuss the {key} of our method."),
        min_similarity=0.45,
        terms=stems,
    )
