"""`%%opus --attach` against the simulator over real HTTP: documents and images priced by hand
before they are sent, cached, refused at their limits with nothing sent, recorded, resent.

On Opus 4.6 (the legacy 1,568-px rule, tiktoken's count taken as it is, $5 a million input):
the two-page manual is 2 × 1,599 page-image tokens + 5 of text = 3,203; the 600×400 chart
240,000 / 750 = 320; the 4000×3000 photo is downscaled here to 1264×948, 1,598. On gpt-4o
(85 + 170 a 512-px tile, $2.50 a million): the chart 2 tiles, 425; the photo fitted to 1024×768,
4 tiles, 765. The simulator counts by the same rules, so its usage is the pre-flight's figure.
"""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from media_support import encrypted_pdf, pdf_bytes, png_bytes

import opus_magic
from opus_magic.core import session as session_module
from opus_magic.cost.pricing import format_usd
from opus_magic.secret import as_secret
from opus_magic.wire.anthropic import files
from opus_magic.wire.endpoints import Endpoint

QUESTION = "Which chapters depend on the storage layer?"


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The notebook's folder, holding the manual, a chart and a photo."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "manual.pdf").write_bytes(pdf_bytes("Storage layer", "Storage layer"))
    (tmp_path / "chart.png").write_bytes(png_bytes(600, 400))
    (tmp_path / "photo.png").write_bytes(png_bytes(4000, 3000))
    return tmp_path


@pytest.fixture
def native(ip: Any) -> Any:
    ip.run_line_magic("opus", "config api=anthropic max_retries=0")
    return ip


def new_kernel(shell: Any) -> None:
    """A fresh session, as a new kernel starts: only the history remembers earlier runs."""
    session_module._default = None
    shell.run_line_magic("opus", "config api=anthropic max_retries=0")


def one_line(text: str) -> str:
    assert "Traceback" not in text and len(text.strip().splitlines()) == 1, text
    return text.strip()


def test_a_pdf_and_two_images_on_opus_4_6_priced_by_hand(native, simulator, folder,
                                                          capsys) -> None:
    attach = "--attach manual.pdf --attach chart.png --attach photo.png"
    native.run_cell_magic("opus", f"-m opus-4.6 --dry-run {attach}", QUESTION)
    out = capsys.readouterr().out
    assert ("Attachment manual.pdf (2 pages): 3,203 tokens, exact (count_tokens) · $0.01602 "
            "as input.") in out
    assert "Attachment chart.png (600×400 px): 320 tokens, exact (count_tokens) · $0.0016" in out
    assert "Attachment photo.png (1264×948 px): 1,598 tokens, exact (count_tokens) · $0.00799" in out
    assert "photo.png: downscaled from 4000×3000 to 1264×948" in out
    assert "the attachments are 5,121 tokens: ≈$0.02561 a question uncached" in out
    assert not [r for r in simulator.requests() if r.api == "anthropic"]

    native.run_cell_magic("opus", "-m opus-4.6 --max-tokens 60", QUESTION)
    bare = opus_magic.last_run().usage.input_tokens
    native.run_cell_magic("opus", f"-m opus-4.6 --max-tokens 60 {attach}", QUESTION)
    run = opus_magic.last_run()
    # the question now goes as a text block after the attachments: the simulator counts a
    # block's JSON, 5 tokens more than the same text as plain content
    assert run.usage.input_tokens == bare + 5121 + 5 == run.input_estimate and run.input_exact
    assert run.cost == (Decimal(run.usage.input_tokens) * 5 + Decimal(60) * 25) / 10**6
    sent = simulator.requests()[-1].body["messages"][0]["content"]
    assert [block["type"] for block in sent] == ["document", "image", "image", "text"]
    assert sent[0]["title"] == "manual.pdf" and sent[-1]["text"] == QUESTION
    assert run.text.startswith("I read manual.pdf (2 pages), image 1 (600×400 px) and "
                               "image 2 (1264×948 px).")
    assert [(a.name, a.pages, a.pixels, a.tokens) for a in run.attachments] == [
        ("manual.pdf", 2, None, 3203), ("chart.png", None, (600, 400), 320),
        ("photo.png", None, (1264, 948), 1598)]


