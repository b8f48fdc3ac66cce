"""A first cell sends before tiktoken's encoding is loaded (a third of a second), unless something
must be decided on the count first; its record's counts are tiktoken's all the same."""
from __future__ import annotations

import threading
from typing import Any

import pytest

import opus_magic
from opus_magic.cost import tokens
from opus_magic.notebook.state import STATE


@pytest.fixture
def loads(ip: Any, simulator: Any, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """No encoding loaded yet; each load notes how many requests the simulator had by then.

    The extension's own background loads (the warm-up's, between cells) end first, so the only
    loads noted are the cells' own."""
    STATE.quiet.cell_ended()
    for thread in threading.enumerate():
        if thread.name in ("opus-magic-warm-up", "opus-magic-encoding"):
            thread.join()
    seen: list[int] = []
    load = tokens._load

    def noted(name: str) -> Any:
        seen.append(len(simulator.requests()))
        return load(name)

    monkeypatch.setattr(tokens, "_loaded", {})
    monkeypatch.setattr(tokens, "_load", noted)
    return seen


def test_the_first_cell_is_sent_before_the_encoding_loads_and_records_exact_counts(
        ip: Any, simulator: Any, loads: list[int]) -> None:
    result = ip.run_cell("%%opus -m opus --max-tokens 60\nWhat does a cache write cost?")
    run = opus_magic.last_run()
    assert result.success and run.status == "ok"
    assert loads[0] == 1  # the request was out before the encoding was loaded
    counted = tokens.count_messages(run.messages, "claude-opus-4-6")
    assert run.tiktoken_input == counted
    assert run.tiktoken_output == tokens.count_text(run.text, "claude-opus-4-6")


@pytest.mark.parametrize("setup, cell", [
    ("%opus budget 5", "%%opus -m opus --max-tokens 60\nWhat does a cache write cost?"),
    # 300 KB at one token a byte would not fit gpt-4o's 128K window; counted, it does.
    ("big = 'word ' * 60_000", "%%opus -m gpt-4o --max-tokens 1000\n{big}"),
])
def test_a_cell_whose_count_decides_something_counts_before_sending(
        ip: Any, simulator: Any, loads: list[int], setup: str, cell: str) -> None:
    ip.run_cell(setup)
    result = ip.run_cell(cell)
    assert result.success and opus_magic.last_run().status == "ok"
    assert loads[0] == 0 and len(simulator.requests()) == 1


UNNEEDED = ("pydantic", "PIL", "pypdf", "numpy", "openai", "anthropic", "opus_magic.media",
            "opus_magic.stats", "opus_magic.core.grid", "opus_magic.core.run.attach.attached",
            "opus_magic.core.run.attach.report", "opus_magic.core.run.attach.files",
            "opus_magic.core.tools.cost", "opus_magic.core.run.conversation")


def test_a_plain_first_cell_loads_no_attachment_tool_or_schema_machinery(
        simulator: Any, isolated_dirs: Any) -> None:
    """What a cell without attachments, tools, a schema or --continue never uses stays unloaded
    (the warm-up is left out: it loads only what such a cell needs)."""
    import os
    import subprocess
    import sys

    code = ("import sys\nfrom IPython.core.interactiveshell import InteractiveShell\n"
            "from opus_magic.notebook.state import STATE\n"
            "STATE.quiet.warming = True\nshell = InteractiveShell.instance()\n"
            "shell.run_line_magic('load_ext', 'opus_magic')\n"
            "shell.run_cell_magic('opus', '-m claude-opus-4-6 --max-tokens 100', 'Hello?')\n"
            f"print(sorted(m for m in sys.modules if m.startswith({UNNEEDED!r})))")
    env = {**os.environ, "OPUS_MAGIC_BASE_URL": simulator.base_url,
           "OPUS_MAGIC_API_KEY": "sk-test-0123456789abcdef"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, env=env, check=True)
    assert "complete" in done.stdout and done.stdout.strip().splitlines()[-1] == "[]", done.stdout


def test_every_name_the_warm_up_imports_exists() -> None:
    """The warm-up runs on a thread where a failed import would go unseen: each one resolves."""
    import ast
    import importlib
    import inspect

    from opus_magic.notebook import extension

    for node in ast.walk(ast.parse(inspect.getsource(extension.warm_up))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                importlib.import_module(alias.name)
        elif isinstance(node, ast.ImportFrom):
            module = importlib.import_module(node.module or "")
            for alias in node.names:
                assert hasattr(module, alias.name) or importlib.import_module(
                    f"{node.module}.{alias.name}")
