"""`build_server(engine)`: the library as MCP tools and resources (the official SDK's `MCPServer`).

Every tool is a thin call into `Engine` and returns the core's own pydantic model (structured
content, and the same JSON as text): an answer is its text plus citations naming the paper id,
title, section and the exact chunk text quoted. A domain error is the tool's one-line error
(`is_error`), never a traceback. Resources: `paper://{id}` (id percent-encoded) for each paper,
its metadata and abstract as JSON.

Writes: over stdio the server is the local user's own process and `add_papers` simply runs; over
HTTP (`http=True`) it needs the request's key to be a write key (ui/api/auth.py, the REST API's rule).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from functools import wraps
from typing import TYPE_CHECKING, Annotated, Any, TypeVar
from urllib.parse import quote

import anyio.to_thread
from mcp.server.mcpserver import Context, MCPServer, ResourceSecurity
from mcp.server.mcpserver.exceptions import ResourceNotFoundError, ToolError
from mcp_types import Resource, ToolAnnotations
from pydantic import Field

from assistant.errors import PapersError
from assistant.models import Answer, Comparison, Filters, IngestReport, LoadError, Paper, PaperHit, Summary
from ui.api.auth import ApiKey, Denied, authorize
from ui.api.schemas import SearchResponse

if TYPE_CHECKING:
    from assistant.engine import PaperAssistant

F = TypeVar("F", bound=Callable[..., Any])

NAME = "paper-assistant"
RESOURCE_PREFIX = "paper://"
INSTRUCTIONS = (
    "Tools over the user's own library of research papers. Prefer ask_papers for questions (a cited answer: "
    "each [n] in the text is a citation with the paper id, title, section and the exact quoted passage); "
    "search_papers to find papers; get_paper or the paper:// resources for one paper's record. Quote only "
    "what the citations hold; if an answer abstains, the library does not cover the question."
)

Year = Annotated[int | None, Field(description="Only papers from this year on (inclusive).")]
YearTo = Annotated[int | None, Field(description="Only papers up to this year (inclusive).")]
Author = Annotated[str | None, Field(description="Only papers with an author containing this text.")]
Tag = Annotated[str | None, Field(description="Only papers carrying this tag.")]


def resource_uri(paper_id: str) -> str:
    """`paper://` + the id percent-encoded whole (ids hold `:` and `/`, as in doi:10.1/x)."""
    return RESOURCE_PREFIX + quote(paper_id, safe="")


def brief(paper: Paper) -> Paper:
    """A paper without its body text: what a search hit or a listing needs."""
    return paper.model_copy(update={"sections": [], "page_texts": []})


def paper_record(paper: Paper) -> str:
    """The resource's text: metadata and abstract, no body."""
    return json.dumps(paper.record(), ensure_ascii=False, indent=2)


def listing(paper: Paper) -> Resource:
    byline = ", ".join(paper.authors[:3]) + (" et al." if len(paper.authors) > 3 else "")
    about = " · ".join(str(x) for x in (byline, paper.year, paper.venue) if x)
    return Resource(
        uri=resource_uri(paper.id),
        name=paper.id,
        title=paper.title,
        description=about or None,
        mime_type="application/json",
    )


def search_response(engine: PaperAssistant, query: str, k: int | None, filters: Filters) -> SearchResponse:
    result = engine.search(query, k, filters)
    hits = [PaperHit(**{**h.model_dump(exclude={"paper"}), "paper": brief(h.paper)}) for h in result.hits]
    return SearchResponse(query=query, hits=hits, best_dense=result.best_dense, abstains=engine.abstains(result))


def add_items(records: list[dict[str, Any]], arxiv_ids: list[str], settings: Any) -> Iterator[Paper | LoadError]:
    """The records (the JSONL fields) and the arXiv papers, as the REST API's POST /ingest reads them."""
    from ui.api.uploads import load_records

    yield from load_records(records, settings)
    if arxiv_ids:
        from ingest.sources.arxiv import fetch_arxiv

        yield from fetch_arxiv(list(arxiv_ids), "", len(arxiv_ids), settings)


