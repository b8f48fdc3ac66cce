"""Pre-flight: what a run can cost before anything is sent, and `--dry-run` across models."""
from __future__ import annotations

from opus_magic.core.run.caching import cache_line
from opus_magic.core.run.plan import Plan
from opus_magic.core.run.planner import Planner, cell_flags
from opus_magic.core.run.request import CellInput
from opus_magic.core.session import Session
from opus_magic.core.tools.definitions import overhead_line
from opus_magic.cost.pricing import format_usd
from opus_magic.errors import OpusError, PlanRefused

ANTHROPIC_HOST = "api.anthropic.com"
COLUMNS = ("model", "input tokens", "tools", "min cost", "worst case", "max_tokens", "fits",
           "caching")


def preflight_lines(plan: Plan) -> list[str]:
    """Input tokens, the cost range up to the worst case, tool overhead and the caching note."""
    lines = [f"Pre-flight: {_bound(plan)}{plan.input_tokens:,} input tokens{count_source(plan)} "
             f"on {plan.model_label} · {cost_range(plan)} (worst case: input + "
             f"{plan.max_tokens:,} max_tokens of output)."]
    if plan.attached is not None:  # their report's code (thumbnails too) loads only then
        from opus_magic.core.run.attach.report import attachment_lines

        lines += attachment_lines(plan)
    tools = overhead_line(plan)
    if tools:
        lines.append(tools)
    note = cache_note(plan)
    if note:
        lines.append(note)
    return lines


def _bound(plan: Plan) -> str:
    """`at most ` or `≈` before an input count that holds estimated attachments."""
    attached = plan.attached
    if attached is None or plan.exact_input:
        return ""
    return "at most " if attached.at_most else "≈"


def count_source(plan: Plan) -> str:
    """How the input was counted: exactly by the provider, calibrated, or tiktoken's estimate."""
    if plan.exact_input:
        return " (exact, from the provider's free count_tokens)"
    calibration = plan.calibration
    if plan.transport.counts:
        learned = calibration is not None and calibration.runs
        detail = f"estimated: {calibration}" if learned else str(calibration or "estimated")
        return f" ({detail}; no exact count)"
    return f" ({calibration})" if calibration else ""


def cost_range(plan: Plan) -> str:
    worst = plan.worst_case_cost
    if worst is None:
        return "cost unknown (no price for this model)"
    return f"{format_usd(plan.min_cost, estimated=True)} … {format_usd(worst, estimated=True)}"


def cache_note(plan: Plan) -> str | None:
    """Whether this prompt is long enough for the model's prompt cache; None if unknown."""
    info = plan.info
    if plan.cache is not None:
        return cache_line(plan.cache, info, plan.input_tokens)
    if info is None:
        return None
    if ANTHROPIC_HOST in plan.endpoint.base_url:
        return "Caching: not available through Anthropic's OpenAI-compatible endpoint."
    minimum = info.min_cache_prefix
    if minimum is None:
        return f"Caching: {plan.model_id} has no prompt caching."
    if plan.input_tokens >= minimum:
        return (f"Caching: long enough to be cached on {plan.model_id} ({plan.input_tokens:,} ≥ "
                f"{minimum:,}-token minimum prefix); a repeat of this prefix reads it at the "
                f"cache price.")
    return (f"Caching: too short to be cached on {plan.model_id} ({plan.input_tokens:,} < "
            f"{minimum:,}-token minimum prefix).")


def caching_cell(plan: Plan) -> str:
    info = plan.info
    if plan.cache is not None:
        marked = " + ".join(plan.cache.breakpoints)
        return f"{marked} ({plan.cache.ttl})" if marked else "nothing marked"
    if info is None:
        return "?"
    if info.min_cache_prefix is None:
        return "none"
    if plan.input_tokens >= info.min_cache_prefix:
        return f"yes (≥ {info.min_cache_prefix:,})"
    return f"too short (< {info.min_cache_prefix:,})"


def fits_cell(plan: Plan) -> str:
    window = plan.info.context_window if plan.info else None
    if window is None:
        return "?"
    total = plan.input_tokens + plan.max_tokens
    return "yes" if plan.fits else f"no: {total:,} > {window:,}"


def dry_run(session: Session, cell: CellInput) -> str:
    """A table across the cell's models; nothing is sent and nothing is recorded."""
    plans: list[Plan] = []
    problems: list[str] = []
    planner = Planner(session, cell_flags(cell), sending=False)
    for model in cell.models or (None,):
        try:
            plans.append(planner.plan_model(cell, model))
        except PlanRefused as exc:
            plans.append(exc.plan)
        except OpusError as exc:
            problems.append(f"{model}: {exc}")
    rows = [COLUMNS] + [(plan.request.model if plan.request.model == plan.model_id
                         else f"{plan.request.model} → {plan.model_id}",
                         f"{plan.input_tokens:,}", f"{plan.tool_tokens:,}",
                         format_usd(plan.min_cost, estimated=True),
                         format_usd(plan.worst_case_cost, estimated=True),
                         f"{plan.max_tokens:,}", fits_cell(plan), caching_cell(plan))
                        for plan in plans]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = ["Dry run: nothing was sent and nothing recorded."]
    lines += ["  ".join(text.ljust(width) if i in (0, 6, 7) else text.rjust(width)
                        for i, (text, width) in enumerate(zip(row, widths))).rstrip()
              for row in rows]
    lines += _notes(session, plans) + problems
    if cell.loops:
        from opus_magic.core.tools.cost import worst_case_line

        lines += [f"{plan.model_id}: {worst_case_line(plan, cell.loop.max_steps)}"
                  for plan in plans]
    return "\n".join(lines)


def _notes(session: Session, plans: list[Plan]) -> list[str]:
    from opus_magic.core.run.attach.report import attachment_lines, payoff_lines

    notes = [f"{plan.model_id}: input counted exactly by count_tokens (free)." if plan.exact_input
             else f"{plan.model_id}: token counts {plan.calibration}." for plan in plans
             if plan.calibration or plan.exact_input]
    notes += [f"{plan.model_id} · {line.strip()}" for plan in plans
              for line in attachment_lines(plan)]
    notes += [line for plan in plans for line in payoff_lines(plan)]
    notes += [line for plan in plans for line in (overhead_line(plan),) if line]
    notes += [f"Would be refused: {plan.rejected}" for plan in plans if plan.rejected]
    notes += list(dict.fromkeys(warning for plan in plans for warning in plan.warnings))
    budget = session.budget
    if budget.cap is not None:
        remaining = budget.cap - budget.committed()
        over = [plan.model_id for plan in plans
                if plan.worst_case_cost is None or plan.worst_case_cost > remaining]
        notes.append(f"Session budget: {format_usd(remaining)} of {format_usd(budget.cap)} "
                     f"remains" + (f"; over it in the worst case: {', '.join(over)}." if over
                                   else "; every model fits in the worst case."))
    return notes
