"""A finished run as a record: status, usage, cost (exact or estimated) and the parameters sent."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from opus_magic.core.live import LiveRun
from opus_magic.core.outcome import interruption
from opus_magic.core.plan import Plan
from opus_magic.cost import pricing
from opus_magic.records import RunRecord, Usage
from opus_magic.wire import anthropic
from opus_magic.wire.client import Response
from opus_magic.wire.ratelimits import parse as parse_rate_limits


def build_record(live: LiveRun, error: str | None, billed: bool = True) -> RunRecord:
    """The record of a finished run: its outcome, usage, cost and what it sent."""
    plan, state = live.plan, live.state
    status = live.status
    if status == "running":
        cause = (f"The endpoint reported an error mid-stream ({state.error})" if state.error
                 else "The stream ended without a finish reason" if state.finish_reason is None
                 else None)
        status = "ok" if cause is None else "interrupted"
        error = None if cause is None else interruption(cause, live.counter.tokens)
    live.status = status
    usage = live.usage if billed else Usage()
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
        endpoint=plan.endpoint.base_url,
        params=_params(plan, live), text=state.text, status=status,
        finish_reason=state.finish_reason, usage=usage, cost=cost,
        cost_exact=(live.exact or not billed) and cost is not None, cost_source=source,
        ttft_s=live.ttft_s,
        duration_s=(live.ended or live.started) - live.started, error=error, tag=request.tag,
        max_tokens=plan.max_tokens, concise=request.concise,
        comparison_id=request.comparison_id, parent_id=request.parent_id,
        notes=list(plan.warnings),
        tiktoken_input=plan.counted_tokens if live.exact else None,
        tiktoken_output=live.counter.tokens if live.exact else None,
        retry_count=len(live.retries), tool_call_count=len(state.tool_calls),
        stop_reason=live.stop_reason, simulator=live.simulator,
        rate_limits=_rate_limits(live.response))


def _rate_limits(response: Response | None) -> dict[str, Any] | None:
    limits = None if response is None else parse_rate_limits(response.headers)
    return None if limits is None else limits.to_dict()


def _params(plan: Plan, live: LiveRun) -> dict[str, Any]:
    params = {k: v for k, v in plan.body.items()
              if k not in ("messages", "stream_options", "tools", "system")}
    params.update(profile=plan.endpoint.name, simulator=live.simulator,
                  input_tokens_estimate=plan.input_tokens)
    if live.exact:
        params.update(tiktoken_input=plan.counted_tokens, tiktoken_output=live.counter.tokens)
    if plan.info is not None and plan.info.priced:
        params["price_source"] = plan.info.price_source
    if plan.legacy:
        params["legacy"] = plan.legacy
    params.update(live.state.served)  # speed, inference_geo: how it was served and priced
    if plan.calibration is not None:
        params["calibration"] = str(plan.calibration)
    if plan.tool_tokens:
        params["tool_tokens"] = plan.tool_tokens
    if live.stop_reason:
        params["stop_reason"] = live.stop_reason
    if plan.request.tools:
        params["tools"] = [t.get("function", {}).get("name") for t in plan.request.tools]
    if live.state.tool_calls:
        params["tool_calls"] = live.state.tool_calls
    if live.retries:
        params["retries"] = live.retries
    if plan.native and plan.cache is not None:
        params.update(api="anthropic", api_version=anthropic.version_of(plan.body),
                      input_count="exact" if plan.exact_input else "estimate",
                      cache_breakpoints=list(plan.cache.breakpoints), cache_ttl=plan.cache.ttl)
    if live.thinking_text and live.thinking_counter is not None:
        params.update(thinking_text=live.thinking_text,
                      thinking_shown_tokens=live.thinking_counter.tokens)
    if live.state.refused:
        params["refused"] = True
    if live.state.implausible_usage:
        params["usage_implausible"] = True
    return params
