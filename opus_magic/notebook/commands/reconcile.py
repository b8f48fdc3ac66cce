"""`%opus reconcile` and `opus-magic reconcile`: what the history recorded beside what the
provider billed, from its usage and cost reports."""
from __future__ import annotations

import argparse
from collections.abc import Sequence

from opus_magic.core.reconcile.fetch import run
from opus_magic.core.reconcile.table import Reconciliation
from opus_magic.core.session import Session
from opus_magic.errors import UsageError
from opus_magic.notebook.commands.options import add_reconcile_options, grouping
from opus_magic.notebook.lines import report
from opus_magic.view.commands.reconcile import reconcile_view
from opus_magic.view.tables import show


def waiting(seconds: float, reason: str) -> None:
    """Say why a report request waits (a 429's retry-after, a 5xx) before it is sent again."""
    report(f"The provider's report answered {reason}: asking again in {seconds:.0f} s.")


def reconciled(session: Session, args: Sequence[str], prog: str = "%opus reconcile"
               ) -> Reconciliation:
    """Parse `reconcile`'s options and reconcile; bad options are one-line UsageErrors."""
    parser = argparse.ArgumentParser(prog=prog, add_help=False, exit_on_error=False)
    add_reconcile_options(parser)
    try:
        parsed, unknown = parser.parse_known_args(list(args))
    except argparse.ArgumentError as exc:
        raise UsageError(f"{exc}: see %opus help.") from None
    if unknown:
        raise UsageError(f"Unknown reconcile option {' '.join(unknown)}: see %opus help.")
    return run(session, parsed.since, parsed.until, grouping(parsed.by), parsed.provider,
               parsed.refresh, waiting)


def cmd_reconcile(session: Session, args: list[str]) -> None:
    show(reconcile_view(reconciled(session, args)))
