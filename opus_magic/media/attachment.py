"""One attachment as a value: what it is, where its bytes are, and what is known about it."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

KINDS = ("image", "pdf", "text")


@dataclass(frozen=True, kw_only=True)
class Attachment:
    """A document, image or text to send beside a prompt.

    Exactly one of `data` (the bytes to send), `url` (an https address the API fetches) and
    `file_id` (a file uploaded through Anthropic's Files API) says where its content is; a file
    uploaded from loaded bytes keeps them (`data`) for counting. `pixels` is an image's (width,
    height), `pages` a PDF's page count with `page_sizes` in points, `text` a text file's text or
    a PDF's extracted text; `notes` say what was done to it ("downscaled from 4000×3000 …").
    """

    name: str
    media_type: str
    kind: str
    data: bytes | None = None
    url: str | None = None
    file_id: str | None = None
    sha256: str | None = None
    size: int = 0
    pixels: tuple[int, int] | None = None
    pages: int | None = None
    page_sizes: tuple[tuple[float, float], ...] = ()
    text: str | None = None
    notes: tuple[str, ...] = ()
    source: str | None = None  # the path it was read from, where it came from a file

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {self.kind!r}")
        if self.data is None and self.url is None and self.file_id is None:
            raise ValueError("an attachment needs data, a url or a file_id")

    @property
    def dimensions(self) -> str:
        """What its size means to a reader: `1568×1176 px`, `12 pages`, `3,400 chars`."""
        if self.pixels is not None:
            return f"{self.pixels[0]}×{self.pixels[1]} px"
        if self.pages is not None:
            return f"{self.pages} page{'s' if self.pages != 1 else ''}"
        if self.text is not None:
            return f"{len(self.text):,} chars"
        return "size unknown"

    def with_file_id(self, file_id: str) -> Attachment:
        """The same attachment, now sent by reference to an uploaded file."""
        return dataclasses.replace(self, file_id=file_id)

    def noted(self, note: str) -> Attachment:
        return dataclasses.replace(self, notes=(*self.notes, note))
