"""What a model rejects, checked before sending: a one-line refusal instead of a 400 from the provider.

The facts are data (`accepts` in catalog.json, read into `ModelInfo.accepts`); where the data
does not say, nothing is refused.
"""
from __future__ import annotations

from typing import Literal

from opus_magic.cost.model_info import ModelInfo

Thinking = Literal["adaptive"] | int | None
DEFAULT_TEMPERATURE = 1.0


def refusal(info: ModelInfo | None, *, temperature: float | None = None,
            top_p: float | None = None, thinking: Thinking = None,
            effort: str | None = None) -> str | None:
    """None when `info`'s model takes these parameters, else one line saying what to do.

    `thinking` is None (not asked for), "adaptive", or a manual budget in tokens (int);
    `effort` is an effort level such as "low" or "max", or None. Call it before sending.
    """
    if info is None:
        return None
    accepts = info.accepts
    if accepts.default_sampling_only:
        sampling = _sampling_refusal(info.id, temperature, top_p)
        if sampling:
            return sampling
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


def _sampling_refusal(model_id: str, temperature: float | None, top_p: float | None) -> str | None:
    if temperature is not None and temperature != DEFAULT_TEMPERATURE:
        return (f"{model_id} only takes its default sampling: drop the temperature "
                f"({temperature:g}; -t or temperature= in %opus config), or choose another model.")
    if top_p is not None:
        return f"{model_id} only takes its default sampling: drop top_p, or choose another model."
    return None
