"""`load`: every value a notebook can attach, its type sniffed from its bytes, refusals in one line."""
from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
from media_support import encrypted_pdf, jpeg_bytes, pdf_bytes, png_bytes
from PIL import Image

from opus_magic.errors import UsageError
from opus_magic.media import Attachment, load


def refusal(value: object, name: str | None = None) -> str:
    with pytest.raises(UsageError) as caught:
        load(value, name)
    message = str(caught.value)
    assert "\n" not in message and message.endswith((".", ")"))
    return message


def test_a_pdf_path_gives_pages_sizes_text_and_its_hash(tmp_path: Path) -> None:
    path = tmp_path / "manual.pdf"
    path.write_bytes(pdf_bytes("Storage layer", "Query planner", "Index pages"))
    for value in (path, str(path)):
        attachment = load(value)
        assert (attachment.name, attachment.kind, attachment.media_type) == (
            "manual.pdf", "pdf", "application/pdf")
        assert attachment.pages == 3 and attachment.page_sizes == ((612.0, 792.0),) * 3
        assert attachment.text == "Storage layer\nQuery planner\nIndex pages"
        assert attachment.size == path.stat().st_size and len(attachment.sha256 or "") == 64
        assert attachment.dimensions == "3 pages"


def test_types_come_from_the_bytes_not_the_name() -> None:
    misnamed = load(jpeg_bytes(40, 30), "photo.png")
    assert misnamed.media_type == "image/jpeg" and misnamed.pixels == (40, 30)
    assert misnamed.notes == ("named .png but its bytes are image/jpeg",)
    assert load(pdf_bytes("x"), "report.txt").kind == "pdf"
    unnamed = load(png_bytes(10, 20))
    assert (unnamed.name, unnamed.pixels, unnamed.dimensions) == (
        "attachment.png", (10, 20), "10×20 px")


@pytest.mark.parametrize(("name", "media_type"), [
    ("notes.md", "text/markdown"), ("rows.csv", "text/csv"), ("data.json", "application/json"),
    ("model.py", "text/plain"), ("README", "text/plain")])
def test_text_and_code_files_are_text(tmp_path: Path, name: str, media_type: str) -> None:
    path = tmp_path / name
    path.write_text("naïve café, ünïcode ✓\n", encoding="utf-8")
    attachment = load(path)
    assert (attachment.kind, attachment.media_type) == ("text", media_type)
    assert attachment.text == "naïve café, ünïcode ✓\n"


def test_a_pil_image_is_sent_as_png_or_as_the_jpeg_it_was() -> None:
    drawn = load(Image.new("RGBA", (64, 48), (0, 0, 255, 128)), "overlay.png")
    assert (drawn.media_type, drawn.pixels) == ("image/png", (64, 48))
    assert drawn.notes == ("a PIL image, sent as PNG",)
    with Image.open(io.BytesIO(jpeg_bytes(30, 20))) as photo:
        read = load(photo)
    assert (read.name, read.media_type, read.pixels) == ("image.jpg", "image/jpeg", (30, 20))


def test_a_matplotlib_figure_is_a_png_of_its_size() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(4, 3), dpi=100)
    axes.plot([1, 2, 3], [3, 1, 2])
    try:
        attachment = load(figure, "trend.png")
    finally:
        plt.close(figure)
    assert (attachment.kind, attachment.media_type, attachment.pixels) == (
        "image", "image/png", (400, 300))
    assert attachment.notes == ("a matplotlib figure as PNG",)


def test_a_dataframe_is_csv_text_with_its_shape() -> None:
    import pandas as pd

    frame = pd.DataFrame({f"c{i}": range(i, i + 120) for i in range(5)})
    attachment = load(frame, "scores.csv")
    assert (attachment.kind, attachment.media_type) == ("text", "text/csv")
    assert attachment.notes == ("a DataFrame as CSV (120 rows × 5 columns)",)
    lines = (attachment.text or "").splitlines()
    assert lines[0] == "c0,c1,c2,c3,c4" and lines[1] == "0,1,2,3,4" and len(lines) == 121
    named = pd.DataFrame({"v": [1]}, index=pd.Index(["a"], name="key"))
    assert (load(named).text or "").startswith("key,v\na,1") and load(named).name == "dataframe.csv"


def test_an_https_url_is_kept_as_a_url_and_typed_by_its_extension() -> None:
    attachment = load("https://example.org/docs/manual.pdf?v=2")
    assert (attachment.name, attachment.kind, attachment.url, attachment.data) == (
        "manual.pdf", "pdf", "https://example.org/docs/manual.pdf?v=2", None)
    assert load("https://example.org/a/chart.webp").media_type == "image/webp"


def test_an_attachment_passes_through_and_needs_a_source() -> None:
    attachment = load(png_bytes(2, 2))
    assert load(attachment) is attachment
    with pytest.raises(ValueError, match="data, a url or a file_id"):
        Attachment(name="x", media_type="image/png", kind="image")


def test_every_bad_input_is_refused_in_one_line(tmp_path: Path) -> None:
    assert "no such file" in refusal(tmp_path / "missing.pdf")
    assert "is a folder" in refusal(tmp_path)
    assert "a ZIP archive" in refusal(b"PK\x03\x04" + b"\x00" * 40, "report.docx")
    assert "not a PDF, a PNG/JPEG/GIF/WebP image or UTF-8 text" in refusal(b"\x00\x01\xfe" * 9)
    assert "encrypted PDF" in refusal(encrypted_pdf(pdf_bytes("secret plans")), "plans.pdf")
    assert "not a readable PDF" in refusal(b"%PDF-1.7\ngarbage that is no PDF", "broken.pdf")
    assert "not a readable image" in refusal(b"\x89PNG\r\n\x1a\n" + b"\x00" * 30, "cut.png")
    assert "only https:// URLs" in refusal("http://example.org/a.png")
    assert "Cannot tell what" in refusal("https://example.org/download?id=7")
    assert "Cannot attach a dict" in refusal({"a": 1})


def test_loading_imports_no_plotting_or_dataframe_library() -> None:
    code = ("import sys, opus_magic.media as m; m.load(b'plain text'); "
            "print('matplotlib' in sys.modules, 'pandas' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
