"""Choosing runs from the store (model, tag, full-text search, time) and listing them."""
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
from opus_magic.store.sqlite import Store
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
        moment = now() - dt.timedelta(**{UNITS[relative[2]]: int(relative[1])})
    else:
        try:
            moment = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            raise UsageError(f"--since '{value}' is not a time: {SINCE_HINT}.") from None
    return moment.astimezone(dt.timezone.utc).isoformat(timespec="milliseconds")


def match_query(search: str) -> str:
    """Words of a search as an FTS5 query: every word must appear, each also as a prefix."""
    words = search.split()
    if not any(re.search(r"\w", word) for word in words):
        raise UsageError(f"--search '{search}' has no words to look for.")
    return " ".join('"' + word.replace('"', '""') + '"*' for word in words)


def model_names(model: str, catalog: Catalog) -> list[str]:
    """The name given, the catalog id it stands for, and every alias of that id."""
    resolved = catalog.resolve(model)
    aliases = [alias for alias, target in catalog.aliases.items() if target == resolved]
    return list(dict.fromkeys([model, resolved, *aliases]))


def conditions(model: str | None = None, tag: str | None = None, search: str | None = None,
               since: str | None = None, catalog: Catalog | None = None,
               now: Now = utc_now) -> tuple[list[str], list[Any]]:
    """SQL conditions and their arguments for the history filters (never SQL from the user)."""
    where: list[str] = []
    args: list[Any] = []
    if model:
        names = model_names(model, catalog or default_catalog())
        marks = ", ".join("?" for _ in names)
        where.append(f"(model IN ({marks}) OR response_model IN ({marks}))")
        args += names * 2
    if tag:
        where.append("tag = ?")
        args.append(tag)
    if search:
        where.append("rowid IN (SELECT rowid FROM runs_fts WHERE runs_fts MATCH ?)")
        args.append(match_query(search))
    if since:
        where.append("created_at >= ?")
        args.append(parse_since(since, now))
    return where, args


FILTERS = ("model", "tag", "search", "since")


def add_filter_options(parser: argparse.ArgumentParser) -> None:
    """The history filters as command-line options (magic and CLI alike)."""
    parser.add_argument("-m", "--model", help="model id or alias, requested or answered")
    parser.add_argument("--tag", help="runs with this tag")
    parser.add_argument("--search", help="words in the prompt or the answer")
    parser.add_argument("--since", help="2026-11-20, 2026-11-20T09:30, or an age: 30m, 6h, 2d, 1w")


def filter_values(parsed: argparse.Namespace) -> dict[str, Any]:
    return {name: getattr(parsed, name) for name in FILTERS}


def select(store: Store, limit: int | None = 20, model: str | None = None, tag: str | None = None,
           search: str | None = None, since: str | None = None,
           catalog: Catalog | None = None) -> list[RunRecord]:
    """Newest runs first, filtered by model (requested or answered), tag, words and time."""
    if limit is not None and limit < 1:
        raise UsageError(f"-n {limit}: ask for at least one run.")
    where, args = conditions(model, tag, search, since, catalog)
    return store.query(where, args, limit=limit)


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
