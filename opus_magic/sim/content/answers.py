"""Written answers for the prompts the README and the notebooks use (data in answers.json), and
text cut into a model's tokens, the pieces every answer is streamed in."""
from __future__ import annotations

import functools
import importlib.resources
import json
from typing import Any

from opus_magic.cost.tokens import encoding_for

FILE = "answers.json"


def prompt_key(prompt: str) -> str:
    """A prompt as the table looks it up: case and spacing do not matter."""
    return " ".join(prompt.split()).casefold()


@functools.cache
def _table() -> dict[str, dict[str, str]]:
    data = importlib.resources.files("opus_magic.sim.content") / FILE
    raw = json.loads(data.read_text("utf-8"))
    return {prompt_key(entry["prompt"]): entry for entry in raw["answers"]}


def written_text(prompt: str, model: str) -> str | None:
    """The written answer to `prompt` in the style of `model`'s family, or None."""
    entry = _table().get(prompt_key(prompt))
    if entry is None:
        return None
    family = model.rsplit("/", 1)[-1].lower()
    if "haiku" in family:
        return entry["haiku"]
    if "opus" in family and entry["opus_adds"]:
        return entry["answer"] + "\n\n" + entry["opus_adds"]
    return entry["answer"]


@functools.lru_cache(maxsize=256)
def written_pieces(prompt: str, model: str) -> tuple[str, ...] | None:
    """The written answer cut into one-token pieces of `model`'s encoding, or None."""
    text = written_text(prompt, model)
    if text is None:
        return None
    encoding = encoding_for(model)
    return tuple(encoding.decode([token]) for token in encoding.encode(text))


def last_user_text(messages: Any) -> str:
    """The text of the last user message (the prompt a written answer is looked up by)."""
    for message in reversed(list(messages)):
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, list):
                return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
            return str(content or "")
    return ""


def token_pieces(text: str, model: str) -> list[str]:
    """`text` cut into the model's tokens (a character split across tokens stays whole)."""
    encoding = encoding_for(model)
    pieces, pending = [], b""
    for token in encoding.encode(text, disallowed_special=()):
        pending += encoding.decode_single_token_bytes(token)
        try:
            pieces.append(pending.decode("utf-8"))
        except UnicodeDecodeError:
            continue
        pending = b""
    return pieces
