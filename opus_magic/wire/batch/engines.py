"""Provider batch engines on the wire: Anthropic's Message Batches and OpenAI's Batch API.

Through the official SDKs: they already know each API's authentication, multipart file upload,
where the results live and their typed errors, and a batch job is a handful of calls. Results
(up to 100,000 lines) are read from the raw response line by line with `json.loads` rather than
as one typed object per line, and turned into plain `BatchResult`s.
"""
from __future__ import annotations

import contextlib
import functools
import importlib
import json
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from opus_magic.config import SIMULATOR
from opus_magic.errors import RequestError
from opus_magic.wire.anthropic.messages import API_VERSION, SAMPLING_VERSION, api_root, version_of
from opus_magic.wire.batch.results import (
    BatchResult,
    anthropic_result,
    error_message,
    openai_result,
)
from opus_magic.wire.client import key_of
from opus_magic.wire.endpoints import PLATFORMS, Endpoint, platform_of_url

ANTHROPIC, OPENAI = "anthropic", "openai"
CHAT = "/v1/chat/completions"
OUTCOMES = ("processing", "succeeded", "errored", "canceled", "expired")
OPENAI_STATES = {"validating": "in_progress", "in_progress": "in_progress",
                 "finalizing": "in_progress", "cancelling": "canceling", "completed": "ended",
                 "failed": "ended", "expired": "ended", "cancelled": "ended"}



@dataclass(frozen=True)
class BatchStatus:
    """Where a provider batch stands: in_progress, canceling or ended, with request counts."""

    provider_id: str
    state: str
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def ended(self) -> bool:
        return self.state == "ended"


def batch_api(endpoint: Endpoint, model_id: str, api: str | None = None) -> str:
    """Which batch API an endpoint speaks: `api` when given; Anthropic's for an endpoint on the
    native API or Anthropic's host;
    on the simulator the API of the model's provider (Claude: Anthropic); else OpenAI's."""
    if api in (ANTHROPIC, OPENAI):
        return api
    if endpoint.api == ANTHROPIC or platform_of_url(endpoint.base_url) is PLATFORMS[0]:
        return ANTHROPIC
    if endpoint.name == SIMULATOR and model_id.startswith("claude"):
        return ANTHROPIC
    return OPENAI


def anthropic_params(body: dict[str, Any]) -> dict[str, Any]:
    """A request body as Messages API params: a native body (the plan of a cell on Claude's
    native API) as it is, less streaming; a chat-completions body with its system messages set
    apart and its tools as input schemas."""
    params = {k: v for k, v in body.items() if k not in ("stream", "stream_options")}
    system = [str(m.get("content") or "") for m in body["messages"]
              if m.get("role") in ("system", "developer")]
    if system:
        params["system"] = "\n\n".join(system)
        params["messages"] = [m for m in body["messages"]
                              if m.get("role") not in ("system", "developer")]
    if any("function" in tool for tool in body.get("tools") or ()):
        params["tools"] = [{"name": t["function"]["name"],
                            "description": t["function"].get("description", ""),
                            "input_schema": t["function"].get("parameters", {"type": "object"})}
                           for t in body["tools"]]
    return params


@functools.lru_cache(maxsize=16)
def sdk_client(api: str, base_url: str, key: str, timeout_s: float) -> Any:
    """The official SDK's client for one endpoint: it knows each batch API's authentication,
    file upload and typed errors (the streaming transports do without it)."""
    if api == ANTHROPIC:
        import anthropic

        # The deprecation is said once, in our own words, by the plan (cost/capabilities.py).
        warnings.filterwarnings("ignore", message=".*thinking.type=enabled.* is deprecated")
        return anthropic.Anthropic(base_url=api_root(base_url), api_key=key, timeout=timeout_s,
                                   max_retries=0, default_headers={"anthropic-version": API_VERSION})
    import openai

    return openai.OpenAI(base_url=base_url, api_key=key, timeout=timeout_s, max_retries=0)


def openai_body(body: dict[str, Any]) -> dict[str, Any]:
    """A chat-completions body as a batch line's body: no streaming."""
    return {k: v for k, v in body.items() if k not in ("stream", "stream_options")}


def request_bytes(api: str, custom_id: str, body: dict[str, Any]) -> int:
    """What one request adds to a batch as it is sent: its entry of the JSON list (Anthropic)
    or its line of the uploaded file (OpenAI)."""
    if api == ANTHROPIC:
        entry = {"custom_id": custom_id, "params": anthropic_params(body)}
        return len(json.dumps(entry).encode()) + 1
    return len(_openai_line(custom_id, body).encode())


def _openai_line(custom_id: str, body: dict[str, Any]) -> str:
    return json.dumps({"custom_id": custom_id, "method": "POST", "url": CHAT,
                       "body": openai_body(body)}) + "\n"


