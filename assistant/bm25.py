"""An incremental BM25 index over chunks.

bm25s rebuilds its whole index on every change and fixes IDF at build time; a library that grows
by uploads needs adds and removes that touch only the changed rows and scores that stay exact.
So: term frequencies in a sparse matrix, document frequencies kept up to date, IDF computed at
query time. bm25s's English stopword list is reused.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import scipy.sparse as sp

try:
    from bm25s.stopwords import STOPWORDS_EN

    _STOP = frozenset(STOPWORDS_EN)
except Exception:  # pragma: no cover - bm25s layout changed
    _STOP = frozenset("a an and are as at be by for from in is it of on or that the this to with".split())

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
        self.generation = ""

    # -- size -------------------------------------------------------------------
    def __len__(self) -> int:
        return int(self.alive.sum())

    def live_ids(self) -> set[str]:
        return {cid for cid, row in self.row_of.items() if self.alive[row]}

    # -- updates ----------------------------------------------------------------
    def add(self, items: Iterable[tuple[str, str]]) -> None:
        """Add (chunk_id, text); an id already present is replaced."""
        items = list(items)
        if not items:
            return
        self.remove([cid for cid, _ in items if cid in self.row_of])
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

    # -- persistence ------------------------------------------------------------
    def save(self, directory: Path) -> None:
        """Atomic: written beside, then renamed, so a crash leaves the old or the new index."""
        self._compact()
        directory.mkdir(parents=True, exist_ok=True)
        m = self._matrix()
        tmp_npz = directory / "bm25.tmp.npz"
        np.savez(
            tmp_npz,
            data=m.data,
            indices=m.indices,
            indptr=m.indptr,
            lengths=self.lengths,
            df=self.df,
        )
        tmp_json = directory / "bm25.tmp.json"
        tmp_json.write_text(
            json.dumps({"vocab": list(self.vocab), "ids": self.ids, "generation": self.generation}), encoding="utf-8"
        )
        os.replace(tmp_npz, directory / "bm25.npz")
        os.replace(tmp_json, directory / "bm25.json")

    @classmethod
    def load(cls, directory: Path) -> BM25Index | None:
        npz, js = directory / "bm25.npz", directory / "bm25.json"
        if not npz.exists() or not js.exists():
            return None
        try:
            meta = json.loads(js.read_text(encoding="utf-8"))
            arrays = np.load(npz)
            if len(arrays["indptr"]) != len(meta["ids"]) + 1:
                return None
            idx = cls()
            idx.generation = str(meta.get("generation", ""))
            idx.vocab = {t: i for i, t in enumerate(meta["vocab"])}
            idx.ids = list(meta["ids"])
            idx.row_of = {cid: i for i, cid in enumerate(idx.ids)}
            idx._main = sp.csr_matrix(
                (arrays["data"], arrays["indices"], arrays["indptr"]),
                shape=(len(idx.ids), len(idx.vocab)),
            )
            idx.lengths = arrays["lengths"]
            idx.df = arrays["df"]
            idx.alive = np.ones(len(idx.ids), bool)
            return idx
        except Exception:
            return None  # a damaged cache is rebuilt from Chroma
