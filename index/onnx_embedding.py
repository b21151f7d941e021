"""Sentence embeddings from an ONNX encoder run by onnxruntime (no torch): the int8 MiniLM (``minilm-int8``) and others.

An export usually holds the bare transformer, so sentence-transformers' pooling is redone here: mean over the real
(unpadded) tokens, then L2 normalisation (a file that already outputs ``sentence_embedding`` is only normalised).
Texts are truncated at the model's ``max_length`` and batched by length, so short texts are not padded to long ones.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np
import onnxruntime as ort
from llama_index.core.base.embeddings.base import BaseEmbedding
from pydantic import PrivateAttr
from transformers import PreTrainedTokenizerBase

# Texts per onnxruntime run. Measured on 128-token news chunks, 2 cores: 8 gives ~90 chunks/s, 32
# ~70 (bigger activations fall out of cache); LlamaIndex's embed_batch_size still sets what arrives.
RUN_TEXTS = 8


def usable_cores() -> int:
    """Cores this process may run on (a container's CPU set, not the host's count)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def open_session(model_path: Path, num_threads: int | None = None) -> ort.InferenceSession:
    """An onnxruntime CPU session with an explicit thread count and no spinning.

    One thread per usable core by default: onnxruntime's own default counts the host's physical
    cores, which oversubscribes a small container. Spinning is off so that idle pool threads do not
    busy-wait on cores llama.cpp is generating on (measured here: no loss of throughput)."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = num_threads or usable_cores()
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])


class OnnxEmbedding(BaseEmbedding):
    """LlamaIndex embedding over an ONNX sentence encoder; questions and passages are embedded alike."""

    _session: ort.InferenceSession = PrivateAttr()
    _tokenizer: PreTrainedTokenizerBase = PrivateAttr()
    _max_length: int = PrivateAttr()
    _inputs: list[str] = PrivateAttr()
    _output: str = PrivateAttr()
    _tokenizer_lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    def __init__(
        self,
        session: ort.InferenceSession,
        tokenizer: PreTrainedTokenizerBase,  # its own: not shared with a TokenCounter (see _run)
        max_length: int,
        model_name: str,
        embed_batch_size: int = 32,
    ) -> None:
        super().__init__(model_name=model_name, embed_batch_size=embed_batch_size)
        self._session = session
        self._tokenizer = tokenizer
        self._max_length = max_length
        self._inputs = [i.name for i in session.get_inputs()]  # some exports take no token_type_ids
        outputs = [o.name for o in session.get_outputs()]
        self._output = "sentence_embedding" if "sentence_embedding" in outputs else outputs[0]

    @classmethod
    def class_name(cls) -> str:
        return "OnnxEmbedding"

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit vectors, one row per text, in the given order; sorted by length, RUN_TEXTS per run."""
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        runs = [order[start : start + RUN_TEXTS] for start in range(0, len(order), RUN_TEXTS)]
        rows = [self._run([texts[i] for i in run]) for run in runs]
        if not rows:
            return np.zeros((0, 0), dtype=np.float32)
        vectors = np.empty((len(texts), rows[0].shape[1]), dtype=np.float32)
        vectors[order] = np.concatenate(rows)
        return vectors

    def _run(self, texts: list[str]) -> np.ndarray:
        # A fast tokenizer sets its padding and truncation on the shared Rust object at every call, so
        # two threads at once (a query during an ingest job) can fail with "Already borrowed".
        with self._tokenizer_lock:
            encoded = self._tokenizer(
                texts, padding=True, truncation=True, max_length=self._max_length, return_tensors="np"
            )
        ids = np.asarray(encoded["input_ids"], dtype=np.int64)
        # A tokenizer may not return token types; BERT-style models then expect zeros.
        feed = {
            name: np.asarray(encoded[name], dtype=np.int64) if name in encoded else np.zeros_like(ids)
            for name in self._inputs
        }
        (out,) = self._session.run([self._output], feed)
        if out.ndim == 3:  # one vector per word piece: mean over the real (unpadded) ones
            mask = np.asarray(encoded["attention_mask"], dtype=np.float32)[..., None]
            out = (out * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
        return np.asarray(out / np.clip(np.linalg.norm(out, axis=1, keepdims=True), 1e-12, None), dtype=np.float32)

    def _get_query_embedding(self, query: str) -> list[float]:
        return self.encode([query])[0].tolist()

    def _get_text_embedding(self, text: str) -> list[float]:
        return self.encode([text])[0].tolist()

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self.encode(texts).tolist() if texts else []

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)

    async def _aget_text_embedding(self, text: str) -> list[float]:
        return self._get_text_embedding(text)
