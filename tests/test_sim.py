"""The simulator over real HTTP on 127.0.0.1: wire format, usage, caching, pacing and faults."""
from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from typing import Any
from urllib.parse import urlsplit

import openai
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opus_magic import sim
from opus_magic.cost.tokens import count_messages, count_text, get_encoding
from opus_magic.sim.content.text import (
    BLANK_LINE,
    BULLET,
    CODE_BLOCKS,
    HEADING_MARK,
    HEADINGS,
    NEWLINE,
    PARAGRAPH_END,
    SENTENCE_END,
    STARTERS,
    WORDS,
    answer_chunks,
)

ENCODINGS = ("cl100k_base", "o200k_base")
HELLO = [{"role": "user", "content": "Hello there, how are you?"}]
LONG = [{"role": "system", "content": "You are a careful assistant. " * 300},
        {"role": "user", "content": "Summarise the rules."}]


# conftest's `simulator` resets the shared simulator (log, cache, scenario, speed) for each test.
pytestmark = pytest.mark.usefixtures("simulator")


@pytest.fixture(scope="module")
def client(sim_server: sim.Simulator) -> openai.OpenAI:
    return openai.OpenAI(base_url=sim_server.base_url, api_key="sk-test", max_retries=0)


def post(simulator: sim.Simulator, body: Any, raw: bytes | None = None,
         path: str = "/v1/chat/completions") -> http.client.HTTPResponse:
    url = urlsplit(simulator.base_url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    conn.request("POST", path, raw if raw is not None else json.dumps(body),
                 {"Content-Type": "application/json"})
    return conn.getresponse()


def events(response: http.client.HTTPResponse) -> list[Any]:
    """The SSE data payloads: parsed chunks, and the string "[DONE]"."""
    out: list[Any] = []
    for line in response:
        if line.startswith(b"data: "):
            data = line[6:].strip()
            out.append("[DONE]" if data == b"[DONE]" else json.loads(data))
    return out


def contents(chunks: list[Any]) -> list[str]:
    return [c["choices"][0]["delta"]["content"] for c in chunks
            if isinstance(c, dict) and c["choices"] and c["choices"][0]["delta"].get("content")]


def stream(simulator: sim.Simulator, messages: list[dict[str, Any]] = HELLO,
           model: str = "gpt-4o", **extra: Any) -> list[Any]:
    return events(post(simulator, {"model": model, "messages": messages, "stream": True, **extra}))


# --- the answer text --------------------------------------------------------------------------

@pytest.mark.parametrize("encoding", ENCODINGS)
def test_every_piece_is_one_token(encoding: str) -> None:
    enc = get_encoding(encoding)
    pieces = ([" " + w for w in WORDS] + list(STARTERS) + [" " + s for s in STARTERS]
              + [" " + h for h in HEADINGS]
              + [HEADING_MARK, PARAGRAPH_END, SENTENCE_END, BULLET, NEWLINE, BLANK_LINE])
    assert [p for p in pieces if len(enc.encode(p)) != 1] == []
    for block in CODE_BLOCKS:
        assert [enc.decode([t]) for t in enc.encode("".join(block))] == list(block)


@settings(max_examples=80, deadline=None)
@given(seed=st.text(max_size=20), length=st.none() | st.integers(1, 400),
       cut=st.floats(0.01, 1.0), system=st.sampled_from(["", "Be concise.", "Reply with code only."]))
def test_text_tokenizes_into_exactly_its_pieces(seed: str, length: int | None, cut: float,
                                                system: str) -> None:
    messages = [{"role": "system", "content": system}, {"role": "user", "content": seed}]
    chunks = answer_chunks(messages, length)
    for k in (len(chunks), max(1, int(len(chunks) * cut))):
        for model in ("gpt-4o", "claude-sonnet-4-5"):
            assert count_text("".join(chunks[:k]), model) == k


def test_lengths_follow_the_prompt_and_the_system_message() -> None:
    natural = [len(answer_chunks([{"role": "user", "content": f"q{i}"}])) for i in range(40)]
    assert 60 <= min(natural) and max(natural) <= 240
    assert len(answer_chunks(HELLO, 200)) == 200
    concise = [{"role": "system", "content": "Be CONCISE."}, *HELLO]
    assert len(answer_chunks(concise, 200)) == 50
    code = "".join(answer_chunks([{"role": "system", "content": "Answer with code only."}, *HELLO]))
    assert code.startswith("```python\n") and code.endswith("\n```")
    markdown = ["".join(answer_chunks([{"role": "user", "content": f"m{i}"}])) for i in range(20)]
    assert any(t.startswith("## ") for t in markdown) and any("\n- " in t for t in markdown)


# --- the wire ---------------------------------------------------------------------------------

def test_stream_matches_non_stream_and_usage_chunk_comes_last(simulator: sim.Simulator) -> None:
    response = post(simulator, {"model": "gpt-4o", "messages": HELLO, "stream": True,
                                "stream_options": {"include_usage": True}})
    assert response.status == 200 and response.getheader("x-opus-magic-simulator") == "1"
    assert response.getheader("Content-Length") is None
    chunks = events(response)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert all(c["object"] == "chat.completion.chunk" and c["model"] == "gpt-4o"
               and c["system_fingerprint"] == "opus-magic-sim" for c in chunks[:-1])
    assert chunks[-1] == "[DONE]" and chunks[-2]["choices"] == []
    assert [c for c in chunks[:-2] if c.get("usage") is not None] == []
    assert chunks[-3]["choices"][0]["finish_reason"] == "stop"
    usage = chunks[-2]["usage"]
    pieces = contents(chunks)
    plain = post(simulator, {"model": "gpt-4o", "messages": HELLO})
    assert plain.getheader("Content-Length") is not None
    body = json.loads(plain.read())
    assert body["object"] == "chat.completion" and body["system_fingerprint"] == "opus-magic-sim"
    assert body["choices"][0]["message"]["content"] == "".join(pieces)
    assert body["usage"] == usage
    assert usage["completion_tokens"] == len(pieces) == count_text("".join(pieces), "gpt-4o")
    assert usage["prompt_tokens"] == count_messages(HELLO, "gpt-4o")
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert usage["completion_tokens_details"] == {"reasoning_tokens": 0}


def test_no_usage_chunk_unless_asked(simulator: sim.Simulator) -> None:
    chunks = stream(simulator)
    assert chunks[-1] == "[DONE]" and all(c["choices"] for c in chunks[:-1])
    assert all("usage" not in c for c in chunks[:-1])


def test_sdk_stream_and_determinism(client: openai.OpenAI) -> None:
    def text(messages: list[dict[str, Any]]) -> str:
        parts = client.chat.completions.create(model="claude-opus-4-6", messages=messages,
                                               stream=True)
        return "".join(c.choices[0].delta.content or "" for c in parts if c.choices)
    assert text(HELLO) == text(HELLO)
    assert text(HELLO) != text([{"role": "user", "content": "Something else entirely"}])


@pytest.mark.parametrize("field", ["max_tokens", "max_completion_tokens"])
def test_max_tokens_caps_with_length(simulator: sim.Simulator, field: str) -> None:
    chunks = stream(simulator, **{field: 7, "stream_options": {"include_usage": True}})
    assert len(contents(chunks)) == 7 and chunks[-2]["usage"]["completion_tokens"] == 7
    assert chunks[-3]["choices"][0]["finish_reason"] == "length"


def test_tools_count_and_usage_scale(simulator: sim.Simulator, client: openai.OpenAI) -> None:
    tools = [{"type": "function", "function": {"name": "add", "parameters": {"type": "object"}}}]
    reply = client.chat.completions.create(model="gpt-4o", messages=HELLO, tools=tools)
    assert reply.usage.prompt_tokens == count_messages(HELLO, "gpt-4o", tools)
    simulator.configure(usage_scale=2.5, answer_tokens=11)
    scaled = client.chat.completions.create(model="gpt-4o", messages=HELLO)
    assert scaled.usage.prompt_tokens == round(count_messages(HELLO, "gpt-4o") * 2.5)
    assert scaled.usage.completion_tokens == round(11 * 2.5)


def test_models_are_labelled(client: openai.OpenAI) -> None:
    models = client.models.list().data
    assert {m.id for m in models} >= {"claude-opus-4-6", "gpt-4o", "gpt-4.1"}
    assert {m.owned_by for m in models} == {"opus-magic-simulator"}


@pytest.mark.parametrize("raw", [b"{not json", b"", b'{"model": "gpt-4o", "messages": []}',
                                 b'{"model": "gpt-4o", "messages": [{"role": "user"}], '
                                 b'"max_tokens": 0}'])
def test_bad_requests_get_openai_error_bodies(simulator: sim.Simulator, raw: bytes) -> None:
    response = post(simulator, None, raw=raw)
    error = json.loads(response.read())["error"]
    assert response.status == 400 and set(error) == {"message", "type", "param", "code"}
    assert simulator.requests()[-1].status == 400


# --- usage and caching ------------------------------------------------------------------------

def cache(client: openai.OpenAI, messages: list[dict[str, Any]], model: str) -> tuple[int, int]:
    details = client.chat.completions.create(model=model, messages=messages).usage
    return details.prompt_tokens_details.cached_tokens, details.prompt_tokens_details.cache_write_tokens


def test_long_prompt_writes_then_reads_the_cache(client: openai.OpenAI) -> None:
    total = count_messages(LONG, "claude-sonnet-4-5")
    assert total >= 1024
    assert cache(client, LONG, "claude-sonnet-4-5") == (0, total)
    assert cache(client, LONG, "claude-sonnet-4-5") == (total, 0)
    longer = [*LONG, {"role": "assistant", "content": "Be careful."},
              {"role": "user", "content": "More detail, please. " * 300}]
    assert cache(client, longer, "claude-sonnet-4-5") == (
        total, count_messages(longer, "claude-sonnet-4-5") - total)
    assert cache(client, longer, "claude-sonnet-4-5")[0] == count_messages(longer, "claude-sonnet-4-5")


def test_cache_needs_the_models_minimum_prefix(client: openai.OpenAI) -> None:
    assert cache(client, HELLO, "gpt-4o") == (0, 0)
    assert cache(client, HELLO, "gpt-4o") == (0, 0)
    assert cache(client, LONG, "claude-opus-4-6") == (0, 0)  # below its 4096 minimum
    assert cache(client, LONG, "gpt-4o-2024-05-13") == (0, 0)  # no prompt caching at all
    assert cache(client, LONG, "gpt-4o-2024-05-13") == (0, 0)
    assert cache(client, LONG, "unknown-model")[1] > 0  # 1024 when the catalog has no entry


# --- pacing -----------------------------------------------------------------------------------

def test_token_rate_and_time_to_first_token(simulator: sim.Simulator) -> None:
    simulator.configure(tokens_per_second={"gpt-4o": 100.0}, answer_tokens=20)
    began = time.perf_counter()
    assert len(contents(stream(simulator))) == 20
    assert time.perf_counter() - began >= 0.18
    began = time.perf_counter()
    stream(simulator, model="gpt-4o-mini")
    assert time.perf_counter() - began < 0.1  # models not in the dict run at full speed
    simulator.configure(tokens_per_second=None, ttft_s=0.2)
    response = post(simulator, {"model": "gpt-4o", "messages": HELLO, "stream": True})
    began = time.perf_counter()
    for line in response:
        if b'"content": "' in line and b'"content": ""' not in line:
            break
    assert time.perf_counter() - began >= 0.18


def test_client_disconnect_is_recorded(simulator: sim.Simulator) -> None:
    simulator.configure(tokens_per_second=200.0, answer_tokens=1000)
    response = post(simulator, {"model": "gpt-4o", "messages": HELLO, "stream": True})
    for _ in range(3):
        response.readline()
    response.close()
    entry = simulator.requests_ended(1)[-1]
    assert entry.client_disconnected and not entry.completed and entry.chunks_sent < 100


def test_full_speed_stream_of_100k_tokens(simulator: sim.Simulator) -> None:
    simulator.configure(answer_tokens=100_000)
    began = time.perf_counter()
    response = post(simulator, {"model": "gpt-4o", "messages": HELLO, "stream": True})
    pieces = 0
    for line in response:
        if line.startswith(b"data: {"):
            pieces += bool(json.loads(line[6:])["choices"][0]["delta"].get("content"))
    assert pieces == 100_000
    print(f"100,000 tokens streamed in {time.perf_counter() - began:.2f} s")


# --- fault scenarios --------------------------------------------------------------------------

ERROR_CASES = [
    ("401", {}, 401, openai.AuthenticationError, "authentication_error"),
    ("403", {}, 403, openai.PermissionDeniedError, "permission_error"),
    ("402", {}, 402, openai.APIStatusError, "billing_error"),
    ("insufficient_quota", {}, 429, openai.RateLimitError, "insufficient_quota"),
    ("429", {}, 429, openai.RateLimitError, "rate_limit_error"),
    ("500", {}, 500, openai.InternalServerError, "server_error"),
    ("529", {}, 529, openai.InternalServerError, "overloaded_error"),
]


@pytest.mark.parametrize(("name", "params", "status", "exception", "kind"), ERROR_CASES)
def test_error_scenarios(simulator: sim.Simulator, client: openai.OpenAI, name: str,
                         params: dict[str, Any], status: int, exception: type, kind: str) -> None:
    simulator.scenario(name, **params)
    with pytest.raises(exception) as raised:
        client.chat.completions.create(model="gpt-4o", messages=HELLO, stream=True)
    assert raised.value.status_code == status and raised.value.body["type"] == kind
    assert raised.value.response.headers["x-opus-magic-simulator"] == "1"
    assert "retry-after" not in raised.value.response.headers
    assert simulator.requests()[-1].status == status
    assert simulator.requests()[-1].scenario == name


def test_rate_limit_headers_and_quota_code(simulator: sim.Simulator,
                                           client: openai.OpenAI) -> None:
    simulator.scenario("429", retry_after=1, retry_after_ms=1500)
    with pytest.raises(openai.RateLimitError) as raised:
        client.chat.completions.create(model="gpt-4o", messages=HELLO)
    assert raised.value.response.headers["retry-after"] == "1"
    assert raised.value.response.headers["retry-after-ms"] == "1500"
    simulator.scenario("insufficient_quota")
    with pytest.raises(openai.RateLimitError) as raised:
        client.chat.completions.create(model="gpt-4o", messages=HELLO)
    assert raised.value.code == "insufficient_quota"
    simulator.scenario("402")
    with pytest.raises(openai.APIStatusError) as raised:
        client.chat.completions.create(model="gpt-4o", messages=HELLO)
    assert raised.value.code == "insufficient_balance" and "too low" in raised.value.message


def test_402_holds(simulator: sim.Simulator, client: openai.OpenAI) -> None:
    simulator.scenario("402_hold", limit_usd=0.5)
    with pytest.raises(openai.APIStatusError) as raised:
        client.chat.completions.create(model="gpt-4o", messages=HELLO)
    assert raised.value.status_code == 402 and "$0.50" in raised.value.message
    assert raised.value.body["metadata"] == {"reason": "weight_exceeds_budget", "limit_usd": 0.5}
    assert "retry-after" not in raised.value.response.headers
    simulator.scenario("402_hold", reason="in_flight_budget_exhausted", retry_after=3)
    with pytest.raises(openai.APIStatusError) as raised:
        client.chat.completions.create(model="gpt-4o", messages=HELLO)
    assert raised.value.body["metadata"]["reason"] == "in_flight_budget_exhausted"
    assert raised.value.response.headers["retry-after"] == "3"


def test_times_and_fail_then_ok(simulator: sim.Simulator, client: openai.OpenAI) -> None:
    simulator.scenario("500", times=2)
    simulator.scenario("fail_then_ok", status=503, failures=2)
    statuses = [post(simulator, {"model": "gpt-4o", "messages": HELLO}).status for _ in range(3)]
    assert statuses == [503, 503, 200]
    simulator.scenario("529", times=1)
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(model="gpt-4o", messages=HELLO)
    assert client.chat.completions.create(model="gpt-4o", messages=HELLO).choices
    simulator.scenario("500")
    assert [post(simulator, {"model": "gpt-4o", "messages": HELLO}).status
            for _ in range(3)] == [500] * 3
    simulator.scenario("normal")
    assert post(simulator, {"model": "gpt-4o", "messages": HELLO}).status == 200


def test_scenario_validation(simulator: sim.Simulator) -> None:
    with pytest.raises(ValueError, match="unknown scenario"):
        simulator.scenario("418")
    with pytest.raises(ValueError, match="retry_afterr"):
        simulator.scenario("429", retry_afterr=1)
    with pytest.raises(ValueError):
        simulator.scenario("cut", mode="explode")


def test_cut_close_ends_the_sdk_stream_silently(simulator: sim.Simulator,
                                                client: openai.OpenAI) -> None:
    simulator.scenario("cut", after=4, mode="close")
    parts = client.chat.completions.create(model="gpt-4o", messages=HELLO, stream=True,
                                           stream_options={"include_usage": True})
    chunks = list(parts)
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) == 4
    assert all(c.usage is None and c.choices[0].finish_reason is None for c in chunks)
    entry = simulator.requests()[-1]
    assert (entry.chunks_sent, entry.completed, entry.client_disconnected) == (4, False, False)


