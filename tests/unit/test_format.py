"""--format's templates: Go's text/template semantics, functions and value printing.

Expected strings are what Go (text/template, fmt) and podman print for the same input, so scripts
written against podman parse pod's output unchanged. JSON, podman's table/json conventions and the
tabwriter have their own modules: test_format_json, test_format_report, test_format_tabwriter.
"""

from __future__ import annotations

import pytest

from pod.errors import PodError
from pod.format import GoMap, compile_template, go_string
from pod.util.records import dataclass, field


def render(text: str, data: object = None) -> str:
    return compile_template(text).render(data)


def error_of(text: str, data: object = None) -> str:
    with pytest.raises(PodError) as info:
        render(text, data)
    assert info.value.exit_code == 125
    return str(info.value)


@dataclass
class State:
    status: str = "running"
    exit_code: int = 0


@dataclass
class Container:
    ID: str = "0123456789abcdef"
    Names: list[str] = field(default_factory=lambda: ["web", "db"])
    state: State = field(default_factory=State)
    created_at: str = "2024-01-02"

    def label(self, key: str) -> str:
        return {"tier": "front"}.get(key, "")

    def short_id(self) -> str:
        return self.ID[:4]


# ---------------------------------------------------------------- fields


def test_field_of_dict():
    assert render("{{.ID}}", {"ID": "abc"}) == "abc"


def test_nested_fields():
    assert render("{{.State.Status}}", {"State": {"Status": "exited"}}) == "exited"


def test_dot_is_the_data():
    assert render("{{.}}", "hello") == "hello"


def test_text_around_actions_is_kept():
    assert render("id=<{{.ID}}> done\n", {"ID": "x"}) == "id=<x> done\n"


def test_dataclass_fields_by_go_name_and_snake_case():
    ctr = Container()
    assert render("{{.ID}} {{.State.Status}} {{.CreatedAt}}", ctr) == (
        "0123456789abcdef running 2024-01-02"
    )


def test_snake_case_of_initialisms():
    assert render("{{.State.ExitCode}}", Container()) == "0"


def test_method_without_arguments_is_called():
    assert render("{{.ShortID}}", Container()) == "0123"


def test_method_with_arguments():
    assert render('{{.Label "tier"}}', Container()) == "front"


def test_missing_field_of_struct_is_an_error():
    msg = error_of("{{.Foo}}", Container())
    assert msg == (
        'template: format:1:2: executing "format" at <.Foo>: '
        "can't evaluate field Foo in type Container"
    )


def test_missing_field_of_dict_is_an_error():
    msg = error_of("{{.Foo}}", {"ID": "x"})
    assert msg.endswith("can't evaluate field Foo in type map[string]interface {}")


def test_error_position_counts_lines_and_columns():
    msg = error_of("a\n  {{.ID}} {{.Nope}}", {"ID": "x"})
    assert msg.startswith('template: format:2:12: executing "format" at <.Nope>:')


def test_template_name_in_errors():
    with pytest.raises(PodError, match=r'^template: ps:1:2: executing "ps" at <\.X>'):
        compile_template("{{.X}}", name="ps").render({})


def test_missing_key_of_go_map_prints_no_value():
    assert render("{{.Labels.tier}}", {"Labels": GoMap()}) == "<no value>"


def test_field_of_missing_value_is_still_no_value():
    assert render("{{.Labels.a.b}}", {"Labels": GoMap()}) == "<no value>"


def test_field_of_nil_is_an_error():
    msg = error_of("{{.State.Status}}", {"State": None})
    assert msg.endswith("nil pointer evaluating interface {}.Status")


def test_field_of_a_string_is_an_error():
    assert error_of("{{.ID.Foo}}", {"ID": "x"}).endswith("can't evaluate field Foo in type string")


def test_private_attributes_are_hidden():
    assert "can't evaluate field _secret" in error_of("{{._secret}}", Container())


def test_nil_prints_no_value():
    assert render("{{.X}}", {"X": None}) == "<no value>"


