"""A local stand-in for Crossref, OpenAlex and the arXiv API, answering in each one's real shape.

  /crossref/works/{doi}                        Crossref REST: `{"status": "ok", "message-type": "work",
                                               "message": {...}}`; an unknown DOI: 404 "Resource not found."
  /openalex/works/https://doi.org/{doi}        an OpenAlex work object; unknown: 404 with OpenAlex's JSON error
  /arxiv/api/query?id_list=ID                  an Atom feed of the entries of tests/data/arxiv_feed.xml
Fault modes by path prefix (before the service name):
  /r429/...   answers 429 with `Retry-After: 1` the first time it sees a request, the real answer after
  /flaky/...  answers 503 the first time it sees a request, the real answer after
  /down/...   always 503                /slow/...  waits `slow_s` seconds before the real answer
Every request's path (with query) is recorded in `requests`, its User-Agent in `agents`.
"""

from __future__ import annotations

import json
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from tests.arxiv_server import ATOM, FEED, render_feed

VASWANI_DOI = "10.5555/3295222.3295349"
RESNET_DOI = "10.1109/cvpr.2016.90"  # Crossref does not have it here: OpenAlex does
UNKNOWN_DOI = "10.9999/nowhere.42"

CROSSREF_WORKS: dict[str, dict[str, Any]] = {
    VASWANI_DOI: {
        "indexed": {"date-parts": [[2024, 5, 1]], "date-time": "2024-05-01T12:00:00Z", "timestamp": 1714564800000},
        "publisher-location": "Red Hook, NY, USA",
        "reference-count": 35,
        "publisher": "Curran Associates Inc.",
        "content-domain": {"domain": [], "crossmark-restriction": False},
        "short-container-title": [],
        "published-print": {"date-parts": [[2017, 12, 4]]},
        "abstract": (
            "<jats:title>Abstract</jats:title><jats:p>The dominant sequence transduction models are based on "
            "complex recurrent or convolutional neural networks. We propose a new simple network architecture, "
            "the Transformer, based solely on attention mechanisms &amp; dispensing with recurrence.</jats:p>"
        ),
        "DOI": VASWANI_DOI,
        "type": "proceedings-article",
        "created": {"date-parts": [[2018, 2, 1]], "date-time": "2018-02-01T10:00:00Z", "timestamp": 1517479200000},
        "page": "6000-6010",
        "source": "Crossref",
        "is-referenced-by-count": 9000,
        "title": ["Attention is all you need"],
        "prefix": "10.5555",
        "author": [
            {"given": "Ashish", "family": "Vaswani", "sequence": "first", "affiliation": []},
            {"given": "Noam", "family": "Shazeer", "sequence": "additional", "affiliation": []},
            {"given": "Niki", "family": "Parmar", "sequence": "additional", "affiliation": []},
        ],
        "member": "320",
        "container-title": [
            "Proceedings of the 31st International Conference on Neural Information Processing Systems"
        ],
        "link": [],
        "deposited": {"date-parts": [[2018, 2, 1]], "date-time": "2018-02-01T10:00:00Z", "timestamp": 1517479200000},
        "score": 1,
        "resource": {"primary": {"URL": "https://dl.acm.org/doi/10.5555/3295222.3295349"}},
        "subtitle": [],
        "issued": {"date-parts": [[2017, 12, 4]]},
        "references-count": 35,
        "URL": "https://doi.org/10.5555/3295222.3295349",
        "ISBN": ["9781510860964"],
        "subject": [],
        "published": {"date-parts": [[2017, 12, 4]]},
    }
}

OPENALEX_WORKS: dict[str, dict[str, Any]] = {
    RESNET_DOI: {
        "id": "https://openalex.org/W2194775991",
        "doi": f"https://doi.org/{RESNET_DOI}",
        "title": "Deep Residual Learning for Image Recognition",
        "display_name": "Deep Residual Learning for Image Recognition",
        "publication_year": 2016,
        "publication_date": "2016-06-01",
        "ids": {"openalex": "https://openalex.org/W2194775991", "doi": f"https://doi.org/{RESNET_DOI}"},
        "language": "en",
        "primary_location": {
            "is_oa": False,
            "landing_page_url": f"https://doi.org/{RESNET_DOI}",
            "pdf_url": None,
            "source": {
                "id": "https://openalex.org/S4363607701",
                "display_name": "2016 IEEE Conference on Computer Vision and Pattern Recognition (CVPR)",
                "issn_l": None,
                "type": "conference",
            },
            "license": None,
            "version": "publishedVersion",
        },
        "type": "article",
        "authorships": [
            {
                "author_position": "first",
                "author": {"id": "https://openalex.org/A5001", "display_name": "Kaiming He", "orcid": None},
                "institutions": [],
                "raw_author_name": "Kaiming He",
            },
            {
                "author_position": "middle",
                "author": {"id": "https://openalex.org/A5002", "display_name": "Xiangyu Zhang", "orcid": None},
                "institutions": [],
                "raw_author_name": "Xiangyu Zhang",
            },
            {
                "author_position": "last",
                "author": {"id": "https://openalex.org/A5003", "display_name": "Jian Sun", "orcid": None},
                "institutions": [],
                "raw_author_name": "Jian Sun",
            },
        ],
        "cited_by_count": 150000,
        "abstract_inverted_index": {
            "Deeper": [0],
            "neural": [1],
            "networks": [2],
            "are": [3],
            "more": [4],
            "difficult": [5],
            "to": [6],
            "train.": [7],
            "We": [8],
            "present": [9],
            "a": [10],
            "residual": [11],
            "learning": [12],
            "framework.": [13],
        },
        "updated_date": "2024-05-01T00:00:00.000000",
        "created_date": "2016-06-24",
    }
}
RESNET_ABSTRACT = "Deeper neural networks are more difficult to train. We present a residual learning framework."

