"""Chunking: the one-chunk fast path gives exactly what SentenceSplitter gives; long texts still split."""

from __future__ import annotations

import json
from pathlib import Path

from assistant.library.chunking import _count_tokens, _splitter, chunk_paper, split_text
from assistant.models import Paper, Section
from bench.corpus import synth_papers
from ingest.sources.seed import SEED_FILE
from tests.support import papers_json

ODD = [
    "  leading and trailing spaces  \n\n",
    "para one.\n\n\npara two.\n\n",
    "a\tb\r\nc",
    "Line one\nLine two  \n\n  Line three",
    "\u00a0non-breaking spaces\u00a0",
    "x",
]


def test_fast_path_equals_the_sentence_splitter() -> None:
    texts = [json.loads(line)["abstract"] for line in SEED_FILE.read_text(encoding="utf-8").splitlines() if line]
    texts += [str(p["abstract"]) for p in synth_papers(300)] + ODD
    splitter = _splitter(512, 64)
    fitting = [t for t in texts if len(_count_tokens()(t)) <= 512]
    assert len(fitting) == len(texts)  # every abstract here takes the fast path
    for text in texts:
        assert split_text(text, 512, 64) == splitter.split_text(text), text[:80]
    # Small chunk sizes send the same texts through the splitter on both sides.
    for text in texts[:20]:
        assert split_text(text, 40, 8) == splitter.__class__(
            chunk_size=40, chunk_overlap=8, tokenizer=_count_tokens(), paragraph_separator="\n\n"
        ).split_text(text)


def test_long_sections_are_split_within_the_token_budget() -> None:
    body = " ".join(f"Sentence {i} describes one more step of the method in some detail." for i in range(400))
    paper = Paper(
        id="p1", title="Long paper", abstract="Short abstract.", sections=[Section(heading="Method", text=body)]
    )
    chunks = chunk_paper(paper, 128, 16)
    assert chunks[0].text == "Short abstract." and chunks[0].section == "abstract"
    assert len(chunks) > 10 and all(c.section == "Method" for c in chunks[1:])
    assert all(len(_count_tokens()(c.text)) <= 128 for c in chunks)
    assert [c.index for c in chunks] == list(range(len(chunks)))


def test_special_token_text_is_ingested_as_text(tmp_path: Path) -> None:
    src = tmp_path / "special.jsonl"
    abstract = "We study how <|endoftext|> markers left in web text affect language model pretraining."
    src.write_text(json.dumps({"id": "s1", "title": "Stray end-of-text markers", "abstract": abstract}) + "\n")
    report = papers_json("ingest", str(src), "--json")
    assert (report["added"], report["failed"]) == (1, 0)
    paper = Paper(id="s1", title="Stray end-of-text markers", abstract=abstract)
    assert chunk_paper(paper)[0].text == abstract
