"""A PDF's pages, page sizes and text, read with pypdf; encrypted or unreadable ones refused."""
from __future__ import annotations

import io
import logging
from dataclasses import dataclass

from opus_magic.errors import UsageError


@dataclass(frozen=True)
class PdfFacts:
    """What pricing and the answer need from a PDF: pages, their sizes in points, its text."""

    pages: int
    page_sizes: tuple[tuple[float, float], ...]
    text: str


def read_pdf(data: bytes, name: str) -> PdfFacts:
    """Pages, page sizes and extracted text, or a one-line UsageError for an encrypted or
    unreadable PDF (the APIs refuse both)."""
    import pypdf
    from pypdf.errors import PyPdfError

    quiet = logging.getLogger("pypdf")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # pypdf warns about every repaired cross-reference table
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise UsageError(f"{name} is an encrypted PDF, which the APIs refuse: save an "
                             f"unprotected copy (print to PDF) and attach that.")
        pages = reader.pages
        sizes = tuple((float(page.mediabox.width), float(page.mediabox.height))
                      for page in pages)
        text = "\n".join(page.extract_text() or "" for page in pages)
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError,
            RecursionError) as exc:
        raise UsageError(f"{name} is not a readable PDF ({type(exc).__name__}): open it and "
                         f"save it again, or attach its text instead.") from None
    finally:
        quiet.setLevel(level)
    if not sizes:
        raise UsageError(f"{name} is a PDF without pages: attach a PDF with content.")
    return PdfFacts(len(sizes), sizes, text)
