"""Column headers of `table` formats: the header line is the row template run on a HeaderRow.

podman renders a table's header by executing the same template on data whose every field reads as
its column title (`{{.CreatedAt}}` heads `CREATED AT`), so functions and nested fields of a column
still print one header. The executor and the functions recognize these values and pass them on.
"""

from __future__ import annotations

from pod.format.values import GoMap


class HeaderRow(GoMap):
    """The data a table header line is rendered from: any field reads as its column header."""

    def header(self, name: str) -> HeaderText:
        return HeaderText(self.get(name) or header_name(name), self)


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
