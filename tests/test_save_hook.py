"""The server extension that keeps live-only widget outputs out of saved notebooks: the pure
removal, the pre-save hook in jupyter_server's own contents manager, and how it gets enabled."""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from opus_magic.view.live_only import LIVE_ONLY, drop_live_only
from opus_magic.view.run.widget import VIEW_MIME

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
SERVER_CONFIG = "jupyter-config/jupyter_server_config.d/opus_magic.json"


def widget(model_id: str, metadata: dict[str, Any]) -> dict[str, Any]:
    return {"output_type": "display_data", "metadata": metadata,
            "data": {VIEW_MIME: {"model_id": model_id, "version_major": 2, "version_minor": 0},
                     "text/plain": ""}}


def notebook() -> dict[str, Any]:
    """An opus cell (static answer, live controls), a withdrawn row, someone else's widget."""
    answer = {"output_type": "display_data", "metadata": {},
              "data": {"text/html": "<div class='opus-static'>answer</div>",
                       "text/markdown": "answer", "text/plain": "answer"}}
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "markdown", "id": "m", "metadata": {}, "source": "# notes"},
        {"cell_type": "code", "id": "a", "metadata": {}, "execution_count": 1, "source": "%%opus",
         "outputs": [answer, widget("", LIVE_ONLY)]},
        {"cell_type": "code", "id": "b", "metadata": {}, "execution_count": 2, "source": "%%opus",
         "outputs": [dict(answer), widget("f00d", LIVE_ONLY),
                     {"output_type": "stream", "name": "stdout", "text": "note\n"}]},
        {"cell_type": "code", "id": "c", "metadata": {}, "execution_count": 3, "source": "slider",
         "outputs": [widget("beef", {"opus_magic": {"live_only": False}}), widget("cafe", {})]},
    ]}


def described(output: dict[str, Any]) -> str:
    """A widget's model id, else the output's text (nbformat may store it as a list of lines)."""
    if VIEW_MIME in output.get("data", {}):
        return str(output["data"][VIEW_MIME]["model_id"])
    text = output.get("text") or output["data"]["text/plain"]
    return "".join(text).strip()


def outputs(nb: dict[str, Any]) -> list[list[str]]:
    return [[described(o) for o in cell["outputs"]]
            for cell in nb["cells"] if cell["cell_type"] == "code"]


def test_only_the_outputs_marked_live_only_are_dropped() -> None:
    nb = notebook()
    assert drop_live_only(nb) == 2
    assert outputs(nb) == [["answer"], ["answer", "note"], ["beef", "cafe"]]
    assert drop_live_only(nb) == 0


def test_malformed_notebooks_pass_untouched() -> None:
    odd = {"cells": [{"cell_type": "code", "outputs": None}, "text", {"outputs": ["x", 3]}]}
    assert drop_live_only(odd) == 0
    assert odd == {"cells": [{"cell_type": "code", "outputs": None}, "text", {"outputs": ["x", 3]}]}


def test_jupyter_server_saves_notebooks_without_live_only_outputs(tmp_path: Path) -> None:
    """Loaded as jupyter_server loads `opus_magic`, the hook runs on every save of a notebook."""
    contents = pytest.importorskip("jupyter_server.services.contents.filemanager")
    manager_module = pytest.importorskip("jupyter_server.extension.manager")
    manager = contents.FileContentsManager(root_dir=str(tmp_path))
    package = manager_module.ExtensionPackage(name="opus_magic", enabled=True)
    assert package.validate()
    package.load_all_points(SimpleNamespace(contents_manager=manager))
    manager.save({"type": "notebook", "content": notebook()}, "saved.ipynb")
    saved = json.loads((tmp_path / "saved.ipynb").read_text())
    assert outputs(saved) == [["answer"], ["answer", "note"], ["beef", "cafe"]]
    manager.save({"type": "file", "format": "text", "content": json.dumps(notebook())}, "x.json")
    assert json.loads((tmp_path / "x.json").read_text()) == notebook()  # only notebooks change


def test_installing_the_package_enables_the_server_extension() -> None:
    """A wheel installs the switch with pyproject's data-files; an editable install (the
    Makefile's) skips data files, so the Makefile copies the same file into the venv."""
    config = json.loads((ROOT / SERVER_CONFIG).read_text())
    assert config == {"ServerApp": {"jpserver_extensions": {"opus_magic": True}}}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    data_files = project["tool"]["setuptools"]["data-files"]
    assert data_files["etc/jupyter/jupyter_server_config.d"] == [SERVER_CONFIG]
    makefile = (ROOT / "Makefile").read_text()
    assert f"SERVER_CONFIG := {SERVER_CONFIG}" in makefile
    assert re.search(r"cp \$\(SERVER_CONFIG\) \$\(VENV\)/etc/jupyter/jupyter_server_config\.d/",
                     makefile)
