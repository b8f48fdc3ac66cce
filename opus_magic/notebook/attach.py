"""`--attach`: files, URLs and notebook values loaded as attachments (each row's in a grid)."""
from __future__ import annotations

import collections
import dataclasses
import re
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from opus_magic.errors import UsageError
from opus_magic.media import Attachment, load
from opus_magic.notebook.interpolate import interpolate

if TYPE_CHECKING:
    from opus_magic.core.grid.spec import GridSpec

DEFAULT_NAMES = ("attachment", "dataframe", "figure", "image")  # what `load` calls a value
WHOLE_FIELD = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def attachment_from(value: Any, namespace: Mapping[str, Any]) -> Attachment:
    """`--attach X`: a notebook name's value (named after it), else a path or an https URL."""
    if isinstance(value, str) and value.isidentifier() and value in namespace:
        return _named(load(namespace[value]), value)
    if isinstance(value, str) and value.isidentifier() and not Path(value).exists():
        raise UsageError(f"--attach {value}: no such file here ({Path.cwd()}), nor a notebook "
                         f"variable of that name: check the path, or define it first.")
    return load(value)


def attachments_from(values: Sequence[str], namespace: Mapping[str, Any]
                     ) -> tuple[Attachment, ...]:
    """Every `--attach` of a cell, in the order given (`{name}` filled from the notebook)."""
    return tuple(_per_row(value, namespace, {}) if "{" in value
                 else attachment_from(value, namespace) for value in values)


def with_row_attachments(spec: GridSpec, values: Sequence[str],
                         namespace: Mapping[str, Any]) -> GridSpec:
    """The grid with its attachments: one naming `{field}` is loaded per row (a row's column,
    else a notebook name), the others once for every row."""
    if not values:
        return spec
    if not any("{" in value for value in values):
        shared = attachments_from(values, namespace)
        return dataclasses.replace(spec, cell=dataclasses.replace(spec.cell, attachments=shared))
    loaded: dict[str, Attachment] = {}
    rows = []
    for row in spec.rows:
        names = collections.ChainMap(row, namespace)  # type: ignore[arg-type]
        rows.append(tuple(_per_row(value, names, loaded) for value in values))
    return dataclasses.replace(spec, row_attachments=tuple(rows))


def _per_row(value: str, names: Mapping[str, Any], loaded: dict[str, Attachment]) -> Attachment:
    """One row's attachment: `{column}` alone takes the row's value as it is (a path, bytes, an
    image); a template is filled in as text (a path). A path named twice is read once.
    Outside a grid `names` is the notebook's namespace alone."""
    whole = WHOLE_FIELD.fullmatch(value)
    if whole and whole.group(1) in names:
        field = names[whole.group(1)]
        if not isinstance(field, str):
            return _named(load(field), whole.group(1))
        value = field
    else:
        value, missing = interpolate(value, names)
        if missing:
            raise UsageError(f"--attach: {', '.join(missing)} is neither a column of the rows "
                             f"nor defined in the notebook.")
    if value not in loaded:
        loaded[value] = attachment_from(value, {})
    return loaded[value]


def _named(attachment: Attachment, name: str) -> Attachment:
    """A value `load` gave a generic name (figure.png, dataframe.csv …) is named after its
    notebook variable instead."""
    path = PurePosixPath(attachment.name)
    if path.stem not in DEFAULT_NAMES:
        return attachment
    return dataclasses.replace(attachment, name=f"{name}{path.suffix}")
