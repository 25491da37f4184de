"""`--format` for every command: the Go text/template subset podman users script with.

Scripts written for podman pass Go templates (`{{.ID}}`, `{{range .Mounts}}…{{end}}`,
`table {{.Names}}\\t{{.Status}}`) and parse the output, so the parser, the value printing, the
functions and the table layout follow Go's text/template, fmt, encoding/json and text/tabwriter,
plus the extra functions and "table"/"json" conventions of podman's `pkg/report`.

Standard library only: this module is on the CLI fast path.

Data model: a template sees Python values the way Go sees the structs podman renders.
A plain dict (or a dataclass or any object) stands for a Go struct: a missing field is an error,
as in podman. A `GoMap` stands for a Go map (labels, annotations): a missing key prints
`<no value>`. Attributes of objects are found by their Go name (`CreatedAt`) or its snake_case
form (`created_at`); a zero-argument method is called, as Go calls methods.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pod.errors import PodError

__all__ = [
    "GoMap",
    "Template",
    "compile_template",
    "enforce_range",
    "format_json",
    "go_string",
    "header_name",
    "is_json",
    "is_table",
    "normalize_format",
    "render_rows",
    "render_table",
    "tabulate",
    "tabwrite",
    "to_json",
]


class GoMap(dict):
    """A dict with Go map semantics: a missing key reads as `<no value>`, JSON keys are sorted."""


class _NoValue:
    """Go's invalid reflect.Value: what a missing map key evaluates to."""

    def __repr__(self) -> str:
        return "<no value>"


_NO_VALUE: Any = _NoValue()
_MISSING: Any = object()  # "no final pipeline argument", Go's missingVal
_SPACE = " \t\r\n"

# ---------------------------------------------------------------------------
# Go value formatting (fmt's %v)


def _is_list(value: Any) -> bool:
    return isinstance(value, (list, tuple))


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return _is_int(value) or isinstance(value, float)


def _is_basic(value: Any) -> bool:
    """Values with no fields of their own (Go's builtin kinds)."""
    return value is None or isinstance(value, (str, bytes, int, float, list, tuple, Mapping))


def _go_type(value: Any) -> str:
    """The Go type name podman would show for a value, for error messages."""
    if value is None or value is _NO_VALUE:
        return "<nil>"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, str):
        return "string"
    if _is_int(value):
        return "int"
    if isinstance(value, float):
        return "float64"
    if _is_list(value):
        return "[]interface {}"
    if isinstance(value, Mapping):
        return "map[string]interface {}"
    return type(value).__name__


def _sort_key(key: Any) -> tuple[int, Any]:
    """Go's fmt and json print map keys sorted: numbers by value, then strings."""
    if _is_number(key):
        return (0, key)
    return (1, str(key))


def _struct_fields(value: Any) -> list[tuple[str, Any]]:
    """The (name, value) pairs a dataclass or plain object exposes."""
    if dataclasses.is_dataclass(value):
        return [(f.name, getattr(value, f.name)) for f in dataclasses.fields(value)]
    return [(k, v) for k, v in vars(value).items() if not k.startswith("_")]


def _float_digits(x: float) -> tuple[str, int]:
    """Shortest round-trip decimal digits of abs(x) > 0 and the decimal point position."""
    mantissa, _, exp = repr(abs(x)).partition("e")
    whole, _, frac = mantissa.partition(".")
    digits = (whole + frac).lstrip("0")
    dp = len(whole) + int(exp or 0) - (len(whole + frac) - len(digits))
    return digits.rstrip("0"), dp


def _fixed(digits: str, dp: int) -> str:
    """Digits laid out without an exponent (strconv's %f with shortest precision)."""
    if dp <= 0:
        return "0." + "0" * -dp + digits
    if dp >= len(digits):
        return digits + "0" * (dp - len(digits))
    return digits[:dp] + "." + digits[dp:]


def _exponent(digits: str, dp: int) -> str:
    """Digits in Go's %e layout with at least two exponent digits."""
    mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    exp = dp - 1
    return f"{mantissa}e{'-' if exp < 0 else '+'}{abs(exp):02d}"


def _nonfinite(x: float) -> str | None:
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "+Inf" if x > 0 else "-Inf"
    return None


def _go_float(x: float) -> str:
    """A float as Go's %v prints it: shortest digits, exponent form outside [1e-4, 1e6)."""
    special = _nonfinite(x)
    if special:
        return special
    if x == 0:
        return "-0" if math.copysign(1, x) < 0 else "0"
    digits, dp = _float_digits(x)
    sign = "-" if x < 0 else ""
    if dp - 1 < -4 or dp - 1 >= 6:
        return sign + _exponent(digits, dp)
    return sign + _fixed(digits, dp)


def go_string(value: Any) -> str:
    """Format a value as Go's fmt %v does: `[a b]`, `map[k:v]`, `true`, `<nil>`."""
    if value is _NO_VALUE:
        return "<no value>"
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if _is_int(value):
        return str(value)
    if isinstance(value, float):
        return _go_float(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, enum.Enum):
        return go_string(value.value)
    if _is_list(value):
        return "[" + " ".join(go_string(v) for v in value) + "]"
    if isinstance(value, Mapping):
        keys = sorted(value, key=_sort_key)
        return "map[" + " ".join(f"{go_string(k)}:{go_string(value[k])}" for k in keys) + "]"
    if type(value).__str__ is object.__str__ and hasattr(value, "__dict__"):
        return "{" + " ".join(go_string(v) for _, v in _struct_fields(value)) + "}"
    return str(value)


def _print_value(value: Any) -> str:
    """What `{{pipeline}}` prints: a nil or missing value prints as `<no value>`."""
    if value is None:
        return "<no value>"
    return go_string(value)


_QUOTE_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_QUOTE_ESCAPES["\v"] = "\\v"
_QUOTE_ESCAPES["\\"] = "\\\\"


def _go_quote(text: str, quote: str = '"') -> str:
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


def _rune_name(ch: str) -> str:
    """Go's %#U: `U+0040 '@'`."""
    code = f"U+{ord(ch):04X}"
    return f"{code} '{ch}'" if ch.isprintable() else code


# ---------------------------------------------------------------------------
# JSON as Go's encoding/json writes it


_HTML_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"}
_JSON_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_JSON_ESCAPES.update({"\b": "\\b", "\f": "\\f", "\u2028": "\\u2028", "\u2029": "\\u2029"})
_JSON_SPECIAL = re.compile(r'["\\\x00-\x1f\u2028\u2029<>&\ud800-\udfff]')


def _json_string(text: str, escape_html: bool) -> str:
    def escape(m: re.Match[str]) -> str:
        ch = m.group()
        if ch in _HTML_ESCAPES:
            return _HTML_ESCAPES[ch] if escape_html else ch
        if "\ud800" <= ch <= "\udfff":
            return "\\ufffd"
        return _JSON_ESCAPES.get(ch) or f"\\u{ord(ch):04x}"

    return '"' + _JSON_SPECIAL.sub(escape, text) + '"'


def _json_float(x: float) -> str:
    """encoding/json's float layout: %f between 1e-6 and 1e21, else %e with `e-7` not `e-07`."""
    if _nonfinite(x):
        raise PodError(f"json: unsupported value: {_nonfinite(x)}")
    if x == 0:
        return "-0" if math.copysign(1, x) < 0 else "0"
    digits, dp = _float_digits(x)
    sign = "-" if x < 0 else ""
    if 1e-6 <= abs(x) < 1e21:
        return sign + _fixed(digits, dp)
    return sign + re.sub(r"e([+-])0(\d)$", r"e\1\2", _exponent(digits, dp))


def _json_items(value: Any) -> list[tuple[Any, Any]] | None:
    """The key/value pairs a value encodes as a JSON object, or None if it is not one."""
    if isinstance(value, GoMap):
        return [(k, value[k]) for k in sorted(value, key=lambda k: str(k))]
    if isinstance(value, Mapping):
        return list(value.items())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _struct_fields(value)
    return None


@dataclass(repr=False, eq=False)
class _JsonStyle:
    """How to lay JSON out: indent unit (None for compact) and HTML escaping."""

    indent: str | None
    escape_html: bool


def _json_scalar(value: Any, style: _JsonStyle) -> str | None:
    if value is None or value is _NO_VALUE:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if _is_int(value):
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
        return _json_join("{", parts, "}", style, level)
    if _is_list(value) or isinstance(value, (set, frozenset)):
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


