"""The Containerfile parser: Docker/BuildKit syntax, and every error with its file and line."""

import textwrap

import pytest

from pod.builder.containerfile import (
    Containerfile,
    Heredoc,
    Instruction,
    exec_or_shell,
    healthcheck,
    onbuild_trigger,
    parse,
    parse_shell,
)
from pod.errors import BuildSyntaxError


def dedent(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def body(text: str) -> tuple[Instruction, ...]:
    """The instructions of a one-stage file `FROM base` + text (text starts on line 2)."""
    return parse("FROM base\n" + dedent(text)).stages[0].instructions


def one(text: str) -> Instruction:
    (instr,) = body(text)
    return instr


def error(text: str, filename: str = "Containerfile") -> str:
    with pytest.raises(BuildSyntaxError) as caught:
        parse(text, filename)
    return str(caught.value)


# --- structure ----------------------------------------------------------------------------------


def test_stages_meta_args_and_names() -> None:
    cf = parse(
        dedent(
            """
            ARG BASE=alpine
            ARG TAG
            FROM --platform=$BUILDPLATFORM ${BASE}:${TAG} AS Build-Env.1
            RUN make
            from scratch
            COPY --from=build-env.1 /out /
            """
        ),
        "Dockerfile.dev",
    )
    assert isinstance(cf, Containerfile)
    assert cf.filename == "Dockerfile.dev"
    assert cf.escape == "\\"
    assert [a.text for a in cf.meta_args] == ["BASE=alpine", "TAG"]
    first, second = cf.stages
    assert (first.index, first.name, first.base, first.platform) == (
        0,
        "build-env.1",
        "${BASE}:${TAG}",
        "$BUILDPLATFORM",
    )
    assert first.from_instruction.line == 3
    assert first.from_instruction.text == "${BASE}:${TAG} AS Build-Env.1"
    assert [i.keyword for i in first.instructions] == ["RUN"]
    assert (second.index, second.name, second.base, second.platform) == (1, None, "scratch", None)
    assert second.from_instruction.source == "from scratch"
    assert second.instructions[0].flags == (("from", "build-env.1"),)


def test_keywords_are_case_insensitive_and_leading_blanks_allowed() -> None:
    instrs = body("   run echo hi\n\tCoPy a b\n")
    assert [(i.keyword, i.text, i.line) for i in instrs] == [
        ("RUN", "echo hi", 2),
        ("COPY", "a b", 3),
    ]
    assert instrs[0].source == "run echo hi"


def test_comments_and_blank_lines_are_skipped_with_line_numbers_kept() -> None:
    cf = parse("# top comment\n\nFROM a\n   # indented comment\n\nRUN x # not a comment\n")
    (instr,) = cf.stages[0].instructions
    assert (instr.text, instr.line) == ("x # not a comment", 6)


def test_crlf_line_endings_and_bom() -> None:
    cf = parse("\ufeffFROM a\r\nRUN echo a \\\r\n  b\r\n")
    (instr,) = cf.stages[0].instructions
    assert cf.stages[0].base == "a"
    assert instr.text == "echo a   b"


# --- continuations ------------------------------------------------------------------------------


def test_continuation_joins_lines_without_adding_a_separator() -> None:
    """Docker removes only the escape char: the whitespace around it is what remains."""
    instr = one("RUN apt-get update && \\\n    apt-get install -y \\\n  curl\n")
    assert instr.text == "apt-get update &&     apt-get install -y   curl"
    assert instr.source == "RUN apt-get update &&     apt-get install -y   curl"
    assert instr.line == 2
    assert one("RUN echo a\\\nb\n").text == "echo ab"


def test_continuation_drops_comment_and_blank_lines_inside() -> None:
    instrs = body(
        """
        RUN one \\
        # a comment inside the continuation
            # an indented one

          two \\
          \\
          three
        RUN four
        """
    )
    # "one " + "  two " + "  " (the line holding only the escape) + "  three"
    assert [(i.text, i.line) for i in instrs] == [("one   two     three", 2), ("four", 9)]


def test_continuation_trailing_blanks_after_escape() -> None:
    assert one("RUN a \\  \t\n b\n").text == "a  b"


def test_escaped_escape_at_end_is_not_a_continuation() -> None:
    instrs = body("RUN echo foo\\\\\nRUN next\n")
    assert [i.text for i in instrs] == ["echo foo\\\\", "next"]


def test_file_may_end_in_a_continuation() -> None:
    assert parse("FROM a\nRUN echo \\").stages[0].instructions[0].text == "echo"
    assert parse("FROM a\nRUN echo \\\n\n# c\n").stages[0].instructions[0].text == "echo"


# --- parser directives --------------------------------------------------------------------------


def test_escape_directive_backtick_for_windows_paths() -> None:
    cf = parse(
        dedent(
            """
            # escape=`
            FROM mcr.microsoft.com/windows/servercore
            COPY testfile.txt c:\\
            RUN dir c:\\
            RUN echo a `
              b
            """
        )
    )
    assert cf.escape == "`"
    assert [i.text for i in cf.stages[0].instructions] == [
        "testfile.txt c:\\",
        "dir c:\\",
        "echo a   b",
    ]


def test_directives_are_case_insensitive_and_may_be_several() -> None:
    cf = parse("# syntax=docker/dockerfile:1\n#ESCAPE = `\n# check=skip=all\nFROM a\n")
    assert cf.escape == "`"


def test_escape_directive_backslash() -> None:
    assert parse("# escape=\\\nFROM a\n").escape == "\\"


@pytest.mark.parametrize(
    "prefix",
    [
        "# a comment\n",  # after a comment
        "\n",  # after a blank line
        "# unknown=directive\n",  # after an unknown directive (it is a comment)
        "FROM a\n",  # after an instruction
    ],
)
def test_directive_only_honoured_at_the_very_top(prefix: str) -> None:
    cf = parse(prefix + "# escape=`\nFROM b\nRUN echo \\\n  x\n")
    assert cf.escape == "\\"
    assert cf.stages[-1].instructions[0].text == "echo   x"


def test_invalid_escape_directive() -> None:
    assert error("# escape=x\nFROM a\n") == (
        "Containerfile:1: invalid escape token 'x' does not match ` or \\"
    )


def test_repeated_directive() -> None:
    assert error("# escape=`\n# escape=\\\nFROM a\n") == (
        "Containerfile:2: only one escape parser directive can be used"
    )


# --- JSON (exec) form and shell form ------------------------------------------------------------


def test_json_form() -> None:
    instr = one('RUN ["sh", "-c", "echo \\"hi\\" \\u00e9"]\n')
    assert instr.json_args == ("sh", "-c", 'echo "hi" é')
    assert instr.text == '["sh", "-c", "echo \\"hi\\" \\u00e9"]'
    assert exec_or_shell(instr, ["/bin/sh", "-c"]) == ["sh", "-c", 'echo "hi" é']


def test_shell_form() -> None:
    instr = one("CMD echo $HOME && ls\n")
    assert instr.json_args is None
    assert exec_or_shell(instr, ["/bin/sh", "-c"]) == ["/bin/sh", "-c", "echo $HOME && ls"]


@pytest.mark.parametrize(
    "rest",
    [
        "[not json",
        "['single', 'quotes']",
        '["a" "b"]',
        '["a"] trailing',
        '["a", NaN]',  # Python's json would take it; JSON (and Go) do not
        "[ -f /x ] && echo yes",
    ],
)
def test_text_starting_with_bracket_that_is_not_json_is_shell_form(rest: str) -> None:
    instr = one(f"RUN {rest}\n")
    assert instr.json_args is None
    assert instr.text == rest


def test_empty_json_array() -> None:
    assert one("CMD []\n").json_args == ()
    assert exec_or_shell(one("ENTRYPOINT []\n"), ["/bin/sh", "-c"]) == []


def test_json_only_for_instructions_that_take_it() -> None:
    assert one('WORKDIR ["/app"]\n').json_args is None
    assert one('COPY ["a b", "/c d/"]\n').json_args == ("a b", "/c d/")
    assert one('VOLUME ["/data", "/logs"]\n').json_args == ("/data", "/logs")


@pytest.mark.parametrize("rest", ['["a", 1]', '["a", ["b"]]', "[null]", '[{"a": "b"}]', "[true]"])
def test_json_array_of_non_strings_is_an_error(rest: str) -> None:
    assert error(f"FROM a\nRUN {rest}\n") == (
        "Containerfile:2: when using JSON array syntax, arrays must be comprised of strings only"
    )


def test_shell_instruction() -> None:
    assert parse_shell(one('SHELL ["/bin/bash", "-eo", "pipefail", "-c"]\n')) == [
        "/bin/bash",
        "-eo",
        "pipefail",
        "-c",
    ]
    assert error("FROM a\nSHELL /bin/bash -c\n") == (
        "Containerfile:2: SHELL requires the arguments to be in JSON form"
    )
    assert error("FROM a\nSHELL []\n") == "Containerfile:2: SHELL requires at least one argument"


# --- heredocs -----------------------------------------------------------------------------------


def test_heredoc_run() -> None:
    instrs = body(
        """
        RUN <<EOF
        apt-get update
          # kept: a comment inside the body is content
        EOF
        RUN after
        """
    )
    run, after = instrs
    assert run.text == "<<EOF"
    assert run.heredocs == (
        Heredoc(
            name="EOF",
            content="apt-get update\n  # kept: a comment inside the body is content\n",
            expand=True,
            chomp=False,
        ),
    )
    assert (run.line, after.line, after.text) == (2, 6, "after")


def test_several_heredocs_bodies_follow_in_order() -> None:
    instr = one(
        """
        COPY --chmod=755 <<a <<b /dest/
        content of a
        b
        a
        content of b
        b
        """
    )
    assert instr.text == "<<a <<b /dest/"
    assert instr.flags == (("chmod", "755"),)
    assert [(h.name, h.content) for h in instr.heredocs] == [
        ("a", "content of a\nb\n"),
        ("b", "content of b\n"),
    ]


@pytest.mark.parametrize(
    ("marker", "name", "expand"),
    [
        ("<<'EOF'", "EOF", False),
        ('<<"EOF"', "EOF", False),
        ('<<E"O"F', "EOF", False),
        ("<<EOF", "EOF", True),
        ("<< EOF", "EOF", True),  # blanks after << are allowed
        ("<<\\'EOF", "'EOF", True),  # an escaped quote is part of the name
        ("<<$EOF", "$EOF", True),  # the delimiter is not expanded
        ("<<file.txt", "file.txt", True),
    ],
)
def test_heredoc_delimiters(marker: str, name: str, expand: bool) -> None:
    instr = one(f"RUN cat {marker} > /x\nbody $X\n{name}\n")
    assert instr.heredocs == (Heredoc(name, "body $X\n", expand, False),)
    assert instr.text == f"cat {marker} > /x"


def test_heredoc_chomp_strips_leading_tabs() -> None:
    instr = one("RUN <<-EOF\n\tindented\n\t\ttwice\n  spaces stay\n\tEOF\n")
    assert instr.heredocs == (Heredoc("EOF", "indented\ntwice\n  spaces stay\n", True, True),)
    # without <<- the tab-indented delimiter does not end the body
    instr = one("RUN <<EOF\n\tbody\n\tEOF\nEOF\n")
    assert instr.heredocs[0].content == "\tbody\n\tEOF\n"


def test_heredoc_empty_body_and_fd_prefix() -> None:
    instr = one("RUN 3<<EOF\nEOF\n")
    assert instr.heredocs == (Heredoc("EOF", "", True, False),)


def test_heredoc_after_continuation() -> None:
    instr = one("RUN --network=none \\\n  cat <<EOF\nhello\nEOF\n")
    assert instr.text == "cat <<EOF"
    assert instr.heredocs[0].content == "hello\n"


@pytest.mark.parametrize(
    "line",
    [
        'RUN ["cat", "<<EOF"]',  # JSON form
        "RUN echo '<<EOF'",  # quoted
        'RUN echo "<<EOF"',
        "RUN cat<<EOF",  # << must start a word
        "RUN echo <<",
        "RUN echo don't <<EOF",  # an unterminated quote: BuildKit finds no heredoc
        "ENV A=<<EOF",  # only RUN, COPY and ADD take heredocs
        "LABEL x=<<EOF",
    ],
)
def test_not_heredocs(line: str) -> None:
    instrs = body(line + "\nRUN next\n")
    assert instrs[0].heredocs == ()
    assert instrs[1].text == "next"


def test_unterminated_heredoc() -> None:
    assert error("FROM a\nRUN true\nRUN <<EOF\nbody\nEOFX\n") == (
        'Containerfile:3: unterminated heredoc "EOF"'
    )
    assert error("FROM a\nCOPY <<a <<b /\na\nnever ends\n") == (
        'Containerfile:2: unterminated heredoc "b"'
    )


def test_heredoc_as_copy_destination() -> None:
    assert error("FROM a\nCOPY x <<EOF\nEOF\n") == (
        "Containerfile:2: COPY cannot accept a heredoc as a destination"
    )


# --- flags --------------------------------------------------------------------------------------


def test_flags_in_order_with_quotes_removed() -> None:
    instr = one(
        'COPY --from=builder --chown="1:2" --link --exclude=*.md --exclude=*.txt src /dst\n'
    )
    assert instr.flags == (
        ("from", "builder"),
        ("chown", "1:2"),
        ("link", ""),
        ("exclude", "*.md"),
        ("exclude", "*.txt"),
    )
    assert instr.text == "src /dst"


def test_flags_only_before_the_first_other_word() -> None:
    instr = one("RUN --mount=type=cache,target=/c echo --network=host\n")
    assert instr.flags == (("mount", "type=cache,target=/c"),)
    assert instr.text == "echo --network=host"


def test_double_dash_ends_flags() -> None:
    instr = one("RUN --network=none -- --not-a-flag\n")
    assert instr.flags == (("network", "none"),)
    assert instr.text == "--not-a-flag"


def test_all_allowed_flags() -> None:
    instrs = body(
        """
        RUN --mount=type=bind --mount=type=tmpfs,target=/t --network=host --security=insecure x
        COPY --from=a --chown=1 --chmod=644 --link=true --parents=false --exclude=x a b
        ADD --chown=1 --chmod=644 --link --checksum=sha256:ab --keep-git-dir=true --exclude=y a b
        HEALTHCHECK --interval=1s --timeout=2s --start-period=3s --start-interval=4s --retries=5 \\
          CMD true
        """
    )
    assert [len(i.flags) for i in instrs] == [4, 6, 6, 5]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("RUN --foo=bar x", "unknown flag: --foo"),
        ("COPY --checksum=sha256:x a b", "unknown flag: --checksum"),
        ("ADD --from=x a b", "unknown flag: --from"),
        ("WORKDIR --x=y /a", "unknown flag: --x"),
        ("ENV --a=b c=d", "unknown flag: --a"),
        ("ONBUILD --x RUN y", "unknown flag: --x"),
        ("COPY --FROM=a b c", "unknown flag: --FROM"),
        ("COPY --from b c", "missing a value on flag: --from (write --from=value)"),
        ("COPY --link= a b", "missing a value on flag: --link"),
        ("COPY --link=maybe a b", "expecting boolean value for flag --link, not: maybe"),
        ("COPY --from=a --from=b x y", "duplicate flag specified: --from"),
        ("RUN --network=a --network=b x", "duplicate flag specified: --network"),
    ],
)
def test_flag_errors(line: str, reason: str) -> None:
    assert error(f"FROM a\n{line}\n") == f"Containerfile:2: {reason}"