def test_two_images_on_gpt_4o_by_its_tiles_and_the_pdf_refused(ip, simulator, folder,
                                                                capsys) -> None:
    ip.run_line_magic("opus", "config api=openai max_retries=0")
    ip.run_cell_magic("opus", "-m 4o --max-tokens 60", QUESTION)
    bare = opus_magic.last_run().usage.input_tokens
    ip.run_cell_magic("opus", "-m 4o --max-tokens 60 --attach chart.png --attach photo.png",
                      QUESTION)
    run = opus_magic.last_run()
    out = capsys.readouterr().out
    assert "Attachment chart.png (600×400 px): ≈425 tokens (600×400: 85 + 170·2 tiles = 425)" in out
    assert "Attachment photo.png (1024×768 px): ≈765 tokens" in out and "≈$0.001913" in out
    assert run.usage.input_tokens == bare + 1190 == run.input_estimate
    parts = simulator.requests()[-1].messages[0]["content"]
    assert [part["type"] for part in parts] == ["image_url", "image_url", "text"]
    simulator.reset()
    ip.run_cell_magic("opus", "-m 4o --attach manual.pdf", QUESTION)
    assert "gpt-4o takes text and images, not PDFs (manual.pdf)" in one_line(
        capsys.readouterr().err)
    assert simulator.requests() == []


def test_a_second_question_about_a_cached_document_reads_it(native, simulator, folder,
                                                            capsys) -> None:
    native.run_cell_magic("opus", "-m opus --cache 1h --max-tokens 60 --attach manual.pdf",
                          QUESTION)
    first = opus_magic.last_run()
    out = capsys.readouterr().out
    assert "attachments (the breakpoint on the last, manual.pdf) marked" in out
    assert "another question about the same attachments reads them at the cache price" in out
    blocks = simulator.requests()[-1].body["messages"][0]["content"]
    assert blocks[0]["cache_control"] == {"type": "ephemeral", "ttl": "1h"}
    assert first.usage.cache_write_1h_tokens > 3203 and first.cache_breakpoints == ["attachments"]
    native.run_cell_magic("opus", "-m opus --cache 1h --max-tokens 60 --attach manual.pdf",
                          "Which chapters do not?")
    second = opus_magic.last_run()
    assert second.usage.cache_read_tokens == first.usage.cache_write_tokens
    assert second.cost < first.cost


def test_the_dry_run_of_a_200_page_pdf_prices_caching_it(native, simulator, folder,
                                                          capsys) -> None:
    (folder / "book.pdf").write_bytes(pdf_bytes(*[f"Chapter {n}" for n in range(200)]))
    native.run_cell_magic("opus", "-m opus --dry-run --attach book.pdf", QUESTION)
    out = capsys.readouterr().out
    counted = opus_magic.history(limit=1)
    assert counted == []  # nothing recorded
    # Opus 5.5: a Letter page image is 1,599 tokens; $4 a million input, writes 1.25× (5m) or
    # 2× (1h), reads 0.05×: 5m pays from the 2nd question, 1h from the 3rd.
    line = next(line for line in out.splitlines() if "the attachments are" in line)
    tokens = int(line.split("the attachments are ")[1].split(" tokens")[0].replace(",", ""))
    assert 200 * 1599 < tokens < 200 * 1599 + 2000
    assert "Attachment book.pdf (200 pages):" in out and "exact (count_tokens)" in out
    def usd(rate: str, questions: int = 1) -> str:
        return format_usd(Decimal(tokens) * Decimal(rate) * questions / 10**6, estimated=True)

    assert f"{usd('4')} a question uncached, {usd('4', 5)} for 5 questions" in line
    assert (f"cached 5m (--cache 5m): {usd('5')} the first question (a write), then "
            f"{usd('0.2')} each (a read) · {usd('5.8')} for 5 · pays from the 2nd question "
            f"asked within 5 minutes of the last.") in out
    assert (f"cached 1h (--cache 1h): {usd('8')} the first question (a write), then "
            f"{usd('0.2')} each (a read) · {usd('8.8')} for 5 · pays from the 3rd question "
            f"asked within 1 hour of the last.") in out
    assert not [r for r in simulator.requests() if r.api == "anthropic"]


@pytest.fixture
def limits(folder: Path) -> Path:
    """Files that break each limit."""
    (folder / "long.pdf").write_bytes(pdf_bytes(*["page"] * 101))
    (folder / "locked.pdf").write_bytes(encrypted_pdf(pdf_bytes("secret")))
    (folder / "broken.pdf").write_bytes(b"%PDF-1.7\n" + b"\x00garbage" * 50)
    (folder / "archive.docx").write_bytes(b"PK\x03\x04" + b"\x00" * 64)
    (folder / "war.txt").write_text(" ".join(f"w{n}" for n in range(250_000)))
    for n in range(101):
        (folder / f"dot{n}.png").write_bytes(png_bytes(8, 8))
    return folder


