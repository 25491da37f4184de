"""--format's podman conventions: `json` and `table` formats, normalization, headers, rows, tables.

Expected strings are what podman's pkg/report prints for the same format and records.
"""

from __future__ import annotations

import pytest

from pod.errors import PodError
from pod.format import (
    enforce_range,
    header_name,
    is_json,
    is_table,
    normalize_format,
    render_rows,
    render_table,
)


@pytest.mark.parametrize(
    ("fmt", "want"),
    [
        ("json", True),
        (" json ", True),
        ("{{json}}", True),
        ("{{ json . }}", True),
        ("{{json .}}", True),
        ("{{json .ID}}", False),
        ("table {{.ID}}", False),
    ],
)
def test_is_json(fmt, want):
    assert is_json(fmt) is want


def test_is_table():
    assert is_table("table {{.ID}}")
    assert not is_table("{{.ID}}")
    assert not is_table("tablet")


def test_normalize_format():
    assert normalize_format("{{.ID}}\\t{{.Names}}") == "{{.ID}}\t{{.Names}}\n"
    assert normalize_format("{{.ID}}\n") == "{{.ID}}\n"
    assert normalize_format("table {{.ID}} {{.Image}}") == "{{.ID}}\t{{.Image}}\n"


def test_enforce_range():
    assert enforce_range("{{.ID}}") == "{{range .}}{{.ID}}{{end -}}"
    assert enforce_range("{{range .}}{{.ID}}{{end}}") == "{{range .}}{{.ID}}{{end}}"


@pytest.mark.parametrize(
    ("name", "header"),
    [
        ("ID", "ID"),
        ("CreatedAt", "CREATED AT"),
        ("ImageID", "IMAGE ID"),
        ("PDFLoader", "PDF LOADER"),
        ("GL11Version", "GL 11 VERSION"),
        ("Names", "NAMES"),
        ("lowercase", "LOWERCASE"),
    ],
)
def test_header_name(name, header):
    assert header_name(name) == header


ROWS = [
    {"ID": "3f1e2d4c5b6a", "Image": "docker.io/library/busybox:latest", "Names": ["web"]},
    {"ID": "aa", "Image": "alpine", "Names": ["db", "cache"]},
]


def test_render_table_with_command_headers():
    out = render_table(ROWS, "table {{.ID}}\t{{.Image}}\t{{.Names}}", {"ID": "container id"})
    assert out == (
        "CONTAINER ID  IMAGE                             NAMES\n"
        "3f1e2d4c5b6a  docker.io/library/busybox:latest  [web]\n"
        "aa            alpine                            [db cache]\n"
    )


def test_render_table_spaces_become_columns():
    out = render_table(ROWS, 'table {{.ID}} {{join .Names ","}}')
    assert out == ("ID            NAMES\n3f1e2d4c5b6a  web\naa            db,cache\n")


def test_render_table_shell_escaped_tab():
    out = render_table(ROWS[:1], "table {{.ID}}\\t{{.Image}}")
    assert out.splitlines()[0] == "ID            IMAGE"


def test_render_table_without_heading():
    out = render_table(ROWS, "table {{.ID}}\t{{.Image}}", heading=False)
    assert out == "3f1e2d4c5b6a  docker.io/library/busybox:latest\naa            alpine\n"


def test_render_table_nested_field_header():
    out = render_table([{"State": {"Status": "up"}}], "table {{.State.Status}}")
    assert out == "STATUS\nup\n"


def test_render_table_default_row_template():
    out = render_table(ROWS, "{{.ID}}\t{{.Image}}\n", {"ID": "container id"})
    assert out.splitlines()[0] == "CONTAINER ID  IMAGE"


def test_render_table_with_no_rows_prints_header():
    assert render_table([], "table {{.ID}}\t{{.Image}}") == "ID          IMAGE\n"


def test_render_table_header_for_functions_of_fields():
    out = render_table(ROWS, 'table {{truncate .ID 4}}\t{{index .Names 0}}\t{{.Names | join ","}}')
    assert out.splitlines()[0] == "ID          NAMES       NAMES"


def test_render_table_header_of_a_range_is_printed_once():
    out = render_table(ROWS, "table {{.ID}}\t{{range .Names}}{{.}},{{end}}")
    assert out.splitlines() == [
        "ID            NAMES,",
        "3f1e2d4c5b6a  web,",
        "aa            db,cache,",
    ]


def test_render_rows_one_line_per_record():
    assert render_rows(ROWS, "{{.ID}} {{.Image}}") == (
        "3f1e2d4c5b6a docker.io/library/busybox:latest\naa alpine\n"
    )


def test_render_rows_turns_shell_escapes_into_tabs_without_aligning():
    assert render_rows(ROWS[1:], "{{.ID}}\\t{{.Image}}") == "aa\talpine\n"


def test_render_rows_keeps_a_users_own_range():
    assert render_rows(ROWS, "{{range .}}{{.ID}},{{end}}") == "3f1e2d4c5b6a,aa,\n"


def test_render_rows_falls_back_to_the_text_as_given():
    # Normalizing `\n` inside the quoted string would break it, so podman parses it unchanged.
    assert render_rows([{"A": "x"}], '{{printf "%s\\n" .A}}') == "x\n"


def test_render_rows_of_a_single_object():
    assert render_rows([{"Version": "5.0.0"}], "{{.Version}}") == "5.0.0\n"


def test_render_rows_errors_name_the_command():
    with pytest.raises(PodError, match=r'^template: images:1:\d+: executing "images" at <\.Nope>'):
        render_rows(ROWS, "{{.Nope}}", name="images")
