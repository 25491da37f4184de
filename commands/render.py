"""One way to print every listing: default table, `--format` template, `table`, `json`."""

from __future__ import annotations

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

    if fmt is not None and gotemplate.is_json(fmt):
        print(gotemplate.format_json(json_rows if json_rows is not None else rows), end="")
        return
    if fmt is None or fmt.strip() == "table":
        fmt = "table " + "\t".join(f"{{{{.{field}}}}}" for _, field in columns)
    if gotemplate.is_table(fmt):
        headers = {field: header for header, field in columns}
        text = gotemplate.render_table(rows, fmt, headers, heading=not noheading)
    else:
        text = gotemplate.render_rows(rows, fmt)
    print(text, end="")
