"""Structured outputs on the simulator, both APIs, over real HTTP: JSON that satisfies the schema
(checked with jsonschema and by each SDK's parse), JSON that does not on request, and the
schemas each provider refuses."""
from __future__ import annotations

import json
import random
from typing import Literal

import anthropic
import jsonschema
import openai
import pydantic
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sim_wire import messages, root, sse

from opus_magic.sim.content.schema_values import Filler

PROMPT = "Customer Maria Lopez says order 4521 arrived broken; she wants a refund, high priority."
TICKET = {"type": "object", "additionalProperties": False, "properties": {
    "customer": {"type": "string"},
    "order_id": {"type": "integer"},
    "priority": {"type": "string", "enum": ["low", "medium", "high"]},
    "category": {"type": "string", "enum": ["shipping", "refund", "account"]},
    "summary": {"type": "string"},
    "tags": {"type": "array", "items": {"type": "string"}},
    "contact": {"type": "object", "additionalProperties": False,
                "properties": {"email": {"type": "string", "format": "email"}},
                "required": ["email"]}},
    "required": ["customer", "order_id", "priority", "category", "summary", "tags", "contact"]}
pytestmark = pytest.mark.usefixtures("simulator")


class Ticket(pydantic.BaseModel):
    customer: str
    order_id: int
    priority: Literal["low", "medium", "high"]


def native(**extra) -> dict:
    return {"model": "claude-sonnet-4-5", "max_tokens": 300,
            "messages": [{"role": "user", "content": PROMPT}],
            "output_config": {"format": {"type": "json_schema", "schema": TICKET}}, **extra}


def test_messages_json_satisfies_the_schema_with_values_from_the_prompt(simulator) -> None:
    answer = messages(simulator, native()).json()
    assert answer["stop_reason"] == "end_turn" and answer["content"][0]["type"] == "text"
    value = json.loads(answer["content"][0]["text"])
    jsonschema.validate(value, TICKET)
    assert value["customer"] == "Maria Lopez" and value["order_id"] == 4521
    assert (value["priority"], value["category"]) == ("high", "refund")
    assert messages(simulator, native()).json()["content"] == answer["content"]  # deterministic
    streamed = sse(messages(simulator, native(stream=True)))
    text = "".join(e["delta"]["text"] for e in streamed if e["type"] == "content_block_delta")
    assert json.loads(text) == value


def test_the_older_output_format_needs_its_beta_header(simulator) -> None:
    body = {**native(), "output_format": native()["output_config"]["format"]}
    del body["output_config"]
    assert messages(simulator, body).status_code == 400
    beta = {"anthropic-beta": "structured-outputs-2025-11-13"}
    jsonschema.validate(json.loads(messages(simulator, body, headers=beta).json()[
        "content"][0]["text"]), TICKET)


def test_the_anthropic_sdk_parses_and_fails_to_parse_on_request(simulator) -> None:
    sdk = anthropic.Anthropic(base_url=root(simulator), api_key="sk-ant-test", max_retries=0)
    ask = {"model": "claude-opus-4-6", "max_tokens": 300, "output_format": Ticket,
           "messages": [{"role": "user", "content": PROMPT}]}
    parsed = sdk.messages.parse(**ask).parsed_output
    assert parsed == Ticket(customer="Maria Lopez", order_id=4521, priority="high")
    simulator.scenario("bad_output", kind="wrong_type", times=1)
    with pytest.raises(pydantic.ValidationError):
        sdk.messages.parse(**ask)
    simulator.scenario("bad_output", kind="missing_field", times=1)
    with pytest.raises(pydantic.ValidationError, match="customer"):
        with sdk.messages.stream(**ask) as stream:
            stream.get_final_message()


@pytest.mark.parametrize("kind", ["missing_field", "wrong_type"])
def test_bad_output_gives_json_that_fails_the_schema(simulator, kind) -> None:
    simulator.scenario("bad_output", kind=kind, times=1)
    value = json.loads(messages(simulator, native()).json()["content"][0]["text"])
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(value, TICKET)
    jsonschema.validate(json.loads(messages(simulator, native()).json()["content"][0]["text"]),
                        TICKET)  # only the next answer


def test_json_cut_by_max_tokens_on_request_and_by_a_low_limit(simulator) -> None:
    simulator.scenario("bad_output", kind="truncated", times=1)
    cut = messages(simulator, native()).json()
    assert cut["stop_reason"] == "max_tokens"
    with pytest.raises(json.JSONDecodeError):
        json.loads(cut["content"][0]["text"])
    low = messages(simulator, native(max_tokens=10)).json()
    assert low["stop_reason"] == "max_tokens" and low["usage"]["output_tokens"] == 10


RECURSIVE = {"$defs": {"node": {"type": "object", "additionalProperties": False,
                                "properties": {"children": {"type": "array",
                                                            "items": {"$ref": "#/$defs/node"}}},
                                "required": ["children"]}}, "$ref": "#/$defs/node"}


@pytest.mark.parametrize(("schema", "message"), [
    (RECURSIVE, "Recursive schemas are not supported"),
    ({"type": "object", "properties": {}}, "'additionalProperties' must be explicitly set to false"),
    ({"type": "object", "additionalProperties": False,
      "properties": {"n": {"type": "integer", "minimum": 1}}}, "'minimum' is not supported"),
])
def test_schemas_anthropic_cannot_take_are_refused(simulator, schema, message) -> None:
    body = native(output_config={"format": {"type": "json_schema", "schema": schema}})
    refused = messages(simulator, body)
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["message"].startswith("output_config.format.schema: ")
    assert message in error["message"]


