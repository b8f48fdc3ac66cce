"""Pure logic of the native transport: event accumulation, routing, capabilities, cache plans."""
from __future__ import annotations

import threading

import pytest

from opus_magic.config import Settings, load_settings
from opus_magic.core.run.caching import cache_line, plan_cache
from opus_magic.core.run.engine import Engine, Observer
from opus_magic.core.run.plan import plan_run
from opus_magic.core.run.request import RunRequest
from opus_magic.core.run.target import RunPolicy, StoreKey, Target
from opus_magic.cost.capabilities import request_refusal
from opus_magic.cost.catalog import default_catalog
from opus_magic.errors import ConfigError
from opus_magic.secret import as_secret
from opus_magic.wire.anthropic.messages import api_root, request_body
from opus_magic.wire.anthropic.stream import InputKnown, MessagesState, ThinkingDelta
from opus_magic.wire.body.request import WireRequest
from opus_magic.wire.endpoints import Endpoint, route
from opus_magic.wire.stream import Finished, StreamFailed, TextDelta, UsageReported

START = {"type": "message_start", "message": {"model": "claude-opus-4-6", "usage": {
    "input_tokens": 20, "cache_read_input_tokens": 5000, "cache_creation_input_tokens": 300,
    "cache_creation": {"ephemeral_5m_input_tokens": 100, "ephemeral_1h_input_tokens": 200},
    "output_tokens": 1}}}


def delta(index: int, **fields: str) -> dict:
    return {"type": "content_block_delta", "index": index, "delta": fields}


def test_usage_is_exact_on_input_at_once_and_cumulative_on_output() -> None:
    state = MessagesState()
    [known] = state.handle_chunk(START)
    assert isinstance(known, InputKnown) and state.usage is None
    assert state.input_usage.input_tokens == 5320           # ours includes reads and writes
    assert (state.input_usage.cache_write_5m_tokens, state.input_usage.cache_write_1h_tokens) == (
        100, 200)
    assert state.handle_chunk({"type": "ping"}) == []
    state.handle_chunk({"type": "message_delta", "delta": {}, "usage": {"output_tokens": 40}})
    events = state.handle_chunk({"type": "message_delta", "delta": {"stop_reason": "end_turn"},
                                 "usage": {"output_tokens": 90, "output_tokens_details": {
                                     "thinking_tokens": 60}}})
    assert [type(e) for e in events] == [Finished, UsageReported]
    usage = state.usage
    assert usage.output_tokens == 90 and usage.thinking_tokens == 60   # replaced, not 130
    assert usage.cache_read_tokens == 5000 and usage.input_tokens == 5320  # kept from the start
    assert state.finish_reason == "end_turn"


def test_blocks_thinking_signature_text_and_tool_arguments() -> None:
    state = MessagesState()
    state.handle_chunk(START)
    state.handle_chunk({"type": "content_block_start", "index": 0,
                        "content_block": {"type": "thinking", "thinking": "", "signature": ""}})
    assert state.handle_chunk(delta(0, type="thinking_delta", thinking="Hmm")) == [
        ThinkingDelta("Hmm")]
    state.handle_chunk(delta(0, type="signature_delta", signature="c2ln"))
    state.handle_chunk({"type": "content_block_stop", "index": 0})
    assert state.handle_chunk(delta(1, type="text_delta", text="Hi")) == [TextDelta("Hi")]
    for index, name, parts in ((2, "lookup", ["", '{"q": ', '"x"}']), (3, "now", [""])):
        state.handle_chunk({"type": "content_block_start", "index": index, "content_block": {
            "type": "tool_use", "id": f"toolu_{index}", "name": name, "input": {}}})
        for part in parts:
            state.handle_chunk(delta(index, type="input_json_delta", partial_json=part))
        state.handle_chunk({"type": "content_block_stop", "index": index})
    assert (state.thinking_text, state.signature, state.text) == ("Hmm", "c2ln", "Hi")
    assert [c["function"]["arguments"] for c in state.tool_calls] == ['{"q": "x"}', "{}"]


