"""What a `%%opus` cell asks for (as parsed by the magic), and what one run of it asks for."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from opus_magic.core.tools.toolbox import LoopSettings

if TYPE_CHECKING:  # a cell without attachments, tools or a schema loads none of their code
    from opus_magic.core.schema.spec import OutputSchema
    from opus_magic.core.tools.toolbox import Toolbox
    from opus_magic.media.attachment import Attachment
    from opus_magic.wire.request import ServerTool

Turns = tuple[tuple["Attachment", ...], ...]  # the attachments of each user turn, in order


@dataclass(frozen=True)
class CellInput:
    """A parsed `%%opus` cell: the prompt after interpolation and the flags as given."""

    prompt: str
    models: tuple[str, ...] = ()
    max_tokens: str | None = None
    temperature: str | None = None
    system: str | None = None
    concise: str | None = None
    stream: bool | None = None
    profile: str | None = None
    tag: str | None = None
    tools: Toolbox | None = None
    continue_from: str | None = None
    dry_run: bool = False
    notes: tuple[str, ...] = ()
    history: tuple[dict[str, Any], ...] = ()
    parent_id: str | None = None
    output: str | None = None
    thinking: int | str | None = None  # "adaptive" or a budget in tokens
    effort: str | None = None
    cache: str | None = None
    attachments: tuple[Attachment, ...] = ()  # this cell's, sent before its text
    earlier_attachments: Turns = ()  # those of the earlier turns of a continued conversation
    upload: bool = False  # send attachments by file_id through the Files API
    keep_attachments: bool = False  # the history keeps their bytes, for exact replay
    loop: LoopSettings = LoopSettings()
    schema: OutputSchema | None = None
    server_tools: tuple[ServerTool, ...] = ()
    parallel_tools: bool = True

    @property
    def loops(self) -> bool:
        """Whether the cell runs as a tool loop: functions to run, or server tools (a turn the
        server pauses is sent back to go on)."""
        return bool(self.server_tools) or (self.tools is not None and self.tools.runnable)


@dataclass(frozen=True)
class RunRequest:
    """What one run asks for, after flags and settings are merged."""

    prompt: str
    model: str
    max_tokens: int
    temperature: float | None = None
    system: str | None = None
    concise: str = "off"
    stream: bool = True
    tag: str | None = None
    tools: tuple[dict[str, Any], ...] | None = None
    history: tuple[dict[str, Any], ...] = ()
    parent_id: str | None = None
    comparison_id: str | None = None
    notes: tuple[str, ...] = ()
    thinking: int | str | None = None  # "adaptive" or a budget in tokens (native API only)
    effort: str | None = None  # low, medium, high or max (native API only)
    cache: str = "auto"  # auto, 5m, 1h or off (native API only)
    attachments: Turns = ()  # each user turn's (history, then this prompt); () for none
    upload: bool = False  # through the Files API, where the API has one
    keep_attachments: bool = False
    output_schema: OutputSchema | None = None  # the schema the answer must follow
    server_tools: tuple[ServerTool, ...] = ()  # web search and fetch (native API only)
    parallel_tools: bool = True  # the model may call several tools in one turn
    turns: tuple[dict[str, Any], ...] = ()  # tool turns after the prompt, in a tool loop
    chain_id: str | None = None  # the tool loop this request is a step of
    step: int | None = None
