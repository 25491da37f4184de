"""Records standing for podman's Go structs: Go names only, embedding, methods, json tags,
nil slices and maps, and podman's header maps (expected output is what podman 4.3.1 prints)."""

from __future__ import annotations

import pytest

from pod.errors import PodError
from pod.format import (
    GoFields,
    GoMap,
    GoStruct,
    NilMap,
    NilSlice,
    format_json,
    gofield,
    render_rows,
    render_table,
    struct_headers,
    to_json,
)
from pod.util.records import InitVar, dataclass


@dataclass
class Inner(GoStruct):
    GO_TYPE = "entities.Inner"
    ID: str = gofield("Id")
    Names: list[str] = gofield(default_factory=NilSlice)
    Labels: GoMap = gofield("Labels,omitempty", default_factory=NilMap)
    Created: int = gofield(default=0)
    ReadOnly: bool = gofield(",omitempty", default=False)


@dataclass
class Reporter(GoStruct):
    GO_TYPE = "cmd.reporter"
    Repository: str = gofield("repository,omitempty")
    Inner: Inner = gofield(embedded=True)
    no_trunc: InitVar[bool] = False

    def __post_init__(self, no_trunc: bool) -> None:
        self._no_trunc = no_trunc

    def ID(self) -> str:  # noqa: N802 - a Go method name
        return self.Inner.ID if self._no_trunc else self.Inner.ID[:3]

    def _helper(self) -> str:
        return "hidden"


@dataclass
class Output(GoStruct):
    Inner: Inner = gofield(embedded=True)
    Created: str = gofield(default="")  # shadows the embedded Created


ROW = Reporter("repo", Inner("abcdef", ["n1"], GoMap(b="2", a="1"), 7))


def render(text: str, data) -> str:
    return render_rows([data], text)


def test_fields_methods_and_promoted_fields_by_go_name():
    assert render("{{.Repository}} {{.ID}} {{.Names}} {{.Created}}", ROW) == "repo abc [n1] 7\n"
    assert render("{{.Inner.ID}} {{.Labels}}", ROW) == "abcdef map[a:1 b:2]\n"
    assert render("{{.ID}}", Reporter("r", Inner("abcdef"), True)) == "abcdef\n"


@pytest.mark.parametrize("name", ["_helper", "helper", "repository", "no_trunc", "GO_TYPE"])
def test_only_go_names_are_fields(name):
    with pytest.raises(PodError, match=f"can't evaluate field {name} in type cmd.reporter"):
        render(f"{{{{.{name}}}}}", ROW)


def test_a_struct_prints_its_fields_in_order_embedded_nested():
    assert render("{{.}}", ROW) == "{repo {abcdef [n1] map[a:1 b:2] 7 false}}\n"


def test_nil_slices_and_maps_print_empty_and_encode_null():
    empty = Inner("x")
    assert render("{{.Names}} {{.Labels}} {{len .Names}}", empty) == "[] map[] 0\n"
    assert to_json(empty) == '{"Id":"x","Names":null,"Created":0}'
    assert to_json(Inner("x", [], GoMap())) == '{"Id":"x","Names":[],"Created":0}'


def test_json_follows_tags_omitempty_and_flattens_embedded_structs():
    assert to_json(ROW) == (
        '{"repository":"repo","Id":"abcdef","Names":["n1"],"Labels":{"a":"1","b":"2"},"Created":7}'
    )
    # the outer Created wins over the embedded one and keeps its own place, as encoding/json
    assert to_json(Output(Inner("x"), "now")) == '{"Id":"x","Names":null,"Created":"now"}'


def test_json_iterators_empty_object_layout():
    text = format_json([{"Labels": GoMap(), "Mounts": []}], 2, open_empty_objects=True)
    assert text == '[\n  {\n    "Labels": {\n      \n    },\n    "Mounts": []\n  }\n]\n'


def test_struct_headers_are_podmans_header_map():
    headers = struct_headers(Reporter, {"ID": "image id", "ReadOnly": "R/O"})
    assert headers == {
        "Repository": "REPOSITORY",
        "ID": "IMAGE ID",
        "Names": "NAMES",
        "Labels": "LABELS",
        "Created": "CREATED",
        "ReadOnly": "R/O",
    }


def test_a_strict_header_row_has_no_header_for_methods():
    headers = struct_headers(Reporter, {"ID": "image id"})
    text = render_table([], "table {{.ID}} {{.Repository}} {{.Size}}", headers, strict=True)
    assert text == "IMAGE ID    REPOSITORY  <no value>\n"
    with pytest.raises(PodError, match="can't evaluate field Size in type cmd.reporter"):
        render_table([ROW], "table {{.ID}} {{.Size}}", headers, strict=True)


def test_go_fields_answer_to_go_names_only():
    document = GoFields({"Id": "abc", "HostIp": "", "Name": "n"}, {"ID": "Id", "HostIP": "HostIp"})
    assert render("{{.ID}} [{{.HostIP}}] {{.Name}}", document) == "abc [] n\n"
    with pytest.raises(PodError, match="can't evaluate field Id"):
        render("{{.Id}}", document)
    assert to_json(document) == '{"Id":"abc","HostIp":"","Name":"n"}'
    assert render("{{.}}", {"Name": "x", "Labels": GoMap(k="v")}) == "{x map[k:v]}\n"
