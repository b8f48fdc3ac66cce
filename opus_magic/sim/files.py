"""The simulator's Anthropic Files API: upload, list, get, delete, with the API's limits and errors.

Requests carrying an `anthropic-version` header are Anthropic's (the OpenAI batch files on the
same path carry none). The beta header `anthropic-beta: files-api-2025-04-14` is accepted and
not needed: the Files API is generally available (the official SDK's `client.files` sends no
beta header), and a client that still sends it is served alike. A file over the size limit (500 MB, lowered with
`POST /sim/files {"max_bytes": N}` to test it) is a 413; an unknown or deleted id a 404, so
deleting twice is a 404 too. Uploaded files are not downloadable, as on the real API.
"""
from __future__ import annotations

import datetime as dt
import json
import secrets
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from opus_magic.media.sniff import looks_like_text, sniff
from opus_magic.sim.batch.book import parse_upload
from opus_magic.sim.native.messages import error_body, request_id

FILES, CONTROL = "/v1/files", "/sim/files"
MAX_BYTES = 500 * 1000 * 1000
DEFAULT_PAGE, MAX_PAGE = 20, 1000


@dataclass(frozen=True)
class SimFile:
    """One stored file: its bytes and the metadata the API reports."""

    id: str
    filename: str
    mime_type: str
    data: bytes
    created_at: str

    def metadata(self) -> dict[str, Any]:
        return {"id": self.id, "type": "file", "filename": self.filename,
                "mime_type": self.mime_type, "size_bytes": len(self.data),
                "created_at": self.created_at, "downloadable": False}


class FileStore:
    """Every file uploaded to the simulator, in upload order; safe across request threads."""

    def __init__(self, max_bytes: int = MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._files: dict[str, SimFile] = {}

    def add(self, filename: str, data: bytes) -> SimFile:
        found = sniff(data)
        mime = found[1] if found else "text/plain" if looks_like_text(data) else (
            "application/octet-stream")
        created = dt.datetime.now(dt.timezone.utc).isoformat().replace("+00:00", "Z")
        stored = SimFile(f"file_sim{secrets.token_hex(12)}", filename, mime, data, created)
        with self._lock:
            self._files[stored.id] = stored
        return stored

    def get(self, file_id: str) -> SimFile | None:
        with self._lock:
            return self._files.get(file_id)

    def delete(self, file_id: str) -> bool:
        with self._lock:
            return self._files.pop(file_id, None) is not None

    def listed(self) -> list[SimFile]:
        """Newest first, as the API lists them."""
        with self._lock:
            return list(reversed(self._files.values()))

    def configure(self, max_bytes: int | None = None) -> None:
        if max_bytes is not None:
            if not isinstance(max_bytes, int) or max_bytes < 1:
                raise ValueError("max_bytes must be a positive integer")
            self.max_bytes = max_bytes

    def clear(self) -> None:
        with self._lock:
            self._files.clear()
        self.max_bytes = MAX_BYTES


def route(handler: BaseHTTPRequestHandler, store: FileStore, method: str, path: str) -> bool:
    """Answer an Anthropic Files API or file-control request; False when it is neither."""
    if path == CONTROL and method == "POST":
        raw = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        try:
            store.configure(**json.loads(raw or b"{}"))
        except (TypeError, ValueError) as exc:
            _send(handler, 400, error_body(400, str(exc), request_id()))
            return True
        _send(handler, 200, {"ok": True})
        return True
    if not path.startswith(FILES) or not handler.headers.get("anthropic-version"):
        return False
    raw = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
    rest = [unquote(part) for part in path[len(FILES):].split("/") if part]
    if method == "POST" and not rest:
        _upload(handler, store, raw)
    elif method == "GET" and not rest:
        _list(handler, store, parse_qs(urlsplit(handler.path).query))
    elif not rest or store.get(rest[0]) is None or method not in ("GET", "DELETE"):
        _fail(handler, 404, f"File not found: {rest[0] if rest else method}")
    elif method == "DELETE" and len(rest) == 1:
        store.delete(rest[0])
        _send(handler, 200, {"id": rest[0], "type": "file_deleted"})
    elif rest[1:] == ["content"]:
        _fail(handler, 400, f"File {rest[0]} is not downloadable: only files created by skills "
                            f"or the code execution tool are.")
    else:
        stored = store.get(rest[0])
        assert stored is not None
        _send(handler, 200, stored.metadata())
    return True


def _upload(handler: BaseHTTPRequestHandler, store: FileStore, raw: bytes) -> None:
    if len(raw) > store.max_bytes:
        _fail(handler, 413, f"File exceeds the maximum size of {store.max_bytes:,} bytes.")
        return
    try:
        fields, data, filename = parse_upload(handler.headers.get("Content-Type", ""), raw)
    except (TypeError, ValueError):
        fields, data, filename = {}, b"", ""
    if not data:
        _fail(handler, 400, "file: a non-empty file part is required (multipart/form-data).")
    elif len(data) > store.max_bytes:
        _fail(handler, 413, f"File exceeds the maximum size of {store.max_bytes:,} bytes.")
    else:
        _send(handler, 200, store.add(filename, data).metadata())


def _list(handler: BaseHTTPRequestHandler, store: FileStore, query: dict[str, list[str]]) -> None:
    files = store.listed()
    after = (query.get("after_id") or [None])[0]
    if after is not None:
        ids = [f.id for f in files]
        files = files[ids.index(after) + 1:] if after in ids else []
    try:
        limit = min(max(int((query.get("limit") or [DEFAULT_PAGE])[0]), 1), MAX_PAGE)
    except ValueError:
        _fail(handler, 400, "limit: Input should be a valid integer")
        return
    page = files[:limit]
    _send(handler, 200, {"data": [f.metadata() for f in page], "has_more": len(files) > limit,
                         "first_id": page[0].id if page else None,
                         "last_id": page[-1].id if page else None})


def _fail(handler: BaseHTTPRequestHandler, status: int, message: str) -> None:
    _send(handler, status, error_body(status, message, request_id()))


def _send(handler: BaseHTTPRequestHandler, status: int, body: dict[str, Any]) -> None:
    data = json.dumps(body).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.send_header("request-id", request_id())
    handler.end_headers()
    handler.wfile.write(data)
