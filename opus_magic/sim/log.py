"""The simulator's request log: one entry per request, as it saw and answered it."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class RequestLog:
    """One request (chat, Messages or count_tokens) as the simulator saw and answered it."""

    id: str
    model: str
    stream: bool
    messages: list[dict[str, Any]]
    max_tokens: int | None
    tools: list[dict[str, Any]] | None
    status: int = 0  # 0 while nothing was sent, or when the connection was cut before a status
    chunks_sent: int = 0
    completed: bool = False
    client_disconnected: bool = False
    started_at: float = field(default_factory=time.time)
    ended_at: float | None = None
    scenario: str | None = None
    api: str = "openai"  # or "anthropic" for /v1/messages
    body: dict[str, Any] | None = None  # the request as sent (Messages: cache_control and all)
    auth: str | None = None  # which header carried the key: "x-api-key" or "bearer"
    billed: dict[str, int] | None = None  # tokens billed, by kind (sim/reports/billing.py)
    key_id: str | None = None  # the key's id in the usage reports (never the key)
