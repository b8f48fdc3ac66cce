"""`{name}`s in flag values are filled after the `%%opus` line is split into words."""
from __future__ import annotations

from typing import Any

import pytest

import opus_magic

MANUAL = ("1. Orders placed before noon ship the same day.\n"
          "2. Refunds take five working days.\n"
          "3. Quote the order number in every reply.")


def test_a_multi_line_variable_fills_a_flag_without_quotes(ip: Any, simulator: Any,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    ip.user_ns.update(manual=MANUAL, budget_tokens=30, who="support")
    ip.run_cell("%%opus -m haiku -s {manual} --max-tokens {budget_tokens} --tag {who}\n"
                "When does my refund arrive?")
    captured = capsys.readouterr()
    assert "opus:" not in captured.err, captured.err
    run = opus_magic.last_run()
    assert run.status == "ok" and run.tag == "support" and run.max_tokens == 30
    assert simulator.requests()[-1].body["messages"][0] == {"role": "system", "content": MANUAL}


def test_an_error_on_such_a_line_never_dumps_the_variable(ip: Any, simulator: Any,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    ip.user_ns["manual"] = MANUAL
    ip.run_cell("%%opus -m haiku -s {manual} --loud\nWhen does my refund arrive?")
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unrecognized arguments: --loud" in err
    assert "Orders placed" not in err and opus_magic.last_run() is None


def test_a_name_that_is_not_defined_stays_as_written_with_a_note(
        ip: Any, simulator: Any, capsys: pytest.CaptureFixture[str]) -> None:
    ip.run_cell("%%opus -m haiku --tag {nowhere} --max-tokens 10\nHello")
    assert opus_magic.last_run().tag == "{nowhere}"
    assert "Left as written (not defined in the notebook): {nowhere}" in capsys.readouterr().out
