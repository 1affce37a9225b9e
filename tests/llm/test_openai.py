"""The OpenAI-compatible backend, end to end over HTTP against the scripted fake server."""

from __future__ import annotations

import socket
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from understudy.llm import (
    FakeModelServer,
    ModelError,
    ModelRequestsForbidden,
    OpenAIModel,
    Reply,
    ScriptedCall,
    function_tool,
    models,
)

HELLO = [{"role": "user", "content": "Hello?"}]
LOOKUP = function_tool(
    "lookup_person",
    "Find a person in the directory.",
    {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]},
)
SCHEDULE = function_tool(
    "schedule_meeting",
    "Put a meeting in the calendar.",
    {
        "type": "object",
        "properties": {"title": {"type": "string"}, "minutes": {"type": "integer"}},
    },
)


def test_a_chat_completion_returns_the_text_and_sends_the_request(
    fake: FakeModelServer, model: OpenAIModel
) -> None:
    fake.add(Reply("Hi there.", usage=(12, 3)))
    messages = [{"role": "system", "content": "Be brief."}, *HELLO]
    completion = model.complete(messages, temperature=0.2, max_tokens=50)
    assert completion.text == "Hi there."
    assert completion.finish_reason == "stop"
    assert completion.tool_calls == []
    assert (completion.usage.prompt_tokens, completion.usage.total_tokens) == (12, 15)
    sent = fake.requests[0]
    assert sent.path == "/v1/chat/completions"
    assert sent.messages == messages
    assert sent.body["model"] == "fake-model"
    assert (sent.body["temperature"], sent.body["max_tokens"], sent.body["stream"]) == (
        0.2,
        50,
        False,
    )
    assert "tools" not in sent.body


def test_a_tool_call_comes_back_with_its_arguments_parsed(
    fake: FakeModelServer, model: OpenAIModel
) -> None:
    fake.add(Reply(tool_calls=[ScriptedCall("lookup_person", {"name": "Ana Ruiz"}, "call_a")]))
    completion = model.complete(HELLO, tools=[LOOKUP], tool_choice="lookup_person")
    assert completion.finish_reason == "tool_calls"
    [call] = completion.tool_calls
    assert (call.id, call.name, call.arguments) == ("call_a", "lookup_person", {"name": "Ana Ruiz"})
    sent = fake.requests[0].body
    assert sent["tools"] == [LOOKUP]
    assert sent["tool_choice"] == {"type": "function", "function": {"name": "lookup_person"}}


def test_several_tool_calls_and_their_results_go_round_trip(
    fake: FakeModelServer, model: OpenAIModel
) -> None:
    fake.add(
        Reply(
            tool_calls=[
                ScriptedCall("lookup_person", {"name": "Ana"}),
                ScriptedCall("schedule_meeting", {"title": "Budget", "minutes": 30}),
            ]
        ),
        "Booked 30 minutes with Ana.",
    )
    first = model.complete(HELLO, tools=[LOOKUP, SCHEDULE], tool_choice="required")
    assert [(c.name, c.arguments) for c in first.tool_calls] == [
        ("lookup_person", {"name": "Ana"}),
        ("schedule_meeting", {"title": "Budget", "minutes": 30}),
    ]
    assert len({c.id for c in first.tool_calls}) == 2
    results = [call.result(f"done: {call.name}") for call in first.tool_calls]
    second = model.complete([*HELLO, first.as_message(), *results], tools=[LOOKUP, SCHEDULE])
    assert second.text == "Booked 30 minutes with Ana."
    resent = fake.requests[1].messages
    assert resent[1]["tool_calls"][1]["function"]["name"] == "schedule_meeting"
    assert [m["content"] for m in resent[2:]] == ["done: lookup_person", "done: schedule_meeting"]
    assert fake.requests[0].body["tool_choice"] == "required"


def test_streamed_text_arrives_in_pieces_that_add_up(
    fake: FakeModelServer, model: OpenAIModel
) -> None:
    text = "The launch moved to May 3 because the vendor slipped."
    fake.add(Reply(text, chunk_size=5, usage=(20, 11)))
    stream = model.complete_stream(HELLO)
    pieces = [delta.text for delta in stream]
    assert len(pieces) > 5
    assert "".join(pieces) == text
    assert stream.completion.text == text
    assert stream.completion.usage.total_tokens == 31
    assert fake.requests[0].body["stream"] is True


