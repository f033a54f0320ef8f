"""A Zotero library → Papers: each regular item's metadata, with the full text of its stored PDFs.

Zotero keeps `zotero.sqlite` locked while it runs, so the database (and its -wal file, when there is
one) is copied to a temporary folder first and the copy is opened read-only (`mode=ro`); the user's
files are never written. Item types, fields and creator types are joined by name (Zotero assigns
their ids per profile). Notes, standalone attachments, annotations and items in the trash are
skipped and counted. A missing or unreadable attachment is a warning: the item's metadata still goes
in. A paper's id is the model's rule (`make_paper_id`: DOI, arXiv id), else `zotero:<itemKey>`; its `source` is always
`zotero:<itemKey>`, which is how a later run finds the papers whose items left Zotero (`stale_ids`).

I/O stays at the edges (`copy_database`, `read_database`, `load_zotero`); the rest takes data and
returns data.
"""

from __future__ import annotations

import re
import shutil
import sqlite3
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from assistant.errors import ZoteroError
from assistant.models import LoadError, Paper, Section, clean_doi, make_paper_id
from assistant.settings import Settings

DB_NAME = "zotero.sqlite"
SUPPORTED_USERDATA = 129  # the newest `version` 'userdata' value whose tables this reader knows
SOURCE_PREFIX = "zotero:"
TITLE_FIELDS = ("title", "caseName", "subject", "nameOfAct")
VENUE_FIELDS = (
    "publicationTitle",
    "proceedingsTitle",
    "conferenceName",
    "bookTitle",
    "websiteTitle",
    "blogTitle",
    "forumTitle",
    "encyclopediaTitle",
    "dictionaryTitle",
    "programTitle",
    "repository",
    "institution",
    "university",
    "publisher",
)
SKIPPED = ("notes", "standalone_attachments", "annotations", "trashed")
_ARXIV = re.compile(
    r"(?:arxiv\.org/(?:abs|pdf)/|arXiv:)\s*(\d{4}\.\d{4,5}|[a-z\-]+(?:\.[A-Z]{2})?/\d{7})(?:v\d+)?", re.IGNORECASE
)
_DOI_IN_EXTRA = re.compile(r"^DOI:\s*(10\.\S+)\s*$", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True)
class Attachment:
    key: str
    link_mode: int  # 0 imported file, 1 imported URL, 2 linked file, 3 linked URL
    path: str  # "storage:name.pdf", an absolute path for linked files, or ""


@dataclass
class Item:
    key: str
    item_type: str
    fields: dict[str, str] = field(default_factory=dict)
    creators: list[tuple[str, str]] = field(default_factory=list)  # (creator type, name), in order
    primary_creator: str = "author"
    tags: list[str] = field(default_factory=list)
    collections: list[str] = field(default_factory=list)  # "Parent/Child" paths
    attachments: list[Attachment] = field(default_factory=list)

    @property
    def title(self) -> str:
        return next((self.fields[f].strip() for f in TITLE_FIELDS if self.fields.get(f, "").strip()), "")


@dataclass
class ZoteroLibrary:
    items: list[Item]
    skipped: dict[str, int]
    collections: list[str]  # every collection path


@dataclass
class ZoteroImport:
    """What `load_zotero` read: records for `Engine.ingest`, plus what the report needs."""

    database: Path
    records: list[Paper | LoadError]
    warnings: list[str]
    skipped: dict[str, int]
    read: int  # regular items in the library
    selected: int  # of those, the ones the filters kept
    live: dict[str, str]  # item key → paper id, for every regular item (filters aside)


# -- edges: files and the database ----------------------------------------------------------------
def default_data_dir() -> Path:
    """Zotero's default data directory: ~/Zotero on Linux and macOS, %USERPROFILE%\\Zotero on Windows."""
    return Path.home() / "Zotero"


def copy_database(data_dir: Path, into: Path) -> Path:
    """zotero.sqlite (and its -wal) copied into `into`; ZoteroError when there is none to copy."""
    if not data_dir.is_dir():
        raise ZoteroError(f"{data_dir}: no such Zotero data directory")
    db = data_dir / DB_NAME
    if not db.is_file():
        raise ZoteroError(f"{db}: no Zotero database here (is {data_dir} Zotero's data directory?)")
    copy = into / DB_NAME
    try:
        shutil.copyfile(db, copy)
        wal = db.with_name(DB_NAME + "-wal")
        if wal.is_file():
            shutil.copyfile(wal, copy.with_name(DB_NAME + "-wal"))
    except OSError as exc:
        raise ZoteroError(f"{db}: cannot copy the database: {exc.strerror or exc}") from exc
    return copy


