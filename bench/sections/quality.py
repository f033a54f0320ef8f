"""Quality section: retrieval quality of ours against its own components, in the same run.

For each evaluation set — the dev questions over the seed library (`bench/dev_questions.jsonl`) and the
SciFact train claims over their 2,101 abstracts (`../shared/eval/scifact-train/`, read from there, never
copied; "not run" without it) — a temporary library of the set's corpus is built with the bundled model,
and the same questions are ranked by the hybrid (`Engine.evaluate`), by BM25 alone and by dense alone
(`--baselines bm25,dense`), each paper by its best chunk. Records nDCG@10 and MRR@10 of the three, and
`quality.<set>.best_component_ndcg`, the better of the two components (the goals' baseline).

Embedding is the slow part (MiniLM does 10–20 abstracts/s on two cores), so each chunk's vector is
cached in bench/cache/ by its embedded text and the model; the library itself — chunks, BM25 postings,
Chroma — is written fresh every run, so a change to chunking or to BM25 is always measured.
"""

from __future__ import annotations

import contextlib
import hashlib
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import CACHE, DEV_QUESTIONS, ROOT, Config, Run, log

SCIFACT = ROOT.parent / "shared" / "eval" / "scifact-train"
SYSTEMS = ("ours", "bm25", "dense")


@dataclass(frozen=True)
class EvalSet:
    name: str
    label: str
    corpus: Path
    questions: Path


def eval_sets() -> list[EvalSet]:
    from ingest.sources.seed import SEED_FILE

    return [
        EvalSet("dev", "dev questions over the seed library", SEED_FILE, DEV_QUESTIONS),
        EvalSet(
            "scifact_train",
            "SciFact train claims, 2,101 abstracts",
            SCIFACT / "corpus.jsonl",
            SCIFACT / "queries.jsonl",
        ),
    ]


def _vectors(texts: list[str], model_name: str, embed: Any) -> np.ndarray:
    """The vectors of `texts`, from the cache where there, else embedded (and cached)."""
    key = hashlib.sha1(("\x00".join([model_name, *texts])).encode()).hexdigest()[:12]
    path = CACHE / f"quality-vectors-{key}.npy"
    if path.exists():
        return np.load(path, allow_pickle=False)
    t0 = time.perf_counter()
    vecs = np.asarray(embed(texts), dtype=np.float32)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, vecs)
    log(f"quality: embedded {len(texts)} chunks in {time.perf_counter() - t0:.1f}s (cached as {path.name})")
    return vecs


@contextlib.contextmanager
def corpus_engine(corpus: Path) -> Iterator[tuple[Any, int, int, float]]:
    """A temporary library of `corpus` (vectors from the cache), yielded as (Engine, papers, chunks,
    seconds to write); the verify section builds its SciFact library the same way."""
    from assistant.engine import Engine
    from assistant.index.embed_text import embedding_text
    from assistant.index.embeddings import get_embedder
    from assistant.library.chunking import chunk_paper
    from assistant.library.ingestion import collect
    from assistant.library.library import Library
    from assistant.models import IngestReport
    from assistant.settings import Settings
    from ingest.pipeline import load_all

    with tempfile.TemporaryDirectory(prefix="bench-quality-") as tmp:
        settings = Settings(_env_file=None, data_dir=Path(tmp))  # type: ignore[call-arg]
        papers = collect(load_all([corpus], settings), IngestReport())
        chunked = [(p, chunk_paper(p, settings.chunk_size, settings.chunk_overlap)) for p in papers]
        texts = [embedding_text(p.title, c.text) for p, chunks in chunked for c in chunks]
        embedder = get_embedder(settings)
        vecs = _vectors(texts, settings.embed_model, embedder.embed)
        library = Library(settings)
        t0 = time.perf_counter()
        with library.writing():
            offset = 0
            items = []
            for p, chunks in chunked:
                items.append((p, chunks, vecs[offset : offset + len(chunks)]))
                offset += len(chunks)
            library.write(items)
        write_s = time.perf_counter() - t0
        try:
            yield Engine(settings, library=library, embedder=embedder), len(papers), len(texts), write_s
        finally:
            library.close()


def evaluate_set(es: EvalSet) -> dict[str, Any]:
    """Build a temporary library of the set's corpus and evaluate ours, BM25 alone and dense alone."""
    from assistant.retrieval.evaluate import BASELINES, load_questions

    with corpus_engine(es.corpus) as (engine, n_papers, n_chunks, write_s):
        questions = load_questions(es.questions)
        t0 = time.perf_counter()
        report = engine.evaluate(questions, 10, BASELINES)
        eval_s = time.perf_counter() - t0
    systems = {"ours": report, **report.baselines}
    kinds = _kinds(es.questions)
    return {
        "by_kind": {name: by_kind(rep.results, kinds) for name, rep in systems.items()},
        "noise_ndcg": {name: noise(report.results, rep.results) for name, rep in report.baselines.items()},
        "label": es.label,
        "papers": n_papers,
        "chunks": n_chunks,
        "questions": report.n_in_library,
        "write_s": round(write_s, 1),
        "eval_s": round(eval_s, 1),
        "systems": {name: rep.ranking_metrics() for name, rep in systems.items()},
    }


def _kinds(path: Path) -> dict[str, tuple[str, str]]:
    """query -> (kind, split) from the question file's optional "kind" / "split" fields."""
    import json

    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            obj = json.loads(line)
            kind = obj.get("kind") or ("answerable" if obj.get("relevant") else "off-topic")
            out[obj["query"]] = (kind, obj.get("split", "tune"))
    return out


