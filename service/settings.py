"""Citewire's settings: one typed object, read once from the environment and passed down.

Every knob is an env var with the ``CITEWIRE_`` prefix (``CITEWIRE_DATA_DIR``, ``CITEWIRE_LLM_BACKEND``...).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, HttpUrl, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MIN_KEY_CHARS = 12


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "citewire"


class Settings(BaseSettings):
    """Typed configuration for indexing, answering and serving."""

    model_config = SettingsConfigDict(env_prefix="CITEWIRE_", extra="ignore")

    # Storage
    data_dir: Path = Field(Path("data"), description="Chroma store and article texts live here.")
    collection: str = Field(
        "citewire",
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{1,50}[A-Za-z0-9]$",
        description="Chroma collection name: several stores can share one Chroma server.",
    )
    chroma_url: HttpUrl | None = Field(
        None,
        description="A Chroma server (`chroma run`), e.g. http://127.0.0.1:8001: chunks, vectors and article "
        "texts live there, shared by every worker and machine. Unset: an embedded Chroma in data_dir, which "
        "only one process may use.",
    )
    sparse_check_s: float = Field(
        0.0,
        ge=0.0,
        le=3600.0,
        description="Retrieval checks at most this often whether another process changed the store, and "
        "brings its BM25 copy up to date (two small Chroma reads). 0: before every retrieval.",
    )

    # Embedding and chunking
    embed_model: str = Field(
        "minilm-int8",
        description="'minilm-int8' (the packaged all-MiniLM-L6-v2 as an int8 ONNX file run by onnxruntime: "
        "English, the default: retrieval as good as fp32, questions embedded in half the time), 'minilm' "
        "(the same model in fp32 through sentence-transformers; the two share stores), 'e5-multilingual' (the packaged "
        "multilingual-e5-small, ~100 languages), a local sentence-transformers folder, a local .onnx file "
        "(its tokenizer in the same folder), or a hub name (needs a network). A store answers only with "
        "the model that built it.",
    )
    embed_batch_size: int = Field(32, ge=1, le=1024, description="Chunks embedded per batch at ingest.")
    chunk_tokens: int = Field(128, ge=16, le=512, description="Chunk size in embedder tokens.")
    chunk_overlap_tokens: int = Field(
        32, ge=0, le=256, description="Embedder tokens a chunk shares with the one before it."
    )

    # Retrieval and answering
    top_k: int = Field(
        4, ge=1, le=20, description="Passages shown to the model (rules engine); a request may ask for other."
    )
    max_passages_per_article: int = Field(
        2, ge=1, le=20, description="At most this many passages from one article go to the model."
    )
    context_sentences: int = Field(
        1, ge=0, le=5, description="Sentences added on each side of a passage for the model, budget allowing."
    )
    context_tokens: int = Field(
        640,
        ge=64,
        le=16384,
        description="Token budget (embedder tokens) of all passages together, neighbouring sentences "
        "included; passages are never cut to fit it.",
    )
    retrieval_mode: Literal["hybrid", "dense", "sparse"] = Field(
        "hybrid", description="'hybrid' fuses dense (Chroma) and BM25 results; the others use one alone."
    )
    dense_weight: float = Field(1.0, ge=0.0, le=10.0, description="Weight of the dense ranking in RRF.")
    sparse_weight: float = Field(1.0, ge=0.0, le=10.0, description="Weight of the BM25 ranking in RRF.")
    rrf_k: int = Field(60, ge=0, le=1000, description="RRF rank offset: score = weight / (rrf_k + rank).")
    recency_weight: float = Field(
        1.0,
        ge=0.0,
        le=10.0,
        description="For questions asked as of a day, or asking for the latest news, that name no other "
        "year than that day's: bonus of a candidate of that day (or the newest dated one), in units of one "
        "first place in one ranking. 0 turns recency off.",
    )
    recency_half_life_days: float = Field(
        30.0, gt=0.0, le=3650.0, description="The recency bonus halves per this many days."
    )
    years_first: bool = Field(
        True,
        description="For a question naming a year, passages of articles that mention it go to the model "
        "first (the others after them, room allowing): an answer must cite such an article anyway.",
    )
    this_week_days: int = Field(
        10,
        ge=0,
        le=366,
        description="For a question asked as of a known day (filters.as_of) about 'this week' / 'on Tuesday' / "
        "'yesterday' (naming no year): only articles published at most this many days before that day, or "
        "undated, may answer. 0 turns it off.",
    )
    min_relevance: float | None = Field(
        None,
        ge=-1.0,
        le=1.0,
        description="Cosine similarity below which a retrieved chunk counts as irrelevant; if no chunk "
        "reaches it, Citewire abstains without calling the model. Unset: the embedder's calibrated "
        "value (0.2 for MiniLM).",
    )
    min_answer_relevance: float | None = Field(
        None,
        ge=-1.0,
        le=1.0,
        description="Cosine of question and checked answer below which the answer, though backed, is "
        "not about the question, and Citewire abstains. Unset: the embedder's calibrated value (0.3 "
        "for MiniLM; right answers on the development data scored >= 0.40, docs/EVALUATION.md).",
    )
    answerer: Literal["rules", "evidence"] = Field(
        "rules",
        description="'rules': passages, lexical checks and a model judge (service/answering/rules_engine.py). "
        "'evidence': the model answers from numbered evidence sentences, citing them by id, and one verifier "
        "scores every claim (service/answering/evidence_engine.py): ~0.36x the time, but less accurate so far "
        "(docs/EVALUATION.md).",
    )
    evidence_tokens: int = Field(
        200, ge=16, le=8192, description="Token budget (embedder tokens) of the evidence sentences shown to the model."
    )
    evidence_passages: int = Field(
        8, ge=1, le=50, description="Retrieved passages whose sentences compete for the evidence budget."
    )
    min_support: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="A claim whose verifier score (P(true) of its cited sentences) is below this is dropped; with "
        "none left, Citewire abstains. Fitted on the tune splits of RGB and RealTime QA (bench/calibrate_support.py).",
    )
    check_min_support: float = Field(
        0.2,
        ge=0.0,
        le=1.0,
        description="/v1/check: a sentence whose verifier P(true) for a claim reaches this supports it. Fitted on "
        "the tune split of tests/data/claims.jsonl (bench/check_claims.py, docs/CHECKS.md).",
    )
    check_min_contradiction: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="/v1/check: a sentence whose verifier P(false) for a claim reaches this contradicts it. Fitted "
        "like check_min_support.",
    )
    check_max_claims: int = Field(12, ge=1, le=200, description="/v1/check: most claims (sentences) in one text.")
    check_passages: int = Field(
        6, ge=1, le=50, description="/v1/check: retrieved passages per claim whose sentences compete."
    )
    check_sentences: int = Field(
        3, ge=1, le=20, description="/v1/check: sentences per claim the verifier reads, one at a time."
    )
    language_confidence: float = Field(
        0.4,
        ge=0.0,
        le=1.0,
        description="The evidence engine names the question's language in its prompt when the language "
        "identifier is at least this sure; below it, the model is only asked to answer in the question's language.",
    )
    answer_cache_size: int = Field(
        256,
        ge=0,
        le=100_000,
        description="Finished answers kept (by question, filters, store state, settings); 0: none.",
    )
    judge_claims: bool = Field(
        True,
        description="Ask the LLM, in a second short call per answer sentence, whether the cited text "
        "states the sentence; sentences it calls false or unmentioned are dropped.",
    )
    max_question_chars: int = Field(
        2000, ge=10, le=100_000, description="Longer questions are refused with a 422 before any work."
    )
    max_answer_tokens: int = Field(256, ge=16, le=4096, description="Most tokens the model may write for one answer.")

    # LLM
    llm_backend: Literal["llamacpp", "openai"] = Field(
        "llamacpp", description="'llamacpp': a local GGUF model in-process; 'openai': any OpenAI-compatible server."
    )
    llm_model: str = Field(
        "default",
        description="llamacpp: a profile ('default', 'fast', 'tiny') or a path to a .gguf file. "
        "openai: the model name the server expects.",
    )
    llm_context_tokens: int = Field(4096, ge=512, le=131072, description="The local model's context window.")
    llm_threads: int = Field(
        default_factory=lambda: os.cpu_count() or 1, ge=1, description="llama.cpp threads (default: every core)."
    )
    llm_seed: int = Field(
        0, description="Sampling seed of the local model (answers are greedy; kept for repeatability)."
    )
    model_cache_dir: Path = Field(
        default_factory=lambda: default_cache_dir() / "models",
        description="Where model files joined from their packages are kept (default ~/.cache/citewire/models).",
    )
    openai_base_url: str = Field(
        "http://127.0.0.1:8080/v1", description="The OpenAI-compatible server (llm_backend=openai)."
    )
    openai_api_key: SecretStr = Field(SecretStr("not-needed"), description="Its API key, if it needs one.")
    openai_timeout_s: float = Field(120.0, gt=0, description="Seconds to wait for that server's answer.")

    # Serving
    host: str = Field("127.0.0.1", description="Address citewire serve listens on.")
    port: int = Field(8000, ge=1, le=65535, description="Port citewire serve listens on.")
    log_format: Literal["text", "json"] = Field(
        "text",
        description="'json': every log line one JSON object with the request id (logger citewire.access for "
        "requests); 'text': uvicorn's usual lines.",
    )
    workers: int = Field(
        1,
        ge=1,
        le=64,
        description="Server processes, each with its own models and its own one-at-a-time generation queue "
        "(max_queued_requests is per worker). More than one needs chroma_url.",
    )
    api_key: SecretStr | None = Field(
        None,
        description="Every write endpoint needs 'Authorization: Bearer <key>' (401 otherwise). Unset: the key "
        "kept in <data_dir>/api_key (made at first start, 0600; `citewire key` prints it). An empty or short "
        "key is refused.",
    )
    allowed_origins: list[str] = Field(
        default_factory=list,
        description="Web origins (scheme://host:port) besides the server's own whose pages may write "
        "(a write carrying any other Origin, or a cross-site Sec-Fetch-Site, gets 403).",
    )
    allowed_hosts: list[str] = Field(
        default_factory=lambda: ["127.0.0.1", "localhost", "::1"],
        description="Host names a browser may reach the server by for writes (a defence against DNS "
        "rebinding); the listening host is always allowed.",
    )
    rate_limit_per_minute: float = Field(
        300.0,
        ge=0.0,
        description="Requests per minute each API key (or, without one, each client address) may make, on "
        "average; more get 429 with Retry-After. 0 turns the limit off. Probes and metrics are not counted.",
    )
    rate_limit_burst: int = Field(
        60, ge=1, le=100_000, description="Requests a client may make at once before the per-minute rate applies."
    )
    protect_reads: bool = Field(False, description="Require the API key for reads (questions, articles) too.")
    max_request_bytes: int = Field(
        25_000_000, ge=1_000, description="Largest request body; more gets 413 (uploads included)."
    )
    max_upload_bytes: int = Field(10_000_000, ge=1_000, description="Largest single uploaded file; more gets 413.")
    max_batch_articles: int = Field(1000, ge=1, le=100_000, description="Most articles in one request or upload.")
    max_article_chars: int = Field(2_000_000, ge=100, description="Longest article text accepted.")
    sync_ingest_articles: int = Field(
        20, ge=0, description="Batches up to this size are stored before the response; larger ones run as a job."
    )
    parse_timeout_s: float = Field(
        30.0, gt=0, le=3600, description="Longest time parsing one uploaded file may take; more gets 422."
    )
    job_retention_hours: float = Field(
        168.0,
        ge=0.0,
        description="Finished jobs (ingest and evaluation), their inputs and results are removed after this "
        "many hours; 0 keeps them.",
    )
    max_queued_requests: int = Field(
        8, ge=0, le=1000, description="Requests that may wait for the model; more get 503 with Retry-After."
    )
    request_timeout_s: float = Field(
        180.0, gt=0, le=3600, description="A request's limit for waiting and generating together."
    )

    @model_validator(mode="after")
    def _overlap_below_chunk(self) -> Settings:
        if self.chunk_overlap_tokens >= self.chunk_tokens:
            raise ValueError("chunk_overlap_tokens must be smaller than chunk_tokens")
        return self

    @model_validator(mode="after")
    def _workers_share_a_server(self) -> Settings:
        if self.workers > 1 and self.chroma_url is None:
            raise ValueError(
                "workers > 1 needs CITEWIRE_CHROMA_URL: an embedded Chroma is one process's (another process's "
                "writes never reach its vector index)"
            )
        return self

    @field_validator("api_key")
    @classmethod
    def _a_real_key(cls, key: SecretStr | None) -> SecretStr | None:
        if key is not None and len(key.get_secret_value().strip()) < MIN_KEY_CHARS:
            raise ValueError(
                f"CITEWIRE_API_KEY must have at least {MIN_KEY_CHARS} characters (an empty key would let "
                "an empty token in); unset it to use the generated one in <data_dir>/api_key"
            )
        return key

    @field_validator("chroma_url")
    @classmethod
    def _a_server_address(cls, url: HttpUrl | None) -> HttpUrl | None:
        if url is not None and (url.path not in (None, "", "/") or url.query or url.fragment):
            raise ValueError("a Chroma server's address is http(s)://host[:port], without a path or query")
        return url

    @property
    def chroma_dir(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def sparse_dir(self) -> Path:
        return self.data_dir / "bm25" / self.collection


def settings_rows() -> list[tuple[str, str, str]]:
    """Every setting as (environment variable, default, description), in declaration order."""
    prefix = str(Settings.model_config.get("env_prefix", ""))
    rows = []
    for name, field in Settings.model_fields.items():
        default = "computed" if field.default_factory else "" if field.default is None else str(field.default)
        rows.append((f"{prefix}{name.upper()}", default, " ".join((field.description or "").split())))
    return rows


def settings_markdown() -> str:
    """Every setting as a markdown table (variable, default, what it does), from the fields' descriptions."""
    lines = ["| variable | default | what it does |", "|---|---|---|"]
    for variable, default, about in settings_rows():
        shown = f"`{default}`" if default and default != "computed" else default
        cell = about.replace("|", "\\|")
        lines.append(f"| `{variable}` | {shown} | {cell} |")
    return "\n".join(lines)
