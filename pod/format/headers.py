"""Column headers of `table` formats: the header line is the row template run on a HeaderRow.

podman renders a table's header by executing the same template on data whose every field reads as
its column title (`{{.CreatedAt}}` heads `CREATED AT`), so functions and nested fields of a column
still print one header. The executor and the functions recognize these values and pass them on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pod.format.values import NO_VALUE, GoMap
from pod.util import records


class HeaderRow(GoMap):
    """The data a table header line is rendered from: any field reads as its column header.

    A strict row is podman's own header map (struct_headers): a name it lacks reads as
    `<no value>`, as in podman, where only the struct's fields have headers (not its methods).
    """

    strict = False

    def header(self, name: str) -> Any:
        if self.strict and name not in self:
            return NO_VALUE
        return HeaderText(self.get(name) or header_name(name), self)


def struct_headers(struct: type, overrides: Mapping[str, str] | None = None) -> dict[str, str]:
    """podman's report.Headers(struct, overrides): every field's name, camel-split and upper-
    cased, the fields of embedded structs included; then the overrides, upper-cased."""
    headers: dict[str, str] = {}
    for field in records.fields(struct):
        if field.metadata.get("embedded"):
            headers.update(struct_headers(_field_type(struct, field)))
            continue
        headers[field.name] = header_name(field.name)
    headers.update({k: v.upper() for k, v in (overrides or {}).items()})
    return headers


def _field_type(struct: type, field: records.Field) -> type:
    """A field's class; under `from __future__ import annotations` its annotation is the
    class's name in the struct's module."""
    if isinstance(field.type, type):
        return field.type
    import sys

    return getattr(sys.modules[struct.__module__], str(field.type))


class HeaderText(str):
    """A column header; fields of it are headers too, so `{{.State.Status}}` heads `STATUS`."""

    row: HeaderRow

    def __new__(cls, text: str, row: HeaderRow) -> HeaderText:
        obj = super().__new__(cls, text)
        obj.row = row
        return obj


def header_name(field_name: str) -> str:
    """A column header from a Go field name, as report.Headers: `CreatedAt` → `CREATED AT`."""
    return " ".join(_camel_split(field_name)).upper()


def _char_class(ch: str) -> int:
    if ch.islower():
        return 1
    if ch.isupper():
        return 2
    if ch.isdecimal():
        return 3
    return 4


def _camel_split(word: str) -> list[str]:
    """podman's camelcase.Split: `PDFLoader` → PDF Loader, `GL11Version` → GL 11 Version."""
    runs: list[list[str]] = []
    last = 0
    for ch in word:
        cls = _char_class(ch)
        if runs and cls == last:
            runs[-1].append(ch)
        else:
            runs.append([ch])
        last = cls
    for i in range(len(runs) - 1):
        if runs[i][0].isupper() and runs[i + 1][0].islower():
            runs[i + 1].insert(0, runs[i].pop())
    return ["".join(run) for run in runs if run]
