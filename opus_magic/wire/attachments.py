"""Attachments as wire content: Messages `image`/`document` blocks and OpenAI content parts.

Messages (Anthropic's vision, PDF and Files API pages): an image is `{"type": "image", "source"}`
and a PDF or a text file a `{"type": "document", "source", "title"}`, the source being base64
bytes, an https `url`, or a `file` id; a text file's source is `{"type": "text", "media_type":
"text/plain", "data"}` (a document, not a bare text block, so it keeps its title and can be
cited). OpenAI chat completions: an image is an `image_url` part (a data URL or an https
URL, with `detail`), a text file a text part; a PDF only where the endpoint takes `file` parts.
Attachments come first and the cell's text last, as Anthropic advises for long documents.
Base64 bytes are `Encoded` values, written out only as the body is sent (wire/payload.py).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from opus_magic.errors import UsageError
from opus_magic.wire.payload import Encoded

if TYPE_CHECKING:  # a body without attachments loads none of their code
    from opus_magic.media.attachment import Attachment

Block = dict[str, Any]
Turns = Sequence[Sequence["Attachment"]]  # the attachments of each user turn, in order


def cache_control(ttl: str) -> dict[str, str]:
    """A Messages cache breakpoint with its lifetime ("5m" or "1h")."""
    return {"type": "ephemeral", "ttl": ttl}


def messages_source(attachment: Attachment) -> Block:
    """Where a Messages block finds the content: an uploaded file, a URL, or the bytes."""
    if attachment.file_id is not None:
        return {"type": "file", "file_id": attachment.file_id}
    if attachment.url is not None:
        return {"type": "url", "url": attachment.url}
    if attachment.kind == "text":
        return {"type": "text", "media_type": "text/plain", "data": attachment.text or ""}
    assert attachment.data is not None
    return {"type": "base64", "media_type": attachment.media_type,
            "data": Encoded(attachment.data, key=attachment.sha256 or "")}


def messages_block(attachment: Attachment) -> Block:
    """The Messages block of one attachment: an image, or a titled document."""
    if attachment.kind == "image":
        return {"type": "image", "source": messages_source(attachment)}
    block: Block = {"type": "document", "source": messages_source(attachment),
                    "title": attachment.name}
    described = [note for note in attachment.notes if note.startswith("a DataFrame")]
    if described:
        block["context"] = described[0]
    return block


def messages_content(attachments: Sequence[Attachment], text: str,
                     ttl: str | None = None) -> list[Block]:
    """A user turn's content: the attachments, then the text; with `ttl` ("5m" or "1h") the
    cache breakpoint sits on the last attachment, so asking again reads them from the cache."""
    blocks = [messages_block(a) for a in attachments]
    if ttl is not None:
        blocks = with_breakpoint(blocks, ttl)
    return [*blocks, {"type": "text", "text": text}]


def with_breakpoint(blocks: Sequence[Block], ttl: str = "5m") -> list[Block]:
    """The blocks with `cache_control` on the last image or document block (others unchanged)."""
    out = list(blocks)
    for index in range(len(out) - 1, -1, -1):
        if out[index].get("type") in ("image", "document"):
            out[index] = {**out[index], "cache_control": cache_control(ttl)}
            break
    return out


def openai_part(attachment: Attachment, detail: str = "auto", pdf_files: bool = False) -> Block:
    """The chat-completions part of one attachment; a one-line UsageError where the API cannot
    carry it (a file_id, a PDF where the endpoint takes no files, a PDF by URL)."""
    if attachment.file_id is not None:
        raise UsageError(f"{attachment.name} is referenced by an Anthropic file_id, which an "
                         f"OpenAI-compatible endpoint cannot read: attach it inline.")
    if attachment.kind == "text":
        return {"type": "text", "text": f"--- {attachment.name} ---\n{attachment.text or ''}"}
    if attachment.kind == "image":
        url = attachment.url or _data_url(attachment)
        return {"type": "image_url", "image_url": {"url": url, "detail": detail}}
    if not pdf_files or attachment.data is None:
        how = "by URL" if attachment.url else "as a file"
        raise UsageError(f"{attachment.name}: this chat-completions endpoint takes no PDF "
                         f"{how}: attach its text, or use a Claude model on the Messages API.")
    return {"type": "file", "file": {"filename": attachment.name,
                                     "file_data": _data_url(attachment)}}


def openai_content(attachments: Sequence[Attachment], text: str, detail: str = "auto",
                   pdf_files: bool = False) -> list[Block]:
    """A user message's content parts: the attachments, then the text."""
    parts = [openai_part(a, detail, pdf_files) for a in attachments]
    return [*parts, {"type": "text", "text": text}]


def _data_url(attachment: Attachment) -> Encoded:
    assert attachment.data is not None
    return Encoded(attachment.data, f"data:{attachment.media_type};base64,",
                   attachment.sha256 or "")


def messages_turns(turns: Sequence[Block], attachments: Turns,
                   ttl: str | None = None) -> list[Block]:
    """Messages turns with each user turn's attachments before its text; with `ttl` the cache
    breakpoint sits on the last attachment of the conversation."""
    last = max((i for i, group in enumerate(attachments) if group), default=None)
    return _with_content(turns, attachments, lambda index, group, text: messages_content(
        group, text, ttl if index == last else None))


def openai_turns(messages: Sequence[Block], attachments: Turns, detail: str = "auto",
                 pdf_files: bool = False) -> list[Block]:
    """Chat messages with each user turn's attachments as parts before its text."""
    return _with_content(messages, attachments, lambda _, group, text: openai_content(
        group, text, detail, pdf_files))


def _with_content(messages: Sequence[Block], attachments: Turns,
                  content: Any) -> list[Block]:
    """Each user turn `attachments` covers as content blocks (its text a block even when its
    group is empty, so a body counted without an attachment differs by that attachment only)."""
    out, user = [], 0
    for message in messages:
        if message.get("role") == "user":
            if user < len(attachments):
                message = {**message, "content": content(user, attachments[user],
                                                         str(message.get("content") or ""))}
            user += 1
        out.append(message)
    return out
