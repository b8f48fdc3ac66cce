"""Planning a run: messages, wire body, pre-flight token counts, clamps and refusals."""
from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from opus_magic.core.run.caching import CachePlan, cache_usage, plan_cache
from opus_magic.core.run.outputs import fit_output, most_server_tool_use
from opus_magic.core.run.prompts import build_messages
from opus_magic.core.run.request import RunRequest, Turns
from opus_magic.core.run.target import RunPolicy, Target
from opus_magic.core.tools.count import ExactCounter, exact_tool_tokens
from opus_magic.cost import capabilities, pricing, tokens
from opus_magic.cost.catalog import ModelInfo
from opus_magic.errors import PlanRefused, RequestError
from opus_magic.records import Usage
from opus_magic.wire.body.request import OutputFormat, WireRequest
from opus_magic.wire.endpoints import Endpoint
from opus_magic.wire.transport import Transport

if TYPE_CHECKING:  # attachments' code is loaded by a plan that has some
    from opus_magic.core.run.attach.attached import Attached
    from opus_magic.cost.calibration import Calibration


@dataclass(frozen=True, kw_only=True)
class Plan:
    """A request ready to send: where it goes (`target`), how it is carried out (`policy`), its
    messages and wire body, and the pre-flight figures."""

    request: RunRequest
    target: Target
    policy: RunPolicy
    messages: list[dict[str, Any]]
    body: dict[str, Any]
    input_tokens: int
    max_tokens: int
    warnings: tuple[str, ...] = ()
    counted_tokens: int = 0
    tool_tokens: int = 0
    cache: CachePlan | None = None  # breakpoints where the API takes them; None elsewhere
    exact_input: bool = False  # input_tokens came from the provider's count_tokens
    provisional: bool = False  # input_tokens guessed to send sooner; counted once words arrive
    attached: Attached | None = None  # the attachments as sent, fitted and counted

    @property
    def legacy(self) -> str | None:
        """`legacy: Opus 5.5 is current, 20 % cheaper` when a newer model replaces this one."""
        return self.target.legacy

    @property
    def model_label(self) -> str:
        """The model id, with its legacy note when a newer model replaces it."""
        return f"{self.model_id} ({self.legacy})" if self.legacy else self.model_id

    @property
    def model_id(self) -> str:
        return self.target.model_id

    @property
    def info(self) -> ModelInfo | None:
        return self.target.info

    @property
    def endpoint(self) -> Endpoint:
        return self.target.endpoint

    @property
    def calibration(self) -> Calibration | None:
        return self.target.calibration

    @property
    def timeout_s(self) -> float:
        return self.policy.timeout_s

    @property
    def transport(self) -> Transport:
        """The wire API the endpoint speaks."""
        return self.target.transport

    @property
    def min_cost(self) -> Decimal | None:
        """The input alone: what the request costs if the answer is empty."""
        return pricing.input_cost(self.input_tokens, self.info)

    @functools.cached_property
    def worst_case_cost(self) -> Decimal | None:
        """Input (its marked prefix written to the cache) plus max_tokens of output: the most it
        can cost, what a proxy may hold up front (worked out once: a grid asks for it twice a
        cell)."""
        written = cache_usage(self.cache, self.input_tokens) if self.cache else Usage(self.input_tokens)
        worst = most_server_tool_use(self.request, written)  # every search it may make, paid
        return pricing.usage_cost(dataclasses.replace(worst, output_tokens=self.max_tokens),
                                  self.info)

    @property
    def rejected(self) -> str | None:
        """One line on why the model or its API would reject this request, or None."""
        return (_refusal(self.request, self.info, self.transport, self.body, self.max_tokens)
                or fit_output(self.transport, self.request).refusal)

    @property
    def fits(self) -> bool:
        window = self.info.context_window if self.info else None
        return window is None or self.input_tokens + self.max_tokens <= window


