"""The API key never reaches history, outputs, saved notebooks, logs or error messages."""
from __future__ import annotations

import logging
from pathlib import Path

import pytest
from echo_endpoint import CASES, echo_endpoint

import opus_magic
from opus_magic.core.run.planner import build_request, plan_request
from opus_magic.core.session import default_session

KEY = "sk-ant-api03-CANARYk3y7q9Zx5Lm2Vb8Nc4Hd6Jf1Gs0WXYZ"
FRAGMENTS = (KEY, KEY[13:-4], KEY[13:21], KEY[-12:-4])   # the whole key and pieces that identify it


def leaks(text: str | bytes) -> list[str]:
    data = text.encode() if isinstance(text, str) else text
    return [piece for piece in FRAGMENTS if piece.encode() in data]


def database_bytes(history: Path) -> bytes:
    files = [history, Path(f"{history}-wal"), Path(f"{history}-shm"), Path(f"{history}-journal")]
    return b"".join(f.read_bytes() for f in files if f.exists())


@pytest.fixture
def keyed(ip, monkeypatch):
    monkeypatch.setenv("OPUS_MAGIC_API_KEY", KEY)
    default_session().sleep = lambda seconds: None
    return ip


def test_the_key_stays_out_of_everything_in_process(keyed, simulator, capsys, caplog,
                                                    isolated_dirs) -> None:
    caplog.set_level(logging.DEBUG)
    ip = keyed
    ip.run_line_magic("opus", "config breaker_threshold=100")
    for scenario, params in [("401", {}), ("403", {}), ("402", {}), ("insufficient_quota", {}),
                             ("429", {"retry_after": 1, "times": 1}), ("500", {}),
                             ("cut", {"after": 3, "mode": "reset", "times": 1}),
                             ("error_chunk", {"after": 2}), ("normal", {})]:
        simulator.scenario(scenario, **params)
        ip.run_cell_magic("opus", "--tag secrets", "Say something about keys.")
    ip.run_line_magic("opus", "config base_url=http://127.0.0.1:9/v1 max_retries=0")
    ip.run_cell_magic("opus", "", "Nobody listens on port 9.")
    assert opus_magic.last_run().error.startswith("Cannot reach http://127.0.0.1:9/v1")
    ip.run_line_magic("opus", f"config base_url={simulator.base_url}")
    ip.run_line_magic("opus", "config")
    ip.run_line_magic("opus", "history -n 50")
    ip.run_line_magic("opus", f"show {opus_magic.last_run().id}")
    record = opus_magic.run("And through the Python API.", tag="api")
    session = default_session()
    settings = session.settings()
    plan = plan_request(session, build_request(settings, "a plan"), settings)
    print(repr(settings), repr(plan), repr(record), str(settings.api_key), f"{settings.api_key}")
    out, err = capsys.readouterr()

    assert "…WXYZ" in out                                    # masked, still recognisable
    runs = opus_magic.history(limit=None)
    assert len(runs) == 11 and {r.status for r in runs} == {"ok", "error", "interrupted"}
    assert leaks(out) == [] and leaks(err) == []
    assert leaks(caplog.text) == [] and caplog.records              # logging did run, at DEBUG
    assert leaks(database_bytes(isolated_dirs / "history.sqlite")) == []
    assert all(leaks(repr(r)) == [] and leaks(r.error or "") == [] for r in runs)


def test_an_executed_notebook_never_holds_the_key(simulator, monkeypatch, tmp_path,
                                                  isolated_dirs) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    monkeypatch.setenv("OPUS_MAGIC_BASE_URL", simulator.base_url)
    monkeypatch.setenv("OPUS_MAGIC_API_KEY", KEY)
    cells = [
        "%load_ext opus_magic\nimport logging, opus_magic\n"
        "logging.basicConfig(level=logging.DEBUG)",
        f"from opus_magic import sim\ncontrol = sim.control({simulator.base_url!r})\n"
        "control.scenario('401', times=1)",
        "%%opus --tag nb\nFirst attempt: the key is refused.",
        "%%opus --tag nb -o answer\nSecond attempt: it works.",
        "control.scenario('cut', after=4, mode='reset', times=1)",
        "%%opus --tag nb\nThis one is cut short.",
        "%opus config",
        "%opus history",
        "opus_magic.last_run()",
        "from opus_magic.core.session import default_session\ndefault_session().settings()",
        "import os\nprint(sorted(k for k in os.environ if 'KEY' in k))",
    ]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    path = tmp_path / "secrets.ipynb"
    client = nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3",
                                     store_widget_state=True,
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    nbformat.write(notebook, path)

    saved = path.read_text(encoding="utf-8")
    assert "HTTP 401" in saved and "refused a raw Anthropic key (sk-…WXYZ)" in saved
    assert "interrupted" in saved and "OPUS_MAGIC_API_KEY" in saved
    assert not any(output.get("output_type") == "error" for cell in notebook.cells
                   for output in cell.get("outputs", []))
    assert leaks(saved) == []
    statuses = [r.status for r in opus_magic.history(limit=None, tag="nb")]
    assert sorted(statuses) == ["error", "interrupted", "ok"]
    assert leaks(database_bytes(isolated_dirs / "history.sqlite")) == []