def one_line(fn: F) -> F:
    """A domain error becomes the tool's one-line error (SDK ToolError), not a logged crash."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except PapersError as exc:
            raise ToolError(str(exc)) from None

    return wrapper  # type: ignore[return-value]


class PapersServer(MCPServer[Any]):
    """MCPServer whose resource list is the library's papers at the time of asking."""

    def __init__(self, engine: PaperAssistant, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.engine = engine

    async def list_resources(self) -> list[Resource]:
        static = await super().list_resources()

        def papers() -> list[Paper]:
            self.engine.refresh()
            return self.engine.papers()

        found = await anyio.to_thread.run_sync(papers)
        return static + [listing(p) for p in found]


def build_server(engine: PaperAssistant, *, keys: list[ApiKey] | None = None, http: bool = False) -> PapersServer:
    """The MCP server over `engine`. `http`: writes need a write key among `keys` (none: open, loopback)."""
    # WARNING: the SDK logs every failed call at INFO on stderr, which an assistant shows as noise.
    server = PapersServer(engine, name=NAME, title="Paper Assistant", instructions=INSTRUCTIONS, log_level="WARNING")
    read_only = ToolAnnotations(read_only_hint=True, open_world_hint=False)

    def fresh() -> PaperAssistant:
        engine.refresh()  # another process (the UI, `papers ingest`) may have written since
        return engine

    @server.tool(annotations=read_only)
    @one_line
    def search_papers(
        query: Annotated[str, Field(description="What to look for, in plain words.", min_length=1)],
        k: Annotated[int | None, Field(description="How many papers (default: the library's top_k).", ge=1, le=50)]
        = None,
        year_from: Year = None,
        year_to: YearTo = None,
        author: Author = None,
        tag: Tag = None,
    ) -> SearchResponse:
        """Find papers in the library by meaning and keywords (hybrid search). Each hit is a paper (no body
        text) with its score and its best matching passages as evidence; `abstains` says the library does
        not cover the query."""
        return search_response(fresh(), query, k, Filters(year_from, year_to, author, tag))

    @server.tool(annotations=read_only)
    @one_line
    def ask_papers(
        question: Annotated[str, Field(description="A question about the papers.", min_length=1)],
        year_from: Year = None,
        year_to: YearTo = None,
        author: Author = None,
        tag: Tag = None,
    ) -> Answer:
        """A cited answer from the library: `answer` with [n] markers, `citations` (n, paper id, title,
        section, the exact quoted chunk text). `abstained` true: the library does not cover the question."""
        return fresh().ask(question, filters=Filters(year_from, year_to, author, tag))

    @server.tool(annotations=read_only)
    @one_line
    def compare_papers(
        paper_ids: Annotated[list[str], Field(description="Paper ids to compare (from search_papers).")] = [],  # noqa: B006
        query: Annotated[str, Field(description="Or: compare the best papers for this query.")] = "",
        aspects: Annotated[
            list[str] | None, Field(description="Columns (default: problem, method, data, results, limitations).")
        ] = None,
        max_papers: Annotated[int, Field(description="Most papers for a query.", ge=1, le=20)] = 5,
    ) -> Comparison:
        """Papers × aspects table; every cell is a verbatim quote from that paper (or a checked model cell)."""
        if bool(paper_ids) == bool(query.strip()):
            raise ToolError("give either paper_ids or query, not both or neither")
        return fresh().compare(paper_ids, query, aspects, max_papers)

    @server.tool(annotations=read_only)
    @one_line
    def summarize_papers(
        topic: Annotated[str, Field(description="The topic (empty: the whole library).")] = "",
        max_papers: Annotated[int | None, Field(description="Most papers to cover.", ge=1, le=200)] = None,
    ) -> Summary:
        """A themed literature summary of the papers on a topic: sections of cited paragraphs and references."""
        return fresh().summarize(topic, max_papers)

    @server.tool(annotations=read_only)
    @one_line
    def get_paper(paper_id: Annotated[str, Field(description="A paper id (from search_papers).")]) -> Paper:
        """One paper's full record: metadata, abstract, body sections and reference list."""
        found = fresh().papers([paper_id])
        if not found:
            raise ToolError(f"not in the library: {paper_id}")
        return found[0]

    @server.tool(annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=True))
    @one_line
    def add_papers(
        ctx: Context,
        arxiv_ids: Annotated[list[str], Field(description="arXiv ids to fetch and add (like 2308.05732).")] = [],  # noqa: B006
        records: Annotated[
            list[dict[str, Any]],
            Field(description="Paper records: title (required), abstract, authors, year, doi, url, venue, tags, id."),
        ] = [],  # noqa: B006
    ) -> IngestReport:
        """Add papers to the library, by arXiv id and/or as records; unchanged papers are skipped, each bad
        record is named in `errors`. Over stdio this is the local user's own library and always allowed;
        over HTTP it needs a write API key (a read key is refused)."""
        if http:
            denied = authorize((ctx.headers or {}).get("authorization"), keys or [], "write")
            if isinstance(denied, Denied):
                raise ToolError(denied.message)
        if not (arxiv_ids or records):
            raise ToolError("give arxiv_ids or records to add")
        from ingest.pipeline import add_to_library

        return add_to_library(engine, add_items(records, arxiv_ids, engine.settings), engine.settings).report

    # Paper ids are lookup keys, never paths: the SDK's path checks would refuse `doi:10.1/x`.
    @server.resource(
        RESOURCE_PREFIX + "{paper_id}",
        name="paper",
        description="One paper's metadata and abstract (JSON); the list names every paper in the library.",
        mime_type="application/json",
        security=ResourceSecurity(exempt_params={"paper_id"}),
    )
    def paper_resource(paper_id: str) -> str:
        found = fresh().papers([paper_id])
        if not found:
            raise ResourceNotFoundError(f"not in the library: {paper_id}")
        return paper_record(found[0])

    return server