def plan_run(request: RunRequest, target: Target, policy: RunPolicy,
             exact: ExactCounter | None = None, count_later: bool = False,
             attached: Attached | None = None, each: bool = False) -> Plan:
    """Messages and body, max_tokens clamped, what cannot fit or is rejected refused. Counts:
    tiktoken's (calibrated) plus the attachments' (`attached`, else fitted here), replaced by
    `exact` (count_tokens) where the API counts, which counts a lone attachment too (each one
    with `each`); `count_later` lets a plan without attachments go out before tiktoken loads."""
    model_id, info, transport = target.model_id, target.info, target.transport
    messages = [*build_messages(request.prompt, request.system, request.concise, request.history),
                *request.turns]  # a tool loop's calls and results after the prompt
    scale = target.calibration.scale if target.calibration is not None else int
    warnings = [*request.notes, *target.notes]
    max_tokens = _clamped(request.max_tokens, model_id, info, warnings)
    attached = _attached(request, target, attached, warnings)
    later = count_later and not attached and _needs_no_count(request, target, messages,
                                                             max_tokens, scale)
    counted, tool_tokens, input_tokens = _counts(request, model_id, info, messages, later, scale)
    warnings += [w for w in (capabilities.deprecation(info, request.thinking),) if w]
    cache = _cache_plan(request, target, messages, tool_tokens, scale, attached, warnings)
    shaped = fit_output(transport, request)
    warnings += shaped.notes
    wire = _wire(request, target, messages, max_tokens, cache, attached, shaped.output)
    body = transport.body(wire)
    refused = _refusal(request, info, transport, body, max_tokens) or shaped.refusal
    # A refused request sends nothing, not even the free count.
    counting = exact if transport.counts and not (refused or later) else None
    exact_input = _exact_count(counting, target.endpoint, body, policy.timeout_s, warnings)
    if exact_input is not None and counting is not None:  # the tools counted exactly too
        tool_tokens = exact_tool_tokens(counting, target, request, policy.timeout_s) or tool_tokens
        if attached is not None:
            attached = _each_counted(counting, target, wire, policy, attached, exact_input, each)
    input_tokens += attached.tokens if attached else 0
    plan = Plan(request=request, target=target, policy=policy, messages=messages, body=body,
                input_tokens=input_tokens if exact_input is None else exact_input,
                max_tokens=max_tokens, warnings=tuple(warnings), counted_tokens=counted,
                tool_tokens=tool_tokens, cache=cache, exact_input=exact_input is not None,
                provisional=later, attached=attached)
    _refuse(plan, refused)
    return plan


def _attached(request: RunRequest, target: Target, attached: Attached | None,
              warnings: list[str]) -> Attached | None:
    """The request's attachments fitted to the target (unless given), what the pre-flight must
    say about them added to `warnings`; their code is loaded only for a plan that has some."""
    if attached is None and not request.attachments:
        return None
    from opus_magic.core.run.attach.attached import attachment_warnings, prepared

    attached = attached or prepared(request, target)
    warnings += attachment_warnings(request, target, attached)
    return attached


def _each_counted(counting: ExactCounter, target: Target, wire: WireRequest, policy: RunPolicy,
                  attached: Attached, total: int, each: bool) -> Attached:
    """The attachments with their exact counts, from count_tokens on bodies without them."""
    from opus_magic.core.run.attach.attached import counted_each

    def count(turns: Turns) -> int | None:
        try:
            body = target.transport.body(dataclasses.replace(wire, attachments=turns))
            return counting(target.endpoint, body, policy.timeout_s)
        except RequestError:
            return None

    return counted_each(attached, total, count, each)


def _counts(request: RunRequest, model_id: str, info: ModelInfo | None,
            messages: list[dict[str, Any]], later: bool,
            scale: Callable[[int], int]) -> tuple[int, int, int]:
    """tiktoken's count of the request, its tools' overhead and its input estimate (a guess when
    counting comes `later`); the tool-use system prompt the API adds to a request with tools is
    a fixed count per model, added as it is."""
    if later:
        return 0, 0, scale(tokens.rough_count(messages))
    declared = request.tools or request.server_tools
    prompt = info.tool_prompt_tokens() if info is not None and declared else 0
    counted = tokens.count_messages(messages, model_id, request.tools)
    tools = scale(tokens.count_tools(request.tools, model_id)) + prompt
    return counted, tools, scale(counted) + prompt


def _refusal(request: RunRequest, info: ModelInfo | None, transport: Transport,
             body: dict[str, Any], max_tokens: int) -> str | None:
    """Why the model or its API would reject the body, else None."""
    return capabilities.request_refusal(
        info, transport.api, transport.version_for(body), thinking=request.thinking,
        effort=request.effort, temperature=request.temperature, max_tokens=max_tokens,
        server_tools=bool(request.server_tools))


