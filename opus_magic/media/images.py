"""Image sizes from their headers and client-side downscaling, with Pillow."""
from __future__ import annotations

import dataclasses
import hashlib
import io
from typing import Any

from opus_magic.errors import UsageError
from opus_magic.media.attachment import Attachment

JPEG_QUALITY = 90
THUMBNAIL_EDGE = 64
FORMATS = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WEBP"}


def pixel_size(data: bytes, name: str) -> tuple[int, int]:
    """(width, height) read from the image's header; the pixels are not decoded."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.size
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise UsageError(f"{name} is not a readable image ({type(exc).__name__}): open it and "
                         f"save it again as PNG or JPEG.") from None


def downscaled(attachment: Attachment, size: tuple[int, int], why: str) -> Attachment:
    """The image resized to `size` (same format; a GIF becomes a PNG of its first frame), with
    a note saying from what and why."""
    from PIL import Image

    assert attachment.data is not None and attachment.pixels is not None
    with Image.open(io.BytesIO(attachment.data)) as image:
        image.seek(0)
        media_type = attachment.media_type if attachment.media_type in FORMATS else "image/png"
        small = image.convert("RGBA" if _has_alpha(image) else "RGB").resize(
            size, Image.Resampling.LANCZOS)
    if media_type == "image/jpeg":
        small = small.convert("RGB")
    data = encode(small, media_type)
    width, height = attachment.pixels
    note = f"downscaled from {width}×{height} to {size[0]}×{size[1]} ({why})"
    if media_type != attachment.media_type:
        note += ", sent as PNG"
    return dataclasses.replace(attachment, data=data, media_type=media_type, pixels=size,
                               size=len(data), sha256=hashlib.sha256(data).hexdigest(),
                               notes=(*attachment.notes, note))


def encode(image: Any, media_type: str) -> bytes:
    """A PIL image as PNG, JPEG or WebP bytes."""
    out = io.BytesIO()
    options: dict[str, Any] = {"quality": JPEG_QUALITY} if media_type == "image/jpeg" else {}
    image.save(out, format=FORMATS[media_type], **options)
    return out.getvalue()


def from_pil(image: Any) -> tuple[bytes, str]:
    """A PIL image's bytes: JPEG when it was read from a JPEG (a photo stays compact), else PNG."""
    if image.format == "JPEG" and image.mode in ("RGB", "L"):
        return encode(image, "image/jpeg"), "image/jpeg"
    if image.mode not in ("RGB", "RGBA", "L", "LA", "P", "1", "I;16"):
        image = image.convert("RGBA" if _has_alpha(image) else "RGB")
    return encode(image, "image/png"), "image/png"


def thumbnail(attachment: Attachment, edge: int = THUMBNAIL_EDGE) -> bytes | None:
    """A small JPEG of an image (its long edge `edge` px), for a chip in a view; None for
    anything that is not an image held here, or that cannot be decoded."""
    if attachment.kind != "image" or attachment.data is None:
        return None
    from PIL import Image

    try:
        with Image.open(io.BytesIO(attachment.data)) as image:
            image.draft("RGB", (edge, edge))  # a JPEG decodes at a fraction of its size
            small = image.convert("RGB")
            small.thumbnail((edge, edge))
            return encode(small, "image/jpeg")
    except (OSError, ValueError):
        return None


def _has_alpha(image: Any) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
