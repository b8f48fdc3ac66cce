"""What a file is, read from its first bytes (magic numbers), not from its name alone."""
from __future__ import annotations

import codecs
from pathlib import PurePosixPath

IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")
PDF_TYPE = "application/pdf"
TEXT_TYPES = {".md": "text/markdown", ".markdown": "text/markdown", ".csv": "text/csv",
              ".tsv": "text/tab-separated-values", ".json": "application/json",
              ".html": "text/html", ".htm": "text/html", ".xml": "application/xml",
              ".yaml": "application/yaml", ".yml": "application/yaml"}
URL_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
             ".gif": "image/gif", ".webp": "image/webp", ".pdf": PDF_TYPE}
EXTENSIONS = {"image/png": ".png", "image/jpeg": ".jpg", "image/gif": ".gif",
              "image/webp": ".webp", PDF_TYPE: ".pdf"}
PDF_HEADER_WINDOW = 1024  # the PDF spec lets `%PDF-` start anywhere in the first kilobyte
TEXT_PROBE = 64 * 1024  # text is judged on its first 64 KB, then decoded whole
OTHER_FORMATS = ((b"PK\x03\x04", "a ZIP archive (DOCX, XLSX and PPTX are ZIPs)"),
                 (b"II*\x00", "a TIFF image"), (b"MM\x00*", "a TIFF image"),
                 (b"BM", "a BMP image"), (b"\xd0\xcf\x11\xe0", "an old Office document"))


def sniff(data: bytes) -> tuple[str, str] | None:
    """(kind, media type) of PDF, PNG, JPEG, GIF and WebP bytes; None for anything else."""
    head = data[:16]
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image", "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image", "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image", "image/gif"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "image", "image/webp"
    if b"%PDF-" in data[:PDF_HEADER_WINDOW]:
        return "pdf", PDF_TYPE
    return None


def looks_like_text(data: bytes) -> bool:
    """UTF-8 (a BOM allowed) without NUL bytes in its first 64 KB: the probe may end inside a
    character, so only an error before its last three bytes counts."""
    probe = data[:TEXT_PROBE]
    if b"\x00" in probe:
        return False
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(probe, final=len(data) <= TEXT_PROBE)
    except UnicodeDecodeError:
        return False
    return True


def text_type(name: str) -> str:
    """The media type of a text file by its extension; plain text for code and the rest."""
    return TEXT_TYPES.get(PurePosixPath(name).suffix.lower(), "text/plain")


def url_type(url: str) -> str | None:
    """The media type an https address's extension names (it is not fetched here), else None."""
    path = url.split("?", 1)[0].split("#", 1)[0]
    return URL_TYPES.get(PurePosixPath(path).suffix.lower())


def unknown_format(data: bytes) -> str:
    """What a refused file seems to be, for the refusal's wording."""
    for magic, what in OTHER_FORMATS:
        if data.startswith(magic):
            return what
    return "not a PDF, a PNG/JPEG/GIF/WebP image or UTF-8 text"
