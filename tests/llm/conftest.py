"""Fixtures for language-model tests: real model requests are forbidden, a fake serves."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from understudy.llm import FakeModelServer, OpenAIModel, models


@pytest.fixture(autouse=True)
def forbid_real_models(monkeypatch: pytest.MonkeyPatch) -> None:
    """Refuse every model request except to a running FakeModelServer."""
    monkeypatch.setattr(models, "ALLOW_MODEL_REQUESTS", False)


@pytest.fixture
def fake() -> Iterator[FakeModelServer]:
    """Yield a running fake model server with an empty script (add replies with ``add``)."""
    with FakeModelServer() as server:
        yield server


@pytest.fixture
def model(fake: FakeModelServer) -> Iterator[OpenAIModel]:
    """Yield the OpenAI-compatible client pointed at the fake, with quick retries."""
    with OpenAIModel(fake.url, model="fake-model", timeout=5, retry_delay=0.01) as client:
        yield client
