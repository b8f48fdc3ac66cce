"""Command-line options of `%opus history|stats|reconcile` and `opus-magic`."""
from __future__ import annotations

import argparse
from typing import Any

from opus_magic.core.history.select import FILTERS
from opus_magic.core.reconcile.table import GROUPINGS
from opus_magic.errors import UsageError


def add_filter_options(parser: argparse.ArgumentParser) -> None:
    """The history filters as command-line options (magic and CLI alike)."""
    parser.add_argument("-m", "--model", help="model id or alias, requested or answered")
    parser.add_argument("--tag", help="runs with this tag")
    parser.add_argument("--search", help="words in the prompt or the answer")
    parser.add_argument("--since", help="2026-11-20, 2026-11-20T09:30, or an age: 30m, 6h, 2d, 1w")
    parser.add_argument("--user", help="runs by this user (config `user`, else the OS login)")
    parser.add_argument("--project", help="runs of this project (default: the notebook's folder)")
    parser.add_argument("--grid", help="runs of this grid (an id or its start), every attempt")


def filter_values(parsed: argparse.Namespace) -> dict[str, Any]:
    return {name: getattr(parsed, name) for name in FILTERS}


def add_reconcile_options(parser: argparse.ArgumentParser) -> None:
    """`reconcile`'s options (magic and CLI alike)."""
    parser.add_argument("--since", default="7d",
                        help="the first UTC day: 2026-12-01, or an age: 7d, 2w (default 7d)")
    parser.add_argument("--until", help="the last UTC day (default: today)")
    parser.add_argument("--by", default="day,model",
                        help="day, model (the rows, in this order), user, project, key (shares)")
    parser.add_argument("--provider", choices=("anthropic", "openai"),
                        help="whose reports (default: the admin key's)")
    parser.add_argument("--refresh", action="store_true",
                        help="fetch the reports again, even days the history keeps")


def grouping(by: str) -> tuple[str, ...]:
    """`--by model,day` as the dimensions it names, each checked."""
    names = tuple(name.strip() for name in by.split(",") if name.strip())
    wrong = [name for name in names if name not in GROUPINGS]
    if wrong or not names:
        raise UsageError(f"--by {by}: use a comma list of {', '.join(GROUPINGS)}, "
                         f"e.g. --by model,day.")
    return names
