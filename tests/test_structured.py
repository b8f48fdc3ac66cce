"""Answers with a shape (`--schema`) and server tools (`--web-search`), through the magic against
the simulator over real HTTP on both APIs: the provider's own parameter on the wire, schemas
fixed or refused before sending, answers checked (never raised), `-o` the parsed value."""
from __future__ import annotations

from decimal import Decimal

import pytest

import opus_magic

TICKET = '''
import pydantic
from typing import Literal

class Ticket(pydantic.BaseModel):
    category: Literal["billing", "bug", "other"]
    urgency: int
'''
CLASSIFY = 'Classify this billing ticket: "I was charged twice this month." Urgency 2.'


@pytest.fixture
def shell(ip):
    ip.run_line_magic("opus", "config max_retries=0")
    ip.run_cell(TICKET)
    return ip


def sent(simulator) -> dict:
    return [r for r in simulator.requests() if r.api != "count_tokens"][-1].body


def test_a_pydantic_schema_goes_as_output_config_and_o_gets_the_instance(shell, simulator,
                                                                         capsys) -> None:
    shell.run_line_magic("opus", "config api=anthropic")
    shell.run_cell_magic("opus", "-m opus-4.6 --schema Ticket -o ticket", CLASSIFY)
    schema = sent(simulator)["output_config"]["format"]
    assert schema["type"] == "json_schema"
    assert schema["schema"]["additionalProperties"] is False  # fixed: Claude requires it
    assert schema["schema"]["properties"]["category"]["enum"] == ["billing", "bug", "other"]
    ticket = shell.user_ns["ticket"]
    assert type(ticket).__name__ == "Ticket" and ticket.urgency == 2
    run = opus_magic.last_run()
    assert run.schema == "Ticket" and run.parsed == {"category": "billing", "urgency": 2}
    out = capsys.readouterr().out
    assert "additionalProperties false added to 1 object" in out
    assert "The answer matches schema Ticket" in out