def by_kind(results: list[Any], kinds: dict[str, tuple[str, str]]) -> dict[str, Any]:
    """Set-question recall@10 (3+ relevant papers) and abstention rates, overall and on the holdout split."""
    out: dict[str, Any] = {}
    for split in ("all", "holdout"):
        rows = [r for r in results if split == "all" or kinds.get(r.query, ("", "tune"))[1] == split]
        sets = [r for r in rows if len(r.relevant) >= 3]
        near = [r for r in rows if kinds.get(r.query, ("",))[0] == "near-domain"]
        answerable = [r for r in rows if r.relevant]
        tag = "" if split == "all" else "_holdout"
        out["set_recall" + tag] = (
            float(np.mean([len(r.relevant & {x["id"] for x in r.ranked[:10]}) / len(r.relevant) for r in sets]))
            if sets
            else None
        )
        out["set_questions" + tag] = len(sets)
        out["near_abstain" + tag] = float(np.mean([r.abstained for r in near])) if near else None
        out["near_questions" + tag] = len(near)
        out["false_abstain" + tag] = float(np.mean([r.abstained for r in answerable])) if answerable else None
    return out


def noise(ours: list[Any], other: list[Any], resamples: int = 2000) -> dict[str, float]:
    """Paired bootstrap over questions of ours − other nDCG@10: mean difference and its std."""
    from assistant.retrieval.evaluate import ndcg

    pairs = [
        (ndcg([x["id"] for x in a.ranked], a.relevant), ndcg([x["id"] for x in b.ranked], b.relevant))
        for a, b in zip(ours, other, strict=True)
        if a.relevant
    ]
    diff = np.array([a - b for a, b in pairs])
    rng = np.random.default_rng(0)
    means = diff[rng.integers(0, len(diff), (resamples, len(diff)))].mean(axis=1)
    return {"mean": round(float(diff.mean()), 4), "std": round(float(means.std()), 4)}


def measure(run: Run, cfg: Config) -> None:
    out: dict[str, Any] = {}
    for es in eval_sets():
        if not (es.corpus.exists() and es.questions.exists()):
            out[es.name] = {"label": es.label, "skipped": f"not run: {es.corpus.parent} is missing"}
            log(f"quality.{es.name}: not run ({es.corpus.parent} missing)")
            continue
        got = evaluate_set(es)
        out[es.name] = got
        detail = f"{got['questions']} questions, {got['papers']:,} papers"
        for system in SYSTEMS:
            m = got["systems"][system]
            run.record(f"quality.{es.name}.{system}_ndcg", m["ndcg@10"], detail if system == "ours" else "")
            run.record(f"quality.{es.name}.{system}_mrr", m["mrr@10"])
        best, other = sorted(("bm25", "dense"), key=lambda s: -(got["systems"][s]["ndcg@10"] or 0.0))
        names = {"bm25": "BM25 alone", "dense": "dense alone"}
        run.record(
            f"quality.{es.name}.best_component_ndcg",
            got["systems"][best]["ndcg@10"],
            f"{names[best]}, the better of it and {names[other]} at {got['systems'][other]['ndcg@10']:.4f}; "
            "same run, same texts",
        )
        n = got["noise_ndcg"][best]
        run.record(
            f"quality.{es.name}.noise_ndcg",
            n["std"],
            f"paired bootstrap std of ours - {names[best]} nDCG@10 (mean difference {n['mean']:+.4f})",
        )
        kinds = got["by_kind"]
        for key, value in kinds["ours"].items():
            if value is None or key.endswith("questions") or key.endswith("questions_holdout"):
                continue
            count = kinds["ours"].get(key.replace("recall", "questions").replace("abstain", "questions"))
            detail = f"{count} questions" if isinstance(count, int) and not key.startswith("false") else ""
            run.record(f"quality.{es.name}.{key}", value, detail)
        comp = {sy: kinds[sy]["set_recall"] for sy in ("bm25", "dense") if kinds[sy]["set_recall"] is not None}
        if comp:
            top = max(comp, key=lambda sy: comp[sy])
            run.record(
                f"quality.{es.name}.best_component_set_recall",
                comp[top],
                f"{names[top]}; " + ", ".join(f"{names[sy]} {v:.3f}" for sy, v in comp.items()),
            )
    run.measurements["quality"] = out
    log("quality:\n" + "\n".join(table(out)))


def table(quality: dict[str, Any]) -> list[str]:
    """The retrieval-quality table: one row per set, nDCG@10 and MRR@10 of each system."""
    lines = [
        "| set | questions | ours nDCG@10 | BM25 alone | dense alone | ours MRR@10 | BM25 alone | dense alone |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for got in quality.values():
        if "skipped" in got:
            lines.append(f"| {got['label']} | {got['skipped']} | | | | | | |")
            continue
        s = got["systems"]
        cells = [f"{s[name][metric]:.3f}" for metric in ("ndcg@10", "mrr@10") for name in SYSTEMS]
        lines.append(f"| {got['label']} | {got['questions']} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "| set | system | set-question recall@10 (holdout) | near-domain abstention (holdout) | false abstentions |",
        "|---|---|---|---|---|",
    ]
    for got in quality.values():
        for system, k in got.get("by_kind", {}).items():
            if all(k[x] is None for x in ("set_recall", "near_abstain")) and (
                system != "ours" or k["false_abstain"] is None
            ):
                continue

            def cell(a: float | None, b: float | None) -> str:
                return "—" if a is None else f"{a:.3f}" + ("" if b is None else f" ({b:.3f})")

            abstain = cell(k["near_abstain"], k["near_abstain_holdout"]) if system == "ours" else "— (no abstention)"
            false = "—" if system != "ours" or k["false_abstain"] is None else f"{k['false_abstain']:.3f}"
            recall = cell(k["set_recall"], k["set_recall_holdout"])
            lines.append(f"| {got['label']} | {system} | {recall} | {abstain} | {false} |")
    return lines
