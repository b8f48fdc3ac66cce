"""Attachments in the views of a real kernel: chips in the live view and in what a saved notebook
keeps (a thumbnail for an image), Run again sending them again, comparisons in brief."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from media_support import pdf_bytes, png_bytes
from test_view_notebook import (  # noqa: F401  (the kernel fixtures)
    VIEW_MIME,
    Kernel,
    drop_live_only,
    frontend_outputs,
    kernel,
    kernel_env,
    recorded,
    wait_for_answers,
)


@pytest.fixture
def documents(tmp_path: Path) -> Path:
    (tmp_path / "manual.pdf").write_bytes(pdf_bytes("Storage layer", "Storage layer"))
    (tmp_path / "chart.png").write_bytes(png_bytes(600, 400))
    return tmp_path


def test_a_saved_notebook_shows_the_chips_and_run_again_sends_the_attachments_again(
        kernel: Kernel, simulator: Any, documents: Path) -> None:
    kernel.run("%load_ext opus_magic\n%opus config api=anthropic")
    kernel.messages.clear()
    kernel.run(f"%%opus -m opus-4.6 --max-tokens 30 --tag chips --attach {documents}/manual.pdf "
               f"--attach {documents}/chart.png\nWhich chapters depend on the storage layer?")
    wait_for_answers(kernel, 1)
    kernel.click("Run again")
    wait_for_answers(kernel, 2)
    first, again = recorded("chips")
    assert [a.name for a in again.attachments] == ["manual.pdf", "chart.png"]
    sent = [r.body["messages"][0]["content"] for r in simulator.requests() if r.api == "anthropic"]
    assert len(sent) == 2 and sent[0] == sent[1]  # the same blocks, the same bytes
    outputs = frontend_outputs(kernel.messages)
    notebook = {"cells": [{"cell_type": "code", "outputs": outputs}]}
    drop_live_only(notebook)
    [saved] = notebook["cells"][0]["outputs"]
    html, markdown = saved["data"]["text/html"], saved["data"]["text/markdown"]
    assert VIEW_MIME not in saved["data"]
    # two attachments on a live run: count_tokens counts them together, each is estimated
    assert 'class="opus-chip opus-chip-pdf"' in html and "manual.pdf · 2 pages · ≈3,203 tokens" in html
    assert 'class="opus-thumbnail" src="data:image/jpeg;base64,' in html  # the chart's picture
    assert "chart.png · 600×400 px · ≈320 tokens · ≈$0.0016" in html
    assert "attached: 📄 manual.pdf · 2 pages · ≈3,203 tokens · ≈\\$0.01602" in markdown
    assert "attached: 🖼 chart.png · 600×400 px" in saved["data"]["text/plain"]


def test_a_headless_comparison_shows_each_models_attachments_in_brief(
        kernel: Kernel, simulator: Any, documents: Path) -> None:
    kernel.run("%load_ext opus_magic\n%opus config api=anthropic view=text")
    kernel.messages.clear()
    kernel.run(f"%%opus -m opus-4.6,haiku-4.5 --max-tokens 20 --attach {documents}/chart.png\n"
               f"What does the chart show?")
    printed = kernel.printed()
    assert "opus-4.6: 1 attachment (chart.png): 320 tokens" in printed
    assert "haiku-4.5: 1 attachment (chart.png): 320 tokens" in printed
