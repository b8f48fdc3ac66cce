"""Real attachments made inside the tests: PDFs written with fpdf2, images drawn with Pillow."""
from __future__ import annotations

import io

from fpdf import FPDF
from PIL import Image


def pdf_bytes(*pages: str, page_format: str = "letter") -> bytes:
    """A PDF with one line of text a page (Letter: 612×792 pt)."""
    pdf = FPDF(format=page_format)
    pdf.set_font("Helvetica", size=12)
    for text in pages:
        pdf.add_page()
        pdf.cell(0, 10, text)
    return bytes(pdf.output())


def encrypted_pdf(data: bytes) -> bytes:
    """The same PDF protected with a password."""
    import pypdf

    writer = pypdf.PdfWriter(clone_from=io.BytesIO(data))
    writer.encrypt("secret", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def png_bytes(width: int, height: int, colour: str = "steelblue") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, format="PNG")
    return out.getvalue()


def jpeg_bytes(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), "orange").save(out, format="JPEG")
    return out.getvalue()
