"""Attachments on the wire: Messages blocks, OpenAI parts, and the Files API client over HTTP."""
from __future__ import annotations

import base64
import dataclasses

import pytest
from media_support import pdf_bytes, png_bytes

from opus_magic.errors import RequestError, UsageError
from opus_magic.media import load
from opus_magic.secret import as_secret
from opus_magic.wire.anthropic import files
from opus_magic.wire.body.attachments import (
    messages_block,
    messages_content,
    openai_content,
    openai_part,
    with_breakpoint,
)
from opus_magic.wire.endpoints import Endpoint

KEY = "sk-ant-test-files-0123456789"
PNG = png_bytes(30, 20)
PDF = pdf_bytes("Storage layer")


def test_messages_content_puts_attachments_first_and_caches_the_last_one() -> None:
    image, manual = load(PNG, "chart.png"), load(PDF, "manual.pdf")
    notes = load(b"# Notes\nPages are 8 KB.\n", "notes.md")
    content = messages_content([image, manual, notes], "Which chapters?", ttl="1h")
    assert [block["type"] for block in content] == ["image", "document", "document", "text"]
    assert content[0]["source"] == {"type": "base64", "media_type": "image/png",
                                    "data": base64.b64encode(PNG).decode()}
    assert content[1]["source"]["media_type"] == "application/pdf"
    assert content[1]["title"] == "manual.pdf" and "cache_control" not in content[1]
    assert content[2]["source"] == {"type": "text", "media_type": "text/plain",
                                    "data": "# Notes\nPages are 8 KB.\n"}
    assert content[2]["cache_control"] == {"type": "ephemeral", "ttl": "1h"}
    assert content[3] == {"type": "text", "text": "Which chapters?"}
    assert "cache_control" not in messages_content([image], "x")[0]


def test_url_and_file_sources_and_a_dataframes_context() -> None:
    by_url = messages_block(load("https://example.org/manual.pdf"))
    assert by_url["source"] == {"type": "url", "url": "https://example.org/manual.pdf"}
    stored = messages_block(load(PNG, "chart.png").with_file_id("file_011"))
    assert stored == {"type": "image", "source": {"type": "file", "file_id": "file_011"}}
    import pandas as pd

    frame = messages_block(load(pd.DataFrame({"a": [1, 2]}), "scores.csv"))
    assert frame["context"] == "a DataFrame as CSV (2 rows × 1 column)"


def test_the_breakpoint_goes_on_the_last_attachment_block_only() -> None:
    blocks = [{"type": "image"}, {"type": "document"}, {"type": "text", "text": "q"}]
    marked = with_breakpoint(blocks, "5m")
    assert marked[1]["cache_control"] == {"type": "ephemeral", "ttl": "5m"}
    assert "cache_control" not in marked[0] and "cache_control" not in marked[2]
    assert "cache_control" not in blocks[1]  # the caller's blocks are left alone


def test_openai_parts_and_what_chat_completions_cannot_carry() -> None:
    image = load(PNG, "chart.png")
    parts = openai_content([image, load(b"a,b\n1,2\n", "t.csv")], "Describe.", detail="low")
    assert parts[0] == {"type": "image_url", "image_url": {
        "url": "data:image/png;base64," + base64.b64encode(PNG).decode(), "detail": "low"}}
    assert parts[1] == {"type": "text", "text": "--- t.csv ---\na,b\n1,2\n"}
    assert parts[2] == {"type": "text", "text": "Describe."}
    assert openai_part(load("https://example.org/a.jpg"))["image_url"]["url"] == (
        "https://example.org/a.jpg")
    with pytest.raises(UsageError, match="takes no PDF as a file"):
        openai_part(load(PDF, "manual.pdf"))
    with pytest.raises(UsageError, match="takes no PDF by URL"):
        openai_part(load("https://example.org/manual.pdf"), pdf_files=True)
    with pytest.raises(UsageError, match="Anthropic file_id"):
        openai_part(image.with_file_id("file_011"))
    pdf_part = openai_part(load(PDF, "manual.pdf"), pdf_files=True)
    assert pdf_part["file"]["filename"] == "manual.pdf"
    assert pdf_part["file"]["file_data"].text().startswith("data:application/pdf;base64,JVBERi")


@pytest.fixture
def endpoint(simulator) -> Endpoint:
    return Endpoint(simulator.base_url, as_secret(KEY), "sim", "anthropic")


def test_the_files_api_headers_carry_the_key_version_and_beta(endpoint) -> None:
    sent = files.files_headers(endpoint)
    assert sent["anthropic-beta"] == "files-api-2025-04-14"
    assert sent["x-api-key"] == KEY and sent["anthropic-version"]


def test_upload_list_get_delete_over_http(endpoint) -> None:
    manual = files.uploaded(endpoint, load(PDF, "manual.pdf"))
    notes = files.upload(endpoint, load(b"plain notes\n", "notes.md"))
    assert manual.file_id and manual.data == PDF  # kept for counting
    stored = files.get_file(endpoint, manual.file_id)
    assert (stored.filename, stored.mime_type, stored.size_bytes, stored.downloadable) == (
        "manual.pdf", "application/pdf", len(PDF), False)
    assert notes.mime_type == "text/plain"
    assert [f.id for f in files.list_files(endpoint)] == [notes.id, manual.file_id]
    assert files.delete_file(endpoint, manual.file_id) == manual.file_id
    assert [f.id for f in files.list_files(endpoint)] == [notes.id]


def test_listing_follows_pages(endpoint, monkeypatch) -> None:
    monkeypatch.setattr(files, "PAGE", 2)
    ids = [files.upload(endpoint, load(f"file {i}\n".encode(), f"f{i}.txt")).id for i in range(5)]
    assert [f.id for f in files.list_files(endpoint)] == ids[::-1]


def test_file_errors_are_explained_in_one_line_without_the_key(endpoint, simulator) -> None:
    stored = files.upload(endpoint, load(PNG, "chart.png"))
    files.delete_file(endpoint, stored.id)
    for call in (files.delete_file, files.get_file):
        with pytest.raises(RequestError) as caught:
            call(endpoint, stored.id)
        message = str(caught.value)
        assert caught.value.status == 404 and "\n" not in message and KEY not in message
        assert message.startswith(f"HTTP 404: No file {stored.id} is stored (deleted already")
        assert "request-id req_sim" in message
    simulator.files(max_bytes=100)
    with pytest.raises(RequestError, match=r"^HTTP 413: The file is over what the Files API"):
        files.upload(endpoint, load(PNG, "chart.png"))


def test_what_cannot_be_uploaded_is_refused_before_sending(endpoint) -> None:
    with pytest.raises(UsageError, match="has no bytes here to upload"):
        files.upload(endpoint, load("https://example.org/a.png"))
    huge = dataclasses.replace(load(PNG, "chart.png"), size=600_000_000)
    with pytest.raises(UsageError, match="over the 500 MB"):
        files.upload(endpoint, huge)
