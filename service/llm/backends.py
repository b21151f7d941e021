"""LLM backends behind one interface: LlamaIndex's ``LLM``.

``llamacpp`` (default) runs a local GGUF through llama-cpp-python's chat completion, which applies
the GGUF's own chat template; ``openai`` talks to any OpenAI-compatible server through LlamaIndex's
``OpenAILike``. The engine only ever calls ``llm.chat(messages)``.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
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

from service.llm.gate import Stopped, checkpoint, current_stop
from service.llm.gguf import resolve_gguf
from service.llm.usage import record
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
    _formatter: Any = PrivateAttr(default=None)
    _prefixes: dict[str, _SavedPrefix] = PrivateAttr(default_factory=dict)
    _stop: Callable[[], bool] | None = PrivateAttr(default=None)  # the call in progress's stop_when
    _abort_callback: Any = PrivateAttr(default=None)

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
        import llama_cpp

        self._abort_callback = llama_cpp.ggml_abort_callback(self._aborting)  # kept: C holds only a pointer
        llama_cpp.llama_set_abort_callback(self._llama.ctx, self._abort_callback, None)

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
        with self._model_call():
            raw = self._request(messages, stream=False, **kwargs)
        usage = raw["usage"]  # llama.cpp's own count: the prompt, and the reply without its end token
        record("chat", usage["prompt_tokens"], usage["completion_tokens"])
        text = raw["choices"][0]["message"].get("content") or ""
        return ChatResponse(message=ChatMessage(role="assistant", content=text), raw=raw)

    @llm_chat_callback()
    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        def gen() -> ChatResponseGen:
            text, finish = "", None
            with self._model_call():
                prompt = self._chat_prompt_length(messages)
                stream = self._request(messages, stream=True, **kwargs)
                try:
                    for part in stream:
                        checkpoint()
                        choice = part["choices"][0]
                        delta = choice["delta"].get("content") or ""
                        text, finish = text + delta, choice.get("finish_reason") or finish
                        yield ChatResponse(message=ChatMessage(role="assistant", content=text), delta=delta, raw=part)
                finally:  # counted also when the reader stops early
                    stream.close()
                    completion = self._generated(prompt, finish)
                    record("stream_chat", prompt, completion)
            # llama.cpp's stream carries no usage: the last response brings it, as a whole reply would.
            usage = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
            yield ChatResponse(message=ChatMessage(role="assistant", content=text), delta="", raw={"usage": usage})

        return gen()

    def _chat_prompt_length(self, messages: Sequence[ChatMessage]) -> int:
        """The tokens ``create_chat_completion`` feeds the model for ``messages``: the GGUF template's prompt,
        tokenised as llama.cpp's template handler does (no BOS added: the template writes its own)."""
        prompt, _ = self._render(messages)
        return len(self._llama.tokenize(prompt.encode("utf-8"), add_bos=False, special=True))

    def _generated(self, prompt: int, finish: str | None) -> int:
        """Tokens generated after a ``prompt``-token prompt, from the context once generation has ended.

        Every generated token is fed back before the next is sampled, so the context holds all of them except
        the last one sampled: at the model's end token (finish "stop") that one is the end token, which is not
        counted, as llama.cpp's whole replies do not count it; at max_tokens, or when the reader stopped early,
        it is a real token. (A stop string written as plain text also finishes "stop": then one token less.)"""
        evaluated = self._llama.n_tokens - prompt
        if evaluated < 0:  # ended inside the prompt's evaluation
            return 0
        return evaluated + (0 if finish == "stop" else 1)

    # -- prefix-cached calls (service.answering) ----------------------------------------------

    def stream_prefixed(
        self,
        messages: Sequence[ChatMessage],
        prefix_until: str,
        grammar: str | None = None,
        max_tokens: int = 256,
        should_stop: Callable[[], bool] | None = None,
    ) -> Iterator[str]:
        """Greedy text for ``messages``, read on from the saved state of their fixed prefix.

        The prefix is the rendered prompt up to the end of ``prefix_until``'s first occurrence. It is
        evaluated once and restored before every call, so an answer never depends on what was asked
        before, and only the rest of the prompt is read. ``grammar`` (GBNF) constrains the output."""
        from llama_cpp import LlamaGrammar

        compiled = LlamaGrammar.from_string(grammar, verbose=False) if grammar else None
        with self._model_call():
            tokens, stop, cached = self._restore(messages, prefix_until)
            stream = self._llama.create_completion(
                tokens, max_tokens=max_tokens, temperature=0.0, stop=stop, grammar=compiled, stream=True
            )
            finish = None
            try:
                for part in stream:
                    checkpoint()
                    choice = part["choices"][0]
                    finish = choice.get("finish_reason") or finish
                    if choice["text"]:
                        yield choice["text"]
                    if should_stop is not None and should_stop():
                        return
            finally:
                stream.close()
                record("stream_prefixed", len(tokens), self._generated(len(tokens), finish), cached)

    def label_probabilities(
        self, messages: Sequence[ChatMessage], prefix_until: str, labels: Sequence[str]
    ) -> dict[str, float]:
        """P(the reply starts with each label), renormalised over ``labels``: one forward pass, no sampling.

        A label counts with its capitalised spelling too (first token of each). The call reads its prompt and
        generates nothing, so it counts 0 completion tokens."""
        with self._model_call():
            tokens, _, cached = self._restore(messages, prefix_until)
            self._llama.eval(tokens[self._llama.n_tokens :])
            record("label_probabilities", len(tokens), 0, cached)
            from llama_cpp import llama_cpp as lib

            n_vocab = self._llama.n_vocab()
            pointer = lib.llama_get_logits_ith(self._llama._ctx.ctx, -1)
            logits = np.ctypeslib.as_array(pointer, shape=(n_vocab,)).astype(np.float64)
        probs = np.exp(logits - logits.max())
        probs /= probs.sum()
        mass = {label: float(sum(probs[t] for t in self._first_tokens(label))) for label in labels}
        total = sum(mass.values()) or 1.0
        return {label: m / total for label, m in mass.items()}

    @contextmanager
    def _model_call(self) -> Iterator[None]:
        """Hold the model for one call that the caller's ``stop_when`` can end: between tokens (``checkpoint``)
        and inside a long prompt evaluation (llama.cpp's abort callback, checked between graph nodes)."""
        checkpoint()
        with self._lock:
            self._stop = current_stop()
            try:
                yield
            except RuntimeError as exc:  # llama_decode returned 2: aborted
                if self._stop is not None and self._stop():
                    raise Stopped() from exc
                raise
            finally:
                self._stop = None

    def _aborting(self, _: Any) -> bool:
        """llama.cpp's abort callback (a ggml thread, the GIL taken by ctypes): the current call's stop."""
        try:
            stop = self._stop
            return bool(stop is not None and stop())
        except Exception:  # an exception cannot cross into C
            return False

    def count_prompt_tokens(self, messages: Sequence[ChatMessage]) -> int:
        """Tokens the prompt of ``messages`` takes in the context, as the model's chat template writes it."""
        prompt, _ = self._render(messages)
        return len(self._llama.tokenize(prompt.encode("utf-8"), add_bos=True, special=True))

    def _first_tokens(self, label: str) -> set[int]:
        variants = {label, label.lower(), label.capitalize()}
        return {self._llama.tokenize(v.encode("utf-8"), add_bos=False, special=False)[0] for v in variants}

    def _render(self, messages: Sequence[ChatMessage]) -> tuple[str, list[str]]:
        """The prompt as the GGUF's own chat template writes it, and its stop strings."""
        if self._formatter is None:
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter

            llama = self._llama
            eos, bos = llama.token_eos(), llama.token_bos()
            self._formatter = Jinja2ChatFormatter(
                template=llama.metadata["tokenizer.chat_template"],
                eos_token=llama._model.token_get_text(eos) if eos != -1 else "",
                bos_token=llama._model.token_get_text(bos) if bos != -1 else "",
            )
        rendered = self._formatter(messages=[{"role": m.role.value, "content": m.content or ""} for m in messages])
        stop = rendered.stop if isinstance(rendered.stop, list) else [rendered.stop] if rendered.stop else []
        return rendered.prompt, stop

    def _restore(self, messages: Sequence[ChatMessage], prefix_until: str) -> tuple[list[int], list[str], int]:
        """The whole prompt's tokens, with the context holding exactly its prefix's (saved once), its stop
        strings, and how many of its tokens were restored rather than evaluated (0 the first time)."""
        prompt, stop = self._render(messages)
        cut = prompt.index(prefix_until) + len(prefix_until)
        prefix, rest = prompt[:cut], prompt[cut:]
        llama = self._llama
        saved = self._prefixes.get(prefix)
        cached = len(saved.tokens) if saved is not None else 0
        if saved is None:
            llama.reset()
            llama.eval(llama.tokenize(prefix.encode("utf-8"), add_bos=True, special=True))
            saved = self._prefixes[prefix] = _SavedPrefix.take(llama)
        saved.put_back(llama)
        return saved.tokens + llama.tokenize(rest.encode("utf-8"), add_bos=False, special=True), stop, cached

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        response = self.chat([ChatMessage(role="user", content=prompt)], **kwargs)
        return CompletionResponse(text=response.message.content or "", raw=response.raw)

    @llm_completion_callback()
    def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponseGen:
        for part in self.stream_chat([ChatMessage(role="user", content=prompt)], **kwargs):
            yield CompletionResponse(text=part.message.content or "", delta=part.delta, raw=part.raw)


