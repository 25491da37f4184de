"""`--format` for every command: the Go text/template subset podman users script with.

Scripts written for podman pass Go templates (`{{.ID}}`, `{{range .Mounts}}…{{end}}`,
`table {{.Names}}\\t{{.Status}}`) and parse the output, so the parser, the value printing, the
functions and the table layout follow Go's text/template, fmt, encoding/json and text/tabwriter,
plus the extra functions and "table"/"json" conventions of podman's `pkg/report`.

Standard library only: this package is on the CLI fast path. Its modules, each with one job:

- report: podman's conventions, what commands call (is_json, is_table, render_rows, render_table)
- template: compile_template and Template, a parsed template rendered once per record
- lexer, nodes, parser, executor: Go's text/template, from text to tokens to tree to output
- functions: the functions templates call (Go's builtins and podman's json, join, truncate, ...)
- printf: Go's fmt.Sprintf for printf; floats: Go's float digits
- values: how Go sees and prints Python values (GoMap, `%v`); headers: table column headers
- structs: records standing for podman's Go structs (GoStruct, gofield: json tags, embedding)
- json: Go's encoding/json layout; tabwriter: Go's text/tabwriter alignment

Data model: a template sees Python values the way Go sees the structs podman renders.
A plain dict (or a dataclass or any object) stands for a Go struct: a missing field is an error,
as in podman. A `GoMap` stands for a Go map (labels, annotations): a missing key prints
`<no value>`. Attributes of objects are found by their Go name (`CreatedAt`) or its snake_case
form (`created_at`); a zero-argument method is called, as Go calls methods.

This file only re-exports the public names, so callers keep importing them from pod.format; each
is loaded with its module on first use (PEP 562), so `inspect`'s JSON never loads the template
engine and `run` none of it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the names' types, for mypy; at run time __getattr__ loads them
    from pod.format.headers import header_name, struct_headers  # noqa: F401
    from pod.format.json import format_json, to_json  # noqa: F401
    from pod.format.report import (  # noqa: F401
        enforce_range,
        is_json,
        is_table,
        normalize_format,
        render_object,
        render_rows,
        render_table,
    )
    from pod.format.structs import GoFields, GoStruct, gofield  # noqa: F401
    from pod.format.tabwriter import tabulate, tabwrite  # noqa: F401
    from pod.format.template import Template, compile_template  # noqa: F401
    from pod.format.values import GoMap, NilMap, NilSlice, go_string  # noqa: F401

_MODULES = {
    "headers": ("header_name", "struct_headers"),
    "json": ("format_json", "to_json"),
    "report": ("enforce_range", "is_json", "is_table", "normalize_format", "render_object",
               "render_rows", "render_table"),
    "structs": ("GoFields", "GoStruct", "gofield"),
    "tabwriter": ("tabulate", "tabwrite"),
    "template": ("Template", "compile_template"),
    "values": ("GoMap", "NilMap", "NilSlice", "go_string"),
}  # fmt: skip
_HOME = {name: module for module, names in _MODULES.items() for name in names}
__all__ = sorted(_HOME)


def __getattr__(name: str) -> Any:
    """A public name, from its module, imported now (and kept here for the next use)."""
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
