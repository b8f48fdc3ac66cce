"""Raw HTTP helpers for the simulator's tool tests: one request, its JSON or its SSE events."""
from __future__ import annotations

import json
from typing import Any

import httpx2

HEADERS = {"x-api-key": "sk-ant-test", "anthropic-version": "2023-06-01"}


def root(simulator: Any) -> str:
    return simulator.base_url.removesuffix("/v1")


def messages(simulator: Any, body: dict[str, Any], path: str = "/v1/messages",
             headers: dict[str, str] | None = None) -> httpx2.Response:
    """One Messages API request with the headers Anthropic asks for."""
    return httpx2.post(root(simulator) + path, json=body, headers={**HEADERS, **(headers or {})},
                       timeout=30)


def chat(simulator: Any, body: dict[str, Any]) -> httpx2.Response:
    return httpx2.post(simulator.base_url + "/chat/completions", json=body,
                       headers={"Authorization": "Bearer sk-test"}, timeout=30)


def sse(response: httpx2.Response) -> list[dict[str, Any]]:
    """The `data:` payloads of an event stream, parsed (OpenAI's [DONE] left out)."""
    return [json.loads(line[6:]) for line in response.text.splitlines()
            if line.startswith("data: ") and line != "data: [DONE]"]


def count(simulator: Any, body: dict[str, Any]) -> int:
    """count_tokens for a Messages body (max_tokens and stream left out)."""
    fields = {k: v for k, v in body.items() if k not in ("max_tokens", "stream")}
    return messages(simulator, fields, "/v1/messages/count_tokens").json()["input_tokens"]
