"""What a request body is written from, whatever the wire API."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opus_magic.media.attachment import Attachment

Thinking = int | str | None  # a budget in tokens, "adaptive", or None for no thinking


@dataclass(frozen=True)
class ServerTool:
    """A tool the provider runs itself: "web_search" (at most `max_uses` searches a request) or
    "web_fetch"."""

    name: str
    max_uses: int | None = None


@dataclass(frozen=True)
class OutputFormat:
    """A JSON schema the answer must follow, as the API will take it (fitted by the transport)."""

    name: str
    schema: dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class WireRequest:
    """What a body is written from: the model name sent, OpenAI-format messages and tools, and
    the parameters; `breakpoints` ("tools", "system", "attachments", "turn") and `ttl` mark what
    to cache where the API takes cache breakpoints. `attachments` are each user turn's, in
    order, sent before its text; `detail` is OpenAI's image detail, `pdf_files` whether the
    model reads PDFs sent as chat-completions `file` parts.

    Tool turns are in the messages as OpenAI writes them (an assistant message with
    `tool_calls`, then a `role: "tool"` message per result), with `is_error` on a failed result
    and, on an assistant turn, the API's own content `blocks` where it had some (thinking,
    server tools): each transport writes them its API's way."""

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
    output: OutputFormat | None = None
    server_tools: tuple[ServerTool, ...] = ()
    parallel_tools: bool = True  # the model may call several tools in one turn