# ---------------------------------------------------------------- value printing


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("s", "s"),
        (42, "42"),
        (-7, "-7"),
        (True, "true"),
        (False, "false"),
        (1.5, "1.5"),
        (2.0, "2"),
        (0.1, "0.1"),
        (100000.0, "100000"),
        (1e6, "1e+06"),
        (1234567.0, "1.234567e+06"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (float("inf"), "+Inf"),
        (float("nan"), "NaN"),
        (["a", "b", "c"], "[a b c]"),
        ([], "[]"),
        ([["a", "b"], ["c"]], "[[a b] [c]]"),
        (["a", None], "[a <nil>]"),
        (GoMap({"b": 2, "a": 1}), "map[a:1 b:2]"),
        (GoMap({"k": ["x", "y"]}), "map[k:[x y]]"),
        ({"b": 2, "a": 1}, "{2 1}"),  # a plain dict is a struct: its fields in order
        ({"Name": "x", "Labels": GoMap({"k": "v"})}, "{x map[k:v]}"),
        (State(), "{running 0}"),
    ],
)
def test_go_value_formatting(value, text):
    assert render("{{.}}", value) == text
    if value is not None:
        assert go_string(value) == text


# ---------------------------------------------------------------- map index


def test_index_of_map():
    data = {"Labels": {"com.example.tier": "front"}}
    assert render('{{index .Labels "com.example.tier"}}', data) == "front"


def test_index_of_missing_key_is_empty():
    assert render('[{{index .Labels "nope"}}]', {"Labels": {}}) == "[]"


def test_index_of_list_and_nested():
    data = {"Ports": [{"Host": 80}, {"Host": 443}]}
    assert render("{{(index .Ports 1).Host}}", data) == "443"
    assert render("{{index .M 0 1}}", {"M": [["a", "b"]]}) == "b"


def test_index_out_of_range():
    msg = error_of("{{index .L 5}}", {"L": [1]})
    assert msg.endswith("error calling index: index out of range: 5")


def test_index_of_nil():
    assert error_of("{{index .X 1}}", {"X": None}).endswith("index of untyped nil")


def test_slice():
    assert render("{{slice .S 1 3}}", {"S": "abcd"}) == "bc"
    assert render("{{slice .L 1}}", {"L": [1, 2, 3]}) == "[2 3]"


# ---------------------------------------------------------------- if / else / with


def test_if_else_if_else():
    tmpl = compile_template(
        '{{if eq .S "running"}}up{{else if eq .S "exited"}}down{{else}}?{{end}}'
    )
    assert tmpl.render({"S": "running"}) == "up"
    assert tmpl.render({"S": "exited"}) == "down"
    assert tmpl.render({"S": "paused"}) == "?"


@pytest.mark.parametrize(
    ("value", "truth"),
    [
        (False, False),
        (0, False),
        (0.0, False),
        ("", False),
        ([], False),
        ({}, False),
        (None, False),
        (True, True),
        (1, True),
        ("x", True),
        ([0], True),
        ({"a": 1}, True),
        (State(), True),
    ],
)
def test_go_truthiness(value, truth):
    assert render("{{if .X}}T{{else}}F{{end}}", {"X": value}) == ("T" if truth else "F")


def test_if_on_missing_go_map_key_is_false():
    assert render("{{if .L.x}}T{{else}}F{{end}}", {"L": GoMap()}) == "F"


def test_with_sets_dot():
    assert render("{{with .State}}{{.Status}}{{end}}", {"State": {"Status": "ok"}}) == "ok"


def test_with_else():
    assert render("{{with .X}}has{{else}}none{{end}}", {"X": ""}) == "none"


def test_else_with():
    tmpl = "{{with .A}}a={{.}}{{else with .B}}b={{.}}{{else}}none{{end}}"
    assert render(tmpl, {"A": "", "B": "2"}) == "b=2"
    assert render(tmpl, {"A": "", "B": ""}) == "none"


# ---------------------------------------------------------------- range


def test_range_over_list():
    assert render("{{range .Names}}<{{.}}>{{end}}", {"Names": ["a", "b"]}) == "<a><b>"


def test_range_with_index_and_element():
    text = "{{range $i, $e := .L}}{{$i}}={{$e}};{{end}}"
    assert render(text, {"L": ["x", "y"]}) == "0=x;1=y;"


def test_range_with_one_variable_gets_the_element():
    assert render("{{range $e := .L}}{{$e}}{{end}}", {"L": ["x", "y"]}) == "xy"


def test_range_over_map_sorts_keys():
    data = {"M": {"b": 2, "a": 1, "c": 3}}
    assert render("{{range $k, $v := .M}}{{$k}}:{{$v}} {{end}}", data) == "a:1 b:2 c:3 "


def test_range_else_when_empty():
    assert render("{{range .L}}x{{else}}empty{{end}}", {"L": []}) == "empty"


def test_range_over_nil_runs_else():
    assert render("{{range .L}}x{{else}}empty{{end}}", {"L": None}) == "empty"


def test_range_over_int():
    assert render("{{range 3}}{{.}}{{end}}") == "012"


