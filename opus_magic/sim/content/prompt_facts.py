"""What a prompt offers the simulated model to fill arguments and JSON with: its words, names,
places, numbers, identifiers, dates, e-mail addresses and URLs, found by plain patterns."""
from __future__ import annotations

import re

from opus_magic.sim.content.text import STOP_WORDS

PLACE_CUES = ("in", "at", "to", "from", "near", "via")
NOT_NAMES = frozenset("""
I What When Where Which Who Why How Is Are Can Could Would Should Please The This That These
Those It My Our Your Find Get Show Tell Give List Look Check Search Use Call Also And Or But Then
Today Tomorrow Yesterday Monday Tuesday Wednesday Thursday Friday Saturday Sunday January February
March April May June July August September October November December
""".split())
FILLERS = frozenset("""
also find get show please today now could would just like want need know help let lets make
sure whats what's here there have has had been being does did done
""".split())
WORD = re.compile(r"[A-Za-z]+(?:['’-][A-Za-z]+)*")
CAPITALISED = re.compile(r"\b([A-Z][a-z]+(?:\s+[A-Z][a-z]+)*)")
NUMBER = re.compile(r"(?<![\w.-])-?\d+(?:\.\d+)?(?![\w])")
IDENTIFIER = re.compile(r"#?\b([A-Za-z]{0,6}[-_]?\d[\w-]*)")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
URL = re.compile(r"https?://[^\s<>\"')\]]+")
DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
DATE_TIME = re.compile(r"\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2})?(?:Z|[+-]\d{2}:\d{2})?")


def words(name: str) -> list[str]:
    """A property or tool name as lower-case words: `order_id`, `orderId`, `order-id` → order, id."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return [w.lower() for w in re.split(r"[^A-Za-z0-9]+", spaced) if w]


def mentions(text: str, word: str) -> int:
    """Where `text` first mentions `word` (any case, a plural too), or -1."""
    stem = word.lower().removesuffix("es") if word.lower().endswith("ses") else word.lower()
    stem = stem.removesuffix("s") if len(stem) > 3 else stem
    found = re.search(rf"\b{re.escape(stem)}(?:s|es)?\b", text, re.IGNORECASE)
    return found.start() if found else -1


def content_words(text: str, limit: int = 8) -> list[str]:
    """The prompt's words that carry meaning, in order and original case, without repeats."""
    out: list[str] = []
    for word in WORD.findall(text):
        bare = word.lower().removesuffix("'s").removesuffix("’s")
        if len(word) > 2 and bare not in STOP_WORDS and bare not in FILLERS and word not in out:
            out.append(word)
    return out[:limit]


def phrase(text: str, limit: int = 6) -> str:
    """A short phrase of the prompt's content words (what a search query or title would say)."""
    return " ".join(content_words(text, limit))


def places(text: str) -> list[str]:
    """Capitalised names after in/at/to/from/near/for/of: the places a prompt names."""
    found = []
    for cue in PLACE_CUES:
        for match in re.finditer(rf"\b{cue}\s+{CAPITALISED.pattern}", text):
            found.append((match.start(1), match.group(1)))
    return [name for _, name in sorted(found) if name.split()[0] not in NOT_NAMES]


def names(text: str) -> list[str]:
    """Capitalised words not at the start of a sentence and not a known non-name, in order."""
    out = []
    for match in CAPITALISED.finditer(text):
        before = text[:match.start()].rstrip()
        found = match.group(1).split()
        if not before or before.endswith((".", "!", "?", ":", "\n")):
            found = found[1:]  # a sentence's first word is capitalised anyway
        name = " ".join(w for w in found if w not in NOT_NAMES)
        if name and name not in out:
            out.append(name)
    return out


def people(text: str) -> list[str]:
    """Names that are not places."""
    where = set(places(text))
    return [name for name in names(text) if name not in where]


def numbers(text: str) -> list[str]:
    """Every number in the prompt, as written."""
    return NUMBER.findall(text)


def number_near(text: str, key_words: list[str]) -> str | None:
    """A number right after (or before) one of `key_words`, e.g. "order 4521", "3 days"."""
    for word in key_words:
        if len(word) < 3 or word in ("number", "num"):
            continue
        stem = re.escape(word.removesuffix("s"))
        after = re.search(rf"\b{stem}s?\b[\s:=#]{{0,3}}(?:(?:no|number|id)\W{{0,2}})?"
                          rf"({NUMBER.pattern})", text, re.IGNORECASE)
        if after:
            return after.group(1)
        before = re.search(rf"({NUMBER.pattern})\s+{stem}s?\b", text, re.IGNORECASE)
        if before:
            return before.group(1)
    return None


def stated(text: str, key_words: list[str]) -> str | None:
    """A value the prompt states for a key: "status: shipped", "priority is high"."""
    key = r"[\s_-]*".join(re.escape(w) for w in key_words)
    found = re.search(rf"\b{key}\s*(?::|=|\bis\b)\s*(\"[^\"]+\"|'[^']+'|[^\s,.;!?]+)", text,
                      re.IGNORECASE)
    return found.group(1).strip("\"'") if found and key else None


def identifier(text: str) -> str | None:
    """The first identifier-looking token with a digit: "ORD-1234", "#4521" → "4521"."""
    found = IDENTIFIER.search(text)
    return found.group(1) if found else None


def first(pattern: re.Pattern[str], text: str) -> str | None:
    found = pattern.search(text)
    return found.group(0) if found else None


def urls(text: str) -> list[str]:
    """Every http(s) URL in the prompt, trailing punctuation left out."""
    return [url.rstrip(".,;:!?") for url in URL.findall(text)]
