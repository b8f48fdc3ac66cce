"""What `%opus` subcommands and a `%%opus` cell do, given parsed input."""
from __future__ import annotations

import shlex
from collections.abc import Callable
from typing import Any

from opus_magic.config import SCALAR_KEYS, mask
from opus_magic.core.cell import CellInput
from opus_magic.core.conversation import continue_cell
from opus_magic.core.fanout import plan_cell, plan_comparison
from opus_magic.core.preflight import dry_run
from opus_magic.core.session import Session
from opus_magic.errors import UsageError
from opus_magic.notebook.present import present_comparison, present_run
from opus_magic.records import RunRecord
from opus_magic.view import compare, stats
from opus_magic.view.catalog import models_table
from opus_magic.view.history import (
    add_filter_options,
    filter_values,
    history_view,
    select,
)
from opus_magic.view.tables import show
from opus_magic.view import format as fmt
from opus_magic.view.text import summary_line

HELP = """%%opus [-m MODEL[,MODEL...]] [--max-tokens N] [-t TEMP] [-s SYSTEM] [--concise | --code-only]
       [--no-stream] [-o VAR] [--tag TAG] [--dry-run] [--no-interpolate] [--profile NAME]
       [--tools VAR] [--continue [RUN_ID]]
<prompt; {name} is filled from the notebook namespace>

%opus models                         the catalog: prices, context, max output, source
%opus config [key=value ...]         show or set settings (the API key is always masked)
%opus history [-n N] [-m MODEL] [--tag TAG] [--search WORDS] [--since 2d|DATE]
%opus show RUN_ID                    one run in full
%opus compare RUN_ID RUN_ID [...]    side by side: word diff, tokens, cost ×, latency
%opus compare COMPARISON_ID          the runs of one -m a,b,c fan-out
%opus stats [--by model|tag]         totals, cost, cache hit rate, latency (filters as history)
%opus budget [USD|off]               session spend cap
%opus help                           this text"""


def run_cell(session: Session, cell: CellInput) -> list[RunRecord]:
    """Dispatch a cell: one model, several models side by side, or a dry run."""
    if cell.continue_from:
        cell = continue_cell(session, cell)
    if cell.dry_run:
        print(dry_run(session, cell))
        return []
    if len(cell.models) > 1:
        return present_comparison(session, plan_comparison(session, cell), cell.output)
    plan, settings = plan_cell(session, cell, cell.models[0] if cell.models else None)
    return present_run(session, settings, plan, cell.output)


def dispatch(magics: Any, line: str) -> Any:
    words = shlex.split(line)
    if not words:
        print(HELP)
        return None
    name, rest = words[0], words[1:]
    handler = SUBCOMMANDS.get(name)
    if handler is None:
        raise UsageError(f"Unknown subcommand '{name}': use one of {', '.join(SUBCOMMANDS)}.")
    return handler(magics.session, rest)


def cmd_help(session: Session, args: list[str]) -> None:
    print(HELP)


def cmd_config(session: Session, args: list[str]) -> None:
    values = {}
    for arg in args:
        key, sep, value = arg.partition("=")
        if not sep:
            raise UsageError(f"Use key=value (got '{arg}'), e.g. %opus config model=opus.")
        values[key.strip()] = value.strip()
    settings = session.configure(**values) if values else session.settings()
    for key in SCALAR_KEYS:
        value = getattr(settings, key)
        shown = mask(value) if key == "api_key" else ("(not set)" if value is None else value)
        print(f"{key:<20} {shown}")
    if settings.profiles:
        print(f"{'profiles':<20} {', '.join(sorted(settings.profiles))}")
    print(f"{'config file':<20} {settings.config_file}")


def cmd_models(session: Session, args: list[str]) -> None:
    print(models_table(session.catalog(session.settings())))


def cmd_budget(session: Session, args: list[str]) -> None:
    if len(args) > 1:
        raise UsageError("Use %opus budget [USD|off], e.g. %opus budget 2.50.")
    if args:
        session.configure(budget=args[0].lstrip("$"))
    session.budget.cap = session.settings().budget
    print(session.budget.describe())


def cmd_history(session: Session, args: list[str]) -> None:
    parsed = _options("history", args, lambda p: p.add_argument("-n", type=int, default=20))
    settings = session.settings()
    runs = select(session.store(settings), limit=parsed.n, catalog=session.catalog(settings),
                  **filter_values(parsed))
    show(history_view(runs))


def cmd_stats(session: Session, args: list[str]) -> None:
    parsed = _options("stats", args, lambda p: p.add_argument("--by", default="model"))
    settings = session.settings()
    groups = stats.compute(session.store(settings), parsed.by, session.catalog(settings),
                           **filter_values(parsed))
    show(stats.stats_view(groups))


def cmd_compare(session: Session, args: list[str]) -> None:
    settings = session.settings()
    runs = compare.find_runs(session.store(settings), args)
    show(compare.compare_view(runs))


def _options(name: str, args: list[str], extra: Callable[[Any], Any]) -> Any:
    import argparse

    parser = argparse.ArgumentParser(prog=f"%opus {name}", add_help=False, exit_on_error=False)
    extra(parser)
    add_filter_options(parser)
    try:
        parsed, unknown = parser.parse_known_args(args)
    except argparse.ArgumentError as exc:
        raise UsageError(f"{exc}: see %opus help.") from None
    if unknown:
        raise UsageError(f"Unknown {name} option {' '.join(unknown)}: see %opus help.")
    return parsed


def cmd_show(session: Session, args: list[str]) -> None:
    if len(args) != 1:
        raise UsageError("Use %opus show RUN_ID (ids are in %opus history).")
    record = session.store(session.settings()).get(args[0])
    if record is None:
        raise UsageError(f"No run '{args[0]}' in history (ids are in %opus history).")
    print(show_text(record))


def show_text(record: RunRecord) -> str:
    lines = [summary_line(record),
             f"created {record.created_at} · status {record.status} · endpoint {record.endpoint}"
             f" · tag {record.tag or '–'} · concise {record.concise} · max_tokens {record.max_tokens}"
             f" · comparison {record.comparison_id or '–'}",
             f"cost {fmt.run_cost(record)} ({record.cost_source})"]
    if record.error:
        lines.append(f"error: {record.error}")
    lines.extend(f"note: {note}" for note in record.notes)
    for message in record.messages:
        lines.append(f"--- {message['role']}\n{message.get('content')}")
    lines.append(f"--- assistant ({record.response_model or record.model})\n{record.text}")
    return "\n".join(lines)


SUBCOMMANDS = {"help": cmd_help, "config": cmd_config, "models": cmd_models, "budget": cmd_budget,
               "history": cmd_history, "show": cmd_show, "compare": cmd_compare, "stats": cmd_stats}
