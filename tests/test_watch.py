"""`papers watch`: the real console script in a subprocess, files copied into its folder while it runs."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ingest.watch import Debouncer, Seen, settle, source_file
from tests.pdf_files import TITLE, paper_pdf
from tests.support import PAPERS, assert_one_line_error, papers, papers_json

DEBOUNCE = "1.0"  # the slow writer below pauses 0.3 s: well inside it


def _record(title: str, abstract: str) -> str:
    return json.dumps({"title": title, "abstract": abstract}) + "\n"


TWO = _record("Graph networks for molecules", "Message passing over atoms.") + _record(
    "Vision transformers at scale", "Patches as tokens."
)


def _titles() -> dict[str, dict[str, Any]]:
    return {p["title"]: p for p in papers_json("list", "--json")}


def _wait(what: str, ok: Callable[[], bool], log: Path, deadline_s: float = 60) -> None:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if ok():
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}; watcher said:\n{log.read_text()}")


# -- pure parts ---------------------------------------------------------------------------------------
def test_settle_waits_for_a_quiet_file() -> None:
    seen, verdict = settle(None, (10, 1.0), now=0.0, debounce_s=2)
    assert verdict == "wait" and seen == Seen((10, 1.0), 0.0)
    assert settle(seen, (10, 1.0), now=1.9, debounce_s=2)[1] == "wait"
    assert settle(seen, (20, 1.5), now=1.9, debounce_s=2) == (Seen((20, 1.5), 1.9), "wait")  # still growing
    assert settle(seen, (10, 1.0), now=2.0, debounce_s=2)[1] == "ready"
    assert settle(seen, None, now=2.0, debounce_s=2) == (None, "gone")


def test_debouncer_reports_ready_and_gone() -> None:
    stats: dict[Path, tuple[int, float] | None] = {Path("/a.pdf"): (1, 1.0), Path("/b.bib"): None}
    d = Debouncer(1.0, stat=lambda p: stats[p])
    d.touch(Path("/a.pdf"))
    d.touch(Path("/b.bib"))
    assert d.poll(0.0) == ([], [Path("/b.bib")])
    assert d.poll(0.5) == ([], [])
    assert d.poll(1.0) == ([Path("/a.pdf")], [])
    assert len(d) == 0


def test_source_names_its_file() -> None:
    assert source_file("x/refs.bib:12") == Path(os.path.abspath("x/refs.bib"))
    assert source_file("x/items.json#3") == Path(os.path.abspath("x/items.json"))
    assert source_file("/d/paper.pdf") == Path("/d/paper.pdf")
    assert source_file("arxiv:2308.05732") is None and source_file("seed:4") is None


# -- the real command ---------------------------------------------------------------------------------
def test_once_scans_then_reconciles_deletions(tmp_path: Path) -> None:
    folder = tmp_path / "inbox"
    folder.mkdir()
    (folder / "two.jsonl").write_text(TWO, encoding="utf-8")
    done = papers("watch", "--once", str(folder))
    assert done.returncode == 0, done.stderr
    assert "added 2 papers from two.jsonl" in done.stdout
    assert len(_titles()) == 2
    again = papers("watch", "--once", str(folder))
    assert again.returncode == 0 and again.stdout.strip() == "", again  # unchanged: nothing to say
    (folder / "two.jsonl").unlink()
    gone = papers("watch", "--once", str(folder))
    assert "removed 2 papers (two.jsonl deleted)" in gone.stdout, gone
    assert _titles() == {}


def test_no_folder_is_one_line_error(tmp_path: Path) -> None:
    assert_one_line_error(papers("watch", env={"PAPERS_WATCH": ""}), "PAPERS_WATCH")
    assert_one_line_error(papers("watch", str(tmp_path / "nowhere")), "not a directory")


def _start(folder: Path, log: Path) -> subprocess.Popen[str]:
    """`papers watch` with PAPERS_WATCH=folder (no DIR argument), once it said it is watching."""
    with log.open("w") as out:
        proc = subprocess.Popen(
            [str(PAPERS), "watch"],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            env={**os.environ, "PAPERS_WATCH": str(folder), "PAPERS_WATCH_DEBOUNCE_S": DEBOUNCE},
        )
    try:
        _wait("the watcher to start", lambda: "watching" in log.read_text() or proc.poll() is not None, log)
        assert proc.poll() is None, log.read_text()
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    return proc


def _stop(proc: subprocess.Popen[str], log: Path) -> str:
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0, log.read_text()
    said = log.read_text()
    assert "Traceback" not in said, said
    return said


@pytest.fixture()
def watcher(tmp_path: Path) -> Iterator[tuple[Path, Path, subprocess.Popen[str]]]:
    folder = tmp_path / "inbox"
    folder.mkdir()
    log = tmp_path / "watch.log"
    proc = _start(folder, log)
    try:
        yield folder, log, proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_watch_starts_with_a_scan_and_reconciles(tmp_path: Path) -> None:
    folder = tmp_path / "inbox"
    folder.mkdir()
    (folder / "gone.jsonl").write_text(_record("Deleted while nobody watched", "Gone."), encoding="utf-8")
    assert papers("watch", "--once", str(folder)).returncode == 0
    (folder / "gone.jsonl").unlink()
    (folder / "two.jsonl").write_text(TWO, encoding="utf-8")
    log = tmp_path / "watch.log"
    proc = _start(folder, log)
    try:
        _wait(
            "the scan", lambda: set(_titles()) == {"Graph networks for molecules", "Vision transformers at scale"}, log
        )
    finally:
        said = _stop(proc, log)
    assert "removed 1 paper (gone.jsonl deleted)" in said and "added 2 papers from two.jsonl" in said, said


def test_watch_ingests_landing_files_and_removes_deleted_ones(
    watcher: tuple[Path, Path, subprocess.Popen[str]], tmp_path: Path
) -> None:
    folder, log, proc = watcher
    (tmp_path / "two.jsonl").write_text(TWO, encoding="utf-8")
    shutil.copy(tmp_path / "two.jsonl", folder / "two.jsonl")
    shutil.copy(paper_pdf(tmp_path / "paper.pdf"), folder / "paper.pdf")
    (folder / "bad.jsonl").write_text('{"title": "broken"\n', encoding="utf-8")
    (folder / "notes.txt").write_text("not a paper", encoding="utf-8")  # not a watched extension
    _wait("three papers", lambda: len(_titles()) == 3, log)
    assert TITLE in _titles()

    # Written in two pieces within the debounce window: read once, complete.
    abstract = "Slow writers are read once they are quiet. " * 40
    line = _record("A file copied slowly", abstract)
    with (folder / "slow.jsonl").open("w", encoding="utf-8") as fh:
        fh.write(line[: len(line) // 2])
        fh.flush()
        time.sleep(0.3)
        fh.write(line[len(line) // 2 :])
    _wait("the slow file", lambda: "A file copied slowly" in _titles(), log)
    assert _titles()["A file copied slowly"]["abstract"] == abstract.strip()

    (folder / "two.jsonl").write_text(TWO.splitlines(keepends=True)[0], encoding="utf-8")  # one record left
    _wait("the dropped record's paper to go", lambda: "Vision transformers at scale" not in _titles(), log)
    assert len(_titles()) == 3
    (folder / "two.jsonl").unlink()
    _wait("the deleted file's papers to go", lambda: len(_titles()) == 2, log)
    assert set(_titles()) == {TITLE, "A file copied slowly"}

    said = _stop(proc, log)
    errors = [ln for ln in said.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and "bad.jsonl" in errors[0], said
    assert "slow.jsonl" not in "\n".join(errors)
    assert said.count("from slow.jsonl") == 1, said
    assert "added 2 papers from two.jsonl" in said
    assert "added 1 paper from paper.pdf" in said
    assert "removed 1 paper no longer in it from two.jsonl" in said
    assert "removed 1 paper (two.jsonl deleted)" in said
