"""The pure parts of tools and schemas: definitions from functions, running calls, the Messages
stream's blocks, tool turns on each wire, schemas fitted and answers checked, chains combined,
field checks, and server-tool fees."""
from __future__ import annotations

import json
import threading
from decimal import Decimal

import pytest

from opus_magic.core.grid.checks import built_in
from opus_magic.core.schema.answer import check
from opus_magic.core.schema.spec import concise, schema_from
from opus_magic.core.tools.chain import combine_chains
from opus_magic.core.tools.cost import Overhead
from opus_magic.core.tools.namespace import toolbox_from
from opus_magic.core.tools.runner import ToolCall, run_calls
from opus_magic.core.tools.toolbox import describe
from opus_magic.cost.catalog import default_catalog
from opus_magic.cost.pricing import usage_cost
from opus_magic.errors import SchemaRefused, UsageError
from opus_magic.records import RunRecord, Usage
from opus_magic.wire.anthropic.stream import MessagesState
from opus_magic.wire.body.schemas import for_claude, for_openai
from opus_magic.wire.body.tool_turns import chat_messages, messages_turns


def get_weather(city: str, unit: str = "celsius", days: int = 1) -> str:
    """Current weather for a city.

    Args:
        city: the city's name
        unit: celsius or fahrenheit
    """
    return f"{city} {unit} {days}"


def test_a_function_is_described_from_its_signature_hints_and_docstring() -> None:
    tool, definition = describe(get_weather)
    assert definition == {"type": "function", "function": {
        "name": "get_weather", "description": "Current weather for a city.",
        "parameters": {"type": "object", "required": ["city"], "properties": {
            "city": {"type": "string", "description": "the city's name"},
            "unit": {"type": "string", "default": "celsius", "description": "celsius or fahrenheit"},
            "days": {"type": "integer", "default": 1}}}}}
    assert tool.call({"city": "Lisbon", "days": "3"}) == "Lisbon celsius 3"  # converted


@pytest.mark.parametrize(("fn", "message"), [
    (lambda city: city, "has no usable name"),
    (lambda: None, "has no usable name"),
])
def test_a_function_a_model_cannot_call_is_refused(fn, message) -> None:
    with pytest.raises(UsageError, match=message):
        describe(fn)


def test_star_args_are_refused_in_one_line() -> None:
    def search(*terms: str) -> str:
        """Search."""
        return ""

    with pytest.raises(UsageError, match="parameter terms is \\*args"):
        describe(search)


def test_functions_and_definitions_mix_but_names_do_not_repeat() -> None:
    definition = {"type": "function", "function": {"name": "ping", "parameters": {}}}
    box = toolbox_from({"get_weather": get_weather, "more": [definition]}, "get_weather, more")
    assert [d["function"]["name"] for d in box.definitions] == ["get_weather", "ping"]
    assert box.runs("get_weather") and not box.runs("ping")
    with pytest.raises(UsageError, match="repeats the name 'get_weather'"):
        toolbox_from({"a": get_weather, "b": [get_weather]}, "a,b")


def test_calls_run_at_once_and_failures_become_results() -> None:
    together = threading.Barrier(2, timeout=10)

    def first(x: int) -> int:
        """First."""
        together.wait()
        return x

    def second(x: int) -> dict:
        """Second."""
        together.wait()
        return {"x": x}

    box = toolbox_from({"first": first, "second": second, "get_weather": get_weather},
                       "first,second,get_weather")
    results = run_calls(box, [ToolCall("1", "first", '{"x": 1}'),
                              ToolCall("2", "second", '{"x": 2}'),
                              ToolCall("3", "get_weather", '{"unit": "kelvin"}'),
                              ToolCall("4", "get_weather", "{not json"),
                              ToolCall("5", "nowhere", "{}")], timeout_s=10)
    assert [(r.status, r.content) for r in results] == [
        ("ok", "1"), ("ok", '{"x": 2}'),
        ("error", "TypeError: arguments do not fit get_weather: city: Field required"),
        ("error", "ValueError: the arguments are not JSON (Expecting property name enclosed "
                  "in double quotes: line 1 column 2 (char 1))"),
        ("error", "LookupError: no tool named 'nowhere' runs here")]
    assert results[2].message()["is_error"] is True


def stream(state: MessagesState, events: list[dict]) -> None:
    for event in events:
        state.handle_chunk(event)