def test_cut_reset_raises(simulator: sim.Simulator, client: openai.OpenAI) -> None:
    simulator.scenario("cut", after=2, mode="reset")
    with pytest.raises(openai.APIConnectionError):
        list(client.chat.completions.create(model="gpt-4o", messages=HELLO, stream=True))
    simulator.scenario("cut", mode="reset")
    with pytest.raises(openai.APIConnectionError):
        client.chat.completions.create(model="gpt-4o", messages=HELLO)


def test_error_chunk(simulator: sim.Simulator, client: openai.OpenAI) -> None:
    simulator.scenario("error_chunk", after=3)
    chunks = stream(simulator)
    assert len(contents(chunks)) == 3 and "[DONE]" not in chunks
    assert chunks[-1]["error"] == {"code": 502, "message": "Upstream provider error"}
    assert chunks[-1]["choices"][0]["finish_reason"] == "error"
    simulator.scenario("error_chunk", after=3)
    with pytest.raises(openai.APIError) as raised:
        list(client.chat.completions.create(model="gpt-4o", messages=HELLO, stream=True))
    assert not isinstance(raised.value, openai.APIStatusError)


@pytest.mark.parametrize("name", ["length", "content_filter"])
def test_finish_reason_scenarios(simulator: sim.Simulator, name: str) -> None:
    simulator.scenario(name, after=6)
    chunks = stream(simulator, stream_options={"include_usage": True})
    assert len(contents(chunks)) == 6 and chunks[-3]["choices"][0]["finish_reason"] == name
    assert chunks[-2]["usage"]["completion_tokens"] == 6


