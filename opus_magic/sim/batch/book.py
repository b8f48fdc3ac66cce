"""The simulator's batch engines: Anthropic's Message Batches and OpenAI's Batch API with files.

A batch ends `delay_s` after it is created (at once by default); until then every request is
processing, as on the real services; `end_now` ends every pending batch at once. Requests whose
custom_id is in `fail` end errored; with `expire` set, batches that end from then on end expired.
Answers and usage are the simulator's.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any, Protocol

from opus_magic.sim.batch.shaped import shaped
from opus_magic.sim.content.choices import choice_answer
from opus_magic.sim.content.text import PromptCache, answer_chunks, usage_body

ANTHROPIC_BATCHES = "/v1/messages/batches"
OPENAI_BATCHES = "/v1/batches"
FILES = "/v1/files"
CHAT = "/v1/chat/completions"
DAY_S = 24 * 3600
FAILED = "The simulator failed this request on purpose (sim batches fail=...)."


class Answering(Protocol):
    """What answering needs from the simulator's shared state."""

    settings: Any
    cache: PromptCache


@dataclass
class SimBatch:
    """One submitted batch: its requests as (custom_id, params or body), timings, and results."""

    id: str
    api: str  # "anthropic" or "openai"
    requests: list[tuple[str, dict[str, Any]]]
    created: float
    ready_at: float
    fail: frozenset[str]
    input_file_id: str | None = None
    cancel_at: float | None = None
    ended_at: float | None = None
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    output_file_id: str | None = None
    error_file_id: str | None = None


@dataclass
class BatchSettings:
    """Processing delay, custom_ids that fail, and whether batches that end now expire."""

    delay_s: float = 0.0
    fail: frozenset[str] = frozenset()
    expire: bool = False


class BatchBook:
    """Every batch and file the simulator holds."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.settings = BatchSettings()
        self._lock = threading.Lock()
        self.batches: dict[str, SimBatch] = {}
        self.files: dict[str, tuple[dict[str, Any], bytes]] = {}

    def configure(self, delay_s: float | None = None, fail: list[str] | None = None,
                  expire: bool | None = None, end_now: bool = False) -> None:
        """Change the processing delay, the custom_ids that fail, or expiry; end pending batches."""
        if delay_s is not None and (not isinstance(delay_s, (int, float)) or delay_s < 0):
            raise ValueError("delay_s must be a number of seconds, 0 or more")
        changes = {"delay_s": delay_s, "fail": None if fail is None else frozenset(fail),
                   "expire": expire}
        with self._lock:
            self.settings = dataclasses.replace(
                self.settings, **{k: v for k, v in changes.items() if v is not None})
            if end_now:
                for batch in self.batches.values():
                    batch.ready_at = min(batch.ready_at, self.clock())

    def clear(self) -> None:
        with self._lock:
            self.batches.clear()
            self.files.clear()
            self.settings = BatchSettings()

    def add_file(self, filename: str, purpose: str, data: bytes) -> dict[str, Any]:
        info = {"id": f"file-{secrets.token_hex(12)}", "object": "file", "bytes": len(data),
                "created_at": int(self.clock()), "filename": filename, "purpose": purpose,
                "status": "processed", "expires_at": None, "status_details": None}
        with self._lock:
            self.files[info["id"]] = (info, data)
        return info

    def create(self, api: str, requests: list[tuple[str, dict[str, Any]]],
               input_file_id: str | None = None) -> SimBatch:
        now = self.clock()
        prefix = "msgbatch_" if api == "anthropic" else "batch_"
        batch = SimBatch(f"{prefix}{secrets.token_hex(12)}", api, requests, now,
                         now + self.settings.delay_s, self.settings.fail, input_file_id)
        with self._lock:
            self.batches[batch.id] = batch
        return batch

    def get(self, batch_id: str, state: Answering) -> SimBatch | None:
        """The batch, with its results settled if its time has come."""
        with self._lock:
            batch = self.batches.get(batch_id)
            if batch is not None and batch.ended_at is None:
                now = self.clock()
                if batch.cancel_at is not None or now >= batch.ready_at:
                    self._settle(batch, now, state)
            return batch

    def listed(self, api: str, state: Answering) -> list[SimBatch]:
        """One API's batches, newest first."""
        with self._lock:
            ids = [b.id for b in self.batches.values() if b.api == api]
        return [batch for batch in (self.get(i, state) for i in reversed(ids)) if batch]

    def cancel(self, batch_id: str) -> SimBatch | None:
        with self._lock:
            batch = self.batches.get(batch_id)
            if batch is not None and batch.ended_at is None and batch.cancel_at is None:
                batch.cancel_at = self.clock()
        return batch

    def _settle(self, batch: SimBatch, now: float, state: Answering) -> None:
        """End a batch: every request gets its answer, error, cancellation or expiry."""
        for custom_id, request in batch.requests:
            if batch.cancel_at is not None:
                batch.results[custom_id] = {"type": "canceled"}
            elif self.settings.expire:
                batch.results[custom_id] = {"type": "expired"}
            elif custom_id in batch.fail:
                batch.results[custom_id] = {"type": "errored", "kind": "api_error",
                                            "message": FAILED}
            else:
                batch.results[custom_id] = _answer(batch.api, request, state)
        batch.ended_at = now
        if batch.api == "openai":
            self._write_files(batch)

    def _write_files(self, batch: SimBatch) -> None:
        ok = [openai_line(cid, r) for cid, r in batch.results.items() if r["type"] == "succeeded"]
        bad = [openai_line(cid, r) for cid, r in batch.results.items() if r["type"] != "succeeded"]
        for lines, attribute in ((ok, "output_file_id"), (bad, "error_file_id")):
            if lines:
                data = "".join(json.dumps(line) + "\n" for line in lines).encode()
                info = {"id": f"file-{secrets.token_hex(12)}", "object": "file",
                        "bytes": len(data), "created_at": int(batch.ended_at or 0),
                        "filename": f"{batch.id}_{attribute[:-8]}.jsonl",
                        "purpose": "batch_output", "status": "processed", "expires_at": None,
                        "status_details": None}
                self.files[info["id"]] = (info, data)
                setattr(batch, attribute, info["id"])


