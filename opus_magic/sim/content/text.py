"""What the simulated model returns: deterministic one-token-per-piece answers and usage figures."""
from __future__ import annotations

import functools
import hashlib
import itertools
import json
import random
import re
import threading
from collections.abc import Iterator, Sequence
from typing import Any

from opus_magic.cost.catalog import default_catalog
from opus_magic.cost.tokens import count_messages, get_encoding
from opus_magic.sim.content.answers import last_user_text, token_pieces, written_pieces
from opus_magic.sim.content.attachments import carried_tokens
from opus_magic.sim.content.judge_answer import judge_reply
from opus_magic.sim.content.tool_prompt import tool_prompt_tokens

# The vocabulary of the sentence shapes below: each entry is one token with a leading space in
# both cl100k_base and o200k_base (tested).
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
back again once both not no any all a how what too off down see look meet times teams costs helps
holds matters changes affects practice details mistake baseline default speed trade usual worth
knowing easiest expect avoid against anything together
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
# Sentence shapes for prompts without a written answer, in words of STARTERS then WORDS (tested):
# "{}" takes one of the prompt's words.
SENTENCES = (
    "The main point about {} is that it changes what each request costs",
    "In practice , {} matters most when the same work runs many times",
    "When you measure {} , start with a small test and compare the result",
    "Most teams check {} first because it is the easiest part to change",
    "If {} is new to you , read one short example before the full details",
    "Use {} where it helps , and keep a simple baseline to compare against",
    "This is also where {} and {} meet , so look at them together",
    "For {} , the usual mistake is to change too much at once",
    "It helps to write down what you expect from {} before you run anything",
    "Then track {} over a week and see if the trend holds",
)
BULLETS = ("what it is and when to use it", "how it affects cost and speed",
           "a common mistake to avoid", "how to check that it works", "what is worth knowing first",
           "the trade off and a good default")
OPENINGS = ("Here is a short answer about", "In short , this is about",
            "The short version is about", "This question is about", "Your question is about")
FALLBACK_WORDS = ("this",)
STOP_WORDS = frozenset("""
a an the and or of to in on for with is are was be what how why when which who whom please me my
i you your it its this that these those do does did can could would should will explain describe
tell about write give list name some any as at by from into than then there their them they we our
""".split())
CODE_WORDS = frozenset(("code", "function", "python", "script", "program", "implement", "snippet",
                        "sql", "regex", "class", "javascript", "bash"))
SENTENCE_ENDS = (".", "!", "?")
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
                  model: str = "", opening: Sequence[str] = ()) -> list[str]:
    """The full answer as a list of one-token pieces: the written answer for a known prompt,
    else one built from the prompt's own words, after `opening` (pieces naming attachments);
    `answer_tokens` sets the exact length."""
    rng = random.Random(request_seed(messages, model))
    system = system_text(messages)
    if "code only" in system or "only code" in system:
        return list(rng.choice(CODE_BLOCKS))
    prompt = last_user_text(messages)
    judged = judge_reply(prompt, request_seed(messages, model))
    if judged is not None:  # a fixed answer length cuts the judge's reply too
        return token_pieces(judged, model)[:answer_tokens]
    words = prompt_words(prompt)
    written = written_pieces(prompt, model)
    if written is None:
        natural_length = MIN_NATURAL + rng.randrange(NATURAL_SPREAD)
        pieces = _prose(rng, words, wants_code=bool(CODE_WORDS.intersection(words)))
    else:
        natural_length = len(written)
        pieces = itertools.chain(written, _paragraphs(rng, words, opening=False))
    pieces = itertools.chain(opening, pieces)
    natural_length += len(opening)
    natural = answer_tokens is None
    length = natural_length if answer_tokens is None else answer_tokens
    if "concise" in system:
        length = max(1, round(length / 4))
    chunks = list(itertools.islice(pieces, length))
    while natural and not chunks[-1].startswith(SENTENCE_ENDS):
        chunks.append(next(pieces))
    ends_line = chunks[-1] != SENTENCE_END and chunks[-1].rstrip() == SENTENCE_END
    if (ends_line and (len(chunks) == 1 or _is_word(chunks[-2]))) or (
            len(chunks) >= 2 and _is_word(chunks[-2]) and _is_word(chunks[-1])):
        chunks[-1] = SENTENCE_END
    return chunks