def test_range_break_and_continue():
    text = "{{range .L}}{{if eq . 2}}{{continue}}{{end}}{{if eq . 4}}{{break}}{{end}}{{.}}{{end}}"
    assert render(text, {"L": [1, 2, 3, 4, 5]}) == "13"


def test_range_cannot_iterate_over_string():
    assert error_of("{{range .S}}{{end}}", {"S": "abc"}).endswith("range can't iterate over abc")


def test_dollar_is_the_root_inside_range():
    data = {"Host": "h", "L": [1, 2]}
    assert render("{{range .L}}{{$.Host}}{{.}}{{end}}", data) == "h1h2"


# ---------------------------------------------------------------- variables


def test_variable_declaration_prints_nothing():
    assert render("{{$x := .A}}[{{$x}}]", {"A": "v"}) == "[v]"


def test_variable_assignment_inside_range():
    text = '{{$last := ""}}{{range .L}}{{$last = .}}{{end}}{{$last}}'
    assert render(text, {"L": ["a", "b", "c"]}) == "c"


def test_variable_fields():
    assert render("{{$s := .State}}{{$s.Status}}", {"State": {"Status": "ok"}}) == "ok"


def test_variables_end_with_their_block():
    msg = str(pytest.raises(PodError, compile_template, "{{if 1}}{{$x := 1}}{{end}}{{$x}}").value)
    assert msg == 'template: format:1: undefined variable "$x"'


# ---------------------------------------------------------------- pipelines and functions


def test_pipeline_passes_value_as_last_argument():
    assert render('{{.ID | printf "%.4s"}}', {"ID": "abcdef"}) == "abcd"


def test_join_in_a_pipeline():
    assert render('{{.Names | join ","}}', {"Names": ["a", "b"]}) == "a,b"


def test_join_called_directly():
    assert render('{{join .Names ", "}}', {"Names": ["a", "b"]}) == "a, b"


def test_chained_pipeline():
    assert render('{{.Names | join "," | upper}}', {"Names": ["a", "b"]}) == "A,B"


def test_parenthesized_argument():
    assert render('{{printf "%s-%s" (upper .A) (lower .B)}}', {"A": "x", "B": "Y"}) == "X-y"


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("{{eq 1 1}}", "true"),
        ('{{eq "a" "b" "c" "a"}}', "true"),
        ('{{eq "a" "b"}}', "false"),
        ("{{ne 1 2}}", "true"),
        ("{{lt 1 2}}", "true"),
        ('{{lt "b" "a"}}', "false"),
        ("{{le 2 2}}", "true"),
        ("{{gt 3 2}}", "true"),
        ("{{ge 1 2}}", "false"),
        ("{{not 0}}", "true"),
        ("{{not .}}", "true"),
        ("{{and 1 0 2}}", "0"),
        ("{{and 1 2}}", "2"),
        ('{{or "" "fallback"}}', "fallback"),
        ("{{or 0 false}}", "false"),
    ],
)
def test_logic_and_comparisons(text, want):
    assert render(text) == want


def test_ints_and_floats_compare():
    # Go refuses int against float64; pod's numbers are Python's, so it compares them.
    assert render("{{eq 1 1.0}} {{lt 1 1.5}}") == "true true"


def test_or_gives_a_default():
    assert render('{{or .Name "none"}}', {"Name": ""}) == "none"


def test_and_stops_before_failing_operand():
    assert render("{{and .X .X.Y}}", {"X": None}) == "<no value>"


def test_comparing_different_kinds_is_an_error():
    assert error_of('{{eq 1 "1"}}').endswith("error calling eq: incompatible types for comparison")


def test_lt_of_bools_is_an_error():
    assert error_of("{{lt true false}}").endswith("invalid type for comparison")


def test_len():
    assert render("{{len .L}} {{len .M}} {{len .S}}", {"L": [1, 2], "M": {"a": 1}, "S": "é"}) == (
        "2 1 2"
    )


def test_len_of_int_is_an_error():
    assert error_of("{{len 3}}").endswith("error calling len: len of type int")


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ('{{print "a" "b"}}', "ab"),
        ("{{print 1 2}}", "1 2"),
        ('{{print 1 2 "x" 3}}', "1 2x3"),
        ('{{println "a" 1}}', "a 1\n"),
        ("{{print nil}}", "<nil>"),
    ],
)
def test_print_and_println(text, want):
    assert render(text) == want


