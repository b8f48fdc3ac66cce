"""History filters as users give them (model, tag, words, time, user, project), and run lists."""
from __future__ import annotations

import argparse
import datetime as dt
import html
import re
from collections.abc import Callable
from typing import Any

from opus_magic.cost.catalog import Catalog, default_catalog
from opus_magic.errors import UsageError
from opus_magic.records import RunRecord
from opus_magic.store.base import HistoryStore
from opus_magic.store.queries import RunFilter, select_runs
from opus_magic.view import format as fmt
from opus_magic.view.tables import Rendered, html_table

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
               catalog: Catalog | None = None, now: Now = utc_now) -> RunFilter:
    """The history filters as given by a user, checked and resolved for the store."""
    models = tuple(model_names(model, catalog or default_catalog())) if model else ()
    return RunFilter(models=models, tag=tag, words=search_words(search) if search else (),
                     since=parse_since(since, now) if since else None, user=user, project=project)


FILTERS = ("model", "tag", "search", "since", "user", "project")


def add_filter_options(parser: argparse.ArgumentParser) -> None:
    """The history filters as command-line options (magic and CLI alike)."""
    parser.add_argument("-m", "--model", help="model id or alias, requested or answered")
    parser.add_argument("--tag", help="runs with this tag")
    parser.add_argument("--search", help="words in the prompt or the answer")
    parser.add_argument("--since", help="2026-11-20, 2026-11-20T09:30, or an age: 30m, 6h, 2d, 1w")
    parser.add_argument("--user", help="runs by this user (config `user`, else the OS login)")
    parser.add_argument("--project", help="runs of this project (default: the notebook's folder)")


def filter_values(parsed: argparse.Namespace) -> dict[str, Any]:
    return {name: getattr(parsed, name) for name in FILTERS}


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


PROMPT_START = 48  # characters of the prompt in the text table (all of it in `%opus show`)


def prompt_start(run: RunRecord, chars: int = PROMPT_START) -> str:
    prompt = " ".join(run.prompt.split())
    return prompt if len(prompt) <= chars else prompt[:chars - 1] + "…"


def format_table(runs: list[RunRecord]) -> str:
    """The runs as an aligned text table: how each ended, its cost, comparison, tag and prompt."""
    if not runs:
        return "No runs recorded yet."
    rows = [["id", "created (UTC)", "model", "ended", "in", "out", "cost", "comparison", "tag",
             "prompt"]]
    rows += [[run.id, run.created_at[:19].replace("T", " "), fmt.model_label(run),
              fmt.end_state(run), f"{run.usage.input_tokens:,}", f"{run.usage.output_tokens:,}",
              fmt.run_cost(run), run.comparison_id or "", run.tag or "", prompt_start(run)]
             for run in runs]
    return fmt.text_table(rows, left={0, 1, 2, 3, 7, 8, 9})


def history_html(runs: list[RunRecord]) -> str:
    """The runs as an HTML table: how each ended in its colour, the prompt's start (all on hover)."""
    if not runs:
        return "<p>No runs recorded yet.</p>"
    rows = []
    for run in runs:
        prompt = " ".join(run.prompt.split())
        colour = fmt.STATUS_COLOURS.get(run.status, "inherit")
        rows.append([
            f"<code>{run.id}</code>", html.escape(run.created_at[:19].replace("T", " ")),
            html.escape(fmt.model_label(run)),
            f'<span style="color:{colour}">{html.escape(fmt.end_state(run))}</span>',
            f"{run.usage.input_tokens:,}", f"{run.usage.output_tokens:,}",
            f"{run.usage.cache_read_tokens:,}", html.escape(fmt.run_cost(run)),
            fmt.seconds(run.ttft_s), fmt.seconds(run.duration_s),
            html.escape(run.comparison_id or ""), html.escape(run.tag or ""),
            f'<span title="{html.escape(prompt[:2000])}">'
            f'{html.escape(prompt_start(run, 60))}</span>'])
    headers = ["id", "created (UTC)", "model", "ended", "in", "out", "cache read", "cost", "TTFT",
               "time", "comparison", "tag", "prompt"]
    return html_table(headers, rows, numeric={4, 5, 6, 7, 8, 9})


def history_view(runs: list[RunRecord]) -> Rendered:
    """`%opus history`: an HTML table in a notebook, the text table elsewhere."""
    return Rendered(history_html(runs), format_table(runs))
