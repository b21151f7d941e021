"""The one place that turns settings into working parts: store, embedder, index, LLM, engine."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from llama_index.core import Settings as LlamaSettings
from llama_index.core import VectorStoreIndex
from llama_index.core.llms import LLM

from index.chroma import open_client, open_http_client
from index.embedding import Embedder, load_embedder, vector_space
from index.ingest import ChunkingPolicy
from index.store import ArticleStore
from service.answering.cache import AnswerCache
from service.answering.checks.judge import ClaimJudge
from service.answering.evidence import EvidencePolicy, SentenceVectors
from service.answering.evidence_engine import EvidenceEngine
from service.answering.model import answer_model
from service.answering.retrieval import FusionWeights, HybridRetriever
from service.answering.rules_engine import CitewireQueryEngine
from service.answering.verifier import Verifier
from service.checking.checker import CheckPolicy, ClaimChecker
from service.llm.backends import build_llm
from service.llm.gate import GenerationGate
from service.settings import Settings


@dataclass
class Components:
    settings: Settings
    store: ArticleStore
    embedder: Embedder
    index: VectorStoreIndex

    @property
    def chunking(self) -> ChunkingPolicy:
        return ChunkingPolicy(self.settings.chunk_tokens, self.settings.chunk_overlap_tokens)


def open_store(settings: Settings) -> ArticleStore:
    """The store in a Chroma server when ``chroma_url`` is set (shared by every process), else embedded."""
    url = settings.chroma_url
    client = open_http_client(str(url)) if url is not None else open_client(settings.chroma_dir)
    return ArticleStore(
        client,
        settings.collection,
        settings.sparse_dir,
        # A variant (minilm-int8) records and checks its original's name: their vectors are interchangeable.
        vector_space(settings.embed_model),
        shared=url is not None,
        sparse_check_s=settings.sparse_check_s,
    )


def build_components(settings: Settings) -> Components:
    """Store and embedder (no LLM): enough for ingest, listing and retrieval."""
    store = open_store(settings)
    embedder = load_embedder(settings.embed_model, settings.embed_batch_size)
    # LlamaIndex falls back to OpenAI for anything not given; make sure nothing ever does.
    LlamaSettings.embed_model = embedder.model
    index = VectorStoreIndex.from_vector_store(store.vector_store, embed_model=embedder.model)
    return Components(settings=settings, store=store, embedder=embedder, index=index)


def build_engine(components: Components, llm: LLM | None = None) -> CitewireQueryEngine:
    settings = components.settings
    llm = llm or build_llm(settings)
    LlamaSettings.llm = llm
    retriever = HybridRetriever(
        components.index,
        components.store,
        components.embedder.model,
        mode=settings.retrieval_mode,
        weights=FusionWeights.from_settings(settings),
    )
    if settings.answerer == "evidence":
        return _evidence_engine(components, llm, retriever)
    calibration = components.embedder.calibration
    return CitewireQueryEngine(
        retriever=retriever,
        judge=ClaimJudge(llm) if settings.judge_claims else None,
        store=components.store,
        llm=llm,
        embed_model=components.embedder.model,
        top_k=settings.top_k,
        max_passages_per_article=settings.max_passages_per_article,
        min_relevance=_or(settings.min_relevance, calibration.relevance),
        min_answer_relevance=_or(settings.min_answer_relevance, calibration.answer_relevance),
        min_paraphrase_similarity=calibration.paraphrase,
        max_answer_tokens=settings.max_answer_tokens,
        token_counter=components.embedder.counter,
        context_tokens=settings.context_tokens,
        context_sentences=settings.context_sentences,
        years_first=settings.years_first,
        this_week_days=settings.this_week_days,
    )


def _evidence_engine(components: Components, llm: LLM, retriever: HybridRetriever) -> EvidenceEngine:
    settings = components.settings
    model = answer_model(llm)
    embed = components.embedder.model
    return EvidenceEngine(
        retriever=retriever,
        store=components.store,
        llm=llm,
        embed_model=embed,
        answer_model=model,
        verifier=Verifier(model),
        vectors=SentenceVectors(embed.get_text_embedding_batch),
        evidence_policy=EvidencePolicy(budget_tokens=settings.evidence_tokens),
        evidence_passages=settings.evidence_passages,
        min_support=settings.min_support,
        language_confidence=settings.language_confidence,
        cache=AnswerCache(settings.answer_cache_size) if settings.answer_cache_size else None,
        # Everything an answer depends on besides the question and the store: settings and the model object.
        fingerprint=f"{settings.model_dump_json()}|{type(llm).__name__}:{id(llm)}",
        top_k=settings.top_k,
        max_passages_per_article=settings.max_passages_per_article,
        min_relevance=_or(settings.min_relevance, components.embedder.calibration.relevance),
        max_answer_tokens=settings.max_answer_tokens,
        token_counter=components.embedder.counter,
        years_first=settings.years_first,
        this_week_days=settings.this_week_days,
    )


def build_checker(engine: CitewireQueryEngine, settings: Settings, gate: GenerationGate) -> ClaimChecker:
    """The claim checker over the engine's retrieval and model; the evidence engine's sentence vectors are shared."""
    vectors = (
        engine.vectors
        if isinstance(engine, EvidenceEngine)
        else SentenceVectors(engine.embed_model.get_text_embedding_batch)
    )
    policy = CheckPolicy(
        max_claims=settings.check_max_claims,
        max_claim_chars=settings.max_question_chars,
        passages=settings.check_passages,
        sentences=settings.check_sentences,
        min_support=settings.check_min_support,
        min_contradiction=settings.check_min_contradiction,
    )
    return ClaimChecker(engine, Verifier(answer_model(engine.llm), prompt="check"), vectors, gate, policy)


def _or(value: float | None, default: float) -> float:
    return default if value is None else value


def configure_for_serving() -> None:
    """Pin torch to one thread in the server.

    A query embeds a dozen tokens, where extra threads only add hand-off cost; and llama.cpp is given
    the cores explicitly for generation, so torch's spinning workers would steal them from it. With
    one thread, query embedding stays ~12 ms and steady (docs/BENCHMARKS.md).
    """
    torch.set_num_threads(1)
