"""Sending a run's attachments again (`--continue`): from what this kernel sent, else from the
history's copy of the bytes, the file they came from, their URL or their uploaded file."""
from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from opus_magic.errors import UsageError
from opus_magic.records import AttachedFile, RunRecord

if TYPE_CHECKING:  # the session holds this from the start; loading attachments waits for one
    from opus_magic.media import Attachment

KEPT_BYTES = 1 << 30  # what the session keeps of the attachments it sent, the oldest dropped first


class SentAttachments:
    """The attachments this session sent, by sha256, the least recently sent dropped beyond
    `limit` bytes; safe across threads."""

    def __init__(self, limit: int = KEPT_BYTES) -> None:
        self.limit = limit
        self._kept: OrderedDict[str, Attachment] = OrderedDict()
        self._lock = threading.Lock()

    def keep(self, attachments: Iterable[Attachment]) -> None:
        with self._lock:
            for attachment in attachments:
                if attachment.sha256 and attachment.data is not None:
                    self._kept[attachment.sha256] = attachment
                    self._kept.move_to_end(attachment.sha256)
            while sum(a.size for a in self._kept.values()) > self.limit and len(self._kept) > 1:
                self._kept.popitem(last=False)

    def get(self, sha256: str | None) -> Attachment | None:
        with self._lock:
            return self._kept.get(sha256 or "")


def restored(attached: AttachedFile, sent: SentAttachments) -> Attachment | None:
    """One recorded attachment as it can be sent again, or None where nothing of it is left."""
    from opus_magic.media import Attachment, load
    from opus_magic.media.loaders import from_bytes

    held = sent.get(attached.sha256)
    if held is not None:
        return dataclasses.replace(held, name=attached.name)
    if attached.data is not None:
        return dataclasses.replace(from_bytes(attached.data, attached.name, attached.notes),
                                   source=attached.source)
    source = attached.source or ""
    if source.startswith("https://"):
        return load(source, attached.name)
    if source and Path(source).is_file():
        again = load(Path(source), attached.name)
        downscaled = any(note.startswith("downscaled") for note in attached.notes)
        if again.sha256 == attached.sha256 or downscaled:  # fitted again the same way
            return again
    if attached.file_id is not None:
        return Attachment(name=attached.name, media_type=attached.media_type,
                          kind=attached.kind, file_id=attached.file_id, sha256=attached.sha256,
                          size=attached.size, pixels=attached.pixels, pages=attached.pages)
    return None


def resent(parent: RunRecord, sent: SentAttachments) -> tuple[tuple[Attachment, ...], ...]:
    """The parent's attachments grouped by user turn, ready to go with its conversation again;
    a one-line UsageError names one that cannot be."""
    users = sum(1 for message in parent.messages if message.get("role") == "user")
    groups: list[list[Attachment]] = [[] for _ in range(users)]
    for attached in parent.attachments:
        again = restored(attached, sent)
        if again is None:
            raise UsageError(f"Run {parent.id} attached {attached.name}, which this kernel no "
                             f"longer holds and the history did not keep: attach it again with "
                             f"--attach (or record runs with --keep-attachments).")
        groups[min(attached.turn, users - 1)].append(again)
    return tuple(tuple(group) for group in groups)
