"""Hand edits of a paper's metadata (title, authors, year) that survive re-ingest of its source.

A researcher fixes a title a PDF got wrong; the next `papers ingest` of the same file must not undo it.
The edit lives on the paper itself, so it is in Chroma with the rest of the record (the SQLite store
is only a mirror and may be rebuilt): the edited values, plus one tag per edited field
(`edited:title`, `edited:authors`, `edited:year`) saying which values are the user's. On ingest,
`apply_edits` carries those values onto the incoming record before its content hash is compared, so an
unchanged source stays "unchanged" and a changed one updates everything except what was edited.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from assistant.errors import PapersError
from assistant.models import EDITABLE, EDITED_TAG, Paper

if TYPE_CHECKING:
    from assistant.library.library import Library

TAG = EDITED_TAG


def edited_fields(paper: Paper) -> list[str]:
    return paper.edited_fields()


def clean_edit(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Checked values for `with_edit`; a bad one is a PapersError naming the field and why."""
    out: dict[str, Any] = {}
    for name, value in fields.items():
        if name not in EDITABLE:
            raise PapersError(f"{name} cannot be edited (editable: {', '.join(EDITABLE)})")
        if name == "title":
            value = " ".join(str(value).split())
            if not value:
                raise PapersError("title: must not be empty")
        elif name == "authors":
            value = [" ".join(str(a).split()) for a in value if str(a).strip()]
        elif value is not None:
            try:
                value = int(value)
            except (TypeError, ValueError) as exc:
                raise PapersError(f"year: {value!r} is not a year") from exc
            if not 1000 <= value <= 2100:
                raise PapersError(f"year: {value} is outside 1000-2100")
        out[name] = value
    return out


def with_edit(paper: Paper, values: Mapping[str, Any]) -> Paper:
    """`paper` with `values` as the user's own (tags record which fields), in one deterministic form."""
    edited = [f for f in EDITABLE if f in values or TAG + f in paper.tags]
    tags = [t for t in paper.tags if not t.startswith(TAG)] + [TAG + f for f in edited]
    return paper.model_copy(update={**dict(values), "tags": tags})


def apply_edits(papers: Sequence[Paper], library: Library) -> list[Paper]:
    """Incoming records with the stored papers' hand edits carried over (before hashing)."""
    ids = set().union(*((library.filter_ids(tag=TAG + f) or set()) for f in EDITABLE))
    hit = ids & {p.id for p in papers}
    if not hit:
        return list(papers)
    stored = {q.id: q for q in library.papers(sorted(hit))}
    out = []
    for p in papers:
        q = stored.get(p.id)
        out.append(with_edit(p, {f: getattr(q, f) for f in edited_fields(q)}) if q is not None else p)
    return out
