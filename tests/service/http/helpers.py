"""What the HTTP route tests share: questions about the seed, asking, and the shape of a client error."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from prompts import load_prompt

MARKER = re.compile(r"\[(\d+)\]")
ANSWERABLE = "Who reviewed the White House memo?"
UNRELATED = "Who won the 2022 FIFA World Cup final?"
ABSTAIN_TEXT = load_prompt("abstain")


def ask(client: TestClient, question: str, **extra: Any) -> dict[str, Any]:
    response = client.post("/v1/query", json={"question": question, **extra})
    assert response.status_code == 200, response.text
    return dict(response.json())


def assert_client_error(response: Any) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["detail"]
