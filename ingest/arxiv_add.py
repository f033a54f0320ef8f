"""Adding a cited-but-missing work by its arXiv id (the Graph page's "add" button), and whether that
can work right now.

arXiv ingest is usable when the configured endpoint (settings.arxiv_api_url, the same one
`papers ingest --arxiv` uses) answers a one-result query with an Atom feed within PROBE_TIMEOUT_S:
offline, or behind a proxy that answers HTML, the button is not offered rather than failing on click.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx

from assistant.models import IngestReport
from assistant.settings import Settings
from ingest.sources.arxiv import USER_AGENT, FetchError, fetch_arxiv, parse_feed

if TYPE_CHECKING:
    from assistant.engine import PaperAssistant

PROBE_TIMEOUT_S = 3.0  # the page waits on this once per cache period, so it must stay short


def arxiv_usable(settings: Settings) -> bool:
    """One small request to the arXiv API: does it answer with an Atom feed?"""
    url = settings.arxiv_api_url
    sep = "&" if "?" in url else "?"
    timeout = min(settings.arxiv_timeout_s, PROBE_TIMEOUT_S)
    try:
        resp = httpx.get(f"{url}{sep}id_list=&max_results=1", timeout=timeout, headers={"User-Agent": USER_AGENT})
        if resp.status_code != 200:
            return False
        parse_feed(resp.content, resp.headers.get("content-type", "?"))
    except (httpx.HTTPError, FetchError, ValueError):
        return False
    return True


def add_from_arxiv(engine: PaperAssistant, arxiv_id: str) -> IngestReport:
    """Fetch one paper by arXiv id and add it the one way in (enriched when PAPERS_ENRICH is on); a
    failed fetch is the report's error, not an exception."""
    from ingest.pipeline import add_to_library

    return add_to_library(engine, fetch_arxiv([arxiv_id], "", 1, engine.settings), engine.settings).report
