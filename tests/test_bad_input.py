"""Input that used to end in a traceback, and answers that could mislead: one line each, through
the magic and the `opus-magic` command."""
from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

import opus_magic
from opus_magic.cli.main import main

ROOT = Path(__file__).resolve().parent.parent


def one_line(text: str) -> str:
    assert "Traceback" not in text and len(text.strip().splitlines()) == 1, text
    return text.strip()


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "opus_magic.cli.main", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize("line, says", [
    ("history --since 99999999d", "reaches before year 1"),
    ("stats --since 99999999d", "reaches before year 1"),
])
def test_history_filters_that_overflow_are_one_line(ip, capsys, line, says) -> None:
    ip.run_line_magic("opus", line)
    assert says in one_line(capsys.readouterr().err)


@pytest.mark.parametrize("key", ["sk-test-caf\u00e9-0123456789", "sk-test 0123\n456789abc"])
def test_a_key_no_header_can_carry_is_refused_in_one_line_and_never_quoted(
        ip, simulator, capsys, monkeypatch, key) -> None:
    monkeypatch.setenv("OPUS_MAGIC_API_KEY", key)
    result = ip.run_cell("%%opus -m opus --max-tokens 5\nhi")
    out = capsys.readouterr()
    assert result.success and simulator.requests() == []
    assert "no HTTP header can carry" in out.out + out.err and "Traceback" not in out.out + out.err
    assert "0123" not in out.out + out.err and opus_magic.last_run().status == "error"


def test_tools_holding_nan_are_refused(ip, simulator, capsys) -> None:
    ip.user_ns["tools"] = [{"type": "function", "function": {
        "name": "f", "parameters": {"type": "object", "default": float("nan")}}}]
    ip.run_cell_magic("opus", "--tools tools", "hi")
    assert "not JSON" in one_line(capsys.readouterr().err) and simulator.requests() == []


def test_a_filter_matching_nothing_says_so_and_a_huge_n_is_all_runs(ip, simulator, capsys
                                                                    ) -> None:
    ip.run_cell_magic("opus", "--tag kept", "hi")
    capsys.readouterr()
    ip.run_line_magic("opus", "history --tag nope --since 2d")
    out = capsys.readouterr().out
    assert "No runs match --tag nope --since 2d" in out and "No runs recorded yet" not in out
    ip.run_line_magic("opus", "stats --tag nope")
    assert "No runs match --tag nope" in capsys.readouterr().out
    ip.run_line_magic("opus", "history -n 99999999999999999999")
    out, err = capsys.readouterr()
    assert err == "" and opus_magic.last_run().id in out and "cannot be read" not in out
    assert main(["history", "--tag", "nope"]) == 0
    assert "No runs match --tag nope" in capsys.readouterr().err
    assert main(["history", "-n", "99999999999999999999"]) == 0
    assert opus_magic.last_run().id in capsys.readouterr().out


@pytest.mark.parametrize("args, says", [
    (["sim", "--port", "99999"], "out of range"), (["sim", "--rate", "-5"], "out of range"),
    (["history", "-n", "0"], "out of range"),
])
def test_cli_numbers_out_of_range_are_usage_errors(capsys, args, says) -> None:
    with pytest.raises(SystemExit) as exited:
        main(args)
    assert exited.value.code == 2 and says in capsys.readouterr().err


def test_cli_execute_of_a_file_that_is_no_notebook(capsys) -> None:
    assert main(["execute", str(ROOT / "README.md")]) == 1
    out, err = capsys.readouterr()
    assert "is not a Jupyter notebook" in one_line(err) and out == ""


def test_cli_sim_on_a_port_in_use_says_so_without_a_banner() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        done = cli("sim", "--port", str(taken.getsockname()[1]))
    assert done.returncode == 1 and done.stdout == ""
    assert "another program uses the port" in one_line(done.stderr)


def test_cli_history_into_a_closed_pipe_stops_quietly(ip, simulator, isolated_dirs) -> None:
    for index in range(6):
        opus_magic.run(f"Run {index} " + "padding " * 20000)
    reader = subprocess.Popen(["head", "-c", "10"], stdin=subprocess.PIPE,
                              stdout=subprocess.DEVNULL)
    done = subprocess.run([sys.executable, "-m", "opus_magic.cli.main", "history", "--format",
                           "csv"], cwd=ROOT, stdout=reader.stdin, stderr=subprocess.PIPE,
                          text=True, timeout=60, check=False)
    reader.stdin.close()
    reader.wait()
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr
