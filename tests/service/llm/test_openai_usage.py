"""The ``openai`` backend records the usage its server reports, streamed or not, over a scripted HTTP server.

(The real exchange with llama-cpp-python's server is in tests/e2e/test_openai_backend.py; that server sends no
usage in streams, so the stream's last usage chunk is scripted here, as OpenAI sends it.)"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
from llama_index.core.base.llms.types import ChatMessage

from service.llm.backends import build_llm, stream_deltas
from service.llm.usage import TokenUsage, metering
from service.settings import Settings

USAGE = {"prompt_tokens": 11, "completion_tokens": 2, "total_tokens": 13, "prompt_tokens_details": {"cached_tokens": 4}}


def _server(seen: list[dict[str, Any]]) -> httpx.MockTransport:
    def reply(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        seen.append(body)
        base = {"id": "c1", "created": 0, "model": "m"}
        if not body.get("stream"):
            message = {"role": "assistant", "content": "Hello there"}
            choice = {"index": 0, "message": message, "finish_reason": "stop"}
            return httpx.Response(200, json={**base, "object": "chat.completion", "choices": [choice], "usage": USAGE})
        chunk = {**base, "object": "chat.completion.chunk"}
        pieces = [
            {**chunk, "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hello"}}]},
            {**chunk, "choices": [{"index": 0, "delta": {"content": " there"}, "finish_reason": "stop"}]},
            {**chunk, "choices": [], "usage": USAGE},
        ]
        text = "".join(f"data: {json.dumps(p)}\n\n" for p in pieces) + "data: [DONE]\n\n"
        return httpx.Response(200, text=text, headers={"content-type": "text/event-stream"})

    return httpx.MockTransport(reply)


def test_the_openai_backend_records_reported_usage_streamed_or_not(tmp_path: Path) -> None:
    llm = build_llm(Settings(data_dir=tmp_path, llm_backend="openai", llm_model="m"))
    seen: list[dict[str, Any]] = []
    llm._http_client = httpx.Client(transport=_server(seen))  # type: ignore[attr-defined]
    messages = [ChatMessage(role="user", content="Say hello.")]
    with metering(TokenUsage()) as whole:
        assert llm.chat(messages).message.content == "Hello there"
    with metering(TokenUsage()) as streamed:
        assert "".join(stream_deltas(llm, messages, 16)) == "Hello there"
    assert whole == streamed == TokenUsage(prompt_tokens=11, completion_tokens=2, cached_tokens=4, calls=1)
    assert "stream_options" not in seen[0]  # only a stream may carry it
    assert seen[1]["stream"] and seen[1]["stream_options"] == {"include_usage": True}
