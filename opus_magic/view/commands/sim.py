"""What `%opus sim` prints: where the built-in simulator listens and how it answers."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def sim_lines(url: str, status: Mapping[str, Any], changed: Sequence[str],
              elsewhere: str | None) -> list[str]:
    """What changed (if anything), then the simulator's URL and settings, one per line."""
    rate, ttft = status["tokens_per_second"], status["ttft_s"]
    if rate is None:
        speed = (f"no pacing after a {ttft:g} s first token" if ttft
                 else "instant (the whole answer at once)")
    elif isinstance(rate, Mapping):
        speed = ", ".join(f"{model} {value:g} tokens/s" for model, value in rate.items())
        speed += f", after a {ttft:g} s first token"
    else:
        speed = f"{rate:g} tokens/s after a {ttft:g} s first token"
    length = status["answer_tokens"]
    answers = "as the prompt asks" if length is None else f"{length:,} tokens"
    lines = [f"Changed: {', '.join(changed)}."] if changed else []
    lines += [f"Built-in simulator (not a real model) at {url}",
              f"  pace            {speed}",
              f"  answers         {answers}, usage ×{status['usage_scale']:g}",
              f"  fault           {status['fault']}",
              f"  batches end     {status['batch_delay_s']:g} s after they are sent",
              f"  rate limits     {'on (sim.limit)' if status['rate_limited'] else 'none'}"]
    return lines + ([elsewhere] if elsewhere else [])
