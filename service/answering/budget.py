"""The prompt budget: what the model is shown must leave room in its context for the answer.

Counted in the model's own tokens (``service.llm.backends.prompt_counter``). Sources are dropped from the
end of the list until the prompt fits; a question (with its choices) that leaves no room for even one
source is the asker's to shorten: ``PromptTooLong``, which the HTTP API answers with a 422 naming the limit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from llama_index.core.base.llms.types import ChatMessage

Counter = Callable[[Sequence[ChatMessage]], int]


class PromptTooLong(ValueError):
    """The question alone leaves no room for a source in the model's prompt budget."""

    def __init__(self, tokens: int, budget: int) -> None:
        super().__init__(
            f"the question and its choices take {tokens} tokens of the model's {budget}-token prompt budget "
            "(CITEWIRE_LLM_CONTEXT_TOKENS minus CITEWIRE_MAX_ANSWER_TOKENS), leaving no room for a source: shorten them"
        )
        self.tokens = tokens
        self.budget = budget


def fit_prompt(build: Callable[[int], list[ChatMessage]], n: int, count: Counter, budget: int) -> int:
    """The most sources (of ``n``, best first) whose prompt ``build(k)`` fits ``budget`` tokens; at least one."""
    for k in range(n, 0, -1):
        if count(build(k)) <= budget:
            return k
    raise PromptTooLong(count(build(0)), budget)
