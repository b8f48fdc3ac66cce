"""When the simulated model calls a declared tool, with which arguments, and what it says once
the results are back; the same rules for the Messages API and OpenAI chat completions.

A tool is called for when the prompt (the last user turn that is not only tool results) names
it or one of the words of its name, plurals included: `get_weather` by "weather", `search_orders`
by "order" (generic verbs such as get, search, list or find do not count, unless the name has no
other word; nor do numbers and words under three letters). Several tools called for are called in parallel, in the order the prompt mentions
them; with parallel use disabled, one a turn, the next after the previous one's result.
`tool_choice` none: text only; any: the tools called for, else the first declared; a named
tool: that one alone. After the results of every call, the model answers in text that quotes
each result (an error result is said to have failed), unless a tool the prompt called for is
still to be called or the choice forces a tool. Arguments come from `schema_values`.
"""
from __future__ import annotations

import random
import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from opus_magic.sim.content import prompt_facts as facts
from opus_magic.sim.content.schema_values import Filler, broken

GENERIC = frozenset("""
get set list find fetch search lookup look query create update delete make run call do tool add
remove check read write send by for of and to from with the a an current info data api my all
""".split())
RESULT_CHARS = 2000  # how much of a result the answer quotes
ID_CHARS = string.ascii_letters + string.digits


@dataclass(frozen=True)
class Tool:
    """A declared function tool: its name, description and JSON schema for the arguments."""

    name: str
    description: str
    schema: dict[str, Any]


@dataclass(frozen=True)
class Call:
    """One tool call the model makes."""

    id: str
    name: str
    input: dict[str, Any]


@dataclass(frozen=True)
class Result:
    """One tool result sent back: the tool's name, its text, whether it is an error."""

    name: str
    content: str
    is_error: bool = False


@dataclass(frozen=True)
class Choice:
    """`tool_choice` in either API's words: mode auto, any, tool (with `name`) or none."""

    mode: str = "auto"
    name: str | None = None
    parallel: bool = True

    @property
    def forced(self) -> bool:
        return self.mode in ("any", "tool")


@dataclass(frozen=True)
class Turn:
    """What the conversation says about tools: the prompt, the tools called since it, and the
    results the last user turn carries (empty when it is a new prompt)."""

    prompt: str
    called: tuple[str, ...] = ()
    results: tuple[Result, ...] = ()


def keywords(name: str) -> list[str]:
    """The words of a tool's name that call for it."""
    parts = [w for w in facts.words(name) if len(w) > 2 and w.isalpha()]
    specific = [w for w in parts if w not in GENERIC]
    return specific or parts


def called_for(tools: Sequence[Tool], prompt: str) -> list[Tool]:
    """The tools the prompt calls for, in the order it mentions them."""
    spots = []
    for index, tool in enumerate(tools):
        named = prompt.lower().find(tool.name.lower())
        places = [facts.mentions(prompt, w) for w in keywords(tool.name)]
        places = [p for p in [named, *places] if p >= 0]
        if places:
            spots.append((min(places), index, tool))
    return [tool for _, _, tool in sorted(spots, key=lambda spot: spot[:2])]


def chosen(tools: Sequence[Tool], choice: Choice, turn: Turn) -> list[Tool]:
    """The tools the model calls now (none: it answers in text)."""
    if choice.mode == "none" or not tools:
        return []
    if choice.mode == "tool":
        return [t for t in tools if t.name == choice.name][:1]
    wanted = called_for(tools, turn.prompt)
    if turn.results:
        pending = [t for t in wanted if t.name not in turn.called]
        picked = pending or (wanted[:1] or list(tools[:1]) if choice.mode == "any" else [])
    else:
        picked = wanted or (list(tools[:1]) if choice.mode == "any" else [])
    return picked if choice.parallel else picked[:1]


def plan(tools: Sequence[Tool], choice: Choice, turn: Turn, rng: random.Random,
         new_id: Callable[[random.Random], str], bad: str | None = None) -> list[Call]:
    """The calls of this turn with their arguments; `bad` ("missing_field" or "wrong_type")
    makes every call's arguments fail their schema."""
    text = "\n".join([turn.prompt, *(r.content for r in turn.results)])
    calls = []
    for tool in chosen(tools, choice, turn):
        filler = Filler(text, rng, tool.schema)
        arguments = filler.value(tool.schema)
        if bad in ("missing_field", "wrong_type"):
            arguments = broken(arguments, tool.schema, bad)
        calls.append(Call(new_id(rng), tool.name, arguments if isinstance(arguments, dict)
                          else {"value": arguments}))
    return calls


def random_id(prefix: str, length: int) -> Callable[[random.Random], str]:
    """An id maker: `prefix` and `length` characters drawn from the request's seed."""
    return lambda rng: prefix + "".join(rng.choice(ID_CHARS) for _ in range(length))


def results_text(results: Sequence[Result]) -> str:
    """The answer once the results are in: each result quoted, errors said to have failed."""
    lines = []
    for result in results:
        content = " ".join(result.content.split())[:RESULT_CHARS] or "(empty)"
        end = "" if content.endswith((".", "!", "?")) else "."
        if result.is_error:
            lines.append(f"The {result.name} call failed with an error: {content}{end} I could "
                         f"not get that information, so that part stays unanswered.")
        else:
            lines.append(f"{result.name} returned: {content}{end}")
    return "\n\n".join(lines)
