"""The bench goal table (bench/goals.py) and section registry: checked on synthetic metrics, no model."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bench import goals
from bench.common import Metric
from bench.goals import GOALS, Absolute, Goal, Ratio, check_goal, render_table
from bench.sections import SECTIONS, plan

ABS_LE = Goal("a", "absolute <=", "m.value", "ms", "<=", Absolute(30.0), baseline="m.base", baseline_label="floor")
ABS_GE = Goal("b", "absolute >=", "m.value", "papers/s", ">=", Absolute(10.0))
RATIO_GE = Goal("c", "ratio >=", "m.value", "papers/s", ">=", Ratio(0.9), baseline="m.base", note="floor")
RATIO_INV = Goal("d", "inverse ratio", "m.value", "s", ">=", Ratio(100.0, inverse=True), baseline="m.base")
RATIO_LE = Goal("e", "ratio <=", "m.value", "MB", "<=", Ratio(2.0), baseline="m.base")


def metrics(value: float | None, base: float | None = None) -> dict[str, Metric]:
    out = {}
    if value is not None:
        out["m.value"] = Metric(value)
    if base is not None:
        out["m.base"] = Metric(base)
    return out


@pytest.mark.parametrize(
    ("goal", "value", "base", "status"),
    [
        (ABS_LE, 30.0, None, "met"),  # at the threshold is met; no baseline needed for an absolute target
        (ABS_LE, 30.1, 10.0, "not met"),
        (ABS_LE, None, 10.0, "not run"),
        (ABS_GE, 10.0, None, "met"),
        (ABS_GE, 9.9, None, "not met"),
        (ABS_GE, None, None, "not run"),
        (RATIO_GE, 9.0, 10.0, "met"),
        (RATIO_GE, 8.9, 10.0, "not met"),
        (RATIO_GE, 9.0, None, "not run"),  # a ratio needs its baseline
        (RATIO_GE, None, 10.0, "not run"),
        (RATIO_INV, 0.25, 25.0, "met"),  # 25 / 0.25 = 100x
        (RATIO_INV, 0.26, 25.0, "not met"),
        (RATIO_LE, 200.0, 100.0, "met"),
        (RATIO_LE, 201.0, 100.0, "not met"),
        (RATIO_LE, 201.0, 0.0, "not run"),  # no ratio to a zero baseline
    ],
)
def test_checker_status(goal: Goal, value: float | None, base: float | None, status: str) -> None:
    outcome = check_goal(goal, metrics(value, base))
    assert outcome.status == status
    assert outcome.met == {"met": True, "not met": False, "not run": None}[status]


def test_ratio_direction_and_baseline_detail() -> None:
    m = {"m.value": Metric(0.5, "median of 3"), "m.base": Metric(50.0, "bert, batch 16")}
    o = check_goal(RATIO_INV, m)
    assert o.ratio == pytest.approx(100.0)
    assert o.note == "median of 3"
    assert o.baseline_name == "bert, batch 16"  # no label of its own: the baseline's detail alone
    o = check_goal(ABS_LE, m)
    assert o.ratio == pytest.approx(0.01)  # value / baseline, shown beside an absolute target
    assert o.baseline_name == "floor (bert, batch 16)"


def test_target_text_is_rendered_from_the_threshold() -> None:
    assert ABS_LE.target_text() == "<= 30 ms"
    assert RATIO_GE.target_text() == ">= 0.9x floor"
    assert RATIO_INV.target_text() == ">= 100x"
    for g in GOALS:
        text = g.target_text()
        assert text.startswith(f"{g.op} {g.target.value:g}"), (g.key, text)
        if isinstance(g.target, Absolute):
            assert f"{g.target.value:g} {g.unit}" in text, (g.key, text)
        else:
            assert f"{g.target.value:g}x" in text and g.baseline, (g.key, text)


def test_every_goal_of_the_current_table() -> None:
    by_key = {g.key: g for g in GOALS}
    assert len(by_key) == len(GOALS), "goal keys are unique"
    expected = {
        "cold_ingest": ">= 0.9x floor",
        "cold_ingest_vs_llamaindex": ">= 1x (faster than the framework default)",
        "reingest": ">= 100x faster than cold",
        "cli_help": "<= 1 s (our bar for 'instant')",
        "cli_list": "<= 1 s (our bar for 'instant')",
        "ask_p50_1k": "<= 300 ms",
        "load_20": "<= 0 errors (p95 recorded)",
        "rss_100000": "<= 1536 MB (1.5 GB)",
        "ready": "<= 6 s",
        **{f"{kind}_{q}_1000": "<= 30 ms" for kind in ("search", "server_search") for q in ("p50", "p95")},
        **{
            f"{kind}_{q}_{n}": "<= 100 ms"
            for kind in ("search", "server_search")
            for q in ("p50", "p95")
            for n in (10000, 100000)
        },
        "quality_dev": ">= 1x (never below a component)",
        "quality_scifact_train": ">= 1x (never below a component)",
        "quality_scifact_train_gain": ">= 1.05x (issue 12)",
        "quality_dev_set_recall": ">= 0.95 recall (issue 12)",
        "quality_dev_set_recall_vs_components": ">= 1x (never below a component)",
        "quality_dev_near_abstain": ">= 0.9 share (issue 12)",
        "quality_dev_false_abstain": "<= 0.05 share (issue 12)",
        "api_load_errors": "<= 0 requests (p50/p95 recorded)",
        "api_load_papers": "<= 0 papers",
        "map_10000": "<= 3 s",
        "verify_auc": ">= 0.9 AUC (issue 22)",
        "verify_auc_gain": ">= 0.03 AUC (issue 22)",
        "verify_balanced_accuracy": ">= 0.8 share (issue 22)",
    }
    assert {k: g.target_text() for k, g in by_key.items()} == expected


def test_table_renders_every_goal_with_not_run_for_the_rest() -> None:
    m = {
        "cli.help_s": Metric(0.07),
        "cli.list_1k_s": Metric(1.5),
        "cli.python_s": Metric(0.02),
        "latency.1000.load_errors": Metric(0, "p50 383 ms"),
    }
    outcomes = goals.check(m, {"ingest_n": 100})
    lines = render_table(outcomes)
    assert lines[0] == "| goal | value | baseline | ratio | target | status |"
    assert len(lines) == 2 + len(GOALS)
    rows = {o.goal.key: line for o, line in zip(outcomes, lines[2:])}
    assert rows["cli_help"].endswith("| <= 1 s (our bar for 'instant') | **met** |")
    assert "0.02 (bare `python -c pass`)" in rows["cli_help"]
    assert rows["cli_list"].endswith("| **NOT MET** |")
    assert "| 0 errors<br>p50 383 ms |" in rows["load_20"]
    assert rows["ready"].endswith("| not run |")
    assert "100 abstracts" in rows["cold_ingest"]
    assert goals.summary(outcomes) == f"2/3 goals met ({len(GOALS) - 3} not run)"
    public = outcomes[0].public()
    assert public["goal"] == ">= 0.9x floor" and public["met"] is None and public["status"] == "not run"


def test_registry_covers_the_sections_named_in_only_help() -> None:
    from bench import run

    help_text = " ".join(run_help(run).split())
    named = re.search(r"Comma-separated sections of: ([a-z, ]+)\.", help_text)
    assert named, help_text
    names = [s.strip() for s in named.group(1).split(",")]
    assert names == list(SECTIONS)
    for name in names:
        assert callable(SECTIONS[name].measure)
        assert set(SECTIONS[name].needs) <= SECTIONS.keys()


def run_help(run_module: object) -> str:
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), pytest.raises(SystemExit):
        run_module.main(["--help"])  # type: ignore[attr-defined]
    return buf.getvalue()


def test_plan_adds_what_a_section_needs_in_registry_order() -> None:
    assert plan({"cli"}) == ["libraries", "cli"]
    assert plan({"onnx", "ingest"}) == ["ingest", "onnx"]
    assert plan(set()) == list(SECTIONS)
    with pytest.raises(ValueError, match="unknown bench sections: nope"):
        plan({"nope"})


def test_every_goal_metric_is_one_a_section_records() -> None:
    """Goal metrics name a section prefix, so a typo'd key cannot sit in the table as 'not run' forever."""
    prefixes = {"ingest", "cli", "latency", "ready", "server", "quality", "map", "api", "verify", "llm"}
    for g in GOALS:
        for key in (g.metric, g.baseline):
            if key:
                assert key.split(".")[0] in prefixes & SECTIONS.keys(), (g.key, key)


