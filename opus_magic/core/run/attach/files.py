"""A planner's attachments: fitted and estimated once per model (a grid's cells share them),
uploaded to the Files API once per endpoint (a file the history already sent there is reused
while the API still holds it), and remembered by the session for `--continue`."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from opus_magic.core.run.attach.attached import Attached, prepared, uploaded
from opus_magic.core.run.request import RunRequest
from opus_magic.core.run.target import RunPolicy, Target
from opus_magic.errors import RequestError
from opus_magic.media import Attachment
from opus_magic.store.attachments import uploaded_file
from opus_magic.wire.anthropic import files

if TYPE_CHECKING:
    from opus_magic.core.session import Session


class Attachments:
    """The attachments one planner has prepared and uploaded."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._prepared: dict[Any, Attached | None] = {}
        self._uploads: dict[tuple[str, str | None], str] = {}

    def prepared(self, request: RunRequest, target: Target) -> Attached | None:
        """The request's attachments fitted to its model, once per model and attachments."""
        if not request.attachments:
            return None
        key = (target.model_id, request.upload and target.transport.files, request.attachments)
        if key not in self._prepared:
            self._prepared[key] = prepared(request, target)
        return self._prepared[key]

    def uploaded(self, attached: Attached, target: Target, policy: RunPolicy) -> Attached:
        """The attachments by file_id, each uploaded at most once per endpoint."""
        return uploaded(attached, lambda attachment: self._upload(attachment, target, policy))

    def _upload(self, attachment: Attachment, target: Target, policy: RunPolicy) -> Attachment:
        key = (target.endpoint.base_url, attachment.sha256)
        if key not in self._uploads:
            self._uploads[key] = (self._reusable(attachment, target, policy)
                                  or files.upload(target.endpoint, attachment).id)
        return attachment.with_file_id(self._uploads[key])

    def _reusable(self, attachment: Attachment, target: Target, policy: RunPolicy) -> str | None:
        """The file the history last sent these bytes as, if the Files API still holds it."""
        if attachment.sha256 is None:
            return None
        store = self.session.store_at(policy.store)
        found = uploaded_file(store, attachment.sha256, target.endpoint.base_url)
        if found is None:
            return None
        try:
            files.get_file(target.endpoint, found, policy.timeout_s)
        except RequestError:  # deleted since, or another key's
            return None
        return found

    def remember(self, attached: Attached | None) -> None:
        """Keep what was sent in the session, so a continued conversation can send it again."""
        if attached is not None:
            self.session.sent.keep(attached.attachments)
