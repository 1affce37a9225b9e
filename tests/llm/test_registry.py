"""Which model the settings give: none, an OpenAI-compatible server, or a plugin's."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from understudy.errors import ConfigError
from understudy.llm import (
    FakeModelServer,
    ModelError,
    OpenAIModel,
    backend_names,
    get_model,
    registry,
)
from understudy.settings import Settings

HELLO = [{"role": "user", "content": "Hello?"}]


def test_no_url_means_no_model() -> None:
    assert get_model(Settings.load()) is None


def test_an_http_url_means_the_openai_backend_with_the_settings(
    fake: FakeModelServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UNDERSTUDY_LLM_URL", fake.url)
    monkeypatch.setenv("UNDERSTUDY_LLM_MODEL", "llama3.1:8b")
    monkeypatch.setenv("UNDERSTUDY_LLM_API_KEY", "local-key")
    monkeypatch.setenv("UNDERSTUDY_LLM_TIMEOUT", "7.5")
    fake.add("Configured.")
    model = get_model(Settings.load())
    assert isinstance(model, OpenAIModel)
    with model:
        assert (model.model, model.timeout) == ("llama3.1:8b", 7.5)
        assert model.complete(HELLO).text == "Configured."
    assert fake.requests[0].body["model"] == "llama3.1:8b"
    assert fake.requests[0].headers["authorization"] == "Bearer local-key"


def test_a_url_no_backend_serves_is_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UNDERSTUDY_LLM_URL", "localhost:11434/v1")
    with pytest.raises(ConfigError) as caught:
        get_model(Settings.load())
    message = str(caught.value)
    assert "no language-model backend serves 'localhost:11434/v1'" in message
    assert "http://localhost:11434/v1" in message
    assert "openai (http/https)" in message


def test_a_zero_timeout_is_refused(fake: FakeModelServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UNDERSTUDY_LLM_URL", fake.url)
    monkeypatch.setenv("UNDERSTUDY_LLM_TIMEOUT", "0")
    with pytest.raises(ConfigError, match="UNDERSTUDY_LLM_TIMEOUT"):
        get_model(Settings.load())


PLUGIN = """
from understudy.llm.models import Completion, LanguageModel


class EchoModel(LanguageModel):
    name = "echo"
    url_schemes = ("echo",)

    def execute(self, request):
        yield Completion(text="echo: " + request.messages[-1]["content"])
"""


@pytest.fixture
def echo_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Install a third-party backend the way a package does: module plus entry point."""
    (tmp_path / "echo_backend.py").write_text(PLUGIN)
    info = tmp_path / "echo_backend-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: echo-backend\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        textwrap.dedent("""\
            [understudy.llm_backends]
            echo = echo_backend:EchoModel
        """)
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    registry._table.cache_clear()
    yield
    registry._table.cache_clear()
    sys.modules.pop("echo_backend", None)


@pytest.mark.usefixtures("echo_plugin")
def test_a_plugin_backend_is_found_by_entry_point(monkeypatch: pytest.MonkeyPatch) -> None:
    assert "echo" in backend_names()
    monkeypatch.setenv("UNDERSTUDY_LLM_URL", "echo://anywhere")
    model = get_model(Settings.load())
    assert model is not None
    assert model.complete(HELLO).text == "echo: Hello?"
    # A backend that cannot stream still gives its text, as one piece.
    assert [d.text for d in model.complete_stream(HELLO)] == ["echo: Hello?"]
    with pytest.raises(ModelError, match="the echo backend cannot call tools"):
        model.complete(HELLO, tools=[{"type": "function", "function": {"name": "x"}}])
