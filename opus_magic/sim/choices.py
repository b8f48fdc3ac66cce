"""Classification prompts: "Answer with one of: a, b, c." gets one of those words back.

The simulated model picks the option the rest of the prompt mentions most often (a word match,
any case); with no clear winner it guesses, the same way for the same request. So a prompt that
shows the model more of the input (a ticket's body, not only its subject) scores better, as it
would with a real model.
"""
from __future__ import annotations

import random
import re
from collections.abc import Sequence
from typing import Any

from opus_magic.sim.answers import last_user_text
from opus_magic.sim.judge_answer import grading
from opus_magic.sim.text import request_seed

OPTIONS = re.compile(r"answer with one of:\s*([^\n.]+)", re.IGNORECASE)


def choice_answer(messages: Sequence[dict[str, Any]], model: str) -> list[str] | None:
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
        return [winners[0]]
    return [random.Random(request_seed(messages, model)).choice(options)]
