"""Go's fmt.Sprintf and fmt.Sprint, for the template functions printf, print and println.

Formats written for podman use Go's verbs (`%-12s`, `%5.2f`, `%x`, `%q`), and Go reports mistakes
in band (`%!d(string=x)`, `%!s(MISSING)`) instead of failing: both are reproduced here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from pod.format.floats import go_float, nonfinite
from pod.format.values import NO_VALUE, go_quote, go_string, go_type, is_int, is_list, sort_key
from pod.util.records import dataclass


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
    return f"%!{verb}({go_type(arg)}={go_string(arg)})"


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
        return _pad(go_quote(chr(n), "'"), spec)
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
    special = nonfinite(x)
    if special:
        return _pad(special, spec, zero_ok=False)
    if verb in "vgG" and spec.prec is None:
        body = go_float(abs(x)) if x != 0 else "0"
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
        return _pad(go_quote(text), spec)
    if verb in "xX":
        hexed = text.encode().hex()
        return _pad(hexed.upper() if verb == "X" else hexed, spec)
    return _bad_verb(verb, text)


def _fmt_one(arg: Any, verb: str, spec: _Spec) -> str:
    """Format one printf operand; lists and maps apply the verb to each element as Go does."""
    if verb == "T":
        return _pad(go_type(arg), spec)
    if arg is None or arg is NO_VALUE:
        return _pad("<nil>", spec) if verb == "v" else _bad_verb(verb, None)
    if isinstance(arg, bool):
        return _pad(go_string(arg), spec) if verb in "tv" else _bad_verb(verb, arg)
    if is_int(arg):
        return _fmt_int(arg, verb, spec)
    if isinstance(arg, float):
        return _fmt_float(arg, verb, spec)
    if isinstance(arg, str):
        return _fmt_str(arg, verb, spec)
    if is_list(arg):
        return "[" + " ".join(_fmt_one(v, verb, spec) for v in arg) + "]"
    if isinstance(arg, Mapping):
        keys = sorted(arg, key=sort_key)
        pairs = (f"{_fmt_one(k, verb, spec)}:{_fmt_one(arg[k], verb, spec)}" for k in keys)
        return "map[" + " ".join(pairs) + "]"
    if verb in "sv":
        return _pad(go_string(arg), spec)
    return _bad_verb(verb, arg)


@dataclass(repr=False, eq=False)
class _Cursor:
    """Where sprintf is in its format string and its argument list."""

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
            return (arg, True) if is_int(arg) else (None, False)
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


def sprintf(fmt: str, args: list[Any]) -> str:
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
    return "<nil>" if arg is None else f"{go_type(arg)}={go_string(arg)}"


def sprint(args: list[Any]) -> str:
    """fmt.Sprint: a space between operands when neither is a string."""
    out: list[str] = []
    for n, arg in enumerate(args):
        if n and not isinstance(arg, str) and not isinstance(args[n - 1], str):
            out.append(" ")
        out.append(go_string(arg))
    return "".join(out)
