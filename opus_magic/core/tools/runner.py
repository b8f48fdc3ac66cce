"""Running the calls a model asked for: all of a turn's calls at once, each on a thread of its
own, stopped after the timeout; what they return (or raise) becomes the result sent back.

A call that raises returns its error to the model (`is_error`), the exception's last line as
its text. Python cannot kill a thread: a call past its timeout is sent `ToolTimedOut` (raised
where it next runs Python code, so a loop or a `time.sleep` in pieces stops), its result is an
error at once, and the thread, if it is blocked in C, is left to end on its own.
"""
from __future__ import annotations

import ctypes
import json
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from opus_magic.core.tools.toolbox import Toolbox
from opus_magic.wire.body.tool_turns import arguments

CONTENT_CHARS = 100_000  # more than this of a result is cut (it would be sent every step after)
Clock = Callable[[], float]


class ToolTimedOut(Exception):
    """Raised inside a tool's thread once its time is up."""


@dataclass(frozen=True)
class ToolCall:
    """One call the model asked for: its id, the tool's name and the arguments' JSON text."""

    id: str
    name: str
    arguments: str

    @property
    def args(self) -> dict[str, Any]:
        return arguments(self.arguments)

    def shown(self) -> str:
        """`get_weather(city='Lisbon')`: the call as a Python call reads."""
        given = self.args
        inner = ", ".join(f"{key}={value!r}" for key, value in given.items()) if given else (
            "" if self.arguments.strip() in ("", "{}") else self.arguments)
        return f"{self.name}({inner})"


@dataclass(frozen=True)
class ToolResult:
    """What a call returned: `status` ok, error (it raised, or its arguments did not fit),
    timeout, declined (by you), not run (the loop stopped before it), shown (a definition only)."""

    id: str
    name: str
    content: str
    status: str = "ok"
    duration_s: float | None = None

    @property
    def is_error(self) -> bool:
        return self.status != "ok"

    def message(self) -> dict[str, Any]:
        """The result as the next request sends it (neutral form, `wire/body/request.py`)."""
        return {"role": "tool", "tool_call_id": self.id, "content": self.content,
                "is_error": self.is_error}

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "content": self.content,
                "status": self.status, "duration_s": self.duration_s}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ToolResult:
        return cls(str(data.get("id")), str(data.get("name")), str(data.get("content") or ""),
                   str(data.get("status") or "ok"), data.get("duration_s"))


def calls_of(tool_calls: Sequence[dict[str, Any]]) -> list[ToolCall]:
    """The calls of a record or a stream state (OpenAI's form)."""
    return [ToolCall(str(call.get("id")), str((call.get("function") or {}).get("name")),
                     str((call.get("function") or {}).get("arguments") or ""))
            for call in tool_calls]


def unrun(calls: Sequence[ToolCall], status: str, why: str) -> list[ToolResult]:
    """Results for calls that did not run, saying why."""
    return [ToolResult(call.id, call.name, why, status) for call in calls]


def text_of(value: Any) -> str:
    """A tool's return value as the text sent back: strings as they are, the rest as JSON."""
    if isinstance(value, str):
        text = value
    elif value is None:
        text = ""
    else:
        try:
            text = json.dumps(value, ensure_ascii=False, default=str)
        except (TypeError, ValueError):
            text = repr(value)
    if len(text) > CONTENT_CHARS:
        text = text[:CONTENT_CHARS] + f" … ({len(text) - CONTENT_CHARS:,} more characters cut)"
    return text


@dataclass
class _Running:
    """One call in flight; the first result settled (its own, or the timeout's) is kept."""

    call: ToolCall
    done: threading.Event = field(default_factory=threading.Event)
    result: ToolResult | None = None
    thread: threading.Thread | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def settle(self, content: str, status: str, duration_s: float | None) -> None:
        with self.lock:
            if self.result is None:
                self.result = ToolResult(self.call.id, self.call.name, content, status,
                                         duration_s)
        self.done.set()


def run_calls(toolbox: Toolbox, calls: Sequence[ToolCall], timeout_s: float,
              clock: Clock = time.monotonic) -> list[ToolResult]:
    """Run every call at once; the results in the calls' order."""
    running = [_Running(call) for call in calls]
    started = clock()
    for item in running:
        item.thread = threading.Thread(target=_run_one, args=(toolbox, item, clock),
                                       name=f"opus-tool-{item.call.name}", daemon=True)
        item.thread.start()
    for item in running:
        if not item.done.wait(max(started + timeout_s - clock(), 0)):
            item.settle(f"Stopped: {item.call.name} ran longer than the {timeout_s:g} s tool "
                        f"timeout.", "timeout", timeout_s)
            _stop(item.thread)
    return [item.result for item in running if item.result is not None]


def _run_one(toolbox: Toolbox, item: _Running, clock: Clock) -> None:
    started = clock()
    try:
        try:
            content, status = _call(toolbox, item.call), "ok"
        except BaseException as exc:  # a tool's failure is its result, whatever it raised
            content, status = _last_line(exc), "error"
        item.settle(content, status, clock() - started)
    except ToolTimedOut:  # arrived after the call itself had ended
        item.done.set()


def _call(toolbox: Toolbox, call: ToolCall) -> str:
    from pydantic import ValidationError

    tool = toolbox.functions.get(call.name)
    if tool is None:
        raise LookupError(f"no tool named {call.name!r} runs here")
    try:
        parsed = json.loads(call.arguments or "{}")
    except ValueError as exc:
        raise ValueError(f"the arguments are not JSON ({exc})") from None
    try:
        return text_of(tool.call(parsed if isinstance(parsed, dict) else {}))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "arguments"
        raise TypeError(f"arguments do not fit {call.name}: {where}: {first['msg']}") from None


def _last_line(exc: BaseException) -> str:
    """The traceback's last line: `ValueError: no order 77`."""
    return "".join(traceback.format_exception_only(type(exc), exc)).strip().splitlines()[-1]


def _stop(thread: threading.Thread | None) -> None:
    """Raise ToolTimedOut in `thread` where it next runs Python code."""
    if thread is not None and thread.ident is not None and thread.is_alive():
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread.ident),
                                                   ctypes.py_object(ToolTimedOut))