@pytest.fixture
def client(simulator) -> openai.OpenAI:
    return openai.OpenAI(base_url=simulator.base_url, api_key="sk-test", max_retries=0)


def strict(schema: dict, name: str = "ticket") -> dict:
    return {"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": True}}


def test_openai_response_format_is_answered_and_parsed(client) -> None:
    asked = [{"role": "user", "content": PROMPT}]
    reply = client.chat.completions.create(model="gpt-4o", messages=asked,
                                           response_format=strict(TICKET))
    jsonschema.validate(json.loads(reply.choices[0].message.content), TICKET)
    parsed = client.chat.completions.parse(model="gpt-4o", messages=asked, response_format=Ticket)
    assert parsed.choices[0].message.parsed.order_id == 4521
    anything = client.chat.completions.create(model="gpt-4o", messages=asked,
                                              response_format={"type": "json_object"})
    assert isinstance(json.loads(anything.choices[0].message.content), dict)


def test_openai_bad_output_and_cut_json(client, simulator) -> None:
    asked = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": PROMPT}],
             "response_format": strict(TICKET)}
    simulator.scenario("bad_output", kind="missing_field", times=1)
    with pytest.raises(jsonschema.ValidationError, match="required property"):
        jsonschema.validate(json.loads(
            client.chat.completions.create(**asked).choices[0].message.content), TICKET)
    simulator.scenario("bad_output", kind="truncated", times=1)
    cut = client.chat.completions.create(**asked)
    assert cut.choices[0].finish_reason == "length"
    with pytest.raises(json.JSONDecodeError):
        json.loads(cut.choices[0].message.content)


@pytest.mark.parametrize(("schema", "message"), [
    ({"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
     "In context=(), 'additionalProperties' is required to be supplied and to be false."),
    ({"type": "object", "additionalProperties": False,
      "properties": {"a": {"type": "string"}, "b": {"type": "string"}}, "required": ["a"]},
     "In context=(), 'required' is required to be supplied and to be an array including every "
     "key in properties. Missing 'b'."),
    ({"type": "array", "items": {"type": "string"}}, "schema must be a JSON Schema of 'type: \"object\"'"),
])
def test_openai_strict_mode_refuses_what_openai_refuses(client, schema, message) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}],
                                       response_format=strict(schema))
    assert f"Invalid schema for response_format 'ticket': {message}" in caught.value.message
    assert caught.value.param == "response_format"
    loose = {"type": "json_schema", "json_schema": {"name": "ticket", "schema": schema}}
    assert client.chat.completions.create(model="gpt-4o", response_format=loose,
                                          messages=[{"role": "user", "content": "x"}]).choices


LEAVES = st.sampled_from([{"type": "string"}, {"type": "integer", "minimum": 3},
                          {"type": "number", "maximum": -2}, {"type": "boolean"},
                          {"type": "null"}, {"type": "string", "enum": ["a", "b"]},
                          {"type": "string", "format": "date-time"},
                          {"type": ["string", "null"]}, {"const": 7}])
SCHEMAS = st.recursive(LEAVES, lambda inner: st.one_of(
    st.builds(lambda items, low: {"type": "array", "items": items, "minItems": low},
              inner, st.integers(0, 3)),
    st.dictionaries(st.sampled_from(["city", "name", "order_id", "tags", "x", "summary"]),
                    inner, min_size=1).flatmap(lambda props: st.builds(
                        lambda required: {"type": "object", "properties": props,
                                          "required": sorted(required)},
                        st.sets(st.sampled_from(sorted(props)))))), max_leaves=8)


@settings(max_examples=150, deadline=None)
@given(SCHEMAS, st.text(max_size=80), st.integers(0, 2**32))
def test_filled_values_always_satisfy_their_schema(schema, prompt, seed) -> None:
    jsonschema.validate(Filler(prompt, random.Random(seed), schema).value(schema), schema)


def fill(prompt: str, properties: dict, required: list[str] | None = None) -> dict:
    schema = {"type": "object", "properties": properties,
              "required": list(properties) if required is None else required}
    return Filler(prompt, random.Random(0), schema).value(schema)


@pytest.mark.parametrize(("prompt", "properties", "expected"), [
    ("Flights from Madrid to Rome", {"destination": {"type": "string"}}, {"destination": "Madrid"}),
    ("Refund ticket TCK-88 for Jo Park", {"ticket_id": {"type": "string"},
                                           "customer": {"type": "string"}},
     {"ticket_id": "TCK-88", "customer": "Jo Park"}),
    ("Book 3 nights, 2 guests", {"guests": {"type": "integer"}, "nights": {"type": "integer"}},
     {"guests": 2, "nights": 3}),
    ("status: pending, due 2026-03-01", {"status": {"type": "string"},
                                          "due": {"type": "string", "format": "date"}},
     {"status": "pending", "due": "2026-03-01"}),
    ("Not urgent at all", {"urgent": {"type": "boolean"}}, {"urgent": False}),
    ("This one is urgent", {"urgent": {"type": "boolean"}}, {"urgent": True}),
    ("Anything", {"score": {"type": "number", "minimum": 5, "maximum": 9}}, {"score": 5.0}),
])
def test_values_come_from_the_prompt(prompt, properties, expected) -> None:
    assert fill(prompt, properties) == expected


def test_optional_properties_appear_only_when_the_prompt_names_them() -> None:
    properties = {"city": {"type": "string"}, "unit": {"type": "string",
                                                       "enum": ["celsius", "fahrenheit"]},
                  "days": {"type": "integer"}}
    assert fill("Weather in Rome", properties, ["city"]) == {"city": "Rome"}
    assert fill("Weather in Rome in celsius for 5 days", properties, ["city"]) == {
        "city": "Rome", "unit": "celsius", "days": 5}