def to_json(value: Any, indent: int | None = None, *, escape_html: bool = False) -> str:
    """Encode like Go's encoding/json: compact by default (the `json` template function).

    Plain dicts keep their order (they stand for structs); GoMap keys are sorted as Go sorts
    map keys; floats print as Go prints them (`2`, not `2.0`).
    """
    style = _JsonStyle(None if indent is None else " " * indent, escape_html)
    return _json_value(value, style, 0)


def format_json(records: Iterable[Any], indent: int = 4, *, escape_html: bool = True) -> str:
    """`--format json` output: the records as an indented JSON array and a newline.

    podman differs per command: `images` and `volume ls` use json.MarshalIndent with four
    spaces, `ps` with two, and `inspect` an encoder with five spaces and no HTML escaping.
    """
    return to_json(list(records), indent, escape_html=escape_html) + "\n"


# ---------------------------------------------------------------------------
# printf: Go's fmt.Sprintf verbs


@dataclass(repr=False, eq=False)
class _Spec:
    """One printf directive's flags, width and precision."""

    flags: str = ""
    width: int | None = None
    prec: int | None = None


def _pad(text: str, spec: _Spec, zero_ok: bool = True) -> str:
    """Pad to the width in runes: left by default, right with `-`, zeros with `0`."""
    if spec.width is None or len(text) >= spec.width:
        return text
    fill = spec.width - len(text)
    if "-" in spec.flags:
        return text + " " * fill
    return ("0" if "0" in spec.flags and zero_ok else " ") * fill + text


def _bad_verb(verb: str, arg: Any) -> str:
    if arg is None:
        return f"%!{verb}(<nil>)"
    return f"%!{verb}({_go_type(arg)}={go_string(arg)})"


def _sign(negative: bool, flags: str) -> str:
    if negative:
        return "-"
    return "+" if "+" in flags else " " if " " in flags else ""


_INT_BASES = {"d": "d", "v": "d", "b": "b", "o": "o", "O": "o", "x": "x", "X": "X"}
_INT_PREFIXES = {"b": "0b", "o": "0", "O": "0o", "x": "0x", "X": "0X"}


def _fmt_int(n: int, verb: str, spec: _Spec) -> str:
    if verb == "c":
        return _pad(chr(n), spec)
    if verb == "q":
        return _pad(_go_quote(chr(n), "'"), spec)
    if verb == "U":
        return _pad(f"U+{n:04X}", spec)
    if verb not in _INT_BASES:
        return _bad_verb(verb, n)
    digits = format(abs(n), _INT_BASES[verb])
    if spec.prec is not None:
        digits = "" if spec.prec == 0 and n == 0 else digits.zfill(spec.prec)
    sign = _sign(n < 0, spec.flags)
    prefix = _INT_PREFIXES.get(verb, "") if "#" in spec.flags or verb == "O" else ""
    zero_pad = "0" in spec.flags and "-" not in spec.flags and spec.prec is None
    if zero_pad and spec.width is not None:
        digits = digits.zfill(spec.width - len(sign))
    return _pad(sign + prefix + digits, _Spec(spec.flags.replace("0", ""), spec.width))


def _fmt_float(x: float, verb: str, spec: _Spec) -> str:
    if verb not in "vgGeEfF":
        return _bad_verb(verb, x)
    special = _nonfinite(x)
    if special:
        return _pad(special, spec, zero_ok=False)
    if verb in "vgG" and spec.prec is None:
        body = _go_float(abs(x)) if x != 0 else "0"
        body = body.upper() if verb == "G" else body
    else:
        prec = 6 if spec.prec is None else spec.prec
        body = format(abs(x), f".{prec}{'g' if verb == 'v' else verb}")
    sign = _sign(x < 0 or math.copysign(1, x) < 0, spec.flags)
    if "0" in spec.flags and "-" not in spec.flags and spec.width is not None:
        body = body.rjust(spec.width - len(sign), "0")
    return _pad(sign + body, spec)


def _fmt_str(text: str, verb: str, spec: _Spec) -> str:
    if spec.prec is not None:
        text = text[: spec.prec]
    if verb in "sv":
        return _pad(text, spec)
    if verb == "q":
        return _pad(_go_quote(text), spec)
    if verb in "xX":
        hexed = text.encode().hex()
        return _pad(hexed.upper() if verb == "X" else hexed, spec)
    return _bad_verb(verb, text)


def _fmt_one(arg: Any, verb: str, spec: _Spec) -> str:
    """Format one printf operand; lists and maps apply the verb to each element as Go does."""
    if verb == "T":
        return _pad(_go_type(arg), spec)
    if arg is None or arg is _NO_VALUE:
        return _pad("<nil>", spec) if verb == "v" else _bad_verb(verb, None)
    if isinstance(arg, bool):
        return _pad(go_string(arg), spec) if verb in "tv" else _bad_verb(verb, arg)
    if _is_int(arg):
        return _fmt_int(arg, verb, spec)
    if isinstance(arg, float):
        return _fmt_float(arg, verb, spec)
    if isinstance(arg, str):
        return _fmt_str(arg, verb, spec)
    if _is_list(arg):
        return "[" + " ".join(_fmt_one(v, verb, spec) for v in arg) + "]"
    if isinstance(arg, Mapping):
        keys = sorted(arg, key=_sort_key)
        pairs = (f"{_fmt_one(k, verb, spec)}:{_fmt_one(arg[k], verb, spec)}" for k in keys)
        return "map[" + " ".join(pairs) + "]"
    if verb in "sv":
        return _pad(go_string(arg), spec)
    return _bad_verb(verb, arg)


@dataclass(repr=False, eq=False)
class _Cursor:
    """Where _sprintf is in its format string and its argument list."""

    fmt: str
    args: list[Any]
    i: int = 0
    argi: int = 0

    def peek(self) -> str:
        return self.fmt[self.i : self.i + 1]

    def number(self) -> tuple[int | None, bool]:
        """A width or precision: digits, or `*` taking an int argument; (value, ok)."""
        if self.peek() == "*":
            self.i += 1
            arg = self.args[self.argi] if self.argi < len(self.args) else None
            self.argi += 1
            return (arg, True) if _is_int(arg) else (None, False)
        start = self.i
        while self.peek().isdigit():
            self.i += 1
        return (int(self.fmt[start : self.i]) if self.i > start else None), True


def _directive(cur: _Cursor, out: list[str]) -> _Spec | None:
    """Parse flags, width and precision after a `%`; None when the format ends first."""
    spec = _Spec()
    while cur.peek() and cur.peek() in "-+# 0":
        spec.flags += cur.peek()
        cur.i += 1
    spec.width, ok = cur.number()
    if not ok:
        out.append("%!(BADWIDTH)")
    if spec.width is not None and spec.width < 0:
        spec.flags, spec.width = spec.flags + "-", -spec.width
    if cur.peek() == ".":
        cur.i += 1
        spec.prec, ok = cur.number()
        if not ok:
            out.append("%!(BADPREC)")
        elif spec.prec is None:
            spec.prec = 0
        if spec.prec is not None and spec.prec < 0:
            spec.prec = None
    if not cur.peek():
        out.append("%!(NOVERB)")
        return None
    return spec


def _sprintf(fmt: str, args: list[Any]) -> str:
    """Go's fmt.Sprintf, including its in-band error notes (`%!d(string=x)`, `%!s(MISSING)`)."""
    out: list[str] = []
    cur = _Cursor(fmt, args)
    while cur.i < len(fmt):
        j = fmt.find("%", cur.i)
        if j < 0:
            out.append(fmt[cur.i :])
            break
        out.append(fmt[cur.i : j])
        cur.i = j + 1
        spec = _directive(cur, out)
        if spec is None:
            break
        verb = fmt[cur.i]
        cur.i += 1
        if verb == "%":
            out.append("%")
        elif cur.argi >= len(args):
            out.append(f"%!{verb}(MISSING)")
        else:
            out.append(_fmt_one(args[cur.argi], verb, spec))
            cur.argi += 1
    if cur.argi < len(args):
        extra = ", ".join(_extra(a) for a in args[cur.argi :])
        out.append(f"%!(EXTRA {extra})")
    return "".join(out)


def _extra(arg: Any) -> str:
    return "<nil>" if arg is None else f"{_go_type(arg)}={go_string(arg)}"


def _sprint(args: list[Any]) -> str:
    """fmt.Sprint: a space between operands when neither is a string."""
    out: list[str] = []
    for n, arg in enumerate(args):
        if n and not isinstance(arg, str) and not isinstance(args[n - 1], str):
            out.append(" ")
        out.append(go_string(arg))
    return "".join(out)


# ---------------------------------------------------------------------------
# Template functions: Go's builtins and podman's report.DefaultFuncs


class _FuncError(Exception):
    """A function failed; reported as `error calling NAME: MSG` like Go."""


