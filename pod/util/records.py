"""Records: classes declared like dataclasses, made without compiling code.

`dataclasses` writes each class's `__init__`, `__repr__`, `__eq__` (and a frozen class's
`__setattr__`, `__delattr__`, `__hash__`) as source text and compiles it with `exec`: ~0.4 ms a
class. `pod run` imports ~50 record classes, so that was ~20 ms of every command, and importing
`dataclasses` (which loads inspect, ast, dis and tokenize) ~6 ms more. Here a class's methods are
shared functions that read the class's table of fields, so declaring a record costs a walk over
its annotations. Type checkers see `dataclass` here as a dataclass maker (PEP 681); the API keeps
dataclasses' names and meaning for what pod uses: `field`, `fields`, `asdict`, `replace`,
`InitVar` pseudo-fields (`name: InitVar[T]`, handed to `__post_init__`) and `ClassVar`s skipped.

Annotations are read as written (`from __future__ import annotations` keeps them strings), so a
record's module needs no import for `InitVar` or `ClassVar` at run time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar, overload

if TYPE_CHECKING:
    from dataclasses import InitVar as InitVar  # what type checkers know InitVar fields by
    from typing import dataclass_transform
else:

    def dataclass_transform(**_kwargs: Any) -> Callable[[Any], Any]:
        return lambda maker: maker

    class InitVar:
        """`name: InitVar[T]`: an `__init__` parameter handed to `__post_init__`, not a field."""

        def __class_getitem__(cls, _item: Any) -> type:
            return cls


T = TypeVar("T")


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
_NO_METADATA: Mapping[str, Any] = MappingProxyType({})
_MUTABLE_DEFAULTS = (list, dict, set, bytearray)


class FrozenInstanceError(AttributeError):
    """Assignment to a field of a frozen record."""


class Field:
    """One field of a record: what `fields()` returns and what `field()` declares."""

    __slots__ = (
        "name",
        "type",
        "default",
        "default_factory",
        "init",
        "repr",
        "compare",
        "metadata",
    )

    def __init__(
        self,
        default: Any,
        default_factory: Any,
        init: bool,
        repr: bool,
        compare: bool,
        metadata: Mapping[str, Any] | None,
    ) -> None:
        self.name = ""
        self.type: Any = None  # the annotation as written: a string under postponed evaluation
        self.default = default
        self.default_factory = default_factory
        self.init = init
        self.repr = repr
        self.compare = compare
        self.metadata = MappingProxyType(dict(metadata)) if metadata else _NO_METADATA

    def __repr__(self) -> str:
        return f"Field(name={self.name!r}, default={self.default!r})"


def field(
    *,
    default: Any = MISSING,
    default_factory: Any = MISSING,
    init: bool = True,
    repr: bool = True,
    compare: bool = True,
    metadata: Mapping[str, Any] | None = None,
) -> Any:
    """A field with a default factory, metadata, or left out of init, repr or comparison."""
    if default is not MISSING and default_factory is not MISSING:
        raise ValueError("cannot specify both default and default_factory")
    return Field(default, default_factory, init, repr, compare, metadata)


class _Spec:
    """A record class's table: its fields, its `__init__` parameters, how it is made."""

    __slots__ = (
        "fields",
        "by_name",
        "params",
        "accepted",
        "required",
        "init_vars",
        "compared",
        "shown",
    )

    def __init__(self, fields: tuple[Field, ...], params: tuple[Field, ...]) -> None:
        self.fields = fields
        self.by_name = {f.name: f for f in fields}
        self.params = params  # init fields and InitVars, in declaration order
        self.accepted = frozenset(p.name for p in params)
        self.required = frozenset(
            p.name for p in params if p.default is MISSING and p.default_factory is MISSING
        )
        self.init_vars = tuple(p for p in params if p.name not in self.by_name)
        self.compared = tuple(f.name for f in fields if f.compare)
        self.shown = tuple(f.name for f in fields if f.repr)