@dataclass(frozen=True)
class _SavedPrefix:
    """llama.cpp's context state after a prompt prefix: its KV cache, as bytes, and its tokens."""

    state: bytes
    tokens: list[int]

    @classmethod
    def take(cls, llama: Any) -> _SavedPrefix:
        from llama_cpp import llama_cpp as lib

        size = lib.llama_state_get_size(llama._ctx.ctx)
        buffer = (ctypes.c_uint8 * size)()
        written = lib.llama_state_get_data(llama._ctx.ctx, buffer, size)
        return cls(bytes(buffer[:written]), [int(t) for t in llama.input_ids[: llama.n_tokens]])

    def put_back(self, llama: Any) -> None:
        from llama_cpp import llama_cpp as lib

        buffer = (ctypes.c_uint8 * len(self.state)).from_buffer_copy(self.state)
        if lib.llama_state_set_data(llama._ctx.ctx, buffer, len(self.state)) != len(self.state):
            raise RuntimeError("llama.cpp did not take the saved prefix state")
        llama.n_tokens = len(self.tokens)
        llama.input_ids[: len(self.tokens)] = self.tokens


def build_llm(settings: Settings) -> LLM:
    """The configured backend, ready to answer."""
    if settings.llm_backend == "openai":
        return _openai_llm(settings)
    path = resolve_gguf(settings.llm_model, settings.model_cache_dir)
    return LlamaCppChat(
        model_path=str(path),
        context_window=settings.llm_context_tokens,
        max_tokens=settings.max_answer_tokens,
        n_threads=settings.llm_threads,
        seed=settings.llm_seed,
    )


