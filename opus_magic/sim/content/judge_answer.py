"""The simulator as a judge: a prompt that asks for `SCORE:` and `REASON:` against a rubric gets
them back, deterministically.

The score is the share of the rubric's quoted words ('cache', "price") that the answer contains,
case ignored, and the reason names those found and missing; a rubric without quoted words gets
a score drawn from the request's seed (the same request, the same score), in steps of 0.25.
A simulator set to answer in a fixed number of tokens cuts this reply too (an unreadable score).
"""
from __future__ import annotations

import random
import re

ASKS = re.compile(r"Rubric: (?P<rubric>.*?)\n\nQuestion:\n.*?\n\nAnswer:\n(?P<answer>.*)\n\n"
                  r"Reply with two lines: \"SCORE: \"", re.DOTALL)
QUOTED = re.compile(r"'([^']+)'|\"([^\"]+)\"")
STEPS = (0.0, 0.25, 0.5, 0.75, 1.0)


def grading(prompt: str) -> bool:
    """Whether `prompt` asks to grade an answer against a rubric (a judge's prompt)."""
    return ASKS.search(prompt) is not None


def judge_reply(prompt: str, seed: int) -> str | None:
    """`SCORE: …` and `REASON: …` when `prompt` asks to grade an answer, else None."""
    asked = ASKS.search(prompt)
    if asked is None:
        return None
    rubric, answer = asked["rubric"], asked["answer"].casefold()
    wanted = [a or b for a, b in QUOTED.findall(rubric)]
    if not wanted:
        score = random.Random(seed).choice(STEPS)
        return f"SCORE: {score:g}\nREASON: The simulator's seeded score for this answer."
    found = [w for w in wanted if w.casefold() in answer]
    missing = [w for w in wanted if w not in found]
    parts = ([f"mentions {', '.join(found)}"] if found else []) + (
        [f"lacks {', '.join(missing)}"] if missing else [])
    reason = "The answer " + " but ".join(parts) + "."
    return f"SCORE: {len(found) / len(wanted):.2f}\nREASON: {reason}"