def _annotation_kind(annotation: Any) -> str:
    text = annotation if isinstance(annotation, str) else repr(annotation)
    for prefix, kind in (("ClassVar", "class"), ("InitVar", "initvar")):
        for written in (prefix, f"typing.{prefix}", f"dataclasses.{prefix}"):
            if text == written or text.startswith(written + "["):
                return kind
    return "field"


def _own_fields(cls: type) -> tuple[list[Field], list[Field]]:
    """(fields, InitVars) the class body declares, in order; class attributes made right."""
    fields: list[Field] = []
    init_vars: list[Field] = []
    for name, annotation in cls.__dict__.get("__annotations__", {}).items():
        kind = _annotation_kind(annotation)
        if kind == "class":
            continue
        value = cls.__dict__.get(name, MISSING)
        if isinstance(value, Field):
            declared = value
            if declared.default is MISSING:
                delattr(cls, name)
            else:
                setattr(cls, name, declared.default)
        else:
            declared = Field(value, MISSING, True, True, True, None)
        if isinstance(declared.default, _MUTABLE_DEFAULTS):
            raise ValueError(
                f"mutable default {type(declared.default)} for field {name} is not allowed:"
                " use default_factory"
            )
        declared.name = name
        declared.type = annotation
        (init_vars if kind == "initvar" else fields).append(declared)
    return fields, init_vars


def _spec(cls: type) -> _Spec:
    inherited: dict[str, Field] = {}
    for base in reversed(cls.__mro__[1:]):
        spec = base.__dict__.get("__record__")
        if spec is not None:
            inherited.update(spec.by_name)
    own, init_vars = _own_fields(cls)
    merged = {**inherited, **{f.name: f for f in own}}
    fields = tuple(merged.values())
    params = tuple(f for f in fields if f.init) + tuple(init_vars)
    seen_default = ""
    for param in params:
        has_default = param.default is not MISSING or param.default_factory is not MISSING
        if has_default:
            seen_default = param.name
        elif seen_default:
            raise TypeError(f"non-default argument {param.name!r} follows default argument")
    return _Spec(fields, params)


def _init(self: Any, *args: Any, **kwargs: Any) -> None:
    spec: _Spec = type(self).__record__
    params = spec.params
    if len(args) > len(params):
        raise TypeError(
            f"__init__() takes {len(params) + 1} positional arguments"
            f" but {len(args) + 1} were given"
        )
    values = {p.name: arg for p, arg in zip(params, args, strict=False)}
    for name, value in kwargs.items():
        if name in values:
            raise TypeError(f"__init__() got multiple values for argument {name!r}")
        values[name] = value
    if not (spec.required <= values.keys() <= spec.accepted):
        unknown = [name for name in kwargs if name not in spec.accepted]
        if unknown:
            raise TypeError(f"__init__() got an unexpected keyword argument {unknown[0]!r}")
        missing = [name for name in spec.required if name not in values]
        if missing:
            raise TypeError(f"__init__() missing required argument {missing[0]!r}")
    put = object.__setattr__ if type(self).__record_frozen__ else setattr
    for f in spec.fields:
        if f.name in values:
            put(self, f.name, values[f.name])
        elif f.default_factory is not MISSING:
            put(self, f.name, f.default_factory())
        elif f.default is not MISSING:
            put(self, f.name, f.default)
    post_init = getattr(self, "__post_init__", None)
    if post_init is not None:
        extra = [values.get(v.name, v.default) for v in spec.init_vars]
        post_init(*extra)
    elif spec.init_vars:
        raise TypeError("InitVar fields need a __post_init__")


def _repr(self: Any) -> str:
    shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in type(self).__record__.shown)
    return f"{type(self).__qualname__}({shown})"


def _key(self: Any) -> tuple:
    return tuple(getattr(self, name) for name in type(self).__record__.compared)


def _eq(self: Any, other: object) -> bool:
    if other.__class__ is not self.__class__:
        return NotImplemented
    return _key(self) == _key(other)


def _hash(self: Any) -> int:
    return hash(_key(self))


def _frozen_setattr(self: Any, name: str, value: Any) -> None:
    raise FrozenInstanceError(f"cannot assign to field {name!r}")


