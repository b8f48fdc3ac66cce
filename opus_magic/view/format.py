"""How every view writes money, time, speed, model names, end states, colours and text tables."""
from __future__ import annotations

from collections.abc import Collection, Sequence
from decimal import Decimal

from opus_magic.cost.pricing import format_usd
from opus_magic.records import RunRecord, tokens_per_s

NOT_BILLED = "not billed"
UNKNOWN = "unknown"
NONE = "–"  # a figure that does not exist (yet), in tables, meters and summaries
CUT = ("length", "max_tokens")  # finish reasons of an answer cut at its token limit


def money(amount: Decimal | None, estimated: bool = False, source: str | None = None) -> str:
    """Dollars to at least 4 significant digits, `≈` once when estimated, or why there are none."""
    if source == NOT_BILLED:
        return NOT_BILLED
    return UNKNOWN if amount is None else format_usd(amount, estimated)


def run_cost(record: RunRecord) -> str:
    """A run's cost as every view shows it."""
    return money(record.cost, not record.cost_exact, record.cost_source)


def seconds(value: float | None) -> str:
    return NONE if value is None else f"{value:.2f} s"


def rate(tokens: int, window_s: float | None) -> str:
    """Tokens per second over enough tokens and streaming time to mean something, else `–`."""
    speed = tokens_per_s(tokens, window_s)
    return NONE if speed is None else f"{speed:,.1f} tok/s"


def speed(value: float | None) -> str:
    """A speed in tables and summaries: whole tokens per second, else `–`."""
    return NONE if value is None else f"{value:,.0f}"


def count(value: float | None) -> str:
    return NONE if value is None else f"{value:,.0f}"


def model_label(record: RunRecord) -> str:
    """The model that answered (else the one asked), marked when the simulator answered."""
    name = record.response_model or record.model
    return f"{name} (simulator)" if record.simulator else name


def end_state(record: RunRecord) -> str:
    """How a run ended, in words: never a bare finish reason."""
    if record.status == "stopped":
        return "stopped: budget" if record.stop_reason == "budget" else "stopped by you"
    if record.status in ("error", "interrupted"):
        return record.status
    if record.finish_reason in CUT:  # OpenAI's `length`, Claude's native `max_tokens`
        if record.max_tokens is not None and record.usage.output_tokens >= record.max_tokens:
            return f"hit max_tokens (yours: {record.max_tokens:,})"
        return "hit the model's ceiling"
    return {"content_filter": "stopped by the content filter", "refusal": "declined by the model",
            "tool_calls": "asks to call a tool", "tool_use": "asks to call a tool",
            "pause_turn": "paused by the server"}.get(record.finish_reason or "", "complete")


# One palette, from JupyterLab's theme variables: each status colour is mixed with the theme's
# strongest text colour (black in Light, white in Dark), which keeps it readable on either
# background; outside JupyterLab the fallbacks mix with the frontend's own text colour.
TEXT = "var(--jp-ui-font-color1, currentColor)"
BASE = "var(--jp-ui-font-color0, currentColor)"
_THEME = {"running": "--jp-brand-color1, #0969da", "ok": "--jp-success-color1, #1a7f37",
          "error": "--jp-error-color1, #cf222e", "interrupted": "--jp-warn-color0, #9a6700",
          "stopped": "--jp-ui-font-color2, #6e7781", "estimate": "--jp-warn-color0, #9a6700",
          "note": "--jp-info-color0, #0969da"}


def colour(name: str, strength: int = 70) -> str:
    """A palette colour as CSS that reads on the current theme's background."""
    return f"color-mix(in srgb, var({_THEME[name]}) {strength}%, {BASE})"


def tint(name: str, strength: int = 18) -> str:
    """A palette colour as a faint background (badges, diff marks) under ordinary text."""
    return f"color-mix(in srgb, var({_THEME[name]}) {strength}%, transparent)"


STATUS_COLOURS = {status: colour(status) for status in ("running", "ok", "error", "interrupted",
                                                         "stopped")}
BORDER = "var(--jp-border-color2, #d0d7de)"


def text_table(rows: Sequence[Sequence[str]], left: Collection[int] = (0,)) -> str:
    """Rows as aligned plain text: columns in `left` to the left, the others to the right.

    A left-aligned last column is not padded (long prompts and sources end the line).
    """
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    last = len(widths) - 1
    return "\n".join("  ".join(cell if i == last and i in left else
                               cell.ljust(w) if i in left else cell.rjust(w)
                               for i, (cell, w) in enumerate(zip(row, widths))).rstrip()
                     for row in rows)
