"""The run record: one dataclass shared by the engine, the store, the views and the Python API."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal, get_args

Status = Literal["ok", "error", "interrupted", "stopped"]
STATUSES: tuple[Status, ...] = get_args(Status)
CONCISE_MODES = ("off", "concise", "code")
# Tokens per second mean something only over enough tokens streamed for long enough: a short
# answer, or one an instant server sends at once, has no speed worth comparing.
SPEED_MIN_TOKENS = 20
SPEED_MIN_STREAM_S = 0.5


def tokens_per_s(output_tokens: int, stream_s: float | None) -> float | None:
    """Output tokens per second of streaming (first token to end), where that means something."""
    if stream_s is None or stream_s < SPEED_MIN_STREAM_S or output_tokens < SPEED_MIN_TOKENS:
        return None
    return output_tokens / stream_s


@dataclass(frozen=True)
class Usage:
    """Token usage of one request; `input_tokens` includes cache reads and cache writes.

    `cache_write_1h_tokens` is the part of `cache_write_tokens` written with a one-hour lifetime
    (priced higher than the default five minutes), when the provider reports it.
    """

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    cache_write_1h_tokens: int = 0
    thinking_tokens: int = 0  # the part of output_tokens billed for thinking (Anthropic's count)
    cache_write_5m_tokens: int = 0  # the part of cache_write_tokens with a five-minute lifetime
    web_search_requests: int = 0  # server-side web searches billed (usage.server_tool_use)
    web_fetch_requests: int = 0  # server-side web fetches

    @property
    def uncached_input_tokens(self) -> int:
        return max(self.input_tokens - self.cache_read_tokens - self.cache_write_tokens, 0)


@dataclass(frozen=True, kw_only=True)
class AttachedFile:
    """What the history keeps of one attachment of a run: never its bytes unless `data` was kept
    (`--keep-attachments`); `turn` is the user turn it went with (0: the first), `source` the
    path or URL it was attached from, `file_id` its upload to the Files API."""

    name: str
    media_type: str
    kind: str
    size: int = 0
    sha256: str | None = None
    pixels: tuple[int, int] | None = None
    pages: int | None = None
    tokens: int | None = None
    tokens_exact: bool = False
    file_id: str | None = None
    source: str | None = None
    turn: int = 0
    notes: tuple[str, ...] = ()
    data: bytes | None = None


@dataclass(slots=True)
class RunRecord:
    """Everything known about one run, whatever its outcome.

    `params` holds the parameters sent (the wire body less messages, system and tools); every
    other fact is a typed field of its own.
    """

    id: str
    created_at: str
    model: str
    prompt: str
    messages: list[dict[str, Any]] = field(default_factory=list)
    response_model: str | None = None
    endpoint: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    text: str = ""
    status: Status = "ok"
    finish_reason: str | None = None
    usage: Usage = field(default_factory=Usage)
    cost: Decimal | None = None
    cost_exact: bool = False
    cost_source: str = "unknown"
    ttft_s: float | None = None
    duration_s: float | None = None
    error: str | None = None
    tag: str | None = None
    max_tokens: int | None = None
    concise: str = "off"
    comparison_id: str | None = None
    parent_id: str | None = None
    notes: list[str] = field(default_factory=list)
    tiktoken_input: int | None = None  # tiktoken's own counts, kept when the server's usage arrived
    tiktoken_output: int | None = None
    retries: list[str] = field(default_factory=list)  # each retry wait, once it was over
    tool_calls: list[dict[str, Any]] = field(default_factory=list)  # as the model asked for them
    stop_reason: str | None = None  # why the run was stopped early (e.g. "budget")
    simulator: bool = False  # the built-in simulator answered
    user: str | None = None  # who ran it (config `user`, else the OS login)
    project: str | None = None  # config `project`, else the notebook's directory name
    batch_id: str | None = None  # the history's batch id when a provider batch engine ran it
    rate_limits: dict[str, Any] | None = None
    grid_id: str | None = None
    variant: str | None = None
    row: int | None = None
    column: int | None = None  # a grid cell's (variant, model) column, in its table's order
    checks: dict[str, Any] | None = None
    cell_key: str | None = None
    repeat: int | None = None  # which sample of its grid cell (from 0) under --repeat
    judge_of: str | None = None  # a judge's run: the id of the grid answer it scored
    stage: int | None = None  # a cascade's stage (1 = its first model) this run answered at
    profile: str | None = None  # the endpoint profile it went through
    tools: list[str] = field(default_factory=list)  # names of the tools sent
    tool_tokens: int = 0  # what the tool definitions came to, in input tokens
    input_estimate: int | None = None  # the pre-flight input count
    input_exact: bool = False  # the pre-flight count was the provider's own (count_tokens)
    price_source: str | None = None  # where the model's prices came from, and their date
    calibration: str | None = None  # how tiktoken's estimates were corrected for this model
    api: str | None = None  # the wire API, where it has cache breakpoints and a version
    api_version: str | None = None
    cache_breakpoints: list[str] = field(default_factory=list)
    cache_ttl: str | None = None
    thinking_text: str = ""  # the (summarized) thinking shown
    thinking_shown_tokens: int | None = None
    refused: bool = False  # the model refused; its refusal is the text
    usage_implausible: bool = False  # the reported usage could not be right (0 for an answer)
    reused_from: str | None = None  # a grid cell taken from this earlier run's answer
    custom_id: str | None = None  # its request's id in a provider batch
    legacy: str | None = None  # "legacy: Opus 5.5 is current, 20 % cheaper"
    speed: str | None = None  # usage.speed as the response reported it ("fast" is priced apart)
    inference_geo: str | None = None  # usage.inference_geo ("us" is priced ×1.1)
    attachments: list[AttachedFile] = field(default_factory=list)  # in the order they were sent
    chain_id: str | None = None  # the tool loop this model call is a step of
    step: int | None = None  # its step in the loop, from 1
    tool_results: list[dict[str, Any]] = field(default_factory=list)  # its tool calls' results
    schema: str | None = None  # the name of the output schema the answer was asked to follow
    parsed: Any = None  # the answer parsed and valid against that schema
    schema_error: str | None = None  # why the answer does not match it
    ignored: list[str] = field(default_factory=list)  # values the endpoint sent that were wrong
    # Why the history could not record it (kept in the session meanwhile); never stored itself.
    not_recorded: str | None = None

    @property
    def tokens_per_s(self) -> float | None:
        """Output tokens per second from the first token to the end, where that means something."""
        if self.ttft_s is None or self.duration_s is None:
            return None
        return tokens_per_s(self.usage.output_tokens, self.duration_s - self.ttft_s)

    @property
    def retry_count(self) -> int:
        return len(self.retries)

    @property
    def tool_call_count(self) -> int:
        return len(self.tool_calls)

    def replace(self, **changes: Any) -> RunRecord:
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class BatchRow:
    """One submitted batch; `cells` maps each custom_id to what its run record needs."""

    id: str
    provider_batch_id: str
    api: str
    endpoint: str
    profile: str
    grid_id: str | None
    submitted_at: str
    status: str
    counts: dict[str, int] = field(default_factory=dict)
    cells: dict[str, dict[str, Any]] = field(default_factory=dict)
    collected_at: str | None = None
