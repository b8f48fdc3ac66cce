"""How fast the built-in simulator answers: like a real model, unless instant answers are asked for.

A first-time user should see an answer stream in, so the simulator a kernel starts by itself
paces its tokens the way a flagship model does (about 60 tokens a second after a first token at
about 0.4 s). Tests and benchmarks that measure the tool rather than the model ask for instant
answers with `OPUS_MAGIC_SIM_PACE=instant`.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opus_magic.errors import ConfigError

PACE_ENV = "OPUS_MAGIC_SIM_PACE"
REAL_TOKENS_PER_S = 60.0
REAL_TTFT_S = 0.4
PACES: dict[str, dict[str, Any]] = {
    "real": {"tokens_per_second": REAL_TOKENS_PER_S, "ttft_s": REAL_TTFT_S},
    "instant": {"tokens_per_second": None, "ttft_s": 0.0},
}


def pace(name: str) -> dict[str, Any]:
    """The simulator settings of a named pace: `real` or `instant`."""
    if name not in PACES:
        raise ConfigError(f"The simulator's pace is real or instant, not '{name}' "
                          f"(${PACE_ENV}, or %opus sim real|instant).")
    return dict(PACES[name])


def builtin_pace(environ: Mapping[str, str]) -> dict[str, Any]:
    """The pace the built-in simulator starts with: `$OPUS_MAGIC_SIM_PACE`, else real."""
    return pace(environ.get(PACE_ENV, "").strip().lower() or "real")