def test_the_concise_syntax_goes_as_strict_response_format_and_o_gets_a_dict(shell,
                                                                             simulator) -> None:
    shell.run_cell_magic("opus", "-m 4o-mini --schema 'name, age int, bio: a short bio' -o p",
                         "Ada Lovelace, 36, wrote the first published program.")
    fmt = sent(simulator)["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True
    assert fmt["json_schema"]["schema"] == {
        "type": "object", "additionalProperties": False, "required": ["name", "age", "bio"],
        "properties": {"name": {"type": "string"}, "age": {"type": "integer"},
                       "bio": {"type": "string", "description": "a short bio"}}}
    person = shell.user_ns["p"]
    assert isinstance(person, dict) and person["age"] == 36


def test_a_dict_schema_with_an_optional_field_is_made_strict_and_its_null_counts_as_absent(
        shell, simulator) -> None:
    shell.user_ns["contact"] = {"type": "object", "title": "Contact", "properties": {
        "email": {"type": "string", "format": "email"}, "phone": {"type": "string"}},
        "required": ["email"]}
    shell.run_cell_magic("opus", "-m 4o-mini --schema contact -o c", "Write to ada@example.com.")
    spec = sent(simulator)["response_format"]["json_schema"]
    assert spec["name"] == "Contact"
    assert spec["schema"]["required"] == ["email", "phone"]
    assert spec["schema"]["properties"]["phone"]["type"] == ["string", "null"]
    assert shell.user_ns["c"]["email"] == "ada@example.com"
    assert opus_magic.last_run().schema_error is None


@pytest.mark.parametrize("api", ["anthropic", "openai"])
def test_an_answer_that_does_not_match_is_kept_as_text_with_the_reason(shell, simulator, capsys,
                                                                       api) -> None:
    shell.run_line_magic("opus", f"config api={api}")
    simulator.scenario("bad_output", kind="wrong_type", times=1)
    shell.run_cell_magic("opus", "-m haiku-4.5 --schema Ticket -o ticket", CLASSIFY)
    run = opus_magic.last_run()
    assert run.status == "ok" and run.parsed is None
    assert run.schema_error.startswith("The answer does not match schema Ticket: ")
    assert shell.user_ns["ticket"] == run.text  # the text, never an exception
    assert "The answer is kept as text" in capsys.readouterr().out


def test_an_answer_cut_at_max_tokens_says_so(shell, simulator) -> None:
    shell.run_line_magic("opus", "config api=anthropic")
    simulator.scenario("bad_output", kind="truncated", times=1)
    shell.run_cell_magic("opus", "-m haiku-4.5 --schema Ticket -o ticket", CLASSIFY)
    run = opus_magic.last_run()
    assert run.finish_reason == "max_tokens"
    assert run.schema_error.startswith("The answer is not JSON (the answer was cut at max_tokens)")


@pytest.mark.parametrize(("api", "schema", "message"), [
    ("anthropic", {"type": "object", "properties": {"child": {"$ref": "#"}}},
     "is recursive (a $ref leads back into itself)"),
    ("openai", {"type": "array", "items": {"type": "string"}},
     "is not an object: OpenAI's strict structured outputs need an object at the root"),
    ("anthropic", {"type": "object", "properties": {"tags": {
        "type": "object", "additionalProperties": {"type": "string"}}}},
     "properties.tags is a free-form mapping"),
])
def test_a_schema_the_provider_cannot_take_is_refused_in_one_line(shell, simulator, capsys, api,
                                                                   schema, message) -> None:
    shell.run_line_magic("opus", f"config api={api}")
    shell.user_ns["shape"] = schema
    shell.run_cell_magic("opus", "-m haiku-4.5 --schema shape", "Anything.")
    err = capsys.readouterr().err
    assert message in err and "Nothing was sent." in err and len(err.strip().splitlines()) == 1
    assert [r for r in simulator.requests() if r.api != "count_tokens"] == []


def test_constraints_claude_takes_none_of_are_not_sent_but_still_checked(shell, simulator) -> None:
    shell.run_line_magic("opus", "config api=anthropic")
    shell.user_ns["bounded"] = {"type": "object", "properties": {
        "urgency": {"type": "integer", "minimum": 1, "maximum": 3}}, "required": ["urgency"]}
    shell.run_cell_magic("opus", "-m haiku-4.5 --schema bounded", "Urgency 7, please.")
    assert "maximum" not in str(sent(simulator)["output_config"])
    assert "7 is greater than the maximum of 3" in opus_magic.last_run().schema_error


def test_a_bad_concise_schema_gets_one_line(shell, simulator, capsys) -> None:
    shell.run_cell_magic("opus", "--schema 'name, age integer'", "x")
    err = capsys.readouterr().err
    assert "cannot read the field 'age integer'" in err and len(err.strip().splitlines()) == 1
    assert simulator.requests() == []


def test_web_search_is_priced_with_its_fee(shell, simulator, capsys) -> None:
    shell.run_line_magic("opus", "config api=anthropic")
    simulator.scenario("web_search", searches=2, times=1)
    shell.run_cell_magic("opus", "-m opus-4.6 --web-search 2 --max-tokens 300",
                         "Search the web: what changed in SQLite 3.50?")
    run = opus_magic.last_run()
    declared = sent(simulator)["tools"]
    assert declared == [{"type": "web_search_20260318", "name": "web_search", "max_uses": 2}]
    assert run.usage.web_search_requests == 2
    tokens = (run.usage.input_tokens * Decimal(5) + run.usage.output_tokens * Decimal(25)) / 10**6
    assert run.cost == tokens + 2 * Decimal("0.01")  # $10 per 1,000 searches
    shown = capsys.readouterr().out
    assert "⌕ web_search(query=" in shown and "nameless" not in shown
    assert run.tool_calls == []  # the server's own calls are not the notebook's to run


def test_a_paused_turn_is_sent_back_and_goes_on(shell, simulator) -> None:
    shell.run_line_magic("opus", "config api=anthropic")
    simulator.scenario("pause_turn", searches=1, times=1)
    shell.run_cell_magic("opus", "-m opus-4.6 --web-search 3 --max-tokens 300",
                         "Search the web: what changed in SQLite 3.50?")
    chain_id = opus_magic.last_run().chain_id
    steps = sorted((r for r in opus_magic.history(limit=5) if r.chain_id == chain_id),
                   key=lambda r: r.step)
    assert [r.finish_reason for r in steps] == ["pause_turn", "end_turn"]
    resent = sent(simulator)["messages"]
    assert resent[-1]["role"] == "assistant"
    assert [b["type"] for b in resent[-1]["content"]] == ["server_tool_use",
                                                          "web_search_tool_result"]
    assert steps[0].cost > Decimal("0.01")  # the search's fee, on the step that searched
