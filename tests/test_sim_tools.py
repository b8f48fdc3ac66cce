"""Tool use on the simulator's Messages API over real HTTP: the raw wire, the official SDK, a
whole tool loop, the API's refusals, and usage worked out by hand."""
from __future__ import annotations

import json

import anthropic
import pytest
from sim_wire import count, messages, root, sse

from opus_magic.cost.catalog import default_catalog
from opus_magic.cost.tokens import count_text, count_tools

MODEL = "claude-haiku-4-5"
WEATHER = {"name": "get_weather", "description": "Current weather for a city",
           "input_schema": {"type": "object", "properties": {
               "city": {"type": "string"},
               "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
               "required": ["city"]}}
ORDERS = {"name": "search_orders", "description": "Find a customer's orders",
          "input_schema": {"type": "object", "properties": {
              "order_id": {"type": "integer"},
              "filters": {"type": "object", "properties": {
                  "status": {"type": "string", "enum": ["open", "shipped", "returned"]},
                  "tags": {"type": "array", "items": {"type": "string"}}},
                  "required": ["status", "tags"]}},
              "required": ["order_id", "filters"]}}
PING = {"name": "ping", "description": "Checks the service", "input_schema": {"type": "object"}}
PROMPT = "What's the weather in Lisbon in fahrenheit, and where is my shipped order 4521?"
pytestmark = pytest.mark.usefixtures("simulator")


@pytest.fixture
def sdk(simulator) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=root(simulator), api_key="sk-ant-test", max_retries=0)


def ask(prompt: str = PROMPT, tools: list | None = None, **extra) -> dict:
    return {"model": MODEL, "max_tokens": 400, "tools": tools or [WEATHER, ORDERS, PING],
            "messages": [{"role": "user", "content": prompt}], **extra}


def results(answer: dict, *texts: str, error: bool = False) -> dict:
    """The user turn that answers every call of `answer` with `texts`, in order."""
    calls = [b for b in answer["content"] if b["type"] == "tool_use"]
    return {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": c["id"], "content": t, "is_error": error}
        for c, t in zip(calls, texts)]}


def test_two_tools_called_for_are_called_in_parallel_with_arguments_from_the_prompt(
        simulator) -> None:
    answer = messages(simulator, ask()).json()
    assert answer["stop_reason"] == "tool_use"
    calls = answer["content"]
    assert [c["type"] for c in calls] == ["tool_use", "tool_use"]
    assert all(c["id"].startswith("toolu_01") and len(c["id"]) == 30 for c in calls)
    assert calls[0]["name"] == "get_weather"
    assert calls[0]["input"] == {"city": "Lisbon", "unit": "fahrenheit"}
    assert calls[1]["name"] == "search_orders"
    assert calls[1]["input"]["order_id"] == 4521
    assert calls[1]["input"]["filters"]["status"] == "shipped"
    assert calls[1]["input"]["filters"]["tags"] and all(
        isinstance(t, str) for t in calls[1]["input"]["filters"]["tags"])


def test_the_stream_sends_empty_input_then_json_pieces_and_only_an_empty_piece_without_arguments(
        simulator) -> None:
    events = sse(messages(simulator, ask(stream=True)))
    starts = [e for e in events if e["type"] == "content_block_start"]
    assert [s["content_block"]["type"] for s in starts] == ["tool_use", "tool_use"]
    assert all(s["content_block"]["input"] == {} for s in starts)
    for start in starts:
        pieces = [e["delta"]["partial_json"] for e in events if e["type"] == "content_block_delta"
                  and e["index"] == start["index"]]
        assert pieces[0] == "" and len(pieces) > 2
        assert json.loads("".join(pieces))
    assert events[-2]["delta"]["stop_reason"] == "tool_use"
    forced = sse(messages(simulator, ask(stream=True, tool_choice={"type": "tool", "name": "ping"})))
    deltas = [e["delta"] for e in forced if e["type"] == "content_block_delta"]
    assert deltas == [{"type": "input_json_delta", "partial_json": ""}]


def test_the_sdk_stream_accumulates_tool_input_and_a_whole_loop_ends_in_text(sdk) -> None:
    body = ask()
    with sdk.messages.stream(**body) as stream:
        first = stream.get_final_message()
    inputs = [block.input for block in first.content if block.type == "tool_use"]
    assert inputs[0] == {"city": "Lisbon", "unit": "fahrenheit"}
    turn = {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]}
    calls = [b for b in first.content if b.type == "tool_use"]
    reply = {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": calls[0].id, "content": "21 degrees and clear"},
        {"type": "tool_result", "tool_use_id": calls[1].id,
         "content": [{"type": "text", "text": "Order 4521 is in transit"}]}]}
    second = sdk.messages.create(**{**body, "messages": [*body["messages"], turn, reply]})
    assert second.stop_reason == "end_turn"
    assert [b.type for b in second.content] == ["text"]
    assert "21 degrees and clear" in second.content[0].text
    assert "Order 4521 is in transit" in second.content[0].text


def test_an_error_result_is_acknowledged_as_an_error(simulator) -> None:
    body = ask("Where is order 77?")
    first = messages(simulator, body).json()
    turn = {"role": "assistant", "content": first["content"]}
    body["messages"] += [turn, results(first, "database timeout", error=True)]
    text = messages(simulator, body).json()["content"][0]["text"]
    assert "search_orders call failed with an error: database timeout" in text


def test_without_parallel_use_one_call_a_turn_then_the_next_then_text(simulator) -> None:
    body = ask(tool_choice={"type": "auto", "disable_parallel_tool_use": True})
    names = []
    for _ in range(3):
        answer = messages(simulator, body).json()
        if answer["stop_reason"] != "tool_use":
            break
        assert len(answer["content"]) == 1
        names.append(answer["content"][0]["name"])
        body["messages"] += [{"role": "assistant", "content": answer["content"]},
                             results(answer, f"result of {names[-1]}")]
    assert names == ["get_weather", "search_orders"]
    assert answer["stop_reason"] == "end_turn"
    assert "result of search_orders" in answer["content"][0]["text"]