class _ArgError(Exception):
    """An argument of the wrong type; reported as Go reports it."""


class _HeaderRow(GoMap):
    """The data a table header line is rendered from: any field reads as its column header."""

    def header(self, name: str) -> _HeaderText:
        return _HeaderText(self.get(name) or header_name(name), self)


class _HeaderText(str):
    """A column header; fields of it are headers too, so `{{.State.Status}}` heads `STATUS`."""

    row: _HeaderRow

    def __new__(cls, text: str, row: _HeaderRow) -> _HeaderText:
        obj = super().__new__(cls, text)
        obj.row = row
        return obj


def _want_str(value: Any) -> str:
    if isinstance(value, str):
        return value
    raise _ArgError(_wrong_type("string", value))


def _want_int(value: Any) -> int:
    if _is_int(value):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise _ArgError(_wrong_type("int", value))


def _wrong_type(expected: str, value: Any) -> str:
    if value is None or value is _NO_VALUE:
        return f"invalid value; expected {expected}"
    return f"wrong type for value; expected {expected}; got {_go_type(value)}"


def _truth(value: Any) -> bool:
    """Go's template truth: false, 0, nil, and empty strings, lists and maps are false."""
    if value is None or value is _NO_VALUE:
        return False
    if isinstance(value, (bool, int, float)):
        return bool(value)
    if isinstance(value, (str, bytes, list, tuple, Mapping, set, frozenset)):
        return len(value) > 0
    return True


def _kind(value: Any) -> str:
    """Go's basicKind for comparisons; ints and floats share one kind here (Go would refuse)."""
    if isinstance(value, bool):
        return "bool"
    if _is_number(value):
        return "number"
    if isinstance(value, str):
        return "string"
    if value is None or value is _NO_VALUE:
        return "nil"
    return "other"


def _fn_eq(arg1: Any, *rest: Any) -> bool:
    if not rest:
        raise _FuncError("missing argument for comparison")
    k1 = _kind(arg1)
    for arg in rest:
        k2 = _kind(arg)
        if k1 != k2:
            if "nil" not in (k1, k2):
                raise _FuncError("incompatible types for comparison")
            continue
        if k1 == "other" and (_is_list(arg1) or isinstance(arg1, Mapping)):
            raise _FuncError(f"non-comparable type {go_string(arg1)}: {_go_type(arg1)}")
        if arg1 == arg or k1 == "nil":
            return True
    return False


def _fn_ne(arg1: Any, arg2: Any) -> bool:
    return not _fn_eq(arg1, arg2)


def _fn_lt(arg1: Any, arg2: Any) -> bool:
    k1, k2 = _kind(arg1), _kind(arg2)
    if k1 not in ("number", "string") or k2 not in ("number", "string"):
        raise _FuncError("invalid type for comparison")
    if k1 != k2:
        raise _FuncError("incompatible types for comparison")
    return arg1 < arg2


def _fn_le(arg1: Any, arg2: Any) -> bool:
    return _fn_lt(arg1, arg2) or _fn_eq(arg1, arg2)


def _fn_gt(arg1: Any, arg2: Any) -> bool:
    return not _fn_le(arg1, arg2)


def _fn_ge(arg1: Any, arg2: Any) -> bool:
    return not _fn_lt(arg1, arg2)


def _fn_not(arg: Any) -> bool:
    return not _truth(arg)


def _fn_len(item: Any) -> int:
    if item is None or item is _NO_VALUE:
        raise _FuncError("len of nil pointer")
    if isinstance(item, str):
        return len(item.encode())
    if isinstance(item, (bytes, list, tuple, Mapping)):
        return len(item)
    raise _FuncError(f"len of type {_go_type(item)}")


def _index_int(index: Any, length: int) -> int:
    if not _is_int(index):
        raise _FuncError(f"cannot index slice/array with type {_go_type(index)}")
    if index < 0 or index >= length:
        raise _FuncError(f"index out of range: {index}")
    return index


def _fn_index(item: Any, *indexes: Any) -> Any:
    if item is None or item is _NO_VALUE:
        raise _FuncError("index of untyped nil")
    for index in indexes:
        if isinstance(item, _HeaderText):
            return item
        if isinstance(item, Mapping):
            item = item.get(index, "")
        elif isinstance(item, str):
            raw = item.encode()
            item = raw[_index_int(index, len(raw))]
        elif _is_list(item):
            item = item[_index_int(index, len(item))]
        elif item is None:
            raise _FuncError("index of nil pointer")
        else:
            raise _FuncError(f"can't index item of type {_go_type(item)}")
    return item


def _fn_slice(item: Any, *indexes: Any) -> Any:
    if item is None or item is _NO_VALUE:
        raise _FuncError("slice of untyped nil")
    if len(indexes) > 3:
        raise _FuncError(f"too many slice indexes: {len(indexes)}")
    if isinstance(item, str) and len(indexes) == 3:
        raise _FuncError("cannot 3-index slice a string")
    if not isinstance(item, str) and not _is_list(item):
        raise _FuncError(f"can't slice item of type {_go_type(item)}")
    bounds = [0, len(item)]
    for n, index in enumerate(indexes[:2]):
        if not _is_int(index) or not 0 <= index <= len(item):
            raise _FuncError(f"index out of range: {go_string(index)}")
        bounds[n] = index
    if bounds[0] > bounds[1]:
        raise _FuncError(f"invalid slice index: {bounds[0]} > {bounds[1]}")
    return item[bounds[0] : bounds[1]]


def _eval_args_text(args: tuple[Any, ...]) -> str:
    """Go's evalArgs for html/js/urlquery: a lone string as is, else fmt.Sprint."""
    if len(args) == 1 and isinstance(args[0], str):
        return args[0]
    return _sprint(list(args))


_HTML_REPLACE = {'"': "&#34;", "'": "&#39;", "&": "&amp;", "<": "&lt;", ">": "&gt;"}
_HTML_REPLACE["\x00"] = "\ufffd"


def _fn_html(*args: Any) -> str:
    return "".join(_HTML_REPLACE.get(ch, ch) for ch in _eval_args_text(args))


def _js_char(ch: str) -> str:
    if ch in "\\'\"":
        return "\\" + ch
    if ch in "<>&=":
        return f"\\u{ord(ch):04X}"
    if ch < " " or (ch >= "\x80" and not ch.isprintable()):
        return f"\\u{ord(ch):04X}"
    return ch


def _fn_js(*args: Any) -> str:
    return "".join(_js_char(ch) for ch in _eval_args_text(args))


def _fn_urlquery(*args: Any) -> str:
    import urllib.parse  # rare in --format; keeps the module's import cheap

    return urllib.parse.quote_plus(_eval_args_text(args), safe="")


def _fn_printf(fmt: Any, *args: Any) -> str:
    return _sprintf(_want_str(fmt), list(args))


def _fn_print(*args: Any) -> str:
    return _sprint(list(args))


def _fn_println(*args: Any) -> str:
    return " ".join(go_string(a) for a in args) + "\n"


def _fn_json(value: Any) -> str:
    return to_json(value)


def _fn_lower(text: Any) -> str:
    return _want_str(text).lower()


def _fn_upper(text: Any) -> str:
    return _want_str(text).upper()


def _is_separator(ch: str) -> bool:
    """strings.Title's word boundary: ASCII other than [A-Za-z0-9_], or Unicode space."""
    if ch < "\x80":
        return not (ch.isalnum() or ch == "_")
    if ch.isalpha() or ch.isdecimal():
        return False
    return ch.isspace()


def _fn_title(text: Any) -> str:
    out, prev = [], " "
    for ch in _want_str(text):
        out.append(ch.title() if _is_separator(prev) and len(ch.title()) == 1 else ch)
        prev = ch
    return "".join(out)


def _fn_truncate(text: Any, length: Any) -> str:
    if _is_int(text) and isinstance(length, str):  # `{{.ID | truncate 12}}`
        text, length = length, text
    text, length = _want_str(text), _want_int(length)
    if length < 0:
        raise _FuncError("runtime error: slice bounds out of range")
    return text if len(text) < length else text[:length]


def _fn_pad(text: Any, prefix: Any, suffix: Any) -> str:
    text, prefix, suffix = _want_str(text), _want_int(prefix), _want_int(suffix)
    if prefix < 0 or suffix < 0:
        raise _FuncError("strings: negative Repeat count")
    return " " * prefix + text + " " * suffix if text else text


def _fn_split(text: Any, sep: Any) -> list[str]:
    text, sep = _want_str(text), _want_str(sep)
    return list(text) if sep == "" else text.split(sep)


