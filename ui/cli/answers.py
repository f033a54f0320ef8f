"""`papers search | ask | chat | eval`: the question-answering commands of the terminal face."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

from ui.cli.common import engine, fail, friendly, print_json

app = typer.Typer()

_YEAR_FROM = typer.Option(None, "--year-from", help="Only papers from this year on.")
_YEAR_TO = typer.Option(None, "--year-to", help="Only papers up to this year.")
_AUTHOR = typer.Option(None, "--author", help="Only papers with an author containing this text.")
_TAG = typer.Option(None, "--tag", help="Only papers with this tag.")


def _filters(year_from: int | None, year_to: int | None, author: str | None, tag: str | None) -> Any:
    from assistant.models import Filters

    return Filters(year_from=year_from, year_to=year_to, author=author or None, tag=tag or None)


def _snippet(text: str, limit: int = 300) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rsplit(" ", 1)[0] + "…"


@app.command()
@friendly
def search(
    query: str = typer.Argument(..., help="What to look for."),
    k: int = typer.Option(0, "-k", "--k", help="How many papers (default: PAPERS_TOP_K)."),
    year_from: int | None = _YEAR_FROM,
    year_to: int | None = _YEAR_TO,
    author: str | None = _AUTHOR,
    tag: str | None = _TAG,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Hybrid search (dense + BM25) over the library; papers with their best matching passage."""
    eng = engine()
    result = eng.search(query, k or None, _filters(year_from, year_to, author, tag))
    rows = [
        {
            "id": h.paper.id,
            "title": h.paper.title,
            "score": round(h.score, 6),
            "snippet": _snippet(h.evidence[0].text if h.evidence else h.paper.abstract),
            "year": h.paper.year,
            "authors": h.paper.authors,
            "url": h.paper.url,
        }
        for h in result.hits
    ]
    if as_json:
        print_json({"query": query, "results": rows})
        return
    if not rows:
        typer.echo("no matching papers")
        return
    for i, r in enumerate(rows, 1):
        year = f" ({r['year']})" if r["year"] else ""
        typer.echo(f"{i}. {r['title']}{year}  [{r['id']}]  score {r['score']:.4f}")
        typer.echo(f"   {_snippet(str(r['snippet']), 200)}")


def _print_sources(answer: Any) -> None:
    if not answer.citations:
        return
    typer.echo("\nSources:")
    for c in answer.citations:
        year = f" ({c.year})" if c.year else ""
        typer.echo(f"[{c.n}] {c.title}{year} — {c.id}")
    _print_checks(answer.sentences)


def _print_checks(checks: Any) -> None:
    """Each cited sentence's verdict, as the verification core gave it (the same in every face)."""
    if not checks:
        return
    if all(c.judge == "verbatim" for c in checks):
        typer.echo(f"\nChecked: all {len(checks)} cited sentences are their papers' own words (supported).")
        return
    typer.echo("\nChecked against the cited passages:")
    for c in checks:
        cites = "".join(f"[{n}]" for n in c.cites)
        left = "" if c.shown else ", left out"
        typer.echo(f"- {c.verdict.replace('_', ' ')} {cites} ({c.score:.2f}, {c.judge}{left}): {_snippet(c.text, 100)}")


def _stream_answer(items: Any) -> Any:
    """Print text as it arrives (complete, checked sentences); the final Answer is authoritative, so
    when it differs from what was streamed (LLM fell back, or abstained) it is printed again. Its
    notes go to stderr as `note: ...`."""
    from assistant.models import Answer

    streamed = ""
    final = None
    for item in items:
        if isinstance(item, Answer):
            final = item
        else:
            streamed += item
            sys.stdout.write(item)
            sys.stdout.flush()
    assert final is not None
    if " ".join(streamed.split()) != " ".join(final.answer.split()):
        note = f"LLM failed ({final.fallback_reason}); extractive answer" if final.fallback_reason else "Answer"
        typer.echo(f"\n\n[{note}]\n{final.answer}", nl=False)
    typer.echo("")
    if final.fallback_reason and final.mode == "extractive":
        typer.echo(f"(offline answer: the LLM failed — {final.fallback_reason})", err=True)
    for note in final.notes:  # sentences left out, the token limit reached, sources dropped
        typer.echo(f"note: {note}", err=True)
    _print_sources(final)
    return final


