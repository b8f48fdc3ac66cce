"""Attachment bytes in a JSON body, base64-encoded only while the body is sent.

A body names each attachment's bytes with an `Encoded` value instead of its base64 text, so a
planned request holds the bytes once (not the bytes, their base64 and the JSON made of it) and
a dry run encodes nothing. `json_body` writes the body as it goes out: the JSON around the
attachments is dumped once, each attachment is encoded slice by slice into the stream, and
the length is known beforehand (base64 needs no JSON escaping), so the request keeps its
Content-Length. `plain` gives the body as ordinary JSON values where a library must have them.
"""
from __future__ import annotations

import base64
import json
import re
import secrets
from collections.abc import Callable, Iterator
from typing import Any

SLICE = 3 * 64 * 1024  # bytes encoded at a time: a multiple of 3, so the pieces join cleanly


class Encoded:
    """Bytes standing for `prefix` + their base64 text; `key` (the bytes' sha256) names them in
    cache keys and reprs, and equality with a string compares the text it stands for."""

    __slots__ = ("data", "key", "prefix")

    def __init__(self, data: bytes, prefix: str = "", key: str = "") -> None:
        self.data, self.prefix, self.key = data, prefix, key

    def __len__(self) -> int:
        return len(self.prefix) + (len(self.data) + 2) // 3 * 4

    def text(self) -> str:
        """The whole text: the prefix, then the base64 of the bytes."""
        return self.prefix + base64.b64encode(self.data).decode("ascii")

    def pieces(self) -> Iterator[bytes]:
        """The text as UTF-8, a slice of the bytes at a time."""
        if self.prefix:
            yield json.dumps(self.prefix, ensure_ascii=False)[1:-1].encode()
        for start in range(0, len(self.data), SLICE):
            yield base64.b64encode(self.data[start:start + SLICE])

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Encoded):
            return self.prefix == other.prefix and self.data == other.data
        if isinstance(other, str):
            return other == self.text()
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.prefix, self.key or self.data))

    def __repr__(self) -> str:
        return f"Encoded({self.prefix!r}, {len(self.data):,} bytes, sha256={self.key})"


def json_body(body: Any) -> tuple[int, Callable[[], Iterator[bytes]]]:
    """The body's length in bytes and a function giving its bytes afresh (each attempt sends
    them anew), written as httpx writes JSON: compact, UTF-8."""
    marks: list[Encoded] = []
    nonce = f"opus-encoded-{secrets.token_hex(8)}-"

    def mark(value: Any) -> str:
        if not isinstance(value, Encoded):
            raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")
        marks.append(value)
        return f"{nonce}{len(marks) - 1}"

    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False,
                      default=mark)
    if not marks:
        whole = text.encode()
        return len(whole), lambda: iter((whole,))
    parts = [part.encode() for part in re.split(f'"{re.escape(nonce)}\\d+"', text)]
    escaped = [len(json.dumps(m.prefix, ensure_ascii=False).encode()) - 2 for m in marks]
    length = (sum(len(part) for part in parts) + 2 * len(marks) + sum(escaped)
              + sum(len(m) - len(m.prefix) for m in marks))

    def chunks() -> Iterator[bytes]:
        for part, value in zip(parts, marks):
            yield part + b'"'
            yield from value.pieces()
            yield b'"'
        yield parts[-1]

    return length, chunks


def plain(body: Any) -> Any:
    """The body with every Encoded value as its text (for libraries that serialise it)."""
    if isinstance(body, Encoded):
        return body.text()
    if isinstance(body, dict):
        return {key: plain(value) for key, value in body.items()}
    if isinstance(body, (list, tuple)):
        return [plain(value) for value in body]
    return body
