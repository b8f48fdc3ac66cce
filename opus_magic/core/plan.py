"""Planning a run: messages, wire body, pre-flight token counts, clamps and refusals."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from opus_magic.core.prompts import build_messages
from opus_magic.cost import pricing, tokens
from opus_magic.cost.capabilities import refusal
from opus_magic.cost.catalog import ModelInfo
from opus_magic.errors import UsageError
from opus_magic.records import Usage
from opus_magic.wire.endpoints import Endpoint

if TYPE_CHECKING:
    from opus_magic.cost.calibration import Calibration


@dataclass(frozen=True)
class RunRequest:
    """What one run asks for, after flags and settings are merged."""

    prompt: str
    model: str
    max_tokens: int
    temperature: float | None = None
    system: str | None = None
    concise: str = "off"
    stream: bool = True
    tag: str | None = None
    tools: tuple[dict[str, Any], ...] | None = None
    history: tuple[dict[str, Any], ...] = ()
    parent_id: str | None = None
    comparison_id: str | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Plan:
    """A request ready to send: messages, wire body, endpoint, model facts and pre-flight figures."""

    request: RunRequest
    model_id: str
    info: ModelInfo | None
    endpoint: Endpoint
    messages: list[dict[str, Any]]
    body: dict[str, Any]
    input_tokens: int
    max_tokens: int
    timeout_s: float
    warnings: tuple[str, ...] = ()
    counted_tokens: int = 0
    tool_tokens: int = 0
    calibration: Calibration | None = None

    @property
    def min_cost(self) -> Decimal | None:
        """The input alone: what the request costs if the answer is empty."""
        return pricing.input_cost(self.input_tokens, self.info)

    @property
    def worst_case_cost(self) -> Decimal | None:
        """Input plus max_tokens of output: the most it can cost, what a proxy may hold up front."""
        return pricing.usage_cost(Usage(self.input_tokens, self.max_tokens), self.info)

    @property
    def rejected(self) -> str | None:
        """One line on why the model would reject this request (e.g. its temperature), or None."""
        return refusal(self.info, temperature=self.request.temperature)

    @property
    def fits(self) -> bool:
        window = self.info.context_window if self.info else None
        return window is None or self.input_tokens + self.max_tokens <= window


class PlanRefused(UsageError):
    """A plan that must not be sent (too long, over the budget); `plan` keeps its figures."""

    def __init__(self, message: str, plan: Plan) -> None:
        super().__init__(message)
        self.plan = plan


def plan_run(request: RunRequest, model_id: str, info: ModelInfo | None, endpoint: Endpoint,
             wire_model: str, timeout_s: float, calibration: Calibration | None = None,
             notes: tuple[str, ...] = ()) -> Plan:
    """Build messages and body, clamp max_tokens to the model's ceiling, refuse what cannot fit
    or what the model rejects (e.g. a temperature on a model that takes only its default);
    `notes` (e.g. which endpoint answers) join the request's own as the plan's warnings.

    Token counts are tiktoken's, scaled by `calibration` where the model's tokenizer differs.
    """
    messages = build_messages(request.prompt, request.system, request.concise, request.history)
    counted = tokens.count_messages(messages, model_id, request.tools)
    tool_tokens = tokens.count_tools(request.tools, model_id)
    if calibration is not None:
        input_tokens, tool_tokens = calibration.scale(counted), calibration.scale(tool_tokens)
    else:
        input_tokens = counted
    max_tokens = request.max_tokens
    warnings = [*request.notes, *notes]
    if info and info.max_output and max_tokens > info.max_output:
        warnings.append(f"max_tokens {max_tokens:,} is above {model_id}'s output ceiling; "
                        f"clamped to {info.max_output:,}.")
        max_tokens = info.max_output
    body: dict[str, Any] = {"model": wire_model, "messages": messages, "max_tokens": max_tokens,
                            "stream": request.stream}
    if request.stream:
        body["stream_options"] = {"include_usage": True}
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.tools:
        body["tools"] = list(request.tools)
    plan = Plan(request, model_id, info, endpoint, messages, body, input_tokens, max_tokens,
                timeout_s, tuple(warnings), counted, tool_tokens, calibration)
    if plan.rejected:
        raise PlanRefused(f"{plan.rejected} Nothing was sent.", plan)
    if not plan.fits:
        assert info is not None and info.context_window is not None
        raise PlanRefused(
            f"Too long for {model_id}: {input_tokens:,} input + {max_tokens:,} max_tokens = "
            f"{input_tokens + max_tokens:,} tokens > the {info.context_window:,}-token context "
            f"window. Nothing was sent: shorten the prompt or lower --max-tokens.", plan)
    return plan