def test_no_usage(simulator: sim.Simulator) -> None:
    simulator.scenario("no_usage")
    chunks = stream(simulator, stream_options={"include_usage": True})
    assert chunks[-1] == "[DONE]" and all(c["choices"] for c in chunks[:-1])
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"


def test_slow_first_byte_times_the_client_out(simulator: sim.Simulator) -> None:
    simulator.scenario("slow_first_byte", delay=0.5, times=1)
    client = openai.OpenAI(base_url=simulator.base_url, api_key="sk-test", max_retries=0,
                           timeout=0.1)
    with pytest.raises(openai.APITimeoutError):
        client.chat.completions.create(model="gpt-4o", messages=HELLO)
    assert simulator.requests()[-1].scenario == "slow_first_byte"


# --- control from elsewhere -------------------------------------------------------------------

def test_control_over_http(simulator: sim.Simulator, client: openai.OpenAI) -> None:
    remote = sim.control(simulator.base_url)
    remote.scenario("429", retry_after=1)
    with pytest.raises(openai.RateLimitError) as raised:
        client.chat.completions.create(model="gpt-4o", messages=HELLO)
    assert raised.value.response.headers["retry-after"] == "1"
    remote.scenario("normal")
    remote.configure(answer_tokens=5)
    reply = client.chat.completions.create(model="gpt-4o", messages=HELLO)
    assert reply.usage.completion_tokens == 5
    simulator.requests_ended(2)                # the server notes each end after the client's read
    seen = remote.requests()
    assert [e.status for e in seen] == [429, 200] and seen[0].scenario == "429"
    assert seen[1].messages == HELLO and seen[1].completed and seen[1].ended_at >= seen[1].started_at
    with pytest.raises(ValueError, match="unknown scenario"):
        remote.scenario("nope")
    with pytest.raises(ValueError):
        remote.configure(colour="blue")
    remote.reset()
    assert remote.requests() == [] == simulator.requests()


def test_serve_forever_blocks_on_the_given_port() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    thread = threading.Thread(target=sim.serve_forever, kwargs={"port": port}, daemon=True)
    thread.start()
    deadline = time.time() + 3
    while time.time() < deadline:
        try:
            assert sim.control(f"http://127.0.0.1:{port}/v1").requests() == []
            break
        except OSError:
            time.sleep(0.02)
    else:
        pytest.fail("serve_forever did not start")
    assert thread.is_alive()


def test_each_model_answers_in_its_own_words(simulator) -> None:
    import openai

    client = openai.OpenAI(base_url=simulator.base_url, api_key="sk-test", max_retries=0)
    messages = [{"role": "user", "content": "Explain prompt caching."}]
    texts = {model: client.chat.completions.create(model=model, messages=messages).choices[0]
             .message.content for model in ("claude-opus-4-6", "gpt-4o")}
    assert texts["claude-opus-4-6"] != texts["gpt-4o"]
    assert texts["gpt-4o"] == "".join(answer_chunks(messages, model="gpt-4o"))