def test_error_events_and_whole_messages() -> None:
    state = MessagesState()
    [failed] = state.handle_chunk({"type": "error", "error": {"type": "overloaded_error",
                                                             "message": "Overloaded"}})
    assert isinstance(failed, StreamFailed) and "overloaded_error" in state.error
    whole = MessagesState()
    whole.handle_chunk({"type": "message", "model": "m", "stop_reason": "refusal", "content": [
        {"type": "thinking", "thinking": "t", "signature": "s"}, {"type": "text", "text": "x"},
        {"type": "tool_use", "id": "a", "name": "f", "input": {"k": 1}}],
        "usage": {"input_tokens": 3, "output_tokens": 9}})
    assert (whole.text, whole.thinking_text, whole.finish_reason) == ("x", "t", "refusal")
    assert whole.usage.output_tokens == 9 and whole.tool_calls[0]["function"]["arguments"] == '{"k": 1}'


@pytest.mark.parametrize(("settings", "api", "base_url"), [
    (Settings(api_key=as_secret("sk-ant-api03-abcdefgh")), "anthropic", "https://api.anthropic.com/v1/"),
    (Settings(base_url="https://api.anthropic.com", api_key=as_secret("x-abcdefgh")), "anthropic",
     "https://api.anthropic.com"),
    (Settings(base_url="https://openrouter.ai/api/v1", api_key=as_secret("sk-ant-abcdefgh")), "openai",
     "https://openrouter.ai/api/v1"),
    (Settings(api_key=as_secret("sk-ant-abcdefgh"), api="openai"), "openai",
     "https://api.anthropic.com/v1/"),
    (Settings(api_key=as_secret("sk-proj-abcdefgh")), "openai", "https://api.openai.com/v1"),
])
def test_auto_speaks_native_to_anthropic_keys_and_hosts_only(settings, api, base_url) -> None:
    endpoint = route(settings, "claude-opus-4-6", "opus", None).endpoint
    assert (endpoint.api, endpoint.base_url) == (api, base_url)


def test_profiles_choose_their_api_and_a_wrong_one_is_refused(tmp_path, monkeypatch) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[profiles.claude]\nbase_url = "https://gateway.example/v1"\n'
                      'api = "anthropic"\n[profiles.gw]\nbase_url = "https://gateway.example/v1"\n')
    monkeypatch.setenv("OPUS_MAGIC_CONFIG", str(config))
    settings = load_settings({"api_key": "sk-ant-abcdefgh"})
    assert route(settings.replace(profile="claude"), "claude-opus-4-6", "opus",
                 None).endpoint.api == "anthropic"
    assert route(settings.replace(profile="gw"), "claude-opus-4-6", "opus",
                 None).endpoint.api == "openai"
    config.write_text('[profiles.bad]\nbase_url = "https://x"\napi = "grpc"\n')
    with pytest.raises(ConfigError, match="expected auto, openai or anthropic"):
        load_settings()
    with pytest.raises(ConfigError, match="use auto, 5m, 1h or off"):
        Settings().replace(cache="10m")


@pytest.mark.parametrize("base_url", ["https://api.anthropic.com", "https://api.anthropic.com/",
                                      "https://api.anthropic.com/v1", "https://api.anthropic.com/v1/"])
def test_base_url_with_or_without_v1(base_url) -> None:
    assert api_root(base_url) == "https://api.anthropic.com"


@pytest.mark.parametrize(("model", "options", "expected"), [
    ("claude-opus-4-6", {"thinking": "adaptive", "effort": "max"}, None),
    ("claude-opus-4-5", {"thinking": 2048, "effort": "high"}, None),
    ("claude-opus-4-5", {"effort": "max"}, "takes effort low, medium, high, not 'max'"),
    ("claude-opus-4-5", {"thinking": "adaptive"}, "no adaptive thinking"),
    ("claude-3-5-haiku-20241022", {"thinking": 2048}, "has no extended thinking"),
    ("claude-opus-4-6", {"temperature": 0.5}, "anthropic-version 2026-10-21"),
    ("claude-opus-4-6", {"effort": "extreme"}, "not a level"),
])
def test_capabilities(model, options, expected) -> None:
    found = request_refusal(default_catalog().get(model), "anthropic", "2026-10-21", max_tokens=4096,
                    **{"thinking": None, "effort": None, "temperature": None, **options})
    assert found is None if expected is None else expected in found