@app.command()
@friendly
def ask(
    question: str = typer.Argument(..., help="Your question."),
    year_from: int | None = _YEAR_FROM,
    year_to: int | None = _YEAR_TO,
    author: str | None = _AUTHOR,
    tag: str | None = _TAG,
    as_json: bool = typer.Option(False, "--json", help="Print the structured answer as JSON."),
) -> None:
    """Answer a question from the library, citing papers as [n] (LLM if configured, else extractive)."""
    eng = engine()
    filters = _filters(year_from, year_to, author, tag)
    if as_json:
        print_json(eng.ask(question, filters=filters).public())
        return
    _stream_answer(eng.stream(question, filters=filters))


@app.command()
@friendly
def chat(
    year_from: int | None = _YEAR_FROM,
    year_to: int | None = _YEAR_TO,
    author: str | None = _AUTHOR,
    tag: str | None = _TAG,
) -> None:
    """Multi-turn chat in the terminal (one question per line; /new resets, /quit or EOF exits)."""
    eng = engine()
    conversation = eng.conversation()
    filters = _filters(year_from, year_to, author, tag)
    interactive = sys.stdin.isatty()
    if interactive:
        mode = f"LLM {eng.settings.llm_model}" if eng.llm_enabled else "offline, extractive"
        typer.echo(f"Paper Assistant chat ({mode}). /new starts over, /quit exits.")
    while True:
        if interactive:
            sys.stdout.write("\nyou> ")
            sys.stdout.flush()
        line = sys.stdin.readline()
        if not line:
            break
        question = line.strip()
        if not question:
            continue
        if question in ("/quit", "/exit", "/q"):
            break
        if question == "/new":
            conversation.reset()
            typer.echo("(new conversation)")
            continue
        if not interactive:
            typer.echo(f"> {question}")
        _stream_answer(conversation.stream(question, filters))
        if not interactive:
            typer.echo("")


@app.command("eval")
@friendly
def eval_cmd(
    file: Path | None = typer.Argument(
        None, help='JSONL: {"query": ..., "relevant": [paper id or exact title, ...]} (not with --claims).'
    ),
    claims: Path | None = typer.Option(
        None,
        "--claims",
        help='Verify labelled claims instead: JSONL {"id", "claim", "cited": [ids], "labels": {id: SUPPORT | '
        "CONTRADICT | NOT_ENOUGH_INFO}} (SciFact's format); the cited papers must be in the library.",
    ),
    verdicts: Path | None = typer.Option(
        None, "--verdicts", help="With --claims: write each (claim, paper) verdict here (JSONL)."
    ),
    k: int = typer.Option(10, "--k", "-k", min=1, help="k of Recall@k."),
    rankings: Path | None = typer.Option(None, "--rankings", help="Write each query's ranking here (JSONL)."),
    baselines: str = typer.Option(
        "", "--baselines", help="Also rank the same questions by these components alone, in this run: bm25,dense."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the metrics as JSON."),
) -> None:
    """Retrieval (hit@1, Recall@k, MRR@10, nDCG@10) and abstention metrics on a question set, or, with
    --claims, the verification core on labelled claims beside same-run cosine baselines."""
    if claims is not None:
        _eval_claims(claims, verdicts, as_json)
        return
    if file is None:
        fail("give a question file, or --claims FILE")

    report = engine().evaluate_file(file, k, baselines)
    if rankings is not None:
        _write_jsonl(rankings, [r.public() for r in report.results])
    if as_json:
        print_json(report.public())
        return
    typer.echo(report.table())
    for u in report.unresolved:
        typer.echo(f"warning: relevant item not in the library: {u}", err=True)


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    import json

    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def _eval_claims(path: Path, verdicts: Path | None, as_json: bool) -> None:
    report = engine().verify_claims_file(path)
    if verdicts is not None:
        _write_jsonl(verdicts, [pair.public() for pair in report.pairs])
    if as_json:
        print_json(report.metrics())
        return
    typer.echo(report.table())
    for m in report.missing[:5]:
        typer.echo(f"warning: cited paper not in the library: {m}", err=True)
    if len(report.missing) > 5:
        typer.echo(f"warning: … and {len(report.missing) - 5} more cited papers not in the library", err=True)
