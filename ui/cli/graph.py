"""`papers related | graph`: related papers and the library's citation graph in the terminal face.

Neither command embeds anything (related papers compare the stored vectors), so both open a library
built with another embedding model too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from ui.cli.common import engine, friendly, print_json

if TYPE_CHECKING:
    from assistant.models import CitationGraph, MissingWork

app = typer.Typer()


def add_command(work: MissingWork) -> str | None:
    """How to add a missing work: by arXiv id (the one source fetched by id); None without one."""
    return f"papers ingest --arxiv {work.arxiv_id}" if work.arxiv_id else None


def missing_rows(graph: CitationGraph) -> list[dict[str, Any]]:
    return [{**w.model_dump(), "count": w.count, "add": add_command(w)} for w in graph.missing]


def _ids(work: MissingWork) -> str:
    parts = (f"doi:{work.doi}" if work.doi else "", f"arXiv:{work.arxiv_id}" if work.arxiv_id else "")
    return " ".join(p for p in parts if p)


def _missing_lines(graph: CitationGraph) -> list[str]:
    if not graph.missing:
        return ["No work is cited by two or more of your papers without being in the library."]
    lines = []
    for n, w in enumerate(graph.missing, start=1):
        year = f" ({w.year})" if w.year else ""
        lines.append(f"{n:>3}. cited by {w.count}: {w.title}{year}  {_ids(w) or '(no DOI or arXiv id)'}")
        lines.append(f"     cited by: {', '.join(w.cited_by)}")
        if cmd := add_command(w):
            lines.append(f"     add: {cmd}")
    return lines


def _graph_lines(graph: CitationGraph) -> list[str]:
    titles = {p.id: p.title for p in graph.papers}
    lines = [f"{len(graph.papers)} papers, {len(graph.links)} citations between them"]
    for p in sorted(graph.papers, key=lambda p: (-p.cited_by, -p.cites, p.title)):
        lines.append(f"  cites {p.cites} / cited by {p.cited_by} in your library  {p.title}  [{p.id}]")
    if graph.links:
        lines.append("Citations:")
        lines += [f"  {titles[x.source]} → {titles[x.target]}  (by {x.via})" for x in graph.links]
    lines.append("Cited but missing:")
    return lines + ["  " + line for line in _missing_lines(graph)]


@app.command()
@friendly
def related(
    paper_id: str = typer.Argument(..., help="The paper's id (see `papers list`)."),
    k: int = typer.Option(5, "--k", min=1, max=50, help="How many related papers."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Papers related to one paper: similar text, shared references, citations between them."""
    eng = engine(check_model=False)
    found = eng.related(paper_id, k)
    chosen = eng.papers([paper_id])[0]
    if as_json:
        print_json({"paper": {"id": chosen.id, "title": chosen.title}, "related": [r.model_dump() for r in found]})
        return
    typer.echo(f"Related to: {chosen.title}  [{chosen.id}]")
    for n, r in enumerate(found, start=1):
        year = f" ({r.year})" if r.year else ""
        typer.echo(f"{n:>3}. {r.title}{year}  [{r.id}]")
        typer.echo(f"     {'; '.join(r.reasons)} · text similarity {r.similarity:.2f} · score {r.score:.2f}")


@app.command()
@friendly
def graph(
    missing: bool = typer.Option(False, "--missing", help="Only the works cited by 2+ papers but not in the library."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """The citation graph: who cites whom in your library, and the works cited but missing."""
    g = engine(check_model=False).citation_graph()
    if as_json:
        out = g.public(missing_only=missing)
        out["missing"] = missing_rows(g)
        print_json(out)
        return
    for line in _missing_lines(g) if missing else _graph_lines(g):
        typer.echo(line)
