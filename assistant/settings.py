"""The one typed settings object. Everything configurable lives here (env prefix PAPERS_, .env)."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_EMBED_MODEL = "sentence-transformers/all-MiniLM-L6-v2"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PAPERS_", env_file=".env", env_file_encoding="utf-8", extra="ignore")

    # --- library -------------------------------------------------------------
    data_dir: Path = Field(
        Path(".papers"),
        description="Directory holding the library: embedded Chroma, the BM25 index, the manifest and locks.",
    )
    collection: str = Field("papers", description="Chroma collection name for this library.")
    chroma_url: str = Field(
        "",
        description="Empty: embedded Chroma under data_dir. http://host:port: a Chroma server (`chroma run`).",
    )
    chroma_timeout_s: float = Field(
        10.0, gt=0, description="Seconds before an unreachable Chroma server is reported as an error."
    )
    lock_timeout_s: float = Field(
        0.0,
        ge=0,
        description="Seconds a writer waits for another process's write lock before giving up (0: fail at once).",
    )

    # --- embedding -----------------------------------------------------------
    embed_model: str = Field(
        DEFAULT_EMBED_MODEL,
        description=(
            "Embedding model: the bundled all-MiniLM-L6-v2 by default, any sentence-transformers id or path, "
            "or `openai:<model>` for an OpenAI-compatible /embeddings endpoint."
        ),
    )
    embed_device: Literal["cpu", "cuda", "auto"] = Field(
        "cpu", description="Device for the local embedding model: cpu, cuda or auto."
    )
    embed_batch_size: int = Field(
        16,
        ge=1,
        description=(
            "Texts per embedding batch (local forward pass or remote request). 16 embeds MiniLM on CPU "
            "12-15% faster than 64: smaller attention matrices stay in cache (bench/RESULTS.md)."
        ),
    )
    embed_base_url: str = Field(
        "", description="Base URL of the OpenAI-compatible embeddings server (falls back to the LLM base URL)."
    )
    embed_api_key: SecretStr = Field(
        SecretStr(""), description="API key for the embeddings server (falls back to the LLM key)."
    )
    embed_concurrency: int = Field(4, ge=1, description="Concurrent requests to a remote embeddings server.")
    embed_timeout_s: float = Field(60.0, gt=0, description="Timeout of one remote embeddings request.")

    # --- chunking ------------------------------------------------------------
    chunk_size: int = Field(512, ge=32, description="Maximum chunk length in cl100k tokens.")
    chunk_overlap: int = Field(64, ge=0, description="Token overlap between consecutive chunks of one paper.")

    # --- retrieval -----------------------------------------------------------
    top_k: int = Field(
        8,
        ge=1,
        description=(
            "Most papers a search returns and an answer uses as sources; an answer, comparison or summary "
            "takes fewer when they fall below PAPERS_RELEVANCE_BAR."
        ),
    )
    relevance_bar: float = Field(
        0.5,
        ge=0,
        le=1,
        description=(
            "Papers scoring below this fraction of the best paper's fused score are left out of answers, "
            "comparisons and summaries (0: always top_k). Calibrated on the dev set's tune split: set "
            "questions keep all their papers, single-paper questions carry about two more (bench/DEV_EVAL.md)."
        ),
    )
    candidate_k: int = Field(50, ge=1, description="Chunks taken from each of dense and BM25 search before fusion.")
    fusion: Literal["minmax", "rrf"] = Field(
        "minmax",
        description=(
            "How the dense and BM25 chunk rankings are combined. minmax: each list's scores scaled to [0, 1] "
            "over its candidates, then a weighted sum (SciFact train nDCG@10 0.817, dev MRR@10 0.978); rrf: "
            "reciprocal rank fusion with PAPERS_RRF_K (0.801, 0.967). bench/DEV_EVAL.md, 'Fusion tuning'."
        ),
    )
    rrf_k: int = Field(60, ge=1, description="Reciprocal rank fusion constant (PAPERS_FUSION=rrf only).")
    evidence_per_paper: int = Field(3, ge=1, description="Best chunks kept per paper as its evidence.")
    dense_weight: float = Field(
        1.0,
        ge=0,
        description=(
            "Weight of the dense (embedding) ranking in the fusion; equal weights measured best (0: BM25 only)."
        ),
    )
    fusion_max_weight: float = Field(
        2.0,
        ge=0,
        description=(
            "Min-max fusion: weight of a chunk's better single-list score added to the weighted sum "
            "(CombMAX), so a paper only the embedding (or only BM25) finds is not buried; dev set-question "
            "recall@10 0.90 -> 0.96 at 2.0, SciFact unchanged within noise."
        ),
    )
    lexical_weight: float = Field(
        1.0, ge=0, description="Weight of the BM25 ranking over chunks in the fusion (0: dense only)."
    )
    abstain_threshold: float = Field(
        0.30,
        description=(
            "Best dense cosine similarity below which the library is taken not to cover a question "
            "(calibrated on bench/dev_questions.jsonl: off-topic questions score at most 0.20, on-topic at least 0.43)."
        ),
    )

    answerability_check: bool = Field(
        True,
        description=(
            "Also abstain when the matching passages do not speak to the question: a name it asks about "
            "(BERT, ResNet) in none of them, almost none of its terms, or 'which paper introduced X' with no "
            "paper presenting X as its own (assistant/retrieval/answerable.py). Off: the cosine floor alone."
        ),
    )

    # --- verification (assistant/answers/verify) --------------------------------------
    verify_evidence_threshold: float = Field(
        0.5,
        ge=0,
        le=1,
        description=(
            "Offline score from which a cited passage counts as bearing a sentence out (partly_supported or "
            "better; below it: not_found). 0.5 is the even-odds point of the offline judge's logistic score, "
            "whose weights were fitted with balanced classes on SciFact train claims (bench/VERIFY.md); fixed "
            "before any evaluation run, not tuned on it."
        ),
    )
    verify_supported_threshold: float = Field(
        0.6,
        ge=0,
        le=1,
        description=(
            "Offline score from which a sentence is `supported` rather than `partly_supported`: on SciFact train "
            "claims 102 of the 103 pairs from 0.6 on carry evidence (0.95 of those from 0.5), bench/VERIFY.md."
        ),
    )
    verify_llm_judge: bool = Field(
        True,
        description=(
            "With an LLM configured, it judges each answer's cited sentences too (one batched request, shown the "
            "offline quote as evidence); its verdict wins when its reply parses, else the offline verdict stands."
        ),
    )
    verify_llm_floor: float = Field(
        0.1,
        ge=0,
        le=1,
        description=(
            "Below this offline score a passage shares almost nothing with the sentence (on SciFact train none "
            "of the 9 pairs this low carries evidence), so an LLM judge's 'supported' is not taken: a small "
            "model says 'supported' to anything."
        ),
    )
    verify_min_supported_share: float = Field(
        0.5,
        ge=0,
        le=1,
        description=(
            "An LLM reply whose cited sentences are less than this share at least partly supported falls back "
            "to the extractive result, with the reason: a reply that is mostly unsupported is not an answer."
        ),
    )

    # --- llm -----------------------------------------------------------------
    llm_model: str = Field("", description="Chat model name; empty means offline extractive answers.")
    llm_base_url: str = Field(
        "", description="OpenAI-compatible base URL (Ollama, vLLM, llama.cpp); falls back to OPENAI_BASE_URL."
    )
    llm_api_key: SecretStr = Field(SecretStr(""), description="API key; falls back to OPENAI_API_KEY.")
    llm_timeout_s: float = Field(60.0, gt=0, description="Timeout of one LLM request in seconds.")
    llm_max_retries: int = Field(1, ge=0, description="Retries of a failed LLM request.")
    llm_temperature: float = Field(0.1, ge=0, le=2, description="Sampling temperature.")
    llm_max_tokens: int = Field(800, ge=16, description="Maximum tokens in one LLM reply.")
    llm_context_tokens: int = Field(
        8192,
        ge=512,
        validation_alias=AliasChoices("llm_context_tokens", "PAPERS_LLM_CONTEXT_TOKENS", "PAPERS_LLM_CONTEXT_WINDOW"),
        description=(
            "The model's context length in tokens (prompt + reply). Answer prompts are fitted to it, counted "
            "in cl100k tokens with a 10% margin, after PAPERS_LLM_MAX_TOKENS is set aside for the reply: the "
            "lowest-ranked sources are left out first, and the answer says so. Match it to the server's setting "
            "(Ollama's default is small, see OLLAMA_CONTEXT_LENGTH): a server silently cuts an over-long prompt "
            "from the front, losing the rules. PAPERS_LLM_CONTEXT_WINDOW is its old name."
        ),
    )
    history_tokens: int = Field(1500, ge=0, description="Token budget of chat history kept for follow-ups.")
    pdf_page_scale: float = Field(
        1.5,
        ge=0.5,
        le=4.0,
        description="Scale a cited PDF page is rendered at in the citation view (1 = 72 dpi); cached per scale.",
    )

    # --- limits --------------------------------------------------------------
    max_file_mb: float = Field(50.0, gt=0, description="Largest input file accepted, in MB.")
    max_paper_chars: int = Field(2_000_000, ge=1000, description="Most characters of text kept per paper.")
    pdf_timeout_s: float = Field(60.0, gt=0, description="Time limit for parsing one PDF.")
    pdf_memory_mb: int = Field(
        1024, ge=64, description="Memory the process parsing one PDF may map beyond its start-up size, in MB."
    )
    pdf_max_pages: int = Field(2000, ge=1, description="Most pages read from one PDF.")
    ingest_max_errors: int = Field(
        100,
        ge=1,
        description=(
            "Most per-item load errors an ingest report keeps (the CLI prints them, then `… and N more errors`); "
            "every error is still counted in `failed`."
        ),
    )
    pdf_cache: bool = Field(
        True,
        description=(
            "Keep each PDF's parse under data_dir/cache/pdf, keyed by the file's content, the limits and the "
            "parser's code, so re-ingesting or re-syncing unchanged PDFs (a Zotero sync, a watched folder) "
            "starts no parser process."
        ),
    )

    # --- arXiv ---------------------------------------------------------------
    arxiv_api_url: str = Field("https://export.arxiv.org/api/query", description="arXiv API endpoint (Atom).")
    arxiv_timeout_s: float = Field(30.0, gt=0, description="Timeout of one arXiv API request in seconds.")
    arxiv_retries: int = Field(
        2, ge=0, description="Retries of a failed arXiv API request (429, 5xx, connection; Retry-After; >= 3 s apart)."
    )

    # --- metadata enrichment (off by default) ---------------------------------
    enrich: bool = Field(
        False, description="Fill missing authors/year/venue/abstract by DOI (Crossref, OpenAlex) or arXiv id at ingest."
    )
    enrich_mailto: str = Field("", description="Contact address sent to Crossref/OpenAlex (their 'polite pool').")
    crossref_api_url: str = Field("https://api.crossref.org", description="Crossref REST API base URL.")
    openalex_api_url: str = Field("https://api.openalex.org", description="OpenAlex API base URL.")
    enrich_timeout_s: float = Field(15.0, gt=0, description="Timeout of one enrichment request in seconds.")
    enrich_retries: int = Field(
        2, ge=0, description="Retries of a failed enrichment request (429, 5xx, connection; Retry-After or back-off)."
    )
    enrich_rate_per_s: float = Field(
        5.0, gt=0, description="Most enrichment requests per second to one service (a polite client)."
    )

    # --- watched folders -------------------------------------------------------
    watch: str = Field(
        "",
        description=(
            "Folders (os.pathsep-separated) that `make run` watches: new or changed PDFs and bibliography files "
            "are ingested as they land, papers whose file was deleted are removed (`papers watch DIR...`)."
        ),
    )
    watch_debounce_s: float = Field(
        2.0, gt=0, description="Quiet time a file must keep (size and mtime unchanged) before it is read."
    )

    # --- the library map (Map page, `papers map`) --------------------------------
    map_tsne_max_papers: int = Field(
        500,
        ge=0,
        description=(
            "Largest library laid out by t-SNE on the map (under a second); larger ones use PCA, which keeps "
            "10k papers inside the bench goal. 0: always PCA."
        ),
    )

    # --- the REST API (`papers serve`, ui/api/) ---------------------------------
    api_host: str = Field(
        "127.0.0.1",
        description="Address `papers serve` binds to; anything but loopback requires PAPERS_API_KEYS.",
    )
    api_port: int = Field(8000, ge=1, le=65535, description="Port `papers serve` listens on.")
    api_keys: SecretStr = Field(
        SecretStr(""),
        description=(
            "API keys, comma-separated, each `read:KEY` (search, ask, list) or `write:KEY` (also ingest and "
            "delete), sent as `Authorization: Bearer KEY`. Empty: no auth, allowed on loopback only. Never logged."
        ),
    )
    api_rate_limit: int = Field(
        600, ge=0, description="Requests per minute per API key (0: no limit); over it the API answers 429."
    )
    api_cors_origins: str = Field(
        "", description="Browser origins allowed to call the API (comma-separated); empty: CORS off."
    )
    api_max_files: int = Field(
        20, ge=1, description="Most files in one upload to POST /ingest (each capped by PAPERS_MAX_FILE_MB)."
    )
    api_allowed_hosts: str = Field(
        "",
        description=(
            "Host header values the API accepts besides loopback ones (comma-separated, `name` or `name:port`). "
            "Without keys only 127.0.0.1, localhost and [::1] are accepted (DNS rebinding: 421); with keys and "
            "this empty, any host."
        ),
    )
    api_auth_failures: int = Field(
        30,
        ge=1,
        description=(
            "Failed key attempts (missing or unknown key) allowed per client address a minute; past it every "
            "request from that address is answered 429 until the minute has passed."
        ),
    )
    api_jobs_kept: int = Field(
        200, ge=1, description="Finished writer jobs (and their reports) the API keeps for GET /jobs/{id}."
    )
    api_max_pending_jobs: int = Field(
        100, ge=1, description="Most writer jobs queued or running at once; past it POST /ingest and DELETE get 429."
    )
    api_heartbeat_s: float = Field(
        10.0,
        gt=0,
        description=(
            "How often a `papers serve` on a Chroma server renews its claim on the library; a claim not renewed "
            "for three times this is taken as a server that died."
        ),
    )

    # --- client mode: the faces over a `papers serve` elsewhere (ui/api_client.py) -----
    api_url: str = Field(
        "",
        description=(
            "Empty: the CLI, the app and `papers mcp` open the library here. http://host:port: they use that "
            "`papers serve` API instead (client mode; several apps share one library and see each other's writes)."
        ),
    )
    api_key: SecretStr = Field(
        SecretStr(""),
        description="The key client mode sends to PAPERS_API_URL: one of its PAPERS_API_KEYS (a write key to ingest).",
    )
    api_timeout_s: float = Field(
        300.0, gt=0, description="Client mode: seconds to wait for one API answer (an LLM answer can take a while)."
    )
    mcp_port: int = Field(
        8001,
        ge=1,
        le=65535,
        description=(
            "Port `papers mcp --http` listens on (beside `papers serve` on PAPERS_API_PORT); the host is "
            "PAPERS_API_HOST."
        ),
    )

    @field_validator("chroma_url")
    @classmethod
    def _strip_url(cls, v: str) -> str:
        return v.strip().rstrip("/")

    @property
    def llm_context_window(self) -> int:
        """The old name of `llm_context_tokens` (one setting)."""
        return self.llm_context_tokens

    @property
    def llm_enabled(self) -> bool:
        return bool(self.llm_model.strip())

    def resolved_llm_base_url(self) -> str:
        return self.llm_base_url or os.environ.get("OPENAI_BASE_URL", "")

    def resolved_llm_api_key(self) -> str:
        return self.llm_api_key.get_secret_value() or os.environ.get("OPENAI_API_KEY", "")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
