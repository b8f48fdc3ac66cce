"""`--judge "RUBRIC"`: what the judge model is asked about one answer, and its reply read back
as a score from 0 to 1 with a short reason. Pure: text in, a verdict (or why not) out."""
from __future__ import annotations

import re
from dataclasses import dataclass

JUDGE_CHECK = "judge"  # the check a judge's score is stored and counted under
JUDGE_MAX_TOKENS = 200
JUDGE_SYSTEM = "You grade answers strictly and fairly against the rubric you are given."
REASON_CHARS = 200
TEMPLATE = """Grade the answer below against the rubric.

Rubric: {rubric}

Question:
{question}

Answer:
{answer}

Reply with two lines: "SCORE: " and a number from 0 (fails the rubric) to 1 (meets it fully), \
then "REASON: " and one short sentence."""
SCORE = re.compile(r"\bscore\b[\s:=*_\"'#]{0,6}(-?\d+(?:\.\d+)?|-?\.\d+)"
                   r"\s*(%|/\s*(\d+(?:\.\d+)?))?", re.IGNORECASE)
REASON = re.compile(r"\breason\b[\s:=*_\"'#]{0,6}(.+)", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class Judge:
    """A rubric and the model that scores each answer by it (None: the cheapest current)."""

    rubric: str
    model: str | None = None

    def prompt(self, question: str, answer: str) -> str:
        """What the judge is sent about one answer to one question."""
        return TEMPLATE.format(rubric=self.rubric, question=question, answer=answer)


@dataclass(frozen=True)
class Verdict:
    """A judge's score (0 to 1) and the reason it gave."""

    score: float
    reason: str


def parse_verdict(text: str) -> Verdict | None:
    """`SCORE: 0.8` (or `80%`, `8/10`) and `REASON: ...` from the judge's reply; None when it
    gives no score from 0 to 1 (a bare number above 1 is ambiguous, so it does not count)."""
    found = SCORE.search(text)
    if found is None:
        return None
    value = float(found[1])
    if found[2] == "%":
        value /= 100
    elif found[3] is not None:
        denominator = float(found[3])
        if denominator <= 0:
            return None
        value /= denominator
    if not 0 <= value <= 1:
        return None
    said = REASON.search(text)
    reason = said[1] if said else (text[:found.start()] + text[found.end():])
    reason = " ".join(reason.split()).strip(" *:-")
    if len(reason) > REASON_CHARS:
        reason = reason[:REASON_CHARS - 1] + "…"
    return Verdict(round(value, 4), reason)


def unreadable(text: str) -> str:
    """Why a judge's reply counts as a check error."""
    shown = " ".join(text.split())[:80]
    return f"the judge gave no score from 0 to 1 (it said: {shown!r})"
