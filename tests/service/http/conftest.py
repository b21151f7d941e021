"""The HTTP route tests' client: the app over the seed store, its scripted model declining by default."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.service.conftest import Api


@pytest.fixture
def client(api: Api) -> TestClient:
    api.llm.script("NOT IN SOURCES")
    return api.client
