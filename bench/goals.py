"""The bench goals as data: what each one reads, what it is compared with, and the threshold.

Sections (bench/sections/) only record measurements under metric keys (`Run.record`); nothing there
decides pass or fail. `check` compares every goal in `GOALS` with the recorded metrics once, and
`render_table` writes the Goals table of bench/RESULTS.md from the result, so each threshold is
written once, here, and its "target" text is rendered from it.

A target is either `Absolute(value)` in the goal's unit, or `Ratio(value)` to the goal's baseline
(value / baseline; `inverse=True` for baseline / value, e.g. "100x faster than cold"). A goal whose
metric (or, for a ratio target, whose baseline) was not measured in this run is "not run".
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from bench.common import Metric, fmt

Op = Literal["<=", ">="]
Status = Literal["met", "not met", "not run"]
OPS: dict[str, Callable[[float, float], bool]] = {"<=": operator.le, ">=": operator.ge}


@dataclass(frozen=True)
class Absolute:
    """A threshold in the goal's own unit: `<= 30 ms`."""

    value: float


@dataclass(frozen=True)
class Ratio:
    """A threshold on value / baseline (or baseline / value when `inverse`): `>= 0.9x floor`."""

    value: float
    inverse: bool = False


@dataclass(frozen=True)
class Goal:
    """One row of the Goals table.

    `label` may name `{ingest_n}` (the run's ingest corpus size). `baseline_label` says what the
    baseline is; the baseline metric's own detail text is appended to it. `note` follows the target
    text (`"(our bar for 'instant')"`, `"floor"`).
    """

    key: str
    label: str
    metric: str
    unit: str
    op: Op
    target: Absolute | Ratio
    baseline: str | None = None
    baseline_label: str = ""
    note: str = ""

    def target_text(self) -> str:
        t = self.target
        amount = f"{t.value:g}x" if isinstance(t, Ratio) else f"{t.value:g} {self.unit}"
        return " ".join(part for part in (self.op, amount, self.note) if part)

    def ratio(self, value: float | None, baseline: float | None) -> float | None:
        inverse = isinstance(self.target, Ratio) and self.target.inverse
        top, bottom = (baseline, value) if inverse else (value, baseline)
        if top is None or bottom is None or bottom == 0:
            return None
        return top / bottom


@dataclass
class Outcome:
    """A goal checked against one run's metrics."""

    goal: Goal
    name: str
    value: float | None
    baseline: float | None
    baseline_name: str
    ratio: float | None
    status: Status
    note: str = ""
    profile: str = ""  # filled in by bench.run for goals not met

    @property
    def met(self) -> bool | None:
        return None if self.status == "not run" else self.status == "met"

    def public(self) -> dict[str, Any]:
        """The goal's entry in bench/results.json."""
        return {
            "name": self.name,
            "unit": self.goal.unit,
            "metric": self.goal.metric,
            "value": self.value,
            "baseline_metric": self.goal.baseline,
            "baseline": self.baseline,
            "baseline_name": self.baseline_name,
            "ratio": self.ratio,
            "goal": self.goal.target_text(),
            "met": self.met,
            "status": self.status,
            "note": self.note,
        }


# -- the table ------------------------------------------------------------------------------------
SIZES = (1000, 10000, 100000)
RETRIEVAL_MS = {1000: 30.0, 10000: 100.0, 100000: 100.0}  # hybrid search p50 and p95, embedded or server
INSTANT = "(our bar for 'instant')"


def _search_goals() -> list[Goal]:
    return [
        Goal(
            f"search_{q}_{n}",
            f"retrieval (hybrid search) {q} at {n:,} papers",
            f"latency.{n}.search_{q}_ms",
            "ms",
            "<=",
            Absolute(RETRIEVAL_MS[n]),
            baseline=f"latency.{n}.floor_{q}_ms",
            baseline_label="floor: embed query + one raw Chroma query",
        )
        for n in SIZES
        for q in ("p50", "p95")
    ]


def _server_goals() -> list[Goal]:
    return [
        Goal(
            f"server_search_{q}_{n}",
            f"retrieval {q} against `chroma run` at {n:,} papers",
            f"server.{n}.search_{q}_ms",
            "ms",
            "<=",
            Absolute(RETRIEVAL_MS[n]),
            baseline=f"latency.{n}.search_{q}_ms",
            baseline_label="same search on the embedded library",
        )
        for n in SIZES
        for q in ("p50", "p95")
    ]


QUALITY_SETS = {"dev": "dev questions over the seed library", "scifact_train": "SciFact train claims (2,101 abstracts)"}