def _answer(api: str, request: dict[str, Any], state: Answering) -> dict[str, Any]:
    """One request answered as the simulator answers chat requests: text, finish and usage."""
    problem = _invalid(api, request)
    if problem:
        return {"type": "errored", "kind": "invalid_request_error", "message": problem}
    special = shaped(api, request, state.settings, state.cache)
    if special is not None:
        return special
    messages = list(request["messages"])
    if api == "anthropic" and request.get("system"):
        messages.insert(0, {"role": "system", "content": request["system"]})
    model, settings = request["model"], state.settings
    limit = request.get("max_completion_tokens") or request.get("max_tokens")
    chunks = (choice_answer(messages, model, settings.accuracy)
              or answer_chunks(messages, settings.answer_tokens, model))
    finish = "stop"
    if limit is not None and len(chunks) > limit:
        chunks, finish = chunks[:limit], "length"
    usage = usage_body(state.cache.usage(model, messages, request.get("tools")), len(chunks),
                       settings.usage_scale)
    return {"type": "succeeded", "model": model, "text": "".join(chunks), "finish": finish,
            "usage": usage}


def _invalid(api: str, request: dict[str, Any]) -> str | None:
    messages = request.get("messages")
    if not isinstance(messages, list) or not messages:
        return "'messages' must be a non-empty list of message objects."
    if not isinstance(request.get("model"), str) or not request["model"]:
        return "'model' is required."
    limit = request.get("max_completion_tokens") or request.get("max_tokens")
    if (api == "anthropic" or limit is not None) and (type(limit) is not int or limit < 1):
        return "'max_tokens' must be a positive integer."
    return None


def anthropic_message(result: dict[str, Any]) -> dict[str, Any]:
    """A succeeded result as Anthropic's message object (usage without cache in input_tokens)."""
    if "message" in result:  # answered whole, tool calls or JSON (`shaped.py`)
        return result["message"]
    usage = result["usage"]
    cached = usage["prompt_tokens_details"]["cached_tokens"]
    written = usage["prompt_tokens_details"]["cache_write_tokens"]
    return {"id": f"msg_{secrets.token_hex(12)}", "type": "message", "role": "assistant",
            "model": result["model"], "content": [{"type": "text", "text": result["text"]}],
            "stop_reason": "end_turn" if result["finish"] == "stop" else "max_tokens",
            "stop_sequence": None,
            "usage": {"input_tokens": usage["prompt_tokens"] - cached - written,
                      "output_tokens": usage["completion_tokens"],
                      "cache_creation_input_tokens": written, "cache_read_input_tokens": cached}}


def anthropic_line(custom_id: str, result: dict[str, Any]) -> dict[str, Any]:
    """One line of a Message Batch's results file."""
    kind = result["type"]
    if kind == "succeeded":
        body: dict[str, Any] = {"type": kind, "message": anthropic_message(result)}
    elif kind == "errored":
        body = {"type": kind, "error": {"type": "error", "error": {
            "type": result["kind"], "message": result["message"]}}}
    else:
        body = {"type": kind}
    return {"custom_id": custom_id, "result": body}


def openai_line(custom_id: str, result: dict[str, Any]) -> dict[str, Any]:
    """One line of an OpenAI batch's output or error file."""
    line: dict[str, Any] = {"id": f"batch_req_{secrets.token_hex(12)}", "custom_id": custom_id,
                            "response": None, "error": None}
    kind = result["type"]
    if kind == "succeeded":
        body = {"id": f"chatcmpl-sim{secrets.token_hex(10)}", "object": "chat.completion",
                "created": int(time.time()), "model": result["model"],
                "choices": [{"index": 0, "message": {"role": "assistant",
                                                     "content": result["text"],
                                                     "refusal": None,
                                                     **({"tool_calls": result["tool_calls"]}
                                                        if result.get("tool_calls") else {})},
                             "logprobs": None, "finish_reason": result["finish"]}],
                "usage": result["usage"]}
        line["response"] = {"status_code": 200, "request_id": secrets.token_hex(8), "body": body}
    elif kind == "errored":
        status = 400 if result["kind"] == "invalid_request_error" else 500
        line["response"] = {"status_code": status, "request_id": secrets.token_hex(8), "body": {
            "error": {"message": result["message"], "type": result["kind"], "param": None,
                      "code": None}}}
    else:
        line["error"] = {"code": f"batch_{'cancelled' if kind == 'canceled' else kind}",
                         "message": f"This request was {kind} before it was processed."}
    return line


def iso(moment: float | None) -> str | None:
    if moment is None:
        return None
    return dt.datetime.fromtimestamp(moment, dt.timezone.utc).isoformat().replace("+00:00", "Z")


def parse_upload(content_type: str, raw: bytes) -> tuple[dict[str, str], bytes, str]:
    """A multipart/form-data body: its text fields, the file's bytes and its file name."""
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + raw)
    fields: dict[str, str] = {}
    data, filename = b"", "upload.jsonl"
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        if part.get_filename():
            data, filename = payload, part.get_filename()
        elif name:
            fields[str(name)] = payload.decode()
    return fields, data, filename
