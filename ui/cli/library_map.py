"""`papers map`: the library map in the terminal face: its themes (named as the summary names them),
how many papers each holds and their years, and with `--json` every paper's point (x, y, theme, year).

Nothing is embedded (the map reads the stored vectors), so it opens a library built with another
embedding model too; the map is cached by the papers' content, shared with the Map page.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from ui.cli.common import engine, friendly, print_json

if TYPE_CHECKING:
    from assistant.models import LibraryMap

app = typer.Typer()
EXAMPLES = 3


def map_lines(m: LibraryMap) -> list[str]:
    """Themes, largest first, each with its size, year span and a few of its titles."""
    if not m.points:
        return ["The library is empty: add papers with `papers ingest` first."]
    layout = "t-SNE" if m.method == "tsne" else m.method.upper()
    lines = [f"{len(m.points)} papers in {len(m.themes)} themes (layout: {layout} of the stored paper vectors)"]
    for t, name in enumerate(m.themes):
        members = [p for p in m.points if p.theme == t]
        years = sorted(p.year for p in members if p.year is not None)
        span = f", {years[0]}–{years[-1]}" if years and years[0] != years[-1] else (f", {years[0]}" if years else "")
        lines.append(f"{t + 1:>3}. {name} ({len(members)} papers{span})")
        # The papers nearest the theme's middle on the map stand for it.
        cx = sum(p.x for p in members) / len(members)
        cy = sum(p.y for p in members) / len(members)
        for p in sorted(members, key=lambda p: (p.x - cx) ** 2 + (p.y - cy) ** 2)[:EXAMPLES]:
            lines.append(f"       {p.title}  [{p.id}]")
    per_year = m.years()
    if per_year:
        lines.append("Papers per year: " + ", ".join(f"{y}: {n}" for y, n in per_year.items()))
    return lines


@app.command("map")
@friendly
def library_map(as_json: bool = typer.Option(False, "--json", help="Print every point as JSON.")) -> None:
    """The library map: papers grouped into named themes, with 2-D positions (--json) and years."""
    m = engine(check_model=False).paper_map()
    if as_json:
        print_json({**m.model_dump(), "years": {str(y): n for y, n in m.years().items()}})
        return
    for line in map_lines(m):
        typer.echo(line)
