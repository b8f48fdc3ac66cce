"""OpenAI chat completions, the API every OpenAI-compatible endpoint speaks, as a transport."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from opus_magic.errors import RequestError
from opus_magic.wire.body.attachments import openai_turns
from opus_magic.wire.body.request import WireRequest
from opus_magic.wire.body.schemas import Fitted, for_openai
from opus_magic.wire.body.tool_turns import chat_messages
from opus_magic.wire.client import Response, key_of, post
from opus_magic.wire.endpoints import Endpoint
from opus_magic.wire.explain import Hold
from opus_magic.wire.stream import StreamState


def open_response(endpoint: Endpoint, body: dict[str, Any], timeout_s: float,
                  hold: Hold | None = None,
                  opened: Callable[[Response], None] | None = None) -> Response:
    """Send one chat-completions request (no retries here) and return the response once the
    answer has begun, or raise RequestError (retryable when nothing of the answer had arrived).

    `hold` (the request's input and max_tokens at the model's prices) explains a 402; `opened`
    hears of the response as soon as its headers arrive (so Stop can abort it from then on).
    """
    key = key_of(endpoint) or "no-key"
    response = post(endpoint, endpoint.base_url.rstrip("/") + "/chat/completions",
                    {"authorization": f"Bearer {key}"}, body, timeout_s, hold)
    if opened is not None:
        opened(response)
    response.read_to_first_answer()
    return response


class ChatCompletions:
    """OpenAI chat completions, the API every OpenAI-compatible endpoint speaks."""

    api = "openai"
    caches = False
    counts = False
    files = False

    def version_for(self, body: dict[str, Any] | None) -> str | None:
        return None

    def body(self, request: WireRequest) -> dict[str, Any]:
        messages = openai_turns(chat_messages(request.messages), request.attachments,
                                request.detail, request.pdf_files)
        body: dict[str, Any] = {"model": request.model, "messages": messages,
                                "max_tokens": request.max_tokens, "stream": request.stream}
        if request.stream:
            body["stream_options"] = {"include_usage": True}
        if request.temperature is not None:
            body["temperature"] = request.temperature
        if request.tools:
            body["tools"] = list(request.tools)
            if not request.parallel_tools:
                body["parallel_tool_calls"] = False
        if request.output is not None:
            body["response_format"] = {"type": "json_schema", "json_schema": {
                "name": request.output.name, "schema": request.output.schema, "strict": True}}
        return body

    def fit_schema(self, name: str, schema: dict[str, Any]) -> Fitted:
        return for_openai(name, schema)

    def open(self, endpoint: Endpoint, body: dict[str, Any], timeout_s: float,
             hold: Hold | None = None,
             opened: Callable[[Response], None] | None = None) -> Response:
        return open_response(endpoint, body, timeout_s, hold, opened)

    def state(self) -> StreamState:
        return StreamState()

    def count(self, endpoint: Endpoint, body: dict[str, Any], timeout_s: float) -> int:
        raise RequestError("Chat-completions endpoints have no exact token count.")


CHAT_COMPLETIONS = ChatCompletions()
