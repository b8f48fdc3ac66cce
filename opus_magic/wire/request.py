"""What a request body is written from, whatever the wire API."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from opus_magic.media.attachment import Attachment

Thinking = int | str | None  # a budget in tokens, "adaptive", or None for no thinking


@dataclass(frozen=True, kw_only=True)
class WireRequest:
    """What a body is written from: the model name sent, OpenAI-format messages and tools, and
    the parameters; `breakpoints` ("tools", "system", "attachments", "turn") and `ttl` mark what
    to cache where the API takes cache breakpoints. `attachments` are each user turn's, in
    order, sent before its text; `detail` is OpenAI's image detail, `pdf_files` whether the
    model reads PDFs sent as chat-completions `file` parts."""

    model: str
    messages: Sequence[dict[str, Any]]
    max_tokens: int
    stream: bool = True
    temperature: float | None = None
    tools: Sequence[dict[str, Any]] | None = None
    thinking: Thinking = None
    effort: str | None = None
    breakpoints: tuple[str, ...] = ()
    ttl: str = "5m"
    attachments: Sequence[Sequence[Attachment]] = ()
    detail: str = "auto"
    pdf_files: bool = False
