"""The history filters as command-line options, for `%opus history|stats` and `opus-magic`."""
from __future__ import annotations

import argparse
from typing import Any

from opus_magic.core.history.select import FILTERS


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
