"""Records that stand for podman's Go structs: Go field names, json tags, embedding, methods.

podman renders `--format` templates against its own structs (`psReporter`, `imageReporter`,
...), which embed the engine's records and add methods (`{{.ID}}` truncated, `{{.Names}}` the
first name). A GoStruct dataclass says the same in Python: its fields carry the Go names,
`gofield(json=...)` gives a field Go's json tag, `gofield(embedded=True)` embeds another struct
(its fields and methods are promoted, as in Go), and public methods with Go names are the Go
methods a template may call. Template lookups then see exactly podman's names (no snake_case
aliases), `{{.}}` prints `{v1 v2 ...}`, and JSON follows encoding/json (tags, omitempty, the
fields of embedded structs flattened, the shallowest of two same-named fields winning).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pod.util import records


class GoStruct:
    """Base of dataclass records standing for a Go struct; GO_TYPE names it in errors."""

    GO_TYPE = ""


def gofield(json: str = "", *, embedded: bool = False, **kwargs: Any) -> Any:
    """A dataclass field with Go's json tag (`Id`, `,omitempty`, `-`) or embedded."""
    return records.field(metadata={"json": json, "embedded": embedded}, **kwargs)


def _fields(value: Any) -> tuple[records.Field, ...]:
    return records.fields(value)


def _embedded(value: Any) -> list[Any]:
    return [
        getattr(value, f.name)
        for f in _fields(value)
        if f.metadata.get("embedded") and getattr(value, f.name) is not None
    ]


def lookup(value: GoStruct, name: str) -> tuple[bool, Any]:
    """`.name` on a struct: its field or method, else one promoted from an embedded struct
    (the shallowest wins, as in Go). Names starting with `_` are Python's, never Go's."""
    if name.startswith("_"):
        return False, None
    level = [value]
    while level:
        for struct in level:
            if name in {f.name for f in _fields(struct)} or callable(
                getattr(type(struct), name, None)
            ):
                return True, getattr(struct, name)
        level = [inner for struct in level for inner in _embedded(struct)]
    return False, None


def _json_name(field: records.Field) -> tuple[str, bool, bool]:
    """(name, omitempty, tagged) from the field's json tag."""
    tag = field.metadata.get("json", "")
    name, _, options = tag.partition(",")
    return name or field.name, "omitempty" in options.split(","), bool(name)


def is_empty(value: Any) -> bool:
    """encoding/json's omitempty test: false, 0, "", nil and empty lists and maps."""
    if value is None or value is False:
        return True
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value == 0
    if isinstance(value, (str, bytes, list, tuple, Mapping)):
        return len(value) == 0
    return False


def json_members(value: GoStruct) -> list[tuple[str, Any]]:
    """The (key, value) pairs encoding/json writes for the struct, in Go's order."""
    found: list[tuple[tuple[int, ...], str, int, bool, Any, bool]] = []

    def collect(struct: Any, index: tuple[int, ...]) -> None:
        for position, field in enumerate(_fields(struct)):
            if field.metadata.get("json") == "-":
                continue
            item = getattr(struct, field.name)
            name, omitempty, tagged = _json_name(field)
            if field.metadata.get("embedded") and not tagged:
                if item is not None:
                    collect(item, (*index, position))
                continue
            omit = omitempty and is_empty(item)
            found.append(((*index, position), name, len(index), tagged, item, omit))

    collect(value, ())
    by_name: dict[str, list[tuple[tuple[int, ...], str, int, bool, Any, bool]]] = {}
    for entry in found:
        by_name.setdefault(entry[1], []).append(entry)
    chosen = []
    for entries in by_name.values():
        shallowest = min(e[2] for e in entries)
        candidates = [e for e in entries if e[2] == shallowest]
        tagged = [e for e in candidates if e[3]]
        if len(candidates) == 1 or len(tagged) == 1:
            chosen.append(tagged[0] if tagged else candidates[0])
        # else: two at the same depth, neither dominant: encoding/json drops the name
    chosen.sort(key=lambda e: e[0])
    return [(name, item) for _, name, _, _, item, omit in chosen if not omit]


class GoFields(dict):
    """A Go struct written as a dict keyed by its JSON names (the inspect and info documents),
    with the Go names that differ from them (`ID` for `Id`, `HostIP` for `HostIp`): templates
    see the Go names only, as podman's do (its inspect rewrites a lone `{{.Id}}` itself)."""

    def __init__(
        self, data: Mapping[str, Any], go_names: Mapping[str, str], go_type: str = ""
    ) -> None:
        super().__init__(data)
        self.go_names = dict(go_names)
        self.GO_TYPE = go_type  # the type Go's errors name, when it is known

    def go_field(self, name: str) -> tuple[bool, Any]:
        key = self.go_names.get(name)
        if key is not None:
            return (True, self[key]) if key in self else (False, None)
        if name in self and name not in self.go_names.values():
            return True, self[name]
        return False, None