@functools.lru_cache(maxsize=1024)
def _is_one_token(piece: str) -> bool:
    return all(len(get_encoding(name).encode(piece)) == 1 for name in ("cl100k_base", "o200k_base"))


def prompt_words(prompt: str) -> tuple[str, ...]:
    """Up to six of the prompt's own words that stay one token with a space before them."""
    found: list[str] = []
    for word in re.findall(r"[A-Za-z]+", prompt):
        word = word.lower()
        if (len(word) > 2 and word not in STOP_WORDS and word not in found
                and _is_one_token(" " + word)):
            found.append(word)
    return tuple(found[:6]) or FALLBACK_WORDS


def _is_word(piece: str) -> bool:
    return piece.strip().isalpha()


def _prose(rng: random.Random, words: tuple[str, ...], wants_code: bool) -> Iterator[str]:
    """A heading sometimes, a one-line restatement, a code block when code is asked for, then
    paragraphs with a short list."""
    if rng.random() < 0.4:
        yield from (HEADING_MARK, " " + rng.choice(HEADINGS), BLANK_LINE)
    opening = rng.choice(OPENINGS).split(" ")
    yield opening[0]
    yield from ("," if word == "," else " " + word for word in opening[1:])
    named = words[:3]
    for index, word in enumerate(named):
        if index:
            yield " and" if index == len(named) - 1 else ","
        yield " " + word
    yield PARAGRAPH_END
    if wants_code:
        yield from rng.choice(CODE_BLOCKS)
        yield BLANK_LINE
    yield from _paragraphs(rng, words, opening=True)


def _paragraphs(rng: random.Random, words: tuple[str, ...], opening: bool) -> Iterator[str]:
    """Endless paragraphs of sentences about the words, one of them followed by a list;
    `opening` False continues a sentence already ended on the same line."""
    list_after = rng.choice((1, 2, 0))
    paragraph = 0
    while True:
        paragraph += 1
        sentences = rng.randint(2, 4)
        for sentence in range(sentences):
            shape = rng.choice([s for s in SENTENCES if s.count("{}") <= len(words)]).split(" ")
            fill = iter(rng.sample(words, shape.count("{}")))
            yield shape[0] if opening and sentence == 0 else " " + shape[0]
            for token in shape[1:]:
                yield "," if token == "," else " " + (next(fill) if token == "{}" else token)
            yield PARAGRAPH_END if sentence == sentences - 1 else SENTENCE_END
        opening = True
        if paragraph == list_after:
            yield from _bullets(rng, words)


def _bullets(rng: random.Random, words: tuple[str, ...]) -> Iterator[str]:
    """Up to four bullet items, one per word, then a blank line."""
    for item in range(min(rng.randint(3, 4), len(words))):
        if item:
            yield NEWLINE
        yield from (BULLET, " " + words[item % len(words)], ":")
        yield from (" " + w for w in rng.choice(BULLETS).split(" "))
    yield BLANK_LINE


class PromptCache:
    """Remembers the token length of every message prefix seen, per model."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[str, dict[str, int]] = {}

    def usage(self, model: str, messages: Sequence[dict[str, Any]],
              tools: list[dict[str, Any]] | None) -> tuple[int, int, int]:
        """(prompt, cached, cache write) tokens of a request, then remember its prefixes."""
        # the tool-use system prompt Claude adds to a request with tools, in this format too
        base = count_messages([], model, tools) + tool_prompt_tokens(tools, model)
        prefixes: list[tuple[str, int]] = []
        digest = hashlib.sha256(json.dumps(tools, sort_keys=True).encode())
        length = base
        for message in messages:
            digest.update(json.dumps(message, sort_keys=True, default=str).encode())
            # an assistant message's tool calls count as their name and arguments (as output)
            length += (count_messages([message], model) - count_messages([], model)
                       + carried_tokens(message))
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
