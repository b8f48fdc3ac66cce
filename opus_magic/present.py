"""Showing a run while it streams: the text view here; widget views plug in beside it."""
from __future__ import annotations

from .config import Settings
from .engine import Plan
from .records import RunRecord
from .session import Session
from .textview import TextView


def present_run(session: Session, settings: Settings, plan: Plan) -> RunRecord:
    """Execute one plan, showing it as it streams."""
    return session.execute(plan, settings, TextView())
