"""One typed front door: `Engine` (a library opened here) and `RemoteEngine` (client mode, over a real
`papers serve`) implement `assistant.engine.PaperAssistant` with the same signatures, and the same calls
through both over one library give the same results, field by field.

Static: every public member of the protocol is on both classes with an identical signature (return
annotation included), and the faces import only the six core modules they may. Live (slow): a real
`papers serve` subprocess over the seed library, the real embedding model, extractive (offline)
answers; and the answer stream arrives token by token through the API and httpx-sse."""

from __future__ import annotations

import ast
import inspect
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant.engine import ChatSession, Engine, PaperAssistant
from assistant.errors import ClientModeError, PapersError
from assistant.library.library import Library
from assistant.models import Answer, IngestReport, LibraryStats, Paper, SearchResult, Section
from assistant.settings import get_settings
from tests.api_server import ServeProcess, api_in_thread, serve_process
from ui.api_client import RemoteEngine

ROOT = Path(__file__).resolve().parents[1]
FACE_MODULES = {
    "assistant.engine", "assistant.models", "assistant.settings", "assistant.errors", "assistant.text",
    "assistant.reports.exports",
}  # fmt: skip
PIG_Q = "How can Gaussian functions with learnable positions replace a fixed mesh in physics-informed learning?"
FED_Q = "How can federated learning fine-tune large language models on devices?"
OFF_Q = "What is the boiling point of ethanol?"


def _members(cls: type) -> dict[str, Any]:
    return {n: v for n, v in vars(cls).items() if not n.startswith("_")}


def test_both_engines_implement_the_protocol_with_identical_signatures() -> None:
    protocol = _members(PaperAssistant)
    assert len(protocol) >= 30, sorted(protocol)
    wrong: list[str] = []
    for name, member in protocol.items():
        for cls in (Engine, RemoteEngine):
            got = inspect.getattr_static(cls, name, None)
            if isinstance(member, property):
                if not isinstance(got, property):
                    wrong.append(f"{cls.__name__}.{name} is not a property")
                elif inspect.signature(got.fget) != inspect.signature(member.fget):  # type: ignore[arg-type]
                    wrong.append(f"{cls.__name__}.{name}: {inspect.signature(got.fget)}")  # type: ignore[arg-type]
            elif not callable(got):
                wrong.append(f"{cls.__name__}.{name} is missing")
            elif inspect.signature(got) != inspect.signature(member):
                wrong.append(f"{cls.__name__}.{name}{inspect.signature(got)} != {inspect.signature(member)}")
    assert wrong == []
    assert "settings" in PaperAssistant.__annotations__
    # The conversation a face gets is the one protocol too.
    assert {"reset", "stream", "ask"} <= set(_members(ChatSession))


def _face_imports() -> dict[str, set[str]]:
    """Core modules each ui/ file imports (inside functions and TYPE_CHECKING blocks too)."""
    out: dict[str, set[str]] = {}
    for path in sorted((ROOT / "ui").rglob("*.py")):
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "assistant":
                found.add(node.module)
            elif isinstance(node, ast.Import):
                found |= {a.name for a in node.names if a.name.split(".")[0] == "assistant"}
        out[str(path.relative_to(ROOT))] = found
    return out


def test_faces_import_only_the_front_door_modules_and_never_cast() -> None:
    imports = _face_imports()
    wrong = {f: sorted(mods - FACE_MODULES) for f, mods in imports.items() if mods - FACE_MODULES}
    assert wrong == {}
    assert set().union(*imports.values()) <= FACE_MODULES
    texts = {p: p.read_text(encoding="utf-8") for p in (ROOT / "ui").rglob("*.py")}
    casts = [p for p, text in texts.items() if "cast(Engine" in text or 'cast("Engine' in text]
    assert casts == []


# -- the same calls through both ---------------------------------------------------------------------
@pytest.fixture()
def served(seed_library: Library, tmp_path: Path) -> Iterator[ServeProcess]:
    with serve_process(tmp_path / "serve.log") as proc:
        yield proc


@pytest.fixture()
def both(served: ServeProcess, seed_library: Library, embedder: Any) -> tuple[Engine, RemoteEngine]:
    local = Engine(get_settings(), library=seed_library, embedder=embedder)
    remote = RemoteEngine(get_settings().model_copy(update={"api_url": served.url}))
    return local, remote


