"""Numbers a server sends are never trusted to be finite: usage counts, costs and block indexes
that are infinite, NaN, negative, huge or not numbers are ignored with a one-line note (the cost
stays an estimate), or make the event malformed (the answer is cut there, and a grid retries
it); the run is always recorded. Generated values for both APIs' usage shapes, then the same
values through the magic over real HTTP against a hostile server."""
from __future__ import annotations

import json
import math
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from echo_endpoint import PLANTED, Raw, chunk, echo_endpoint, messages
from hypothesis import given, settings
from hypothesis import strategies as st

import opus_magic
from opus_magic.core.batch.submit import batch_record
from opus_magic.cost.catalog import default_catalog
from opus_magic.errors import StreamInterrupted
from opus_magic.records import BatchRow
from opus_magic.view import format as fmt
from opus_magic.wire.anthropic.stream import MessagesState
from opus_magic.wire.batch.results import anthropic_result, openai_result
from opus_magic.wire.stream import StreamState
from opus_magic.wire.usage import MAX_TOKENS

# What a server may put where a count belongs, as JSON decodes it (1e309 and Infinity are inf).
WILD = st.one_of(st.integers(-10**40, 10**40), st.floats(allow_nan=True, allow_infinity=True),
                 st.sampled_from(["lots", "12", " 7 ", "-3", "1e309", "nan", "", "١٢"]),
                 st.none(), st.booleans(), st.lists(st.integers(0, 5), max_size=2),
                 st.dictionaries(st.sampled_from(["a", "b"]), st.integers(), max_size=1))
OPENAI = st.fixed_dictionaries({}, optional={
    "prompt_tokens": WILD, "completion_tokens": WILD, "cost": WILD,
    "prompt_tokens_details": st.one_of(WILD, st.fixed_dictionaries(
        {}, optional={"cached_tokens": WILD, "cache_write_tokens": WILD})),
    "completion_tokens_details": st.one_of(WILD, st.fixed_dictionaries(
        {}, optional={"reasoning_tokens": WILD}))})
MESSAGES = st.fixed_dictionaries({}, optional={
    "input_tokens": WILD, "output_tokens": WILD, "cache_read_input_tokens": WILD,
    "cache_creation_input_tokens": WILD, "cache_creation": st.one_of(WILD, st.fixed_dictionaries(
        {}, optional={"ephemeral_1h_input_tokens": WILD, "ephemeral_5m_input_tokens": WILD})),
    "output_tokens_details": st.one_of(WILD, st.fixed_dictionaries(
        {}, optional={"thinking_tokens": WILD}))})
PROPERTIES = settings(max_examples=300, deadline=None)


def sound(usage: Any) -> bool:
    """Every count a whole number from 0 to MAX_TOKENS."""
    return all(isinstance(v, int) and 0 <= v <= MAX_TOKENS for v in vars(usage).values())


@PROPERTIES
@given(usage=OPENAI)
def test_any_openai_usage_is_taken_whole_or_ignored_with_a_note(usage) -> None:
    state = StreamState()
    state.handle_chunk(chunk({"role": "assistant", "content": "Some words."}, "stop"))
    state.handle_chunk({**chunk({}), "choices": [], "usage": json.loads(json.dumps(usage))})
    if state.usage is not None:
        assert sound(state.usage) and not state.ignored
        cost = state.provider_cost
        assert cost is None or (cost.is_finite() and cost >= 0)
    else:
        assert state.implausible_usage or len(state.ignored) == 1 or not usage
    assert all("\n" not in note and note.startswith("Ignored what the endpoint sent: its usage")
               for note in state.ignored)


@PROPERTIES
@given(start=MESSAGES, end=MESSAGES)
def test_any_messages_usage_is_taken_whole_or_ignored_with_a_note(start, end) -> None:
    state = MessagesState()
    for event in messages("Some words.", start, end):
        state.handle_chunk(json.loads(json.dumps(event)))
    for usage in (state.input_usage, state.usage):
        assert usage is None or sound(usage)
    if state.usage is None and end:
        assert any("its usage" in note for note in state.ignored)
    assert state.text == "Some words." and state.finish_reason == "end_turn"


