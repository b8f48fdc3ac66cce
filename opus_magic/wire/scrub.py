"""The one boundary a server's words cross: an API key echoed back becomes its mask."""
from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from opus_magic.secret import mask


class Scrubber:
    """The one boundary everything a server sends passes through before anything reads it: the
    key, if echoed back (by a proxy, a gateway, an error page), becomes its mask. Raw text is
    cleaned before it is parsed, so a key inside any JSON shape or header is caught."""

    def __init__(self, key: str | None) -> None:
        self._key = key if key and len(key) >= 8 else None
        self._mask = mask(key)

    def __call__(self, text: str) -> str:
        if self._key is None or self._key not in text:
            return text
        return text.replace(self._key, self._mask)

    def headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        return {self(name): self(value) for name, value in headers.items()}

    def deep(self, value: Any) -> Any:
        """Every string inside decoded JSON cleaned, keys too: a key written with JSON escapes
        (`sk\\u002d…`) only shows itself once decoded."""
        if self._key is None:
            return value
        if isinstance(value, str):
            return self(value)
        if isinstance(value, dict):
            return {self.deep(k): self.deep(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.deep(item) for item in value]
        return value

    def stream(self) -> StreamScrubber:
        """A scrubber for text that arrives in pieces, for one stream of it."""
        return StreamScrubber(self._key, self._mask)


class StreamScrubber:
    """Text arriving in pieces (answer deltas), released with the key masked: a tail that could
    be the start of the key is held back until the next piece says whether it is, so a key split
    across pieces never shows, and what is released only ever grows."""

    def __init__(self, key: str | None, masked: str) -> None:
        self._key, self._mask = key, masked
        self._chars = frozenset(key or "")
        self._held = ""

    def feed(self, text: str) -> str:
        """The part of everything fed so far that can be shown now, masked."""
        key = self._key
        if key is None:
            return text
        pending = self._held + text if self._held else text
        if key in pending:
            pending = pending.replace(key, self._mask)
        if not pending or pending[-1] not in self._chars:  # no tail can start the key
            self._held = ""
            return pending
        # Where the longest tail that the key starts with begins (a tail shorter than the key).
        at = pending.find(key[0], max(len(pending) - len(key) + 1, 0))
        while at != -1 and not key.startswith(pending[at:]):
            at = pending.find(key[0], at + 1)
        if at == -1:
            self._held = ""
            return pending
        self._held = pending[at:]
        return pending[:at]

    def flush(self) -> str:
        """What is still held back, at the end of the stream (it was not the key)."""
        held, self._held = self._held, ""
        return held


class KeyLogFilter(logging.Filter):
    """The HTTP libraries log response headers at DEBUG before we see them: their log records
    pass the same scrubbing, so an echoed key never reaches a log either."""

    # Filters are not inherited by child loggers, so each logging module is named (httpcore's
    # are created on first connection, after the filter must already be in place).
    LOGGERS = tuple(f"{library}{part}" for library in ("httpcore", "httpcore2")
                    for part in (".http11", ".http2", ".connection", ".proxy", ".socks")) + (
        "httpx", "httpx2", "openai", "openai._base_client", "anthropic", "anthropic._base_client")

    def __init__(self) -> None:
        super().__init__()
        self.scrubbers: dict[str, Scrubber] = {}

    def guard(self, key: str) -> None:
        """Scrub `key` from every record the HTTP libraries log."""
        self.scrubbers.setdefault(key, Scrubber(key))
        for name in self.LOGGERS:
            logger = logging.getLogger(name)
            if self not in logger.filters:
                logger.addFilter(self)

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        for clean in list(self.scrubbers.values()):
            cleaned = clean(text)
            if cleaned != text:
                record.msg, record.args, text = cleaned, None, cleaned
        return True


KEY_LOGS = KeyLogFilter()
