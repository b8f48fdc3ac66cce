"""A batch sent to the built-in simulator lives only as long as the kernel that sent it."""
from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

import opus_magic
from opus_magic.core.session import default_session
from opus_magic.notebook.grid.batch import stop_watching

TICKETS = [{"subject": "Charged twice", "label": "billing"},
           {"subject": "Export crashes", "label": "bug"}]


def test_submitting_says_so_and_a_collect_elsewhere_marks_the_batch_lost(
        builtin_ip: Any, capsys: pytest.CaptureFixture[str]) -> None:
    builtin_ip.user_ns.update(tickets=TICKETS, prompts={"p": "Answer with one of: billing, bug, "
                                                             "other.\n{subject}"})
    builtin_ip.run_line_magic("opus", "sim batch_delay=600")   # still running when the kernel ends
    builtin_ip.run_line_magic("opus", "--each tickets --variants prompts -m haiku --max-tokens 5 "
                                      "--batch --check equals:label")
    out = capsys.readouterr().out
    assert ("These batches went to this kernel's built-in simulator: they can be collected only "
            "while this kernel runs") in out
    stop_watching()
    default_session().simulator().stop()   # the kernel ends: its simulator, and the batch, with it

    collect = subprocess.run([sys.executable, "-m", "opus_magic.cli.main", "batches", "collect"],
                             text=True, capture_output=True, timeout=120)
    assert collect.returncode == 0, collect.stderr
    assert "lost: it went to the built-in simulator of a kernel that has ended" in collect.stdout
    listed = subprocess.run([sys.executable, "-m", "opus_magic.cli.main", "batches"], text=True,
                            capture_output=True, timeout=120)
    assert " lost " in listed.stdout and "Traceback" not in listed.stdout + listed.stderr
    again = subprocess.run([sys.executable, "-m", "opus_magic.cli.main", "batches", "collect"],
                           text=True, capture_output=True, timeout=120)
    assert again.returncode == 0 and "No batches waiting to be collected." in again.stdout
    assert opus_magic.history(limit=None) == []     # nothing recorded, nothing billed
