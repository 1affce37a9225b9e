"""The scripted fake model server: replies from a function, and an honest empty script."""

from __future__ import annotations

import httpx
import pytest

from understudy.llm import FakeModelServer, FakeRequest, ModelError, OpenAIModel


def test_a_respond_function_answers_from_the_messages() -> None:
    def shout(request: FakeRequest) -> str:
        return str(request.messages[-1]["content"]).upper()

    with FakeModelServer(["first, from the script"], respond=shout) as fake:
        with OpenAIModel(fake.url) as model:
            said = [model.complete([{"role": "user", "content": w}]).text for w in ("a", "quiet")]
        assert said == ["first, from the script", "QUIET"]
        assert fake.requests[1].prompt == "quiet"


def test_an_exhausted_script_says_so(fake: FakeModelServer, model: OpenAIModel) -> None:
    with pytest.raises(ModelError, match="no reply left for request 1"):
        model.complete([{"role": "user", "content": "Anyone?"}])


def test_it_lists_its_model_like_a_real_server(fake: FakeModelServer) -> None:
    listed = httpx.get(f"{fake.url}/models").json()
    assert [m["id"] for m in listed["data"]] == ["fake-model"]


def test_its_url_is_only_valid_while_it_runs() -> None:
    server = FakeModelServer()
    with pytest.raises(RuntimeError, match="not running"):
        _ = server.url