@pytest.mark.parametrize("flags, says", [
    ("-m haiku-4.5 --attach long.pdf", "101 PDF pages, over the 100-page cap"),
    ("-m haiku-4.5 " + " ".join(f"--attach dot{n}.png" for n in range(101)),
     "101 images, over the 100 a request"),
    ("-m haiku-4.5 --attach war.txt", "over claude-haiku-4-5's 200,000-token window"),
    ("-m opus-4.6 --attach locked.pdf", "locked.pdf is an encrypted PDF"),
    ("-m opus-4.6 --attach broken.pdf", "broken.pdf is not a readable PDF"),
    ("-m opus-4.6 --attach archive.docx", "archive.docx is a ZIP archive"),
    ("-m opus-4.6 --attach missing.pdf", "missing.pdf: no such file"),
    ("-m opus-4.6 --attach http://example.org/a.png", "plain http"),
])
def test_every_limit_is_refused_in_one_line_and_nothing_is_sent(native, simulator, limits,
                                                                 capsys, flags, says) -> None:
    native.run_cell_magic("opus", flags, QUESTION)
    assert says in one_line(capsys.readouterr().err)
    assert simulator.requests() == []


def test_over_32_mb_a_request_is_refused_unless_uploaded(native, simulator, folder,
                                                         capsys) -> None:
    import io
    import os

    from PIL import Image

    for n in range(4):  # noise does not compress: 8.7 MB each, under Opus 5.5's 2,576 px
        out = io.BytesIO()
        Image.frombytes("RGB", (1700, 1700), os.urandom(1700 * 1700 * 3)).save(out, "PNG")
        (folder / f"noise{n}.png").write_bytes(out.getvalue())
    attach = " ".join(f"--attach noise{n}.png" for n in range(4))
    native.run_cell_magic("opus", f"-m opus {attach}", QUESTION)
    assert "over the 32 MB a request" in one_line(capsys.readouterr().err)
    assert simulator.requests() == []
    native.run_cell_magic("opus", f"-m opus --dry-run --upload {attach}", QUESTION)
    assert "Dry run" in capsys.readouterr().out  # by file_id the request is small


def test_an_image_over_8000_px_is_downscaled_saying_so(native, simulator, folder, capsys) -> None:
    (folder / "banner.png").write_bytes(png_bytes(9000, 300))
    native.run_cell_magic("opus", "-m opus-4.6 --max-tokens 20 --attach banner.png", "What?")
    out = capsys.readouterr().out
    assert "banner.png: downscaled from 9000×300 to 1568×52" in out
    assert opus_magic.last_run().attachments[0].pixels == (1568, 52)


def test_a_figure_and_a_dataframe_attach_from_the_notebook(native, simulator, folder) -> None:
    native.run_cell("import matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\n"
                    "import pandas as pd\nfig, ax = plt.subplots(figsize=(4, 3))\n"
                    "ax.plot([1, 3, 2])\nscores = pd.DataFrame({'a': [1, 2], 'b': [3, 4]})")
    native.run_cell_magic("opus", "-m opus-4.6 --max-tokens 40 --attach fig --attach scores",
                          "Describe both.")
    run = opus_magic.last_run()
    assert [(a.name, a.media_type, a.pixels) for a in run.attachments] == [
        ("fig.png", "image/png", (400, 300)), ("scores.csv", "text/csv", None)]
    image, table = simulator.requests()[-1].body["messages"][0]["content"][:2]
    assert image["type"] == "image" and image["source"]["type"] == "base64"
    assert table["title"] == "scores.csv" and table["source"]["type"] == "text"
    assert table["context"] == "a DataFrame as CSV (2 rows × 2 columns)"
    assert run.text.startswith("I read image 1 (400×300 px) and scores.csv")


