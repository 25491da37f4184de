"""podman's pkg/report conventions: a user's `--format` turned into a command's output.

`json` (and `{{json .}}`) asks for the JSON output, `table ...` for aligned columns under a header
line, anything else is a row template run once per record. Shell-typed `\\t` and `\\n` become tabs
and newlines, and the per-record template is wrapped in `{{range .}}`, exactly as podman does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from pod.errors import PodError
from pod.format.headers import HeaderRow
from pod.format.tabwriter import tabwrite

if TYPE_CHECKING:
    from pod.format.template import Template

_TABLE_REPLACER = r"table |\\t| |\\n"
_TABLE_REPLACEMENTS = {"table ": "", "\\t": "\t", " ": "\t", "\\n": "\n"}
_RANGE_RE = r"(?s)\{\{\s*range\s*\.\s*\}\}.*\{\{\s*end\s*-?\s*\}\}"
_JSON_RE = r"^\s*(json|\{\{\s*json *\.?\s*\}\})\s*$"


def is_table(fmt: str) -> bool:
    """podman's report.HasTable: `table ...` formats print a header row and align columns."""
    return fmt.startswith("table ")


def is_json(fmt: str) -> bool:
    """podman's report.IsJSON: `json`, `{{json}}`, `{{ json . }}` ask for the JSON output."""
    return bool(re.match(_JSON_RE, fmt))


def normalize_format(fmt: str) -> str:
    """podman's NormalizeFormat: `\\t`/`\\n` escapes from the shell, a final newline.

    For `table` formats it also drops the keyword and turns every space into a column break,
    exactly as podman does (so `table {{.ID}} {{.Image}}` makes two columns).
    """
    if is_table(fmt):
        out = re.sub(_TABLE_REPLACER, lambda m: _TABLE_REPLACEMENTS[m.group()], fmt)
    else:
        out = fmt.replace("\\t", "\t").replace("\\n", "\n")
    return out if out.endswith("\n") else out + "\n"


def enforce_range(fmt: str) -> str:
    """Wrap a per-record format in `{{range .}}…{{end -}}` unless it ranges over `.` itself."""
    if re.search(_RANGE_RE, fmt):
        return fmt
    return "{{range .}}" + fmt + "{{end -}}"


def _compile_list_format(fmt: str, name: str) -> Template:
    """podman's Formatter.Parse: try the normalized text, fall back to the text as given.

    The fallback keeps formats like `{{printf "a\\tb"}}` working that normalization would break.
    """
    from pod.format.template import compile_template

    if is_table(fmt):
        normalized = "{{range .}}" + normalize_format(fmt) + "{{end -}}"
        raw = "{{range .}}" + fmt[len("table ") :] + "{{end -}}"
    else:
        normalized = enforce_range(normalize_format(fmt))
        raw = enforce_range(fmt)
    try:
        return compile_template(normalized, name)
    except PodError:
        return compile_template(raw, name)


def render_rows(rows: Iterable[Any], template_text: str, *, name: str = "format") -> str:
    """A user's non-table `--format`: each record through the template, no header, no alignment.

    Works for single objects too (info, version, inspect): pass them as a one-item list.
    """
    return _compile_list_format(template_text, name).render(list(rows))


def render_object(data: Any, template_text: str, *, name: str = "format") -> str:
    """A user's `--format` for one object (`info`, `version`): normalized, run on the object
    itself with no `{{range}}` around it (podman's OriginUnknown), so error positions match."""
    from pod.format.template import compile_template

    try:
        template = compile_template(normalize_format(template_text), name)
    except PodError:  # as _compile_list_format: the text as given when normalizing broke it
        template = compile_template(template_text, name)
    return template.render(data)


def render_table(
    rows: Iterable[Any],
    template_text: str,
    headers: Mapping[str, str] | None = None,
    *,
    heading: bool = True,
    name: str = "format",
    strict: bool = False,
) -> str:
    """A `table ...` format, or a command's default row template, as aligned columns.

    The header line is the same template rendered with every field replaced by its header:
    headers[field] when the command names it, else header_name(field), upper-cased as podman
    does; with `strict`, `headers` is podman's whole header map (struct_headers) and a name it
    lacks heads `<no value>`, as in podman. Output goes through tabwrite, as podman's goes
    through Go's tabwriter.
    """
    template = _compile_list_format(template_text, name)
    text = ""
    if heading:
        row = HeaderRow({k: v.upper() for k, v in (headers or {}).items()})
        row.strict = strict
        text = template.render([row])
    return tabwrite(text + template.render(list(rows)))
