"""What a finished run's outcome means for the user: finish reasons, errors, cache effects."""
from __future__ import annotations

from decimal import Decimal

from opus_magic.cost.catalog import ModelInfo, Modifiers
from opus_magic.cost.pricing import cache_savings, format_usd, output_cost
from opus_magic.records import RunRecord
from opus_magic.wire.ratelimits import low_line


def interruption(cause: str, tokens: int) -> str:
    """Why a stream ended early, and what is kept."""
    return (f"{cause.rstrip('.')}, after {tokens:,} token{'' if tokens == 1 else 's'}: the "
            f"partial answer is kept and its cost is estimated; run again for a complete answer.")


def not_recorded_line(reason: str, runs: int = 1) -> str:
    """Why runs are not in the history yet, and where they are meanwhile."""
    what = "the run is" if runs == 1 else f"{runs} runs are"
    return (f"Not recorded: {reason}; {what} kept in this session: `opus_magic.unsaved()` "
            f"(written to the history as soon as it can be).")


def outcome_lines(record: RunRecord, info: ModelInfo | None) -> list[str]:
    """Explanations worth a line of their own, most important first."""
    lines: list[str] = []
    if record.error:
        lines.append(record.error)
    if record.status == "stopped" and not record.error:
        lines.append("Stopped: the text that arrived is kept; the cost is estimated.")
    lines += [line for line in (finish_line(record, info), thinking_line(record, info),
                                schema_line(record)) if line]
    if record.refused:
        lines.append("The model refused: its refusal is the answer above, and its tokens are "
                     "billed; rephrase the prompt if the refusal is a misunderstanding.")
    if record.usage_implausible:
        lines.append("The endpoint reported 0 tokens in and out for a non-empty answer, which "
                     "cannot be right: the cost is kept as an estimate from counted tokens.")
    lines.extend(record.retries)
    lines.extend(record.ignored)
    if record.not_recorded:
        lines.append(not_recorded_line(record.not_recorded))
    served = served_line(record, info)
    if served:
        lines.append(served)
    usage = record.usage
    if usage.cache_read_tokens or usage.cache_write_tokens:
        saved = cache_savings(usage, info)
        if saved is not None and saved >= 0:
            effect = f"saved {format_usd(saved)}"
        else:
            effect = f"cost {format_usd(-saved) if saved is not None else 'unknown'} extra"
        split = (f" ({usage.cache_write_5m_tokens:,} for 5 minutes, "
                 f"{usage.cache_write_1h_tokens:,} for 1 hour)"
                 if usage.cache_write_5m_tokens and usage.cache_write_1h_tokens else
                 " for 1 hour" if usage.cache_write_1h_tokens else "")
        lines.append(f"Cache: {usage.cache_read_tokens:,} tokens read, "
                     f"{usage.cache_write_tokens:,} written{split}; caching {effect} on this run.")
    limits = low_line(record.rate_limits)
    if limits:
        lines.append(limits)
    return lines


def served_line(record: RunRecord, info: ModelInfo | None) -> str | None:
    """How the response's usage says it was served, where that sets the price: in fast mode,
    in the US only."""
    modifiers = info.modifiers if info is not None else Modifiers()
    parts: list[tuple[str, Decimal | None]] = []
    if record.speed == "fast":
        parts.append(("fast mode (usage.speed 'fast')", modifiers.fast))
    if record.inference_geo == "us":
        parts.append(("the US only (usage.inference_geo 'us')", modifiers.inference_geo_us))
    if not parts:
        return None
    if any(factor is None for _, factor in parts):
        named = " and ".join(name for name, _ in parts)
        return f"Served in {named}: no price is known for that, so the cost is unknown."
    return "Served in " + " and ".join(f"{name}: every price ×{factor:f}"
                                       for name, factor in parts) + "."


def finish_line(record: RunRecord, info: ModelInfo | None) -> str | None:
    """What a finish (or native stop) reason means, when it needs saying."""
    reason = record.finish_reason
    if reason in ("length", "max_tokens"):
        return length_line(record, info)
    if (reason in ("tool_calls", "tool_use") or record.tool_calls) and not record.chain_id:
        calls = ", ".join(f"{call['function']['name']}({call['function']['arguments']})"
                          for call in record.tool_calls)
        return (f"The model asks to call {calls or 'a tool'}: tools given as definitions are "
                f"shown, not run (pass notebook functions to --tools to run them); the calls "
                f"are in the run record's tool_calls.")
    if reason == "pause_turn" and record.chain_id:
        return None  # the loop sends the paused turn back itself
    return {
        "content_filter": "The provider's content filter stopped the answer; the text before it "
                          "is kept: rephrase the prompt or ask for the topic differently.",
        "refusal": "Claude declined to continue (stop_reason refusal); the text before it is "
                   "kept: rephrase the prompt or ask for the topic differently.",
        "pause_turn": "The server paused a long turn (stop_reason pause_turn): run the next cell "
                      "with --continue to let it finish.",
    }.get(reason or "")


def schema_line(record: RunRecord) -> str | None:
    """Whether the answer matches the schema it was asked to follow (kept as text if not)."""
    if record.schema is None or (record.parsed is None and record.schema_error is None):
        return None
    if record.schema_error:
        return f"{record.schema_error} The answer is kept as text; -o holds that text."
    return f"The answer matches schema {record.schema}; -o holds it parsed."


def thinking_line(record: RunRecord, info: ModelInfo | None) -> str | None:
    """Thinking billed as output, apart from the answer, and the summary it is shown as."""
    usage = record.usage
    if not usage.thinking_tokens:
        return None
    cost = output_cost(usage.thinking_tokens, info, usage.input_tokens)
    shown = record.thinking_shown_tokens
    summary = (f" The thinking shown is a summary of about {shown:,} tokens:"
               if shown else " The thinking shown is a summary:")
    return (f"Thinking: of {usage.output_tokens:,} output tokens, {usage.thinking_tokens:,} were "
            f"thinking, billed as output ({format_usd(cost)}).{summary} the billed reasoning can "
            f"be much longer than what you see.")


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
