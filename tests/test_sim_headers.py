"""The simulator's Messages API refuses what Anthropic refuses by its headers alone."""
from __future__ import annotations

import anthropic
import httpx2
import pytest

KEY = {"x-api-key": "sk-ant-test"}
VERSION = {"anthropic-version": "2023-06-01"}
BODY = {"model": "claude-haiku-4-5", "max_tokens": 50,
        "messages": [{"role": "user", "content": "Hello"}]}


def root(simulator) -> str:
    return simulator.base_url.removesuffix("/v1")


@pytest.mark.parametrize("path", ["/v1/messages", "/v1/messages/count_tokens",
                                  "/v1/messages/batches"])
def test_no_version_header_is_a_400_saying_so(simulator, path) -> None:
    body = {"requests": [{"custom_id": "a", "params": BODY}]} if "batches" in path else BODY
    response = httpx2.post(root(simulator) + path, json=body, headers=KEY)
    assert response.status_code == 400
    assert response.json()["type"] == "error"
    assert response.json()["error"] == {"type": "invalid_request_error",
                                        "message": "anthropic-version: header is required"}
    assert response.headers["request-id"].startswith("req_sim")


@pytest.mark.parametrize(("method", "path"), [
    ("POST", "/v1/messages"), ("POST", "/v1/messages/count_tokens"),
    ("GET", "/v1/messages/batches"), ("GET", "/v1/messages/batches/msgbatch_x"),
    ("GET", "/v1/files")])
def test_no_key_is_a_401_authentication_error(simulator, method, path) -> None:
    headers = {**VERSION, "anthropic-beta": "files-api-2025-04-14"}
    response = httpx2.request(method, root(simulator) + path, headers=headers,
                              json=BODY if method == "POST" else None)
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "authentication_error"


def test_a_misspelled_header_name_fails_as_on_the_real_api(simulator) -> None:
    response = httpx2.post(root(simulator) + "/v1/messages", json=BODY,
                           headers={**KEY, "anthropic_version": "2023-06-01"})
    assert response.status_code == 400 and "anthropic-version" in response.text
    response = httpx2.post(root(simulator) + "/v1/messages", json=BODY,
                           headers={**KEY, "anthropic-version": "2023-6-1"})
    assert response.status_code == 400 and "2023-6-1" in response.text
    assert [entry.status for entry in simulator.requests()] == [400, 400]


@pytest.mark.parametrize("auth", [KEY, {"Authorization": "Bearer sk-ant-test"}])
def test_either_key_header_with_a_version_is_answered(simulator, auth) -> None:
    response = httpx2.post(root(simulator) + "/v1/messages", json=BODY, headers={**auth, **VERSION})
    assert response.status_code == 200 and response.json()["type"] == "message"


def test_the_sdk_maps_the_refusals_to_its_exceptions(simulator) -> None:
    keyless = anthropic.Anthropic(base_url=root(simulator), api_key="sk-ant-test", max_retries=0,
                                  default_headers={"Authorization": anthropic.Omit()})
    with pytest.raises(anthropic.AuthenticationError, match="x-api-key header is required"):
        keyless.messages.create(**BODY)
    versionless = anthropic.Anthropic(base_url=root(simulator), api_key="sk-ant-test",
                                      max_retries=0,
                                      default_headers={"anthropic-version": anthropic.Omit()})
    with pytest.raises(anthropic.BadRequestError, match="anthropic-version"):
        versionless.messages.create(**BODY)


def test_openai_routes_and_openai_file_uploads_need_no_anthropic_header(simulator) -> None:
    chat = httpx2.post(simulator.base_url + "/chat/completions",
                       json={"model": "gpt-4o-mini", "messages": BODY["messages"]})
    assert chat.status_code == 200
    files = httpx2.get(simulator.base_url + "/files/file-nothing",
                       headers={"Authorization": "Bearer sk-test"})
    assert files.status_code == 404
