"""`opus-magic`: the simulator, history export and stats, and headless notebook runs from a shell."""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from opus_magic.errors import OpusError


def cmd_sim(args: argparse.Namespace) -> None:
    from opus_magic import sim

    rate = f"{args.rate:g} tokens/s" if args.rate else "full speed"
    print(f"opus-magic SIMULATOR (not a real model) on http://127.0.0.1:{args.port}/v1 ({rate}).")
    print(f"Use it with: OPUS_MAGIC_BASE_URL=http://127.0.0.1:{args.port}/v1   (Ctrl-C stops it)")
    sys.stdout.flush()
    try:
        sim.serve_forever(port=args.port, tokens_per_second=args.rate or None)
    except KeyboardInterrupt:
        pass


def cmd_history(args: argparse.Namespace) -> None:
    from opus_magic.core.session import default_session
    from opus_magic.store.export import write_runs
    from opus_magic.view.history import filter_values, format_table, select

    session = default_session()
    settings = session.settings()
    store = session.store(settings)
    runs = select(store, limit=args.n, catalog=session.catalog(settings), **filter_values(args))
    if store.notice():
        print(store.notice(), file=sys.stderr)
    if args.format == "table":
        sys.stdout.write(format_table(runs) + "\n")
    else:
        write_runs(runs, args.format, sys.stdout)


def cmd_stats(args: argparse.Namespace) -> None:
    from opus_magic.core.session import default_session
    from opus_magic.view import stats
    from opus_magic.view.history import filter_values

    session = default_session()
    settings = session.settings()
    store = session.store(settings)
    groups = stats.compute(store, args.by, session.catalog(settings), **filter_values(args))
    if store.notice():
        print(store.notice(), file=sys.stderr)
    print(stats.stats_text(groups))


def cmd_endpoint(args: argparse.Namespace) -> None:
    from opus_magic.config import load_settings, mask
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
    from opus_magic.notebook.batch_commands import batches_text

    print(batches_text(default_session(), [args.action, *args.id] if args.action else []))


def cmd_execute(args: argparse.Namespace) -> None:
    from opus_magic.notebook.headless import execute_and_report

    execute_and_report(args.notebook, sys.stdout)


def parser() -> argparse.ArgumentParser:
    from opus_magic.view.history import add_filter_options
    from opus_magic.view.stats import GROUPINGS

    root = argparse.ArgumentParser(prog="opus-magic", description=__doc__)
    sub = root.add_subparsers(dest="command", required=True)
    sim = sub.add_parser("sim", help="serve the simulator (OpenAI format and Messages API) on 127.0.0.1")
    sim.add_argument("--port", type=int, default=8765)
    sim.add_argument("--rate", type=float, default=0.0, help="tokens per second (0: full speed)")
    sim.set_defaults(fn=cmd_sim)
    hist = sub.add_parser("history", help="export recorded runs")
    hist.add_argument("--format", choices=("table", "csv", "jsonl"), default="table")
    hist.add_argument("-n", type=int, default=None, help="newest N runs (default: all)")
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
    execute = sub.add_parser("execute", help="execute a notebook headless and print its runs")
    execute.add_argument("notebook")
    execute.set_defaults(fn=cmd_execute)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        args.fn(args)
    except OpusError as exc:
        print(f"opus-magic: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
