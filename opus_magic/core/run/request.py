"""A parsed `%%opus` cell, the request object the magic hands to the core."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


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
    tools: tuple[dict[str, Any], ...] | None = None
    continue_from: str | None = None
    dry_run: bool = False
    notes: tuple[str, ...] = ()
    history: tuple[dict[str, Any], ...] = ()
    parent_id: str | None = None
    output: str | None = None
    thinking: int | str | None = None  # "adaptive" or a budget in tokens
    effort: str | None = None
    cache: str | None = None