def read_database(copy: Path, shown: Path) -> ZoteroLibrary:
    """The items of a copied zotero.sqlite, opened read-only; errors name `shown` (the user's file)."""
    try:
        db = sqlite3.connect(f"{copy.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise ZoteroError(f"{shown}: cannot open the database: {exc}") from exc
    try:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        missing = {"version", "items", "itemData", "itemDataValues", "itemAttachments", "libraries"} - tables
        if missing:
            raise ZoteroError(f"{shown}: not a Zotero database (no {', '.join(sorted(missing))} table)")
        row = db.execute("SELECT version FROM version WHERE schema='userdata'").fetchone()
        if row is None:
            raise ZoteroError(f"{shown}: not a Zotero database (no userdata schema version)")
        if int(row[0]) > SUPPORTED_USERDATA:
            raise ZoteroError(
                f"{shown}: Zotero database schema version {row[0]} is newer than this reader supports "
                f"({SUPPORTED_USERDATA}); update Paper Assistant"
            )
        return _query(db, tables)
    except sqlite3.DatabaseError as exc:
        raise ZoteroError(f"{shown}: cannot read the database ({exc}); is it a Zotero database?") from exc
    finally:
        db.close()


def _query(db: sqlite3.Connection, tables: set[str]) -> ZoteroLibrary:
    combined = "itemTypesCombined" in tables and db.execute("SELECT 1 FROM itemTypesCombined LIMIT 1").fetchone()
    types, fields = ("itemTypesCombined", "fieldsCombined") if combined else ("itemTypes", "fields")
    rows = db.execute(
        f"SELECT i.itemID, i.key, t.typeName FROM items i JOIN {types} t ON t.itemTypeID = i.itemTypeID "
        "JOIN libraries l ON l.libraryID = i.libraryID WHERE l.type != 'feed' ORDER BY i.itemID"
    ).fetchall()
    trashed = {r[0] for r in db.execute("SELECT itemID FROM deletedItems")} if "deletedItems" in tables else set()
    primary = dict(
        db.execute(
            "SELECT t.typeName, c.creatorType FROM itemTypeCreatorTypes x JOIN itemTypes t USING (itemTypeID) "
            "JOIN creatorTypes c USING (creatorTypeID) WHERE x.primaryField = 1"
        ).fetchall()
    )
    parents = {r[0]: r[1] for r in db.execute("SELECT itemID, parentItemID FROM itemAttachments")}
    skipped = dict.fromkeys(SKIPPED, 0)
    items: dict[int, Item] = {}
    attachment_keys: dict[int, tuple[int, str]] = {}
    for item_id, key, type_name in rows:
        if type_name == "note":
            skipped["notes"] += 1
        elif type_name == "annotation":
            skipped["annotations"] += 1
        elif type_name == "attachment":
            if parents.get(item_id) is None:
                skipped["standalone_attachments"] += 1
            elif item_id not in trashed:
                attachment_keys[item_id] = (parents[item_id], key)
        elif item_id in trashed:
            skipped["trashed"] += 1
        else:
            items[item_id] = Item(key=key, item_type=type_name, primary_creator=primary.get(type_name, "author"))
    for item_id, name, value in db.execute(
        f"SELECT d.itemID, f.fieldName, v.value FROM itemData d JOIN {fields} f ON f.fieldID = d.fieldID "
        "JOIN itemDataValues v ON v.valueID = d.valueID"
    ):
        if item_id in items and value is not None:
            items[item_id].fields[name] = str(value)
    for item_id, first, last, mode, ctype in db.execute(
        "SELECT ic.itemID, c.firstName, c.lastName, c.fieldMode, t.creatorType FROM itemCreators ic "
        "JOIN creators c USING (creatorID) JOIN creatorTypes t USING (creatorTypeID) ORDER BY ic.itemID, ic.orderIndex"
    ):
        if item_id in items:
            name = (last or "").strip() if mode == 1 else f"{(first or '').strip()} {(last or '').strip()}".strip()
            if name:
                items[item_id].creators.append((ctype, name))
    for item_id, name in db.execute("SELECT it.itemID, t.name FROM itemTags it JOIN tags t USING (tagID)"):
        if item_id in items:
            items[item_id].tags.append(name)
    paths = _collection_paths(db, tables)
    for collection_id, item_id in db.execute("SELECT collectionID, itemID FROM collectionItems"):
        if item_id in items and collection_id in paths:
            items[item_id].collections.append(paths[collection_id])
    for item_id, parent, link_mode, content_type, path in db.execute(
        "SELECT itemID, parentItemID, linkMode, contentType, path FROM itemAttachments ORDER BY itemID"
    ):
        if item_id in attachment_keys and parent in items and content_type == "application/pdf":
            items[parent].attachments.append(Attachment(attachment_keys[item_id][1], int(link_mode or 0), path or ""))
    return ZoteroLibrary(list(items.values()), skipped, sorted(paths.values()))


def _collection_paths(db: sqlite3.Connection, tables: set[str]) -> dict[int, str]:
    """collectionID → "Parent/Child" for the collections not in the trash."""
    rows = {
        r[0]: (r[1], r[2])
        for r in db.execute("SELECT collectionID, collectionName, parentCollectionID FROM collections")
    }
    gone = (
        {r[0] for r in db.execute("SELECT collectionID FROM deletedCollections")}
        if "deletedCollections" in tables
        else set()
    )
    paths: dict[int, str] = {}
    for cid in rows:
        names: list[str] = []
        node: int | None = cid
        seen: set[int] = set()
        while node is not None and node in rows and node not in seen and node not in gone:
            seen.add(node)
            names.append(rows[node][0])
            node = rows[node][1]
        if node is None:  # reached the top without meeting the trash or a loop
            paths[cid] = "/".join(reversed(names))
    return paths


# -- data → data ----------------------------------------------------------------------------------
def parse_year(date: str) -> int | None:
    """Zotero's "2017-06-12 2017-06-12" or "2017-00-00 2017" (or a plain string) → 2017."""
    m = re.match(r"\s*(\d{4})", date) or re.search(r"\b(\d{4})\b", date)
    year = int(m.group(1)) if m else 0
    return year or None


def item_doi(item: Item) -> str:
    doi = item.fields.get("DOI", "").strip()
    if not doi:
        m = _DOI_IN_EXTRA.search(item.fields.get("extra", ""))
        doi = m.group(1) if m else ""
    return clean_doi(doi)


def item_arxiv_id(item: Item) -> str:
    for name in ("archiveID", "url", "extra"):
        m = _ARXIV.search(item.fields.get(name, ""))
        if m:
            return m.group(1)
    return ""


def paper_id(item: Item) -> str:
    return make_paper_id(doi=item_doi(item), arxiv_id=item_arxiv_id(item), fallback=f"{SOURCE_PREFIX}{item.key}")


def item_to_paper(item: Item, texts: Sequence[Paper] = (), max_chars: int = 2_000_000) -> Paper:
    """The item's Paper; `texts` (its PDFs, read) add the body. Zotero's metadata wins over the PDF's."""
    f = item.fields
    doi, arxiv_id = item_doi(item), item_arxiv_id(item)
    abstract = f.get("abstractNote", "").strip()
    sections: list[Section] = []
    for text in texts:
        if text.abstract.strip() and not abstract:
            abstract = text.abstract.strip()
        elif text.abstract.strip() and _squash(text.abstract) != _squash(abstract):
            sections.append(Section(heading="Full text", text=text.abstract))
        sections.extend(text.sections)
    sections = _capped(sections, max_chars - len(abstract))
    authors = [name for ctype, name in item.creators if ctype == item.primary_creator]
    url = f.get("url", "").strip() or (f"https://doi.org/{doi}" if doi else "")
    url = url or (f"https://arxiv.org/abs/{arxiv_id}" if arxiv_id else "")
    return Paper(
        id=paper_id(item),
        title=item.title,
        abstract=abstract,
        sections=sections,
        authors=authors or [name for _, name in item.creators],
        year=parse_year(f.get("date", "")),
        url=url,
        doi=doi,
        arxiv_id=arxiv_id,
        venue=next((f[v].strip() for v in VENUE_FIELDS if f.get(v, "").strip()), ""),
        tags=sorted(set(item.tags) | {f"collection:{p}" for p in item.collections}),
        source=f"{SOURCE_PREFIX}{item.key}",
    )


def _squash(text: str) -> str:
    return re.sub(r"\W+", " ", text).strip().lower()


def _capped(sections: list[Section], budget: int) -> list[Section]:
    out: list[Section] = []
    for s in sections:
        if budget <= 0:
            break
        out.append(s if len(s.text) <= budget else Section(heading=s.heading, text=s.text[:budget]))
        budget -= len(s.text)
    return out


def select_items(library: ZoteroLibrary, collections: Sequence[str] = (), tags: Sequence[str] = ()) -> list[Item]:
    """Items in any of `collections` (a name or a "Parent/Child" path; subcollections included) and
    carrying any of `tags` (case-insensitive); an unknown collection is a ZoteroError."""
    chosen: list[str] = []
    for wanted in collections:
        w = wanted.strip().strip("/")
        hits = [p for p in library.collections if p == w or p.rsplit("/", 1)[-1] == w]
        if not hits:
            known = ", ".join(library.collections) or "none"
            raise ZoteroError(f"no Zotero collection named {wanted!r} (collections: {known})")
        chosen.extend(hits)
    wanted_tags = {t.strip().lower() for t in tags}

    def keep(item: Item) -> bool:
        in_collection = not chosen or any(p == c or p.startswith(c + "/") for p in item.collections for c in chosen)
        tagged = not wanted_tags or any(t.lower() in wanted_tags for t in item.tags)
        return in_collection and tagged

    return [i for i in library.items if keep(i)]


def attachment_file(data_dir: Path, att: Attachment) -> Path | None:
    """Where a stored (or linked) PDF lives; None for a linked URL or a path Zotero resolves itself."""
    if att.path.startswith("storage:"):
        return data_dir / "storage" / att.key / att.path[len("storage:") :]
    if att.link_mode == 2 and att.path and Path(att.path).is_absolute():
        return Path(att.path)
    return None


def stale_ids(papers: Iterable[Paper], live: Mapping[str, str]) -> list[str]:
    """Ids of papers imported from Zotero whose item is gone (or now maps to another id)."""
    out = []
    for p in papers:
        if p.source.startswith(SOURCE_PREFIX):
            key = p.source[len(SOURCE_PREFIX) :]
            if live.get(key) != p.id:
                out.append(p.id)
    return sorted(out)


# -- the whole read ---------------------------------------------------------------------------------
def read_pdf(path: Path, settings: Settings) -> Paper | str:
    """The PDF's text as a Paper, or why it could not be read."""
    from ingest.sources.pdf import load_pdf

    if not path.is_file():
        return "is missing"
    size_mb = path.stat().st_size / 1e6
    if size_mb > settings.max_file_mb:
        return f"is {size_mb:.1f} MB, over the limit of {settings.max_file_mb:g} MB (PAPERS_MAX_FILE_MB)"
    try:
        for got in load_pdf(path, settings):
            return got.message if isinstance(got, LoadError) else got
    except OSError as exc:
        return f"cannot be read: {exc.strerror or exc}"
    return "holds no text"


def load_zotero(
    data_dir: Path, settings: Settings, collections: Sequence[str] = (), tags: Sequence[str] = ()
) -> ZoteroImport:
    """Read a Zotero data directory: every selected regular item as a Paper with its PDFs' text."""
    shown = data_dir / DB_NAME
    with tempfile.TemporaryDirectory(prefix="papers-zotero-") as tmp:
        library = read_database(copy_database(data_dir, Path(tmp)), shown)
    items = select_items(library, collections, tags)
    records: list[Paper | LoadError] = []
    warnings: list[str] = []
    for item in items:
        if not item.title:
            records.append(
                LoadError(source=f"{SOURCE_PREFIX}{item.key}", message=f"{item.item_type} without a title; skipped")
            )
            continue
        texts: list[Paper] = []
        for att in item.attachments:
            path = attachment_file(data_dir, att)
            if path is None:
                if att.path.startswith("attachments:"):
                    warnings.append(
                        f"{SOURCE_PREFIX}{item.key} ({item.title[:60]}): linked file {att.path[12:]} is relative to "
                        "Zotero's base directory, which is not known here; metadata ingested without its text"
                    )
                continue
            got = read_pdf(path, settings)
            if isinstance(got, Paper):
                texts.append(got)
            else:
                warnings.append(
                    f"{SOURCE_PREFIX}{item.key} ({item.title[:60]}): attachment {path} {got}; "
                    "metadata ingested without its text"
                )
        records.append(item_to_paper(item, texts, settings.max_paper_chars))
    live = {i.key: paper_id(i) for i in library.items}
    return ZoteroImport(shown, records, warnings, library.skipped, len(library.items), len(items), live)
