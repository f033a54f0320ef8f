"""Web of Science's "Plain text file" export (savedrecs.txt: UTF-8 BOM, CRLF, two-letter tags,
three-space continuation lines, FN/VR header, EF end): full author names in order, wrapped title and
abstract joined, the DOI, keywords, cited references (CR) as structured references; a bad record is
one LoadError naming file and line; a .txt that is not WoS is no paper (and skipped in folder walks)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from assistant.models import LoadError, Paper
from assistant.settings import Settings
from ingest.sources import load_path, wanted
from ingest.sources.wos import looks_like_wos
from tests.support import papers, papers_json

EXPORTS = Path(__file__).parent / "data" / "exports"
WOS = EXPORTS / "wos-savedrecs.txt"
SETTINGS = Settings(_env_file=None)  # type: ignore[call-arg]


def test_wos_export_records() -> None:
    raw = WOS.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfFN Clarivate") and b"\r\n   " in raw  # the real shape: BOM, CRLF, indents
    items = list(load_path(WOS, SETTINGS))
    refiner, moe = [i for i in items if isinstance(i, Paper)]
    (bad,) = [i for i in items if isinstance(i, LoadError)]

    assert refiner.title == "PDE-Refiner: Achieving Accurate Long Rollouts with Neural PDE Solvers"
    assert refiner.authors == [  # AF (full names) over AU (initials), in order
        "Phillip Lippe",
        "Bastiaan S. Veeling",
        "Paris Perdikaris",
        "Richard E. Turner",
        "Johannes Brandstetter",
    ]
    assert refiner.abstract.startswith("Time-dependent partial differential equations (PDEs) are ubiquitous in science")
    assert "  " not in refiner.abstract and refiner.abstract.endswith("gained increased interest.")
    assert refiner.year == 2023 and refiner.venue == "Advances in Neural Information Processing Systems"
    assert refiner.tags[:3] == ["neural PDE solvers", "long rollouts", "spectral analysis"]
    assert refiner.source == f"{WOS}:3"

    refs = refiner.references
    assert len(refs) == 4 and refs[1].doi == "10.1073/pnas.2101784118" and refs[1].year == 2021
    assert refs[2].arxiv_id == "2010.08895" and refs[3].text == "Vaswani A, 2017, ADV NEUR IN, V30"

    assert moe.authors == ["Katrin Müller", "María García-López"]
    assert moe.id == "doi:10.5555/jmlr.2024.112" and moe.venue == "Journal of Machine Learning Research"
    assert (bad.source, bad.line) == (str(WOS), 82) and "no abstract" in bad.message


def test_txt_that_is_not_wos(tmp_path: Path) -> None:
    notes = tmp_path / "README.txt"
    notes.write_text("Papers for the reading group.\n")
    (err,) = list(load_path(notes, SETTINGS))
    assert isinstance(err, LoadError) and err.message.startswith("not a Web of Science export")
    assert not wanted(notes) and wanted(WOS) and looks_like_wos("PT J\nTI x\n")
    # A folder walk reads the WoS export and passes over the notes file without an error.
    shutil.copy(WOS, tmp_path / "savedrecs.txt")
    items = list(load_path(tmp_path, SETTINGS))
    assert sum(isinstance(i, Paper) for i in items) == 2
    assert [i.source for i in items if isinstance(i, LoadError)] == [str(tmp_path / "savedrecs.txt")]


def test_cli_ingests_a_wos_export(tmp_path: Path) -> None:
    path = shutil.copy(WOS, tmp_path / "savedrecs.txt")
    done = papers("ingest", str(path), "--json")
    assert done.returncode == 1 and "Traceback" not in done.stderr  # one record failed, the rest are in
    report = json.loads(done.stdout)
    assert report["added"] == 2 and [e["line"] for e in report["errors"]] == [82]
    listed = {p["id"]: p for p in papers_json("list", "--json")}
    assert listed["doi:10.5555/jmlr.2024.112"]["authors"] == ["Katrin Müller", "María García-López"]
