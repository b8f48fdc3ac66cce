"""The one boundary a server's words cross: an API key echoed back becomes its mask."""
from __future__ import annotations

import logging
from collections.abc import Mapping

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