def _quality_goals() -> list[Goal]:
    """Ours never below the better of its own components (nDCG@10); on SciFact train, 5% above (issue 12).

    The baseline `quality.<set>.best_component_ndcg` is the max of BM25 alone and dense alone, derived by
    the quality section from the same run; its detail names which component it is.
    """
    floors = [
        Goal(
            f"quality_{name}",
            f"retrieval nDCG@10, {label}",
            f"quality.{name}.ours_ndcg",
            "nDCG@10",
            ">=",
            Ratio(1.0),
            baseline=f"quality.{name}.best_component_ndcg",
            note="(never below a component)",
        )
        for name, label in QUALITY_SETS.items()
    ]
    return [
        *floors,
        Goal(
            "quality_dev_set_recall",
            "set questions (3–5 papers each), recall@10, dev set",
            "quality.dev.set_recall",
            "recall",
            ">=",
            Absolute(0.95),
            note="(issue 12)",
        ),
        Goal(
            "quality_dev_set_recall_vs_components",
            "set questions, recall@10, ours vs the better component",
            "quality.dev.set_recall",
            "recall",
            ">=",
            Ratio(1.0),
            baseline="quality.dev.best_component_set_recall",
            note="(never below a component)",
        ),
        Goal(
            "quality_dev_near_abstain",
            "near-domain questions (answer not in the library) abstained, offline, dev set",
            "quality.dev.near_abstain",
            "share",
            ">=",
            Absolute(0.90),
            note="(issue 12)",
        ),
        Goal(
            "quality_dev_false_abstain",
            "answerable dev questions abstained on (false abstentions)",
            "quality.dev.false_abstain",
            "share",
            "<=",
            Absolute(0.05),
            note="(issue 12)",
        ),
        Goal(
            "quality_scifact_train_gain",
            f"retrieval nDCG@10, {QUALITY_SETS['scifact_train']}, gain over the better component",
            "quality.scifact_train.ours_ndcg",
            "nDCG@10",
            ">=",
            Ratio(1.05),
            baseline="quality.scifact_train.best_component_ndcg",
            note="(issue 12)",
        ),
    ]


def _verify_goals() -> list[Goal]:
    """The verification core on SciFact train claims (issue 22): AUC of its score for evidence against
    NOT_ENOUGH_INFO, its margin over the better same-run baseline, and the shipped verdicts' balanced
    accuracy (thresholds fixed before the run)."""
    return [
        Goal(
            "verify_auc", "cited-claim verification, AUC (evidence vs not enough info), SciFact train claims",
            "verify.scifact.ours_auc", "AUC", ">=", Absolute(0.90), note="(issue 22)",
        ),
        Goal(
            "verify_auc_gain", "cited-claim verification, AUC over the better same-run cosine baseline",
            "verify.scifact.auc_gain", "AUC", ">=", Absolute(0.03), note="(issue 22)",
        ),
        Goal(
            "verify_balanced_accuracy", "cited-claim verification, balanced accuracy of the shipped verdicts",
            "verify.scifact.balanced_accuracy", "share", ">=", Absolute(0.80), note="(issue 22)",
        ),
    ]


