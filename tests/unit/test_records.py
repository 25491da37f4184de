"""pod.util.records against the standard library's dataclasses, its oracle: the same class
bodies made both ways behave alike (init, defaults, repr, eq, hash, frozen, InitVar, inheritance,
replace, asdict, fields), and the run path loads no dataclasses at all."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from typing import ClassVar

import pytest

from pod.util import records

MAKERS = {"stdlib": dataclasses, "records": records}


def _point(lib):
    @lib.dataclass
    class Point:
        x: int
        y: int = 0
        tags: list[str] = lib.field(default_factory=list)
        secret: str = lib.field(default="", repr=False, compare=False)
        kind: ClassVar[str] = "point"

    return Point


def _frozen(lib):
    @lib.dataclass(frozen=True)
    class Ref:
        name: str
        tag: str = "latest"

    return Ref


def _with_init_var(lib):
    @lib.dataclass
    class Row:
        id: str
        short: str = lib.field(init=False, default="")
        no_trunc: dataclasses.InitVar[bool] = False

        def __post_init__(self, no_trunc: bool) -> None:
            self.short = self.id if no_trunc else self.id[:3]

    return Row


def _child(lib):
    base = _point(lib)

    @lib.dataclass
    class Child(base):
        z: int = 5

    return Child


@pytest.mark.parametrize("lib", MAKERS.values(), ids=MAKERS)
def test_init_defaults_repr_and_equality_as_dataclasses(lib):
    point = _point(lib)
    a = point(1, tags=["t"], secret="s")
    assert (a.x, a.y, a.tags, a.secret) == (1, 0, ["t"], "s")
    assert repr(a).endswith("Point(x=1, y=0, tags=['t'])")
    assert a == point(1, 0, ["t"], "other")  # secret is not compared
    assert a != point(2)
    assert point(1).tags is not point(1).tags
    assert point.kind == "point" and "kind" not in {f.name for f in lib.fields(point)}
    assert point.__hash__ is None  # eq without frozen: unhashable, as dataclasses
    assert point.__match_args__ == ("x", "y", "tags", "secret")


@pytest.mark.parametrize("lib", MAKERS.values(), ids=MAKERS)
def test_bad_arguments_are_type_errors(lib):
    point = _point(lib)
    for call in (lambda: point(), lambda: point(1, z=2), lambda: point(1, x=1)):
        with pytest.raises(TypeError):
            call()
    with pytest.raises(TypeError):
        point(1, 2, [], "", "too many")


@pytest.mark.parametrize("lib", MAKERS.values(), ids=MAKERS)
def test_frozen_records_refuse_assignment_and_hash_by_value(lib):
    ref = _frozen(lib)
    r = ref("busybox")
    with pytest.raises(AttributeError):
        r.name = "other"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del r.tag  # type: ignore[misc]
    assert hash(r) == hash(ref("busybox", "latest"))
    assert {r, ref("busybox")} == {r}


@pytest.mark.parametrize("lib", MAKERS.values(), ids=MAKERS)
def test_init_vars_reach_post_init_and_are_not_fields(lib):
    row = _with_init_var(lib)
    assert row("abcdef").short == "abc"
    assert row("abcdef", no_trunc=True).short == "abcdef"
    assert [f.name for f in lib.fields(row)] == ["id", "short"]
    with pytest.raises(TypeError):
        row("abcdef", short="x")  # init=False


@pytest.mark.parametrize("lib", MAKERS.values(), ids=MAKERS)
def test_subclasses_add_fields_after_their_bases(lib):
    child = _child(lib)
    c = child(1, z=7)
    assert [f.name for f in lib.fields(c)] == ["x", "y", "tags", "secret", "z"]
    assert (c.x, c.z) == (1, 7)
    assert repr(c).endswith("Child(x=1, y=0, tags=[], z=7)")


@pytest.mark.parametrize("lib", MAKERS.values(), ids=MAKERS)
def test_replace_and_asdict(lib):
    ref = _frozen(lib)
    point = _point(lib)
    assert lib.replace(ref("a"), tag="v1") == ref("a", "v1")
    nested = point(1, tags=["a"])
    plain = lib.asdict(nested)
    assert plain == {"x": 1, "y": 0, "tags": ["a"], "secret": ""}
    assert plain["tags"] is not nested.tags
    row = _with_init_var(lib)
    with pytest.raises(ValueError):
        lib.replace(row("abcdef"), short="x")


@pytest.mark.parametrize("lib", MAKERS.values(), ids=MAKERS)
def test_declaration_errors(lib):
    with pytest.raises(ValueError):

        @lib.dataclass
        class Mutable:
            items: list = []  # noqa: RUF012 - the error under test

    with pytest.raises(TypeError):

        @lib.dataclass
        class Order:
            a: int = 0
            b: int  # type: ignore[misc]


def test_fields_carry_metadata_and_the_annotation():
    @records.dataclass
    class Tagged:
        id: str = records.field(metadata={"json": "Id"})

    (only,) = records.fields(Tagged)
    assert (only.name, only.type, only.metadata["json"]) == ("id", "str", "Id")
    assert records.is_dataclass(Tagged) and records.is_dataclass(Tagged(""))
    assert not records.is_dataclass(object())
    assert "id" in records.field_names(Tagged)


def test_methods_written_in_the_class_are_kept():
    @records.dataclass(eq=False)
    class Named:
        name: str

        def __repr__(self) -> str:
            return f"<{self.name}>"

    assert repr(Named("n")) == "<n>"
    assert Named("n") != Named("n") and hash(Named("n"))  # identity, as eq=False


def test_the_run_path_loads_no_dataclasses():
    """The reason records exist: `pod run` must not pay for dataclasses (and inspect)."""
    code = (
        "import sys, pod.entry, pod.commands.boundary, pod.container.run, pod.shim.prefork;"
        " print(sorted(m for m in ('dataclasses', 'inspect') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
