"""The simulator's attachments over real HTTP: blocks and parts counted by the client's rules,
answered by name, its Files API and its errors (raw httpx2 and the official anthropic SDK)."""
from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx2
import pytest
from media_support import encrypted_pdf, jpeg_bytes, pdf_bytes, png_bytes

MANUAL = pdf_bytes("Storage layer", "Storage layer")  # 2 Letter pages: 3,203 tokens (see below)
CHART = png_bytes(600, 400)
PHOTO = png_bytes(4000, 3000)
HEADERS = {"x-api-key": "sk-ant-test-0123456789", "anthropic-version": "2023-06-01"}
QUESTION = {"type": "text", "text": "Which chapters depend on the storage layer?"}


@pytest.fixture
def http(simulator) -> Iterator[httpx2.Client]:
    with httpx2.Client(base_url=simulator.base_url.removesuffix("/v1"), headers=HEADERS,
                       timeout=30) as client:
        yield client


@pytest.fixture
def sdk(simulator) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=simulator.base_url.removesuffix("/v1"),
                               api_key="sk-ant-test-0123456789", max_retries=0)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def image(data: bytes, media_type: str = "image/png") -> dict[str, Any]:
    return {"type": "image", "source": {"type": "base64", "media_type": media_type,
                                        "data": b64(data)}}


def document(data: bytes, title: str = "manual.pdf") -> dict[str, Any]:
    return {"type": "document", "title": title, "source": {
        "type": "base64", "media_type": "application/pdf", "data": b64(data)}}


def ask(*blocks: dict[str, Any], model: str = "claude-opus-4-6") -> dict[str, Any]:
    return {"model": model, "max_tokens": 300,
            "messages": [{"role": "user", "content": [*blocks, QUESTION]}]}


def counted(http: httpx2.Client, body: dict[str, Any]) -> int:
    fields = {k: v for k, v in body.items() if k != "max_tokens"}
    response = http.post("/v1/messages/count_tokens", json=fields)
    assert response.status_code == 200, response.text
    return response.json()["input_tokens"]


def test_blocks_are_counted_by_the_clients_rules_and_answered_by_name(http) -> None:
    # On claude-opus-4-6 (the 1,568-px rule): each Letter page 1275×1650 px at 150 DPI fits to
    # 962×1246, 1,599 tokens, plus the 5 tokens of its text: 2·1,599 + 5 = 3,203; the chart
    # 600×400 is 240,000/750 = 320; the photo 4000×3000, sent unfitted, is counted as the API
    # would fit it: 1264×948, 1,598. Together 3,203 + 320 + 1,598 = 5,121.
    bare = counted(http, ask())
    assert counted(http, ask(document(MANUAL))) - bare == 3203
    assert counted(http, ask(image(CHART))) - bare == 320
    body = ask(document(MANUAL), image(CHART), image(PHOTO))
    assert counted(http, body) - bare == 5121
    answer = http.post("/v1/messages", json=body).json()
    assert answer["usage"]["input_tokens"] == bare + 5121
    assert answer["content"][0]["text"].startswith(
        "I read manual.pdf (2 pages), image 1 (600×400 px) and image 2 (4000×3000 px).")


def test_a_cached_document_is_read_back_at_its_count(http) -> None:
    marked = {**document(MANUAL), "cache_control": {"type": "ephemeral", "ttl": "1h"}}
    # claude-opus-5-5 caches prefixes from 512 tokens; its page images follow the legacy rule.
    first = http.post("/v1/messages", json=ask(marked, model="claude-opus-5-5")).json()["usage"]
    second = http.post("/v1/messages", json=ask(marked, model="claude-opus-5-5")).json()["usage"]
    assert first["cache_creation"]["ephemeral_1h_input_tokens"] == 3203 + 3  # + message framing
    assert second["cache_read_input_tokens"] == 3203 + 3 and second["cache_creation_input_tokens"] == 0


def test_text_documents_and_image_urls(http) -> None:
    text = {"type": "document", "title": "notes.md",
            "source": {"type": "text", "media_type": "text/plain", "data": "Pages are 8 KB."}}
    url = {"type": "image", "source": {"type": "url", "url": "https://example.org/chart.png"}}
    bare = counted(http, ask())
    assert counted(http, ask(text)) - bare == 6  # "Pages are 8 KB." in cl100k
    assert counted(http, ask(url)) - bare == 1600  # not fetched: the rule's most
    answer = http.post("/v1/messages", json=ask(text, url)).json()["content"][0]["text"]
    assert answer.startswith("I read notes.md (15 chars) and chart.png (size unknown).")


