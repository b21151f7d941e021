"""LLM backends behind one interface: LlamaIndex's ``LLM``.

``llamacpp`` (default) runs a local GGUF through llama-cpp-python's chat completion, which applies
the GGUF's own chat template; ``openai`` talks to any OpenAI-compatible server through LlamaIndex's
``OpenAILike``. The engine only ever calls ``llm.chat(messages)``.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    ChatResponseGen,
    CompletionResponse,
    CompletionResponseGen,
    LLMMetadata,
)
from llama_index.core.llms import LLM, CustomLLM
from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback
from pydantic import PrivateAttr

from service.gguf import resolve_gguf
from service.settings import Settings


class LlamaCppChat(CustomLLM):
    """A thin LlamaIndex wrapper over ``llama_cpp.Llama.create_chat_completion``.

    One generation runs at a time: a llama.cpp context is not safe to share between threads.
    """

    model_path: str
    context_window: int = 4096
    max_tokens: int = 256
    n_threads: int = 2
    seed: int = 0
    _llama: Any = PrivateAttr()
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    def __init__(self, **data: Any) -> None:
        super().__init__(**data)
        from llama_cpp import Llama  # imported lazily: it loads a native library

        # Give llama.cpp the cores explicitly: its default guess counts logical CPUs and
        # oversubscribes, and its threads spin while waiting, so extra ones only steal time.
        self._llama = Llama(
            model_path=self.model_path,
            n_ctx=self.context_window,
            n_threads=self.n_threads,
            n_threads_batch=self.n_threads,
            seed=self.seed,
            verbose=False,
        )

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(
            context_window=self.context_window,
            num_output=self.max_tokens,
            is_chat_model=True,
            model_name=Path(self.model_path).name,
        )

    def _request(self, messages: Sequence[ChatMessage], stream: bool, **kwargs: Any) -> Any:
        # Forget the previous prompt: reusing its cached prefix evaluates the rest in different batch
        # shapes, which shifts the floats enough to change greedy output, so the same question could
        # get a different answer depending on what was asked before. Re-reading the short shared
        # system prompt costs ~0.3 s at most.
        self._llama.reset()
        return self._llama.create_chat_completion(
            messages=[{"role": m.role.value, "content": m.content or ""} for m in messages],
            max_tokens=kwargs.get("max_tokens", self.max_tokens),
            temperature=kwargs.get("temperature", 0.0),
            stop=kwargs.get("stop"),
            seed=self.seed,
            stream=stream,
        )

    @llm_chat_callback()
    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        with self._lock:
            raw = self._request(messages, stream=False, **kwargs)
        text = raw["choices"][0]["message"].get("content") or ""
        return ChatResponse(message=ChatMessage(role="assistant", content=text), raw=raw)

    @llm_chat_callback()
    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        def gen() -> ChatResponseGen:
            text, finish = "", None
            with self._lock:
                for part in self._request(messages, stream=True, **kwargs):
                    choice = part["choices"][0]
                    delta = choice["delta"].get("content") or ""
                    text, finish = text + delta, choice.get("finish_reason") or finish
                    yield ChatResponse(message=ChatMessage(role="assistant", content=text), delta=delta, raw=part)
                usage = self._stream_usage(text, cut_short=finish == "length")
            # llama.cpp's stream carries no usage: the last response brings it, as a whole reply would.
            yield ChatResponse(message=ChatMessage(role="assistant", content=text), delta="", raw={"usage": usage})

        return gen()

    def _stream_usage(self, text: str, cut_short: bool) -> dict[str, int]:
        """Token counts of the stream just finished. The context holds the prompt and every generated token
        that was fed back: all of them when the model stopped by itself, all but the last at max_tokens.
        (A stop string's tokens are fed back but not in ``text``: then the prompt count is a little high.)"""
        completion = len(self._llama.tokenize(text.encode("utf-8"), add_bos=False, special=True)) if text else 0
        prompt = max(0, self._llama.n_tokens - completion + (1 if cut_short else 0))
        return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        response = self.chat([ChatMessage(role="user", content=prompt)], **kwargs)
        return CompletionResponse(text=response.message.content or "", raw=response.raw)

    @llm_completion_callback()
    def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponseGen:
        for part in self.stream_chat([ChatMessage(role="user", content=prompt)], **kwargs):
            yield CompletionResponse(text=part.message.content or "", delta=part.delta, raw=part.raw)


def build_llm(settings: Settings) -> LLM:
    """The configured backend, ready to answer."""
    if settings.llm_backend == "openai":
        from llama_index.llms.openai_like import OpenAILike

        return OpenAILike(
            model=settings.llm_model,
            api_base=settings.openai_base_url,
            api_key=settings.openai_api_key.get_secret_value(),
            is_chat_model=True,
            context_window=settings.llm_context_tokens,
            max_tokens=settings.max_answer_tokens,
            temperature=0.0,
            timeout=settings.openai_timeout_s,
        )
    path = resolve_gguf(settings.llm_model, settings.model_cache_dir)
    return LlamaCppChat(
        model_path=str(path),
        context_window=settings.llm_context_tokens,
        max_tokens=settings.max_answer_tokens,
        n_threads=settings.llm_threads,
        seed=settings.llm_seed,
    )


def usage_of(response: ChatResponse) -> tuple[int | None, int | None]:
    """(prompt tokens, completion tokens) when the backend reports them."""
    raw = response.raw
    usage = raw.get("usage") if isinstance(raw, dict) else getattr(raw, "usage", None)
    if usage is None:
        return None, None
    get = usage.get if isinstance(usage, dict) else lambda k: getattr(usage, k, None)
    return get("prompt_tokens"), get("completion_tokens")
