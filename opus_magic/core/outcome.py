"""What a finished run's outcome means for the user: finish reasons, errors, cache effects."""
from __future__ import annotations

from opus_magic.cost.catalog import ModelInfo
from opus_magic.cost.pricing import cache_savings, format_usd
from opus_magic.records import RunRecord


def interruption(cause: str, tokens: int) -> str:
    """Why a stream ended early, and what is kept."""
    return (f"{cause.rstrip('.')}, after {tokens:,} tokens: the partial answer is kept and its "
            f"cost is estimated; run again for a complete answer.")


def outcome_lines(record: RunRecord, info: ModelInfo | None) -> list[str]:
    """Explanations worth a line of their own, most important first."""
    lines: list[str] = []
    if record.error:
        lines.append(record.error)
    if record.status == "stopped" and not record.error:
        lines.append("Stopped: the text that arrived is kept; the cost is estimated.")
    if record.finish_reason == "length":
        lines.append(length_line(record, info))
    elif record.finish_reason == "tool_calls" or record.params.get("tool_calls"):
        calls = ", ".join(f"{call['function']['name']}({call['function']['arguments']})"
                          for call in record.params.get("tool_calls", ()))
        lines.append(f"The model asks to call {calls or 'a tool'}: opus_magic shows tool calls "
                     f"but does not run them; the calls are in the run record's params.")
    elif record.finish_reason == "content_filter":
        lines.append("The provider's content filter stopped the answer; the text before it is "
                     "kept: rephrase the prompt or ask for the topic differently.")
    if record.params.get("refused"):
        lines.append("The model refused: its refusal is the answer above, and its tokens are "
                     "billed; rephrase the prompt if the refusal is a misunderstanding.")
    if record.params.get("usage_implausible"):
        lines.append("The endpoint reported 0 tokens in and out for a non-empty answer, which "
                     "cannot be right: the cost is kept as an estimate from counted tokens.")
    lines.extend(record.params.get("retries", ()))
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


def length_line(record: RunRecord, info: ModelInfo | None) -> str:
    """Who cut the answer: your max_tokens, the model's output ceiling, or the endpoint."""
    produced, asked = record.usage.output_tokens, record.max_tokens or 0
    ceiling = info.max_output if info else None
    if ceiling is not None and asked >= ceiling:
        return (f"Cut at {produced:,} tokens: the model's own output ceiling ({ceiling:,}). "
                f"Ask for a shorter answer or split the task.")
    if produced >= asked:
        room = f" (the model allows up to {ceiling:,})" if ceiling else ""
        return (f"Cut at {produced:,} tokens by your max_tokens ({asked:,}): raise --max-tokens "
                f"for a complete answer{room}.")
    return (f"Cut at {produced:,} tokens, below your max_tokens ({asked:,}): the endpoint "
            f"applies its own output limit; ask for a shorter answer or split the task.")
