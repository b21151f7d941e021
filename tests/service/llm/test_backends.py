"""The llama.cpp wrapper with the real tiny packaged model: a streamed reply ends with the same token
counts a whole reply reports (llama.cpp's stream has none of its own), and both say the same words."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from llama_index.core.base.llms.types import ChatMessage, ChatResponse

from service.llm.backends import LlamaCppChat, build_llm, stream_deltas, usage_of
from service.llm.gate import Stopped, stop_when
from service.llm.usage import TokenUsage, metering
from service.settings import Settings


@pytest.fixture(scope="module")
def llm(tmp_path_factory: pytest.TempPathFactory) -> LlamaCppChat:
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("llm"), llm_model="tiny", max_answer_tokens=24, llm_threads=1
    )  # one thread: two spin-waiting for each other crawl on a busy machine
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


# -- usage: what each call records, against llama.cpp's own count of a whole (non-streamed) completion ----------


def _recorded(work: Callable[[], object]) -> TokenUsage:
    with metering(TokenUsage()) as usage:
        work()
    return usage


SHORT = "What is 2+2? Answer with a number only."  # the tiny model ends this by itself in a few tokens
LONG = "Name three colours."  # and runs on with this one


@pytest.mark.parametrize(("question", "max_tokens", "finish"), [(LONG, 3, "length"), (SHORT, 24, "stop")])
def test_a_stream_records_what_a_whole_reply_reports(
    llm: LlamaCppChat, question: str, max_tokens: int, finish: str
) -> None:
    messages = [ChatMessage(role="user", content=question)]
    replies: list[ChatResponse] = []
    whole = _recorded(lambda: replies.append(llm.chat(messages, max_tokens=max_tokens)))
    streamed = _recorded(lambda: list(llm.stream_chat(messages, max_tokens=max_tokens)))
    raw = replies[0].raw
    assert raw["choices"][0]["finish_reason"] == finish
    reported = (raw["usage"]["prompt_tokens"], raw["usage"]["completion_tokens"], 0, 1)
    assert (whole.prompt_tokens, whole.completion_tokens, whole.cached_tokens, whole.calls) == reported
    assert (streamed.prompt_tokens, streamed.completion_tokens, streamed.cached_tokens, streamed.calls) == reported


def test_a_stream_left_early_records_the_tokens_it_generated(llm: LlamaCppChat) -> None:
    messages = [ChatMessage(role="user", content=LONG)]
    whole = llm.chat(messages, max_tokens=12).raw["usage"]
    pieces: list[str] = []
    with metering(TokenUsage()) as usage:
        pieces.extend(stream_deltas(llm, messages, 12, should_stop=lambda: len(pieces) >= 3))
    assert usage.calls == 1 and usage.prompt_tokens == whole["prompt_tokens"]
    assert 3 <= usage.completion_tokens < whole["completion_tokens"] == 12


@pytest.mark.parametrize(("max_tokens", "finish"), [(2, "length"), (24, "stop")])
def test_a_prefixed_call_records_its_whole_prompt_and_the_restored_part(
    llm: LlamaCppChat, max_tokens: int, finish: str
) -> None:
    """The prompt counts in full, the saved prefix as cached (0 the first time, when it is evaluated); the tokens
    generated are what llama.cpp counts for the same completion, not streamed, from the same restored state."""
    prefix_until = f"Answer with a number only ({max_tokens})."
    messages = [ChatMessage(role="system", content=prefix_until), ChatMessage(role="user", content="What is 2+2?")]
    first = _recorded(lambda: list(llm.stream_prefixed(messages, prefix_until, max_tokens=max_tokens)))
    again = _recorded(lambda: list(llm.stream_prefixed(messages, prefix_until, max_tokens=max_tokens)))
    with llm._model_call():
        tokens, stop, _ = llm._restore(messages, prefix_until)
        whole = llm._llama.create_completion(tokens, max_tokens=max_tokens, temperature=0.0, stop=stop)
    prompt, _ = llm._render(messages)
    cut = prompt.index(prefix_until) + len(prefix_until)
    prefix = len(llm._llama.tokenize(prompt[:cut].encode("utf-8"), add_bos=True, special=True))
    assert whole["choices"][0]["finish_reason"] == finish
    assert whole["usage"]["prompt_tokens"] == len(tokens) > prefix > 0
    for usage in (first, again):
        assert (usage.prompt_tokens, usage.completion_tokens) == (len(tokens), whole["usage"]["completion_tokens"])
    assert (first.cached_tokens, again.cached_tokens) == (0, prefix)


def test_label_probabilities_records_its_prompt_and_no_generated_tokens(llm: LlamaCppChat) -> None:
    messages = [ChatMessage(role="system", content="Label it."), ChatMessage(role="user", content="The sky is blue.")]
    llm.label_probabilities(messages, "Label it.", ["true", "false"])
    usage = _recorded(lambda: llm.label_probabilities(messages, "Label it.", ["true", "false"]))
    prompt, _ = llm._render(messages)
    assert usage.prompt_tokens == len(llm._llama.tokenize(prompt.encode("utf-8"), add_bos=True, special=True))
    assert usage.completion_tokens == 0 and 0 < usage.cached_tokens < usage.prompt_tokens and usage.calls == 1
