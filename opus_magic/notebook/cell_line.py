"""A `%%opus` line with other max_tokens and concise flags, everything else kept as written."""
from __future__ import annotations

import re

from opus_magic.notebook.lines import split_words

# One word as `split_words` groups it: quotes group, an apostrophe inside a word is no quote.
WORD = re.compile(r"""(?:[^\s"']|(?<=\w)'(?=\w)|"[^"]*"|'[^']*')+""")
MAX_TOKENS = "--max-tokens"
MODE_FLAGS = {"concise": "--concise", "code": "--code-only"}


def names(word: str, option: str) -> bool:
    """Whether a word names `option`, whole or shortened the way argparse accepts.

    A shortening shared with another option ("--con") is refused by argparse, so a line that ran
    never holds one: any prefix longer than "--x" that ran meant this option.
    """
    return len(word) > 3 and option.startswith(word)


def with_flags(line: str, max_tokens: int | None = None, concise: str | None = None) -> str:
    """`line` (the words after %%opus) asking for `max_tokens` and `concise` mode instead.

    None leaves that flag as written. The first max_tokens flag keeps its spelling
    (`--max-tokens 600`, `--max-tokens=600`, `--max 600`) with the new number; the first mode
    flag becomes the new one (or goes, for "off"); repeats go; missing ones are added at the end.
    """
    words = [(m.start(), m.end(), split_words(m.group())[0]) for m in WORD.finditer(line)]
    edits: list[tuple[int, int, str]] = []  # (start, end, replacement): "" drops the word
    seen_tokens = seen_mode = False
    skip = False
    for i, (start, end, word) in enumerate(words):
        if skip:
            skip = False
            continue
        name, equals, _ = word.partition("=")
        if max_tokens is not None and names(name, MAX_TOKENS):
            skip = not equals and i + 1 < len(words)
            value_end = words[i + 1][1] if skip else end
            if seen_tokens:
                edits.append((start, value_end, ""))
            else:
                kept = f"{name}={max_tokens}" if equals else f"{name} {max_tokens}"
                edits.append((start, value_end, kept))
            seen_tokens = True
        elif concise is not None and not equals and any(
                names(name, flag) for flag in MODE_FLAGS.values()):
            edits.append((start, end, "" if seen_mode else MODE_FLAGS.get(concise, "")))
            seen_mode = True
    added = ([f"{MAX_TOKENS} {max_tokens}"] if max_tokens is not None and not seen_tokens else []
             ) + ([MODE_FLAGS[concise]] if concise in MODE_FLAGS and not seen_mode else [])
    return " ".join(part for part in (applied(line, edits), *added) if part)


def applied(line: str, edits: list[tuple[int, int, str]]) -> str:
    """`line` with each span replaced; a dropped word takes the spaces before it along."""
    out, at = [], 0
    for start, end, text in edits:
        kept = line[at:start]
        out.append(kept if text else kept.rstrip())
        out.append(text)
        at = end
    out.append(line[at:])
    return "".join(out).strip()


def first_line(line: str, max_tokens: int | None = None, concise: str | None = None) -> str:
    """The cell's whole first line: `%%opus` and `with_flags(...)`."""
    return f"%%opus {with_flags(line, max_tokens, concise)}".rstrip()
