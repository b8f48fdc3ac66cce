"""The simulator's sampling rules for the Messages API, by anthropic-version and model."""
from __future__ import annotations

from typing import Any

from opus_magic.cost.capabilities import (
    DEFAULT_TEMPERATURE,
    SAMPLING_PARAMS,
    SAMPLING_REMOVED_IN,
)
from opus_magic.cost.catalog import default_catalog


def sampling_problem(body: dict[str, Any], version: str | None) -> str | None:
    """Why Anthropic would answer 400 to this body's sampling parameters, else None.

    anthropic-version 2026-10-21 (and `version` None, the newest) removed temperature, top_p and
    top_k; earlier versions take them, except on models that take only their default sampling.
    """
    given = [key for key in SAMPLING_PARAMS if key in body]
    if not given:
        return None
    if version is None or version >= SAMPLING_REMOVED_IN:
        return (f"{given[0]}: Extra inputs are not permitted (removed in anthropic-version "
                f"{SAMPLING_REMOVED_IN})")
    info = default_catalog().get(str(body["model"]))
    custom = body.get("temperature", DEFAULT_TEMPERATURE) != DEFAULT_TEMPERATURE or given != [
        "temperature"]
    if info is not None and info.accepts.default_sampling_only and custom:
        return f"{given[0]} is deprecated for this model: {info.id} takes only its default sampling"
    return None