FAULTS = ("r429", "flaky", "down", "slow")


class EnrichServer:
    def __init__(self, slow_s: float = 2.0) -> None:
        self.requests: list[str] = []
        self.agents: list[str] = []
        self.slow_s = slow_s
        self._seen: set[str] = set()
        self._stop = threading.Event()
        self._entries = ET.parse(FEED).getroot().findall(f"{ATOM}entry")
        srv = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                srv.requests.append(self.path)
                srv.agents.append(self.headers.get("User-Agent", ""))
                path = self.path
                fault = ""
                head = path.split("/", 2)[1] if path.count("/") >= 2 else ""
                if head in FAULTS:
                    fault, path = head, path[len(head) + 1 :]
                first = self.path not in srv._seen
                srv._seen.add(self.path)
                if fault == "down" or (fault == "flaky" and first):
                    self._send(503, b"Service Unavailable", "text/plain")
                    return
                if fault == "r429" and first:
                    self._send(429, b"Too Many Requests", "text/plain", {"Retry-After": "1"})
                    return
                if fault == "slow":
                    srv._stop.wait(srv.slow_s)
                self._send(*srv.answer(path))

            def _send(self, code: int, body: bytes, ctype: str, headers: dict[str, str] | None = None) -> None:
                try:
                    self.send_response(code)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(body)))
                    for k, v in (headers or {}).items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:  # the client gave up (a timeout test)
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"

    def answer(self, path: str) -> tuple[int, bytes, str]:
        url = urlparse(path)
        route = unquote(url.path)
        if route.startswith("/crossref/works/"):
            doi = route[len("/crossref/works/") :].lower()
            if doi in CROSSREF_WORKS:
                body = {"status": "ok", "message-type": "work", "message-version": "1.0.0"}
                body["message"] = CROSSREF_WORKS[doi]  # type: ignore[assignment]
                return 200, json.dumps(body).encode(), "application/json"
            return 404, b"Resource not found.", "text/plain"
        if route.startswith("/openalex/works/"):
            ident = route[len("/openalex/works/") :]
            doi = ident.split("doi.org/", 1)[-1].lower()
            if doi in OPENALEX_WORKS:
                return 200, json.dumps(OPENALEX_WORKS[doi]).encode(), "application/json"
            err = {"error": "Not Found", "message": f"The entity {ident} was not found."}
            return 404, json.dumps(err).encode(), "application/json"
        if route.startswith("/arxiv/api/query"):
            ids = [i for i in ",".join(parse_qs(url.query).get("id_list", [""])).split(",") if i]
            by_id = {}
            for e in self._entries:
                short = (e.findtext(f"{ATOM}id") or "").rsplit("/abs/", 1)[-1]
                by_id[short.rsplit("v", 1)[0]] = e
            found = [by_id[i.rsplit("v", 1)[0]] for i in ids if i.rsplit("v", 1)[0] in by_id]
            return 200, render_feed(found, len(found), 0, 10), "application/atom+xml; charset=utf-8"
        return 404, b"not found", "text/plain"

    def env(self, fault: str = "") -> dict[str, str]:
        """PAPERS_* variables pointing the three services here (through a fault prefix if given)."""
        base = self.url + (f"/{fault}" if fault else "")
        return {
            "PAPERS_CROSSREF_API_URL": f"{base}/crossref",
            "PAPERS_OPENALEX_API_URL": f"{base}/openalex",
            "PAPERS_ARXIV_API_URL": f"{base}/arxiv/api/query",
        }

    def start(self) -> EnrichServer:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def enrich_server(slow_s: float = 2.0) -> Iterator[EnrichServer]:
    server = EnrichServer(slow_s).start()
    try:
        yield server
    finally:
        server.stop()
        time.sleep(0)
