"""Shared fixtures: every test gets its own config, data and history paths."""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from pg_support import pg_server, pg_url  # noqa: F401  (fixtures for the PostgreSQL history)

from opus_magic.core import session as session_module
from opus_magic.sim.pace import PACE_ENV

# The one place tests ask for instant answers: the built-in simulator (in this process and in the
# kernels tests start) otherwise paces its tokens like a real model. A test of the pacing sets it.
os.environ[PACE_ENV] = "instant"

KEY_VARS = ("OPUS_MAGIC_BASE_URL", "OPENAI_BASE_URL", "OPUS_MAGIC_API_KEY", "OPENAI_API_KEY",
            "OPUS_MAGIC_MODEL", "OPUS_MAGIC_HISTORY", "OPUS_MAGIC_CONFIG", "OPUS_MAGIC_HISTORY_URL",
            "PGPASSWORD", "OPUS_MAGIC_ADMIN_KEY")


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for name in KEY_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("OPUS_MAGIC_HISTORY", str(tmp_path / "history.sqlite"))
    monkeypatch.setattr(session_module, "_default", None)
    yield tmp_path


@pytest.fixture(scope="session")
def sim_server() -> Iterator[object]:
    from opus_magic import sim

    server = sim.start()
    yield server
    server.stop()


@pytest.fixture
def simulator(sim_server: object) -> Iterator[object]:
    sim_server.reset()
    sim_server.configure(tokens_per_second=None, ttft_s=0.0, answer_tokens=None, usage_scale=1.0)
    yield sim_server
    sim_server.reset()


@pytest.fixture
def builtin_ip() -> Iterator[object]:
    """A real IPython shell with the extension loaded, no key and no base URL: runs go to the
    simulator the session starts by itself."""
    from IPython.testing.globalipapp import get_ipython

    shell = get_ipython()
    shell.config.pop("OpusMagics", None)
    shell.run_line_magic("load_ext", "opus_magic")
    shell.run_line_magic("reload_ext", "opus_magic")
    yield shell


@pytest.fixture
def ip(simulator: object, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """A real IPython shell with the extension loaded, pointed at the simulator."""
    from IPython.testing.globalipapp import get_ipython

    shell = get_ipython()
    shell.config.pop("OpusMagics", None)
    monkeypatch.setenv("OPUS_MAGIC_BASE_URL", simulator.base_url)
    monkeypatch.setenv("OPUS_MAGIC_API_KEY", "sk-test-0123456789abcdef")
    shell.run_line_magic("load_ext", "opus_magic")
    shell.run_line_magic("reload_ext", "opus_magic")
    yield shell
    shell.config.pop("OpusMagics", None)