def test_from_platform_flag() -> None:
    assert error("FROM --plat=x a\n") == "Containerfile:1: unknown flag: --plat"
    assert parse("FROM --platform=linux/arm64 a\n").stages[0].platform == "linux/arm64"


# --- ONBUILD ------------------------------------------------------------------------------------


def test_onbuild_wraps_a_checked_instruction() -> None:
    instr = one("ONBUILD copy --chown=1:1 . /app\n")
    assert (instr.keyword, instr.text, instr.flags, instr.json_args) == (
        "ONBUILD",
        "copy --chown=1:1 . /app",
        (),
        None,
    )
    inner = instr.onbuild
    assert inner is not None
    assert (inner.keyword, inner.flags, inner.text, inner.line) == (
        "COPY",
        (("chown", "1:1"),),
        ". /app",
        2,
    )
    assert inner.source == "copy --chown=1:1 . /app"


def test_onbuild_json_and_heredoc() -> None:
    assert one('ONBUILD CMD ["a", "b"]\n').onbuild.json_args == ("a", "b")
    instr = one("ONBUILD RUN <<EOF\necho hi\nEOF\n")
    assert instr.onbuild is not None
    assert instr.heredocs == instr.onbuild.heredocs == (Heredoc("EOF", "echo hi\n", True, False),)
    # the trigger as stored in the image config carries the body, and parses back the same
    trigger = onbuild_trigger(instr)
    assert trigger == "RUN <<EOF\necho hi\nEOF"
    again = parse(f"FROM scratch\n{trigger}\n").stages[0].instructions[0]
    assert (again.text, again.heredocs) == (instr.onbuild.text, instr.heredocs)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("ONBUILD", "ONBUILD requires at least one argument"),
        ("ONBUILD ONBUILD RUN x", "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"),
        ("ONBUILD onbuild RUN x", "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"),
        ("ONBUILD FROM x", "FROM isn't allowed as an ONBUILD trigger"),
        ("ONBUILD maintainer me", "MAINTAINER isn't allowed as an ONBUILD trigger"),
        ("ONBUILD BOGUS x", 'unknown instruction: "BOGUS"'),
        ("ONBUILD RUN", "RUN requires at least one argument"),
        ("ONBUILD COPY --bad=1 a b", "unknown flag: --bad"),
    ],
)
def test_onbuild_errors(line: str, reason: str) -> None:
    assert error(f"FROM a\n{line}\n") == f"Containerfile:2: {reason}"


