"""HTTP routes of the simulator's batch engines (Anthropic and OpenAI wire formats)."""
from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from typing import Any, Protocol

from opus_magic.sim.batch.book import (
    ANTHROPIC_BATCHES,
    CHAT,
    DAY_S,
    FILES,
    OPENAI_BATCHES,
    Answering,
    BatchBook,
    SimBatch,
    anthropic_line,
    iso,
    parse_upload,
)

CONTROL = "/sim/batches"


class BatchState(Answering, Protocol):
    """The simulator's shared state, with its batches."""

    batches: BatchBook


def route(handler: BaseHTTPRequestHandler, state: BatchState, method: str, path: str) -> bool:
    """Answer a batch, file or batch-control request; False when `path` is none of those."""
    if not path.startswith((ANTHROPIC_BATCHES, OPENAI_BATCHES, FILES, CONTROL)):
        return False
    raw = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
    parts = path.split("/")
    try:
        if path == CONTROL and method == "POST":
            state.batches.configure(**json.loads(raw or b"{}"))
            _send(handler, 200, {"ok": True})
        elif path.startswith(ANTHROPIC_BATCHES):
            _anthropic(handler, state, method, parts[4:], raw)
        elif path.startswith(OPENAI_BATCHES):
            _openai(handler, state, method, parts[3:], raw)
        else:
            _files(handler, state.batches, method, parts[3:], raw)
    except (TypeError, ValueError, KeyError) as exc:
        _error(handler, 400, f"Invalid request: {exc}")
    return True


def _anthropic(handler: BaseHTTPRequestHandler, state: BatchState, method: str,
               rest: list[str], raw: bytes) -> None:
    book = state.batches
    if method == "POST" and not rest:
        requests = json.loads(raw)["requests"]
        ids = [r["custom_id"] for r in requests]
        if len(set(ids)) != len(ids) or not all(isinstance(r["params"], dict) for r in requests):
            raise ValueError("every request needs a unique custom_id and a params object")
        batch = book.create("anthropic", [(r["custom_id"], r["params"]) for r in requests])
        _send(handler, 200, anthropic_batch(handler, book.get(batch.id, state) or batch))
        return
    if method == "GET" and not rest:
        data = [anthropic_batch(handler, b) for b in book.listed("anthropic", state)]
        _send(handler, 200, {"data": data, "has_more": False,
                             "first_id": data[0]["id"] if data else None,
                             "last_id": data[-1]["id"] if data else None})
        return
    batch = book.cancel(rest[0]) if rest[1:] == ["cancel"] else book.get(rest[0], state)
    if batch is None or batch.api != "anthropic":
        _error(handler, 404, f"No message batch {rest[0]}", "not_found_error")
    elif rest[1:] == ["results"] and batch.ended_at is not None:
        lines = [anthropic_line(cid, batch.results[cid]) for cid, _ in batch.requests]
        _send_bytes(handler, "".join(json.dumps(line) + "\n" for line in lines).encode(),
                    "application/binary")
    elif rest[1:] == ["results"]:
        _error(handler, 400, "The batch is still processing: results come when it has ended.")
    else:
        _send(handler, 200, anthropic_batch(handler, batch))


