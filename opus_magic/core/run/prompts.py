"""Building the messages of a run: system prompt, concise instruction, conversation history."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

CONCISE_INSTRUCTIONS = {
    "off": "",
    "concise": "Be concise: answer in as few words as a complete answer needs, with no preamble.",
    "code": "Reply with code only: one fenced code block, no explanation before or after it.",
}


def system_prompt(system: str | None, concise: str) -> str | None:
    """The user's system prompt with the concise-mode instruction appended (visible in the record)."""
    extra = CONCISE_INSTRUCTIONS[concise]
    parts = [part for part in (system, extra) if part]
    return "\n\n".join(parts) if parts else None


def build_messages(prompt: str, system: str | None, concise: str,
                   history: Sequence[dict[str, Any]] = ()) -> list[dict[str, Any]]:
    """Messages for one turn; `history` is an earlier conversation (its system message is replaced)."""
    messages: list[dict[str, Any]] = []
    full_system = system_prompt(system, concise)
    if full_system:
        messages.append({"role": "system", "content": full_system})
    messages.extend(m for m in history if m.get("role") != "system")
    messages.append({"role": "user", "content": prompt})
    return messages