def test_a_streamed_server_tool_call_is_kept_apart_from_tool_calls() -> None:
    state = MessagesState()
    result = {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": []}
    stream(state, [
        {"type": "content_block_start", "index": 0, "content_block": {
            "type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {}}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta",
                                                             "partial_json": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta",
                                                             "partial_json": '{"query": "sql'}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta",
                                                             "partial_json": 'ite"}'}},
        {"type": "content_block_stop", "index": 0},
        {"type": "content_block_start", "index": 1, "content_block": result},
        {"type": "content_block_stop", "index": 1},
        {"type": "content_block_start", "index": 2, "content_block": {
            "type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}},
        {"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta",
                                                             "partial_json": '{"city": "Oslo"}'}},
        {"type": "content_block_stop", "index": 2}])
    assert state.tool_calls == [{"id": "toolu_1", "type": "function", "function": {
        "name": "get_weather", "arguments": '{"city": "Oslo"}'}}]
    assert state.content == [
        {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search",
         "input": {"query": "sqlite"}}, result,
        {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Oslo"}}]
    assert state.assistant_turn()["blocks"] == state.content


def test_thinking_and_its_signature_are_kept_for_the_next_turn() -> None:
    state = MessagesState()
    stream(state, [
        {"type": "content_block_start", "index": 0, "content_block": {"type": "thinking",
                                                                      "thinking": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta",
                                                             "thinking": "Check the weather."}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta",
                                                             "signature": "sig=="}},
        {"type": "content_block_stop", "index": 0}])
    assert state.content == [{"type": "thinking", "thinking": "Check the weather.",
                              "signature": "sig=="}]


TURNS = [{"role": "system", "content": "Be brief."},
         {"role": "user", "content": "Weather?"},
         {"role": "assistant", "content": None, "tool_calls": [
             {"id": "c1", "type": "function", "function": {"name": "get_weather",
                                                           "arguments": '{"city":"Oslo"}'}}]},
         {"role": "tool", "tool_call_id": "c1", "content": "boom", "is_error": True},
         {"role": "user", "content": "And tomorrow?"}]


def test_tool_turns_on_the_messages_api_are_tool_use_then_one_user_turn_of_results() -> None:
    assert messages_turns(TURNS) == [
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "c1", "name": "get_weather",
                                           "input": {"city": "Oslo"}}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "c1", "content": "boom", "is_error": True},
            {"type": "text", "text": "And tomorrow?"}]}]


def test_tool_turns_on_chat_completions_carry_only_openais_fields() -> None:
    sent = chat_messages([*TURNS[:2], {**TURNS[2], "blocks": [{"type": "text"}]}, TURNS[3]])
    assert sent[2] == {k: v for k, v in TURNS[2].items()}
    assert sent[3] == {"role": "tool", "tool_call_id": "c1", "content": "Error: boom"}


NESTED = {"type": "object", "properties": {
    "urgency": {"type": "integer", "minimum": 1, "maximum": 5},
    "customer": {"type": "object", "properties": {"name": {"type": "string"},
                                                  "email": {"type": "string"}},
                 "required": ["name"]}}, "required": ["urgency"]}


def test_a_schema_is_fitted_to_claude_where_that_is_safe() -> None:
    fitted = for_claude("Case", NESTED)
    assert fitted.schema["additionalProperties"] is False
    assert fitted.schema["properties"]["customer"]["additionalProperties"] is False
    assert "minimum" not in fitted.schema["properties"]["urgency"]
    assert fitted.notes == (
        "Schema Case: additionalProperties false added to 2 objects (Claude's structured "
        "outputs require it).",
        "Schema Case: maximum, minimum not sent (Claude's structured outputs take none); the "
        "answer is still checked against them.")
    assert "additionalProperties" not in NESTED  # the notebook's own schema is left alone


def test_a_schema_is_fitted_to_openais_strict_mode() -> None:
    fitted = for_openai("Case", NESTED).schema
    customer = fitted["properties"]["customer"]
    assert fitted["required"] == ["urgency", "customer"] and customer["required"] == ["name",
                                                                                     "email"]
    assert customer["properties"]["email"]["type"] == ["string", "null"]