def _fn_join(elems: Any, sep: Any) -> str:
    for arg in (elems, sep):
        if isinstance(arg, _HeaderText):
            return arg
    if isinstance(elems, str) and _is_list(sep):  # `{{.Names | join ","}}`
        elems, sep = sep, elems
    if not _is_list(elems):
        raise _ArgError(_wrong_type("[]string", elems))
    return _want_str(sep).join(go_string(e) for e in elems)


@dataclass(repr=False, eq=False)
class _Func:
    """A template function: its implementation and how many arguments it takes."""

    impl: Callable[..., Any] | None  # None: evaluated by the executor (and, or)
    nargs: int
    variadic: bool = False


_FUNCS: dict[str, _Func] = {
    "and": _Func(None, 1, True),
    "or": _Func(None, 1, True),
    "not": _Func(_fn_not, 1),
    "len": _Func(_fn_len, 1),
    "index": _Func(_fn_index, 1, True),
    "slice": _Func(_fn_slice, 1, True),
    "eq": _Func(_fn_eq, 1, True),
    "ne": _Func(_fn_ne, 2),
    "lt": _Func(_fn_lt, 2),
    "le": _Func(_fn_le, 2),
    "gt": _Func(_fn_gt, 2),
    "ge": _Func(_fn_ge, 2),
    "print": _Func(_fn_print, 0, True),
    "printf": _Func(_fn_printf, 1, True),
    "println": _Func(_fn_println, 0, True),
    "html": _Func(_fn_html, 0, True),
    "js": _Func(_fn_js, 0, True),
    "urlquery": _Func(_fn_urlquery, 0, True),
    # podman's report.DefaultFuncs
    "json": _Func(_fn_json, 1),
    "lower": _Func(_fn_lower, 1),
    "upper": _Func(_fn_upper, 1),
    "title": _Func(_fn_title, 1),
    "truncate": _Func(_fn_truncate, 2),
    "pad": _Func(_fn_pad, 3),
    "split": _Func(_fn_split, 2),
    "join": _Func(_fn_join, 2),
}

# ---------------------------------------------------------------------------
# Lexer (text/template/parse/lex.go)


@dataclass(repr=False, eq=False)
class _Tok:
    """A lexed token: type, source text, offset and line."""

    typ: str
    val: str
    pos: int
    line: int

    def __str__(self) -> str:
        if self.typ == "eof":
            return "EOF"
        if self.typ == "error":
            return self.val
        if self.typ in _KEYWORDS.values() or self.typ == "dot":
            return f"<{self.val}>"
        if len(self.val) > 10:
            return _go_quote(self.val[:10]) + "..."
        return _go_quote(self.val)


_KEYWORDS = {
    "block": "block",
    "break": "break",
    "continue": "continue",
    "define": "define",
    "else": "else",
    "end": "end",
    "if": "if",
    "range": "range",
    "nil": "nil",
    "template": "template",
    "with": "with",
}


def _is_digit(ch: str) -> bool:
    return len(ch) == 1 and ch in "0123456789"


def _alnum(ch: str) -> bool:
    return ch == "_" or ch.isalpha() or ch.isdecimal()


class _LexError(Exception):
    """A lexing problem at a position; it ends the token stream as an error token."""

    def __init__(self, pos: int, msg: str) -> None:
        super().__init__(msg)
        self.pos = pos
        self.msg = msg


class _Lexer:
    """Splits a template into text and action tokens, applying `{{- ` and ` -}}` trims."""

    def __init__(self, name: str, src: str) -> None:
        self.name = name
        self.src = src
        self.toks: list[_Tok] = []
        self.depth = 0

    def line(self, pos: int) -> int:
        return self.src.count("\n", 0, pos) + 1

    def emit(self, typ: str, start: int, end: int) -> None:
        self.toks.append(_Tok(typ, self.src[start:end], start, self.line(start)))

    def run(self) -> list[_Tok]:
        """All tokens; a lexing error becomes the last token, for the parser to report in turn."""
        try:
            self.lex_all()
        except _LexError as exc:
            self.toks.append(_Tok("error", exc.msg, exc.pos, self.line(exc.pos)))
        return self.toks

    def lex_all(self) -> None:
        pos = 0
        while (i := self.src.find("{{", pos)) >= 0:
            trim = self.has_left_trim(i + 2)
            end = i
            while trim and end > pos and self.src[end - 1] in _SPACE:
                end -= 1
            if end > pos:
                self.emit("text", pos, end)
            pos = self.action(i, i + 2 + (2 if trim else 0))
        if pos < len(self.src):
            self.emit("text", pos, len(self.src))
        self.emit("eof", len(self.src), len(self.src))

    def has_left_trim(self, p: int) -> bool:
        return self.src[p : p + 1] == "-" and self.src[p + 1 : p + 2] in tuple(_SPACE)

    def at_right(self, p: int) -> tuple[bool, bool]:
        """Whether a right delimiter starts at p, and whether it carries a trim marker."""
        src = self.src
        if src[p : p + 1] in tuple(_SPACE) and src[p + 1 : p + 4] == "-}}":
            return True, True
        return src.startswith("}}", p), False

    def close(self, p: int) -> int:
        """Consume a right delimiter at p; return where the following text starts."""
        _, trim = self.at_right(p)
        p += 4 if trim else 2
        while trim and p < len(self.src) and self.src[p] in _SPACE:
            p += 1
        return p

    def action(self, delim: int, p: int) -> int:
        """Lex the action whose `{{` is at delim and whose content starts at p."""
        if self.src.startswith("/*", p):
            return self.comment(p)
        self.emit("left", delim, delim + 2)
        self.depth = 0
        while True:
            delim, _ = self.at_right(p)
            if delim:
                if self.depth:
                    raise _LexError(p, "unclosed left paren")
                self.emit("right", p, p + 2)
                return self.close(p)
            if p >= len(self.src):
                raise _LexError(p, "unclosed action")
            p = self.token(p)

    def comment(self, p: int) -> int:
        end = self.src.find("*/", p + 2)
        if end < 0:
            raise _LexError(p, "unclosed comment")
        if not self.at_right(end + 2)[0]:
            raise _LexError(end, "comment ends before closing delimiter")
        return self.close(end + 2)

    def token(self, p: int) -> int:
        """Lex one token inside an action starting at p; return the position after it."""
        ch = self.src[p]
        if ch in _SPACE:
            return self.space(p)
        simple = {"=": "assign", "|": "pipe", "(": "lparen", ")": "rparen"}
        if ch in simple:
            return self.simple(p, simple[ch])
        if ch == ":":
            if self.src[p + 1 : p + 2] != "=":
                raise _LexError(p, "expected :=")
            self.emit("declare", p, p + 2)
            return p + 2
        if ch in "\"`'":
            return self.quote(p, ch)
        if ch == "$":
            return self.field_or_var(p, "var")
        if ch == "." and not _is_digit(self.src[p + 1 : p + 2]):
            return self.field_or_var(p, "field")
        if ch in "+-." or _is_digit(ch):
            return self.number(p)
        if _alnum(ch):
            return self.identifier(p)
        if ch < "\x7f" and ch.isprintable():
            self.emit("char", p, p + 1)
            return p + 1
        raise _LexError(p, f"unrecognized character in action: {_rune_name(ch)}")

    def simple(self, p: int, typ: str) -> int:
        self.emit(typ, p, p + 1)
        if typ == "lparen":
            self.depth += 1
        elif typ == "rparen":
            self.depth -= 1
            if self.depth < 0:
                raise _LexError(p, "unexpected right paren")
        return p + 1

    def space(self, p: int) -> int:
        q = p
        while q < len(self.src) and self.src[q] in _SPACE:
            q += 1
        if self.src[q : q + 3] == "-}}":
            q -= 1  # leave the space that belongs to " -}}"
            if q == p:
                return q
        self.emit("space", p, q)
        return q

    def at_terminator(self, p: int) -> bool:
        if p >= len(self.src):
            return True
        return self.src[p] in _SPACE or self.src[p] in ".,|:()" or self.src.startswith("}}", p)

    def field_or_var(self, p: int, typ: str) -> int:
        q = p + 1
        if self.at_terminator(q):
            self.emit("dot" if typ == "field" else "var", p, q)
            return q
        while q < len(self.src) and _alnum(self.src[q]):
            q += 1
        if not self.at_terminator(q):
            raise _LexError(q, f"bad character {_rune_name(self.src[q])}")
        self.emit(typ, p, q)
        return q

    def identifier(self, p: int) -> int:
        q = p
        while q < len(self.src) and _alnum(self.src[q]):
            q += 1
        if not self.at_terminator(q):
            raise _LexError(q, f"bad character {_rune_name(self.src[q])}")
        word = self.src[p:q]
        typ = _KEYWORDS.get(word) or ("bool" if word in ("true", "false") else "ident")
        self.emit(typ, p, q)
        return q

    def number(self, p: int) -> int:
        q = self.scan_number(p)
        if q < len(self.src) and _alnum(self.src[q]):
            raise _LexError(p, f"bad number syntax: {_go_quote(self.src[p : q + 1])}")
        self.emit("number", p, q)
        return q

    def skip(self, q: int, chars: str) -> int:
        while q < len(self.src) and self.src[q] in chars:
            q += 1
        return q

    def accept(self, q: int, chars: str) -> int:
        return q + 1 if q < len(self.src) and self.src[q] in chars else q

    def scan_number(self, p: int) -> int:
        """Go's scanNumber: sign, base prefix, digits, fraction, exponent, imaginary `i`."""
        q = self.accept(p, "+-")
        digits = "0123456789_"
        if self.src[q : q + 1] == "0" and self.src[q + 1 : q + 2] in ("x", "X", "o", "O", "b", "B"):
            bases = {"x": "0123456789abcdefABCDEF_", "o": "01234567_", "b": "01_"}
            digits = bases[self.src[q + 1].lower()]
            q += 2
        q = self.skip(q, digits)
        if self.src[q : q + 1] == ".":
            q = self.skip(q + 1, digits)
        exponent = {11: "eE", 23: "pP"}.get(len(digits), "")
        if exponent and self.accept(q, exponent) > q:
            q = self.skip(self.accept(q + 1, "+-"), "0123456789_")
        return self.accept(q, "i")

    def quote(self, p: int, quote: str) -> int:
        names = {'"': "quoted string", "`": "raw quoted string", "'": "character constant"}
        q = p + 1
        while True:
            if q >= len(self.src) or (quote != "`" and self.src[q] == "\n"):
                raise _LexError(p, f"unterminated {names[quote]}")
            ch = self.src[q]
            if ch == "\\" and quote != "`":
                if q + 1 >= len(self.src) or self.src[q + 1] == "\n":
                    raise _LexError(p, f"unterminated {names[quote]}")
                q += 2
                continue
            q += 1
            if ch == quote:
                break
        typ = {'"': "string", "`": "raw", "'": "charconst"}[quote]
        self.emit(typ, p, q)
        return q