# --- stage names --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["b", "build-env", "a_b.c-1", "UPPER"])
def test_valid_stage_names_are_lowercased(name: str) -> None:
    assert parse(f"FROM x as {name}\n").stages[0].name == name.lower()


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("FROM", "FROM requires either one or three arguments"),
        ("FROM a AS", "FROM requires either one or three arguments"),
        ("FROM a b", "FROM requires either one or three arguments"),
        ("FROM a AS b c", "FROM requires either one or three arguments"),
        ("FROM a IS b", "FROM requires either one or three arguments"),
        (
            "FROM a AS 1st",
            'invalid name for build stage: "1st", '
            "name can't start with a number or contain symbols",
        ),
        (
            "FROM a AS my/stage",
            'invalid name for build stage: "my/stage", '
            "name can't start with a number or contain symbols",
        ),
    ],
)
def test_from_errors(line: str, reason: str) -> None:
    assert error(f"ARG X\n{line}\n") == f"Containerfile:2: {reason}"


def test_repeated_stage_name() -> None:
    text = "FROM a AS build\nRUN x\nFROM b AS other\nFROM c AS Build\n"
    assert (
        error(text) == 'Containerfile:4: duplicate stage name "build": stage names must be unique'
    )


# --- other errors -------------------------------------------------------------------------------


