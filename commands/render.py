"""One way to print every listing: default table, `--format` template, `table`, `json`."""

from __future__ import annotations

import json
from typing import Any


def render_rows(
    rows: list[dict[str, Any]],
    columns: list[tuple[str, str]],
    fmt: str | None = None,
    noheading: bool = False,
    json_rows: list[Any] | None = None,
) -> None:
    """Print `rows` (template data) as the default `columns` (header, field), or per `--format`.

    `json_rows` is what `--format json` prints (podman's JSON shape may differ from the fields).
    """
    from pod import format as gotemplate

    if fmt is not None and fmt.strip() == "json":
        print(json.dumps(json_rows if json_rows is not None else rows, indent=4))
        return
    headers = dict((field, header) for header, field in columns)
    if fmt is None or fmt.strip() == "table":
        fmt = "table " + "\t".join(f"{{{{.{field}}}}}" for _, field in columns)
    if gotemplate.is_table(fmt):
        text = gotemplate.render_table(rows, fmt, headers, noheading=noheading)
        if text:
            print(text, end="" if text.endswith("\n") else "\n")
        return
    template = gotemplate.compile_template(fmt)
    for row in rows:
        print(template.render(row))
