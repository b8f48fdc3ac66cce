"""Attachments in requests to the simulator, read and counted by the client's own rules.

Each `image` and `document` block of a Messages request, and each `image_url` or `file` part of a
chat request, is read with opus_magic.media (type sniffed, PDF pages and text, image size),
checked against the same limits (a broken one is a 400) and counted by the same estimates, text
counted as the simulator counts all text (tiktoken, no estimate ratio). Resolving replaces each
with a light copy carrying its tokens, name and size (`sim_tokens`, `sim_name`, `sim_size`), so
counting, caching and the answer read it without decoding again and the log holds no base64.
Nothing is fetched: an image by URL counts as its rule's most, a PDF by URL as one page image.
"""
from __future__ import annotations

import base64
import binascii
import dataclasses
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, Protocol

from opus_magic.cost.catalog import default_catalog
from opus_magic.cost.model_info import ModelInfo
from opus_magic.cost.tokens import encoding_for
from opus_magic.errors import UsageError
from opus_magic.media import Attachment, Estimator, limits_for, load
from opus_magic.media.limits import check
from opus_magic.media.loaders import from_bytes
from opus_magic.media.rules import Claude

TOKENS, NAME, SIZE = "sim_tokens", "sim_name", "sim_size"
BLOCKS = ("image", "document")
PARTS = ("image_url", "file")
URL_PDF_TOKENS = Claude().max_tokens


class AttachmentProblem(ValueError):
    """An attachment the API would refuse; answered with HTTP 400 and this message."""


class Files(Protocol):
    """Where `file` sources are looked up: stored files with `data` and `filename`, or None."""

    def get(self, file_id: str) -> Any: ...


def resolved(body: Any, files: Files) -> Any:
    """A Messages body with each image and document block replaced by its light, counted copy
    (the body itself when it holds none); AttachmentProblem for one the API would refuse."""
    if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
        return body
    model = str(body.get("model") or "")
    found: list[tuple[Attachment, str]] = []

    def light(block: dict[str, Any]) -> dict[str, Any]:
        same = sum(1 for a, _ in found if (a.kind == "image") == (block["type"] == "image"))
        attachment = _from_block(block, files, same + 1)
        found.append((attachment, "auto"))
        rest = {k: v for k, v in block.items() if k != "source"}
        return {**rest, "source": _fingerprint(block["source"], attachment)}

    messages = [_replaced(m, BLOCKS, light) for m in body["messages"]]
    return {**body, "messages": _counted(messages, found, model)} if found else body


def resolved_chat(messages: list[dict[str, Any]], model: str) -> list[dict[str, Any]]:
    """Chat messages with each image_url and file part replaced by its light, counted copy."""
    found: list[tuple[Attachment, str]] = []

    def light(part: dict[str, Any]) -> dict[str, Any]:
        same = sum(1 for a, _ in found if (a.kind == "image") == (part["type"] == "image_url"))
        attachment, detail = _from_part(part, same + 1)
        found.append((attachment, detail))
        return {"type": part["type"], "sha256": attachment.sha256 or attachment.url}

    replaced = [_replaced(m, PARTS, light) for m in messages]
    return _counted(replaced, found, model) if found else messages


def carried_tokens(message: dict[str, Any]) -> int:
    """The attachment tokens a resolved message carries."""
    content = message.get("content")
    if not isinstance(content, list):
        return 0
    return sum(int(part.get(TOKENS, 0)) for part in content if isinstance(part, dict))


def opening(messages: Sequence[dict[str, Any]], model: str) -> tuple[str, ...]:
    """The answer's first words, naming each attachment and its size (pages, pixels, chars),
    as one-token pieces of the model's encoding."""
    named = [f"{part[NAME]} ({part[SIZE]})" for message in messages
             if isinstance(message.get("content"), list)
             for part in message["content"] if isinstance(part, dict) and NAME in part]
    if not named:
        return ()
    sentence = f"I read {', '.join(named[:-1])}{' and ' if len(named) > 1 else ''}{named[-1]}.\n\n"
    return _pieces(sentence, model)


def _info(model: str) -> ModelInfo | None:
    return default_catalog().get(model) if model else None


def _counted(messages: list[dict[str, Any]], found: list[tuple[Attachment, str]],
             model: str) -> list[dict[str, Any]]:
    """Check the attachments against the model's limits, then write each one's tokens."""
    info = _info(model)
    estimator = Estimator.for_model(info, model or "claude", text_ratio=Decimal(1))
    estimates = [dataclasses.replace(estimator, detail=detail).estimate(a) for a, detail in found]
    try:
        check([a for a, _ in found], estimates, info, model, limits_for(info))
    except UsageError as exc:
        raise AttachmentProblem(str(exc)) from None
    counts = iter(URL_PDF_TOKENS if e.tokens is None else e.tokens for e in estimates)
    sizes = iter(a.dimensions for a, _ in found)
    names = iter(a.name for a, _ in found)

    def mark(part: dict[str, Any]) -> dict[str, Any]:
        return {**part, TOKENS: next(counts), NAME: next(names), SIZE: next(sizes)}

    return [_replaced(m, BLOCKS + PARTS, mark) for m in messages]


