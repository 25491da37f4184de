"""The functions a template can call: Go's text/template builtins and podman's report.DefaultFuncs.

Builtins: and, or, not, len, index, slice, eq, ne, lt, le, gt, ge, print, printf, println, html,
js, urlquery. podman adds json, lower, upper, title, truncate, pad, split, join. Each entry of
FUNCS says how many arguments it takes; the parser refuses unknown names and the executor checks
the argument count and turns FuncError and ArgError into Go's messages.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pod.format.headers import HeaderText
from pod.format.json import to_json
from pod.format.printf import sprint, sprintf
from pod.format.values import NO_VALUE, go_string, go_type, is_int, is_list, is_number
from pod.util.records import dataclass


class FuncError(Exception):
    """A function failed; reported as `error calling NAME: MSG` like Go."""


class ArgError(Exception):
    """An argument of the wrong type; reported as Go reports it."""


def _want_str(value: Any) -> str:
    if isinstance(value, str):
        return value
    raise ArgError(_wrong_type("string", value))


def _want_int(value: Any) -> int:
    if is_int(value):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise ArgError(_wrong_type("int", value))


def _wrong_type(expected: str, value: Any) -> str:
    if value is None or value is NO_VALUE:
        return f"invalid value; expected {expected}"
    return f"wrong type for value; expected {expected}; got {go_type(value)}"


def truth(value: Any) -> bool:
    """Go's template truth: false, 0, nil, and empty strings, lists and maps are false."""
    if value is None or value is NO_VALUE:
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
    if is_number(value):
        return "number"
    if isinstance(value, str):
        return "string"
    if value is None or value is NO_VALUE:
        return "nil"
    return "other"


def _fn_eq(arg1: Any, *rest: Any) -> bool:
    if not rest:
        raise FuncError("missing argument for comparison")
    k1 = _kind(arg1)
    for arg in rest:
        k2 = _kind(arg)
        if k1 != k2:
            if "nil" not in (k1, k2):
                raise FuncError("incompatible types for comparison")
            continue
        if k1 == "other" and (is_list(arg1) or isinstance(arg1, Mapping)):
            raise FuncError(f"non-comparable type {go_string(arg1)}: {go_type(arg1)}")
        if arg1 == arg or k1 == "nil":
            return True
    return False


def _fn_ne(arg1: Any, arg2: Any) -> bool:
    return not _fn_eq(arg1, arg2)


def _fn_lt(arg1: Any, arg2: Any) -> bool:
    k1, k2 = _kind(arg1), _kind(arg2)
    if k1 not in ("number", "string") or k2 not in ("number", "string"):
        raise FuncError("invalid type for comparison")
    if k1 != k2:
        raise FuncError("incompatible types for comparison")
    return arg1 < arg2


def _fn_le(arg1: Any, arg2: Any) -> bool:
    return _fn_lt(arg1, arg2) or _fn_eq(arg1, arg2)


def _fn_gt(arg1: Any, arg2: Any) -> bool:
    return not _fn_le(arg1, arg2)


def _fn_ge(arg1: Any, arg2: Any) -> bool:
    return not _fn_lt(arg1, arg2)


def _fn_not(arg: Any) -> bool:
    return not truth(arg)


def _fn_len(item: Any) -> int:
    if item is None or item is NO_VALUE:
        raise FuncError("len of nil pointer")
    if isinstance(item, str):
        return len(item.encode())
    if isinstance(item, (bytes, list, tuple, Mapping)):
        return len(item)
    raise FuncError(f"len of type {go_type(item)}")


def _index_int(index: Any, length: int) -> int:
    if not is_int(index):
        raise FuncError(f"cannot index slice/array with type {go_type(index)}")
    if index < 0 or index >= length:
        raise FuncError(f"index out of range: {index}")
    return index


def _fn_index(item: Any, *indexes: Any) -> Any:
    if item is None or item is NO_VALUE:
        raise FuncError("index of untyped nil")
    for index in indexes:
        if isinstance(item, HeaderText):
            return item
        if isinstance(item, Mapping):
            item = item.get(index, "")
        elif isinstance(item, str):
            raw = item.encode()
            item = raw[_index_int(index, len(raw))]
        elif is_list(item):
            item = item[_index_int(index, len(item))]
        elif item is None:
            raise FuncError("index of nil pointer")
        else:
            raise FuncError(f"can't index item of type {go_type(item)}")
    return item


