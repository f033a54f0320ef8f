"""`papers ingest --zotero DATA_DIR`: a Zotero library (tests/data/zotero-fixture, built from Zotero's
real schema by its build_fixture.py) imported, re-synced, pruned, filtered, and refused when broken."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sqlite3
from pathlib import Path
from types import ModuleType

import pytest

from assistant.engine import Engine
from assistant.errors import ZoteroError
from assistant.settings import Settings, get_settings
from ingest.sources.zotero import load_zotero, parse_year
from tests.support import assert_one_line_error, papers, papers_json

FIXTURE = Path(__file__).resolve().parent / "data" / "zotero-fixture"
MISSING_PDF = "storage/PDFM0002/missing.pdf"


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "Zotero"
    shutil.copytree(FIXTURE, target, ignore=shutil.ignore_patterns("schema", "*.py", "__pycache__"))
    return target


def _sql(data_dir: Path, *statements: str) -> None:
    db = sqlite3.connect(data_dir / "zotero.sqlite")
    db.execute("PRAGMA foreign_keys=ON")  # as Zotero runs: deleting an item cascades to its rows
    with db:
        for s in statements:
            db.execute(s)
    db.close()


def test_import_every_regular_item_with_its_metadata_and_pdf_text() -> None:
    done = papers("ingest", "--zotero", str(FIXTURE))
    assert done.returncode == 0, done.stderr
    assert "added 4, updated 0, unchanged 0, failed 0" in done.stdout
    assert "skipped 2 notes, 1 standalone attachments, 1 annotations, 1 trashed" in done.stdout
    warnings = [ln for ln in done.stderr.splitlines() if "warning:" in ln]
    assert len(warnings) == 1 and MISSING_PDF in warnings[0] and "zotero:CONF0002" in warnings[0], done.stderr
    assert "Traceback" not in done.stderr

    listed = {p["source"]: p for p in papers_json("list", "--json")}
    assert sorted(listed) == ["zotero:CONF0002", "zotero:JRNL0001", "zotero:PREP0003", "zotero:REPT0004"]
    ja, conf, prep, rept = (listed[f"zotero:{k}"] for k in ("JRNL0001", "CONF0002", "PREP0003", "REPT0004"))
    assert ja["id"] == "doi:10.1234/jcr.2019.001" and ja["doi"] == "10.1234/JCR.2019.001"
    assert ja["authors"] == ["Ada Lovelace", "Alan Turing", "Grace Hopper"]
    assert ja["year"] == 2019 and ja["venue"] == "Journal of Citation Retrieval"
    assert ja["tags"] == ["citations", "collection:Reading/Retrieval", "retrieval"]
    # A single-field creator stays whole; the editor is not an author; "2020-00-00 2020" is 2020.
    assert conf["authors"] == ["OpenScholar Consortium", "Barbara Liskov"] and conf["year"] == 2020
    assert conf["venue"] == "Proceedings of the Workshop on Scholarly Search"
    assert conf["tags"] == ["collection:Reading", "embeddings", "to-read"]  # metadata in despite the missing PDF
    # No DOI, an arXiv id: the one id rule's arxiv:… (the item key is the id only when neither is known).
    assert prep["id"] == "arxiv:2101.00001" and prep["arxiv_id"] == "2101.00001" and prep["doi"] == ""
    assert prep["url"] == "https://arxiv.org/abs/2101.00001" and prep["tags"] == ["chunking", "collection:Methods"]
    assert rept["id"] == "zotero:REPT0004" and rept["year"] == 2015 and rept["tags"] == []
    assert "A Paper Moved to the Trash" not in {p["title"] for p in listed.values()}

    # The phrase is only in the PDF's body, not in any Zotero field.
    hits = papers_json("search", "quokka calibration protocol", "--json")["results"]
    assert hits[0]["id"] == "doi:10.1234/jcr.2019.001" and "quokka calibration protocol" in hits[0]["snippet"]


def test_second_run_is_all_unchanged_and_the_papers_are_identical(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    settings = get_settings()
    engine = Engine(settings, embedder=embedder)
    first = load_zotero(FIXTURE, settings)
    assert engine.ingest(first.records).added == 4
    # Elsewhere on disk (another temp copy, another folder), the same items give the same bytes.
    again = load_zotero(_copy(tmp_path), settings)
    assert [r.model_dump_json() for r in again.records] == [r.model_dump_json() for r in first.records]
    report = engine.ingest(again.records)
    assert (report.added, report.updated, report.unchanged, report.embedded) == (0, 0, 4, 0)
    engine.library.close()

    done = papers_json("ingest", "--zotero", str(FIXTURE), "--json")  # the CLI on the same library
    assert (done["added"], done["updated"], done["unchanged"], done["failed"]) == (0, 0, 4, 0)
    assert done["zotero"]["would_remove"] == [] and len(done["zotero"]["warnings"]) == 1


def test_items_gone_from_zotero_are_listed_then_pruned(tmp_path: Path) -> None:
    zdir = _copy(tmp_path)
    assert papers_json("ingest", "--zotero", str(zdir), "--json")["added"] == 4
    _sql(
        zdir,
        "DELETE FROM items WHERE key='PREP0003'",  # emptied from the trash
        "INSERT INTO deletedItems (itemID) SELECT itemID FROM items WHERE key='REPT0004'",  # moved to the trash
    )
    kept = papers("ingest", "--zotero", str(zdir))
    assert kept.returncode == 0, kept.stderr
    assert "unchanged 2" in kept.stdout
    assert "skipped 2 notes, 1 standalone attachments, 1 annotations, 2 trashed" in kept.stdout
    would = [ln for ln in kept.stdout.splitlines() if ln.startswith("would remove (use --prune): ")]
    assert len(would) == 2 and "zotero:PREP0003" in would[0] and "zotero:REPT0004" in would[1], kept.stdout
    assert len(papers_json("list", "--json")) == 4

    # A filtered run still judges removal against the whole Zotero library.
    filtered = papers_json("ingest", "--zotero", str(zdir), "--tag", "retrieval", "--json")
    assert filtered["zotero"]["would_remove"] == ["arxiv:2101.00001", "zotero:REPT0004"]

    pruned = papers_json("ingest", "--zotero", str(zdir), "--prune", "--json")
    assert pruned["zotero"]["removed"] == ["arxiv:2101.00001", "zotero:REPT0004"]
    assert pruned["zotero"]["would_remove"] == []
    assert sorted(p["source"] for p in papers_json("list", "--json")) == ["zotero:CONF0002", "zotero:JRNL0001"]
    again = papers("ingest", "--zotero", str(zdir))
    assert "would remove" not in again.stdout and "removed" not in again.stdout


def test_collection_and_tag_filters() -> None:
    settings = get_settings()

    def keys(**kw: list[str]) -> list[str]:
        return sorted(r.source for r in load_zotero(FIXTURE, settings, **kw).records)

    assert keys(collections=["Reading"]) == ["zotero:CONF0002", "zotero:JRNL0001"]  # with its subcollection
    assert keys(collections=["Retrieval"]) == keys(collections=["Reading/Retrieval"]) == ["zotero:JRNL0001"]
    assert keys(collections=["Methods", "Retrieval"]) == ["zotero:JRNL0001", "zotero:PREP0003"]
    assert keys(tags=["chunking"]) == ["zotero:PREP0003"]
    assert keys(tags=["TO-READ"]) == ["zotero:CONF0002"]
    assert keys(collections=["Reading"], tags=["retrieval"]) == ["zotero:JRNL0001"]
    assert keys(tags=["no-such-tag"]) == []
    with pytest.raises(ZoteroError, match="no Zotero collection named 'Nope'"):
        load_zotero(FIXTURE, settings, collections=["Nope"])

    done = papers_json("ingest", "--zotero", str(FIXTURE), "--collection", "Reading", "--json")
    assert done["added"] == 2 and (done["zotero"]["items"], done["zotero"]["selected"]) == (4, 2)
    assert sorted(p["source"] for p in papers_json("list", "--json")) == ["zotero:CONF0002", "zotero:JRNL0001"]
    assert_one_line_error(papers("ingest", "--tag", "x"), "--zotero")
    assert_one_line_error(papers("ingest", "--zotero", str(FIXTURE), "--collection", "Nope"), "Nope", "Reading")


def test_broken_sources_are_one_line_errors(tmp_path: Path) -> None:
    assert_one_line_error(papers("ingest", "--zotero", str(tmp_path / "nowhere")), "nowhere", "no such")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert_one_line_error(papers("ingest", "--zotero", str(empty)), str(empty / "zotero.sqlite"))

    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "zotero.sqlite").write_bytes(b"SQLite format 3\x00" + b"\x13" * 5000)
    line = assert_one_line_error(papers("ingest", "--zotero", str(corrupt)), str(corrupt / "zotero.sqlite"))
    assert "cannot" in line or "not a Zotero" in line

    foreign = tmp_path / "foreign"
    foreign.mkdir()
    other = sqlite3.connect(foreign / "zotero.sqlite")
    other.execute("CREATE TABLE t(x)")
    other.commit()
    other.close()
    assert_one_line_error(papers("ingest", "--zotero", str(foreign)), "not a Zotero database")

    newer = _copy(tmp_path)
    _sql(newer, "UPDATE version SET version=999 WHERE schema='userdata'")
    done = papers("ingest", "--zotero", str(newer))
    assert_one_line_error(done, str(newer / "zotero.sqlite"), "999", "newer")
    assert papers_json("list", "--json") == []


def test_a_locked_database_is_read_from_a_copy(tmp_path: Path) -> None:
    zdir = _copy(tmp_path)
    holder = sqlite3.connect(zdir / "zotero.sqlite", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # what a running Zotero holds while writing
    try:
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            sqlite3.connect(zdir / "zotero.sqlite", timeout=0).execute("SELECT COUNT(*) FROM items").fetchone()
        got = load_zotero(zdir, get_settings())
        assert got.read == 4 and len(got.records) == 4
    finally:
        holder.rollback()
        holder.close()

    # Zotero's usual state: WAL mode, an exclusive lock, recent writes still only in zotero.sqlite-wal.
    wal = sqlite3.connect(zdir / "zotero.sqlite", isolation_level=None)
    wal.execute("PRAGMA journal_mode=WAL")
    wal.execute("PRAGMA wal_autocheckpoint=0")
    wal.execute("PRAGMA locking_mode=EXCLUSIVE")
    wal.execute(
        "UPDATE itemDataValues SET value='A Survey of Answer Abstention, Revised' "
        "WHERE value='A Survey of Answer Abstention'"
    )
    try:
        assert (zdir / "zotero.sqlite-wal").stat().st_size > 0
        titles = {r.title for r in load_zotero(zdir, get_settings()).records}  # type: ignore[union-attr]
        assert "A Survey of Answer Abstention, Revised" in titles
    finally:
        wal.close()


def test_dates_to_years() -> None:
    assert parse_year("2017-06-12 2017-06-12") == 2017
    assert parse_year("2017-00-00 2017") == 2017
    assert parse_year("0000-00-00 ") is None
    assert parse_year("Spring 1998") == 1998
    assert parse_year("") is None


def _build_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_fixture", FIXTURE / "build_fixture.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_the_fixture_script_rebuilds_the_committed_fixture(tmp_path: Path) -> None:
    built = _build_module().build(tmp_path / "rebuilt")

    def dump(path: Path) -> list[str]:
        db = sqlite3.connect(path)
        try:
            return list(db.iterdump())
        finally:
            db.close()

    assert dump(built) == dump(FIXTURE / "zotero.sqlite")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    rebuilt = [json.loads(r.model_dump_json()) for r in load_zotero(built.parent, settings).records]
    committed = [json.loads(r.model_dump_json()) for r in load_zotero(FIXTURE, settings).records]
    assert rebuilt == committed


def test_linked_files_absolute_are_read_relative_are_a_warning(tmp_path: Path) -> None:
    zdir = _copy(tmp_path)
    pdf = zdir / "storage" / "PDFA0001" / "sparse-retrieval.pdf"
    linked = tmp_path / "elsewhere.pdf"
    shutil.copyfile(pdf, linked)
    key = "(SELECT itemID FROM items WHERE key='{}')"
    _sql(
        zdir,
        f"UPDATE itemAttachments SET linkMode=2, path='{linked}' WHERE itemID={key.format('PDFM0002')}",
        f"UPDATE itemAttachments SET linkMode=2, path='attachments:papers/a.pdf' WHERE itemID={key.format('PDFA0001')}",
    )
    got = load_zotero(zdir, get_settings())
    by_key = {r.source: r for r in got.records}
    conf = by_key["zotero:CONF0002"]
    assert "quokka calibration protocol" in conf.full_text  # type: ignore[union-attr]
    assert "quokka" not in by_key["zotero:JRNL0001"].full_text  # type: ignore[union-attr]
    assert len(got.warnings) == 1 and "papers/a.pdf" in got.warnings[0] and "base directory" in got.warnings[0]