def _frozen_delattr(self: Any, name: str) -> None:
    raise FrozenInstanceError(f"cannot delete field {name!r}")


def _make(cls: type[T], frozen: bool, eq: bool, repr: bool) -> type[T]:
    own = cls.__dict__
    has_explicit_hash = "__hash__" in own and not (own["__hash__"] is None and "__eq__" in own)
    spec = _spec(cls)
    match_args = tuple(p.name for p in spec.params if p.name in spec.by_name)
    methods: dict[str, Any] = {
        "__record__": spec,
        "__record_frozen__": frozen,
        "__match_args__": match_args,
        "__init__": _init,
    }
    if repr:
        methods["__repr__"] = _repr
    if eq:
        methods["__eq__"] = _eq
    if frozen:
        if "__setattr__" in own or "__delattr__" in own:
            raise TypeError(f"cannot overwrite __setattr__ or __delattr__ of frozen {cls.__name__}")
        methods["__setattr__"] = _frozen_setattr
        methods["__delattr__"] = _frozen_delattr
    if eq and not has_explicit_hash:
        methods["__hash__"] = _hash if frozen else None
    for name, method in methods.items():
        if name not in own or name in ("__record__", "__record_frozen__", "__hash__"):
            setattr(cls, name, method)
    return cls


@overload
def dataclass(cls: type[T], /) -> type[T]: ...
@overload
def dataclass(
    *, frozen: bool = False, eq: bool = True, repr: bool = True
) -> Callable[[type[T]], type[T]]: ...
@dataclass_transform(field_specifiers=(field, Field))
def dataclass(
    cls: type[T] | None = None, /, *, frozen: bool = False, eq: bool = True, repr: bool = True
) -> Any:
    """Make `cls` a record: `__init__` from its annotated fields, with `__repr__` and `__eq__`
    (unless turned off) and, when frozen, fields that cannot be assigned and a `__hash__`."""
    if cls is None:
        return lambda made: _make(made, frozen, eq, repr)
    return _make(cls, frozen, eq, repr)


def is_dataclass(value: Any) -> bool:
    """True for a record class or instance."""
    return hasattr(value, "__record__")


def fields(value: Any) -> tuple[Field, ...]:
    """The fields of a record class or instance (not its InitVars), in order."""
    return tuple(field_names(value).values())


def field_names(value: Any) -> Mapping[str, Field]:
    """The record's fields by name: `name in field_names(cls)` picks known keys of a dict."""
    try:
        spec: _Spec = value.__record__
    except AttributeError:
        raise TypeError("must be called with a record type or instance") from None
    return spec.by_name


def _as_plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _as_plain(getattr(value, f.name)) for f in value.__record__.fields}
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return type(value)(*(_as_plain(item) for item in value))
    if isinstance(value, (list, tuple)):
        return type(value)(_as_plain(item) for item in value)
    if isinstance(value, dict):
        return type(value)((_as_plain(k), _as_plain(v)) for k, v in value.items())
    return value


def asdict(value: Any) -> dict[str, Any]:
    """The record as a dict, nested records, lists, tuples and dicts converted (new copies)."""
    if not is_dataclass(value) or isinstance(value, type):
        raise TypeError("asdict() should be called on record instances")
    return _as_plain(value)


def replace(value: T, /, **changes: Any) -> T:
    """A new record like `value` but for `changes` (InitVars must be given again if needed)."""
    spec: _Spec = type(value).__record__  # type: ignore[attr-defined]
    for name in changes:
        known = spec.by_name.get(name)
        if known is not None and not known.init:
            raise ValueError(f"field {name} is declared with init=False, it cannot be replaced")
    kwargs = {f.name: getattr(value, f.name) for f in spec.fields if f.init}
    kwargs.update(changes)
    for init_var in spec.init_vars:
        if init_var.name not in kwargs and init_var.default is MISSING:
            raise ValueError(f"InitVar {init_var.name!r} must be specified with replace()")
    return type(value)(**kwargs)
