"""What a model and its API reject, checked before sending: one line instead of a 400.

A model's own facts are data (`accepts` in catalog.json, read into `ModelInfo.accepts`); where
the data does not say, nothing is refused. The API's rules are Anthropic's (Nov 2026): thinking
and effort exist only on the native Messages API; a thinking budget is at least 1,024 tokens and
below max_tokens; anthropic-version 2026-10-21 takes no `temperature`, `top_p` or `top_k`
(2023-06-01 does, from 0 to 1); from Sonnet 5 on a model answers a non-default temperature with
400 in any version; Opus 5.5, Sonnet 5.5 and Fable 5.1 answer a forced `tool_choice` with 400.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from opus_magic.cost.model_info import ModelInfo

Thinking = Literal["adaptive"] | int | None
ToolChoice = str | Mapping[str, Any] | None  # "auto", "any", "none", or {"type": ..., "name": ...}
FORCED_TOOL_CHOICES = ("any", "tool")
DEFAULT_TEMPERATURE = 1.0
MAX_NATIVE_TEMPERATURE = 1.0
EFFORTS = ("low", "medium", "high", "max")
MIN_THINKING_BUDGET = 1024
SAMPLING_REMOVED_IN = "2026-10-21"
SAMPLING_PARAMS = ("temperature", "top_p", "top_k")  # what that version removed
NATIVE_ONLY = ("Anthropic's OpenAI-compatible endpoint and other chat-completions endpoints have "
               "no {what}: use Claude's native API (api=anthropic, the default for Anthropic keys).")


def request_refusal(info: ModelInfo | None, api: str, api_version: str, *, thinking: Thinking,
                    effort: str | None, temperature: float | None, max_tokens: int,
                    tool_choice: ToolChoice = None, server_tools: bool = False) -> str | None:
    """None when this request can be sent through `api`, else one line saying what to do:
    the API's rules first, then the model's own (`refusal`); `server_tools`: it declares web
    search or fetch, which run on Anthropic's side."""
    if api != "anthropic":
        if server_tools:
            return NATIVE_ONLY.format(what="server tools (--web-search, --web-fetch)")
        if thinking is not None:
            return NATIVE_ONLY.format(what="thinking control")
        if effort is not None:
            return NATIVE_ONLY.format(what="effort control")
        return refusal(info, temperature=temperature, tool_choice=tool_choice)
    if temperature is not None and api_version >= SAMPLING_REMOVED_IN:
        return (f"Temperature is not accepted by anthropic-version {api_version}: drop -t, or send "
                f"it as anthropic-version 2023-06-01, which takes it.")
    if temperature is not None and temperature > MAX_NATIVE_TEMPERATURE:
        return (f"Claude's Messages API takes a temperature from 0 to 1, not {temperature:g}: "
                f"use -t 1 or lower.")
    if isinstance(thinking, int):
        if thinking < MIN_THINKING_BUDGET:
            return (f"A thinking budget must be at least {MIN_THINKING_BUDGET:,} tokens: use "
                    f"--thinking {MIN_THINKING_BUDGET} or more.")
        if thinking >= max_tokens:
            return (f"The thinking budget ({thinking:,}) must be below max_tokens ({max_tokens:,}), "
                    f"which counts thinking too: raise --max-tokens above {thinking:,}.")
    if effort is not None and effort not in EFFORTS:
        return f"--effort {effort} is not a level: use low, medium, high or max."
    return refusal(info, temperature=temperature, thinking=thinking, effort=effort,
                   tool_choice=tool_choice)


def deprecation(info: ModelInfo | None, thinking: Thinking) -> str | None:
    """A note when a thinking budget is deprecated on the model (adaptive replaces it)."""
    if isinstance(thinking, int) and info is not None and info.accepts.thinking == "adaptive":
        return (f"A thinking budget is deprecated on {info.id}: --thinking alone (adaptive) "
                f"lets the model decide how much to think.")
    return None


def refusal(info: ModelInfo | None, *, temperature: float | None = None,
            top_p: float | None = None, thinking: Thinking = None,
            effort: str | None = None, tool_choice: ToolChoice = None) -> str | None:
    """None when `info`'s model takes these parameters, else one line saying what to do.

    `thinking` is None (not asked for), "adaptive", or a manual budget in tokens (int);
    `effort` is an effort level such as "low" or "max", or None; `tool_choice` is the Messages
    API's (`"any"`, `{"type": "tool", "name": ...}`, …) or None. Call it before sending.
    """
    if info is None:
        return None
    accepts = info.accepts
    if forced(tool_choice) and accepts.forced_tool_choice is False:
        return (f"{info.id} answers a forced tool_choice (any, or a named tool) with 400: use "
                f"tool_choice auto and name the tool to call in the prompt.")
    if accepts.default_sampling_only:
        sampling = _sampling_refusal(info.id, temperature, top_p)
        if sampling:
            return sampling
    if thinking is not None and accepts.thinking == "none":
        return f"{info.id} has no extended thinking: drop --thinking."
    if isinstance(thinking, int) and accepts.thinking == "adaptive-only":
        return (f"{info.id} takes adaptive thinking only, not a budget of {thinking:,} tokens: "
                f"ask for adaptive thinking (and an effort level) instead.")
    if thinking == "adaptive" and accepts.thinking == "budget":
        return (f"{info.id} has no adaptive thinking: give a thinking budget in tokens, "
                f"or choose a newer model.")
    if effort is not None and accepts.efforts is not None and effort not in accepts.efforts:
        if not accepts.efforts:
            return f"{info.id} takes no effort setting: leave effort out."
        return (f"{info.id} takes effort {', '.join(accepts.efforts)}, not '{effort}': "
                f"use one of those.")
    return None


def forced(tool_choice: ToolChoice) -> bool:
    """Whether a `tool_choice` makes the model call a tool (`any`, or one named tool)."""
    kind = tool_choice.get("type") if isinstance(tool_choice, Mapping) else tool_choice
    return kind in FORCED_TOOL_CHOICES


def _sampling_refusal(model_id: str, temperature: float | None, top_p: float | None) -> str | None:
    why = "from Sonnet 5 on, Claude models answer any other with 400"
    if temperature is not None and temperature != DEFAULT_TEMPERATURE:
        return (f"{model_id} only takes its default sampling ({why}): drop the temperature "
                f"({temperature:g}; -t or temperature= in %opus config), or choose a model that "
                f"takes one (e.g. opus-4.8, haiku-4.5 or a gpt model).")
    if top_p is not None:
        return (f"{model_id} only takes its default sampling ({why}): drop top_p, or choose "
                f"another model.")
    return None