class BatchClient:
    """Submit, poll, cancel and read one endpoint's batches in its API's format."""

    def __init__(self, endpoint: Endpoint, api: str, timeout_s: float = 60.0) -> None:
        self.endpoint, self.api, self.timeout_s = endpoint, api, timeout_s
        self._module: Any = importlib.import_module(api)
        # The key is kept out of the HTTP libraries' logs.
        self._sdk: Any = sdk_client(api, endpoint.base_url, key_of(endpoint) or "no-key", timeout_s)

    def submit(self, requests: Sequence[tuple[str, dict[str, Any]]]) -> BatchStatus:
        """Send (custom_id, chat-completions body) pairs as one batch."""
        with self._errors("submitting a batch"):
            if self.api == ANTHROPIC:
                params = [(cid, anthropic_params(body)) for cid, body in requests]
                # One version for the batch: the older one when any request sets a temperature.
                sampled = any(version_of(p) == SAMPLING_VERSION for _, p in params)
                version = SAMPLING_VERSION if sampled else API_VERSION
                batch = self._sdk.messages.batches.create(
                    requests=[{"custom_id": cid, "params": p} for cid, p in params],
                    extra_headers={"anthropic-version": version})
                return _anthropic_status(batch)
            lines = "".join(_openai_line(cid, body) for cid, body in requests)
            upload = self._sdk.files.create(file=("batch.jsonl", lines.encode()), purpose="batch")
            batch = self._sdk.batches.create(input_file_id=upload.id, endpoint=CHAT,
                                             completion_window="24h")
            return _openai_status(batch)

    def status(self, provider_id: str) -> BatchStatus:
        with self._errors(f"reading batch {provider_id}"):
            if self.api == ANTHROPIC:
                return _anthropic_status(self._sdk.messages.batches.retrieve(provider_id))
            return _openai_status(self._sdk.batches.retrieve(provider_id))

    def cancel(self, provider_id: str) -> BatchStatus:
        with self._errors(f"canceling batch {provider_id}"):
            if self.api == ANTHROPIC:
                return _anthropic_status(self._sdk.messages.batches.cancel(provider_id))
            return _openai_status(self._sdk.batches.cancel(provider_id))

    def results(self, provider_id: str) -> list[BatchResult]:
        """Every request's outcome of an ended batch."""
        with self._errors(f"reading the results of batch {provider_id}"):
            if self.api == ANTHROPIC:
                with self._sdk.messages.batches.with_streaming_response.results(
                        provider_id) as response:
                    return _read_lines(response.iter_lines(), anthropic_result)
            batch = self._sdk.batches.retrieve(provider_id)
            results = []
            for file_id in (batch.output_file_id, batch.error_file_id):
                if file_id:
                    text = self._sdk.files.content(file_id).text
                    results += _read_lines(text.splitlines(), openai_result)
            return results

    @contextlib.contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        """The SDKs' typed errors as one-line RequestErrors (never with the key)."""
        module = self._module
        try:
            yield
        except module.APIStatusError as exc:
            raise RequestError(f"HTTP {exc.status_code} while {doing} at {self.endpoint.base_url}"
                               f": {error_message(exc.body)}", status=exc.status_code) from None
        except module.APIConnectionError:
            raise RequestError(f"Could not reach {self.endpoint.base_url} while {doing}: check "
                               f"the network and the base URL.", retryable=True) from None


def _read_lines(lines: Iterable[str], read: Callable[[Any], BatchResult]) -> list[BatchResult]:
    """Each results line read; a line that is not JSON or names no custom_id is passed over (its
    request stays uncollected, and the next collect reads the results again)."""
    results = []
    for line in lines:
        try:
            results.append(read(json.loads(line)))
        except (ValueError, RecursionError):  # Unreadable and JSONDecodeError are ValueErrors
            continue
    return results


def _anthropic_status(batch: Any) -> BatchStatus:
    counts = batch.request_counts.to_dict()
    return BatchStatus(batch.id, batch.processing_status, {k: counts.get(k, 0) for k in OUTCOMES})


def _openai_status(batch: Any) -> BatchStatus:
    counts = batch.request_counts
    total, done, failed = ((counts.total, counts.completed, counts.failed) if counts
                           else (0, 0, 0))
    state = OPENAI_STATES.get(batch.status, "in_progress")
    rest = total - done - failed
    tally = dict.fromkeys(OUTCOMES, 0) | {"succeeded": done, "errored": failed}
    if state != "ended":
        tally["processing"] = rest
    else:
        tally["expired" if batch.status == "expired" else "canceled"] = rest
    return BatchStatus(batch.id, state, tally)
