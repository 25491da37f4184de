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

This file only re-exports the public names, so callers keep importing them from pod.format.
"""

from __future__ import annotations

from pod.format.headers import header_name, struct_headers
from pod.format.json import format_json, to_json
from pod.format.report import (
    enforce_range,
    is_json,
    is_table,
    normalize_format,
    render_object,
    render_rows,
    render_table,
)
from pod.format.structs import GoFields, GoStruct, gofield
from pod.format.tabwriter import tabulate, tabwrite
from pod.format.template import Template, compile_template
from pod.format.values import GoMap, NilMap, NilSlice, go_string

__all__ = [
    "GoFields",
    "GoMap",
    "GoStruct",
    "NilMap",
    "NilSlice",
    "Template",
    "compile_template",
    "enforce_range",
    "format_json",
    "gofield",
    "go_string",
    "header_name",
    "is_json",
    "is_table",
    "normalize_format",
    "render_object",
    "render_rows",
    "render_table",
    "struct_headers",
    "tabulate",
    "tabwrite",
    "to_json",
]
