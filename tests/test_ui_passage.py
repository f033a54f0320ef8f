"""The Chat page's citation view through AppTest (real engine, library, model): a PDF source shows its
cited page with the chunk's boxes, pages turn; a moved PDF falls back to the text; an abstract shows
the quoted sentences marked, escaped; an older library without pages still finds the page."""

from __future__ import annotations

import html
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from assistant.engine import Engine
from assistant.models import Answer, Paper
from assistant.settings import get_settings
from ingest.pdf_pages import passage_boxes
from ingest.pipeline import load_all
from tests.support import invoke
from tests.ui_support import EVIL_PAPER, EVIL_QUESTION, PIG_QUESTION, add_papers, app_test, assert_inert
from ui.passage import cited_pieces, marked_sentences

pytestmark = pytest.mark.slow

PDFS = Path(__file__).parent / "data" / "pdfs"
QUESTION = "What routing temperature is used within each expert?"


def _nodes(node: Any, kind: str) -> list[Any]:
    found = [node] if getattr(node, "type", "") == kind else []
    for child in getattr(node, "children", {}).values():
        found += _nodes(child, kind)
    return found


def _expander(at: Any, n: int) -> Any:
    return next(e for e in at.main.expander if e.label.startswith(f"[{n}]"))


def _html(at: Any, n: int) -> list[str]:
    return [str(h.proto.body) for h in _nodes(_expander(at, n), "html")]


def _captions(at: Any, n: int) -> list[str]:
    return [c.value.replace("\\", "") for c in _nodes(_expander(at, n), "caption")]


def _ask_and_open(question: str, n: int = 1) -> tuple[Any, Answer]:
    at = app_test()
    at.chat_input[0].set_value(question).run()
    assert not at.exception, at.exception
    answer = at.session_state["chat_messages"][-1]["answer"]
    assert _html(at, n) == []  # a closed source renders no page
    at.pills(key="chips-1").set_value(n).run()
    assert not at.exception, at.exception
    return at, answer


def _boxes(body: str) -> list[tuple[float, float, float, float]]:
    return [
        tuple(float(v) for v in m)  # type: ignore[misc]
        for m in re.findall(r'data-x="([\d.]+)" data-y="([\d.]+)" data-w="([\d.]+)" data-h="([\d.]+)"', body)
    ]


def _ingest_copy(tmp_path: Path) -> Path:
    pdf = tmp_path / "twocol.pdf"
    shutil.copy(PDFS / "twocol.pdf", pdf)
    assert invoke(["ingest", str(pdf)]).exit_code == 0
    return pdf


def test_pdf_citation_shows_its_page_with_the_chunk_boxed_and_turns_pages(tmp_path: Path) -> None:
    pdf = _ingest_copy(tmp_path)
    at, answer = _ask_and_open(QUESTION)
    cited = answer.citations[0]
    assert cited.page == 2
    [body] = _html(at, 1)
    assert 'data-page="2"' in body and 'src="data:image/png;base64,' in body
    expected = [(b.x, b.y, b.w, b.h) for b in passage_boxes(pdf, 2, cited.text)]
    assert expected and _boxes(body) == expected
    assert any(c.startswith("Page 2 of 4 · §3.2 Attention · cited passage highlighted") for c in _captions(at, 1))
    assert cited.text in [t.value for t in _nodes(_expander(at, 1), "text")]  # the exact text stays

    at.button(key="pdfnext-1-1").click().run()
    [body] = _html(at, 1)
    assert 'data-page="3"' in body and _boxes(body) == []
    assert any(
        c.startswith("Page 3 of 4 · §3.2 Attention · the cited passage starts on page 2") for c in _captions(at, 1)
    )
    at.button(key="pdfprev-1-1").click().run()
    at.button(key="pdfprev-1-1").click().run()
    [body] = _html(at, 1)
    assert 'data-page="1"' in body and at.button(key="pdfprev-1-1").disabled
    assert any(c.startswith("Page 1 of 4") for c in _captions(at, 1))
    assert list((get_settings().data_dir / "cache" / "pages").rglob("p*-x1.5.png"))  # rendered once, kept


def test_moved_pdf_falls_back_to_the_text_with_one_caption(tmp_path: Path) -> None:
    pdf = _ingest_copy(tmp_path)
    pdf.unlink()
    at, answer = _ask_and_open(QUESTION)
    assert _html(at, 1) == []
    notes = [c for c in _captions(at, 1) if "showing the cited text instead" in c]
    assert notes == [f":material/info: twocol.pdf: the PDF is no longer at {tmp_path} (moved or deleted); "
                     "showing the cited text instead."], _captions(at, 1)  # fmt: skip
    assert answer.citations[0].text in [t.value for t in _nodes(_expander(at, 1), "text")]


