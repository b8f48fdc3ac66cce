"""`load`: any value a notebook can attach, as an Attachment (type sniffed from its bytes).

One loader per kind of value, tried in order: an Attachment, an https URL, a path (str or
`os.PathLike`), bytes, a PIL image, a matplotlib figure, a pandas DataFrame. Matplotlib, Pillow
and pandas are recognised by their types' modules, so none of them is imported for a value
that is not theirs.
"""
from __future__ import annotations

import dataclasses
import hashlib
import io
import os
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from opus_magic.errors import UsageError
from opus_magic.media.attachment import Attachment
from opus_magic.media.images import from_pil, pixel_size
from opus_magic.media.pdf import read_pdf
from opus_magic.media.sniff import (
    EXTENSIONS,
    looks_like_text,
    sniff,
    text_type,
    unknown_format,
    url_type,
)

FILE_LIMIT = 500 * 1000 * 1000  # the largest file the Files API stores; inline is smaller still
KINDS_OF_VALUE = ("a path, an https:// URL, bytes, a pathlib.Path, a PIL image, a matplotlib "
                  "figure or a pandas DataFrame")


def load(value: Any, name_hint: str | None = None) -> Attachment:
    """An Attachment from a path, https URL, bytes, Path, PIL image, figure or DataFrame; bad
    input is a one-line UsageError naming the problem, before anything is sent."""
    for matches, loader in LOADERS:
        if matches(value):
            return loader(value, name_hint)
    raise UsageError(f"Cannot attach a {type(value).__name__}: give {KINDS_OF_VALUE}.")


def from_bytes(data: bytes, name: str, notes: tuple[str, ...] = ()) -> Attachment:
    """An attachment from bytes: a PDF, an image or UTF-8 text by its first bytes."""
    found = sniff(data)
    facts: dict[str, Any] = {}
    if found is None:
        if not looks_like_text(data):
            raise UsageError(f"{name} is {unknown_format(data)}: attach a PDF, a PNG/JPEG/GIF/"
                             f"WebP image or a text file (convert it first).")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise UsageError(f"{name} is not UTF-8 text past its start: save it as UTF-8 "
                             f"and attach it again.") from None
        found, facts = ("text", text_type(name)), {"text": text}
    elif found[0] == "image":
        facts = {"pixels": pixel_size(data, name)}
    else:
        pdf = read_pdf(data, name)
        facts = {"pages": pdf.pages, "page_sizes": pdf.page_sizes, "text": pdf.text}
    kind, media_type = found
    suffix = PurePosixPath(name).suffix.lower()
    expected = EXTENSIONS.get(media_type)
    if kind != "text" and suffix and expected and suffix not in (expected, ".jpeg"):
        notes = (*notes, f"named {suffix} but its bytes are {media_type}")
    return Attachment(name=name, media_type=media_type, kind=kind, data=data,
                      sha256=hashlib.sha256(data).hexdigest(), size=len(data), notes=notes,
                      **facts)


def _path(value: str | os.PathLike[str], name_hint: str | None) -> Attachment:
    path = Path(value).expanduser()
    shown = name_hint or path.name or str(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise UsageError(f"{shown}: no such file ({path.absolute()}): check the path, relative "
                         f"to the notebook's folder ({Path.cwd()}).") from None
    except OSError as exc:
        raise UsageError(f"{shown} cannot be read ({exc.strerror}): check the path and its "
                         f"permissions.") from None
    if path.is_dir():
        raise UsageError(f"{shown} is a folder: attach the files in it one by one.")
    if size > FILE_LIMIT:
        raise UsageError(f"{shown} is {size / 1e6:,.0f} MB, over the 500 MB the Files API "
                         f"takes a file (and the 32 MB a request): split it.")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"{shown} cannot be read ({exc.strerror}): check its permissions.") from None
    return dataclasses.replace(from_bytes(data, shown), source=str(path.absolute()))


def _url(url: str, name_hint: str | None) -> Attachment:
    media_type = url_type(url)
    name = name_hint or PurePosixPath(urlsplit(url).path).name or urlsplit(url).netloc
    if media_type is None:
        raise UsageError(f"Cannot tell what {url} is from its name (it is not fetched here): "
                         f"use a URL ending .pdf, .png, .jpg, .gif or .webp, or download it "
                         f"and attach the file.")
    kind = "pdf" if media_type == "application/pdf" else "image"
    return Attachment(name=name, media_type=media_type, kind=kind, url=url,
                      notes=("sent as a URL: the API fetches it; its size is known only then",))


def _refuse_http(url: str, name_hint: str | None) -> Attachment:
    raise UsageError(f"{url} is plain http: the APIs fetch only https:// URLs; use the https "
                     f"address or download the file and attach it.")


def _bytes(value: bytes | bytearray | memoryview, name_hint: str | None) -> Attachment:
    data = value if isinstance(value, bytes) else bytes(value)
    found = sniff(data)
    extension = EXTENSIONS.get(found[1], ".txt") if found else ".txt"
    return from_bytes(data, name_hint or f"attachment{extension}")


def _pil(image: Any, name_hint: str | None) -> Attachment:
    data, media_type = from_pil(image)
    return from_bytes(data, name_hint or f"image{EXTENSIONS[media_type]}",
                      ("a PIL image, sent as " + media_type.split("/")[1].upper(),))


def _figure(figure: Any, name_hint: str | None) -> Attachment:
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return from_bytes(out.getvalue(), name_hint or "figure.png", ("a matplotlib figure as PNG",))


def _frame(frame: Any, name_hint: str | None) -> Attachment:
    rows, columns = frame.shape
    index = any(name is not None for name in frame.index.names)
    csv = frame.to_csv(index=index).encode()
    shape = f"({rows:,} row{'s' if rows != 1 else ''} × {columns:,} column{'s' if columns != 1 else ''})"
    return from_bytes(csv, name_hint or "dataframe.csv", (f"a DataFrame as CSV {shape}",))


def _from_module(package: str, *attributes: str) -> Callable[[Any], bool]:
    """Whether a value's type comes from `package` (pandas 3 says `pandas`, not
    `pandas.core.frame`) and has the attributes its loader uses."""
    def matches(value: Any) -> bool:
        module = type(value).__module__ or ""
        return module.split(".")[0] == package and all(hasattr(value, a) for a in attributes)
    return matches


def _text_starting(*prefixes: str) -> Callable[[Any], bool]:
    return lambda value: isinstance(value, str) and value.lower().startswith(prefixes)


LOADERS: tuple[tuple[Callable[[Any], bool], Callable[[Any, str | None], Attachment]], ...] = (
    (lambda value: isinstance(value, Attachment), lambda value, _: value),
    (_text_starting("https://"), _url),
    (_text_starting("http://"), _refuse_http),
    (lambda value: isinstance(value, (str, os.PathLike)), _path),
    (lambda value: isinstance(value, (bytes, bytearray, memoryview)), _bytes),
    (_from_module("PIL", "save", "size", "mode"), _pil),
    (_from_module("matplotlib", "savefig"), _figure),
    (_from_module("pandas", "to_csv", "shape", "index"), _frame),
)
