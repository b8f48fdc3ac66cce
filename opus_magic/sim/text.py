"""What the simulated model returns: deterministic one-token-per-piece answers and usage figures."""
from __future__ import annotations

import hashlib
import json
import random
import threading
from collections.abc import Iterator, Sequence
from typing import Any

from opus_magic.cost.catalog import default_catalog
from opus_magic.cost.tokens import count_messages

# Each entry is one token with a leading space in both cl100k_base and o200k_base (tested).
WORDS = tuple("""
the model prompt token cost answer cache request stream time price budget test result value data
system user output input context window small large fast slow simple clear good better best first
last next each every many most some other same new short long high low early late common useful
careful direct open plain quick real safe strong full light deep wide final basic main key general
specific recent local different similar important possible likely usually often always never also
still only just even then there here when where which while because after before during about
above below under over into from with without through between across along around is are was be
has have can could will would should may might must run runs read reads write send keep keeps show
shows use uses make makes take takes give find check count counts measure return returns call track
save load build start stop learn explain compare improve reduce increase limit choose change help
work works way part point case step rule idea example question number word line list table file
cell code function method record error option setting feature problem reason approach process
pattern format structure detail section summary note text document page version source target goal
plan level rate size length amount total average range series order group kind type form view
state event task job tool team people client server network memory batch query search report score
metric signal trend spend money dollar hour minute second day week month year this that these
those it they them their we our you your one two three four five ten more less much few several
enough very quite rather almost well so and or but yet if than as at by for in of on to up out
back again once both not no any all
""".split())
# Capitalised sentence starters: one token with and without a leading space.
STARTERS = ("The", "This", "It", "We", "In", "For", "Each", "Most", "Some", "Many", "When", "If",
            "Our", "Your", "That", "These", "Then", "Also", "But", "So", "Here", "There", "Use")
HEADINGS = ("Summary", "Overview", "Notes", "Example", "Details", "Steps", "Answer", "Result",
            "Context", "Costs", "Plan", "Key", "Points")
HEADING_MARK = "##"
PARAGRAPH_END = ".\n\n"  # one token: "." and "\n\n" would merge into it
SENTENCE_END = "."
BULLET = "-"
NEWLINE = "\n"
BLANK_LINE = "\n\n"
# Short snippets, already split the way both encodings split them.
CODE_BLOCKS: tuple[tuple[str, ...], ...] = (
    ("```", "python", "\n", "def", " total", "(values", "):\n", "   ", " return", " sum",
     "(values", ")\n", "```"),
    ("```", "python", "\n", "def", " mean", "(values", "):\n", "   ", " return", " sum", "(values",
     ")", " /", " len", "(values", ")\n", "```"),
    ("```", "python", "\n", "def", " cost", "(tokens", ",", " rate", "):\n", "   ", " return",
     " tokens", " *", " rate", "\n", "```"),
    ("```", "python", "\n", "def", " count", "_words", "(text", "):\n", "   ", " return", " len",
     "(text", ".split", "())\n", "```"),
    ("```", "python", "\n", "for", " word", " in", " words", ":\n", "   ", " print", "(word",
     ")\n", "```"),
)
MIN_NATURAL, NATURAL_SPREAD = 60, 141
UNKNOWN_MODEL_MIN_PREFIX = 1024


def request_seed(messages: Sequence[dict[str, Any]], model: str = "") -> int:
    """A stable integer from the messages and the model: same request, same answer; another
    model answers the same prompt in its own words."""
    raw = json.dumps([model, *messages] if model else list(messages), sort_keys=True,
                     ensure_ascii=False, default=str)
    return int.from_bytes(hashlib.sha256(raw.encode()).digest()[:8], "big")


def system_text(messages: Sequence[dict[str, Any]]) -> str:
    """All system/developer message text, lower-cased."""
    parts = []
    for message in messages:
        if message.get("role") in ("system", "developer"):
            content = message.get("content")
            if isinstance(content, list):
                content = " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
            parts.append(str(content or ""))
    return " ".join(parts).lower()


