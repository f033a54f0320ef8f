"""A local stand-in for export.arxiv.org/api/query, replaying recorded-style Atom entries.

It answers the two request shapes the arXiv API documents: `id_list=` (entries by id, any
version) and `search_query=` (every term, `field:` prefixes and AND ignored, must occur in the
title, abstract, authors or categories), with `start` / `max_results` paging and the
opensearch totals. Fault modes by path prefix, for error handling tests:
  /http503/...  answers HTTP 503        /html/...  answers 200 with an HTML page
  /stall/...    accepts and never answers (until the server stops)
  /flaky/...    answers HTTP 503 the first time it sees a request, the real answer when asked again
  /truncated/...  answers 200 with the real Atom answer cut off in the middle of the XML
Every request's path and query are recorded in `requests`, its arrival (time.monotonic) in `times`.
`synthetic_entries(n)` makes a large result set for paging tests.
"""

from __future__ import annotations

import copy
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

FEED = Path(__file__).resolve().parent / "data" / "arxiv_feed.xml"
ATOM = "{http://www.w3.org/2005/Atom}"
_NS = {
    "": "http://www.w3.org/2005/Atom",
    "opensearch": "http://a9.com/-/spec/opensearch/1.1/",
    "arxiv": "http://arxiv.org/schemas/atom",
}


def _short_id(entry: ET.Element) -> str:
    return (entry.findtext(f"{ATOM}id") or "").rsplit("/abs/", 1)[-1]


def _base(arxiv_id: str) -> str:
    head, _, tail = arxiv_id.rpartition("v")
    return head if head and tail.isdigit() else arxiv_id


def _searchable(entry: ET.Element) -> str:
    parts = [entry.findtext(f"{ATOM}title") or "", entry.findtext(f"{ATOM}summary") or ""]
    parts += [a.findtext(f"{ATOM}name") or "" for a in entry.findall(f"{ATOM}author")]
    parts += [c.get("term", "") for c in entry.findall(f"{ATOM}category")]
    return " ".join(parts).lower()


def _terms(query: str) -> list[str]:
    out = []
    for tok in query.replace("(", " ").replace(")", " ").split():
        if tok.upper() in ("AND", "OR", "ANDNOT"):
            continue
        tok = tok.split(":", 1)[-1].strip("\"'").lower()
        if tok:
            out.append(tok)
    return out


def synthetic_entries(n: int) -> list[ET.Element]:
    """n distinct entries (ids 2401.00000v1, ...; title "Synthetic paper i"), shaped like the recorded first one."""
    template = ET.parse(FEED).getroot().findall(f"{ATOM}entry")[0]
    out = []
    for i in range(n):
        entry = copy.deepcopy(template)
        fields = {f"{ATOM}id": f"http://arxiv.org/abs/2401.{i:05d}v1", f"{ATOM}title": f"Synthetic paper {i}"}
        for tag, text in fields.items():
            node = entry.find(tag)
            assert node is not None
            node.text = text
        out.append(entry)
    return out


def render_feed(entries: list[ET.Element], total: int, start: int, per_page: int) -> bytes:
    for prefix, uri in _NS.items():
        ET.register_namespace(prefix, uri)
    feed = ET.Element(f"{ATOM}feed")
    ET.SubElement(feed, f"{ATOM}title", {"type": "html"}).text = "ArXiv Query (local replay)"
    ET.SubElement(feed, f"{ATOM}id").text = "http://arxiv.org/api/local-replay"
    ET.SubElement(feed, f"{ATOM}updated").text = "2024-05-02T00:00:00-04:00"
    os_ns = "{" + _NS["opensearch"] + "}"
    ET.SubElement(feed, f"{os_ns}totalResults").text = str(total)
    ET.SubElement(feed, f"{os_ns}startIndex").text = str(start)
    ET.SubElement(feed, f"{os_ns}itemsPerPage").text = str(per_page)
    feed.extend(entries)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(feed, encoding="utf-8")


class ArxivReplay:
    def __init__(self, feed_path: Path = FEED, entries: list[ET.Element] | None = None) -> None:
        self.entries = entries if entries is not None else ET.parse(feed_path).getroot().findall(f"{ATOM}entry")
        self.requests: list[str] = []
        self.times: list[float] = []
        self._failed_once: set[str] = set()
        self._stop = threading.Event()
        replay = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
                pass

            def do_GET(self) -> None:
                replay.times.append(time.monotonic())
                replay.requests.append(self.path)
                url = urlparse(self.path)
                if url.path.startswith("/stall/"):
                    replay._stop.wait(60)
                    return
                if url.path.startswith("/http503/"):
                    self._send(503, b"Service Unavailable", "text/plain")
                    return
                if url.path.startswith("/html/"):
                    self._send(200, b"<html><body><h1>Rate limited</h1><p>Try later.", "text/html")
                    return
                if url.path.startswith("/flaky/") and self.path not in replay._failed_once:
                    replay._failed_once.add(self.path)
                    self._send(503, b"Service Unavailable", "text/plain")
                    return
                if url.path.startswith("/truncated/"):
                    body = replay.answer(parse_qs(url.query))
                    self._send(200, body[: len(body) // 2], "application/atom+xml; charset=utf-8")
                    return
                if not url.path.endswith("/api/query"):
                    self._send(404, b"not found", "text/plain")
                    return
                self._send(200, replay.answer(parse_qs(url.query)), "application/atom+xml; charset=utf-8")

            def _send(self, code: int, body: bytes, ctype: str) -> None:
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/api/query"

    def answer(self, params: dict[str, list[str]]) -> bytes:
        ids = [i for i in ",".join(params.get("id_list", [""])).split(",") if i]
        query = params.get("search_query", [""])[0]
        start = int(params.get("start", ["0"])[0])
        per_page = int(params.get("max_results", ["10"])[0])
        matches = self.entries
        if ids:
            by_id = {_base(_short_id(e)): e for e in self.entries}
            matches = [by_id[_base(i)] for i in ids if _base(i) in by_id]
        if query:
            terms = _terms(query)
            matches = [e for e in matches if all(t in _searchable(e) for t in terms)]
        if not ids and not query:
            matches = []
        return render_feed(matches[start : start + per_page], len(matches), start, per_page)

    def start(self) -> None:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._stop.set()
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def arxiv_replay(entries: list[ET.Element] | None = None) -> Iterator[ArxivReplay]:
    server = ArxivReplay(entries=entries)
    server.start()
    try:
        yield server
    finally:
        server.stop()