@pytest.mark.parametrize(("block", "said"), [
    ({"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "%%%"}},
     "invalid base64"),
    (image(jpeg_bytes(20, 20)), "does not match the provided media type image/png"),
    (document(encrypted_pdf(MANUAL)), "encrypted PDF"),
    (image(png_bytes(8100, 10)), "over the 8,000 px a side"),
    ({"type": "image", "source": {"type": "url", "url": "http://example.org/a.png"}},
     "only https URLs"),
    ({"type": "document", "source": {"type": "file", "file_id": "file_nope"}},
     "file not found: file_nope"),
])
def test_what_the_api_refuses_is_a_400(http, block, said) -> None:
    for path in ("/v1/messages", "/v1/messages/count_tokens"):
        response = http.post(path, json=ask(block))
        assert response.status_code == 400
        error = response.json()["error"]
        assert error["type"] == "invalid_request_error" and said in error["message"]


def test_openai_image_parts_are_counted_by_tiles_and_pdfs_refused(http) -> None:
    # gpt-4o: the photo fits to 1024×768, 4 tiles: 85 + 170·4 = 765; the chart 600×400,
    # 2 tiles: 85 + 170·2 = 425; `detail: low` is 85.
    def chat(*parts: dict[str, Any]) -> httpx2.Response:
        return http.post("/v1/chat/completions", json={"model": "gpt-4o", "messages": [
            {"role": "user", "content": [*parts, {"type": "text", "text": "Describe them."}]}]})

    def part(data: bytes, detail: str = "auto") -> dict[str, Any]:
        return {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{b64(data)}",
                                                   "detail": detail}}

    bare = chat().json()["usage"]["prompt_tokens"]
    answer = chat(part(PHOTO), part(CHART)).json()
    assert answer["usage"]["prompt_tokens"] - bare == 765 + 425
    assert answer["choices"][0]["message"]["content"].startswith(
        "I read image 1 (4000×3000 px) and image 2 (600×400 px).")
    assert chat(part(PHOTO, "low")).json()["usage"]["prompt_tokens"] - bare == 85
    pdf = {"type": "file", "file": {"filename": "manual.pdf",
                                    "file_data": f"data:application/pdf;base64,{b64(MANUAL)}"}}
    refused = chat(pdf)
    assert refused.status_code == 400
    assert "gpt-4o takes text and images, not PDFs" in refused.json()["error"]["message"]


def upload(http: httpx2.Client, data: bytes, name: str) -> httpx2.Response:
    return http.post("/v1/files", files={"file": (name, data, "application/octet-stream")},
                     headers={"anthropic-beta": "files-api-2025-04-14"})


def test_the_files_api_over_raw_http(http, simulator) -> None:
    stored = upload(http, MANUAL, "manual.pdf").json()
    assert (stored["type"], stored["filename"], stored["mime_type"], stored["size_bytes"],
            stored["downloadable"]) == ("file", "manual.pdf", "application/pdf", len(MANUAL), False)
    second = upload(http, CHART, "chart.png").json()
    listing = http.get("/v1/files", params={"limit": 1}).json()
    assert [f["id"] for f in listing["data"]] == [second["id"]] and listing["has_more"]
    rest = http.get("/v1/files", params={"after_id": listing["last_id"]}).json()
    assert [f["id"] for f in rest["data"]] == [stored["id"]] and not rest["has_more"]
    assert http.get(f"/v1/files/{stored['id']}").json() == stored
    assert http.get(f"/v1/files/{stored['id']}/content").status_code == 400
    assert http.delete(f"/v1/files/{stored['id']}").json() == {"id": stored["id"],
                                                              "type": "file_deleted"}
    for again in (http.delete, http.get):
        gone = again(f"/v1/files/{stored['id']}")
        assert gone.status_code == 404 and gone.json()["error"]["type"] == "not_found_error"
    by_id = {"type": "document", "source": {"type": "file", "file_id": stored["id"]}}
    refused = http.post("/v1/messages", json=ask(by_id))
    assert refused.status_code == 400 and "file not found" in refused.json()["error"]["message"]
    simulator.files(max_bytes=1000)
    too_big = upload(http, MANUAL, "manual.pdf")
    assert too_big.status_code == 413 and too_big.json()["error"]["type"] == "request_too_large"
    empty = http.post("/v1/files", data={"purpose": "x"}, files={"other": ("a", b"", "x/y")})
    assert empty.status_code == 400


def test_openai_batch_files_on_the_same_path_are_left_alone(simulator) -> None:
    with httpx2.Client(base_url=simulator.base_url.removesuffix("/v1"), timeout=30) as plain:
        stored = plain.post("/v1/files", data={"purpose": "batch"},
                            files={"file": ("in.jsonl", b"{}\n", "application/jsonl")}).json()
    assert stored["object"] == "file" and stored["purpose"] == "batch"


def test_the_official_sdk_uploads_lists_uses_and_deletes_a_file(sdk) -> None:
    stored = sdk.files.upload(file=("manual.pdf", MANUAL, "application/pdf"))
    assert [f.id for f in sdk.files.list()] == [stored.id]
    assert sdk.files.retrieve_metadata(stored.id).size_bytes == len(MANUAL)
    by_id = {"type": "document", "source": {"type": "file", "file_id": stored.id}}
    inline = sdk.messages.count_tokens(**{k: v for k, v in ask(document(MANUAL)).items()
                                          if k != "max_tokens"})
    answer = sdk.messages.create(**ask(by_id))
    assert answer.usage.input_tokens == inline.input_tokens  # the same bytes, the same count
    assert answer.content[0].text.startswith("I read manual.pdf (2 pages).")
    assert sdk.files.delete(stored.id).type == "file_deleted"
    with pytest.raises(anthropic.NotFoundError):
        sdk.files.delete(stored.id)
    with pytest.raises(anthropic.BadRequestError, match="file not found"):
        sdk.messages.create(**ask(by_id))
