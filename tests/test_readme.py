"""Every example in the README runs: its notebook cells, its config file, its shell lines."""
from __future__ import annotations

import json
import os
import re
import shlex
from pathlib import Path
from typing import Any

import pytest

import opus_magic
from opus_magic.cli.main import parser
from opus_magic.config import ENV_VARS
from opus_magic.core.session import Session
from opus_magic.notebook.grid.batch import latest_watch

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
BLOCKS = re.findall(r"```(\w*)\n(.*?)```", README, flags=re.S)


NEEDS_KEY = "# needs a real API key"  # the first line of a notebook block the simulator cannot run


def blocks(language: str) -> list[str]:
    return [body for lang, body in BLOCKS if lang == language]


def notebook_blocks() -> list[str]:
    """The python and ipython blocks, in the order written."""
    return [body for lang, body in BLOCKS if lang in ("python", "ipython")]


def test_every_notebook_block_runs_in_order_in_a_fresh_kernel(tmp_path: Path) -> None:
    """As a reader would paste them into a new notebook: no key (the built-in simulator), no
    exception and no one-line refusal from the magic, in any block."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    cells = [block for block in notebook_blocks() if not block.startswith(NEEDS_KEY)]
    assert len(cells) >= 18 and any("--batch" in cell for cell in cells)
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OPUS_MAGIC_", "OPENAI_")) or k == "OPUS_MAGIC_SIM_PACE"}
    env.update(OPUS_MAGIC_HISTORY=str(tmp_path / "history.sqlite"),
               XDG_CONFIG_HOME=str(tmp_path / "config"), XDG_DATA_HOME=str(tmp_path / "data"))
    client = nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                                     allow_errors=True,
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute(env=env)
    for cell in notebook.cells:
        for output in cell.outputs:
            assert output.output_type != "error", (cell.source, output)
            if output.output_type == "stream" and output.name == "stderr":
                assert "opus: " not in output.text, (cell.source, output.text)
            assert "Traceback" not in json.dumps(output), (cell.source, output)


def test_images_and_notebooks_named_exist() -> None:
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", README)
    assert images == ["docs/live-view.png", "docs/comparison.png", "docs/light-theme.png",
                      "docs/dark-theme.png"]
    assert all((ROOT / image).stat().st_size > 10_000 for image in images)
    named = set(re.findall(r"`(\d\d_\w+\.ipynb)`", README))
    assert named == {p.name for p in (ROOT / "notebooks").glob("*.ipynb")}


def test_the_tour_runs_cell_by_cell(ip: Any, simulator: Any,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    cells = blocks("python")
    assert cells[0].startswith("%load_ext opus_magic") and len(cells) >= 8
    for cell in cells:
        result = ip.run_cell(cell)
        assert result.success, (cell, result.error_in_exec or result.error_before_exec)
        assert "opus: " not in capsys.readouterr().err, cell
    watch = latest_watch()  # the --batch grid: collected by this kernel while the test waits
    assert watch is not None and watch.done.wait(120)
    intro = opus_magic.history(tag="intro")
    assert len(intro) == 4 and len({r.comparison_id for r in intro if r.comparison_id}) == 1
    assert ip.user_ns["answer"] == intro[-1].text  # -o answer, from the first cell
    follow_up = next(r for r in opus_magic.history(limit=None) if r.parent_id)
    assert follow_up.prompt.startswith("Which of the three")
    tool_run = next(r for r in opus_magic.history(limit=None) if r.tools)
    assert tool_run.tools == ["get_weather"] and tool_run.tool_tokens > 0
    assert ip.user_ns["run"].response_model == "claude-haiku-5-5"
    before_batch = [r for r in opus_magic.history(model="opus", limit=None) if not r.batch_id]
    assert len(ip.user_ns["frame"]) == len(before_batch)


@pytest.fixture
def readme_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    [toml] = blocks("toml")
    path = tmp_path / "config.toml"
    path.write_text(toml)
    monkeypatch.setenv("OPUS_MAGIC_CONFIG", str(path))
    return path


def test_the_config_file_routes_one_comparison_to_three_endpoints(readme_config: Path) -> None:
    session = Session()
    settings = session.settings()
    assert settings.model == "opus" and settings.profile == "anthropic"
    assert set(settings.profiles) == {"anthropic", "openai", "openrouter", "gateway", "local"}
    where = {name: session.endpoint(settings, session.catalog(settings).resolve(name), name)
             for name in ("opus", "4o", "llama")}
    assert {n: (e.base_url, wire) for n, (e, wire, _) in where.items()} == {
        "opus": ("https://api.anthropic.com/v1/", "claude-opus-5-5"),
        "4o": ("https://api.openai.com/v1", "gpt-4o"),
        "llama": ("http://127.0.0.1:11434/v1", "llama3.1:8b"),
    }
    for profile, wire in (("openrouter", "anthropic/claude-opus-5.5"), ("gateway", "opus-prod-eu")):
        settings = session.settings(profile=profile)
        endpoint, sent, _ = session.endpoint(settings, "claude-opus-5-5", "opus")
        assert (endpoint.name, sent) == (profile, wire)


def test_the_local_profile_answers_with_the_configured_price(readme_config: Path, ip: Any,
                                                              simulator: Any) -> None:
    """The README's local-server profile, pointed at the simulator standing in for the server."""
    readme_config.write_text(readme_config.read_text().replace("http://127.0.0.1:11434/v1",
                                                               simulator.base_url))
    ip.run_cell_magic("opus", "-m llama --max-tokens 50", "Say hello.")
    run = opus_magic.last_run()
    assert simulator.requests()[-1].model == "llama3.1:8b"
    assert run.status == "ok" and run.cost == 0 and run.cost_exact


def test_shell_lines_name_real_targets_commands_and_endpoints(
        monkeypatch: pytest.MonkeyPatch) -> None:
    makefile = (ROOT / "Makefile").read_text()
    known_env = {name for names in ENV_VARS.values() for name in names}
    lines = [line for body in blocks("bash") for line in body.splitlines() if line.strip()]
    for line in lines:
        command, _, comment = line.partition("#")
        words = shlex.split(command)
        if words[0] == "make":
            assert re.search(rf"^{words[1]}:", makefile, flags=re.M), line
            continue
        assert words[0] == "export", line
        name, value = words[1].split("=", 1)
        assert name in known_env, line
        url = (re.search(r"https?://\S+", comment) or re.search(r"https?://\S+", value))[0]
        for other in known_env:
            monkeypatch.delenv(other, raising=False)
        monkeypatch.setenv(name, value.replace("...", "0123456789abcdef"))
        session = Session()
        endpoint, _, _ = session.endpoint(session.settings(), "claude-opus-4-6", "opus")
        assert endpoint.base_url == url, line
    for command in re.findall(r"`(opus-magic [^`]+)`", README):
        parser().parse_args(shlex.split(command)[1:])
