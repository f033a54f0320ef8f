"""Where the library keeps its data: two stores, one commit point each.

- Chroma (chunks, vectors, per-chunk metadata): the source of truth; its collection metadata holds
  the library's generation.
- One SQLite file beside it (`manifest.py`): papers, chunks with their BM25 postings, and the Chroma
  generation those rows mirror.

`chroma.py` talks to Chroma (client, chunk metadata, reading back complete papers), `lock.py` keeps
one writer at a time. `assistant.library.library.Library` ties them together; docs/STORAGE.md says why two
stores and not three.
"""