def test_streamed_tool_call_fragments_are_reassembled(
    fake: FakeModelServer, model: OpenAIModel
) -> None:
    arguments = {"title": "Quarterly budget review", "minutes": 45}
    fake.add(
        Reply(
            "Let me check.",
            tool_calls=[
                ScriptedCall("lookup_person", {"name": "Ana Ruiz"}, "call_1"),
                ScriptedCall("schedule_meeting", arguments, "call_2"),
            ],
            chunk_size=3,
        )
    )
    stream = model.complete_stream(HELLO, tools=[LOOKUP, SCHEDULE])
    assert "".join(d.text for d in stream) == "Let me check."
    completion = stream.completion
    assert completion.finish_reason == "tool_calls"
    assert [(c.id, c.name, c.arguments) for c in completion.tool_calls] == [
        ("call_1", "lookup_person", {"name": "Ana Ruiz"}),
        ("call_2", "schedule_meeting", arguments),
    ]


def test_complete_can_read_its_reply_over_a_stream(
    fake: FakeModelServer, model: OpenAIModel
) -> None:
    fake.add(Reply("Streamed but whole.", chunk_size=2))
    assert model.complete(HELLO, stream=True).text == "Streamed but whole."
    assert fake.requests[0].body["stream"] is True


def test_server_errors_are_retried_until_it_answers(
    fake: FakeModelServer, model: OpenAIModel
) -> None:
    fake.add(Reply(status=500), Reply(status=503), "Recovered.")
    assert model.complete(HELLO).text == "Recovered."
    assert len(fake.requests) == 3


def test_a_rate_limit_waits_as_long_as_retry_after_says(
    fake: FakeModelServer, model: OpenAIModel
) -> None:
    fake.add(Reply(status=429, error="slow down", headers={"Retry-After": "0.4"}), "Done.")
    started = time.monotonic()
    assert model.complete(HELLO).text == "Done."
    assert time.monotonic() - started >= 0.4
    assert len(fake.requests) == 2


def test_retry_after_in_milliseconds_is_honoured_too(
    fake: FakeModelServer, model: OpenAIModel
) -> None:
    fake.add(Reply(status=429, headers={"retry-after-ms": "250"}), "Done.")
    started = time.monotonic()
    assert model.complete(HELLO).text == "Done."
    assert time.monotonic() - started >= 0.25


def test_a_rate_limit_longer_than_we_wait_fails_at_once(fake: FakeModelServer) -> None:
    fake.add(Reply(status=429, error="quota exceeded", headers={"Retry-After": "120"}), "Late.")
    with (
        OpenAIModel(fake.url, max_retry_delay=5) as model,
        pytest.raises(ModelError) as caught,
    ):
        model.complete(HELLO)
    message = str(caught.value)
    assert "rate limited (HTTP 429: quota exceeded)" in message
    assert "the server asks to wait 120 s before trying again" in message
    assert len(fake.requests) == 1


def test_a_bad_request_is_not_retried(fake: FakeModelServer, model: OpenAIModel) -> None:
    fake.add(Reply(status=400, error="tools are not supported by this model"), "never sent")
    with pytest.raises(ModelError) as caught:
        model.complete(HELLO, tools=[LOOKUP])
    assert caught.value.status == 400
    assert "HTTP 400: tools are not supported by this model" in str(caught.value)
    assert f"{fake.url}/chat/completions" in str(caught.value)
    assert len(fake.requests) == 1


def test_server_errors_give_up_after_the_last_retry(fake: FakeModelServer) -> None:
    fake.add(*[Reply(status=502, error="upstream down")] * 3)
    with (
        OpenAIModel(fake.url, max_retries=2, retry_delay=0.01) as model,
        pytest.raises(ModelError) as caught,
    ):
        model.complete(HELLO)
    message = str(caught.value)
    assert "server error (HTTP 502: upstream down) after 3 attempts" in message
    assert "check the server's log" in message
    assert len(fake.requests) == 3


def test_a_slow_model_times_out_with_advice(fake: FakeModelServer) -> None:
    fake.add(Reply("Too late.", delay=2.0))
    started = time.monotonic()
    with (
        OpenAIModel(fake.url, timeout=0.2, retry_delay=0.01) as model,
        pytest.raises(ModelError) as caught,
    ):
        model.complete(HELLO)
    assert time.monotonic() - started < 1.5
    message = str(caught.value)
    assert message.startswith(f"{fake.url}/chat/completions: ")
    assert "did not answer within 0.2 s" in message
    assert "raise UNDERSTUDY_LLM_TIMEOUT" in message
    assert "check that the server is running" in message
    assert len(fake.requests) == 1


def test_a_stream_that_stalls_times_out_too(fake: FakeModelServer) -> None:
    fake.add(Reply("Slowly, then not at all.", chunk_size=4, chunk_delay=2.0))
    with OpenAIModel(fake.url, timeout=0.2) as model:
        stream = model.complete_stream(HELLO)
        with pytest.raises(ModelError, match="raise UNDERSTUDY_LLM_TIMEOUT"):
            list(stream)