def answer_chunks(messages: Sequence[dict[str, Any]], answer_tokens: int | None = None,
                  model: str = "") -> list[str]:
    """The full answer as a list of one-token pieces."""
    rng = random.Random(request_seed(messages, model))
    system = system_text(messages)
    if "code only" in system or "only code" in system:
        return list(rng.choice(CODE_BLOCKS))
    natural = answer_tokens is None
    length = MIN_NATURAL + rng.randrange(NATURAL_SPREAD) if answer_tokens is None else answer_tokens
    if "concise" in system:
        length = max(1, round(length / 4))
    chunks: list[str] = []
    pieces = _prose(rng)
    while len(chunks) < length:
        chunks.append(next(pieces))
    while natural and not chunks[-1].startswith(SENTENCE_END):
        chunks.append(next(pieces))
    if chunks[-1] == PARAGRAPH_END or (len(chunks) >= 2 and _is_word(chunks[-2])
                                        and _is_word(chunks[-1])):
        chunks[-1] = SENTENCE_END
    return chunks


def _is_word(piece: str) -> bool:
    return piece.strip().isalpha()


def _prose(rng: random.Random) -> Iterator[str]:
    """An endless run of paragraphs, sometimes with a heading and a bullet list."""
    if rng.random() < 0.4:
        yield HEADING_MARK
        yield " " + rng.choice(HEADINGS)
        yield " " + rng.choice(WORDS)
        yield BLANK_LINE
    list_after = rng.choice((1, 2, 3, 0))
    paragraph = 0
    while True:
        paragraph += 1
        sentences = rng.randint(2, 4)
        for sentence in range(sentences):
            starter = rng.choice(STARTERS)
            yield starter if sentence == 0 else " " + starter
            for _ in range(rng.randint(4, 12)):
                yield " " + rng.choice(WORDS)
            yield PARAGRAPH_END if sentence == sentences - 1 else SENTENCE_END
        if paragraph == list_after:
            yield from _bullets(rng)


def _bullets(rng: random.Random) -> Iterator[str]:
    """Three to five bullet items, then a blank line."""
    for item in range(rng.randint(3, 5)):
        if item:
            yield NEWLINE
        yield BULLET
        for _ in range(rng.randint(2, 6)):
            yield " " + rng.choice(WORDS)
    yield BLANK_LINE


class PromptCache:
    """Remembers the token length of every message prefix seen, per model."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[str, dict[str, int]] = {}

    def usage(self, model: str, messages: Sequence[dict[str, Any]],
              tools: list[dict[str, Any]] | None) -> tuple[int, int, int]:
        """(prompt, cached, cache write) tokens of a request, then remember its prefixes."""
        base = count_messages([], model, tools)
        prefixes: list[tuple[str, int]] = []
        digest = hashlib.sha256(json.dumps(tools, sort_keys=True).encode())
        length = base
        for message in messages:
            digest.update(json.dumps(message, sort_keys=True, default=str).encode())
            length += count_messages([message], model) - count_messages([], model)
            prefixes.append((digest.hexdigest(), length))
        info = default_catalog().get(model)
        minimum = UNKNOWN_MODEL_MIN_PREFIX if info is None else info.min_cache_prefix
        if minimum is None:
            return length, 0, 0
        with self._lock:
            seen = self._seen.setdefault(model, {})
            cached = max((n for key, n in prefixes if key in seen), default=0)
            seen.update(prefixes)
        cached = cached if cached >= minimum else 0
        written = length - cached if length >= minimum and length - cached >= minimum else 0
        return length, cached, written


def usage_body(prompt: tuple[int, int, int], completion: int, scale: float) -> dict[str, Any]:
    """An OpenAI `usage` object from (prompt, cached, cache write) and completion token counts."""
    prompt_tokens, cached, written = (round(n * scale) for n in prompt)
    completion_tokens = round(completion * scale)
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": cached, "cache_write_tokens": written},
            "completion_tokens_details": {"reasoning_tokens": 0}}