@pytest.mark.parametrize(("mode", "sizes", "marks", "line"), [
    ("auto", (0, 5000, 0), ("system",), "pays off from the 2nd call within 5 minutes"),
    ("1h", (0, 5000, 0), ("system",), "pays off from the 3rd call within 1 hour"),
    ("auto", (5000, 100, 800), ("tools", "system", "turn"), "5,900 tokens"),
    ("auto", (0, 100, 5000), ("turn",), "earlier turns marked"),
    ("auto", (0, 100, 200), (), "under claude-opus-4-6's 4,096-token minimum"),
    ("off", (0, 5000, 0), (), "--cache off"),
])
def test_breakpoints_and_the_payoff_line(mode, sizes, marks, line) -> None:
    info = default_catalog().get("claude-opus-4-6")
    plan = plan_cache(mode, "claude-opus-4-6", info, *sizes)
    assert plan.breakpoints == marks
    assert line in cache_line(plan, info, sum(sizes) + 20)


def test_request_body_marks_only_the_chosen_breakpoints() -> None:
    messages = [{"role": "system", "content": "S"}, {"role": "user", "content": "A"},
                {"role": "assistant", "content": "B"}, {"role": "user", "content": "C"}]
    body = request_body(WireRequest(model="m", messages=messages, max_tokens=100,
                                    breakpoints=("turn",), ttl="1h"))
    assert body["system"] == "S" and body["stream"] is True
    assert body["messages"][1]["content"] == [{"type": "text", "text": "B", "cache_control": {
        "type": "ephemeral", "ttl": "1h"}}]
    assert body["messages"][2] == {"role": "user", "content": "C"}


class Watcher(Observer):
    """Records, at the first text delta, what the meter knew."""

    def __init__(self) -> None:
        self.at_first: tuple[bool, bool, int] | None = None

    def delta(self, live, text) -> None:
        if self.at_first is None:
            self.at_first = (live.input_exact, live.exact, live.usage.cache_write_tokens)


def test_input_cost_is_exact_from_the_first_event_and_output_estimated(simulator) -> None:
    endpoint = Endpoint(simulator.base_url, as_secret("sk-ant-test-abcdefgh"), "t", "anthropic")
    info = default_catalog().get("claude-opus-4-6")
    request = RunRequest("Hi.", "opus", 500, system="Be exact. " * 2000)
    target = Target(requested="opus", model_id="claude-opus-4-6", info=info, endpoint=endpoint,
                    wire_model="claude-opus-4-6")
    plan = plan_run(request, target, RunPolicy(store=StoreKey("", "", ""), timeout_s=30.0))
    watcher = Watcher()
    record = Engine(None).execute(plan, watcher, threading.Event())
    assert watcher.at_first == (True, False, record.usage.cache_write_tokens)
    assert record.usage.cache_write_tokens > 4096 and record.cost_exact


def test_the_cli_says_which_api_the_endpoint_speaks(monkeypatch, capsys) -> None:
    from opus_magic.cli.main import main

    monkeypatch.setenv("OPUS_MAGIC_API_KEY", "sk-ant-api03-abcdefghijkl")
    main(["endpoint"])
    out = capsys.readouterr().out
    assert "speaks Claude's Messages API (api=auto)" in out and "abcdefghijkl" not in out
    monkeypatch.setenv("OPUS_MAGIC_BASE_URL", "https://openrouter.ai/api/v1")
    main(["endpoint"])
    assert "speaks OpenAI chat completions" in capsys.readouterr().out