def test_unknown_instruction_names_it_as_written() -> None:
    assert error("FROM a\nRUN ok\nFOOBAR x\n") == 'Containerfile:3: unknown instruction: "FOOBAR"'
    assert error("FROM a\ncopyy a b\n", "build/Dockerfile") == (
        'build/Dockerfile:2: unknown instruction: "copyy"'
    )


def test_instruction_before_first_from() -> None:
    assert error("ARG A\n# c\nENV B=1\nFROM a\n") == (
        "Containerfile:3: ENV before the first FROM (only ARG may come before FROM)"
    )


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n", "ARG A=1\n", "# escape=`\n"])
def test_no_from(text: str) -> None:
    assert error(text, "Containerfile.x") == "Containerfile.x: no FROM instruction"


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("RUN", "RUN requires at least one argument"),
        ("RUN   ", "RUN requires at least one argument"),
        ("RUN []", "RUN requires at least one argument"),
        ("RUN --network=none", "RUN requires at least one argument"),
        (
            "COPY onlyone",
            "COPY requires at least two arguments, but only one was provided. "
            "Destination could not be determined",
        ),
        (
            'ADD ["only"]',
            "ADD requires at least two arguments, but only one was provided. "
            "Destination could not be determined",
        ),
        ("WORKDIR", "WORKDIR requires exactly one argument"),
        ("USER", "USER requires exactly one argument"),
        ("STOPSIGNAL", "STOPSIGNAL requires exactly one argument"),
        ("MAINTAINER", "MAINTAINER requires exactly one argument"),
        ("EXPOSE", "EXPOSE requires at least one argument"),
        ("VOLUME", "VOLUME requires at least one argument"),
        ("VOLUME []", "VOLUME requires at least one argument"),
        ('VOLUME ["/a", " "]', "VOLUME specified can not be an empty string"),
        ("ENV", "ENV requires at least one argument"),
        ("ENV ONLYKEY", "ENV must have two arguments"),
        ("ENV A=1 B", 'Syntax error - can\'t find = in "B". Must be of the form: name=value'),
        ("ENV =1", "ENV names can not be blank"),
        ("LABEL", "LABEL requires at least one argument"),
        ("LABEL =x", "LABEL names can not be blank"),
        ("ARG", "ARG requires at least one argument"),
        ("ARG =x", "ARG names can not be blank"),
    ],
)
def test_missing_or_bad_arguments(line: str, reason: str) -> None:
    assert error(f"FROM a\n\n{line}\n") == f"Containerfile:3: {reason}"


