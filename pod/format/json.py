"""JSON as Go's encoding/json writes it: `--format json` and the template's `json` function.

Scripts diff pod's JSON against podman's, so the layout follows Go rather than Python's json
module: plain dicts keep their order (they stand for structs), GoMap keys are sorted, floats print
as Go prints them (`2`, not `2.0`), `<`, `>` and `&` are escaped unless the caller says not.
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

from pod.errors import PodError
from pod.format.floats import exponent_notation, fixed_notation, float_digits, nonfinite
from pod.format.structs import GoStruct, json_members
from pod.format.values import NO_VALUE, GoMap, NilMap, NilSlice, is_int, is_list, struct_fields
from pod.util import records
from pod.util.records import dataclass

_HTML_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"}
_JSON_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_JSON_ESCAPES.update({"\b": "\\b", "\f": "\\f", "\u2028": "\\u2028", "\u2029": "\\u2029"})
_JSON_SPECIAL = r'["\\\x00-\x1f\u2028\u2029<>&\ud800-\udfff]'


def _json_string(text: str, escape_html: bool) -> str:
    def escape(m: re.Match[str]) -> str:
        ch = m.group()
        if ch in _HTML_ESCAPES:
            return _HTML_ESCAPES[ch] if escape_html else ch
        if "\ud800" <= ch <= "\udfff":
            return "\\ufffd"
        return _JSON_ESCAPES.get(ch) or f"\\u{ord(ch):04x}"

    return '"' + re.sub(_JSON_SPECIAL, escape, text) + '"'


def _json_float(x: float) -> str:
    """encoding/json's float layout: %f between 1e-6 and 1e21, else %e with `e-7` not `e-07`."""
    if nonfinite(x):
        raise PodError(f"json: unsupported value: {nonfinite(x)}")
    if x == 0:
        return "-0" if math.copysign(1, x) < 0 else "0"
    digits, dp = float_digits(x)
    sign = "-" if x < 0 else ""
    if 1e-6 <= abs(x) < 1e21:
        return sign + fixed_notation(digits, dp)
    return sign + re.sub(r"e([+-])0(\d)$", r"e\1\2", exponent_notation(digits, dp))


def _json_items(value: Any) -> list[tuple[Any, Any]] | None:
    """The key/value pairs a value encodes as a JSON object, or None if it is not one."""
    if isinstance(value, GoMap):
        return [(k, value[k]) for k in sorted(value, key=lambda k: str(k))]
    if isinstance(value, GoStruct):
        return json_members(value)
    if isinstance(value, Mapping):
        return list(value.items())
    if records.is_dataclass(value) and not isinstance(value, type):
        return struct_fields(value)
    return None


@dataclass(repr=False, eq=False)
class _JsonStyle:
    """How to lay JSON out: indent unit (None for compact), HTML escaping, and whether an empty
    object keeps a blank indented line inside (json-iterator's MarshalIndent, which podman's
    `ps`, `volume ls` and `info` use, writes `{` newline, indentation, newline, `}`)."""

    indent: str | None
    escape_html: bool
    open_empty_objects: bool = False


def _json_scalar(value: Any, style: _JsonStyle) -> str | None:
    if value is None or value is NO_VALUE or isinstance(value, (NilSlice, NilMap)):
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if is_int(value):
        return str(value)
    if isinstance(value, float):
        return _json_float(value)
    if isinstance(value, str):
        return _json_string(value, style.escape_html)
    if isinstance(value, bytes):
        import base64  # rare: only []byte-like values

        return '"' + base64.b64encode(value).decode() + '"'
    return None


def _json_value(value: Any, style: _JsonStyle, level: int) -> str:
    if isinstance(value, enum.Enum):
        value = value.value
    if hasattr(value, "__go_json__"):  # a Go type with its own MarshalJSON (pod.util.gotime)
        value = value.__go_json__()
    scalar = _json_scalar(value, style)
    if scalar is not None:
        return scalar
    items = _json_items(value)
    if items is not None:
        parts = [
            f"{_json_string(str(k), style.escape_html)}:{' ' if style.indent is not None else ''}"
            + _json_value(v, style, level + 1)
            for k, v in items
        ]
        if not parts and style.open_empty_objects and style.indent is not None:
            return "{\n" + style.indent * (level + 1) + "\n" + style.indent * level + "}"
        return _json_join("{", parts, "}", style, level)
    if is_list(value) or isinstance(value, (set, frozenset)):
        parts = [_json_value(v, style, level + 1) for v in value]
        return _json_join("[", parts, "]", style, level)
    return _json_string(str(value), style.escape_html)


def _json_join(open_: str, parts: list[str], close: str, style: _JsonStyle, level: int) -> str:
    if not parts:
        return open_ + close
    if style.indent is None:
        return open_ + ",".join(parts) + close
    inner = "\n" + style.indent * (level + 1)
    return open_ + inner + ("," + inner).join(parts) + "\n" + style.indent * level + close


def to_json(
    value: Any,
    indent: int | None = None,
    *,
    escape_html: bool = False,
    open_empty_objects: bool = False,
) -> str:
    """Encode like Go's encoding/json: compact by default (the `json` template function).

    Plain dicts keep their order (they stand for structs); GoMap keys are sorted as Go sorts
    map keys; GoStruct records follow their json tags; floats print as Go prints them (`2`,
    not `2.0`). open_empty_objects: json-iterator's layout of `{}` (see _JsonStyle).
    """
    style = _JsonStyle(None if indent is None else " " * indent, escape_html, open_empty_objects)
    return _json_value(value, style, 0)


def format_json(
    records: Iterable[Any],
    indent: int = 4,
    *,
    escape_html: bool = True,
    open_empty_objects: bool = False,
) -> str:
    """`--format json` output: the records as an indented JSON array and a newline.

    podman differs per command: `images` uses json.MarshalIndent with four spaces, `ps` and
    `volume ls` json-iterator's with two, `stats` with one, and `inspect` an encoder with
    five spaces and no HTML escaping.
    """
    return (
        to_json(
            list(records),
            indent,
            escape_html=escape_html,
            open_empty_objects=open_empty_objects,
        )
        + "\n"
    )