def _same_search(a: SearchResult, b: SearchResult) -> None:
    assert type(a) is type(b) is SearchResult
    assert a.query == b.query and a.abstains == b.abstains
    assert a.best_dense == pytest.approx(b.best_dense, abs=1e-5)
    assert [h.paper.id for h in a.hits] == [h.paper.id for h in b.hits]
    for x, y in zip(a.hits, b.hits):
        assert x.score == pytest.approx(y.score, abs=1e-5)
        assert [e.chunk_id for e in x.evidence] == [e.chunk_id for e in y.evidence]
        assert x.paper.record() == y.paper.record()
    assert b.query_vec is None  # the embedded query stays on the server


@pytest.mark.slow
def test_the_same_calls_give_the_same_results(both: tuple[Engine, RemoteEngine]) -> None:
    local, remote = both
    doors: tuple[PaperAssistant, PaperAssistant] = (local, remote)

    # The library.
    s_local, s_remote = (d.stats() for d in doors)
    assert type(s_local) is type(s_remote) is LibraryStats
    assert s_local.jobs is None and s_remote.jobs is not None and s_remote.jobs.failed == 0  # the server's queue
    assert s_local == s_remote.model_copy(update={"jobs": None}) and s_local.papers == 46 and not s_local.llm_enabled
    assert local.count() == remote.count() == 46
    assert local.chunk_count() == remote.chunk_count() == sum(remote.chunk_counts().values())
    assert local.chunk_counts() == remote.chunk_counts() and len(remote.chunk_counts()) == 46
    assert [p.record() for p in local.papers()] == [p.record() for p in remote.papers()]
    ids = [p.id for p in local.papers()][:3]
    assert local.papers(ids) == remote.papers(ids) and remote.papers([]) == []
    assert local.embed_model == remote.embed_model
    assert remote.location == f"{local.location} via {remote.base}"
    assert local.llm_enabled is remote.llm_enabled is False
    assert local.llm_status() == remote.llm_status() and not remote.llm_status().enabled
    assert isinstance(remote.generation, str) and isinstance(local.generation, str)

    # Questions.
    for q in (PIG_Q, OFF_Q):
        a, b = local.search(q, 5), remote.search(q, 5)
        _same_search(a, b)
        assert local.abstains(a) == remote.abstains(b) == (q == OFF_Q)
    answer = local.ask(FED_Q)
    assert remote.ask(FED_Q) == answer and answer.citations and answer.mode == "extractive"
    streamed = list(remote.stream(FED_Q))
    assert streamed[-1] == list(local.stream(FED_Q))[-1] == answer
    assert all(isinstance(t, str) for t in streamed[:-1])
    assert answer.support() == streamed[-1].support()  # what the Chat page shows, the same on both

    for door in doors:
        chat = door.conversation()
        first = chat.ask(PIG_Q)
        follow = chat.ask("What are its limitations?")
        assert first.citations and follow.query != "What are its limitations?"  # rewritten from the history
    assert [local.conversation().ask(PIG_Q)] == [remote.conversation().ask(PIG_Q)]

    # Reports.
    assert [p.id for p in local.select_papers(query=FED_Q, max_papers=3)] == [
        p.id for p in remote.select_papers(query=FED_Q, max_papers=3)
    ]
    assert local.select_papers(ids) == remote.select_papers(ids)
    assert local.compare(paper_ids=ids[:2]) == remote.compare(paper_ids=ids[:2])
    assert local.compare(query=FED_Q, aspects=["method"], max_papers=2) == remote.compare(
        query=FED_Q, aspects=["method"], max_papers=2
    )
    assert local.summarize("federated learning", max_papers=4) == remote.summarize("federated learning", max_papers=4)

    # The field around the library.
    assert local.citation_graph() == remote.citation_graph()
    assert local.related(ids[0], 3) == remote.related(ids[0], 3) and len(remote.related(ids[0], 3)) == 3
    m_local, m_remote = local.paper_map(), remote.paper_map()
    assert m_local == m_remote and len(m_remote.points) == 46

    # The same refusal, one line, from both.
    for door in doors:
        with pytest.raises(PapersError) as err:
            door.related("nope:404")
        assert "nope:404" in str(err.value) and "\n" not in str(err.value)

    # Last, a write through the remote door (the server's one writer), seen by both. (After another
    # process wrote, this process's Chroma client is stale for vector reads: nothing but reads of the
    # records and a search follow.)
    whole = Paper(
        id="door-quokka", title="Quokka Gait Analysis with Pressure Mats",
        abstract="We record the hopping gait of forty quokkas on pressure mats and find a stride asymmetry.",
        sections=[Section(heading="Method", text="Forty quokkas hopped over two pressure mats at dawn.")],
    )  # fmt: skip
    report = remote.ingest([whole])
    assert type(report) is IngestReport and report.added == 1 and report.failed == 0
    local.refresh()
    assert local.papers([whole.id]) == remote.papers([whole.id]) and remote.papers([whole.id])[0].title == whole.title
    quokka = "quokka hopping gait on pressure mats"
    assert local.search(quokka, 3).hits[0].paper.id == remote.search(quokka, 3).hits[0].paper.id == whole.id
    assert local.count() == remote.count() == 47 and local.chunk_counts() == remote.chunk_counts()