def test_a_key_set_through_config_is_masked_when_the_traits_are_listed(ip, capsys) -> None:
    ip.run_line_magic("config", f"OpusMagics.api_key = {KEY!r}")
    ip.run_line_magic("config", "OpusMagics")
    ip.run_line_magic("opus", "config")
    out, err = capsys.readouterr()
    assert "…WXYZ" in out and leaks(out + err) == []


def test_an_endpoint_echoing_the_key_everywhere_never_leaks_it(keyed, capsys, caplog,
                                                               isolated_dirs) -> None:
    caplog.set_level(logging.DEBUG)
    ip = keyed
    ip.run_line_magic("opus", "config max_retries=0 breaker_threshold=100")
    with echo_endpoint() as root:
        for case in CASES:
            for flags in ("", "--no-stream"):
                ip.run_line_magic("opus", f"config base_url={root}/{case}/v1")
                ip.run_cell_magic("opus", f"{flags} --tag echo-{case}", "Echo my header.")
                record = opus_magic.last_run()
                assert record.error or record.text, case
    ip.run_line_magic("opus", "history -n 50")
    for record in opus_magic.history(limit=None):
        ip.run_line_magic("opus", f"show {record.id}")
    out, err = capsys.readouterr()

    runs = opus_magic.history(limit=None)
    assert len(runs) == 2 * len(CASES)
    said = " ".join(r.error or "" for r in runs)
    for server_words in ("Bad credentials", "Invalid key", "denied for", "model refused",
                         "bad header", "upstream proxy failed", "upstream failed",
                         "connection reset"):
        assert server_words in said, server_words              # the server's reason is shown
    assert "sk-…WXYZ" in said and "You sent Bearer sk-…WXYZ." in {r.text for r in runs}
    assert leaks(out) == [] and leaks(err) == [] and leaks(caplog.text) == []
    assert leaks(database_bytes(isolated_dirs / "history.sqlite")) == []
    assert all(leaks(repr(r)) == [] for r in runs)


def test_a_notebook_against_an_echoing_endpoint_keeps_the_key_out_of_every_file(
        monkeypatch, tmp_path, isolated_dirs) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    monkeypatch.setenv("OPUS_MAGIC_API_KEY", KEY)
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    log = tmp_path / "opus.log"
    with echo_endpoint() as root:
        cells = [(f"%load_ext opus_magic\nimport logging, opus_magic\n"
                  f"logging.basicConfig(filename={str(log)!r}, level=logging.DEBUG)"),
                 "%opus config max_retries=0"]
        for case in ("midstream", "list", "dict", "header", "answer", "vllm"):
            cells += [f"%opus config base_url={root}/{case}/v1", f"%%opus --tag nb\nEcho {case}."]
        cells += ["%opus history", "opus_magic.history(limit=None)"]
        notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
        nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3",
                                resources={"metadata": {"path": str(tmp_path)}}).execute()
    path = tmp_path / "echo.ipynb"
    nbformat.write(notebook, path)

    saved = path.read_text(encoding="utf-8")
    assert "Invalid key" in saved and "upstream failed" in saved and "sk-…WXYZ" in saved
    assert not any(output.get("output_type") == "error" for cell in notebook.cells
                   for output in cell.get("outputs", []))
    assert "receive_response_headers" in log.read_text()         # the HTTP library did log
    ipython_history = tmp_path / "ipython" / "profile_default" / "history.sqlite"
    for data in (saved.encode(), log.read_bytes(), database_bytes(ipython_history),
                 database_bytes(isolated_dirs / "history.sqlite")):
        assert leaks(data) == []
