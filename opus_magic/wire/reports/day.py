"""What a provider's usage and cost reports say for a UTC day, however the provider shapes them,
and the plumbing both report clients share: admin endpoints, GETs, pages followed to the end.

Both providers bucket their reports by UTC day (`bucket_width=1d`) and page them with a
cursor: a body says `has_more` and gives `next_page`, sent back as `page` for the next one.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from decimal import Decimal
from typing import Any, TypeVar
from urllib.parse import urlencode

from opus_magic.errors import RequestError, StreamInterrupted
from opus_magic.wire.client import send
from opus_magic.wire.endpoints import Endpoint

T = TypeVar("T")
Call = Callable[[Callable[[], T]], T]  # wraps each request (retries, rate limits)
MAX_PAGES = 1000  # a cursor that never ends is a server's fault, not a reason to loop forever
TIERS = ("standard", "batch")
HINTS = {
    401: "The usage and cost reports need an admin key (Anthropic: sk-ant-admin01-…, OpenAI: "
         "sk-admin-…), not an ordinary API key: set admin_key_env=VARIABLE.",
    403: "The admin key may not read this organization's reports: an organization admin (or "
         "owner) creates admin keys in the provider's console.",
    404: "This endpoint has no usage and cost reports (a proxy or a local server?): reconcile "
         "against the provider itself, or set base_url to it.",
}


@dataclass(frozen=True)
class Tokens:
    """Tokens of each kind a provider bills apart."""

    uncached_input: int = 0
    cache_read: int = 0
    cache_write_5m: int = 0
    cache_write_1h: int = 0
    output: int = 0

    def __add__(self, other: Tokens) -> Tokens:
        return Tokens(*(a + b for a, b in zip(self.counts(), other.counts())))

    def __sub__(self, other: Tokens) -> Tokens:
        return Tokens(*(a - b for a, b in zip(self.counts(), other.counts())))

    def counts(self) -> tuple[int, ...]:
        return tuple(getattr(self, kind) for kind in KINDS)

    @property
    def input(self) -> int:
        """Every input token: uncached, read from and written to the cache."""
        return self.uncached_input + self.cache_read + self.cache_write_5m + self.cache_write_1h

    def __bool__(self) -> bool:
        return any(self.counts())


KINDS = tuple(f.name for f in fields(Tokens))


@dataclass(frozen=True)
class UsageLine:
    """Tokens a usage report counts for one day, model, billing tier and API key."""

    day: str
    model: str | None
    tokens: Tokens
    tier: str = "standard"
    api_key_id: str | None = None


@dataclass(frozen=True)
class CostLine:
    """Dollars a cost report bills for one day: per model and kind of token where it says,
    else a charge of its own (web search, code execution, …)."""

    day: str
    amount: Decimal
    model: str | None = None
    kind: str | None = None
    tier: str = "standard"
    description: str = ""


@dataclass(frozen=True)
class DayReport:
    """What one provider reported for one UTC day."""

    day: str
    usage: tuple[UsageLine, ...] = ()
    costs: tuple[CostLine, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """A plain form to keep in the history's cache (amounts as exact decimal strings)."""
        return {"usage": [{**asdict(line), "tokens": list(line.tokens.counts())}
                          for line in self.usage],
                "costs": [{**asdict(line), "amount": str(line.amount)} for line in self.costs]}

    @classmethod
    def from_json(cls, day: str, data: Mapping[str, Any]) -> DayReport:
        usage = tuple(UsageLine(**{**line, "tokens": Tokens(*line["tokens"])})
                      for line in data.get("usage", ()))
        costs = tuple(CostLine(**{**line, "amount": Decimal(line["amount"])})
                      for line in data.get("costs", ()))
        return cls(day, usage, costs)


@dataclass(frozen=True)
class Fetched:
    """Reports for a run of days, and how many pages it took."""

    days: dict[str, DayReport]
    pages: int


def day_of(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).date().isoformat()


def grouped(days: Sequence[str], usage: Sequence[UsageLine],
            costs: Sequence[CostLine]) -> dict[str, DayReport]:
    """One DayReport per day asked for, empty where the provider reported nothing."""
    return {day: DayReport(day, tuple(u for u in usage if u.day == day),
                           tuple(c for c in costs if c.day == day)) for day in days}


def get_json(endpoint: Endpoint, url: str, params: Sequence[tuple[str, Any]],
             headers: dict[str, str], timeout_s: float) -> dict[str, Any]:
    """One GET of a report page, its body parsed; errors explained as for any other request."""
    query = urlencode([(name, value) for name, value in params if value is not None])
    response = send(endpoint, "GET", f"{url}?{query}", headers, timeout_s, hints=HINTS)
    try:
        body = next(response.chunks(), {})
    except StreamInterrupted as exc:
        raise RequestError(f"The report could not be read: {exc}", retryable=True) from None
    finally:
        response.close()
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        raise RequestError(f"{url} answered something that is not a report page.")
    return body


def pages(get_page: Callable[[str | None], dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every page of a report: the first, then each `next_page` while `has_more` says so."""
    cursor: str | None = None
    seen: set[str] = set()
    for _ in range(MAX_PAGES):
        page = get_page(cursor)
        yield page
        cursor = page.get("next_page")
        if not page.get("has_more") or not cursor or cursor in seen:
            return
        seen.add(cursor)
    raise RequestError(f"The report went on for more than {MAX_PAGES} pages: ask for fewer days.")


def collect(endpoint: Endpoint, url: str, params: Sequence[tuple[str, Any]],
            headers: dict[str, str], timeout_s: float, call: Call[dict[str, Any]],
            day_of_bucket: Callable[[dict[str, Any]], str]
            ) -> tuple[list[tuple[str, dict[str, Any]]], int]:
    """Every result of a report, each with the UTC day of its bucket, over all its pages; and
    how many pages that took. Each page's request goes through `call`."""
    found: list[tuple[str, dict[str, Any]]] = []
    count = 0
    for page in pages(lambda cursor: call(lambda: get_json(
            endpoint, url, [*params, ("page", cursor)], headers, timeout_s))):
        count += 1
        found += [(day_of_bucket(b), r) for b in page["data"] for r in b.get("results") or ()]
    return found, count


def direct(send_once: Callable[[], T]) -> T:
    """A Call that sends once, with no retries."""
    return send_once()