GOALS: tuple[Goal, ...] = (
    Goal(
        "cold_ingest",
        "cold ingest throughput, `papers ingest` of {ingest_n} abstracts",
        "ingest.cold_papers_per_s",
        "papers/s",
        ">=",
        Ratio(0.9),
        baseline="ingest.floor_papers_per_s",
        baseline_label="raw encoder floor",
        note="floor",
    ),
    Goal(
        "cold_ingest_vs_llamaindex",
        "cold ingest vs llama-index default pipeline ({ingest_n} abstracts)",
        "ingest.cold_papers_per_s",
        "papers/s",
        ">=",
        Ratio(1.0),
        baseline="ingest.llamaindex_papers_per_s",
        baseline_label="VectorStoreIndex.from_documents into Chroma, HuggingFaceEmbedding of the same model",
        note="(faster than the framework default)",
    ),
    Goal(
        "reingest",
        "re-ingest of the unchanged {ingest_n} abstracts (median of 3)",
        "ingest.reingest_s",
        "s",
        ">=",
        Ratio(100.0, inverse=True),
        baseline="ingest.cold_s",
        baseline_label="cold ingest of the same file",
        note="faster than cold",
    ),
    Goal(
        "cli_help",
        "`papers --help`",
        "cli.help_s",
        "s",
        "<=",
        Absolute(1.0),
        baseline="cli.python_s",
        baseline_label="bare `python -c pass`",
        note=INSTANT,
    ),
    Goal(
        "cli_list",
        "`papers list` at 1k papers",
        "cli.list_1k_s",
        "s",
        "<=",
        Absolute(1.0),
        baseline="cli.python_s",
        baseline_label="bare `python -c pass`",
        note=INSTANT,
    ),
    *_search_goals(),
    Goal(
        "ask_p50_1k",
        "warm offline ask p50 at 1,000 papers",
        "latency.1000.ask_p50_ms",
        "ms",
        "<=",
        Absolute(300.0),
        baseline="latency.1000.search_p50_ms",
        baseline_label="hybrid search alone (the retrieval every answer starts with)",
    ),
    Goal(
        "load_20",
        "20 concurrent asks through one Engine (1,000 papers)",
        "latency.1000.load_errors",
        "errors",
        "<=",
        Absolute(0),
        note="(p95 recorded)",
    ),
    Goal(
        "rss_100000",
        "peak RSS at 100,000 papers (open, searches, asks)",
        "latency.100000.peak_rss_mb",
        "MB",
        "<=",
        Absolute(1536.0),
        baseline="latency.1000.rss_before_load_mb",
        baseline_label="same process at 1,000 papers (before its load test)",
        note="(1.5 GB)",
    ),
    Goal(
        "ready",
        "process start to first answer (`papers ask`, offline, 1,000 papers)",
        "ready.s",
        "s",
        "<=",
        Absolute(6.0),
        baseline="ready.floor_s",
        baseline_label="process that only loads the model and embeds the question",
    ),
    *_server_goals(),
    *_quality_goals(),
    Goal(
        "api_load_errors",
        "`papers serve`: failed requests, 50 clients for 30 s while an ingest job runs",
        "api.errors",
        "requests",
        "<=",
        Absolute(0),
        note="(p50/p95 recorded)",
    ),
    Goal(
        "api_load_papers",
        "`papers serve`: papers lost or duplicated by that ingest job",
        "api.lost_papers",
        "papers",
        "<=",
        Absolute(0),
    ),
    Goal(
        "map_10000",
        "library map of 10,000 papers (projection, named themes, points)",
        "map.10000_s",
        "s",
        "<=",
        Absolute(3.0),
        baseline="map.pca_10000_s",
        baseline_label="plain PCA of the same vectors",
    ),
    *_verify_goals(),
)


# -- check and render -----------------------------------------------------------------------------
def check(metrics: Mapping[str, Metric], context: Mapping[str, Any] | None = None) -> list[Outcome]:
    """Every goal in `GOALS` against this run's metrics, in table order."""
    return [check_goal(g, metrics, context) for g in GOALS]


def check_goal(goal: Goal, metrics: Mapping[str, Metric], context: Mapping[str, Any] | None = None) -> Outcome:
    got = metrics.get(goal.metric)
    base = metrics.get(goal.baseline) if goal.baseline else None
    value = got.value if got else None
    baseline = base.value if base else None
    ratio = goal.ratio(value, baseline)
    compared = ratio if isinstance(goal.target, Ratio) else value
    status: Status = "not run"
    if compared is not None:
        status = "met" if OPS[goal.op](compared, goal.target.value) else "not met"
    base_name = goal.baseline_label
    if base and base.detail:
        base_name = f"{base_name} ({base.detail})" if base_name else base.detail
    return Outcome(
        goal,
        goal.label.format(**(context or {})),
        value,
        baseline,
        base_name,
        ratio,
        status,
        note=got.detail if got else "",
    )


STATUS_TEXT: dict[Status, str] = {"met": "**met**", "not met": "**NOT MET**", "not run": "not run"}


def render_table(outcomes: list[Outcome]) -> list[str]:
    """The Goals table of bench/RESULTS.md, one row per goal."""
    lines = ["| goal | value | baseline | ratio | target | status |", "|---|---|---|---|---|---|"]
    for o in outcomes:
        base = f"{fmt(o.baseline)} ({o.baseline_name})" if o.baseline_name else fmt(o.baseline)
        value = f"{fmt(o.value)} {o.goal.unit}" if o.value is not None else "—"
        note = f"<br>{o.note}" if o.note else ""
        lines.append(
            f"| {o.name} | {value}{note} | {base} | {fmt(o.ratio, 3)} | {o.goal.target_text()} "
            f"| {STATUS_TEXT[o.status]} |"
        )
    return lines


def summary(outcomes: list[Outcome]) -> str:
    """`20/21 goals met (3 not run)`."""
    run = [o for o in outcomes if o.status != "not run"]
    met = sum(o.status == "met" for o in run)
    skipped = len(outcomes) - len(run)
    return f"{met}/{len(run)} goals met" + (f" ({skipped} not run)" if skipped else "")
