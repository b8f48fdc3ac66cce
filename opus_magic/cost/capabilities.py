"""What Claude models accept on the native Messages API: thinking, effort and temperature.

Rules from Anthropic's documentation (Nov 2026): adaptive thinking (`{"type": "adaptive"}`) on
Claude 4.6 models and later; a thinking budget (`{"type": "enabled", "budget_tokens": N}`, N ≥
1,024 and below max_tokens) on Claude 4.x and 3.7 Sonnet (deprecated on 4.6); `output_config.effort`
on Opus 4.5 and the 4.6 models, `max` on Claude 4.6 only; and under anthropic-version
2026-10-21 no `temperature`, `top_p` or `top_k` at all.
"""
from __future__ import annotations

ADAPTIVE = ("claude-opus-4-6", "claude-sonnet-4-6")
BUDGET = ("claude-opus-4", "claude-sonnet-4", "claude-haiku-4", "claude-3-7-sonnet")
EFFORT = ("claude-opus-4-5", "claude-opus-4-6", "claude-sonnet-4-6")
EFFORT_MAX = ("claude-opus-4-6", "claude-sonnet-4-6")
EFFORTS = ("low", "medium", "high", "max")
MIN_THINKING_BUDGET = 1024
NATIVE_ONLY = ("Anthropic's OpenAI-compatible endpoint and other chat-completions endpoints have "
               "no {what}: use Claude's native API (api=anthropic, the default for Anthropic keys)")


def deprecation(model_id: str, thinking: int | str | None) -> str | None:
    """A note when a thinking budget is deprecated on the model (adaptive replaces it)."""
    if isinstance(thinking, int) and _family(model_id, ADAPTIVE):
        return (f"A thinking budget is deprecated on {model_id}: --thinking alone (adaptive) "
                f"lets the model decide how much to think.")
    return None


def _family(model_id: str, prefixes: tuple[str, ...]) -> bool:
    return model_id.startswith(prefixes)


def refusal(model_id: str, api: str, api_version: str, *, thinking: int | str | None,
            effort: str | None, temperature: float | None, max_tokens: int) -> str | None:
    """One line saying why this combination cannot be sent, or None when it can."""
    if api != "anthropic":
        if thinking is not None:
            return NATIVE_ONLY.format(what="thinking control") + "."
        if effort is not None:
            return NATIVE_ONLY.format(what="effort control") + "."
        return None
    if temperature is not None and api_version >= "2026-10-21":
        return (f"Temperature is not accepted by anthropic-version {api_version}, the API version "
                f"opus_magic sends on Claude's native API: drop -t (or set api=openai to send it "
                f"through Anthropic's OpenAI-compatible endpoint).")
    if thinking == "adaptive" and not _family(model_id, ADAPTIVE):
        if _family(model_id, BUDGET):
            return (f"{model_id} has no adaptive thinking: give a budget instead, e.g. "
                    f"--thinking {MIN_THINKING_BUDGET * 2}.")
        return f"{model_id} has no extended thinking: drop --thinking."
    if isinstance(thinking, int):
        if not _family(model_id, BUDGET):
            return f"{model_id} takes no thinking budget: drop --thinking N."
        if thinking < MIN_THINKING_BUDGET:
            return (f"A thinking budget must be at least {MIN_THINKING_BUDGET:,} tokens: use "
                    f"--thinking {MIN_THINKING_BUDGET} or more.")
        if thinking >= max_tokens:
            return (f"The thinking budget ({thinking:,}) must be below max_tokens ({max_tokens:,}), "
                    f"which counts thinking too: raise --max-tokens above {thinking:,}.")
    if effort is not None:
        if effort not in EFFORTS:
            return f"--effort {effort} is not a level: use low, medium, high or max."
        if not _family(model_id, EFFORT):
            return f"{model_id} takes no effort setting: drop --effort (Opus 4.5 and 4.6 take it)."
        if effort == "max" and not _family(model_id, EFFORT_MAX):
            return f"--effort max needs a Claude 4.6 model; {model_id} goes up to high."
    return None
