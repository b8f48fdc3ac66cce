"""Notebook functions as tools: a definition from the signature, type hints and docstring
(through pydantic), and the arguments a model sends checked and converted before the call.

A parameter's description comes from the docstring's `Args:` (or `Parameters`) section
(`city: the city's name`); the tool's description is the docstring before it. Parameters without
a default are required. `*args`, `**kwargs` and positional-only parameters cannot be described
to a model and are refused.
"""
from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from opus_magic.errors import UsageError

ARGS_HEADINGS = ("args:", "arguments:", "parameters:", "params:")
ARG_LINE = re.compile(r"^\s*\*{0,2}(\w+)\s*(?:\([^)]*\))?\s*:\s*(.+)$")
SUBSCHEMAS = ("items", "anyOf", "oneOf", "allOf", "additionalProperties", "not")
LOOP_STEPS = 5
TOOL_TIMEOUT_S = 30.0


@dataclass(frozen=True, kw_only=True)
class LoopSettings:
    """How a tool loop runs: at most `max_steps` model calls, each tool call stopped after
    `tool_timeout_s`, and, with `approve`, each call asked about first."""

    max_steps: int = LOOP_STEPS
    tool_timeout_s: float = TOOL_TIMEOUT_S
    approve: bool = False


@dataclass(frozen=True)
class Tool:
    """A notebook function the model may call: its definition (OpenAI format) and how to call it."""

    name: str
    fn: Callable[..., Any]
    arguments: Any  # the pydantic model of its parameters

    def call(self, raw: Mapping[str, Any]) -> Any:
        """Call the function with the model's arguments, checked and converted by their types;
        a pydantic ValidationError when they do not fit."""
        checked = self.arguments.model_validate(dict(raw))
        return self.fn(**{name: getattr(checked, name) for name in self.arguments.model_fields})


@dataclass(frozen=True)
class Toolbox:
    """The tools of a cell: every definition sent, and the functions behind those that run."""

    definitions: tuple[dict[str, Any], ...]
    functions: Mapping[str, Tool] = field(default_factory=dict)

    @property
    def runnable(self) -> bool:
        """Whether some tool runs here (else calls are only shown)."""
        return bool(self.functions)

    def runs(self, name: str) -> bool:
        return name in self.functions


def describe(fn: Callable[..., Any]) -> tuple[Tool, dict[str, Any]]:
    """A notebook function as a Tool and its definition (OpenAI format); UsageError for one a
    model cannot be told how to call."""
    from pydantic import create_model

    name = getattr(fn, "__name__", "")
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", name):
        raise UsageError(f"--tools: {fn!r} has no usable name: tools need a named function "
                         f"(def name(...)), not a lambda.")
    summary, documented = docstring(inspect.getdoc(fn) or "")
    fields: dict[str, Any] = {}
    for param in inspect.signature(fn).parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD, param.POSITIONAL_ONLY):
            raise UsageError(f"--tools {name}: parameter {param.name} is *args, **kwargs or "
                             f"positional-only; give every parameter a name the model can fill.")
        annotation = Any if param.annotation is param.empty else param.annotation
        default = ... if param.default is param.empty else param.default
        fields[param.name] = (annotation, _field(default, documented.get(param.name)))
    try:
        model = create_model(f"{name}_arguments", **fields)
        parameters = untitled(model.model_json_schema())
    except Exception as exc:  # pydantic cannot describe some annotation
        raise UsageError(f"--tools {name}: its type hints cannot be written as a JSON schema "
                         f"({type(exc).__name__}: {exc}).") from None
    definition = {"type": "function", "function": {
        "name": name, "description": summary or f"The notebook function {name}.",
        "parameters": parameters}}
    return Tool(name, fn, model), definition


def untitled(schema: Any) -> Any:
    """A JSON schema without the `title` pydantic gives every part of it (tokens a model does
    not need: each property's name says it already)."""
    if not isinstance(schema, dict):
        return schema
    out = {}
    for key, value in schema.items():
        if key in ("properties", "$defs") and isinstance(value, dict):
            value = {name: untitled(sub) for name, sub in value.items()}
        elif key in SUBSCHEMAS:
            value = [untitled(v) for v in value] if isinstance(value, list) else untitled(value)
        if key != "title":
            out[key] = value
    return out


def _field(default: Any, description: str | None) -> Any:
    from pydantic import Field

    return Field(default, description=description) if description else Field(default)


def docstring(text: str) -> tuple[str, dict[str, str]]:
    """The summary before an `Args:` section, and each parameter's description from it."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip().lower() in ARGS_HEADINGS),
                 len(lines))
    described: dict[str, str] = {}
    for line in lines[start + 1:]:
        found = ARG_LINE.match(line)
        if found:
            described[found.group(1)] = found.group(2).strip()
        elif line.strip() and not line.startswith((" ", "\t")) and described:
            break
    summary = " ".join(line.strip() for line in lines[:start] if line.strip())
    return summary, described