# ---------------------------------------------------------------------------
# Parse tree (text/template/parse/node.go)


@dataclass(repr=False, eq=False)
class _Node:
    """A parse-tree node; pos is its offset in the template, for error messages."""

    pos: int


@dataclass(repr=False, eq=False)
class _Text(_Node):
    """Literal text between actions."""

    text: str


@dataclass(repr=False, eq=False)
class _Dot(_Node):
    """`.`, the current data."""

    def __str__(self) -> str:
        return "."


@dataclass(repr=False, eq=False)
class _Nil(_Node):
    """The `nil` literal."""

    def __str__(self) -> str:
        return "nil"


@dataclass(repr=False, eq=False)
class _Bool(_Node):
    """A `true` / `false` literal."""

    value: bool

    def __str__(self) -> str:
        return "true" if self.value else "false"


@dataclass(repr=False, eq=False)
class _Number(_Node):
    """A number or character literal with its Go value."""

    text: str
    value: int | float

    def __str__(self) -> str:
        return self.text


@dataclass(repr=False, eq=False)
class _String(_Node):
    """A quoted or raw string literal."""

    quoted: str
    value: str

    def __str__(self) -> str:
        return self.quoted


@dataclass(repr=False, eq=False)
class _Field(_Node):
    """`.A.B`: fields looked up from dot."""

    idents: tuple[str, ...]

    def __str__(self) -> str:
        return "".join("." + i for i in self.idents)


@dataclass(repr=False, eq=False)
class _Var(_Node):
    """`$x.A`: a variable and optional fields."""

    idents: tuple[str, ...]  # idents[0] is the variable name with its `$`

    def __str__(self) -> str:
        return ".".join(self.idents)


@dataclass(repr=False, eq=False)
class _Ident(_Node):
    """A function name."""

    name: str

    def __str__(self) -> str:
        return self.name


@dataclass(repr=False, eq=False)
class _Cmd(_Node):
    """One pipeline stage: an operand or a function with its arguments."""

    args: list[_Node]

    def __str__(self) -> str:
        return " ".join(f"({a})" if isinstance(a, _Pipe) else str(a) for a in self.args)


@dataclass(repr=False, eq=False)
class _Pipe(_Node):
    """Commands joined by `|`, with optional `$x :=` declarations."""

    decl: list[str]
    is_assign: bool
    cmds: list[_Cmd]

    def __str__(self) -> str:
        text = " | ".join(str(c) for c in self.cmds)
        if self.decl:
            op = " = " if self.is_assign else " := "
            text = ", ".join(self.decl) + op + text
        return text


@dataclass(repr=False, eq=False)
class _Chain(_Node):
    """`(pipeline).A.B`: fields of a computed value."""

    node: _Node
    fields: tuple[str, ...]

    def __str__(self) -> str:
        base = f"({self.node})" if isinstance(self.node, _Pipe) else str(self.node)
        return base + "".join("." + f for f in self.fields)


@dataclass(repr=False, eq=False)
class _Action(_Node):
    """`{{pipeline}}`: evaluate and print (unless it declares variables)."""

    pipe: _Pipe

    def __str__(self) -> str:
        return "{{" + str(self.pipe) + "}}"


@dataclass(repr=False, eq=False)
class _Control(_Node):
    """if, range and with: a pipeline, a body and an optional else body."""

    kind: str
    pipe: _Pipe
    body: list[_Node]
    else_body: list[_Node] | None

    def __str__(self) -> str:
        return "{{" + self.kind + " " + str(self.pipe) + "}}"


@dataclass(repr=False, eq=False)
class _Break(_Node):
    """`{{break}}` in a range."""

    def __str__(self) -> str:
        return "{{break}}"


@dataclass(repr=False, eq=False)
class _Continue(_Node):
    """`{{continue}}` in a range."""

    def __str__(self) -> str:
        return "{{continue}}"


@dataclass(repr=False, eq=False)
class _End(_Node):
    """`{{end}}`, only seen by the parser."""

    def __str__(self) -> str:
        return "{{end}}"


@dataclass(repr=False, eq=False)
class _Else(_Node):
    """`{{else}}`, only seen by the parser."""

    def __str__(self) -> str:
        return "{{else}}"


_OPERAND_START = {
    "bool",
    "charconst",
    "dot",
    "field",
    "ident",
    "number",
    "nil",
    "raw",
    "string",
    "var",
    "lparen",
}