def _replaced(message: Any, types: tuple[str, ...], change: Any) -> Any:
    content = message.get("content") if isinstance(message, dict) else None
    if not isinstance(content, list):
        return message
    return {**message, "content": [change(part) if isinstance(part, dict)
                                   and part.get("type") in types else part for part in content]}


def _from_block(block: dict[str, Any], files: Files, number: int) -> Attachment:
    kind, source = block["type"], block.get("source")
    if not isinstance(source, dict):
        raise AttachmentProblem(f"{kind}.source: Field required")
    name = str(block.get("title") or f"{kind} {number}")
    way = source.get("type")
    try:
        if way == "base64":
            attachment = _declared(from_bytes(_decoded(source.get("data"), kind), name),
                                   source.get("media_type"), kind)
        elif way == "url":
            attachment = _by_url(source.get("url"), kind, name if block.get("title") else None)
        elif way == "file":
            stored = files.get(str(source.get("file_id") or ""))
            if stored is None:
                raise AttachmentProblem(f"{kind}.source.file_id: file not found: "
                                        f"{source.get('file_id')} (deleted, or never uploaded)")
            attachment = from_bytes(stored.data, str(block.get("title") or stored.filename)
                                    ).with_file_id(str(source["file_id"]))
        elif way == "text" and kind == "document":
            text = str(source.get("data") or "")
            if not text:
                raise AttachmentProblem(f"{kind}.source.data: the text is empty")
            attachment = from_bytes(text.encode(), name)
        else:
            raise AttachmentProblem(f"{kind}.source.type: '{way}' is not a source this "
                                    f"simulator takes (base64, url, file, text)")
    except UsageError as exc:
        raise AttachmentProblem(f"{kind}: {exc}") from None
    if (attachment.kind == "image") != (kind == "image"):
        raise AttachmentProblem(f"{kind}: a {kind} block cannot hold {attachment.media_type}")
    return attachment


def _from_part(part: dict[str, Any], number: int) -> tuple[Attachment, str]:
    try:
        if part["type"] == "image_url":
            image = part.get("image_url")
            image = image if isinstance(image, dict) else {"url": image}
            url, detail = str(image.get("url") or ""), str(image.get("detail") or "auto")
            if url.startswith("data:"):
                media_type, _, data = url[5:].partition(";base64,")
                return _declared(from_bytes(_decoded(data, "image_url"), f"image {number}"),
                                 media_type, "image"), detail
            return _by_url(url, "image", None), detail
        file = part.get("file") if isinstance(part.get("file"), dict) else {}
        media_type, _, data = str(file.get("file_data") or "").removeprefix("data:").partition(
            ";base64,")
        name = str(file.get("filename") or f"file {number}")
        return _declared(from_bytes(_decoded(data, "file"), name), media_type, "pdf"), "auto"
    except UsageError as exc:
        raise AttachmentProblem(f"{part['type']}: {exc}") from None


def _decoded(data: Any, where: str) -> bytes:
    try:
        decoded = base64.b64decode(str(data or ""), validate=True)
    except (binascii.Error, ValueError):
        raise AttachmentProblem(f"{where}.source.data: invalid base64 data") from None
    if not decoded:
        raise AttachmentProblem(f"{where}.source.data: the data is empty")
    return decoded


def _declared(attachment: Attachment, media_type: Any, kind: str) -> Attachment:
    if attachment.media_type != media_type:
        raise AttachmentProblem(f"{kind}: the data is {attachment.media_type}, which does not "
                                f"match the provided media type {media_type}")
    return attachment


def _by_url(url: Any, kind: str, name: str | None) -> Attachment:
    url = str(url or "")
    if not url.startswith("https://"):
        raise AttachmentProblem(f"{kind}.source.url: only https URLs can be fetched")
    try:
        return load(url, name)
    except UsageError:  # no telling extension: what the block says it is
        media_type = "image/png" if kind == "image" else "application/pdf"
        return Attachment(name=name or url, media_type=media_type,
                          kind="image" if kind == "image" else "pdf", url=url)


def _fingerprint(source: dict[str, Any], attachment: Attachment) -> dict[str, Any]:
    key = attachment.sha256 or attachment.url or attachment.file_id or ""
    return {"type": source.get("type"), "sha256": key}


def _pieces(text: str, model: str) -> tuple[str, ...]:
    """Text as the model's encoding splits it, one token a piece (bytes of a character split
    across tokens are kept together)."""
    encoding = encoding_for(model)
    pieces: list[str] = []
    pending = b""
    for token in encoding.encode(text, disallowed_special=()):
        pending += encoding.decode_single_token_bytes(token)
        try:
            pieces.append(pending.decode("utf-8"))
            pending = b""
        except UnicodeDecodeError:
            continue
    return tuple(pieces)