def test_error_line_is_where_a_continued_instruction_starts() -> None:
    assert error("FROM a\nCOPY \\\n  # comment\n  onlyone\n").startswith("Containerfile:2: ")


def test_empty_cmd_and_entrypoint_are_accepted_as_docker_does() -> None:
    cmd, entrypoint = body("CMD\nENTRYPOINT\n")
    assert exec_or_shell(cmd, ["/bin/sh", "-c"]) == ["/bin/sh", "-c", ""]
    assert entrypoint.text == ""


def test_env_label_and_arg_forms_are_accepted_unexpanded() -> None:
    env, legacy, label, arg = body(
        'ENV A=1 B="two words" C=three\\ words\nENV KEY a value\nLABEL "x"=y\nARG N V=$N\n'
    )
    assert env.text == 'A=1 B="two words" C=three\\ words'
    assert legacy.text == "KEY a value"
    assert label.text == '"x"=y'
    assert arg.text == "N V=$N"


# --- HEALTHCHECK --------------------------------------------------------------------------------


def test_healthcheck_shell_form_with_durations() -> None:
    instr = one(
        "HEALTHCHECK --interval=1m30s --timeout=500ms --start-period=1.5s --start-interval=2s "
        "--retries=3 CMD curl -f http://localhost/ || exit 1\n"
    )
    assert healthcheck(instr) == {
        "Test": ["CMD-SHELL", "curl -f http://localhost/ || exit 1"],
        "Interval": 90_000_000_000,
        "Timeout": 500_000_000,
        "StartPeriod": 1_500_000_000,
        "StartInterval": 2_000_000_000,
        "Retries": 3,
    }


