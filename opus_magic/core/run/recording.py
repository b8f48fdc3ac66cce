"""A finished run as a record: status, usage, cost (exact or estimated) and the parameters sent."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from opus_magic.core.run.live import LiveRun
from opus_magic.core.run.outcome import interruption
from opus_magic.core.run.plan import Plan
from opus_magic.core.schema.answer import check
from opus_magic.cost import pricing
from opus_magic.records import RunRecord, Usage
from opus_magic.wire.client import Response
from opus_magic.wire.ratelimits import parse as parse_rate_limits
from opus_magic.wire.stream import StreamState


def build_record(live: LiveRun, error: str | None, billed: bool = True) -> RunRecord:
    """The record of a finished run: its outcome, usage, cost and what it sent."""
    plan, state = live.plan, live.state
    usage = live.usage if billed else Usage()
    status, error = _ending(live, usage, error)
    live.status = status
    mode = pricing.served_mode(state.served)  # fast mode, US-only inference, as usage says
    cost = pricing.usage_cost(usage, plan.info, mode) if billed else Decimal(0)
    source = ("catalog" if live.exact else "estimate") if billed else "not billed"
    if state.provider_cost is not None:
        cost, source = Decimal(str(state.provider_cost)), "provider"
    if cost is None:
        source = "unknown"
    request = plan.request
    return RunRecord(
        id=live.id, created_at=live.created_at, model=request.model, prompt=request.prompt,
        messages=plan.messages, response_model=state.response_model,
        endpoint=plan.endpoint.base_url, params=sent_params(plan), text=state.text,
        status=status, finish_reason=state.finish_reason, usage=usage, cost=cost,
        cost_exact=(live.exact or not billed) and cost is not None, cost_source=source,
        ttft_s=live.ttft_s,
        duration_s=(live.ended or live.started) - live.started, error=error, tag=request.tag,
        max_tokens=plan.max_tokens, concise=request.concise,
        comparison_id=request.comparison_id, parent_id=request.parent_id,
        notes=[*plan.warnings, *_limit_notes(live.response)],
        tiktoken_input=plan.counted_tokens if live.exact else None,
        tiktoken_output=live.counter.tokens if live.exact else None,
        retries=list(live.retries), tool_calls=state.clean.deep(state.tool_calls),
        stop_reason=live.stop_reason, simulator=live.simulator,
        rate_limits=_rate_limits(live.response), thinking_text=live.thinking_text,
        thinking_shown_tokens=live.thinking_counter.tokens if live.thinking_counter else None,
        refused=state.refused, usage_implausible=state.implausible_usage,
        speed=state.served.get("speed"), inference_geo=state.served.get("inference_geo"),
        ignored=list(state.ignored), **loop_facts(plan, state), **plan_facts(plan))


def _ending(live: LiveRun, usage: Usage, error: str | None) -> tuple[str, str | None]:
    """How the run ended, and the error to show: a stream that stopped early says how far it got
    in the same count of output tokens the record keeps."""
    state = live.state
    status, cause = live.status, live.cut
    if status == "running":
        cause = (f"The endpoint reported an error mid-stream ({state.error})" if state.error
                 else "The stream ended without a finish reason" if state.finish_reason is None
                 else None)
        status = "ok" if cause is None else "interrupted"
    if status == "interrupted" and cause is not None:
        error = interruption(cause, usage.output_tokens)
    return status, error


def plan_facts(plan: Plan) -> dict[str, Any]:
    """What a record keeps of its plan besides the parameters sent: profile, tools, the
    pre-flight count, where its prices came from, the cache breakpoints where the API has
    them, and its attachments."""
    cache = plan.cache
    return {"profile": plan.endpoint.name,
            "tools": [tool.get("function", {}).get("name") for tool in plan.request.tools or ()]
            + [tool.name for tool in plan.request.server_tools],
            "tool_tokens": plan.tool_tokens, "input_estimate": plan.input_tokens,
            "input_exact": plan.exact_input,
            "price_source": plan.info.price_source if plan.info and plan.info.priced else None,
            "calibration": str(plan.calibration) if plan.calibration else None,
            "api": plan.transport.api if cache else None,
            "api_version": plan.transport.version_for(plan.body) if cache else None,
            "legacy": plan.legacy,
            "cache_breakpoints": list(cache.breakpoints) if cache else [],
            "cache_ttl": cache.ttl if cache else None,
            "attachments": attached_facts(plan)}


def attached_facts(plan: Plan) -> list[Any]:
    """What the history keeps of the plan's attachments (their code loaded only if any)."""
    if plan.attached is None:
        return []
    from opus_magic.core.run.attach.attached import facts

    return facts(plan.attached, plan.request.keep_attachments)


def loop_facts(plan: Plan, state: StreamState) -> dict[str, Any]:
    """The tool loop a run is a step of, the schema asked for and, for an answer (not a turn
    that calls tools), whether it matches: the parsed value, or why not."""
    request = plan.request
    linked = {"chain_id": request.chain_id, "step": request.step}
    schema = request.output_schema
    if schema is None:
        return linked
    if state.tool_calls or state.finish_reason in ("tool_use", "tool_calls", "pause_turn"):
        return {**linked, "schema": schema.name}
    checked = check(state.text, schema, state.finish_reason)
    return {**linked, "schema": schema.name, "parsed": checked.parsed,
            "schema_error": checked.error}


def _limit_notes(response: Response | None) -> tuple[str, ...]:
    """Rate-limit header values that were not usable numbers, one line each."""
    limits = None if response is None else parse_rate_limits(response.headers)
    return () if limits is None else limits.notes


def _rate_limits(response: Response | None) -> dict[str, Any] | None:
    """The rate limits the response reported; none when its headers cannot be read (the run is
    recorded all the same)."""
    try:
        limits = None if response is None else parse_rate_limits(response.headers)
    except (ValueError, ArithmeticError):
        return None
    return None if limits is None else limits.to_dict()


def sent_params(plan: Plan) -> dict[str, Any]:
    """The parameters sent: the wire body less the conversation, the system prompt and tools."""
    return {k: v for k, v in plan.body.items()
            if k not in ("messages", "stream_options", "tools", "system")}
