"""What a finished run's outcome means for the user: finish reasons, errors, cache effects."""
from __future__ import annotations

from .catalog import ModelInfo
from .pricing import cache_savings, format_usd
from .records import RunRecord


def outcome_lines(record: RunRecord, info: ModelInfo | None) -> list[str]:
    """Explanations worth a line of their own, most important first."""
    lines: list[str] = []
    if record.error:
        lines.append(record.error)
    if record.status == "stopped" and not record.error:
        lines.append("Stopped: the text that arrived is kept; the cost is estimated.")
    if record.finish_reason == "length":
        ceiling = info.max_output if info else None
        if ceiling is not None and record.max_tokens is not None and record.max_tokens >= ceiling:
            lines.append(f"Cut at {record.usage.output_tokens:,} tokens: the model's own output "
                         f"ceiling ({ceiling:,}). Ask for a shorter answer or split the task.")
        else:
            lines.append(f"Cut at {record.usage.output_tokens:,} tokens by your max_tokens "
                         f"({record.max_tokens:,}): raise --max-tokens for a complete answer.")
    elif record.finish_reason == "content_filter":
        lines.append("The provider's content filter stopped the answer: rephrase the prompt.")
    usage = record.usage
    if usage.cache_read_tokens or usage.cache_write_tokens:
        saved = cache_savings(usage, info)
        if saved is not None and saved >= 0:
            effect = f"saved {format_usd(saved)}"
        else:
            effect = f"cost {format_usd(-saved) if saved is not None else 'unknown'} extra"
        lines.append(f"Cache: {usage.cache_read_tokens:,} tokens read, "
                     f"{usage.cache_write_tokens:,} written; caching {effect} on this run.")
    return lines
