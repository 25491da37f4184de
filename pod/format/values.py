"""How a template sees Python values: Go's kinds, type names and fmt's `%v` printing.

A plain dict (or a dataclass or any object) stands for a Go struct and prints as one
(`{v1 v2}`, fields in order); a `GoMap` stands for a Go map (labels, annotations), prints as
`map[k:v]` with sorted keys, and its missing keys evaluate to NO_VALUE, printed `<no value>`.
Values with a `__str__` of their own (pod.util.gotime's times and durations) print as that, as
Go prints a value with a String method. The executor,
the functions, printf and JSON all ask this module what Go kind a value has and how Go prints it,
so that pod's output matches podman's byte for byte.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

from pod.format.floats import go_float
from pod.format.structs import GoStruct
from pod.util import records


class GoMap(dict):
    """A dict with Go map semantics: a missing key reads as `<no value>`, JSON keys are sorted."""


class NilSlice(list):
    """Go's nil slice: empty, printed `[]` like any slice, but `null` in JSON (an empty slice
    is `[]`). None stands for a nil pointer instead, printed `<nil>` / `<no value>`."""


class NilMap(GoMap):
    """Go's nil map: empty, printed `map[]`, `null` in JSON."""


class _NoValue:
    """Go's invalid reflect.Value: what a missing map key evaluates to."""

    def __repr__(self) -> str:
        return "<no value>"


NO_VALUE: Any = _NoValue()


def is_list(value: Any) -> bool:
    return isinstance(value, (list, tuple))


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    return is_int(value) or isinstance(value, float)


def go_type(value: Any) -> str:
    """The Go type name podman would show for a value, for error messages."""
    if value is None or value is NO_VALUE:
        return "<nil>"
    if getattr(value, "GO_TYPE", ""):
        return value.GO_TYPE
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, str):
        return "string"
    if is_int(value):
        return "int"
    if isinstance(value, float):
        return "float64"
    if is_list(value):
        return "[]interface {}"
    if isinstance(value, GoMap):
        return "map[string]string"
    if isinstance(value, Mapping):
        return "map[string]interface {}"
    return type(value).__name__


def sort_key(key: Any) -> tuple[int, Any]:
    """Go's fmt and json print map keys sorted: numbers by value, then strings."""
    if is_number(key):
        return (0, key)
    return (1, str(key))


def struct_fields(value: Any) -> list[tuple[str, Any]]:
    """The (name, value) pairs a dataclass or plain object exposes."""
    if records.is_dataclass(value):
        return [(f.name, getattr(value, f.name)) for f in records.fields(value)]
    return [(k, v) for k, v in vars(value).items() if not k.startswith("_")]


def go_string(value: Any) -> str:
    """Format a value as Go's fmt %v does: `[a b]`, `map[k:v]`, `true`, `<nil>`."""
    if value is NO_VALUE:
        return "<no value>"
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if is_int(value):
        return str(value)
    if isinstance(value, float):
        return go_float(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, enum.Enum):
        return go_string(value.value)
    if is_list(value):
        return "[" + " ".join(go_string(v) for v in value) + "]"
    if isinstance(value, GoMap):
        keys = sorted(value, key=sort_key)
        return "map[" + " ".join(f"{go_string(k)}:{go_string(value[k])}" for k in keys) + "]"
    if isinstance(value, Mapping):
        return "{" + " ".join(go_string(v) for v in value.values()) + "}"
    if isinstance(value, GoStruct) or (
        type(value).__str__ is object.__str__ and hasattr(value, "__dict__")
    ):
        return "{" + " ".join(go_string(v) for _, v in struct_fields(value)) + "}"
    return str(value)


_QUOTE_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_QUOTE_ESCAPES["\v"] = "\\v"
_QUOTE_ESCAPES["\\"] = "\\\\"


def go_quote(text: str, quote: str = '"') -> str:
    """strconv.Quote: printable runes kept, the rest escaped the way Go escapes them."""
    out = [quote]
    for ch in text:
        if ch == quote:
            out.append("\\" + ch)
        elif ch in _QUOTE_ESCAPES:
            out.append(_QUOTE_ESCAPES[ch])
        elif ch.isprintable():
            out.append(ch)
        elif ord(ch) < 0x80:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    out.append(quote)
    return "".join(out)
