"""JSON values that satisfy a JSON schema, taken from the prompt where one fits (deterministic).

The rules, by what a property asks for (its name's words decide where the schema does not):
- `const` is the value; an `enum` gives the member the prompt mentions first (any case), else a
  member chosen by the request's seed.
- A value the prompt states for the key (`status: shipped`, `priority is high`) is taken.
- Strings: a `format` gets the prompt's own date, date-time, e-mail or URL, else a fixed example;
  place keys (city, location, country, destination…) the capitalised name after in/at/to/from
  ("Paris"); person keys (name, customer, author…) a capitalised name that is not a place; id
  keys (order_id, sku, code, ticket_number…) the first token with a digit ("ORD-1234"); text keys
  (query, title, summary, description…) a phrase of the prompt's content words; any other string
  three content words. Lengths are kept within minLength/maxLength.
- Integers and numbers: the number next to one of the key's words ("order 4521", "3 nights"),
  else the first number of the prompt not used yet, else the minimum (or 1), within the bounds.
- Booleans: true when the prompt mentions the key's word (false after "not", "no", "without").
- Arrays: string items are the prompt's content words, enum items every member it mentions
  (at least one), others one item; always within minItems/maxItems.
- Objects: every required property; an optional one only when the prompt mentions its name
  (or a member of its enum).
- `anyOf`/`oneOf` take the first non-null branch, `allOf` is merged, `$ref` is followed (past
  a depth of 4 optional parts are left out, so recursive schemas end).
"""
from __future__ import annotations

import copy
import random
import re
from dataclasses import dataclass, field
from typing import Any

from opus_magic.sim.content import prompt_facts as facts

MAX_DEPTH = 4
PLACE_KEYS = frozenset("city location place town country destination origin address region "
                       "locality where venue".split())
PERSON_KEYS = frozenset("name customer user author person contact recipient assignee owner "
                        "employee username sender buyer passenger guest".split())
ID_KEYS = frozenset("id ids number no code sku ref reference".split())
TEXT_KEYS = frozenset("query search keywords topic question prompt subject title term terms text "
                      "message content body summary description reason notes comment "
                      "explanation answer details issue problem headline".split())
LIST_KEYS = frozenset("tags keywords topics labels items terms categories skills".split())
FORMATS = {"date": "2026-01-15", "date-time": "2026-01-15T09:00:00Z", "time": "09:00:00",
           "email": "user@example.com", "uri": "https://example.com/", "url": "https://example.com/",
           "hostname": "example.com", "ipv4": "192.0.2.1", "ipv6": "2001:db8::1",
           "duration": "PT1H"}
FOUND = {"date": facts.DATE, "date-time": facts.DATE_TIME, "email": facts.EMAIL,
         "uri": facts.URL, "url": facts.URL}
NEGATIONS = ("not", "no", "without", "don't", "never")