class _Parser:
    """Builds the node tree from tokens, following text/template/parse/parse.go."""

    def __init__(self, name: str, toks: list[_Tok]) -> None:
        self.name = name
        self.toks = toks
        self.i = 0
        self.vars = ["$"]
        self.range_depth = 0
        self.action_line = 0

    def error(self, msg: str) -> PodError:
        line = self.toks[min(max(self.i - 1, 0), len(self.toks) - 1)].line
        return PodError(f"template: {self.name}:{line}: {msg}")

    def next(self) -> _Tok:
        tok = self.peek()
        self.i += 1
        return tok

    def peek(self) -> _Tok:
        return self.toks[min(self.i, len(self.toks) - 1)]

    def next_non_space(self) -> _Tok:
        tok = self.next()
        while tok.typ == "space":
            tok = self.next()
        return tok

    def peek_non_space(self) -> _Tok:
        while self.peek().typ == "space":
            self.next()
        return self.peek()

    def backup(self) -> None:
        self.i -= 1

    def expect(self, typ: str, context: str) -> _Tok:
        tok = self.next_non_space()
        if tok.typ != typ:
            raise self.unexpected(tok, context)
        return tok

    def unexpected(self, tok: _Tok, context: str) -> PodError:
        if tok.typ != "error":
            return self.error(f"unexpected {tok} in {context}")
        extra = ""
        if self.action_line and self.action_line != tok.line:
            extra = f" in action started at {self.name}:{self.action_line}"
            if tok.val.endswith(" action"):
                extra = extra[len(" in action") :]
        return self.error(tok.val + extra)

    def parse(self) -> list[_Node]:
        root: list[_Node] = []
        while self.peek().typ != "eof":
            node = self.text_or_action()
            if isinstance(node, (_End, _Else)):
                raise self.error(f"unexpected {node}")
            root.append(node)
        return root

    def item_list(self) -> tuple[list[_Node], _Node]:
        nodes: list[_Node] = []
        while self.peek_non_space().typ != "eof":
            node = self.text_or_action()
            if isinstance(node, (_End, _Else)):
                return nodes, node
            nodes.append(node)
        raise self.error("unexpected EOF")

    def text_or_action(self) -> _Node:
        tok = self.next_non_space()
        if tok.typ == "text":
            return _Text(tok.pos, tok.val)
        if tok.typ == "left":
            self.action_line = tok.line
            try:
                return self.action()
            finally:
                self.action_line = 0
        raise self.unexpected(tok, "input")

    def action(self) -> _Node:
        tok = self.next_non_space()
        if tok.typ in ("if", "range", "with"):
            return self.control(tok.typ)
        if tok.typ == "else":
            return self.else_control()
        if tok.typ == "end":
            return _End(self.expect("right", "end").pos)
        if tok.typ in ("break", "continue"):
            return self.loop_control(tok)
        if tok.typ in ("define", "template", "block"):
            raise self.error(f"{{{{{tok.val}}}}} is not supported in --format templates")
        self.backup()
        return _Action(self.peek().pos, self.pipeline("command", "right"))

    def loop_control(self, tok: _Tok) -> _Node:
        if self.next_non_space().typ != "right":
            raise self.unexpected(self.toks[self.i - 1], f"{{{{{tok.val}}}}}")
        if not self.range_depth:
            raise self.error(f"{{{{{tok.val}}}}} outside {{{{range}}}}")
        return _Break(tok.pos) if tok.typ == "break" else _Continue(tok.pos)

    def else_control(self) -> _Node:
        peek = self.peek_non_space()
        if peek.typ in ("if", "with"):
            return _Else(peek.pos)
        return _Else(self.expect("right", "else").pos)

    def control(self, kind: str) -> _Control:
        mark = len(self.vars)
        try:
            pipe = self.pipeline(kind, "right")
            loop = int(kind == "range")
            self.range_depth += loop
            body, nxt = self.item_list()
            self.range_depth -= loop
            return _Control(pipe.pos, kind, pipe, body, self.else_part(kind, nxt))
        finally:
            del self.vars[mark:]

    def else_part(self, kind: str, nxt: _Node) -> list[_Node] | None:
        """The else body; `{{else if}}` / `{{else with}}` nest and share the one `{{end}}`."""
        if isinstance(nxt, _End):
            return None
        if kind in ("if", "with") and self.peek().typ == kind:
            self.next()
            return [self.control(kind)]
        body, end = self.item_list()
        if not isinstance(end, _End):
            raise self.error(f"expected end; found {end}")
        return body

    def declarations(self, pipe: _Pipe, context: str) -> None:
        while (v := self.peek_non_space()).typ == "var":
            start = self.i
            self.next()
            nxt = self.peek_non_space()
            if nxt.typ in ("assign", "declare"):
                pipe.is_assign = nxt.typ == "assign"
                self.next()
                pipe.decl.append(v.val)
                self.vars.append(v.val)
                return
            if nxt.typ == "char" and nxt.val == ",":
                self.next()
                pipe.decl.append(v.val)
                self.vars.append(v.val)
                if context == "range" and len(pipe.decl) < 2:
                    if self.peek_non_space().typ in ("var", "right", "rparen"):
                        continue
                    raise self.error("range can only initialize variables")
                raise self.error(f"too many declarations in {context}")
            self.i = start
            return

    def pipeline(self, context: str, end: str) -> _Pipe:
        pipe = _Pipe(self.peek_non_space().pos, [], False, [])
        self.declarations(pipe, context)
        while True:
            tok = self.next_non_space()
            if tok.typ == end:
                self.check_pipeline(pipe, context)
                return pipe
            if tok.typ not in _OPERAND_START:
                raise self.unexpected(tok, context)
            self.backup()
            pipe.cmds.append(self.command())

    def check_pipeline(self, pipe: _Pipe, context: str) -> None:
        if not pipe.cmds:
            raise self.error(f"missing value for {context}")
        for stage, cmd in enumerate(pipe.cmds[1:], start=2):
            if isinstance(cmd.args[0], (_Bool, _Dot, _Nil, _Number, _String)):
                raise self.error(f"non executable command in pipeline stage {stage}")

    def command(self) -> _Cmd:
        cmd = _Cmd(self.peek_non_space().pos, [])
        while True:
            self.peek_non_space()
            operand = self.operand()
            if operand is not None:
                cmd.args.append(operand)
            tok = self.next()
            if tok.typ == "space":
                continue
            if tok.typ in ("right", "rparen"):
                self.backup()
            elif tok.typ != "pipe":
                raise self.unexpected(tok, "operand")
            break
        if not cmd.args:
            raise self.error("empty command")
        return cmd

    def operand(self) -> _Node | None:
        node = self.term()
        if node is None or self.peek().typ != "field":
            return node
        pos, fields = self.peek().pos, []
        while self.peek().typ == "field":
            fields.append(self.next().val[1:])
        if isinstance(node, _Field):
            return _Field(pos, node.idents + tuple(fields))
        if isinstance(node, _Var):
            return _Var(pos, node.idents + tuple(fields))
        if isinstance(node, (_Bool, _String, _Number, _Nil, _Dot)):
            raise self.error(f"unexpected . after term {_go_quote(str(node))}")
        return _Chain(pos, node, tuple(fields))

    def term(self) -> _Node | None:
        tok = self.next_non_space()
        typ = tok.typ
        if typ == "ident":
            if tok.val not in _FUNCS:
                raise self.error(f"function {_go_quote(tok.val)} not defined")
            return _Ident(tok.pos, tok.val)
        if typ == "dot":
            return _Dot(tok.pos)
        if typ == "nil":
            return _Nil(tok.pos)
        if typ == "var":
            if tok.val not in self.vars:
                raise self.error(f"undefined variable {_go_quote(tok.val)}")
            return _Var(tok.pos, (tok.val,))
        if typ == "field":
            return _Field(tok.pos, (tok.val[1:],))
        if typ == "bool":
            return _Bool(tok.pos, tok.val == "true")
        if typ in ("number", "charconst"):
            return _Number(tok.pos, tok.val, self.number_value(tok))
        if typ == "lparen":
            return self.pipeline("parenthesized pipeline", "rparen")
        if typ in ("string", "raw"):
            return _String(tok.pos, tok.val, self.unquote(tok.val))
        self.backup()
        return None

    def number_value(self, tok: _Tok) -> int | float:
        """A number or character constant's value: an int when it is one, else a float."""
        text = tok.val
        if tok.typ == "charconst":
            value = self.unquote('"' + text[1:-1].replace('"', '\\"') + '"')
            if len(value) != 1:
                raise self.error(f"malformed character constant: {text}")
            return ord(value)
        if text.endswith("i"):
            raise self.error(f"complex numbers are not supported: {text}")
        digits = text.replace("_", "")
        octal = re.fullmatch(r"([+-]?)(0[0-7]+)", digits)
        if octal:
            return int(octal.group(1) + octal.group(2), 8)
        try:
            return int(digits, 0)
        except ValueError:
            pass
        try:
            if "x" in digits.lower():
                return float.fromhex(digits)
            return float(digits)
        except ValueError:
            raise self.error(f"illegal number syntax: {_go_quote(text)}") from None

    def unquote(self, quoted: str) -> str:
        """strconv.Unquote for "..." and `...` literals."""
        if quoted[0] == "`":
            return quoted[1:-1]
        try:
            return _unescape(quoted[1:-1])
        except ValueError:
            raise self.error("invalid syntax") from None


_SIMPLE_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}
_SIMPLE_ESCAPES.update({"\\": "\\", '"': '"', "'": "'"})
_ESCAPE_RE = re.compile(r"\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-7]{3}|.)", re.S)


def _unescape(body: str) -> str:
    """Go string escapes: \\n, \\t, \\xNN, \\NNN, \\uNNNN, \\UNNNNNNNN; anything else is invalid."""

    def one(m: re.Match[str]) -> str:
        esc = m.group(1)
        if esc in _SIMPLE_ESCAPES:
            return _SIMPLE_ESCAPES[esc]
        if esc[0] in "xuU":
            return chr(int(esc[1:], 16))
        if esc[0] in "01234567" and len(esc) == 3:
            return chr(int(esc, 8))
        raise ValueError(esc)

    return _ESCAPE_RE.sub(one, body)


# ---------------------------------------------------------------------------
# Execution (text/template/exec.go)


class _BreakLoop(Exception):
    """{{break}} unwinding to its range."""


class _ContinueLoop(Exception):
    """{{continue}} unwinding to its range."""


