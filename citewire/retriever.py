"""A LlamaIndex retriever backed by a Citewire server: its hybrid search, as nodes any LlamaIndex
query engine, agent or postprocessor takes.

Each node is one passage, exactly article text[start:end] (also its ``start_char_idx``/``end_char_idx``),
scored by its cosine to the question; its metadata names the article and holds the BM25 score. Only
the title, source and date are shown to an LLM. Imports LlamaIndex's core, never torch or Chroma.
"""

from __future__ import annotations

from typing import Any

from llama_index.core.callbacks import CallbackManager
from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeRelationship, NodeWithScore, QueryBundle, RelatedNodeInfo, TextNode

from citewire.client import AsyncCitewire, Citewire, FiltersIn
from citewire.schemas import SearchHit, SearchResponse

_HIDDEN_FROM_LLM = ["article_id", "url", "start", "end", "chunk_id", "bm25"]


class CitewireRetriever(BaseRetriever):
    """Retrieves through ``POST /v1/search``: ``top_k`` passages (default: the server's) among the
    articles ``filters`` allows. ``async_client`` serves ``aretrieve``; without one, each call opens a
    short-lived async client with the blocking client's address and key."""

    def __init__(
        self,
        client: Citewire | None = None,
        *,
        async_client: AsyncCitewire | None = None,
        top_k: int | None = None,
        filters: FiltersIn = None,
        callback_manager: CallbackManager | None = None,
    ) -> None:
        super().__init__(callback_manager=callback_manager)
        self.client = client or Citewire()
        self.async_client = async_client
        self.top_k = top_k
        self.filters = filters

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return nodes_from(self.client.search(**self._search(query_bundle)))

    async def _aretrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        if self.async_client is not None:
            return nodes_from(await self.async_client.search(**self._search(query_bundle)))
        # One per call: an httpx.AsyncClient must not outlive the event loop it first ran in.
        async with AsyncCitewire(self.client.base_url, self.client.api_key, self.client.timeout) as client:
            return nodes_from(await client.search(**self._search(query_bundle)))

    def _search(self, query_bundle: QueryBundle) -> dict[str, Any]:
        return {"question": query_bundle.query_str, "top_k": self.top_k, "filters": self.filters}


def nodes_from(found: SearchResponse) -> list[NodeWithScore]:
    return [NodeWithScore(node=passage_node(hit), score=hit.score) for hit in found.hits]


def passage_node(hit: SearchHit) -> TextNode:
    """A search hit as a LlamaIndex node, its id the chunk's and its source document the article."""
    metadata = hit.model_dump(include={"article_id", "title", "source", "url", "published_at", "start", "end"})
    node = TextNode(
        id_=hit.chunk_id,
        text=hit.text,
        metadata={**metadata, "chunk_id": hit.chunk_id, "bm25": hit.bm25},
        start_char_idx=hit.start,
        end_char_idx=hit.end,
        excluded_llm_metadata_keys=list(_HIDDEN_FROM_LLM),
        excluded_embed_metadata_keys=list(_HIDDEN_FROM_LLM),
    )
    node.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(node_id=hit.article_id)
    return node
