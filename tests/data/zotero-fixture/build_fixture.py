"""Build tests/data/zotero-fixture/zotero.sqlite (and its storage/ folder) from Zotero's real schema.

    .venv/bin/python tests/data/zotero-fixture/build_fixture.py [OUT_DIR]

OUT_DIR defaults to this script's folder. The output is deterministic: the same script gives the same
rows and the same PDF bytes, so the committed files only change when this script does.

Origin of schema/ (Zotero is AGPL-3.0; these are small schema files kept as test data, unmodified
apart from trimming schema.json to its item types):
  - schema/userdata.sql, schema/system.sql: github.com/zotero/zotero, resource/schema/, commit
    f2a42bec150fa8b947ffde57afd72a22e805f085 (userdata schema version 129, system 32).
  - schema/schema.json: github.com/zotero/zotero-schema, schema.json "version" and "itemTypes",
    commit 5eedf4402ea6e7393eaf16902b63f572f48707a7 (global schema version 41).

The item types, fields and creator types get their ids the way Zotero gives them on a fresh profile
(Zotero.Schema._updateGlobalSchema with Zotero.ID.get = MAX(id)+1): fields and creator types in the
order they first appear walking schema.json's item types, item types in schema.json's order; the
*Combined tables are then filled as Zotero does at every start.

What the library holds (keys are Zotero's 8-character item keys):
  JRNL0001 journalArticle, 3 creators, DOI, tags, in Reading/Retrieval; PDF attachment PDFA0001
           (storage/PDFA0001/sparse-retrieval.pdf, body text with the phrase "quokka calibration
           protocol"), a child note and an annotation on the PDF.
  CONF0002 conferencePaper, a single-field creator, DOI, in Reading; PDF attachment PDFM0002 whose
           file is missing.
  PREP0003 preprint, arXiv URL and archive id, no DOI, in Methods.
  REPT0004 report, no DOI, no collection, an "undated" date part.
  TRSH0005 journalArticle in the trash (deletedItems).
  NOTE0006 standalone note; ATCH0007 standalone PDF attachment (linked URL, no file).
"""

from __future__ import annotations

import json
import sqlite3
import sys
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCHEMA = HERE / "schema"
USERDATA_VERSION = 129  # first line of userdata.sql
SYSTEM_VERSION = 32  # first line of system.sql
STAMP = "2024-05-01 12:00:00"

BODY = (
    "Our method ranks passages with a sparse lexical index and then reranks them with a small "
    "cross-encoder. In the evaluation we follow the quokka calibration protocol, which holds out one "
    "tenth of the questions and tunes the relevance threshold on the rest. Every answer sentence "
    "cites the passage it came from, and sentences without support are dropped."
)


def global_schema(db: sqlite3.Connection) -> None:
    """itemTypes, fields, creatorTypes and their mappings with the ids a fresh Zotero assigns."""
    data = json.loads((SCHEMA / "schema.json").read_text(encoding="utf-8"))
    field_ids: dict[str, int] = {}
    creator_ids: dict[str, int] = {}
    for t in data["itemTypes"]:
        for f in t["fields"]:
            for name in (f["field"], f.get("baseField")):
                if name and name not in field_ids:
                    field_ids[name] = len(field_ids) + 1
        for c in t["creatorTypes"]:
            creator_ids.setdefault(c["creatorType"], len(creator_ids) + 1)
    db.executemany("INSERT INTO fields VALUES (?, ?, NULL)", [(i, n) for n, i in field_ids.items()])
    db.executemany("INSERT INTO creatorTypes VALUES (?, ?)", [(i, n) for n, i in creator_ids.items()])
    for type_id, t in enumerate(data["itemTypes"], start=1):
        db.execute("INSERT INTO itemTypes VALUES (?, ?, NULL, 1)", (type_id, t["itemType"]))
        for index, f in enumerate(t["fields"]):
            db.execute("INSERT INTO itemTypeFields VALUES (?, ?, 0, ?)", (type_id, field_ids[f["field"]], index))
            if f.get("baseField"):
                db.execute(
                    "INSERT INTO baseFieldMappings VALUES (?, ?, ?)",
                    (type_id, field_ids[f["baseField"]], field_ids[f["field"]]),
                )
        for c in t["creatorTypes"]:
            db.execute(
                "INSERT INTO itemTypeCreatorTypes VALUES (?, ?, ?)",
                (type_id, creator_ids[c["creatorType"]], 1 if c.get("primary") else 0),
            )
    db.execute("INSERT INTO itemTypesCombined SELECT itemTypeID, typeName, display, 0 FROM itemTypes")
    db.execute("INSERT INTO fieldsCombined SELECT fieldID, fieldName, NULL, fieldFormatID, 0 FROM fields")
    db.execute("INSERT INTO itemTypeFieldsCombined SELECT itemTypeID, fieldID, hide, orderIndex FROM itemTypeFields")
    db.execute("INSERT INTO baseFieldMappingsCombined SELECT itemTypeID, baseFieldID, fieldID FROM baseFieldMappings")
    db.executemany(
        "INSERT INTO version VALUES (?, ?)",
        [("globalSchema", data["version"]), ("system", SYSTEM_VERSION), ("userdata", USERDATA_VERSION)],
    )


