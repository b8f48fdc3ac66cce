"""Pure logic: interpolation, settings layers, token counting offline, the stream state."""
from __future__ import annotations

import socket
from pathlib import Path

import pytest

from opus_magic.config import load_settings
from opus_magic.cost import tokens
from opus_magic.errors import ConfigError
from opus_magic.notebook.interpolate import interpolate
from opus_magic.records import Usage
from opus_magic.secret import Secret, mask
from opus_magic.wire.stream import Finished, StreamState, TextDelta, UsageReported


class Obj:
    name = "attr-value"
    _private = "hidden"


NS = {"x": 42, "items": ["first", "second"], "obj": Obj(), "d": {"k": "v"}}


@pytest.mark.parametrize("text, expected, unresolved", [
    ("value {x}", "value 42", []),
    ("{items[0]} and {items[-1]}", "first and second", []),
    ("{obj.name}", "attr-value", []),
    ("{d['k']}", "v", []),
    ("_data = {}", "_data = {}", []),
    ("f'{undefined_name}'", "f'{undefined_name}'", ["{undefined_name}"]),
    ('json = {"a": 1}', 'json = {"a": 1}', []),
    ("{{x}} stays literal", "{x} stays literal", []),
    ("{obj._private}", "{obj._private}", ["{obj._private}"]),
    ("{items[7]}", "{items[7]}", ["{items[7]}"]),
    ("{x.y.z}", "{x.y.z}", ["{x.y.z}"]),
])
def test_interpolation(text: str, expected: str, unresolved: list[str]) -> None:
    assert interpolate(text, NS) == (expected, unresolved)


def test_settings_layers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "c.toml"
    config.write_text('model = "sonnet"\nmax_tokens = 300\nbase_url = "http://toml"\n'
                      '[profiles.router]\nbase_url = "http://router"\napi_key_env = "ROUTER_KEY"\n')
    monkeypatch.setenv("OPUS_MAGIC_CONFIG", str(config))
    assert load_settings(environ={}).model == "sonnet"
    assert load_settings(environ={}).max_tokens == 300
    env = {"OPUS_MAGIC_MODEL": "haiku", "OPENAI_BASE_URL": "http://env"}
    settings = load_settings(environ=env)
    assert (settings.model, settings.base_url, settings.max_tokens) == ("haiku", "http://env", 300)
    settings = load_settings({"model": "opus"}, environ=env)
    assert settings.model == "opus"
    assert settings.profiles["router"].api_key_env == "ROUTER_KEY"
    # OPUS_MAGIC_* wins over OPENAI_*
    both = {"OPUS_MAGIC_BASE_URL": "http://mine", "OPENAI_BASE_URL": "http://theirs"}
    assert load_settings(environ=both).base_url == "http://mine"


def test_bad_settings_say_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="whole number above 0"):
        load_settings({"max_tokens": "-3"})
    with pytest.raises(ConfigError, match="Unknown setting 'colour'"):
        load_settings({"colour": "red"})
    broken = tmp_path / "broken.toml"
    broken.write_text("model = ")
    monkeypatch.setenv("OPUS_MAGIC_CONFIG", str(broken))
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings()


def test_secret_never_shows_itself() -> None:
    key = Secret("sk-ant-api03-verysecretvalue-9876")
    assert "verysecret" not in f"{key}" + str(key) + repr(key) + mask(key)
    assert key.reveal() == "sk-ant-api03-verysecretvalue-9876"
    assert mask(None) == "(not set)"


def test_token_counts_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args: object, **kwargs: object) -> None:
        raise OSError("network is off in this test")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(tokens, "_loaded", {})
    assert tokens.count_text("Hello, world!", "claude-opus-4-6") == 4   # cl100k_base
    assert tokens.count_text("Hello, world!", "gpt-4o") == 4            # o200k_base
    assert tokens.encoding_for("gpt-4o").name == "o200k_base"
    assert tokens.count_text("tokenization", "gpt-4o") == 2
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    # 3 priming + 2 × 3 wrapping + "system"(1) + "Be brief."(3) + "user"(1) + "Hi"(1)
    assert tokens.count_messages(messages, "gpt-4o") == 15


def test_incremental_counter_matches_whole_text_for_word_chunks() -> None:
    counter = tokens.TokenCounter("gpt-4o")
    words = ["The", " quick", " brown", " fox", " jumps"]
    tokens.encoding_for("gpt-4o")
    for word in words:
        counter.add(word)
    assert counter.tokens == tokens.count_text("".join(words), "gpt-4o") == 5


def test_counter_guesses_until_the_encoding_is_loaded_then_counts_it_all(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tokens, "_loaded", {})
    counter = tokens.TokenCounter("gpt-4o")
    counter.add("The quick brown fox")  # 19 characters: a guess of 5 tokens, nothing loaded
    assert (counter.tokens, tokens.loaded("gpt-4o")) == (5, False)
    assert counter.exact() == 4 and tokens.loaded("gpt-4o")
    counter.add(" jumps")
    assert counter.tokens == counter.exact() == 5


def test_stream_state_usage_chunk_with_empty_choices() -> None:
    state = StreamState()
    assert state.handle_chunk({"model": "m1", "choices": [{"delta": {"role": "assistant"}}]}) == []
    assert state.handle_chunk({"choices": [{"delta": {"content": "Hi"}}]}) == [TextDelta("Hi")]
    assert state.handle_chunk({"choices": [{"delta": {}, "finish_reason": "stop"}]}) == [Finished("stop")]
    events = state.handle_chunk({"choices": [], "usage": {
        "prompt_tokens": 1500, "completion_tokens": 40,
        "prompt_tokens_details": {"cached_tokens": 1200}}})
    assert events == [UsageReported(Usage(1500, 40, cache_read_tokens=1200), None)]
    assert (state.text, state.finish_reason, state.response_model) == ("Hi", "stop", "m1")


def test_stream_state_mid_stream_error_chunk() -> None:
    state = StreamState()
    state.handle_chunk({"choices": [{"delta": {"content": "par"}}]})
    state.handle_chunk({"error": {"code": 502, "message": "Upstream provider error"},
                        "choices": [{"delta": {}, "finish_reason": "error"}]})
    assert state.error == "Upstream provider error"
    assert state.finish_reason is None
    assert state.text == "par"


def test_tool_calls_are_merged_and_explained() -> None:
    from opus_magic.core.run.outcome import outcome_lines
    from opus_magic.records import RunRecord

    state = StreamState()
    state.handle_chunk({"choices": [{"delta": {"tool_calls": [
        {"index": 0, "id": "call_1", "function": {"name": "get_weather", "arguments": '{"ci'}}]}}]})
    state.handle_chunk({"choices": [{"delta": {"tool_calls": [
        {"index": 0, "function": {"arguments": 'ty": "Oslo"}'}}]}, "finish_reason": "tool_calls"}]})
    assert state.tool_calls == [{"id": "call_1", "type": "function",
                                 "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}}]
    record = RunRecord(id="r", created_at="t", model="m", prompt="p", finish_reason="tool_calls",
                       tool_calls=state.tool_calls)
    assert 'asks to call get_weather({"city": "Oslo"})' in outcome_lines(record, None)[0]
