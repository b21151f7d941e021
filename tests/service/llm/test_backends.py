"""The llama.cpp wrapper with the real tiny packaged model: a streamed reply ends with the same token
counts a whole reply reports (llama.cpp's stream has none of its own), and both say the same words."""

from __future__ import annotations

import time

import pytest
from llama_index.core.base.llms.types import ChatMessage

from service.llm.backends import LlamaCppChat, build_llm, usage_of
from service.llm.gate import Stopped, stop_when
from service.settings import Settings


@pytest.fixture(scope="module")
def llm(tmp_path_factory: pytest.TempPathFactory) -> LlamaCppChat:
    settings = Settings(data_dir=tmp_path_factory.mktemp("llm"), llm_model="tiny", max_answer_tokens=24)
    built = build_llm(settings)
    assert isinstance(built, LlamaCppChat)
    return built


@pytest.mark.parametrize("question", ["Name three colours.", "Say yes.", "Count from one to twenty in words."])
def test_a_stream_reports_the_usage_of_the_same_reply_whole(llm: LlamaCppChat, question: str) -> None:
    messages = [ChatMessage(role="system", content="You are brief."), ChatMessage(role="user", content=question)]
    whole = llm.chat(messages)
    parts = list(llm.stream_chat(messages))
    assert parts[-1].message.content == whole.message.content  # greedy, and every prompt starts afresh
    assert "".join(p.delta or "" for p in parts) == whole.message.content
    prompt, completion = usage_of(parts[-1])
    assert (prompt, completion) == usage_of(whole)
    assert prompt and prompt > 10 and completion and completion > 0


def test_only_the_last_streamed_response_carries_usage(llm: LlamaCppChat) -> None:
    parts = list(llm.stream_chat([ChatMessage(role="user", content="Hi.")]))
    assert all(usage_of(p) == (None, None) for p in parts[:-1])  # only the last one carries it


def test_every_model_call_and_token_passes_the_stop_check(llm: LlamaCppChat) -> None:
    messages = [ChatMessage(role="user", content="Count from one to twenty in words.")]
    with stop_when(lambda: True):
        with pytest.raises(Stopped):
            llm.chat(messages)
        with pytest.raises(Stopped):
            llm.label_probabilities(messages, "Count", ["yes", "no"])
        with pytest.raises(Stopped):
            list(llm.stream_prefixed(messages, "Count"))
    tokens: list[str] = []
    with stop_when(lambda: len(tokens) >= 3), pytest.raises(Stopped):
        for part in llm.stream_chat(messages):
            tokens.append(part.delta or "")
    assert len(tokens) == 3  # stopped at the next token, the model free for the next call
    assert llm.chat(messages, max_tokens=4).message.content


def test_a_long_prompt_evaluation_is_aborted_in_the_middle(llm: LlamaCppChat) -> None:
    text = " ".join(f"Item {i} of the list is a small red box." for i in range(120))
    messages = [ChatMessage(role="user", content=text + " How many items are there?")]
    started = time.monotonic()
    whole = llm.chat(messages, max_tokens=2).message.content
    full_s = time.monotonic() - started  # nearly all of it reading the prompt
    started = time.monotonic()
    with stop_when(lambda: time.monotonic() - started > full_s / 4), pytest.raises(Stopped):
        llm.chat(messages, max_tokens=2)
    assert time.monotonic() - started < full_s * 0.75  # ended inside the prompt's evaluation
    assert llm.chat(messages, max_tokens=2).message.content == whole  # and the model is as good as before