class Builder:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self.next_item = 1

    def _id(self, table: str, column: str, name_col: str, name: str) -> int:
        row = self.db.execute(f"SELECT {column} FROM {table} WHERE {name_col}=?", (name,)).fetchone()
        assert row, (table, name)
        return int(row[0])

    def item(self, item_type: str, key: str, fields: dict[str, str] | None = None) -> int:
        item_id = self.next_item
        self.next_item += 1
        type_id = self._id("itemTypes", "itemTypeID", "typeName", item_type)
        self.db.execute(
            "INSERT INTO items (itemID, itemTypeID, dateAdded, dateModified, clientDateModified, libraryID, key)"
            " VALUES (?, ?, ?, ?, ?, 1, ?)",
            (item_id, type_id, STAMP, STAMP, STAMP, key),
        )
        for name, value in (fields or {}).items():
            field_id = self._id("fields", "fieldID", "fieldName", name)
            self.db.execute("INSERT OR IGNORE INTO itemDataValues (value) VALUES (?)", (value,))
            value_id = self.db.execute("SELECT valueID FROM itemDataValues WHERE value=?", (value,)).fetchone()[0]
            self.db.execute("INSERT INTO itemData VALUES (?, ?, ?)", (item_id, field_id, value_id))
        return item_id

    def creators(self, item_id: int, people: list[tuple[str, str, str]]) -> None:
        """(creator type, first name, last name); an empty first name is a single-field name."""
        for order, (ctype, first, last) in enumerate(people):
            mode = 1 if not first else 0
            self.db.execute(
                "INSERT OR IGNORE INTO creators (firstName, lastName, fieldMode) VALUES (?, ?, ?)", (first, last, mode)
            )
            cid = self.db.execute(
                "SELECT creatorID FROM creators WHERE firstName=? AND lastName=? AND fieldMode=?", (first, last, mode)
            ).fetchone()[0]
            type_id = self._id("creatorTypes", "creatorTypeID", "creatorType", ctype)
            self.db.execute("INSERT INTO itemCreators VALUES (?, ?, ?, ?)", (item_id, cid, type_id, order))

    def tags(self, item_id: int, names: list[str]) -> None:
        for name in names:
            self.db.execute("INSERT OR IGNORE INTO tags (name) VALUES (?)", (name,))
            tag_id = self.db.execute("SELECT tagID FROM tags WHERE name=?", (name,)).fetchone()[0]
            self.db.execute("INSERT INTO itemTags VALUES (?, ?, 0)", (item_id, tag_id))

    def collection(self, cid: int, name: str, key: str, parent: int | None = None) -> int:
        self.db.execute(
            "INSERT INTO collections (collectionID, collectionName, parentCollectionID, clientDateModified,"
            " libraryID, key) VALUES (?, ?, ?, ?, 1, ?)",
            (cid, name, parent, STAMP, key),
        )
        return cid

    def attachment(self, key: str, parent: int | None, path: str | None, link_mode: int = 0) -> int:
        item_id = self.item("attachment", key, {"title": "Full Text PDF"})
        self.db.execute(
            "INSERT INTO itemAttachments (itemID, parentItemID, linkMode, contentType, path) VALUES (?, ?, ?, ?, ?)",
            (item_id, parent, link_mode, "application/pdf", path),
        )
        return item_id

    def note(self, key: str, parent: int | None, html: str) -> int:
        item_id = self.item("note", key)
        self.db.execute(
            "INSERT INTO itemNotes (itemID, parentItemID, note, title) VALUES (?, ?, ?, ?)",
            (item_id, parent, html, html.split(">")[1].split("<")[0] if ">" in html else html),
        )
        return item_id


def make_pdf(path: Path) -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_creation_date(datetime(2024, 5, 1, tzinfo=UTC))
    pdf.set_title("Sparse Retrieval for Citation-Grounded Answers")
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.multi_cell(0, 10, "Sparse Retrieval for Citation-Grounded Answers", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "B", 12)
    pdf.multi_cell(0, 8, "1 Method", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=11)
    pdf.multi_cell(0, 6, BODY, new_x="LMARGIN", new_y="NEXT")
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(path))


