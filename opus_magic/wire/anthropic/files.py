"""Anthropic's Files API: upload once, then send a `file_id` instead of the bytes.

`POST {api_root}/v1/files` (multipart), `GET /v1/files`, `GET` and `DELETE /v1/files/{id}`,
with the Messages API's key and version headers plus `anthropic-beta: files-api-2025-04-14`.
File operations are free; a file is billed as input tokens only when a request uses it. Every
error goes through the same explanations as the Messages API's (wire/explain.py), the key
scrubbed from anything the server sends back.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from opus_magic.errors import RequestError, StreamInterrupted, UsageError
from opus_magic.media.attachment import Attachment
from opus_magic.media.limits import ANTHROPIC
from opus_magic.wire.anthropic.messages import api_root, headers
from opus_magic.wire.client import send
from opus_magic.wire.endpoints import Endpoint

BETA = "files-api-2025-04-14"
PAGE = 100  # files a listing asks for at a time


@dataclass(frozen=True)
class StoredFile:
    """A file the Files API holds, as its metadata describes it."""

    id: str
    filename: str
    mime_type: str
    size_bytes: int
    created_at: str
    downloadable: bool = False

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> StoredFile:
        """Read a `file` object of the API."""
        return cls(id=str(body["id"]), filename=str(body.get("filename", "")),
                   mime_type=str(body.get("mime_type", "")),
                   size_bytes=int(body.get("size_bytes") or 0),
                   created_at=str(body.get("created_at", "")),
                   downloadable=bool(body.get("downloadable", False)))


def files_headers(endpoint: Endpoint) -> dict[str, str]:
    """The Messages API's headers (key, version) plus the Files API's beta flag."""
    return {**headers(endpoint), "anthropic-beta": BETA}


def upload(endpoint: Endpoint, attachment: Attachment, timeout_s: float = 300.0) -> StoredFile:
    """Upload an attachment's bytes (text as text/plain, which document blocks take)."""
    if attachment.data is None:
        raise UsageError(f"{attachment.name} has no bytes here to upload (it is a URL or already "
                         f"a file_id): attach the file itself.")
    if attachment.size > ANTHROPIC.file_bytes:
        raise UsageError(f"{attachment.name} is {attachment.size / 1e6:,.0f} MB, over the 500 MB "
                         f"the Files API stores a file: split it.")
    media_type = "text/plain" if attachment.kind == "text" else attachment.media_type
    hints = {413: "The file is over what the Files API stores (500 MB a file): split it."}
    return StoredFile.from_body(_call(endpoint, "POST", "", timeout_s, hints=hints,
                                      files={"file": (attachment.name, attachment.data,
                                                      media_type)}))


def uploaded(endpoint: Endpoint, attachment: Attachment, timeout_s: float = 300.0) -> Attachment:
    """The attachment uploaded, now sent by its file_id (its bytes kept for counting)."""
    return attachment.with_file_id(upload(endpoint, attachment, timeout_s).id)


def list_files(endpoint: Endpoint, timeout_s: float = 30.0) -> tuple[StoredFile, ...]:
    """Every stored file, newest first, following the listing's pages."""
    found: list[StoredFile] = []
    after: str | None = None
    while True:
        query = urlencode({"limit": PAGE, **({"after_id": after} if after else {})})
        page = _call(endpoint, "GET", f"?{query}", timeout_s)
        found += [StoredFile.from_body(item) for item in page.get("data") or ()]
        after = page.get("last_id")
        if not page.get("has_more") or not after:
            return tuple(found)


def get_file(endpoint: Endpoint, file_id: str, timeout_s: float = 30.0) -> StoredFile:
    """One stored file's metadata."""
    return StoredFile.from_body(_call(endpoint, "GET", _one(file_id), timeout_s,
                                      hints=_missing(file_id)))


def delete_file(endpoint: Endpoint, file_id: str, timeout_s: float = 30.0) -> str:
    """Delete a stored file; returns its id. Requests that still name it then fail."""
    body = _call(endpoint, "DELETE", _one(file_id), timeout_s, hints=_missing(file_id))
    return str(body.get("id", file_id))


def _one(file_id: str) -> str:
    return "/" + quote(file_id, safe="")


def _missing(file_id: str) -> dict[int, str]:
    return {404: f"No file {file_id} is stored (deleted already, or uploaded with another "
                 f"key or workspace): list_files() shows what is."}


def _call(endpoint: Endpoint, method: str, path: str, timeout_s: float,
          hints: dict[int, str] | None = None,
          files: dict[str, tuple[str, bytes, str]] | None = None) -> dict[str, Any]:
    url = api_root(endpoint.base_url) + "/v1/files" + path
    response = send(endpoint, method, url, files_headers(endpoint), timeout_s, files=files,
                    hints=hints)
    try:
        body = next(response.chunks(), {})
    except StreamInterrupted as exc:  # a malformed body or a broken connection
        raise RequestError(f"The Files API call failed: {exc}") from None
    finally:
        response.close()
    if not isinstance(body, dict):
        raise RequestError(f"The Files API at {endpoint.base_url} answered an unexpected shape.")
    return body