_SNAKE_RE = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def _attribute(obj: Any, name: str) -> tuple[bool, Any]:
    """An object's attribute by Go name, then by its snake_case form; private names are hidden."""
    if name.startswith("_"):
        return False, None
    for attr in (name, _SNAKE_RE.sub("_", name).lower()):
        try:
            return True, getattr(obj, attr)
        except AttributeError:
            continue
    return False, None


class _Exec:
    """One execution of a template: the output, the variable stack and the node being run."""

    def __init__(self, template: Template, data: Any) -> None:
        self.t = template
        self.out: list[str] = []
        self.vars: list[list[Any]] = [["$", data]]
        self.node: _Node | None = None

    def error(self, msg: str) -> PodError:
        name = self.t.name
        if self.node is None:
            return PodError(f"template: {name}: {msg}")
        before = self.t.text[: self.node.pos]
        line = before.count("\n") + 1
        col = len(before[before.rfind("\n") + 1 :].encode())
        where = f"{name}:{line}:{col}"
        return PodError(f"template: {where}: executing {_go_quote(name)} at <{self.node}>: {msg}")

    def at(self, node: _Node) -> None:
        self.node = node

    # variables

    def push(self, name: str, value: Any) -> None:
        self.vars.append([name, value])

    def mark(self) -> int:
        return len(self.vars)

    def pop(self, mark: int) -> None:
        del self.vars[mark:]

    def set_var(self, name: str, value: Any) -> None:
        for slot in reversed(self.vars):
            if slot[0] == name:
                slot[1] = value
                return
        raise self.error(f"undefined variable: {name}")

    def var(self, name: str) -> Any:
        for slot in reversed(self.vars):
            if slot[0] == name:
                return slot[1]
        raise self.error(f"undefined variable: {name}")

    # walking

    def walk(self, dot: Any, nodes: list[_Node]) -> None:
        for node in nodes:
            self.walk_node(dot, node)

    def walk_node(self, dot: Any, node: _Node) -> None:
        self.at(node)
        if isinstance(node, _Text):
            self.out.append(node.text)
        elif isinstance(node, _Action):
            value = self.eval_pipeline(dot, node.pipe)
            if not node.pipe.decl:
                self.out.append(_print_value(value))
        elif isinstance(node, _Control):
            if node.kind == "range":
                self.walk_range(dot, node)
            else:
                self.walk_if_or_with(dot, node)
        elif isinstance(node, _Break):
            raise _BreakLoop
        elif isinstance(node, _Continue):
            raise _ContinueLoop

    def walk_if_or_with(self, dot: Any, node: _Control) -> None:
        mark = self.mark()
        try:
            value = self.eval_pipeline(dot, node.pipe)
            if _truth(value):
                self.walk(value if node.kind == "with" else dot, node.body)
            elif node.else_body is not None:
                self.walk(dot, node.else_body)
        finally:
            self.pop(mark)

    def walk_range(self, dot: Any, node: _Control) -> None:
        mark = self.mark()
        try:
            value = self.eval_pipeline(dot, node.pipe)
            inner = self.mark()
            ran = False
            for index, elem in self.range_items(value, node):
                ran = True
                self.set_loop_vars(node.pipe, index, elem)
                try:
                    self.walk(elem, node.body)
                except _ContinueLoop:
                    pass
                except _BreakLoop:
                    break
                finally:
                    self.pop(inner)
            if not ran and node.else_body is not None:
                self.walk(dot, node.else_body)
        finally:
            self.pop(mark)

    def range_items(self, value: Any, node: _Control) -> Iterator[tuple[Any, Any]]:
        self.at(node)
        if value is None or value is _NO_VALUE:
            return iter(())
        if isinstance(value, _HeaderText):
            return iter([(0, value)])
        if _is_list(value):
            return enumerate(value)
        if isinstance(value, Mapping):
            return ((k, value[k]) for k in sorted(value, key=_sort_key))
        if _is_int(value):
            if len(node.pipe.decl) > 1:
                raise self.error(f"can't use {value} to iterate over more than one variable")
            return ((i, i) for i in range(value))
        raise self.error(f"range can't iterate over {go_string(value)}")

    def set_loop_vars(self, pipe: _Pipe, index: Any, elem: Any) -> None:
        """One variable gets the element; two get the index (or key) and the element."""
        if not pipe.decl:
            return
        if pipe.is_assign:
            names = pipe.decl
            if len(names) == 1:
                self.set_var(names[0], elem)
            else:
                self.set_var(names[0], index)
                self.set_var(names[1], elem)
            return
        self.vars[-1][1] = elem
        if len(pipe.decl) > 1:
            self.vars[-2][1] = index

    # evaluation

    def eval_pipeline(self, dot: Any, pipe: _Pipe) -> Any:
        value = _MISSING
        for cmd in pipe.cmds:
            value = self.eval_command(dot, cmd, value)
        for name in pipe.decl:
            if pipe.is_assign:
                self.set_var(name, value)
            else:
                self.push(name, value)
        return value

    def eval_command(self, dot: Any, cmd: _Cmd, final: Any) -> Any:
        first = cmd.args[0]
        if isinstance(first, _Field):
            self.at(first)
            return self.eval_field_chain(dot, dot, first, first.idents, cmd.args, final)
        if isinstance(first, _Var):
            return self.eval_variable(dot, first, cmd.args, final)
        if isinstance(first, _Chain):
            return self.eval_chain(dot, first, cmd.args, final)
        if isinstance(first, _Ident):
            return self.eval_function(dot, first, cmd.args, final)
        self.at(first)
        self.not_a_function(cmd.args, final)
        if isinstance(first, _Pipe):
            return self.eval_pipeline(dot, first)
        if isinstance(first, _Nil):
            raise self.error("nil is not a command")
        return self.constant(dot, first)

    def constant(self, dot: Any, node: _Node) -> Any:
        if isinstance(node, _Dot):
            return dot
        if isinstance(node, _Bool):
            return node.value
        if isinstance(node, _Number):
            return node.value
        if isinstance(node, _String):
            return node.value
        return None

    def not_a_function(self, args: list[_Node], final: Any) -> None:
        if len(args) > 1 or final is not _MISSING:
            raise self.error(f"can't give argument to non-function {args[0]}")

    def eval_variable(self, dot: Any, node: _Var, args: list[_Node], final: Any) -> Any:
        self.at(node)
        value = self.var(node.idents[0])
        if len(node.idents) == 1:
            self.not_a_function(args, final)
            return value
        return self.eval_field_chain(dot, value, node, node.idents[1:], args, final)

    def eval_chain(self, dot: Any, node: _Chain, args: list[_Node], final: Any) -> Any:
        if isinstance(node.node, _Nil):
            raise self.error(f"indirection through explicit nil in {node}")
        value = self.eval_arg(dot, node.node)
        return self.eval_field_chain(dot, value, node, node.fields, args, final)

    def eval_field_chain(
        self,
        dot: Any,
        receiver: Any,
        node: _Node,
        idents: Sequence[str],
        args: list[_Node],
        final: Any,
    ) -> Any:
        for name in idents[:-1]:
            receiver = self.eval_field(dot, name, node, [node], _MISSING, receiver)
        return self.eval_field(dot, idents[-1], node, args, final, receiver)

    def eval_field(
        self, dot: Any, name: str, node: _Node, args: list[_Node], final: Any, receiver: Any
    ) -> Any:
        """`.name` of a value: a struct field, a map key, or a method call."""
        if receiver is _NO_VALUE:
            return _NO_VALUE
        if receiver is None:
            raise self.error(f"nil pointer evaluating interface {{}}.{name}")
        if isinstance(receiver, (_HeaderRow, _HeaderText)):
            row = receiver if isinstance(receiver, _HeaderRow) else receiver.row
            return row.header(name)
        has_args = len(args) > 1 or final is not _MISSING
        if isinstance(receiver, Mapping):
            if has_args:
                raise self.error(f"{name} is not a method but has arguments")
            if name in receiver:
                return receiver[name]
            if isinstance(receiver, GoMap):
                return _NO_VALUE
        elif not _is_basic(receiver):
            found, value = _attribute(receiver, name)
            if found and callable(value) and not isinstance(value, type):
                return self.call(dot, value, name, node, args, final)
            if found:
                if has_args:
                    raise self.error(f"{name} has arguments but cannot be invoked as function")
                return value
        raise self.error(f"can't evaluate field {name} in type {_go_type(receiver)}")

    def eval_arg(self, dot: Any, node: _Node) -> Any:
        self.at(node)
        if isinstance(node, _Field):
            return self.eval_field_chain(dot, dot, node, node.idents, [node], _MISSING)
        if isinstance(node, _Var):
            return self.eval_variable(dot, node, [node], _MISSING)
        if isinstance(node, _Chain):
            return self.eval_chain(dot, node, [node], _MISSING)
        if isinstance(node, _Pipe):
            return self.eval_pipeline(dot, node)
        if isinstance(node, _Ident):
            return self.eval_function(dot, node, [node], _MISSING)
        return self.constant(dot, node)

    def eval_function(self, dot: Any, node: _Ident, args: list[_Node], final: Any) -> Any:
        self.at(node)
        func = _FUNCS[node.name]
        count = len(args) - 1 + (final is not _MISSING)
        if count < func.nargs or (count > func.nargs and not func.variadic):
            want = f"at least {func.nargs}" if func.variadic else str(func.nargs)
            raise self.error(f"wrong number of args for {node.name}: want {want} got {count}")
        if func.impl is None:
            return self.eval_and_or(dot, node.name, args[1:], final)
        return self.call(dot, func.impl, node.name, node, args, final)

    def eval_and_or(self, dot: Any, name: str, args: list[_Node], final: Any) -> Any:
        """`and`/`or` stop at the first operand that decides the result, as Go 1.18+ does."""
        value: Any = None
        for arg in args:
            value = self.eval_arg(dot, arg)
            if _truth(value) == (name == "or"):
                return value
        return final if final is not _MISSING else value

    def call(
        self,
        dot: Any,
        func: Callable[..., Any],
        name: str,
        node: _Node,
        args: list[_Node],
        final: Any,
    ) -> Any:
        argv = [self.eval_arg(dot, a) for a in args[1:]]
        if final is not _MISSING:
            argv.append(final)
        argv = [None if a is _NO_VALUE else a for a in argv]
        self.at(node)
        try:
            return func(*argv)
        except _FuncError as exc:
            raise self.error(f"error calling {name}: {exc}") from None
        except _ArgError as exc:
            raise self.error(str(exc)) from None
        except TypeError as exc:
            if func in {f.impl for f in _FUNCS.values()}:
                raise
            raise self.error(f"error calling {name}: {exc}") from None