@pytest.mark.parametrize(("fit", "schema", "message"), [
    (for_claude, {"$defs": {"N": {"type": "object", "properties": {"n": {"$ref": "#/$defs/N"}}}},
                  "$ref": "#/$defs/N"}, "is recursive"),
    (for_openai, {"type": "string"}, "is not an object"),
    (for_openai, {"type": "object", "additionalProperties": True}, "the root is a free-form"),
])
def test_schemas_that_cannot_be_fixed_safely_are_refused(fit, schema, message) -> None:
    with pytest.raises(SchemaRefused, match=message):
        fit("S", schema)


def test_the_concise_syntax_reads_as_llm_writes_it() -> None:
    assert concise("name, age int, bio: a short bio") == {
        "type": "object", "required": ["name", "age", "bio"], "properties": {
            "name": {"type": "string"}, "age": {"type": "integer"},
            "bio": {"type": "string", "description": "a short bio"}}}
    assert list(concise("title str: the title, with commas\nscore float\n")["properties"]) == [
        "title", "score"]
    with pytest.raises(UsageError, match="cannot read the field 'age number'"):
        concise("name, age number")


def test_answers_are_checked_never_raised() -> None:
    schema = schema_from({"type": "object", "title": "Contact", "properties": {
        "email": {"type": "string"}, "phone": {"type": "string"}}, "required": ["email"]})
    assert check('```json\n{"email": "a@b.c", "phone": null}\n```', schema).parsed == {
        "email": "a@b.c"}  # strict mode's null for an optional field counts as absent
    wrong = check('{"email": 5}', schema)
    assert wrong.parsed is None and wrong.error == (
        "The answer does not match schema Contact: email: 5 is not of type 'string'.")
    cut = check('{"email": "a@', schema, "max_tokens")
    assert cut.error.startswith("The answer is not JSON (the answer was cut at max_tokens): ")


def record(run_id: str, chain: str | None, step: int | None, cost: str) -> RunRecord:
    return RunRecord(id=run_id, created_at=run_id, model="m", prompt="p", chain_id=chain,
                     step=step, cost=Decimal(cost), cost_exact=True,
                     usage=Usage(input_tokens=100, output_tokens=10), text=f"text {run_id}")


def test_a_chain_counts_once_in_full_where_its_last_step_was() -> None:
    runs = [record("a", None, None, "1"), record("b", "c1", 1, "0.5"),
            record("c", "c1", 2, "0.25"), record("d", None, None, "2")]
    combined = combine_chains(runs)
    assert [r.id for r in combined] == ["a", "c", "d"]
    assert combined[1].cost == Decimal("0.75") and combined[1].usage.input_tokens == 200
    assert combined[1].text == "text c"


@pytest.mark.parametrize(("spec", "answer", "expected"), [
    ("field:urgency<=3", '{"urgency": 2}', True),
    ("field:urgency<=3", '{"urgency": 4}', False),
    ("field:urgency>=3", '{"urgency": "5"}', True),
    ("field:category==billing", '{"category": " Billing "}', True),
    ("field:category!=bug", '{"category": "bug"}', False),
    ("field:customer.name", '{"customer": {"name": "Ada"}}', True),
    ("field:urgency<=3", "not json", False),
    ("equals:category", '{"category": "billing"}', True),
    ("equals:category", "billing", True),
])
def test_checks_that_name_fields(spec, answer, expected) -> None:
    assert built_in(spec, ["category"]).run(answer, {"category": "billing"}) is expected


def test_a_web_search_is_priced_at_its_fee_and_an_unknown_fee_is_unknown() -> None:
    catalog = default_catalog()
    usage = Usage(input_tokens=1000, output_tokens=100, web_search_requests=3)
    opus = catalog.get("claude-opus-4-6")
    assert opus.server_tool_fee("web_search") == Decimal("0.01")
    assert usage_cost(usage, opus) == (Decimal(1000 * 5 + 100 * 25) / 10**6 + Decimal("0.03"))
    assert usage_cost(usage, catalog.get("gpt-4o")) is None  # OpenAI: no such fee known
    assert opus.to_mapping()["server_tools"]["web_search"]["per_1000"] == "10"


def test_the_overhead_line() -> None:
    line = Overhead(3, 612, Decimal("0.0092"), 0.41).line()
    assert line == "tools overhead: 3 × 612 tokens, ≈$0.0092, 41 % of this cell"
    assert json.dumps(line, ensure_ascii=False)