def test_a_library_built_before_pages_finds_the_page_on_demand(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    pdf = tmp_path / "twocol.pdf"
    shutil.copy(PDFS / "twocol.pdf", pdf)
    eng = Engine(get_settings(), embedder=embedder)
    old = [p.model_copy(update={"page_texts": []}) for p in load_all([pdf], eng.settings) if isinstance(p, Paper)]
    assert eng.ingest(old).added == 1
    eng.library.close()
    at, answer = _ask_and_open(QUESTION)
    assert answer.citations[0].page is None
    [body] = _html(at, 1)
    assert 'data-page="2"' in body and _boxes(body) == [
        (b.x, b.y, b.w, b.h) for b in passage_boxes(pdf, 2, answer.citations[0].text)
    ]


def test_an_uploaded_pdf_shows_its_text_and_says_why(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    eng = Engine(get_settings(), embedder=embedder)
    papers = [p for p in load_all([PDFS / "twocol.pdf"], eng.settings) if isinstance(p, Paper)]
    assert eng.ingest([p.model_copy(update={"source": "upload:twocol.pdf"}) for p in papers]).added == 1
    eng.library.close()
    at, answer = _ask_and_open(QUESTION)
    assert _html(at, 1) == []
    assert ":material/info: twocol.pdf was uploaded and only its text is kept; the cited text:" in _captions(at, 1)
    assert answer.citations[0].text in [t.value for t in _nodes(_expander(at, 1), "text")]


def test_abstract_source_marks_the_quoted_sentences(seed_library) -> None:  # type: ignore[no-untyped-def]
    at, answer = _ask_and_open(PIG_QUESTION)
    cited = answer.citations[0]
    abstract = seed_library.get(cited.id).abstract
    [body] = _html(at, 1)
    marked = [html.unescape(m) for m in re.findall(r"<mark>(.*?)</mark>", body)]
    assert marked, body
    quoted = cited_pieces(answer.answer, 1)
    for sentence in marked:
        assert sentence in abstract and any(sentence in q or q in sentence for q in quoted), (sentence, quoted)
    n = len(marked)
    assert f"The abstract, {n} cited sentence{'s' if n != 1 else ''} highlighted:" in _captions(at, 1)
    # Every sentence of the abstract is there, in order; the unmarked ones as plain text.
    assert html.unescape(re.sub(r"</?mark>|<[^>]+>", "", body)).split() == abstract.split()


def test_hostile_abstract_stays_escaped_in_the_marked_view(seed_library, embedder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    add_papers(seed_library, embedder, tmp_path, EVIL_PAPER)
    at, answer = _ask_and_open(EVIL_QUESTION)
    assert answer.citations[0].id == EVIL_PAPER["id"]
    [body] = _html(at, 1)
    assert "<mark>" in body
    assert "<script" not in body and "<img" not in body  # the payloads are text, not tags
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body and "&lt;img src=x onerror=alert(1)&gt;" in body
    assert_inert(at)


def test_cited_pieces_and_marks() -> None:
    answer = (
        "Routing keeps recall at a fraction of the cost [1]. Experts share one encoder [2].\n\n"
        "Other papers in the library add:\n- Banded attention limits each expert's window [1, 2]"
    )
    assert cited_pieces(answer, 1) == [
        "Routing keeps recall at a fraction of the cost",
        "Banded attention limits each expert's window",
    ]
    assert cited_pieces(answer, 2) == ["Experts share one encoder", "Banded attention limits each expert's window"]
    # One marker grammar everywhere: a range cites every number in it, and maths cites nothing.
    ranged = "Both learn meshes [1-3]. Values lie in $[2, 4]$ here [1]."
    assert cited_pieces(ranged, 2) == ["Both learn meshes"]
    assert cited_pieces(ranged, 4) == []
    assert cited_pieces(ranged, 1) == ["Both learn meshes", "Values lie in $[2, 4]$ here"]
    abstract = "Routing keeps recall at a fraction of the cost. It is cheap. Nothing else here is quoted at all."
    assert marked_sentences(abstract, cited_pieces(answer, 1)) == [
        ("Routing keeps recall at a fraction of the cost.", True),
        ("It is cheap.", False),
        ("Nothing else here is quoted at all.", False),
    ]
