"""Lazy opening: a clean embedded library answers list/hashes from its SQLite store without starting
Chroma; anything less than clean (a writer died, a server) opens Chroma as before."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.errors import ModelMismatchError
from assistant.library.library import Library
from assistant.library.store.manifest import STORE_FILE, Manifest
from assistant.settings import Settings

PROBE = """
import json, sys
from assistant.library.library import Library
from assistant.settings import Settings
lib = Library(Settings(_env_file=None, data_dir=sys.argv[1]))
out = {"count": lib.count(), "hashes": len(lib.hashes()), "titles": sorted(p.title for p in lib.papers())[:3],
       "chroma_loaded": "chromadb" in sys.modules}
hits = lib.lexical("neural network", 3)
known = {c for pid in lib.hashes() for c in lib.manifest.chunk_ids(pid)}
out["lexical_hits"] = [cid in known and score > 0 for cid, score in hits]
out["chroma_after_search"] = "chromadb" in sys.modules
print(json.dumps(out))
"""


def _probe(data_dir: Path) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-c", PROBE, str(data_dir)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_clean_library_lists_without_chroma(seed_library: Library, data_dir: Path) -> None:
    titles = sorted(p.title for p in seed_library.papers())[:3]
    seed_library.close()
    out = _probe(data_dir)
    assert (out["count"], out["hashes"], out["titles"]) == (46, 46, titles)
    assert out["chroma_loaded"] is False
    assert out["chroma_after_search"] is True  # searching opens it on demand
    assert out["lexical_hits"] == [True] * 3  # BM25, loaded from the store's rows, finds 3 known chunks


def test_a_writer_that_died_leaves_the_store_untrusted(seed_library: Library, data_dir: Path) -> None:
    seed_library.close()
    store = Manifest(data_dir / "cache" / "papers" / STORE_FILE)
    store.mark_writing()  # what a SIGKILLed writer leaves behind: no generation
    store.close()
    out = _probe(data_dir)
    assert out["chroma_loaded"] is True and out["count"] == 46


def test_model_mismatch_is_caught_on_the_lazy_path(seed_library: Library) -> None:
    seed_library.close()
    other = Settings(_env_file=None, data_dir=seed_library.settings.data_dir, embed_model="openai:other")  # type: ignore[call-arg]
    with pytest.raises(ModelMismatchError, match="papers reindex"):
        Library(other)


def test_remove_then_reopen_sees_the_change_lazily(seed_library: Library, data_dir: Path) -> None:
    victim = seed_library.papers()[0].id
    assert seed_library.remove([victim]) == [victim]
    seed_library.close()
    lib = Library(Settings(_env_file=None, data_dir=data_dir))  # type: ignore[call-arg]
    try:
        assert lib.count() == 45 and lib.get(victim) is None
        assert lib.collection.count() == lib.chunk_count() == len(lib.bm25)
    finally:
        lib.close()