def _fn_slice(item: Any, *indexes: Any) -> Any:
    if item is None or item is NO_VALUE:
        raise FuncError("slice of untyped nil")
    if len(indexes) > 3:
        raise FuncError(f"too many slice indexes: {len(indexes)}")
    if isinstance(item, str) and len(indexes) == 3:
        raise FuncError("cannot 3-index slice a string")
    if not isinstance(item, str) and not is_list(item):
        raise FuncError(f"can't slice item of type {go_type(item)}")
    bounds = [0, len(item)]
    for n, index in enumerate(indexes[:2]):
        if not is_int(index) or not 0 <= index <= len(item):
            raise FuncError(f"index out of range: {go_string(index)}")
        bounds[n] = index
    if bounds[0] > bounds[1]:
        raise FuncError(f"invalid slice index: {bounds[0]} > {bounds[1]}")
    return item[bounds[0] : bounds[1]]


def _eval_args_text(args: tuple[Any, ...]) -> str:
    """Go's evalArgs for html/js/urlquery: a lone string as is, else fmt.Sprint."""
    if len(args) == 1 and isinstance(args[0], str):
        return args[0]
    return sprint(list(args))


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
    return sprintf(_want_str(fmt), list(args))


def _fn_print(*args: Any) -> str:
    return sprint(list(args))


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
    if is_int(text) and isinstance(length, str):  # `{{.ID | truncate 12}}`
        text, length = length, text
    text, length = _want_str(text), _want_int(length)
    if length < 0:
        raise FuncError("runtime error: slice bounds out of range")
    return text if len(text) < length else text[:length]


def _fn_pad(text: Any, prefix: Any, suffix: Any) -> str:
    text, prefix, suffix = _want_str(text), _want_int(prefix), _want_int(suffix)
    if prefix < 0 or suffix < 0:
        raise FuncError("strings: negative Repeat count")
    return " " * prefix + text + " " * suffix if text else text


def _fn_split(text: Any, sep: Any) -> list[str]:
    text, sep = _want_str(text), _want_str(sep)
    return list(text) if sep == "" else text.split(sep)


def _fn_join(elems: Any, sep: Any) -> str:
    for arg in (elems, sep):
        if isinstance(arg, HeaderText):
            return arg
    if isinstance(elems, str) and is_list(sep):  # `{{.Names | join ","}}`
        elems, sep = sep, elems
    if not is_list(elems):
        raise ArgError(_wrong_type("[]string", elems))
    return _want_str(sep).join(go_string(e) for e in elems)


@dataclass(repr=False, eq=False)
class Func:
    """A template function: its implementation and how many arguments it takes."""

    impl: Callable[..., Any] | None  # None: evaluated by the executor (and, or)
    nargs: int
    variadic: bool = False


FUNCS: dict[str, Func] = {
    "and": Func(None, 1, True),
    "or": Func(None, 1, True),
    "not": Func(_fn_not, 1),
    "len": Func(_fn_len, 1),
    "index": Func(_fn_index, 1, True),
    "slice": Func(_fn_slice, 1, True),
    "eq": Func(_fn_eq, 1, True),
    "ne": Func(_fn_ne, 2),
    "lt": Func(_fn_lt, 2),
    "le": Func(_fn_le, 2),
    "gt": Func(_fn_gt, 2),
    "ge": Func(_fn_ge, 2),
    "print": Func(_fn_print, 0, True),
    "printf": Func(_fn_printf, 1, True),
    "println": Func(_fn_println, 0, True),
    "html": Func(_fn_html, 0, True),
    "js": Func(_fn_js, 0, True),
    "urlquery": Func(_fn_urlquery, 0, True),
    # podman's report.DefaultFuncs
    "json": Func(_fn_json, 1),
    "lower": Func(_fn_lower, 1),
    "upper": Func(_fn_upper, 1),
    "title": Func(_fn_title, 1),
    "truncate": Func(_fn_truncate, 2),
    "pad": Func(_fn_pad, 3),
    "split": Func(_fn_split, 2),
    "join": Func(_fn_join, 2),
}
