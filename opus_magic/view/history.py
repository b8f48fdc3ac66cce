"""History filters as users give them (model, tag, words, time, user, project), and run lists."""
from __future__ import annotations

import argparse
import datetime as dt
import html
import re
from collections.abc import Callable
from typing import Any

from opus_magic.cost.catalog import Catalog, default_catalog
from opus_magic.cost.pricing import format_usd
from opus_magic.errors import UsageError
from opus_magic.records import RunRecord
from opus_magic.store.base import HistoryStore
from opus_magic.store.queries import RunFilter, select_runs
from opus_magic.view.tables import Rendered

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


def format_table(runs: list[RunRecord]) -> str:
    if not runs:
        return "No runs recorded yet."
    header = f"{'id':<12}  {'created':<19}  {'model':<22} {'status':<11} {'in':>7} {'out':>7} {'cost':>10}  prompt"
    lines = [header]
    for run in runs:
        prompt = " ".join(run.prompt.split())[:40]
        cost = format_usd(run.cost, not run.cost_exact)
        lines.append(f"{run.id:<12}  {run.created_at[:19]:<19}  {run.model[:22]:<22} {run.status:<11} "
                     f"{run.usage.input_tokens:>7,} {run.usage.output_tokens:>7,} {cost:>10}  {prompt}")
    return "\n".join(lines)


STATUS_COLOURS = {"ok": "#1a7f37", "error": "#cf222e", "interrupted": "#9a6700",
                  "stopped": "#6e7781"}
TABLE_STYLE = ("border-collapse:collapse;font-size:12px;font-family:var(--jp-ui-font-family,"
               "system-ui)")
CELL_STYLE = "padding:2px 8px;border-bottom:1px solid #d0d7de;white-space:nowrap;text-align:{}"


def html_table(headers: list[str], rows: list[list[str]], numeric: set[int]) -> str:
    """A plain HTML table; cells are already escaped HTML, columns in `numeric` align right."""
    def cell(tag: str, index: int, content: str) -> str:
        align = "right" if index in numeric else "left"
        return f'<{tag} style="{CELL_STYLE.format(align)}">{content}</{tag}>'

    head = "".join(cell("th", i, html.escape(h)) for i, h in enumerate(headers))
    body = "".join("<tr>" + "".join(cell("td", i, c) for i, c in enumerate(row)) + "</tr>"
                   for row in rows)
    return (f'<table style="{TABLE_STYLE}"><thead><tr>{head}</tr></thead>'
            f'<tbody>{body}</tbody></table>')


def history_html(runs: list[RunRecord]) -> str:
    """The runs as an HTML table: status coloured, prompt shortened (in full on hover)."""
    from opus_magic.view.text import fmt_seconds

    if not runs:
        return "<p>No runs recorded yet.</p>"
    rows = []
    for run in runs:
        prompt = " ".join(run.prompt.split())
        colour = STATUS_COLOURS.get(run.status, "inherit")
        rows.append([
            f"<code>{run.id}</code>", html.escape(run.created_at[:19].replace("T", " ")),
            html.escape(run.response_model or run.model),
            f'<span style="color:{colour}">{html.escape(run.finish_reason or run.status)}</span>',
            f"{run.usage.input_tokens:,}", f"{run.usage.output_tokens:,}",
            f"{run.usage.cache_read_tokens:,}",
            html.escape(format_usd(run.cost, not run.cost_exact)),
            fmt_seconds(run.ttft_s), fmt_seconds(run.duration_s), html.escape(run.tag or ""),
            f'<span title="{html.escape(prompt[:500])}">{html.escape(prompt[:60])}</span>'])
    headers = ["id", "created (UTC)", "model", "finish", "in", "out", "cache read", "cost", "TTFT",
               "time", "tag", "prompt"]
    return html_table(headers, rows, numeric={4, 5, 6, 7, 8, 9})


def history_view(runs: list[RunRecord]) -> Rendered:
    """`%opus history`: an HTML table in a notebook, the text table elsewhere."""
    return Rendered(history_html(runs), format_table(runs))