@pytest.mark.parametrize(
    ("fmt", "args", "want"),
    [
        ("%s", '"x"', "x"),
        ("%d", "42", "42"),
        ("%v", "42", "42"),
        ("%v", "1.5", "1.5"),
        ("%v", "true", "true"),
        ("%q", '"a\\"b"', '"a\\"b"'),
        ("%q", '"tab\\there"', '"tab\\there"'),
        ("[%-10s]", '"left"', "[left      ]"),
        ("[%10s]", '"right"', "[     right]"),
        ("[%5d]", "42", "[   42]"),
        ("[%-5d]", "42", "[42   ]"),
        ("%05d", "-42", "-0042"),
        ("%+d", "5", "+5"),
        ("%x %X %o %b", "255 255 8 5", "ff FF 10 101"),
        ("%#x", "255", "0xff"),
        ("%c", "65", "A"),
        ("%U", "65", "U+0041"),
        ("%t", "false", "false"),
        ("%.2f", "3.14159", "3.14"),
        ("%f", "1.5", "1.500000"),
        ("%8.3f|", "3.14159", "   3.142|"),
        ("%e", "1234.5", "1.234500e+03"),
        ("%g", "1000000.0", "1e+06"),
        ("%.3s", '"abcdef"', "abc"),
        ("%x", '"hi"', "6869"),
        ("%T %T %T", '"s" 1 1.5', "string int float64"),
        ("100%%", "", "100%"),
        ("%d", '"str"', "%!d(string=str)"),
        ("%s", "5", "%!s(int=5)"),
        ("%d %d", "1", "1 %!d(MISSING)"),
        ("%d", "1 2", "1%!(EXTRA int=2)"),
        ("%z", "1", "%!z(int=1)"),
        ("%", "", "%!(NOVERB)"),
        ("%*d", "4 7", "   7"),
        ("%s", "nil", "%!s(<nil>)"),
    ],
)
def test_printf_verbs(fmt, args, want):
    text = "{{printf " + '"' + fmt + '"' + (" " + args if args else "") + "}}"
    assert render(text) == want


def test_printf_with_lists_formats_each_element():
    assert render('{{printf "%v" .L}}', {"L": ["a", "b"]}) == "[a b]"
    assert render('{{printf "%q" .L}}', {"L": ["a", "b"]}) == '["a" "b"]'
    assert render('{{printf "%3d" .L}}', {"L": [1, 2]}) == "[  1   2]"


# ---------------------------------------------------------------- podman's functions


def test_json_function_is_compact_and_keeps_html():
    data = {"Labels": {"a": "<b>&"}, "N": [1, 2.0, None, True]}
    assert render("{{json .}}", data) == '{"Labels":{"a":"<b>&"},"N":[1,2,null,true]}'


def test_json_of_a_string():
    assert render("{{json .ID}}", {"ID": 'a"b'}) == '"a\\"b"'


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ('{{upper "abc"}}', "ABC"),
        ('{{lower "ABC"}}', "abc"),
        ('{{title "hello wide-world foo_bar"}}', "Hello Wide-World Foo_bar"),
        ('{{truncate "0123456789" 4}}', "0123"),
        ('{{truncate "abc" 10}}', "abc"),
        ('{{"0123456789" | truncate 3}}', "012"),
        ('[{{pad "x" 2 1}}]', "[  x ]"),
        ('[{{pad "" 2 1}}]', "[]"),
        ('{{split "a:b:c" ":"}}', "[a b c]"),
        ('{{split "ab" ""}}', "[a b]"),
        ('{{index (split "a:b" ":") 1}}', "b"),
        ('{{html "<a href=\\"x\\">&</a>"}}', "&lt;a href=&#34;x&#34;&gt;&amp;&lt;/a&gt;"),
        ('{{js "it\'s <b>"}}', "it\\'s \\u003Cb\\u003E"),
        ('{{urlquery "a b&c=d/é"}}', "a+b%26c%3Dd%2F%C3%A9"),
    ],
)
def test_string_functions(text, want):
    assert render(text) == want


def test_truncate_with_wrong_type():
    msg = error_of('{{truncate .ID "x"}}', {"ID": "abc"})
    assert msg.endswith("at <truncate>: wrong type for value; expected int; got string")


def test_wrong_number_of_arguments():
    msg = error_of("{{truncate .ID}}", {"ID": "abc"})
    assert msg.endswith("wrong number of args for truncate: want 2 got 1")


def test_js_escapes_control_characters_only():
    assert render('{{js "a\\x01\\x7fé"}}') == "a\\u0001\x7fé"