def test_a_wrong_key_gets_a_clear_message_without_the_key() -> None:
    with FakeModelServer(["Welcome."], api_key="right-key-4567") as fake:
        with (
            OpenAIModel(fake.url, api_key="wrong-key-1234", retry_delay=0.01) as model,
            pytest.raises(ModelError) as caught,
        ):
            model.complete(HELLO)
        message = str(caught.value)
        assert caught.value.status == 401
        assert "the server refused the API key" in message
        assert "set UNDERSTUDY_LLM_API_KEY" in message
        assert "wrong-key-1234" not in message
        assert len(fake.requests) == 1
        with OpenAIModel(fake.url, api_key="right-key-4567") as model:
            assert model.complete(HELLO).text == "Welcome."
        assert fake.requests[-1].headers["authorization"] == "Bearer right-key-4567"


def test_a_missing_key_says_none_was_sent() -> None:
    with (
        FakeModelServer(api_key="right-key-4567") as fake,
        OpenAIModel(fake.url) as model,
        pytest.raises(ModelError, match="no API key was sent"),
    ):
        model.complete(HELLO)


def test_a_base_url_without_v1_is_explained(fake: FakeModelServer) -> None:
    with (
        OpenAIModel(fake.url.removesuffix("/v1")) as model,
        pytest.raises(ModelError, match="usually ends in /v1") as caught,
    ):
        model.complete(HELLO)
    assert caught.value.status == 404


def test_an_unreachable_server_is_retried_then_named(monkeypatch: pytest.MonkeyPatch) -> None:
    # A loopback port that nobody listens on: safe to allow, nothing real answers.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setattr(models, "ALLOW_MODEL_REQUESTS", True)
    url = f"http://127.0.0.1:{port}/v1"
    with (
        OpenAIModel(url, max_retries=2, retry_delay=0.01) as model,
        pytest.raises(ModelError) as caught,
    ):
        model.complete(HELLO)
    message = str(caught.value)
    assert message.startswith(f"{url}/chat/completions: cannot reach the language-model server")
    assert "after 3 attempts" in message
    assert "UNDERSTUDY_LLM_URL" in message


@pytest.mark.parametrize("stream", [False, True])
def test_malformed_tool_arguments_are_a_clear_error(
    fake: FakeModelServer, model: OpenAIModel, stream: bool
) -> None:
    fake.add(Reply(tool_calls=[ScriptedCall("lookup_person", '{"name": "Ana')]))
    with pytest.raises(ModelError) as caught:
        model.complete(HELLO, tools=[LOOKUP], stream=stream)
    message = str(caught.value)
    assert "called the tool 'lookup_person' with arguments that are not valid JSON" in message
    assert '{"name": "Ana' in message


def test_tool_arguments_that_are_not_an_object_are_refused(
    fake: FakeModelServer, model: OpenAIModel
) -> None:
    fake.add(Reply(tool_calls=[ScriptedCall("lookup_person", '["Ana"]')]))
    with pytest.raises(ModelError, match="a JSON list, not an object"):
        model.complete(HELLO, tools=[LOOKUP])


def test_real_model_requests_are_forbidden_in_tests() -> None:
    with (
        OpenAIModel("https://api.example.com/v1", api_key="sk-live") as model,
        pytest.raises(ModelRequestsForbidden, match="ALLOW_MODEL_REQUESTS is False"),
    ):
        model.complete(HELLO)


def test_a_credential_in_the_url_never_shows_in_errors(fake: FakeModelServer) -> None:
    fake.add(Reply(status=400, error="bad"))
    url = fake.url.replace("http://", "http://ana:hunter2@")
    with OpenAIModel(url) as model, pytest.raises(ModelError) as caught:
        model.complete(HELLO)
    assert "hunter2" not in str(caught.value)
    assert f"{fake.url}/chat/completions" in str(caught.value)


def test_a_reader_that_stops_early_can_close_the_stream(
    fake: FakeModelServer, model: OpenAIModel
) -> None:
    fake.add(Reply("One two three four five six.", chunk_size=3), "Next answer.")
    with model.complete_stream(HELLO) as stream:
        assert next(stream).text == "One"
    assert model.complete(HELLO).text == "Next answer."


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    text=st.text(max_size=80),
    arguments=st.dictionaries(
        st.text(max_size=8), st.text(max_size=20) | st.integers(), max_size=4
    ),
    chunk_size=st.integers(min_value=1, max_value=12),
)
def test_any_stream_adds_up_to_the_whole_reply(
    fake: FakeModelServer,
    model: OpenAIModel,
    text: str,
    arguments: dict[str, object],
    chunk_size: int,
) -> None:
    fake.add(Reply(text, [ScriptedCall("lookup_person", arguments)], chunk_size=chunk_size))
    stream = model.complete_stream(HELLO, tools=[LOOKUP])
    assert "".join(delta.text for delta in stream) == text
    assert stream.completion.text == text
    assert stream.completion.tool_calls[0].arguments == arguments
