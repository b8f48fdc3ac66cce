"""One setting's value checked against its declared type, as pydantic checks it.

Text settings (plain, a Literal, a Secret, checked by predicates) and bounded whole numbers
written plainly (`--max-tokens 500`) are checked here without loading pydantic: settings from
the environment and a cell's flags are mostly such strings, and a first cell needs nothing else
of pydantic. Any other kind or spelling goes to pydantic.
"""
from __future__ import annotations

import re
import typing
from collections.abc import Callable
from typing import Annotated, Any, Literal

from annotated_types import Ge, Gt, Le, Lt, Predicate

from opus_magic.secret import Secret, as_secret

UNSURE, REFUSED = object(), object()
WHOLE = re.compile(r"0|[1-9][0-9]{0,17}")  # digits as anyone writes them, within any bound here
BOUNDS: dict[type, Callable[[int, Any], bool]] = {
    Gt: lambda n, c: n > c.gt, Ge: lambda n, c: n >= c.ge, Lt: lambda n, c: n < c.lt,
    Le: lambda n, c: n <= c.le}


def checked(kind: Any, value: Any, adapter: Callable[[], Any]) -> Any:
    """`value` as the type `kind` takes it, or REFUSED; `adapter` is pydantic's TypeAdapter for
    `kind`, asked only about what is not checked here."""
    found = as_declared(kind, value) if type(value) is str else UNSURE
    if found is not UNSURE:
        return found
    from pydantic import ValidationError

    try:
        return adapter().validate_python(value)
    except ValidationError:
        return REFUSED


def as_declared(kind: Any, value: str) -> Any:
    """The string `value` checked against `kind`: its value, REFUSED when it breaks the
    declaration, UNSURE for a kind or spelling left to pydantic."""
    if type(None) in typing.get_args(kind):
        kinds = [a for a in typing.get_args(kind) if a is not type(None)]
        if len(kinds) != 1:
            return UNSURE
        kind = kinds[0]
    if kind is str:
        return value
    if kind is Secret:
        return as_secret(value)
    if typing.get_origin(kind) is Literal:
        return value if value in typing.get_args(kind) else REFUSED
    if typing.get_origin(kind) is Annotated:
        base, *checks = typing.get_args(kind)
        if base is str and all(isinstance(check, Predicate) for check in checks):
            return value if all(check.func(value) for check in checks) else REFUSED
        if base is int and WHOLE.fullmatch(value) and all(type(c) in BOUNDS for c in checks):
            number = int(value)
            return number if all(BOUNDS[type(c)](number, c) for c in checks) else REFUSED
    return UNSURE
