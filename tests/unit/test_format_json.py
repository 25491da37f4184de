"""--format's JSON: Go's encoding/json layout for `--format json`, inspect and the json function.

Expected strings are what Go's encoding/json (and podman, which uses it) prints for the same input.
"""

from __future__ import annotations

import enum

import pytest

from pod.errors import PodError
from pod.format import GoMap, format_json, to_json
from pod.util.records import dataclass


def test_format_json_indents_like_marshal_indent():
    records = [{"Id": "abc", "Names": ["a"], "Labels": {}, "Size": 10}]
    assert format_json(records) == (
        "[\n"
        "    {\n"
        '        "Id": "abc",\n'
        '        "Names": [\n'
        '            "a"\n'
        "        ],\n"
        '        "Labels": {},\n'
        '        "Size": 10\n'
        "    }\n"
        "]\n"
    )


def test_format_json_of_nothing():
    assert format_json([]) == "[]\n"


def test_format_json_escapes_html_by_default():
    assert format_json(["<&>"], indent=2) == '[\n  "\\u003c\\u0026\\u003e"\n]\n'


def test_format_json_like_inspect():
    assert format_json([{"Cmd": "a && b"}], indent=5, escape_html=False) == (
        '[\n     {\n          "Cmd": "a && b"\n     }\n]\n'
    )


def test_json_sorts_go_map_keys_and_keeps_struct_order():
    assert to_json({"z": 1, "a": GoMap(b=1, a=2)}) == '{"z":1,"a":{"a":2,"b":1}}'


def test_json_of_dataclass():
    @dataclass
    class State:
        status: str
        exit_code: int

    assert to_json(State("running", 0)) == '{"status":"running","exit_code":0}'


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (2.0, "2"),
        (0.5, "0.5"),
        (1e20, "100000000000000000000"),
        (1e21, "1e+21"),
        (1e-7, "1e-7"),
        (0.000001, "0.000001"),
        ("é\n\u2028", '"é\\n\\u2028"'),
        ("\x01", '"\\u0001"'),
        (None, "null"),
    ],
)
def test_json_scalars_as_go_writes_them(value, text):
    assert to_json(value) == text


def test_json_of_enum_and_nested_empties():
    class Kind(enum.Enum):
        VOLUME = "volume"

    assert to_json({"Kind": Kind.VOLUME, "L": [], "M": {}}, 2) == (
        '{\n  "Kind": "volume",\n  "L": [],\n  "M": {}\n}'
    )


def test_json_rejects_nan():
    with pytest.raises(PodError, match="unsupported value: NaN"):
        to_json(float("nan"))