def test_healthcheck_exec_form_none_and_zero_values() -> None:
    assert healthcheck(one('HEALTHCHECK cmd ["curl", "-f", "x"]\n')) == {
        "Test": ["CMD", "curl", "-f", "x"]
    }
    assert healthcheck(one("HEALTHCHECK NONE\n")) == {"Test": ["NONE"]}
    assert healthcheck(one("healthcheck none\n")) == {"Test": ["NONE"]}
    assert healthcheck(one("HEALTHCHECK --interval=0 --retries=0 CMD true\n")) == {
        "Test": ["CMD-SHELL", "true"]
    }
    assert healthcheck(one("HEALTHCHECK --timeout=1h2m3.5s CMD true\n"))["Timeout"] == (
        3_723_500_000_000
    )
    assert healthcheck(one("RUN true\n")) is None


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("HEALTHCHECK", "HEALTHCHECK requires at least one argument"),
        ("HEALTHCHECK CMD", "Missing command after HEALTHCHECK CMD"),
        ("HEALTHCHECK CMD []", "Missing command after HEALTHCHECK CMD"),
        ("HEALTHCHECK NONE now", "HEALTHCHECK NONE takes no arguments"),
        ("HEALTHCHECK RUN x", 'Unknown type "RUN" in HEALTHCHECK (try CMD)'),
        (
            "HEALTHCHECK --interval=5 CMD x",
            'invalid duration "5" for --interval (e.g. 30s, 1m30s, 500ms)',
        ),
        (
            "HEALTHCHECK --timeout=1x CMD x",
            'invalid duration "1x" for --timeout (e.g. 30s, 1m30s, 500ms)',
        ),
        (
            "HEALTHCHECK --timeout=s CMD x",
            'invalid duration "s" for --timeout (e.g. 30s, 1m30s, 500ms)',
        ),
        ("HEALTHCHECK --timeout=500us CMD x", "--timeout cannot be less than 1ms (500us)"),
        ("HEALTHCHECK --interval=-1s CMD x", "--interval cannot be less than 1ms (-1s)"),
        ("HEALTHCHECK --retries=-1 CMD x", "--retries cannot be negative (-1)"),
        ("HEALTHCHECK --retries=two CMD x", '--retries must be a whole number, not "two"'),
        ("HEALTHCHECK --bogus=1 CMD x", "unknown flag: --bogus"),
        (
            'HEALTHCHECK CMD ["a", 2]',
            "when using JSON array syntax, arrays must be comprised of strings only",
        ),
    ],
)
def test_healthcheck_errors_at_parse_time(line: str, reason: str) -> None:
    assert error(f"FROM a\n{line}\n") == f"Containerfile:2: {reason}"
