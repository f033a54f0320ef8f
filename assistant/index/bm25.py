"""An incremental BM25 index over chunks, held in memory for search.

A library that grows by uploads needs adds and removes that touch only the changed rows and scores
that stay exact (bm25s, tried first, rebuilds its whole index on every change and fixes IDF at
build time). So: term frequencies in a sparse matrix, document frequencies kept up to date, IDF
computed at query time.

No file I/O here: each chunk's row (its postings) is handed to the library's SQLite store as bytes
when it is added (`add` returns them) and read back with `from_postings`, so the index is persisted
in the same transaction as the papers it indexes (assistant/library/store/manifest.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import numpy as np
import scipy.sparse as sp

# The Lucene English stop list (the one bm25s shipped; kept verbatim so rankings do not move).
STOPWORDS_EN = frozenset(
    "a an and are as at be but by for if in into is it no not of on or such that the their then there "
    "these they this to was will with".split()
)
_STOP = STOPWORDS_EN

_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def _stem(tok: str) -> str:
    # Plural folding only: enough for "solvers"/"solver", harmless for technical terms.
    if len(tok) > 4 and tok.endswith("ies"):
        return tok[:-3] + "y"
    if len(tok) > 3 and tok.endswith("s") and not tok.endswith(("ss", "us", "is")):
        return tok[:-1]
    return tok


def tokenize(text: str) -> list[str]:
    return [_stem(t) for t in _WORD.findall(text.lower()) if t not in _STOP and len(t) < 40]


# One chunk's row as stored: (token count, term ids as int32 bytes, term frequencies as float32 bytes).
Posting = tuple[int, bytes, bytes]
_TERM = np.dtype("<i4")
_TF = np.dtype("<f4")


class BM25Index:
    def __init__(self, k1: float = 1.5, b: float = 0.75) -> None:
        self.k1 = k1
        self.b = b
        self.vocab: dict[str, int] = {}
        self.ids: list[str] = []
        self.row_of: dict[str, int] = {}
        self._rows: list[sp.csr_matrix] = []  # pending rows not yet merged
        self._main = sp.csr_matrix((0, 0), dtype=np.float32)
        self.lengths = np.zeros(0, dtype=np.float32)
        self.alive = np.zeros(0, dtype=bool)
        self.df = np.zeros(0, dtype=np.int64)
        self._csc: sp.csc_matrix | None = None

    # -- size -------------------------------------------------------------------
    def __len__(self) -> int:
        return int(self.alive.sum())

    def live_ids(self) -> set[str]:
        return {cid for cid, row in self.row_of.items() if self.alive[row]}

    # -- updates ----------------------------------------------------------------
    def add(self, items: Iterable[tuple[str, str]]) -> dict[str, Posting]:
        """Add (chunk_id, text); an id already present is replaced. Returns the new rows for the store."""
        items = list(items)
        if not items:
            return {}
        self.remove([cid for cid, _ in items if cid in self.row_of])
        postings: dict[str, Posting] = {}
        data: list[float] = []
        cols: list[int] = []
        indptr = [0]
        lengths = []
        for cid, text in items:
            counts: dict[int, int] = {}
            toks = tokenize(text)
            for t in toks:
                col = self.vocab.setdefault(t, len(self.vocab))
                counts[col] = counts.get(col, 0) + 1
            cols.extend(counts.keys())
            data.extend(float(c) for c in counts.values())
            postings[cid] = (
                len(toks),
                np.fromiter(counts.keys(), _TERM, len(counts)).tobytes(),
                np.fromiter(counts.values(), _TF, len(counts)).tobytes(),
            )
            indptr.append(len(cols))
            lengths.append(len(toks))
            self.row_of[cid] = len(self.ids)
            self.ids.append(cid)
        block = sp.csr_matrix(
            (np.asarray(data, np.float32), np.asarray(cols, np.int32), np.asarray(indptr, np.int64)),
            shape=(len(items), len(self.vocab)),
        )
        self._rows.append(block)
        self.lengths = np.concatenate([self.lengths, np.asarray(lengths, np.float32)])
        self.alive = np.concatenate([self.alive, np.ones(len(items), bool)])
        if len(self.df) < len(self.vocab):
            self.df = np.concatenate([self.df, np.zeros(len(self.vocab) - len(self.df), np.int64)])
        np.add.at(self.df, np.asarray(cols, np.int64), 1)
        self._csc = None
        return postings

    def remove(self, chunk_ids: Iterable[str]) -> int:
        rows = [self.row_of.pop(c) for c in chunk_ids if c in self.row_of]
        rows = [r for r in rows if self.alive[r]]
        if not rows:
            return 0
        matrix = self._matrix()
        for r in rows:
            self.alive[r] = False
            cols = matrix.indices[matrix.indptr[r] : matrix.indptr[r + 1]]
            self.df[cols] -= 1
        self._csc = None
        if (~self.alive).sum() > max(1000, len(self.alive) // 4):
            self._compact()
        return len(rows)

    def _matrix(self) -> sp.csr_matrix:
        if self._rows:
            width = len(self.vocab)
            blocks = [self._main] + self._rows
            blocks = [sp.csr_matrix((m.data, m.indices, m.indptr), shape=(m.shape[0], width)) for m in blocks]
            self._main = sp.vstack(blocks, format="csr")
            self._rows = []
        return self._main

    def _compact(self) -> None:
        keep = np.flatnonzero(self.alive)
        self._main = self._matrix()[keep]
        self.ids = [self.ids[i] for i in keep]
        self.row_of = {cid: i for i, cid in enumerate(self.ids)}
        self.lengths = self.lengths[keep]
        self.alive = np.ones(len(keep), bool)
        self._csc = None

    # -- search -----------------------------------------------------------------
    def doc_freq(self, terms: Iterable[str]) -> tuple[int, dict[str, int]]:
        """Live chunks, and how many of them hold each (already tokenized) term."""
        out = {}
        for t in terms:
            col = self.vocab.get(t)
            out[t] = int(self.df[col]) if col is not None and col < len(self.df) else 0
        return int(self.alive.sum()), out

    def search(
        self, query: str, k: int = 50, allowed: Sequence[str] | set[str] | None = None
    ) -> list[tuple[str, float]]:
        terms = [self.vocab[t] for t in dict.fromkeys(tokenize(query)) if t in self.vocab]
        n_alive = int(self.alive.sum())
        if not terms or n_alive == 0:
            return []
        if self._csc is None:
            self._csc = self._matrix().tocsc()
        csc = self._csc
        avgdl = float(self.lengths[self.alive].mean()) or 1.0
        scores = np.zeros(len(self.ids), dtype=np.float32)
        norm = self.k1 * (1 - self.b + self.b * self.lengths / avgdl)
        for col in terms:
            if col >= csc.shape[1]:
                continue
            lo, hi = csc.indptr[col], csc.indptr[col + 1]
            rows = csc.indices[lo:hi]
            tf = csc.data[lo:hi]
            df = float(self.df[col])
            idf = np.log(1.0 + (n_alive - df + 0.5) / (df + 0.5))
            scores[rows] += idf * tf * (self.k1 + 1) / (tf + norm[rows])
        scores[~self.alive] = 0.0
        if allowed is not None:
            mask = np.zeros(len(self.ids), dtype=bool)
            for cid in allowed:
                r = self.row_of.get(cid)
                if r is not None:
                    mask[r] = True
            scores[~mask] = 0.0
        nz = np.flatnonzero(scores > 0)
        if nz.size == 0:
            return []
        top = nz[np.argsort(-scores[nz], kind="stable")[:k]]
        return [(self.ids[i], float(scores[i])) for i in top]

    # -- persistence (rows to and from the SQLite store) --------------------------
    @classmethod
    def from_postings(
        cls,
        vocab: Sequence[str],
        ids: Sequence[str],
        lengths: Sequence[int],
        sizes: Sequence[int],
        terms: bytearray,
        tfs: bytearray,
    ) -> BM25Index:
        """The index for stored rows: chunk ids in stored order (ties rank by it), each chunk's token
        count and number of distinct terms, and all postings concatenated (as `add` returns them)."""
        idx = cls()
        idx.vocab = {t: i for i, t in enumerate(vocab)}
        idx.ids = list(ids)
        idx.row_of = {cid: i for i, cid in enumerate(idx.ids)}
        if len(idx.row_of) != len(idx.ids) or len(sizes) != len(ids) or len(lengths) != len(ids):
            raise ValueError("stored postings: duplicate or missing chunk rows")
        indptr = np.zeros(len(ids) + 1, np.int64)
        np.cumsum(np.asarray(sizes, np.int64), out=indptr[1:])
        # Views of the (writable) buffers, no copy: on little-endian machines the stored dtypes are native.
        indices = np.frombuffer(terms, _TERM).astype(np.int32, copy=False)
        data = np.frombuffer(tfs, _TF).astype(np.float32, copy=False)
        if len(indices) != len(data) or len(indices) != indptr[-1] or (len(indices) and indices.max() >= len(vocab)):
            raise ValueError("stored postings do not match the stored vocabulary")
        idx._main = sp.csr_matrix((data, indices, indptr), shape=(len(ids), len(vocab)))
        idx.lengths = np.asarray(lengths, np.float32)
        idx.df = np.bincount(indices, minlength=len(vocab)).astype(np.int64)
        idx.alive = np.ones(len(ids), bool)
        return idx