@PROPERTIES
@given(index=WILD, api=st.sampled_from(["openai", "messages"]))
def test_a_block_index_is_used_or_the_event_is_malformed_never_anything_else(index, api) -> None:
    if api == "openai":
        state: StreamState = StreamState()
        event = chunk({"tool_calls": [{"index": index, "id": "c1", "function": {
            "name": "f", "arguments": "{}"}}]})
    else:
        state = MessagesState()
        event = {"type": "content_block_delta", "index": index,
                 "delta": {"type": "text_delta", "text": "x"}}
    try:
        state.handle_chunk(json.loads(json.dumps(event)))
    except StreamInterrupted as exc:
        assert "malformed event" in str(exc) and "index" in str(exc)
    else:
        assert len(state.tool_calls) <= 65


def test_batch_results_with_counts_that_cannot_be_right_are_recorded_at_an_unknown_cost() -> None:
    claude = anthropic_result({"custom_id": "a", "result": {"type": "succeeded", "message": {
        "model": "claude-haiku-4-5", "stop_reason": "end_turn",
        "content": [{"type": "text", "text": "Hi"}],
        "usage": {"input_tokens": math.inf, "output_tokens": 3}}}})
    gpt = openai_result({"custom_id": "b", "response": {"status_code": 200, "body": {
        "model": "gpt-4o", "choices": [{"message": {"content": "Hello"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 5, "completion_tokens": "lots"}}}})
    row = BatchRow("b-1", "msgbatch_1", "anthropic", "http://x/v1", "default", None, "t", "ended")
    cell = {"model": "haiku", "prompt": "p", "messages": [], "body": {"max_tokens": 5},
            "max_tokens": 5, "tag": None, "concise": "off", "comparison_id": None,
            "parent_id": None, "notes": [], "input_tokens_estimate": 3, "labels": {}}
    for result, said in ((claude, "input_tokens inf"), (gpt, "completion_tokens 'lots'")):
        assert result.outcome == "succeeded" and result.usage is None
        record = batch_record(row, cell, result, default_catalog().get("claude-haiku-4-5"))
        assert record.status == "ok" and record.text in ("Hi", "Hello")
        assert record.cost is None and record.cost_source == "unknown"
        assert said in record.ignored[0] and "cost is unknown" in record.ignored[0]
    broken = anthropic_result({"custom_id": "c", "result": {"type": "succeeded",
                                                            "message": "not a message"}})
    assert broken.usage is None and "no content" in broken.ignored[0]


# --- through the magic, over real HTTP ---------------------------------------------------------

BAD_COUNTS = [math.inf, -math.inf, math.nan, -5, 10**30, "lots", 12.5, True, {"n": 1}]


@pytest.fixture
def hostile(ip) -> Iterator[str]:
    with echo_endpoint() as root:
        yield root
    PLANTED.clear()


def openai_answer(usage: Any) -> tuple[int, dict[str, str], list[Any]]:
    return 200, {}, [chunk({"role": "assistant", "content": "Four words of answer."}),
                     chunk({}, "stop"), {**chunk({}), "choices": [], "usage": usage}]


def ran(ip, capsys, line: str = "-m gpt-4o") -> tuple[str, Any]:
    ip.run_cell_magic("opus", line, "Say four words.")
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err and err == ""
    return out, opus_magic.last_run()


def ignored_line(out: str) -> str:
    lines = [line for line in out.splitlines() if line.startswith("! Ignored what the endpoint")]
    assert len(lines) == 1, out
    return lines[0]


@pytest.mark.parametrize("value", BAD_COUNTS)
@pytest.mark.parametrize("flags", ["", "--no-stream"])
def test_openai_usage_that_cannot_be_right_is_ignored_and_the_run_recorded(hostile, ip, capsys,
                                                                          value, flags) -> None:
    PLANTED["bad"] = openai_answer({"prompt_tokens": 9, "completion_tokens": value})
    ip.run_line_magic("opus", f"config base_url={hostile}/bad/v1")
    out, record = ran(ip, capsys, f"-m gpt-4o {flags}")
    assert record.status == "ok" and record.text == "Four words of answer."
    assert "completion_tokens" in ignored_line(out) and "estimated" in ignored_line(out)
    assert not record.cost_exact and record.cost > 0 and record.usage.output_tokens > 0
    assert opus_magic.history(limit=1)[0].ignored == record.ignored


def test_a_json_number_too_big_for_a_float_and_a_cost_of_nan(hostile, ip, capsys) -> None:
    PLANTED["big"] = (200, {}, [chunk({"role": "assistant", "content": "Big."}, "stop"), Raw(
        '{"id": "x", "choices": [], "usage": {"prompt_tokens": 1e309, "completion_tokens": 2}}')])
    PLANTED["nan_cost"] = openai_answer({"prompt_tokens": 9, "completion_tokens": 4, "cost": "NaN"})
    for case, said in (("big", "prompt_tokens inf"), ("nan_cost", "cost 'NaN'")):
        ip.run_line_magic("opus", f"config base_url={hostile}/{case}/v1")
        out, record = ran(ip, capsys)
        assert said in ignored_line(out) and record.status == "ok" and not record.cost_exact
        assert record.cost is not None and record.cost.is_finite()


@pytest.mark.parametrize("value", [math.inf, "lots", -1, 10**12])
def test_messages_usage_that_cannot_be_right_is_ignored_and_the_run_recorded(hostile, ip, capsys,
                                                                            value) -> None:
    PLANTED["native"] = (200, {}, messages("Four words of answer.", {"input_tokens": 9},
                                           {"output_tokens": value}))
    ip.run_line_magic("opus", f"config base_url={hostile}/native/v1 api=anthropic")
    out, record = ran(ip, capsys, "-m haiku")
    assert record.status == "ok" and record.text == "Four words of answer."
    assert "output_tokens" in ignored_line(out) and not record.cost_exact
    assert record.usage.input_tokens == 9  # the input side the server did report stays exact
    assert opus_magic.history(limit=1)[0].id == record.id


@pytest.mark.parametrize("index", ["abc", -1, math.inf, 10**20])
def test_a_block_index_that_cannot_be_right_cuts_the_answer_and_keeps_the_run(hostile, ip, capsys,
                                                                             index) -> None:
    PLANTED["index"] = (200, {}, messages("Kept.", {"input_tokens": 9}, {"output_tokens": 2},
                                          index=index))
    PLANTED["calls"] = (200, {}, [chunk({"role": "assistant", "content": "Calling."}), chunk(
        {"tool_calls": [{"index": index, "id": "c", "function": {"name": "f"}}]})])
    for case, line in (("index", "-m haiku"), ("calls", "-m gpt-4o")):
        api = "anthropic" if case == "index" else "openai"
        ip.run_line_magic("opus", f"config base_url={hostile}/{case}/v1 api={api} max_retries=0")
        out, record = ran(ip, capsys, line)
        assert record.status == "interrupted" and "malformed event" in record.error
        assert "index" in record.error and opus_magic.history(limit=1)[0].id == record.id


def test_a_grid_retries_a_malformed_answer_and_counts_every_attempt(hostile, ip, capsys) -> None:
    bad = (200, {}, [chunk({"role": "assistant", "content": "Half"}),
                     chunk({"tool_calls": [{"index": "abc"}]})])
    PLANTED["grid"] = [bad, openai_answer({"prompt_tokens": 9, "completion_tokens": 4})]
    ip.run_line_magic("opus", f"config base_url={hostile}/grid/v1")
    ip.user_ns["items"] = ["one"]
    ip.run_cell_magic("opus", "--each items -m gpt-4o -o out", "Say {item}.")
    frame = ip.user_ns["out"]
    assert list(frame["status"]) == ["ok"]
    runs = opus_magic.history(limit=None)
    assert sorted(r.status for r in runs) == ["interrupted", "ok"]
    assert all(r.grid_id == runs[0].grid_id and r.row == 0 for r in runs)
    total = sum((r.cost for r in runs), Decimal(0))
    retried = next(r.cost for r in runs if r.status == "interrupted")
    assert f"ran 1 ({fmt.money(total)} spent, of which {fmt.money(retried)} on 1 attempt " \
           f"retried)" in capsys.readouterr().out
