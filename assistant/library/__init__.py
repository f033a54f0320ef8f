"""The library: records in, chunks and vectors stored (Chroma + the SQLite store), pages, edits, export/import."""