@pytest.mark.parametrize(("prompt", "choice", "called"), [
    (PROMPT, {"type": "none"}, []),
    ("Tell me a joke.", {"type": "auto"}, []),
    ("Tell me a joke.", {"type": "any"}, ["get_weather"]),
    (PROMPT, {"type": "tool", "name": "ping"}, ["ping"]),
    ("Call ping please.", {"type": "auto"}, ["ping"]),
])
def test_tool_choice(simulator, prompt, choice, called) -> None:
    answer = messages(simulator, ask(prompt, tool_choice=choice)).json()
    assert [b["name"] for b in answer["content"] if b["type"] == "tool_use"] == called
    assert answer["stop_reason"] == ("tool_use" if called else "end_turn")


def test_a_forced_choice_keeps_calling_after_results(simulator) -> None:
    body = ask("Tell me a joke.", tool_choice={"type": "any"})
    first = messages(simulator, body).json()
    body["messages"] += [{"role": "assistant", "content": first["content"]},
                         results(first, "sunny")]
    assert messages(simulator, body).json()["stop_reason"] == "tool_use"


def unknown_id(body: dict, first: dict) -> None:
    body["messages"].append({"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "toolu_01nowhere", "content": "x"}]})


def text_first(body: dict, first: dict) -> None:
    body["messages"] += [{"role": "assistant", "content": first["content"]},
                         {"role": "user", "content": [{"type": "text", "text": "here"},
                                                      *results(first, "1", "2")["content"]]}]


def no_results(body: dict, first: dict) -> None:
    body["messages"] += [{"role": "assistant", "content": first["content"]},
                         {"role": "user", "content": "and?"}]


@pytest.mark.parametrize(("change", "message"), [
    (unknown_id, "messages.1.content.0: unexpected `tool_use_id` found in `tool_result` blocks: "
                 "toolu_01nowhere. Each `tool_result` block must have a corresponding `tool_use` "
                 "block in the previous message."),
    (text_first, "messages.2: Did not find 2 `tool_result` block(s) at the beginning of this "
                 "message."),
    (no_results, "messages.1: `tool_use` ids were found without `tool_result` blocks "
                 "immediately after"),
])
def test_tool_turns_out_of_place_are_refused_as_anthropic_does(simulator, change, message) -> None:
    body = ask()
    change(body, messages(simulator, body).json())
    refused = messages(simulator, body)
    assert refused.status_code == 400
    assert refused.json()["error"]["type"] == "invalid_request_error"
    assert refused.json()["error"]["message"].startswith(message)


def test_tool_choice_refusals(simulator) -> None:
    no_tools = {**ask(tool_choice={"type": "any"}), "tools": []}
    assert "only be specified while providing tools" in messages(simulator, no_tools).text
    unknown = messages(simulator, ask(tool_choice={"type": "tool", "name": "nope"}))
    assert unknown.status_code == 400 and "nope" in unknown.text
    forced = messages(simulator, {**ask(tool_choice={"type": "any"}), "model": "claude-opus-5-5"})
    assert forced.status_code == 400 and "'any' is not supported by claude-opus-5-5" in forced.text
    strict = messages(simulator, ask(tools=[{**WEATHER, "strict": True}]))
    assert strict.json()["error"]["message"] == (
        "tools.0.custom.input_schema: For 'object' type, 'additionalProperties' must be "
        "explicitly set to false")


def test_usage_of_a_two_step_loop_worked_out_by_hand(simulator) -> None:
    """Input: 1 + the tool-use system prompt + each tool (8 + its compact JSON) + each message
    part as JSON with its role (+3 for a message's first part); output: each call's name and
    compact input, then the answer's tokens."""
    tools = [WEATHER, ORDERS]
    body = ask(tools=tools)
    prompt_tokens = default_catalog().get(MODEL).tool_prompt.auto
    assert prompt_tokens == 496
    framing = 1 + prompt_tokens + count_tools(tools, MODEL)

    def part(role: str, block: dict) -> int:
        return count_text(json.dumps({"role": role, **block}, sort_keys=True), MODEL)

    first = messages(simulator, body).json()
    sent = part("user", {"text": PROMPT}) + 3
    assert first["usage"]["input_tokens"] == framing + sent == count(simulator, body)
    assert first["usage"]["output_tokens"] == sum(
        count_text(c["name"], MODEL) + count_text(json.dumps(c["input"], separators=(",", ":")),
                                                  MODEL) for c in first["content"])
    turn = {"role": "assistant", "content": first["content"]}
    reply = results(first, "21 degrees", "in transit")
    body["messages"] += [turn, reply]
    second = messages(simulator, body).json()
    sent += sum(part("assistant", b) for b in turn["content"]) + 3
    sent += sum(part("user", b) for b in reply["content"]) + 3
    assert second["usage"]["input_tokens"] == framing + sent == count(simulator, body)
    assert second["usage"]["output_tokens"] == count_text(second["content"][0]["text"], MODEL)


def test_a_forced_choice_counts_the_forced_tool_prompt(simulator) -> None:
    auto = count(simulator, ask(tool_choice={"type": "auto"}))
    forced = count(simulator, ask(tool_choice={"type": "any"}))
    none = count(simulator, ask(tool_choice={"type": "none"}))
    assert forced - auto == 588 - 496 and none == auto
    bare = {**ask(), "tools": []}
    assert auto - count(simulator, bare) == 496 + count_tools([WEATHER, ORDERS, PING], MODEL)