def test_upper_of_missing_value():
    assert error_of("{{upper .L.x}}", {"L": GoMap()}).endswith("invalid value; expected string")


# ---------------------------------------------------------------- literals


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ('{{"a\\tb"}}', "a\tb"),
        ('{{"\\u00e9\\x41"}}', "éA"),
        ("{{`raw\\t`}}", "raw\\t"),
        ("{{'a'}}", "97"),
        ("{{0x1F}}", "31"),
        ("{{010}}", "8"),
        ("{{0b101}}", "5"),
        ("{{1_000}}", "1000"),
        ("{{-3}}", "-3"),
        ("{{1.5}}", "1.5"),
        ("{{1e3}}", "1000"),
        ("{{true}} {{false}}", "true false"),
    ],
)
def test_literals(text, want):
    assert render(text) == want


# ---------------------------------------------------------------- whitespace and comments


def test_trim_markers():
    assert render("a  {{- .X -}}  b", {"X": "-"}) == "a-b"


def test_trim_markers_eat_newlines():
    text = "{{range .L -}}\n  {{.}}\n{{- end}}"
    assert render(text, {"L": ["a", "b"]}) == "ab"


def test_trim_marker_needs_a_space():
    assert render("x {{-3}}") == "x -3"


def test_comments():
    assert render("a{{/* note */}}b") == "ab"
    assert render("a {{- /* note */ -}} b") == "ab"


def test_spaces_and_newlines_inside_actions():
    assert render('{{ printf\n "%s"   .A }}', {"A": "x"}) == "x"


# ---------------------------------------------------------------- parse errors


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{{foo .X}}", 'template: format:1: function "foo" not defined'),
        ("{{.X", "template: format:1: unclosed action"),
        ("{{.X\n\n", "template: format:3: unclosed action started at format:1"),
        ("{{if .X}}a", "template: format:1: unexpected EOF"),
        ("{{end}}", "template: format:1: unexpected {{end}}"),
        ("{{else}}", "template: format:1: unexpected {{else}}"),
        ("{{}}", "template: format:1: missing value for command"),
        ("{{if}}{{end}}", "template: format:1: missing value for if"),
        ("{{$x}}", 'template: format:1: undefined variable "$x"'),
        ('{{"abc}}', "template: format:1: unterminated quoted string"),
        ("{{.X @}}", 'template: format:1: unexpected "@" in operand'),
        ("{{.X)}}", 'template: format:1: unexpected ")" in command'),
        ("{{.X\n\n#", 'template: format:3: unexpected "#" in operand'),
        (
            '{{.X\n\n"',
            "template: format:3: unterminated quoted string in action started at format:1",
        ),
        ("{{(.X}}", "template: format:1: unclosed left paren"),
        ("{{break}}", "template: format:1: {{break}} outside {{range}}"),
        ("{{.X | 3}}", "template: format:1: non executable command in pipeline stage 2"),
        ("{{3a}}", 'template: format:1: bad number syntax: "3a"'),
        ("{{/* x */ .X}}", "template: format:1: comment ends before closing delimiter"),
        ("{{range $a, $b, $c := .}}{{end}}", "template: format:1: too many declarations in range"),
        ('{{"\\q"}}', "template: format:1: invalid syntax"),
        ('{{define "x"}}{{end}}', "template: format:1: {{define}} is not supported"),
    ],
)
def test_parse_errors(text, message):
    with pytest.raises(PodError) as info:
        compile_template(text)
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)


def test_argument_to_non_function():
    assert error_of('{{"a" "b"}}').endswith('can\'t give argument to non-function "a"')


def test_nil_is_not_a_command():
    assert error_of("{{nil}}").endswith("nil is not a command")


def test_compiled_template_renders_many_times():
    tmpl = compile_template("{{.N}}")
    assert [tmpl.render({"N": n}) for n in range(3)] == ["0", "1", "2"]


def test_every_public_name_loads_from_its_module_and_mypy_sees_the_same_names():
    """pod.format loads its names lazily (PEP 562) from a table; the TYPE_CHECKING imports that
    give mypy their types must name the same ones from the same modules."""
    import ast
    import importlib
    import inspect

    import pod.format as package

    for name in package.__all__:
        home = importlib.import_module(f"pod.format.{package._HOME[name]}")
        assert getattr(package, name) is getattr(home, name)
    tree = ast.parse(inspect.getsource(package))
    guarded = next(node for node in tree.body if isinstance(node, ast.If))
    typed = {
        alias.name: node.module.rpartition(".")[2]
        for node in guarded.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    assert typed == package._HOME