def _refuse(plan: Plan, refused: str | None) -> None:
    """Raise PlanRefused for a request the model or its API rejects, or one too long."""
    model_id, info, max_tokens = plan.model_id, plan.info, plan.max_tokens
    if refused:
        raise PlanRefused(f"{refused} Nothing was sent.", plan)
    if not plan.fits:
        assert info is not None and info.context_window is not None
        raise PlanRefused(
            f"Too long for {model_id}: {plan.input_tokens:,} input + {max_tokens:,} max_tokens = "
            f"{plan.input_tokens + max_tokens:,} tokens > the {info.context_window:,}-token "
            f"context window. Nothing was sent: shorten the prompt or lower --max-tokens.", plan)


def _needs_no_count(request: RunRequest, target: Target, messages: list[dict[str, Any]],
                    max_tokens: int, scale: Callable[[int], int]) -> bool:
    """Whether the request can go out before its tokens are counted: the encoding is not loaded
    yet, no tools, no cache breakpoints to place (one message where the API takes them), and
    the prompt fits the context window even at one token a byte."""
    if tokens.loaded(target.model_id) or request.tools:
        return False
    if target.transport.caches and len(messages) > 1:
        return False
    window = target.info.context_window if target.info else None
    return window is None or scale(tokens.byte_bound(messages)) + max_tokens <= window


def counted_now(plan: Plan) -> Plan:
    """A provisional plan with its input counted by tiktoken, as any other plan's."""
    counted = tokens.count_messages(plan.messages, plan.model_id)
    scale = plan.calibration.scale if plan.calibration is not None else int
    return dataclasses.replace(plan, input_tokens=scale(counted), counted_tokens=counted,
                               provisional=False)


def _wire(request: RunRequest, target: Target, messages: list[dict[str, Any]], max_tokens: int,
          cache: CachePlan | None, attached: Attached | None,
          output: OutputFormat | None) -> WireRequest:
    """What the transport writes the body from, the cache plan's breakpoints where it takes them."""
    inputs = target.info.inputs if target.info and target.info.inputs else ()
    return WireRequest(
        model=target.wire_model, messages=messages, max_tokens=max_tokens, stream=request.stream,
        temperature=request.temperature, tools=request.tools, thinking=request.thinking,
        effort=request.effort, breakpoints=cache.breakpoints if cache else (),
        ttl=cache.ttl if cache else "5m", attachments=attached.turns if attached else (),
        pdf_files="pdf" in inputs, output=output, server_tools=request.server_tools,
        parallel_tools=request.parallel_tools)


def _clamped(max_tokens: int, model_id: str, info: ModelInfo | None, warnings: list[str]) -> int:
    """max_tokens within the model's output ceiling, with a warning when it was above."""
    if info and info.max_output and max_tokens > info.max_output:
        warnings.append(f"max_tokens {max_tokens:,} is above {model_id}'s output ceiling; "
                        f"clamped to {info.max_output:,}.")
        return info.max_output
    return max_tokens


def _exact_count(exact: ExactCounter | None, endpoint: Endpoint, body: dict[str, Any],
                 timeout_s: float, warnings: list[str]) -> int | None:
    """count_tokens' answer, or None (with a warning saying so) when it cannot be had."""
    if exact is None:
        return None
    try:
        return exact(endpoint, body, timeout_s)
    except RequestError as failure:
        warnings.append(f"Exact count unavailable ({failure}); the input count is estimated.")
        return None


def _cache_plan(request: RunRequest, target: Target, messages: list[dict[str, Any]],
                tool_tokens: int, scale: Callable[[int], int], attached: Attached | None,
                warnings: list[str]) -> CachePlan | None:
    """Where breakpoints go, from the (estimated) length of each part of the prefix; earlier
    turns' attachments count in the history, this prompt's come after it. None where the API
    takes no breakpoints (with a warning when --cache asked for some)."""
    if not target.transport.caches:
        if request.cache in ("5m", "1h"):
            warnings.append("--cache applies to Claude's native API only; not used here.")
        return None
    model_id, info = target.model_id, target.info
    system = next((m for m in messages if m.get("role") == "system"), None)
    system_tokens = scale(tokens.count_messages([system], model_id)) if system else 0
    history = [m for m in messages[:-1] if m.get("role") != "system"]
    history_tokens = scale(tokens.count_messages(history, model_id)) if history else 0
    current = attached.current_tokens if attached else 0
    history_tokens += (attached.tokens - current) if attached else 0
    last = attached.attachments[-1].name if attached else ""
    return plan_cache(request.cache, model_id, info, tool_tokens, system_tokens, history_tokens,
                      current, last)
