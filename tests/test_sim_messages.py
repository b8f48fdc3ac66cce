"""The official anthropic SDK, typed, parses every answer of the simulator's Messages API."""
from __future__ import annotations

import anthropic
import pytest

LONG = "Caching pays when a long prefix repeats. " * 600


@pytest.fixture
def sdk(simulator) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=simulator.base_url.removesuffix("/v1"),
                               api_key="sk-ant-test-0123456789", max_retries=0)


def ask(**extra):
    return {"model": "claude-opus-4-6", "max_tokens": 2000,
            "messages": [{"role": "user", "content": "Explain caching."}], **extra}


def test_typed_message_with_thinking_and_cache_usage(sdk, simulator) -> None:
    system = [{"type": "text", "text": LONG, "cache_control": {"type": "ephemeral", "ttl": "1h"}}]
    first = sdk.messages.create(**ask(system=system, thinking={"type": "adaptive"}))
    assert [block.type for block in first.content] == ["thinking", "text"]
    assert first.content[0].signature and first.stop_reason == "end_turn"
    usage = first.usage
    assert usage.cache_creation.ephemeral_1h_input_tokens == usage.cache_creation_input_tokens > 4096
    assert usage.output_tokens_details.thinking_tokens == 160
    second = sdk.messages.create(**ask(system=system))
    assert second.usage.cache_read_input_tokens == usage.cache_creation_input_tokens
    assert second.usage.cache_creation_input_tokens == 0
    assert simulator.requests()[-1].auth in ("bearer", "x-api-key")


@pytest.mark.filterwarnings("ignore:The model 'claude-opus-4-5' is deprecated")  # budget-only model
def test_typed_stream_sends_anthropics_event_sequence(sdk) -> None:
    budget = {"model": "claude-opus-4-5", "thinking": {"type": "enabled", "budget_tokens": 1024}}
    with sdk.messages.stream(**ask(**budget)) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_message()
    assert kinds[0] == "message_start"
    assert kinds[-1] == "message_stop" and "message_delta" in kinds
    assert {"thinking", "signature", "text"} <= set(kinds)
    assert final.usage.output_tokens == final.usage.output_tokens_details.thinking_tokens + len(
        [k for k in kinds if k == "text"])
    count = sdk.messages.count_tokens(model="claude-opus-4-5", messages=ask()["messages"])
    assert count.input_tokens == final.usage.input_tokens


def test_raw_event_lines_name_each_event_as_anthropic_does(sdk) -> None:
    with sdk.messages.with_streaming_response.create(**ask(stream=True)) as response:
        names = [line[7:] for line in response.iter_lines() if line.startswith("event: ")]
    assert names[:3] == ["message_start", "ping", "content_block_start"]
    assert names[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert set(names[3:-3]) == {"content_block_delta"}


@pytest.mark.parametrize(("status", "exception"), [
    (400, anthropic.BadRequestError), (401, anthropic.AuthenticationError),
    (402, anthropic.PaymentRequiredError), (403, anthropic.PermissionDeniedError),
    (404, anthropic.NotFoundError), (409, anthropic.ConflictError),
    (413, anthropic.ContentTooLargeError), (429, anthropic.RateLimitError),
    (500, anthropic.InternalServerError), (529, anthropic.OverloadedError),
])
def test_errors_are_the_sdks_typed_exceptions(sdk, simulator, status, exception) -> None:
    simulator.scenario("error", status=status, times=1)
    with pytest.raises(exception) as caught:
        sdk.messages.create(**ask())
    assert caught.value.request_id.startswith("req_sim") and caught.value.type


def test_a_mid_stream_overload_is_raised_by_the_sdk(sdk, simulator) -> None:
    simulator.scenario("error_chunk", after=3, times=1)
    with pytest.raises(anthropic.APIStatusError, match="overloaded_error"):
        with sdk.messages.stream(**ask()) as stream:
            for _ in stream:
                pass


def test_removed_parameters_are_refused_like_the_api(sdk) -> None:
    with pytest.raises(anthropic.BadRequestError, match="temperature"):
        sdk.messages.create(**ask(), extra_body={"temperature": 0.5})


def test_a_classification_prompt_gets_one_of_its_options_as_on_chat(sdk) -> None:
    """As on chat completions: the option the rest of the prompt names, in text or in blocks."""
    text = "Answer with one of: billing, bug, other.\nThe billing page charged me twice."
    plain = sdk.messages.create(**ask(messages=[{"role": "user", "content": text}]))
    blocks = sdk.messages.create(**ask(messages=[{"role": "user", "content": [
        {"type": "text", "text": text, "cache_control": {"type": "ephemeral"}}]}]))
    assert plain.content[-1].text == blocks.content[-1].text == "billing"