def build(out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    db_path = out / "zotero.sqlite"
    for stale in (db_path, out / "zotero.sqlite-wal", out / "zotero.sqlite-journal"):
        stale.unlink(missing_ok=True)
    db = sqlite3.connect(db_path)
    db.execute("PRAGMA page_size=1024")  # a small file to commit; Zotero's own is 4096
    db.executescript((SCHEMA / "system.sql").read_text(encoding="utf-8"))
    db.executescript((SCHEMA / "userdata.sql").read_text(encoding="utf-8"))
    with db:
        global_schema(db)
        db.execute("INSERT INTO libraries (libraryID, type, editable, filesEditable) VALUES (1, 'user', 1, 1)")
        b = Builder(db)
        reading = b.collection(1, "Reading", "COLL0001")
        retrieval = b.collection(2, "Retrieval", "COLL0002", parent=reading)
        methods = b.collection(3, "Methods", "COLL0003")

        ja = b.item(
            "journalArticle",
            "JRNL0001",
            {
                "title": "Sparse Retrieval for Citation-Grounded Answers",
                "abstractNote": "We study how sparse retrieval supports answers that cite their sources.",
                "date": "2019-03-15 2019-03-15",
                "DOI": "10.1234/JCR.2019.001",
                "url": "https://doi.org/10.1234/jcr.2019.001",
                "publicationTitle": "Journal of Citation Retrieval",
            },
        )
        b.creators(ja, [("author", "Ada", "Lovelace"), ("author", "Alan", "Turing"), ("author", "Grace", "Hopper")])
        b.tags(ja, ["retrieval", "citations"])
        db.execute("INSERT INTO collectionItems VALUES (?, ?, 0)", (retrieval, ja))
        pdf = b.attachment("PDFA0001", ja, "storage:sparse-retrieval.pdf")
        b.note("NOTC0008", ja, "<p>Child note: read section 3 again.</p>")
        annot = b.item("annotation", "ANNO0009")
        db.execute(
            "INSERT INTO itemAnnotations (itemID, parentItemID, type, text, sortIndex, position, isExternal)"
            " VALUES (?, ?, 1, 'quokka', '00000|000000|00000', '{}', 0)",
            (annot, pdf),
        )

        conf = b.item(
            "conferencePaper",
            "CONF0002",
            {
                "title": "Dense Passage Embeddings at Scale",
                "abstractNote": "Dense embeddings of passages scale to millions of documents on one machine.",
                "date": "2020-00-00 2020",
                "DOI": "10.5555/conf.2020.42",
                "proceedingsTitle": "Proceedings of the Workshop on Scholarly Search",
                "conferenceName": "Scholarly Search 2020",
            },
        )
        b.creators(
            conf, [("author", "", "OpenScholar Consortium"), ("author", "Barbara", "Liskov"), ("editor", "Ed", "Itor")]
        )
        b.tags(conf, ["embeddings", "to-read"])
        db.execute("INSERT INTO collectionItems VALUES (?, ?, 0)", (reading, conf))
        b.attachment("PDFM0002", conf, "storage:missing.pdf")

        prep = b.item(
            "preprint",
            "PREP0003",
            {
                "title": "Chunking Strategies for Long Scientific Documents",
                "abstractNote": "We compare fixed-size and section-aware chunking of long scientific papers.",
                "date": "2021-01-04 2021-01-04",
                "url": "https://arxiv.org/abs/2101.00001",
                "archiveID": "arXiv:2101.00001",
                "repository": "arXiv",
            },
        )
        b.creators(prep, [("author", "Claude", "Shannon"), ("author", "Edsger", "Dijkstra")])
        b.tags(prep, ["chunking"])
        db.execute("INSERT INTO collectionItems VALUES (?, ?, 0)", (methods, prep))

        rept = b.item(
            "report",
            "REPT0004",
            {
                "title": "A Survey of Answer Abstention",
                "abstractNote": "When should a question-answering system decline to answer?",
                "date": "2015-00-00 2015",
                "institution": "Institute of Careful Answers",
            },
        )
        b.creators(rept, [("author", "Donald", "Knuth")])

        trash = b.item("journalArticle", "TRSH0005", {"title": "A Paper Moved to the Trash", "date": "2010"})
        b.creators(trash, [("author", "Nobody", "Atall")])
        db.execute("INSERT INTO deletedItems (itemID, dateDeleted) VALUES (?, ?)", (trash, STAMP))

        b.note("NOTE0006", None, "<p>Standalone note about the reading group.</p>")
        b.attachment("ATCH0007", None, None, link_mode=3)
    db.execute("PRAGMA journal_mode=DELETE")
    db.execute("VACUUM")
    db.close()
    make_pdf(out / "storage" / "PDFA0001" / "sparse-retrieval.pdf")
    return db_path


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE
    print(build(target))