def _openai_llm(settings: Settings) -> LLM:
    """LlamaIndex's ``OpenAILike``, recording the usage its server reports for every call (``record``)."""
    from llama_index.llms.openai_like import OpenAILike

    class MeteredOpenAI(OpenAILike):
        def _chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
            response = super()._chat(messages, **kwargs)
            _record_reported("chat", response)
            return response

        def _stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
            def gen() -> ChatResponseGen:
                for part in super(MeteredOpenAI, self)._stream_chat(messages, **kwargs):
                    _record_reported("stream_chat", part)  # only the last chunk carries usage
                    yield part

            return gen()

    return MeteredOpenAI(
        model=settings.llm_model,
        api_base=settings.openai_base_url,
        api_key=settings.openai_api_key.get_secret_value(),
        is_chat_model=True,
        context_window=settings.llm_context_tokens,
        max_tokens=settings.max_answer_tokens,
        temperature=0.0,
        timeout=settings.openai_timeout_s,
        # A stream's last chunk then carries its usage (OpenAI's servers; others may ignore the option).
        # LlamaIndex leaves it out of the calls that do not stream.
        additional_kwargs={"stream_options": {"include_usage": True}},
    )


def _record_reported(call: str, response: ChatResponse) -> None:
    """Records the usage a server reported in ``response``, if it did."""
    prompt, completion = usage_of(response)
    if prompt is None and completion is None:
        return
    usage = getattr(response.raw, "usage", None)
    details = getattr(usage, "prompt_tokens_details", None)
    record(call, prompt or 0, completion or 0, getattr(details, "cached_tokens", None) or 0)


def prompt_counter(llm: LLM) -> Callable[[Sequence[ChatMessage]], int]:
    """How many context tokens a prompt takes: the model's own count where its backend has one, else an
    estimate from the UTF-8 size (a third of the bytes, plus each message's template) that a remote server's
    tokenizer rarely exceeds."""
    count = getattr(llm, "count_prompt_tokens", None)
    if callable(count):
        return count  # type: ignore[no-any-return]
    return lambda messages: sum(len((m.content or "").encode("utf-8")) // 3 + 8 for m in messages)


def stream_deltas(
    llm: LLM, messages: Sequence[ChatMessage], max_tokens: int, should_stop: Callable[[], bool] | None = None
) -> Iterator[str]:
    """The new text of each piece ``llm`` streams for ``messages``; stops early once ``should_stop()``.

    Closing the stream ends llama.cpp's generation at once and frees the model for the next request."""
    text = ""
    stream = llm.stream_chat(messages, max_tokens=max_tokens)
    try:
        for part in stream:
            full = part.message.content or ""
            delta = part.delta if part.delta is not None else full[len(text) :]
            text += delta
            if delta:
                yield delta
            if should_stop is not None and should_stop():
                return
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()


def usage_of(response: ChatResponse) -> tuple[int | None, int | None]:
    """(prompt tokens, completion tokens) when the backend reports them."""
    raw = response.raw
    usage = raw.get("usage") if isinstance(raw, dict) else getattr(raw, "usage", None)
    if usage is None:
        return None, None
    get = usage.get if isinstance(usage, dict) else lambda k: getattr(usage, k, None)
    return get("prompt_tokens"), get("completion_tokens")
