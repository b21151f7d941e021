"""A scripted stand-in for the LLM: the API tests exercise everything but generation."""

from __future__ import annotations

from typing import Any

from llama_index.core.base.llms.types import CompletionResponse, CompletionResponseGen, LLMMetadata
from llama_index.core.llms import CustomLLM
from llama_index.core.llms.callbacks import llm_completion_callback
from pydantic import Field

from service.llm.usage import record

JUDGE_MARK = "Claim:"  # only the claim judge's prompt (prompts/judge_user.txt) has it
EXTRACT_MARK = "Answer with a few words copied from the text"  # prompts/judge_extract_user.txt
REWRITE_MARK = "Rewritten question:"  # prompts/condense_user.txt


class ScriptedLLM(CustomLLM):
    """Answers every question prompt with ``reply``, the claim judge's true/false prompt with ``verdict``
    and its extraction prompt with ``extracted``; ``prompts`` holds the question prompts only, the
    judge's two kinds go to ``judge_prompts``."""

    reply: str = "NOT IN SOURCES"
    rewritten: str = ""  # the reply to a follow-up rewrite prompt
    rewrite_prompts: list[str] = Field(default_factory=list)
    verdict: str = "true"
    extracted: str = "not stated"
    prompts: list[str] = Field(default_factory=list)
    judge_prompts: list[str] = Field(default_factory=list)
    counted: list[tuple[int, int]] = Field(default_factory=list)  # each call's (prompt, reply) words

    @property
    def calls(self) -> int:
        return len(self.prompts)

    def script(self, reply: str, verdict: str = "true", extracted: str = "not stated", rewritten: str = "") -> None:
        self.reply = reply
        self.rewritten = rewritten
        self.verdict = verdict
        self.extracted = extracted
        self.prompts.clear()
        self.judge_prompts.clear()
        self.rewrite_prompts.clear()
        self.counted.clear()

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(context_window=4096, num_output=256, model_name="scripted")

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        """The scripted reply; its usage recorded as a backend does, a word counted as a token."""
        text = self._reply(prompt)
        self.counted.append((len(prompt.split()), len(text.split())))
        record("scripted", *self.counted[-1])
        return CompletionResponse(text=text)

    def _reply(self, prompt: str) -> str:
        if REWRITE_MARK in prompt:
            self.rewrite_prompts.append(prompt)
            return self.rewritten
        if JUDGE_MARK in prompt or EXTRACT_MARK in prompt:
            self.judge_prompts.append(prompt)
            return self.verdict if JUDGE_MARK in prompt else self.extracted
        self.prompts.append(prompt)
        return self.reply

    @llm_completion_callback()
    def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponseGen:
        """The same reply, a word at a time (with its space), like a model streaming tokens."""
        text = self.complete(prompt, formatted, **kwargs).text
        words = text.split(" ")
        so_far = ""
        for i, word in enumerate(words):
            delta = word if i == 0 else " " + word
            so_far += delta
            yield CompletionResponse(text=so_far, delta=delta)
