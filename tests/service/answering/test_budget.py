"""The prompt budget, counted in the real tiny model's tokens: sources are dropped to fit, a question that
leaves no room is refused with the limit named, and never does a prompt overflow the context."""

from __future__ import annotations

from pathlib import Path

import pytest
from llama_index.core.base.llms.types import ChatMessage

from index.embedding import Embedder
from service.answering.budget import PromptTooLong, fit_prompt
from service.answering.rules_engine import CitewireQueryEngine
from service.answering.types import Draft
from service.components import build_engine
from service.llm.backends import LlamaCppChat, build_llm, prompt_counter, usage_of
from service.settings import Settings
from tests.service.answering.conftest import seed_components

QUESTION = "Who reviewed the White House memo about Alibaba?"


def _words(n: int) -> str:
    return " ".join(f"word{i}" for i in range(n))


def test_sources_are_dropped_from_the_end_until_the_prompt_fits() -> None:
    def build(k: int) -> list[ChatMessage]:
        return [ChatMessage(role="user", content="q" + "s" * 10 * k)]

    def count(messages: list[ChatMessage]) -> int:  # one token a character
        return sum(len(m.content or "") for m in messages)

    assert fit_prompt(build, 5, count, 51) == 5
    assert fit_prompt(build, 5, count, 35) == 3
    with pytest.raises(PromptTooLong, match="take 1 tokens of the model's 5-token prompt budget"):
        fit_prompt(build, 5, count, 5)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> LlamaCppChat:
    settings = Settings(data_dir=tmp_path_factory.mktemp("tiny"), llm_model="tiny", llm_context_tokens=1024)
    llm = build_llm(settings)
    assert isinstance(llm, LlamaCppChat)
    return llm


def test_the_count_is_the_models_own(tiny: LlamaCppChat) -> None:
    messages = [ChatMessage(role="system", content="Be brief."), ChatMessage(role="user", content=_words(40))]
    prompt_tokens, _ = usage_of(tiny.chat(messages, max_tokens=2))
    assert prompt_counter(tiny)(messages) == prompt_tokens


@pytest.mark.parametrize("answerer", ["rules", "evidence"])
def test_a_small_context_gets_fewer_sources_and_a_long_question_a_named_limit(
    answerer: str, tiny: LlamaCppChat, tmp_path: Path, embedder: Embedder
) -> None:
    components = seed_components(
        tmp_path,
        embedder,
        answerer=answerer,
        llm_context_tokens=1024,
        max_answer_tokens=64,
        top_k=20,
        context_tokens=4000,
        evidence_tokens=4000,
        evidence_passages=20,
    )
    engine = build_engine(components, llm=tiny)
    assert isinstance(engine, CitewireQueryEngine)
    count, budget = engine.prompt_budget()
    assert budget == 1024 - 64
    choices = [_words(60) for _ in range(3)]
    draft = engine.draft(QUESTION, 20, None, choices)
    assert isinstance(draft, Draft)
    assert count(draft.messages) <= budget
    assert len(draft.shown) >= 1
    engine.max_answer_tokens = 1024 - count(draft.messages) + 60  # a budget the same prompt overflows
    smaller = engine.draft(QUESTION, 20, None, choices)
    assert isinstance(smaller, Draft)
    assert 1 <= len(smaller.shown) < len(draft.shown)  # sources dropped from the end to fit
    assert smaller.shown == draft.shown[: len(smaller.shown)]
    assert count(smaller.messages) <= engine.prompt_budget()[1]
    engine.max_answer_tokens = 64
    with pytest.raises(PromptTooLong, match="960-token prompt budget"):
        engine.draft(QUESTION + " " + _words(200), 20, None, [_words(100) for _ in range(6)])
