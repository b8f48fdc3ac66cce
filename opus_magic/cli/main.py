"""`opus-magic`: the simulator, history export, stats, reconciling with the bill, and headless
notebook runs from a shell."""
from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from opus_magic.errors import OpusError, UsageError


def cmd_sim(args: argparse.Namespace) -> None:
    from opus_magic import sim

    rate = f"{args.rate:g} tokens/s" if args.rate else "full speed"

    def announce(base_url: str) -> None:
        print(f"opus-magic SIMULATOR (not a real model) on {base_url} ({rate}).")
        print(f"Use it with: OPUS_MAGIC_BASE_URL={base_url}   (Ctrl-C stops it)")
        sys.stdout.flush()

    try:
        sim.serve_forever(port=args.port, tokens_per_second=args.rate or None, announce=announce)
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        raise UsageError(f"Cannot listen on 127.0.0.1:{args.port} ({exc.strerror or exc}): "
                         f"another program uses the port; pick another with --port.") from None


def cmd_history(args: argparse.Namespace) -> None:
    from opus_magic.core.history.select import nothing_matched, select
    from opus_magic.core.session import default_session
    from opus_magic.notebook.commands.options import filter_values
    from opus_magic.store.export import write_runs
    from opus_magic.view.commands.history import format_table

    session = default_session()
    settings = session.settings()
    store = session.store(settings)
    filters = filter_values(args)
    runs = select(store, limit=args.n, catalog=session.catalog(settings), **filters)
    missing = None if runs else nothing_matched(filters)
    for line in (store.notice(), missing):
        if line:
            print(line, file=sys.stderr)
    if args.format != "table":
        write_runs(runs, args.format, sys.stdout)
    elif not missing:
        sys.stdout.write(format_table(runs) + "\n")


def cmd_stats(args: argparse.Namespace) -> None:
    from opus_magic.core.history import totals
    from opus_magic.core.history.select import nothing_matched
    from opus_magic.core.session import default_session
    from opus_magic.notebook.commands.options import filter_values
    from opus_magic.view.commands import stats

    session = default_session()
    settings = session.settings()
    store = session.store(settings)
    filters = filter_values(args)
    groups = totals.compute(store, args.by, session.catalog(settings), **filters)
    if store.notice():
        print(store.notice(), file=sys.stderr)
    missing = None if groups[-1].runs else nothing_matched(filters)
    print(missing or stats.stats_text(groups))


def cmd_endpoint(args: argparse.Namespace) -> None:
    from opus_magic.config import load_settings
    from opus_magic.secret import mask
    from opus_magic.wire.endpoints import wire_api

    settings = load_settings()
    if settings.base_url is None and settings.api_key is None and not settings.profile:
        print("No API key configured: notebooks use the built-in SIMULATOR (no real model, no cost).")
        print("Set OPUS_MAGIC_API_KEY (and OPUS_MAGIC_BASE_URL) to use a real endpoint.")
    else:
        key = settings.api_key.reveal() if settings.api_key else None
        api = wire_api(settings.api, settings.base_url, key)
        speaks = "Claude's Messages API" if api == "anthropic" else "OpenAI chat completions"
        print(f"Endpoint: {settings.base_url or '(from the key)'} · key {mask(settings.api_key)}"
              f" · speaks {speaks} (api={settings.api})")


def cmd_batches(args: argparse.Namespace) -> None:
    from opus_magic.core.session import default_session
    from opus_magic.notebook.commands.batches import batches_text

    print(batches_text(default_session(), [args.action, *args.id] if args.action else []))


def cmd_reconcile(args: argparse.Namespace) -> None:
    from opus_magic.core.reconcile.fetch import run
    from opus_magic.core.session import default_session
    from opus_magic.notebook.commands.options import grouping
    from opus_magic.notebook.commands.reconcile import waiting
    from opus_magic.view.commands.reconcile import reconcile_text

    result = run(default_session(), args.since, args.until, grouping(args.by), args.provider,
                 args.refresh, waiting)
    print(reconcile_text(result))


def cmd_execute(args: argparse.Namespace) -> None:
    from opus_magic.notebook.headless import execute_and_report

    execute_and_report(args.notebook, sys.stdout)


def bounded(kind: Callable[[str], Any], low: float, high: float | None) -> Callable[[str], Any]:
    """An argparse type: a number of `kind` from `low` to `high` (no upper bound when None)."""
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not low <= value <= (math.inf if high is None else high):
            upper = "" if high is None else f" to {high:g}"
            raise argparse.ArgumentTypeError(f"{text} is out of range: use {low:g}{upper}")
        return value

    return parse


def parser() -> argparse.ArgumentParser:
    from opus_magic.core.history.totals import GROUPINGS
    from opus_magic.notebook.commands.options import add_filter_options, add_reconcile_options

    root = argparse.ArgumentParser(prog="opus-magic", description=__doc__)
    sub = root.add_subparsers(dest="command", required=True)
    sim = sub.add_parser("sim", help="serve the simulator (OpenAI format and Messages API) on 127.0.0.1")
    sim.add_argument("--port", type=bounded(int, 0, 65535), default=8765)
    sim.add_argument("--rate", type=bounded(float, 0, 1e9), default=0.0,
                     help="tokens per second (0: full speed)")
    sim.set_defaults(fn=cmd_sim)
    hist = sub.add_parser("history", help="export recorded runs")
    hist.add_argument("--format", choices=("table", "csv", "jsonl"), default="table")
    hist.add_argument("-n", type=bounded(int, 1, None), default=None,
                      help="newest N runs (default: all)")
    add_filter_options(hist)
    hist.set_defaults(fn=cmd_history)
    stats = sub.add_parser("stats", help="totals, cost, cache hit rate and latency of recorded runs")
    stats.add_argument("--by", choices=GROUPINGS, default="model")
    add_filter_options(stats)
    stats.set_defaults(fn=cmd_stats)
    endpoint = sub.add_parser("endpoint", help="say which endpoint runs will use")
    endpoint.set_defaults(fn=cmd_endpoint)
    batches = sub.add_parser("batches", help="provider batches: list, collect, cancel, resubmit")
    batches.add_argument("action", nargs="?", choices=("collect", "cancel", "resubmit"))
    batches.add_argument("id", nargs="*", help="a batch id (collect: all ended ones if none)")
    batches.set_defaults(fn=cmd_batches)
    reconcile = sub.add_parser("reconcile", help="the history beside the provider's usage and "
                                                 "cost reports (with an admin key)")
    add_reconcile_options(reconcile)
    reconcile.set_defaults(fn=cmd_reconcile)
    execute = sub.add_parser("execute", help="execute a notebook headless and print its runs")
    execute.add_argument("notebook")
    execute.set_defaults(fn=cmd_execute)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        args.fn(args)
        sys.stdout.flush()
    except OpusError as exc:
        print(f"opus-magic: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # the reader went away (`| head`): stop quietly, as cat does
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    return 0


if __name__ == "__main__":
    sys.exit(main())
