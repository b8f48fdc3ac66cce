"""The simulator's prompt cache for the Messages API, driven by `cache_control` breakpoints.

The prefix is the tool-use system prompt, tools, then system, then messages, block by block; how
each counts is `count`'s rule. A breakpoint whose prefix
reaches the model's minimum is written with its lifetime (5 minutes or 1 hour); a later request
reads the longest live prefix it shares (at any block up to its last breakpoint, as Anthropic's
lookback does), and a read refreshes the lifetime.
"""
from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from opus_magic.cost.catalog import default_catalog
from opus_magic.cost.tokens import count_text, count_tools
from opus_magic.sim.content.attachments import TOKENS
from opus_magic.sim.native.server_tools import result_tokens
from opus_magic.sim.native.tools import tool_prompt_tokens

TTL_S = {"5m": 300.0, "1h": 3600.0}
UNKNOWN_MODEL_MIN_PREFIX = 1024
MESSAGE_OVERHEAD = 3  # role and framing tokens per message


@dataclass(frozen=True)
class Block:
    """One cacheable piece of the prefix: its tokens and, when marked, the lifetime asked for."""

    key: str
    tokens: int
    ttl: str | None


@dataclass(frozen=True)
class NativeUsage:
    """Input counts of one request as the Messages API reports them (input excludes the cache)."""

    input_tokens: int
    cache_read: int
    write_5m: int
    write_1h: int

    def body(self) -> dict[str, Any]:
        return {"input_tokens": self.input_tokens,
                "cache_creation_input_tokens": self.write_5m + self.write_1h,
                "cache_read_input_tokens": self.cache_read,
                "cache_creation": {"ephemeral_5m_input_tokens": self.write_5m,
                                   "ephemeral_1h_input_tokens": self.write_1h}}


def blocks(request: dict[str, Any], model: str) -> list[Block]:
    """The request's prefix as blocks, in the order Anthropic caches it: the tool-use system
    prompt (when any tool is declared), the tools, the system prompt, the messages."""
    pieces: list[tuple[str, int, Any]] = []  # what the block's key is made of, tokens, mark
    prompt = tool_prompt_tokens(request, model)
    if prompt:
        pieces.append((f"tool-use system prompt of {prompt} tokens", prompt, None))
    for tool in request.get("tools") or ():
        bare = _unmarked(tool)
        pieces.append((json.dumps(bare, sort_keys=True), count_tools([bare], model),
                       tool.get("cache_control")))
    system = request.get("system")
    for block in ([{"text": system}] if isinstance(system, str) else system or ()):
        text = block.get("text", "")
        pieces.append((text, count_text(text, model), block.get("cache_control")))
    for message in request.get("messages") or ():
        content = message.get("content")
        parts = [{"text": content}] if isinstance(content, str) else content or []
        for index, part in enumerate(parts):
            text = json.dumps({"role": message.get("role"), **_unmarked(part)}, sort_keys=True)
            tokens = part.get(TOKENS) if TOKENS in part else result_tokens(part, model)
            tokens = count_text(text, model) if tokens is None else tokens  # an attachment
            # carries its own count (`sim/content/attachments.py`)
            pieces.append((text, tokens + (MESSAGE_OVERHEAD if index == 0 else 0),
                           part.get("cache_control")))
    digest = hashlib.sha256(model.encode())
    out = []
    for text, tokens, mark in pieces:
        digest.update(text.encode())
        ttl = (mark.get("ttl") or "5m") if isinstance(mark, dict) else None
        out.append(Block(digest.hexdigest(), tokens, ttl))
    return out


def _unmarked(block: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in block.items() if k != "cache_control"}


def count(request: dict[str, Any], model: str) -> int:
    """All input tokens of a request: what count_tokens answers.

    1 + the tool-use system prompt when any tool is declared (the catalog's `tool_prompt` of
    the model: `auto` for tool_choice auto or none, `forced` for any or tool; 0 for a model the
    catalog does not know) + each tool as `cost.tokens.count_tools` counts it (8 + its compact
    JSON without cache_control) + each system block's text + each message part as its JSON
    with the role (3 more for a message's first part); a web search or fetch result counts its
    results' title, URL and page text instead.
    """
    return sum(block.tokens for block in blocks(request, model)) + 1


class NativeCache:
    """Written prefixes and when each expires, per model; safe across request threads."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._expiry: dict[str, tuple[float, str]] = {}

    def usage(self, request: dict[str, Any], model: str) -> NativeUsage:
        """The request's input counts; writes and refreshes what it caches."""
        prefix = blocks(request, model)
        info = default_catalog().get(model)
        minimum = UNKNOWN_MODEL_MIN_PREFIX if info is None else info.min_cache_prefix
        total = count(request, model)
        marks = [i for i, block in enumerate(prefix) if block.ttl]
        if minimum is None or not marks:
            return NativeUsage(total, 0, 0, 0)
        lengths = [sum(b.tokens for b in prefix[:i + 1]) for i in range(len(prefix))]
        now = self.clock()
        with self._lock:
            hits = [i for i in range(marks[-1] + 1) if self._live(prefix[i].key, now)]
            read = lengths[hits[-1]] if hits and lengths[hits[-1]] >= minimum else 0
            for i in hits:
                ttl = self._expiry[prefix[i].key][1]
                self._expiry[prefix[i].key] = (now + TTL_S[ttl], ttl)
            written = {"5m": 0, "1h": 0}
            done = read
            for i in marks:
                block = prefix[i]
                if lengths[i] >= minimum and lengths[i] > done:
                    assert block.ttl is not None
                    written[block.ttl] += lengths[i] - done
                    done = lengths[i]
                    self._expiry[block.key] = (now + TTL_S[block.ttl], block.ttl)
        return NativeUsage(total - read - written["5m"] - written["1h"], read,
                           written["5m"], written["1h"])

    def _live(self, key: str, now: float) -> bool:
        entry = self._expiry.get(key)
        return entry is not None and entry[0] > now
