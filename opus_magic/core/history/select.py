"""Runs from the history as users ask for them: filters (model, tag, words, time, user,
project), checked and resolved, and runs named by id or comparison."""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from typing import Any

from opus_magic.cost.catalog import Catalog, default_catalog
from opus_magic.errors import UsageError
from opus_magic.records import RunRecord
from opus_magic.store.base import HistoryStore
from opus_magic.store.queries import RunFilter, runs_of_comparison, select_runs

Now = Callable[[], dt.datetime]
RELATIVE = re.compile(r"(\d+)\s*([smhdw])")
UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
SINCE_HINT = "use a date (2026-11-20), a time (2026-11-20T09:30) or an age (30m, 6h, 2d, 1w)"


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def parse_since(value: str, now: Now = utc_now) -> str:
    """`--since` as the UTC ISO time runs are stored with; naive times are local time."""
    relative = RELATIVE.fullmatch(value.strip())
    if relative:
        try:
            moment = now() - dt.timedelta(**{UNITS[relative[2]]: int(relative[1])})
        except OverflowError:
            raise UsageError(f"--since '{value}' reaches before year 1: {SINCE_HINT}.") from None
    else:
        try:
            moment = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            raise UsageError(f"--since '{value}' is not a time: {SINCE_HINT}.") from None
    return moment.astimezone(dt.timezone.utc).isoformat(timespec="milliseconds")


def search_words(search: str) -> tuple[str, ...]:
    """The words of a search (every one must appear, each also as a prefix)."""
    words = tuple(search.split())
    if not any(re.search(r"\w", word) for word in words):
        raise UsageError(f"--search '{search}' has no words to look for.")
    return words


def model_names(model: str, catalog: Catalog) -> list[str]:
    """The name given, the catalog id it stands for, and every alias of that id."""
    resolved = catalog.resolve(model)
    aliases = [alias for alias, target in catalog.aliases.items() if target == resolved]
    return list(dict.fromkeys([model, resolved, *aliases]))


def run_filter(model: str | None = None, tag: str | None = None, search: str | None = None,
               since: str | None = None, user: str | None = None, project: str | None = None,
               grid: str | None = None, catalog: Catalog | None = None,
               now: Now = utc_now) -> RunFilter:
    """The history filters as given by a user, checked and resolved for the store."""
    models = tuple(model_names(model, catalog or default_catalog())) if model else ()
    return RunFilter(models=models, tag=tag, words=search_words(search) if search else (),
                     since=parse_since(since, now) if since else None, user=user, project=project,
                     grid=grid)


FILTERS = ("model", "tag", "search", "since", "user", "project", "grid")


def select(store: HistoryStore, limit: int | None = 20, catalog: Catalog | None = None,
           **filters: str | None) -> list[RunRecord]:
    """Newest runs first, filtered by model (requested or answered), tag, words, time, user and
    project."""
    if limit is not None and limit < 1:
        raise UsageError(f"-n {limit}: ask for at least one run.")
    huge = limit is not None and limit >= 2**62  # "all of them": SQLite takes no larger LIMIT
    return select_runs(store, run_filter(catalog=catalog, **filters), limit=None if huge else limit)


def nothing_matched(filters: dict[str, Any]) -> str | None:
    """When filters were given and no run matched: what was asked, so nobody thinks history is lost."""
    asked = " ".join(f"--{name} {value}" for name, value in filters.items() if value)
    return f"No runs match {asked}: history holds none of them (other runs are kept)." if asked else None


def find_runs(store: HistoryStore, refs: Sequence[str]) -> list[RunRecord]:
    """Runs named by id (or unique id prefix) or by comparison id, in the order given."""
    runs: list[RunRecord] = []
    for ref in refs:
        record = store.get(ref)
        group = [record] if record else runs_of_comparison(store, ref)
        if not group:
            raise UsageError(f"No run or comparison '{ref}' in history (ids are in %opus history).")
        runs.extend(group)
    if len(runs) < 2:
        raise UsageError("Compare needs at least two runs: %opus compare RUN_ID RUN_ID [...] "
                         "or %opus compare COMPARISON_ID.")
    return runs
