"""The citation-graph fixture: four PDFs typeset by pdflatex (tests/data/pdfs/graph/, see its build.sh)
that cite each other and share works missing from the library, ingested once per session."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from assistant.settings import Settings, get_settings

GRAPH_PDFS = Path(__file__).resolve().parent / "data" / "pdfs" / "graph"
ROUTING = "doi:10.5555/graph.2022.001"  # cited by dense (DOI) and reading (title + year)
DENSE = "arxiv:2303.04567"  # cited by reading (arXiv id); ocean cites an older work of the same title
READING_TITLE = "Reading Lists from Citation Graphs"  # no DOI or arXiv id: a title-hash id
OCEAN_TITLE = "Ocean Eddy Parametrization with Spectral Closures"  # another field, no shared references
MISSING_ARXIV = "1907.01234"  # Citation Context Embeddings: cited by routing, dense, reading
MISSING_TITLE = "Citation Context Embeddings for Scholarly Retrieval"
MISSING_DOI = "10.5555/graph.2018.077"  # Graph Neural Networks for Reference Recommendation: dense, reading


def graph_pdfs() -> list[Path]:
    return sorted(GRAPH_PDFS.glob("*.pdf"))


@pytest.fixture(scope="session")
def graph_library_template(tmp_path_factory: pytest.TempPathFactory, embedder) -> Path:  # type: ignore[no-untyped-def]
    from assistant.library.library import Library
    from tests.support import ingest_files

    root = tmp_path_factory.mktemp("graph-template") / "library"
    settings = Settings(_env_file=None, data_dir=root)  # type: ignore[call-arg]
    lib = Library(settings)
    report = ingest_files(graph_pdfs(), lib, embedder, settings)
    lib.close()
    assert (report.added, report.failed) == (4, 0), report
    return root


@pytest.fixture()
def graph_library(graph_library_template: Path, data_dir: Path) -> Path:
    """A copy of the four-PDF library in this test's data dir (PAPERS_DATA_DIR points at it)."""
    shutil.copytree(graph_library_template, data_dir)
    get_settings.cache_clear()
    return data_dir


def missing_paper_entry() -> ET.Element:
    """The arXiv API's entry for the commonly cited missing paper (for tests/arxiv_server.py)."""
    from tests.arxiv_server import ATOM, synthetic_entries

    entry = synthetic_entries(1)[0]
    for tag, text in {f"{ATOM}id": f"http://arxiv.org/abs/{MISSING_ARXIV}v1", f"{ATOM}title": MISSING_TITLE}.items():
        node = entry.find(tag)
        assert node is not None
        node.text = text
    return entry
