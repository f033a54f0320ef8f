"""The citation graph of the library: papers → which of them cite which, and the works they cite that
the library lacks ("cited but missing").

Pure: `build_graph(papers)` takes the papers (with the reference lists parsed at PDF ingest) and returns
a `CitationGraph`. A reference is the same work as a library paper when (first that applies) its DOI
is the paper's, its arXiv id is the paper's (versions ignored), or its normalised title is the
paper's (accents, case and punctuation folded) and their years are at most one apart (a preprint
cited a year before its publication). A title match needs both years; without a year only a long
title (TITLE_ONLY_WORDS words) is trusted. References linked to no paper are grouped into works by
the same rules (a union of the references sharing a DOI, an arXiv id, or a title within a year), so
"cited but missing" counts a work once per citing paper however each one wrote it down.

`library_graph(library)` keeps one graph per library object until a paper changes (`content_key`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from assistant.field.cache import cached, content_key
from assistant.models import (
    MIN_MISSING,
    BibReference,
    CitationGraph,
    GraphPaper,
    Link,
    MissingWork,
    Paper,
    Via,
    norm_arxiv_id,
    norm_doi,
    normalize_title,
)

YEAR_SLACK = 1  # a preprint is often cited a year before (or after) the version in the library
TITLE_MIN_WORDS = 3  # shorter titles ("Technical report", "Appendix") never match by title
TITLE_ONLY_WORDS = 6  # a title this long matches without a year on one side

# -- keys -------------------------------------------------------------------------------------------
def title_key(title: str) -> str:
    """The title for matching, or "" when it is too short to identify a work."""
    key = normalize_title(title)
    return key if len(key.split()) >= TITLE_MIN_WORDS else ""


def years_agree(a: int | None, b: int | None, key: str) -> bool:
    if a is not None and b is not None:
        return abs(a - b) <= YEAR_SLACK
    return len(key.split()) >= TITLE_ONLY_WORDS


# -- linking references to papers -------------------------------------------------------------------
class _PaperIndex:
    """Library papers by DOI, arXiv id and title key."""

    def __init__(self, papers: Sequence[Paper]) -> None:
        self.doi: dict[str, str] = {}
        self.arxiv: dict[str, str] = {}
        self.title: dict[str, list[tuple[str, int | None]]] = defaultdict(list)
        for p in papers:
            if p.doi:
                self.doi.setdefault(norm_doi(p.doi), p.id)
            if p.arxiv_id:
                self.arxiv.setdefault(norm_arxiv_id(p.arxiv_id), p.id)
            if key := title_key(p.title):
                self.title[key].append((p.id, p.year))

    def match(self, ref: BibReference) -> tuple[str, Via] | None:
        if ref.doi and (pid := self.doi.get(norm_doi(ref.doi))):
            return pid, "doi"
        if ref.arxiv_id and (pid := self.arxiv.get(norm_arxiv_id(ref.arxiv_id))):
            return pid, "arxiv"
        key = title_key(ref.title)
        for pid, year in self.title.get(key, []) if key else []:
            if years_agree(ref.year, year, key):
                return pid, "title"
        return None


# -- grouping the references no paper matched ------------------------------------------------------
class _Groups:
    """Union-find over unlinked references (by index)."""

    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def group_references(refs: Sequence[BibReference]) -> list[list[int]]:
    """Indexes of `refs` grouped by work: same DOI, same arXiv id, or same title within a year."""
    groups = _Groups(len(refs))
    first: dict[str, int] = {}
    by_title: dict[str, list[int]] = defaultdict(list)
    for i, ref in enumerate(refs):
        ids = (f"doi:{norm_doi(ref.doi)}" * bool(ref.doi), f"arxiv:{norm_arxiv_id(ref.arxiv_id)}" * bool(ref.arxiv_id))
        for key in filter(None, ids):
            groups.union(first.setdefault(key, i), i)
        if key := title_key(ref.title):
            for j in by_title[key]:
                if years_agree(refs[j].year, ref.year, key):
                    groups.union(j, i)
            by_title[key].append(i)
    out: dict[int, list[int]] = defaultdict(list)
    for i in range(len(refs)):
        out[groups.find(i)].append(i)
    return list(out.values())


def _work(refs: Sequence[BibReference], citing: Sequence[str], members: list[int]) -> MissingWork:
    """One missing work from its references: the first DOI / arXiv id / year given, the longest title."""
    group = [refs[i] for i in members]
    doi = next((norm_doi(r.doi) for r in group if r.doi), "")
    arxiv_id = next((norm_arxiv_id(r.arxiv_id) for r in group if r.arxiv_id), "")
    title = max((r.title for r in group), key=len)
    key = f"doi:{doi}" if doi else f"arxiv:{arxiv_id}" if arxiv_id else f"title:{normalize_title(title) or members[0]}"
    return MissingWork(
        key=key,
        title=title or group[0].text[:120],
        year=next((r.year for r in group if r.year), None),
        authors=max((r.authors for r in group), key=len),
        doi=doi,
        arxiv_id=arxiv_id,
        cited_by=list(dict.fromkeys(citing[i] for i in members)),
    )


def build_graph(papers: Iterable[Paper], min_missing: int = MIN_MISSING) -> CitationGraph:
    papers = list(papers)
    index = _PaperIndex(papers)
    links: dict[tuple[str, str], Via] = {}
    works: dict[str, list[str]] = {p.id: [] for p in papers}
    loose: list[BibReference] = []  # references linked to no paper, and who cites them
    loose_citing: list[str] = []
    for p in papers:
        for ref in p.references:
            found = index.match(ref)
            if found is None:
                loose.append(ref)
                loose_citing.append(p.id)
            elif found[0] != p.id:  # a paper listing its own earlier version is no link
                links.setdefault((p.id, found[0]), found[1])
                works[p.id].append(found[0])
    missing: list[MissingWork] = []
    for members in group_references(loose):
        work = _work(loose, loose_citing, members)
        for pid in work.cited_by:
            works[pid].append(work.key)
        missing.append(work)
    cites: dict[str, int] = defaultdict(int)
    cited: dict[str, int] = defaultdict(int)
    for src, dst in links:
        cites[src] += 1
        cited[dst] += 1
    return CitationGraph(
        papers=[
            GraphPaper(id=p.id, title=p.title, year=p.year, references=len(p.references), cites=cites[p.id],
                       cited_by=cited[p.id])
            for p in papers
        ],  # fmt: skip
        links=[Link(source=s, target=t, via=v) for (s, t), v in links.items()],
        missing=sorted(
            (w for w in missing if w.count >= min_missing), key=lambda w: (-w.count, normalize_title(w.title))
        ),
        works={pid: list(dict.fromkeys(ws)) for pid, ws in works.items()},
    )


def library_graph(library: Any) -> CitationGraph:
    """The graph of a library's papers, built once per library content."""
    graph: CitationGraph = cached(library, content_key(library), "graph", lambda: build_graph(library.papers()))
    return graph
