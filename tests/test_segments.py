"""Cutting a streamed Markdown answer into parts that render alone as they do together (pure)."""
from __future__ import annotations

import pytest

from opus_magic.sim.content.text import answer_chunks
from opus_magic.view.run.segments import Segments


def cut(text: str, pieces: int = 1, **limits: int) -> list[str]:
    """The parts `Segments` gives for `text` fed `pieces` characters at a time, then its tail."""
    segments = Segments(**limits)
    parts = [segments.add(text[i:i + pieces]) for i in range(0, len(text), pieces)]
    return [p for p in parts if p] + ([segments.tail] if segments.tail else [])


def test_a_long_answer_is_cut_between_blocks_into_parts_of_at_least_the_minimum() -> None:
    pieces = answer_chunks([{"role": "user", "content": "Explain caching."}], 10_000)
    segments = Segments(min_chars=2_048)
    parts = [p for p in (segments.add(piece) for piece in pieces) if p]
    assert len(parts) > 10
    assert "".join(parts) + segments.tail == "".join(pieces)
    assert all(len(p) >= 2_048 and p.endswith("\n\n") for p in parts)


@pytest.mark.parametrize("pieces", [1, 7, 1_000])
def test_no_cut_inside_a_code_fence_or_before_an_indented_line(pieces: int) -> None:
    text = ("Intro\n\n```python\nx = 1\n\n\ny = 2\n```\n\n- item\n\n  more of the item\n\n"
            "    indented code\n\nEnd\n")
    parts = cut(text, pieces, min_chars=1)
    assert "".join(parts) == text
    ends = {sum(len(p) for p in parts[:i]) for i in range(1, len(parts))}
    allowed = {text.index("```python"), text.index("- item"), text.index("End")}
    assert ends <= allowed and (pieces > 1 or ends == allowed)


def test_code_on_one_line_between_triple_backticks_opens_no_fence() -> None:
    assert cut("Use ``` a ``` here.\n\nNext\n", min_chars=1) == ["Use ``` a ``` here.\n\n",
                                                                "Next\n"]
    assert cut("~~~\nkeep\n\nthis\n~~~\n\nafter\n", min_chars=1) == ["~~~\nkeep\n\nthis\n~~~\n\n",
                                                                     "after\n"]


def test_a_block_past_the_maximum_is_cut_at_a_line_end_its_fence_closed_and_reopened() -> None:
    code = "".join(f"line {i}\n" for i in range(40))
    parts = cut(f"```js\n{code}```\n", 5, min_chars=1, max_chars=100)
    assert len(parts) > 2
    assert all(p.startswith("```js\n") and p.rstrip("\n").endswith("```") for p in parts)
    assert "".join(line for p in parts for line in p.splitlines(True)
                   if not line.startswith("```")) == code


def test_the_tail_stays_bounded_when_no_line_ever_ends() -> None:
    segments = Segments(min_chars=10, max_chars=1_000)
    longest = 0
    for _ in range(5_000):
        segments.add("word ")
        longest = max(longest, len(segments.tail))
    assert longest <= 1_005
