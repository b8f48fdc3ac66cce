"""Classification prompts: "Answer with one of: a, b, c." gets one of those words back.

The simulated model picks the option the rest of the prompt mentions most often (a word match,
any case); with no clear winner it guesses, the same way for the same request. So a prompt that
shows the model more of the input (a ticket's body, not only its subject) scores better, as it
would with a real model.

Models can also differ in accuracy (`lab.configure(accuracy={"haiku": 0.6, ...})`, off by
default): a model whose name contains a key (the longest that matches) gives the option the
prompt points to with that probability and another option otherwise. The draw is seeded by the
prompt and the model, so the same model is right or wrong on the same prompt every time, and a
cheaper model that is wrong on a ticket may be right once the ticket goes to a better one.
`TIERED` is the table the prompt-grid notebook uses: cheaper models less accurate.
"""
from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Mapping, Sequence
from typing import Any

from opus_magic.sim.content.answers import last_user_text
from opus_magic.sim.content.judge_answer import grading
from opus_magic.sim.content.text import request_seed

TIERED = {"haiku": 0.6, "sonnet": 0.85, "opus": 0.97, "fable": 0.99}
OPTIONS = re.compile(r"answer with one of:\s*([^\n.]+)", re.IGNORECASE)


def choice_answer(messages: Sequence[dict[str, Any]], model: str,
                  accuracy: Mapping[str, float] | None = None) -> list[str] | None:
    """The answer as one piece, or None when the prompt asks for no choice."""
    text = last_user_text(messages)  # a string, or the text of its blocks (a cache mark)
    found = OPTIONS.search(text)
    if found is None or grading(text):  # a judge grading a classification's answer
        return None
    options = [o.strip() for o in re.split(r",|\bor\b", found.group(1)) if o.strip()]
    if not options:
        return None
    rest = text[:found.start()] + text[found.end():]
    counts = {o: len(re.findall(rf"\b{re.escape(o)}\b", rest, re.IGNORECASE)) for o in options}
    best = max(counts.values())
    winners = [o for o, n in counts.items() if n == best]
    if best > 0 and len(winners) == 1:
        picked = winners[0]
    else:
        picked = random.Random(request_seed(messages, model)).choice(options)
    return [_with_accuracy(picked, options, text, model, accuracy)]


def accuracy_of(model: str, accuracy: Mapping[str, float] | None) -> float | None:
    """The probability that `model` picks the right option: the longest key its name contains."""
    keys = [key for key in (accuracy or {}) if key in model]
    return None if not keys else float((accuracy or {})[max(keys, key=len)])


def _with_accuracy(picked: str, options: Sequence[str], prompt: str, model: str,
                   accuracy: Mapping[str, float] | None) -> str:
    """`picked`, or (with probability 1 − the model's accuracy) another option."""
    chance = accuracy_of(model, accuracy)
    others = [o for o in options if o != picked]
    if chance is None or not others:
        return picked
    draw = random.Random(hashlib.sha256(f"{model}\n{prompt}".encode()).hexdigest())
    return picked if draw.random() < chance else draw.choice(others)