def test_the_files_api_path_uploads_once_for_two_cells(native, simulator, folder) -> None:
    endpoint = Endpoint(simulator.base_url, as_secret("sk-test-0123456789abcdef"), "sim",
                        "anthropic")
    for question in (QUESTION, "And which do not?"):
        native.run_cell_magic("opus", "-m opus-4.6 --upload --max-tokens 40 --attach manual.pdf",
                              question)
    [stored] = files.list_files(endpoint)
    runs = opus_magic.history(limit=2)
    assert [r.attachments[0].file_id for r in runs] == [stored.id, stored.id]
    assert runs[0].attachments[0].sha256 == runs[1].attachments[0].sha256
    sources = [r.body["messages"][0]["content"][0]["source"] for r in simulator.requests()
               if r.api == "anthropic"]
    assert sources == [{"type": "file", "file_id": stored.id}] * 2
    files.delete_file(endpoint, stored.id)  # gone: the next cell uploads it again
    new_kernel(native)
    native.run_cell_magic("opus", "-m opus-4.6 --upload --max-tokens 40 --attach manual.pdf",
                          QUESTION)
    [again] = files.list_files(endpoint)
    assert again.id != stored.id and opus_magic.last_run().attachments[0].file_id == again.id


def test_continue_resends_the_document_with_the_turn_it_came_with(native, simulator, folder,
                                                                  capsys) -> None:
    native.run_cell_magic("opus", "-m opus-4.6 --max-tokens 40 --attach manual.pdf", QUESTION)
    parent = opus_magic.last_run()
    native.run_cell_magic("opus", "--continue --max-tokens 40", "And which do not?")
    child = opus_magic.last_run()
    turns = simulator.requests()[-1].body["messages"]
    assert [t["role"] for t in turns] == ["user", "assistant", "user"]
    assert turns[0]["content"][0]["title"] == "manual.pdf"
    assert [a.turn for a in child.attachments] == [0] and child.parent_id == parent.id
    new_kernel(native)  # and the file gone: nothing left to resend
    (folder / "manual.pdf").unlink()
    capsys.readouterr()
    native.run_cell_magic("opus", f"--continue {child.id} --max-tokens 40", "Why?")
    assert "attach it again with --attach" in one_line(capsys.readouterr().err)


def test_kept_attachments_are_resent_from_the_history(native, simulator, folder, capsys) -> None:
    native.run_cell_magic("opus", "-m opus-4.6 --keep-attachments --max-tokens 40 "
                          "--attach chart.png", QUESTION)
    parent = opus_magic.last_run()
    assert opus_magic.history(limit=1)[0].attachments[0].data == (folder / "chart.png").read_bytes()
    new_kernel(native)
    (folder / "chart.png").unlink()
    native.run_cell_magic("opus", f"--continue {parent.id} --max-tokens 40", "And then?")
    assert simulator.requests()[-1].body["messages"][0]["content"][0]["type"] == "image"
    native.run_line_magic("opus", f"show {parent.id}")
    shown = capsys.readouterr().out
    assert "attachment: chart.png · image/png" in shown and "600×400 px · 320 tokens (exact)" in shown
    assert "bytes kept" in shown


def test_a_grid_sends_each_rows_document(native, simulator, folder, capsys) -> None:
    for n in range(3):
        (folder / f"ticket{n}.pdf").write_bytes(pdf_bytes(f"Ticket {n}"))
    native.user_ns["tickets"] = [{"path": f"ticket{n}.pdf", "id": n} for n in range(3)]
    native.run_cell_magic("opus", "--each tickets -m opus-4.6 --max-tokens 20 --attach {path}",
                          "Summarise ticket {id}.")
    titles = sorted(r.body["messages"][0]["content"][0]["title"] for r in simulator.requests()
                    if r.api == "anthropic")
    assert titles == ["ticket0.pdf", "ticket1.pdf", "ticket2.pdf"]
    runs = opus_magic.history(limit=3)
    assert sorted(r.attachments[0].name for r in runs) == titles
    tokens = sum(r.attachments[0].tokens for r in runs)
    assert (f"Attachments: 3 distinct files sent 3 times, ≈{tokens:,} input tokens in all."
            in capsys.readouterr().out)


def test_the_budget_admits_on_the_worst_case_with_the_attachments(native, simulator, folder,
                                                                  capsys) -> None:
    native.run_line_magic("opus", "budget 0.02")
    native.run_cell_magic("opus", "-m opus-4.6 --max-tokens 100 --attach manual.pdf "
                          "--attach photo.png", QUESTION)
    said = one_line(capsys.readouterr().err)
    assert "Over the session budget" in said and "Nothing was sent" in said
    assert not [r for r in simulator.requests() if r.api == "anthropic"]