def test_report_keeps_the_storage_decision(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bench import report

    monkeypatch.setattr(report, "STORAGE_DOC", tmp_path / "STORAGE.md")
    out = tmp_path / "out"
    out.mkdir()
    assert report.storage_section(out) == ["## Storage decision", "", "Storage decision: see docs/STORAGE.md.", ""]
    (out / "RESULTS.md").write_text("# R\n\n## Storage decision\n\nhand-written, 2 stores\n\n## Method\n\nx\n")
    assert report.storage_section(out) == ["## Storage decision\n\nhand-written, 2 stores", ""]
    (tmp_path / "STORAGE.md").write_text("# Storage\n\nOne SQLite file.\n\n## Numbers\n\n| a |\n")
    lines = report.storage_section(out)
    assert lines[0] == "## Storage decision" and "One SQLite file." in lines[4] and "### Numbers" in lines[4]


def test_quality_goals_compare_ours_with_the_better_component() -> None:
    by_key = {g.key: g for g in GOALS}
    quality = [by_key[k] for k in ("quality_dev", "quality_scifact_train", "quality_scifact_train_gain")]
    for g in quality:
        assert g.baseline == g.metric.replace("ours_ndcg", "best_component_ndcg") and g.unit == "nDCG@10"
    m = {
        "quality.dev.ours_ndcg": Metric(0.96, "46 questions, 46 papers"),
        "quality.dev.best_component_ndcg": Metric(0.97, "dense alone, the better of it and BM25 alone at 0.9500"),
        "quality.scifact_train.ours_ndcg": Metric(0.80),
        "quality.scifact_train.best_component_ndcg": Metric(0.78, "dense alone, same run"),
    }
    outcomes = {o.goal.key: o for o in goals.check(m, {"ingest_n": 100})}
    assert outcomes["quality_dev"].status == "not met"  # below the better component, however little
    assert outcomes["quality_scifact_train"].status == "met"
    gain = outcomes["quality_scifact_train_gain"]
    assert gain.status == "not met" and gain.ratio == pytest.approx(0.80 / 0.78)  # 1.026x < 1.05x
    rows = dict(zip(outcomes, render_table(list(outcomes.values()))[2:]))
    base = "0.97 (dense alone, the better of it and BM25 alone at 0.9500)"
    assert f"| 0.96 nDCG@10<br>46 questions, 46 papers | {base} |" in rows["quality_dev"]
    assert rows["quality_dev"].endswith("| 0.99 | >= 1x (never below a component) | **NOT MET** |")
    assert rows["quality_scifact_train_gain"].endswith("| 1.03 | >= 1.05x (issue 12) | **NOT MET** |")
    del m["quality.scifact_train.best_component_ndcg"]  # SciFact folder missing: the section records nothing
    assert check_goal(by_key["quality_scifact_train"], m).status == "not run"


def test_quality_table_renders_measured_and_skipped_sets() -> None:
    from bench.sections import quality

    systems = {"ours": {"ndcg@10": 0.8, "mrr@10": 0.75}, "bm25": {"ndcg@10": 0.76, "mrr@10": 0.7},
               "dense": {"ndcg@10": 0.77, "mrr@10": 0.72}}
    lines = quality.table(
        {
            "dev": {"label": "dev", "questions": 40, "systems": systems},
            "scifact_train": {"label": "SciFact", "skipped": "not run: ../shared/eval/scifact-train is missing"},
        }
    )
    assert lines[2] == "| dev | 40 | 0.800 | 0.760 | 0.770 | 0.750 | 0.700 | 0.720 |"
    assert lines[3].startswith("| SciFact | not run: ")
    assert plan({"quality"}) == ["quality"]