# ---------------------------------------------------------------------------
# Public API


@dataclass(frozen=True, eq=False)
class Template:
    """A parsed Go template: parse once with compile_template, render for every record."""

    name: str
    text: str
    root: list[_Node] = field(repr=False)

    def render(self, data: Any) -> str:
        """Execute against a dict, list, dataclass or object; errors raise PodError (exit 125)."""
        run = _Exec(self, data)
        run.walk(data, self.root)
        return "".join(run.out)


def compile_template(text: str, name: str = "format") -> Template:
    """Parse Go template text as is (no podman normalization); name appears in error messages."""
    toks = _Lexer(name, text).run()
    return Template(name, text, _Parser(name, toks).parse())


_TABLE_REPLACER = re.compile(r"table |\\t| |\\n")
_TABLE_REPLACEMENTS = {"table ": "", "\\t": "\t", " ": "\t", "\\n": "\n"}
_RANGE_RE = re.compile(r"\{\{\s*range\s*\.\s*\}\}.*\{\{\s*end\s*-?\s*\}\}", re.S)
_JSON_RE = re.compile(r"^\s*(json|\{\{\s*json *\.?\s*\}\})\s*$")


def is_table(fmt: str) -> bool:
    """podman's report.HasTable: `table ...` formats print a header row and align columns."""
    return fmt.startswith("table ")


def is_json(fmt: str) -> bool:
    """podman's report.IsJSON: `json`, `{{json}}`, `{{ json . }}` ask for the JSON output."""
    return bool(_JSON_RE.match(fmt))


def normalize_format(fmt: str) -> str:
    """podman's NormalizeFormat: `\\t`/`\\n` escapes from the shell, a final newline.

    For `table` formats it also drops the keyword and turns every space into a column break,
    exactly as podman does (so `table {{.ID}} {{.Image}}` makes two columns).
    """
    if is_table(fmt):
        out = _TABLE_REPLACER.sub(lambda m: _TABLE_REPLACEMENTS[m.group()], fmt)
    else:
        out = fmt.replace("\\t", "\t").replace("\\n", "\n")
    return out if out.endswith("\n") else out + "\n"


def enforce_range(fmt: str) -> str:
    """Wrap a per-record format in `{{range .}}…{{end -}}` unless it ranges over `.` itself."""
    if _RANGE_RE.search(fmt):
        return fmt
    return "{{range .}}" + fmt + "{{end -}}"


def _compile_list_format(fmt: str, name: str) -> Template:
    """podman's Formatter.Parse: try the normalized text, fall back to the text as given.

    The fallback keeps formats like `{{printf "a\\tb"}}` working that normalization would break.
    """
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


def render_table(
    rows: Iterable[Any],
    template_text: str,
    headers: Mapping[str, str] | None = None,
    *,
    heading: bool = True,
    name: str = "format",
) -> str:
    """A `table ...` format, or a command's default row template, as aligned columns.

    The header line is the same template rendered with every field replaced by its header:
    headers[field] when the command names it, else header_name(field), upper-cased as podman
    does. Output goes through tabwrite, as podman's goes through Go's tabwriter.
    """
    template = _compile_list_format(template_text, name)
    text = ""
    if heading:
        row = _HeaderRow({k: v.upper() for k, v in (headers or {}).items()})
        text = template.render([row])
    return tabwrite(text + template.render(list(rows)))


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


# ---------------------------------------------------------------------------
# Go's text/tabwriter


@dataclass(repr=False, eq=False)
class _Cell:
    """A tabwriter cell and whether a tab (not a line end) terminated it."""

    text: str
    htab: bool


@dataclass(repr=False, eq=False)
class _TabConfig:
    """Go tabwriter settings."""

    minwidth: int
    tabwidth: int
    padding: int
    padchar: str


def tabwrite(
    text: str, minwidth: int = 12, tabwidth: int = 2, padding: int = 2, padchar: str = " "
) -> str:
    """Align tab-terminated cells exactly as Go's tabwriter (podman: 12, 2, 2, ' ', 0).

    Cells are tab-terminated: the text after a line's last tab is not part of a column.
    A column block is the run of consecutive lines that have a cell in that column; its width
    is the widest cell plus padding, at least minwidth.
    """
    cfg = _TabConfig(minwidth, tabwidth, padding, padchar)
    out: list[str] = []
    lines: list[list[_Cell]] = [[]]
    start = 0
    for i, ch in enumerate(text):
        if ch not in "\t\v\n\f":
            continue
        lines[-1].append(_Cell(text[start:i], ch == "\t"))
        start = i + 1
        if ch in "\n\f":
            cells = len(lines[-1])
            lines.append([])
            if ch == "\f" or cells == 1:
                _flush(lines, cfg, out)
                lines = [[]]
    if start < len(text):
        lines[-1].append(_Cell(text[start:], False))
    _flush(lines, cfg, out)
    return "".join(out)


def tabulate(rows: Iterable[Sequence[str]]) -> str:
    """Rows of cells as podman prints its tables (each row ends with a newline)."""
    return tabwrite("".join("\t".join(row) + "\n" for row in rows))


def _flush(lines: list[list[_Cell]], cfg: _TabConfig, out: list[str]) -> None:
    _format_block(lines, 0, len(lines), [], cfg, out)


def _format_block(
    lines: list[list[_Cell]],
    line0: int,
    line1: int,
    widths: list[int],
    cfg: _TabConfig,
    out: list[str],
) -> None:
    column = len(widths)
    this = line0
    while this < line1:
        if column < len(lines[this]) - 1:
            _write_lines(lines, line0, this, widths, cfg, out)
            line0 = this
            width = cfg.minwidth
            while this < line1 and column < len(lines[this]) - 1:
                width = max(width, len(lines[this][column].text) + cfg.padding)
                this += 1
            _format_block(lines, line0, this, widths + [width], cfg, out)
            line0 = this
        this += 1
    _write_lines(lines, line0, line1, widths, cfg, out)


def _write_lines(
    lines: list[list[_Cell]],
    line0: int,
    line1: int,
    widths: list[int],
    cfg: _TabConfig,
    out: list[str],
) -> None:
    for i in range(line0, line1):
        for j, cell in enumerate(lines[i]):
            out.append(cell.text)
            if j < len(widths):
                out.append(_padding(len(cell.text), widths[j], cfg))
        if i + 1 < len(lines):
            out.append("\n")


def _padding(textw: int, cellw: int, cfg: _TabConfig) -> str:
    if cfg.padchar != "\t":
        return cfg.padchar * (cellw - textw)
    if cfg.tabwidth == 0:
        return ""
    cellw = -(-cellw // cfg.tabwidth) * cfg.tabwidth
    return "\t" * -(-(cellw - textw) // cfg.tabwidth)