@pytest.mark.slow
def test_what_client_mode_cannot_do_is_one_clear_line(both: tuple[Engine, RemoteEngine], tmp_path: Path) -> None:
    _, remote = both
    calls = [
        lambda: remote.reindex(), lambda: remote.export(tmp_path / "x.jsonl"),
        lambda: remote.import_file(tmp_path / "x.jsonl"), lambda: remote.edit_paper("x", title="y"),
        lambda: remote.evaluate_file(tmp_path / "q.jsonl"), lambda: remote.verify_claims_file(tmp_path / "c.jsonl"),
        lambda: remote.add_pdf_layout({}), lambda: remote.claim_server("http://127.0.0.1:1"),
    ]  # fmt: skip
    for call in calls:
        with pytest.raises(ClientModeError) as err:
            call()
        line = str(err.value)
        assert "not available in client mode" in line and "\n" not in line and remote.base in line


@pytest.mark.slow
def test_the_answer_stream_arrives_as_it_is_written(
    llm_server: Any, monkeypatch: pytest.MonkeyPatch, seed_library: Library, embedder: Any
) -> None:
    """Through the API (sse-starlette) and the client (httpx-sse): the first token is on the client long
    before the model has finished writing, and the last event is the whole answer."""
    from tests.llm_server import Reply

    llm_server.configure_env(monkeypatch)
    # The core shows complete, checked sentences: the first is out once the second begins; the second,
    # long one then takes the model about 4 s to write.
    reply = (
        "PIG places Gaussians with trainable means and variances on the domain [1]. Grids of collocation "
        "points are drawn at random and redrawn during training, so that the residual of the equation is "
        "evaluated at fresh places of the domain in every step of the optimisation, instead of at one fixed "
        "mesh [2]."
    )
    llm_server.script(Reply(text=reply, chunk_chars=10, chunk_delay_s=0.15))
    local = Engine(get_settings(), library=seed_library, embedder=embedder)
    with api_in_thread(local) as url:
        remote = RemoteEngine(get_settings().model_copy(update={"api_url": url}))
        assert remote.llm_enabled and remote.llm_status(probe=False).enabled
        arrivals: list[tuple[float, str | Answer]] = []
        for item in remote.stream(PIG_Q):
            arrivals.append((time.monotonic(), item))
    first_token = next(t for t, item in arrivals if isinstance(item, str) and item.strip())
    done, final = arrivals[-1]
    assert isinstance(final, Answer) and final.mode == "llm" and final.citations
    assert done - first_token > 2.0, "the tokens came all at once, not as the model wrote them"


def test_every_route_names_its_response_model_in_the_openapi_schema() -> None:
    from ui.api.app import build_app

    schema = build_app(Engine(get_settings()), warm=False).openapi()
    untyped = []
    for path, methods in schema["paths"].items():
        for method, op in methods.items():
            ok: dict[str, Any] = next((op["responses"][c] for c in ("200", "202") if c in op["responses"]), {})
            json_schema = ok.get("content", {}).get("application/json", {}).get("schema")
            if not json_schema or json_schema == {}:
                untyped.append(f"{method.upper()} {path}")
    assert untyped == []
    stats = schema["paths"]["/stats"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert stats == {"$ref": "#/components/schemas/LibraryStats"}
    fields = schema["components"]["schemas"]["LibraryStats"]["properties"]
    assert {"papers", "chunks", "llm_enabled", "jobs"} <= set(fields)
    assert {"/chunk-counts", "/llm", "/related", "/graph", "/map"} <= set(schema["paths"])
