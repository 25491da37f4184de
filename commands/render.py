"""One way to print every listing: default table, `--format` template, `table`, `json`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pod.util.records import dataclass


@dataclass(frozen=True)
class JsonLayout:
    """How a command's `--format json` looks in podman: the indent, and whether it goes
    through json-iterator (`ps`, `volume ls`: an empty object keeps a blank line inside)."""

    indent: int = 4
    jsoniter: bool = False


def print_json(records: list[Any], layout: JsonLayout = JsonLayout()) -> None:
    from pod import format as gotemplate

    print(
        gotemplate.format_json(records, layout.indent, open_empty_objects=layout.jsoniter),
        end="",
    )


def render_rows(
    rows: list[Any],
    columns: list[tuple[str, str]],
    fmt: str | None = None,
    noheading: bool = False,
    json_rows: list[Any] | None = None,
    *,
    headers: Mapping[str, str] | None = None,
    name: str = "format",
    json_layout: JsonLayout = JsonLayout(),
) -> None:
    """Print `rows` (template data) as the default `columns` (header, field), or per `--format`.

    `json_rows` is what `--format json` prints (podman's JSON shape may differ from the fields);
    `headers` is podman's header map for the rows' struct (pod.format.struct_headers: only
    those names have headers, as in podman), else the columns' titles are used and any other
    field heads its own name; `name` is the template's name in errors (podman's is the
    command's name).
    """
    from pod import format as gotemplate

    if fmt is not None and gotemplate.is_json(fmt):
        print_json(json_rows if json_rows is not None else rows, json_layout)
        return
    if fmt is None or fmt.strip() == "table":
        fmt = "table " + "\t".join(f"{{{{.{field}}}}}" for _, field in columns)
    if gotemplate.is_table(fmt):
        strict = headers is not None
        titles = headers if strict else {field: header for header, field in columns}
        text = gotemplate.render_table(
            rows, fmt, titles, heading=not noheading, name=name, strict=strict
        )
    else:
        text = gotemplate.render_rows(rows, fmt, name=name)
    print(text, end="")
