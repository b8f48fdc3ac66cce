"""Tool calls on the simulator's OpenAI chat completions over real HTTP: raw chunks, the openai
SDK (typed, streamed, its stream helper), a whole loop, refusals and usage by hand."""
from __future__ import annotations

import json

import openai
import pytest
from sim_wire import chat, sse

from opus_magic.cost.tokens import count_messages, count_text

MODEL = "gpt-4o"
WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Current weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                   "required": ["city"], "additionalProperties": False}, "strict": True}}
ORDERS = {"type": "function", "function": {
    "name": "search_orders", "parameters": {"type": "object", "properties": {
        "order_id": {"type": "integer"}}, "required": ["order_id"]}}}
PROMPT = [{"role": "user", "content": "Weather in Oslo? And where is order 9001?"}]
pytestmark = pytest.mark.usefixtures("simulator")


@pytest.fixture
def client(simulator) -> openai.OpenAI:
    return openai.OpenAI(base_url=simulator.base_url, api_key="sk-test", max_retries=0)


def ask(**extra) -> dict:
    return {"model": MODEL, "messages": list(PROMPT), "tools": [WEATHER, ORDERS], **extra}


def test_streamed_tool_calls_have_openais_chunk_shapes(simulator) -> None:
    chunks = sse(chat(simulator, ask(stream=True, stream_options={"include_usage": True})))
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    heads = [d["tool_calls"][0] for d in deltas if d.get("tool_calls")
             and "id" in d["tool_calls"][0]]
    assert [h["index"] for h in heads] == [0, 1]
    assert all(h["id"].startswith("call_") and h["type"] == "function" for h in heads)
    assert [h["function"] for h in heads] == [{"name": "get_weather", "arguments": ""},
                                              {"name": "search_orders", "arguments": ""}]
    assert deltas[0]["role"] == "assistant" and deltas[0]["content"] is None
    for index, expected in ((0, {"city": "Oslo"}), (1, {"order_id": 9001})):
        pieces = [d["tool_calls"][0]["function"]["arguments"] for d in deltas
                  if d.get("tool_calls") and d["tool_calls"][0]["index"] == index]
        assert len(pieces) > 2 and json.loads("".join(pieces)) == expected
    assert [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]][-1] == "tool_calls"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] > 0


def test_the_sdk_parses_calls_typed_streamed_and_through_its_stream_helper(client) -> None:
    typed = client.chat.completions.create(**ask())
    choice = typed.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    assert [(c.function.name, json.loads(c.function.arguments)) for c in
            choice.message.tool_calls] == [("get_weather", {"city": "Oslo"}),
                                          ("search_orders", {"order_id": 9001})]
    seen: dict[int, str] = {}
    for chunk in client.chat.completions.create(**ask(stream=True)):
        for call in chunk.choices[0].delta.tool_calls or () if chunk.choices else ():
            seen[call.index] = seen.get(call.index, "") + (call.function.arguments or "")
    assert json.loads(seen[0]) == {"city": "Oslo"}
    with client.chat.completions.stream(**ask()) as stream:
        final = stream.get_final_completion()
    calls = final.choices[0].message.tool_calls
    assert calls[0].function.parsed_arguments == {"city": "Oslo"}  # a strict function
    assert json.loads(calls[1].function.arguments) == {"order_id": 9001}


def test_a_whole_loop_through_the_sdk_ends_in_text_quoting_the_results(client) -> None:
    first = client.chat.completions.create(**ask()).choices[0].message
    replies = [{"role": "tool", "tool_call_id": c.id, "content": f"{c.function.name}: fine"}
               for c in first.tool_calls]
    messages = [*PROMPT, first.model_dump(exclude_none=True), *replies]
    second = client.chat.completions.create(**ask(messages=messages))
    assert second.choices[0].finish_reason == "stop"
    text = second.choices[0].message.content
    assert "get_weather returned: get_weather: fine." in text
    assert "search_orders returned: search_orders: fine." in text


def test_one_call_a_turn_without_parallel_calls_and_tool_choice(client) -> None:
    one = client.chat.completions.create(**ask(parallel_tool_calls=False))
    assert [c.function.name for c in one.choices[0].message.tool_calls] == ["get_weather"]
    named = client.chat.completions.create(**ask(
        tool_choice={"type": "function", "function": {"name": "search_orders"}}))
    assert [c.function.name for c in named.choices[0].message.tool_calls] == ["search_orders"]
    none = client.chat.completions.create(**ask(tool_choice="none"))
    assert none.choices[0].message.tool_calls is None
    required = client.chat.completions.create(**ask(
        messages=[{"role": "user", "content": "Hello"}], tool_choice="required"))
    assert required.choices[0].message.tool_calls[0].function.name == "get_weather"


def test_usage_worked_out_by_hand(client) -> None:
    """Prompt: the chat format with tools (cost.tokens.count_messages, which counts each earlier
    call's name and arguments); completion: each call's name and arguments."""
    first = client.chat.completions.create(**ask())
    calls = first.choices[0].message.tool_calls
    spent = sum(count_text(c.function.name, MODEL) + count_text(c.function.arguments, MODEL)
                for c in calls)
    assert first.usage.prompt_tokens == count_messages(PROMPT, MODEL, [WEATHER, ORDERS])
    assert first.usage.completion_tokens == spent
    turn = first.choices[0].message.model_dump(exclude_none=True)
    replies = [{"role": "tool", "tool_call_id": c.id, "content": "ok"} for c in calls]
    messages = [*PROMPT, turn, *replies]
    second = client.chat.completions.create(**ask(messages=messages))
    assert second.usage.prompt_tokens == count_messages(messages, MODEL, [WEATHER, ORDERS])
    bare = [*PROMPT, {"role": "assistant", "content": None}, *replies]
    assert count_messages(messages, MODEL) == count_messages(bare, MODEL) + spent


@pytest.mark.parametrize(("messages", "param", "message"), [
    ([*PROMPT, {"role": "tool", "tool_call_id": "call_x", "content": "?"}], "messages.[1].role",
     "messages with role 'tool' must be a response to a preceeding message with 'tool_calls'"),
    ([*PROMPT, {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_a", "type": "function", "function": {"name": "get_weather",
                                                         "arguments": "{}"}}]},
      {"role": "user", "content": "and?"}], "messages.[1].role",
     "The following tool_call_ids did not have response messages: call_a"),
])
def test_tool_turns_out_of_place_are_refused(client, messages, param, message) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(**ask(messages=messages))
    assert message in caught.value.message and caught.value.param == param


def test_strict_functions_must_follow_strict_rules(client) -> None:
    loose = {"type": "function", "function": {**ORDERS["function"], "strict": True}}
    with pytest.raises(openai.BadRequestError, match="'additionalProperties' is required"):
        client.chat.completions.create(**ask(tools=[loose]))
    with pytest.raises(openai.BadRequestError, match="only allowed when 'tools' are specified"):
        client.chat.completions.create(model=MODEL, messages=PROMPT, tool_choice="required")