def anthropic_batch(handler: BaseHTTPRequestHandler, batch: SimBatch) -> dict[str, Any]:
    """A batch as Anthropic's `message_batch` object."""
    counts = {"processing": 0, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
    for result in batch.results.values():
        counts[result["type"]] += 1
    counts["processing"] = len(batch.requests) - len(batch.results)
    status = ("ended" if batch.ended_at is not None else
              "canceling" if batch.cancel_at is not None else "in_progress")
    results_url = (f"http://{handler.headers.get('Host')}{ANTHROPIC_BATCHES}/{batch.id}/results"
                   if batch.ended_at is not None else None)
    return {"id": batch.id, "type": "message_batch", "processing_status": status,
            "request_counts": counts, "created_at": iso(batch.created),
            "expires_at": iso(batch.created + DAY_S), "ended_at": iso(batch.ended_at),
            "cancel_initiated_at": iso(batch.cancel_at), "archived_at": None,
            "results_url": results_url}


def _openai(handler: BaseHTTPRequestHandler, state: BatchState, method: str, rest: list[str],
            raw: bytes) -> None:
    book = state.batches
    if method == "POST" and not rest:
        body = json.loads(raw)
        stored = book.files.get(body.get("input_file_id") or "")
        if stored is None:
            _error(handler, 404, f"No file {body.get('input_file_id')}", "invalid_request_error")
            return
        if body.get("endpoint") != CHAT or body.get("completion_window") != "24h":
            raise ValueError(f"endpoint must be {CHAT} and completion_window 24h")
        lines = [json.loads(line) for line in stored[1].decode().splitlines() if line.strip()]
        batch = book.create("openai", [(line["custom_id"], line["body"]) for line in lines],
                            body["input_file_id"])
        _send(handler, 200, openai_batch(book.get(batch.id, state) or batch))
    elif method == "GET" and not rest:
        data = [openai_batch(b) for b in book.listed("openai", state)]
        _send(handler, 200, {"object": "list", "data": data, "has_more": False,
                             "first_id": data[0]["id"] if data else None,
                             "last_id": data[-1]["id"] if data else None})
    else:
        batch = book.cancel(rest[0]) if rest[1:] == ["cancel"] else book.get(rest[0], state)
        if batch is None or batch.api != "openai":
            _error(handler, 404, f"No batch {rest[0]}", "invalid_request_error")
        else:
            _send(handler, 200, openai_batch(batch))


def openai_batch(batch: SimBatch) -> dict[str, Any]:
    """A batch as OpenAI's `batch` object."""
    kinds = [r["type"] for r in batch.results.values()]
    ended = batch.ended_at is not None
    status = ("in_progress" if not ended and batch.cancel_at is None else
              "cancelling" if not ended else
              "cancelled" if batch.cancel_at is not None else
              "expired" if "expired" in kinds else "completed")
    return {"id": batch.id, "object": "batch", "endpoint": CHAT, "errors": None,
            "input_file_id": batch.input_file_id, "completion_window": "24h", "status": status,
            "output_file_id": batch.output_file_id, "error_file_id": batch.error_file_id,
            "created_at": int(batch.created), "in_progress_at": int(batch.created),
            "expires_at": int(batch.created + DAY_S), "completed_at":
                int(batch.ended_at) if status == "completed" else None,
            "cancelled_at": int(batch.ended_at) if status == "cancelled" else None,
            "expired_at": int(batch.ended_at) if status == "expired" else None,
            "request_counts": {"total": len(batch.requests),
                               "completed": kinds.count("succeeded"),
                               "failed": kinds.count("errored")},  # not canceled ones
            "metadata": None}


def _files(handler: BaseHTTPRequestHandler, book: BatchBook, method: str, rest: list[str],
           raw: bytes) -> None:
    if method == "POST" and not rest:
        fields, data, filename = parse_upload(handler.headers.get("Content-Type", ""), raw)
        if fields.get("purpose") != "batch":
            raise ValueError("purpose must be 'batch'")
        _send(handler, 200, book.add_file(filename, "batch", data))
        return
    stored = book.files.get(rest[0]) if rest else None
    if stored is None:
        _error(handler, 404, f"No file {rest[0] if rest else ''}", "invalid_request_error")
    elif rest[1:] == ["content"]:
        _send_bytes(handler, stored[1], "application/octet-stream")
    else:
        _send(handler, 200, stored[0])


def _send(handler: BaseHTTPRequestHandler, status: int, body: dict[str, Any]) -> None:
    _send_bytes(handler, json.dumps(body).encode(), "application/json", status)


def _send_bytes(handler: BaseHTTPRequestHandler, data: bytes, content_type: str,
                status: int = 200) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(data)))
    handler.send_header("request-id", "req_sim")
    handler.end_headers()
    handler.wfile.write(data)


def _error(handler: BaseHTTPRequestHandler, status: int, message: str,
           kind: str = "invalid_request_error") -> None:
    _send(handler, status, {"type": "error", "error": {"message": message, "type": kind,
                                                       "param": None, "code": None}})