@dataclass
class Filler:
    """Fills schemas from one prompt's text; `rng` is seeded by the request."""

    text: str
    rng: random.Random
    root: dict[str, Any] = field(default_factory=dict)
    used: set[str] = field(default_factory=set)

    def value(self, schema: Any, key: str = "", depth: int = 0) -> Any:
        """A value of `schema` for the property named `key`."""
        schema = self._resolved(schema if isinstance(schema, dict) else {})
        if "const" in schema:
            return schema["const"]
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            return self._member(schema["enum"])
        for union in ("anyOf", "oneOf"):
            if isinstance(schema.get(union), list) and schema[union]:
                return self.value(self._branch(schema[union], depth), key, depth + 1)
        if isinstance(schema.get("allOf"), list):
            return self.value(merged(self._resolved(s) for s in schema["allOf"]), key, depth)
        kind = type_of(schema)
        if kind == "object":
            return self._object(schema, depth)
        if kind == "array":
            return self._array(schema, key, depth)
        if kind in ("integer", "number"):
            return self._number(schema, key, kind)
        if kind == "boolean":
            return self._boolean(key)
        if kind == "null":
            return None
        return self._string(schema, key)

    def _resolved(self, schema: dict[str, Any]) -> dict[str, Any]:
        ref = schema.get("$ref")
        if not isinstance(ref, str) or not ref.startswith("#"):
            return schema
        target: Any = self.root
        for part in [p for p in ref[1:].split("/") if p]:
            target = target.get(part, {}) if isinstance(target, dict) else {}
        rest = {k: v for k, v in schema.items() if k != "$ref"}
        return {**target, **rest} if isinstance(target, dict) else rest

    def _member(self, members: list[Any]) -> Any:
        spots = [(facts.mentions(self.text, str(m)), i) for i, m in enumerate(members)
                 if isinstance(m, str) and m]
        spots = [(where, i) for where, i in spots if where >= 0]
        return members[min(spots)[1]] if spots else self.rng.choice(members)

    def _branch(self, branches: list[Any], depth: int) -> Any:
        resolved = [self._resolved(b) if isinstance(b, dict) else {} for b in branches]
        null = [b for b in resolved if type_of(b) == "null"]
        other = [b for b in resolved if type_of(b) != "null"]
        return null[0] if null and (depth >= MAX_DEPTH or not other) else other[0]

    def _object(self, schema: dict[str, Any], depth: int) -> dict[str, Any]:
        properties = schema.get("properties") or {}
        required = set(schema.get("required") or ())
        out: dict[str, Any] = {}
        for name, sub in properties.items():
            if name in required or (depth < MAX_DEPTH and self._mentioned(name, sub)):
                out[name] = self.value(sub, name, depth + 1)
        return out

    def _mentioned(self, key: str, schema: Any) -> bool:
        """Whether the prompt names an optional property, or one of its enum's members."""
        members = schema.get("enum") if isinstance(schema, dict) else None
        named = [str(m) for m in members or () if isinstance(m, str)]
        return any(len(w) > 3 and facts.mentions(self.text, w) >= 0
                   for w in facts.words(key)) or any(facts.mentions(self.text, m) >= 0
                                                      for m in named)

    def _array(self, schema: dict[str, Any], key: str, depth: int) -> list[Any]:
        low = int(schema.get("minItems") or 0)
        high = schema.get("maxItems")
        items = self._resolved(schema.get("items") if isinstance(schema.get("items"), dict) else {})
        if isinstance(items.get("enum"), list) and items["enum"]:
            found = [m for m in items["enum"] if isinstance(m, str)
                     and facts.mentions(self.text, m) >= 0] or [self._member(items["enum"])]
            out = found
        elif items.get("type") == "string" and not items.get("format") and (
                set(facts.words(key)) & LIST_KEYS or low > 1):
            out = facts.content_words(self.text, 3) or ["example"]
        else:
            count = max(low, 1) if depth < MAX_DEPTH else low
            out = [self.value(items, key, depth + 1) for _ in range(count)]
        while len(out) < low:
            out.append(copy.deepcopy(out[-1]) if out else self.value(items, key, depth + 1))
        return out[:high] if isinstance(high, int) else out

    def _number(self, schema: dict[str, Any], key: str, kind: str) -> int | float:
        key_words = facts.words(key)
        written = facts.stated(self.text, key_words) or facts.number_near(self.text, key_words)
        if (written is None or not _numeric(written)) and set(key_words) & ID_KEYS:
            digits = re.sub(r"\D", "", facts.identifier(self.text) or "")
            written = digits or None
        if written is None or not _numeric(written):
            written = next((n for n in facts.numbers(self.text) if n not in self.used), None)
        low, high = _bounds(schema, kind)
        number = float(written) if written is not None else (low if low is not None else 1)
        if written is not None:
            self.used.add(written)
        if low is not None:
            number = max(number, low)
        if high is not None:
            number = min(number, high)
        return int(number) if kind == "integer" else float(number)

    def _boolean(self, key: str) -> bool:
        stated = facts.stated(self.text, facts.words(key))
        if stated is not None:
            return stated.lower() in ("true", "yes", "1", "on")
        lowered = self.text.lower()
        for word in facts.words(key):
            where = facts.mentions(lowered, word) if len(word) > 3 else -1
            if where >= 0:
                return not lowered[:where].rstrip().endswith(NEGATIONS)
        return False

    def _string(self, schema: dict[str, Any], key: str) -> str:
        key_words = facts.words(key)
        given = set(key_words)
        fmt = schema.get("format")
        if fmt in FORMATS:
            pattern = FOUND.get(fmt)
            text = (facts.first(pattern, self.text) if pattern else None) or FORMATS[fmt]
        elif (stated := facts.stated(self.text, key_words)) is not None:
            text = stated
        elif given & PLACE_KEYS:
            text = next(iter(facts.places(self.text) + facts.names(self.text)), "Paris")
        elif given & ID_KEYS or key_words[-1:] == ["id"]:
            text = facts.identifier(self.text) or f"ID-{self.rng.randrange(1000, 10000)}"
        elif given & PERSON_KEYS:
            text = next(iter(facts.people(self.text)), "Alex Morgan")
        elif given & TEXT_KEYS:
            text = facts.phrase(self.text, 8 if given & {"query", "search"} else 12) or "example"
        else:
            text = facts.phrase(self.text, 3) or "example"
        low, high = schema.get("minLength"), schema.get("maxLength")
        while isinstance(low, int) and len(text) < low:
            text += " " + (facts.phrase(self.text, 3) or "example")
        return text[:high] if isinstance(high, int) else text


def type_of(schema: dict[str, Any]) -> str:
    """A schema's type (the first non-null one of a list), inferred when it is not given."""
    kind = schema.get("type")
    if isinstance(kind, list):
        kinds = [k for k in kind if k != "null"]
        return kinds[0] if kinds else "null"
    if isinstance(kind, str):
        return kind
    if "properties" in schema:
        return "object"
    return "array" if "items" in schema else "string"


def merged(schemas: Any) -> dict[str, Any]:
    """One schema from an allOf: properties and required lists joined."""
    out: dict[str, Any] = {}
    for schema in schemas:
        for name, value in schema.items():
            if name == "properties":
                out["properties"] = {**out.get("properties", {}), **value}
            elif name == "required":
                out["required"] = [*out.get("required", []), *value]
            else:
                out[name] = value
    return out


def _bounds(schema: dict[str, Any], kind: str) -> tuple[float | None, float | None]:
    step = 1 if kind == "integer" else 0.01
    low = schema.get("minimum")
    if isinstance(schema.get("exclusiveMinimum"), (int, float)):
        low = schema["exclusiveMinimum"] + step
    high = schema.get("maximum")
    if isinstance(schema.get("exclusiveMaximum"), (int, float)):
        high = schema["exclusiveMaximum"] - step
    return low, high


def _numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def broken(value: Any, schema: dict[str, Any], kind: str) -> Any:
    """`value` made to fail `schema`: "missing_field" drops the first required property,
    "wrong_type" gives the first property (or the value itself) a value of another type."""
    if isinstance(value, dict) and value:
        required = [name for name in schema.get("required") or () if name in value]
        if kind == "missing_field" and required:
            return {k: v for k, v in value.items() if k != required[0]}
        name = required[0] if required else next(iter(value))
        return {**value, name: _other_type(value[name])}
    return _other_type(value)


def _other_type(value: Any) -> Any:
    if isinstance(value, bool):
        return "yes"
    if isinstance(value, (int, float)):
        return "many"
    if isinstance(value, str):
        return 42
    return "none"
