"""Web search and web fetch on the simulator's Messages API over real HTTP: Anthropic's block
shapes, server_tool_use usage, results billed as input, max_uses, and pause_turn."""
from __future__ import annotations

import base64
import json

import anthropic
import pytest
from sim_wire import count, messages, root, sse

from opus_magic.cost.tokens import count_text

MODEL = "claude-sonnet-4-5"
SEARCH = {"type": "web_search_20260318", "name": "web_search", "max_uses": 2}
FETCH = {"type": "web_fetch_20260318", "name": "web_fetch", "max_uses": 1}
PROMPT = "What changed in Python packaging this year?"
pytestmark = pytest.mark.usefixtures("simulator")


def ask(prompt: str = PROMPT, tools: list | None = None, **extra) -> dict:
    return {"model": MODEL, "max_tokens": 300, "tools": tools or [SEARCH],
            "messages": [{"role": "user", "content": prompt}], **extra}


def billed(block: dict) -> int:
    """A search result block as input: each result's title, URL and page text."""
    return sum(count_text(r["title"], MODEL) + count_text(r["url"], MODEL)
               + count_text(base64.b64decode(r["encrypted_content"]).decode(), MODEL)
               for r in block["content"])


def test_a_search_answer_has_anthropics_blocks_usage_and_citations(simulator) -> None:
    body = ask()
    answer = messages(simulator, body).json()
    call, result, text = answer["content"]
    assert call["type"] == "server_tool_use" and call["name"] == "web_search"
    assert call["id"].startswith("srvtoolu_01") and call["input"] == {
        "query": "changed Python packaging year"}
    assert result["type"] == "web_search_tool_result" and result["tool_use_id"] == call["id"]
    assert len(result["content"]) == 3
    assert {tuple(sorted(r)) for r in result["content"]} == {
        ("encrypted_content", "page_age", "title", "type", "url")}
    assert text["type"] == "text" and text["citations"][0]["type"] == "web_search_result_location"
    assert text["citations"][0]["url"] == result["content"][0]["url"]
    usage = answer["usage"]
    assert usage["server_tool_use"] == {"web_search_requests": 1, "web_fetch_requests": 0}
    assert usage["input_tokens"] == count(simulator, body) + billed(result)
    assert answer["stop_reason"] == "end_turn"


def test_the_stream_and_the_sdk(simulator) -> None:
    events = sse(messages(simulator, ask(stream=True)))
    starts = [e["content_block"]["type"] for e in events if e["type"] == "content_block_start"]
    assert starts == ["server_tool_use", "web_search_tool_result", "text"]
    kinds = [e["delta"]["type"] for e in events if e["type"] == "content_block_delta"]
    assert kinds[0] == "input_json_delta" and "citations_delta" in kinds
    assert events[0]["message"]["usage"]["input_tokens"] < events[-2]["usage"]["input_tokens"]
    sdk = anthropic.Anthropic(base_url=root(simulator), api_key="sk-ant-test", max_retries=0)
    with sdk.messages.stream(**ask()) as stream:
        final = stream.get_final_message()
    assert final.content[0].input == {"query": "changed Python packaging year"}
    assert final.content[1].content[0].type == "web_search_result"
    assert final.content[2].citations[0].cited_text
    assert final.usage.server_tool_use.web_search_requests == 1


def test_searches_past_max_uses_fail_and_are_not_counted(simulator) -> None:
    simulator.scenario("web_search", searches=3, times=1)
    answer = messages(simulator, ask()).json()
    results = [b for b in answer["content"] if b["type"] == "web_search_tool_result"]
    assert [type(r["content"]).__name__ for r in results] == ["list", "list", "dict"]
    assert results[2]["content"] == {"type": "web_search_tool_result_error",
                                     "error_code": "max_uses_exceeded"}
    assert answer["usage"]["server_tool_use"]["web_search_requests"] == 2
    simulator.scenario("web_search", error="unavailable", times=1)
    failed = messages(simulator, ask()).json()
    assert failed["content"][1]["content"]["error_code"] == "unavailable"
    assert failed["usage"]["server_tool_use"]["web_search_requests"] == 0
    assert failed["usage"]["input_tokens"] == count(simulator, ask())


def test_pause_turn_then_the_resent_conversation_goes_on(simulator) -> None:
    simulator.scenario("pause_turn", searches=2, times=1)
    body = ask()
    paused = messages(simulator, body).json()
    assert paused["stop_reason"] == "pause_turn"
    assert [b["type"] for b in paused["content"]] == ["server_tool_use", "web_search_tool_result"] * 2
    assert paused["usage"]["server_tool_use"]["web_search_requests"] == 2
    body["messages"].append({"role": "assistant", "content": paused["content"]})
    done = messages(simulator, body).json()
    assert done["stop_reason"] == "end_turn" and [b["type"] for b in done["content"]] == ["text"]
    assert len(done["content"][0]["citations"]) == 2
    assert done["usage"]["server_tool_use"]["web_search_requests"] == 0
    assert done["usage"]["input_tokens"] == count(simulator, body)
    sent_back = sum(billed(b) if b["type"] == "web_search_tool_result" else count_text(
        json.dumps({"role": "assistant", **b}, sort_keys=True), MODEL) for b in paused["content"])
    assert count(simulator, body) - count(simulator, ask()) == sent_back + 3


def test_web_fetch_fetches_the_prompts_url(simulator) -> None:
    body = ask("Summarise https://example.com/release-notes please.", [FETCH, SEARCH])
    answer = messages(simulator, body).json()
    call, result = answer["content"][:2]
    assert call["name"] == "web_fetch" and call["input"] == {
        "url": "https://example.com/release-notes"}
    assert result["content"]["type"] == "web_fetch_result"
    assert result["content"]["content"]["source"]["type"] == "text"
    assert answer["usage"]["server_tool_use"] == {"web_search_requests": 0,
                                                  "web_fetch_requests": 1}
    assert answer["usage"]["input_tokens"] > count(simulator, body)


def test_no_search_when_tool_choice_is_none_or_a_custom_tool_is_called_for(simulator) -> None:
    quiet = messages(simulator, ask(tool_choice={"type": "none"})).json()
    assert [b["type"] for b in quiet["content"]] == ["text"]
    assert quiet["usage"]["server_tool_use"]["web_search_requests"] == 0
    weather = {"name": "get_weather", "input_schema": {"type": "object", "properties": {}}}
    called = messages(simulator, ask("Weather now?", [SEARCH, weather])).json()
    assert called["stop_reason"] == "tool_use" and called["content"][0]["name"] == "get_weather"
