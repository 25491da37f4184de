"""Docker's word processing for Containerfile instructions: quotes, escapes, ${VAR...} forms."""

import pytest

from pod.builder.words import (
    arg_pairs,
    expand,
    expand_words,
    key_values,
    split_key_values,
    split_words,
)
from pod.errors import BuildSyntaxError, PodError

ENV = {
    "HOME": "/root",
    "EMPTY": "",
    "NAME": "pod",
    "SPACED": "a  b",
    "FILE": "archive.tar.gz",
    "STAR": "*abc*",
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain", "plain"),
        ("$HOME/x", "/root/x"),
        ("${HOME}x", "/rootx"),
        ("$NAMEx", ""),  # the name is NAMEx, which is unset
        ("${NAME}x", "podx"),
        ("$UNSET", ""),
        ("a$", "a$"),
        ("$.x", "$.x"),  # `$` not followed by a name is literal
        ("$1x", "x"),  # positional parameters are looked up (and unset)
        ("'$HOME'", "$HOME"),  # single quotes are literal
        ("'a\\b'", "a\\b"),  # ... escapes included
        ('"$HOME"', "/root"),
        ('"a\\"b"', 'a"b'),  # double quotes: \" \$ and \\ are escapes
        ('"\\$HOME"', "$HOME"),
        ('"a\\\\b"', "a\\b"),
        ('"a\\tb"', "a\\tb"),  # ... any other backslash stays
        ("a\\tb", "atb"),  # outside quotes the escape char escapes any character
        ("\\$HOME", "$HOME"),
        ("\\\\$HOME", "\\/root"),
        ("a\\", "a"),  # an escape at the very end is dropped
        ("he'll'o", "hello"),
        ('"it\'s"', "it's"),
        ("'\"q\"'", '"q"'),
        ("a  b", "a  b"),  # one word: whitespace is kept
        ("x$SPACED", "xa  b"),
        ("안녕$NAME", "안녕pod"),
    ],
)
def test_expand(text: str, expected: str) -> None:
    assert expand(text, ENV) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${UNSET:-dflt}", "dflt"),
        ("${EMPTY:-dflt}", "dflt"),
        ("${EMPTY-dflt}", ""),  # without the colon only an unset variable counts
        ("${UNSET-dflt}", "dflt"),
        ("${NAME:-dflt}", "pod"),
        ("${NAME:+alt}", "alt"),
        ("${EMPTY:+alt}", ""),
        ("${EMPTY+alt}", "alt"),
        ("${UNSET+alt}", ""),
        ("${NAME:?boom}", "pod"),
        ("${EMPTY?boom}", ""),
        ("x${UNSET:-$HOME}y", "x/rooty"),  # the word is expanded
        ("${UNSET:-${OTHER:-deep}}", "deep"),  # ... nested
        ("${UNSET:-${NAME:-no}}", "pod"),
        ("${NAME:+${UNSET}}", ""),
        ("${UNSET:-a b}", "a b"),
        ("${UNSET:-'q}'}", "q}"),  # quotes inside the word protect the brace
        ("${UNSET:-a\\}b}", "a}b"),
        ("${UNSET:-\\$HOME}", "$HOME"),
        ('"${UNSET:-in quotes}"', "in quotes"),
        ("${NAME}}", "pod}"),
        ("${FILE#*.}", "tar.gz"),  # shortest prefix
        ("${FILE##*.}", "gz"),  # longest prefix
        ("${FILE%.*}", "archive.tar"),  # shortest suffix
        ("${FILE%%.*}", "archive"),  # longest suffix
        ("${FILE#nomatch}", "archive.tar.gz"),
        ("${FILE/a/A}", "Archive.tar.gz"),
        ("${FILE//a/A}", "Archive.tAr.gz"),
        ("${FILE/\\*/x}", "archive.tar.gz"),  # an escaped * is literal
        ("${FILE##a**.}", "gz"),  # ** is *
        ("${STAR#\\**}", "abc*"),  # a literal *, then the shortest anything
        ("${STAR##\\**}", ""),
        ("${STAR%\\*}", "*abc"),
    ],
)
def test_modifiers(text: str, expected: str) -> None:
    assert expand(text, ENV) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("${UNSET:?need it}", 'failed to process "${UNSET:?need it}": UNSET: need it'),
        ("${UNSET?}", 'failed to process "${UNSET?}": UNSET: is not allowed to be unset'),
        ("${EMPTY:?}", 'failed to process "${EMPTY:?}": EMPTY: is not allowed to be empty'),
        (
            "${UNSET:?$NAME missing}",
            'failed to process "${UNSET:?$NAME missing}": UNSET: pod missing',
        ),
        ("${NAME:=x}", 'failed to process "${NAME:=x}": unsupported modifier (:=) in substitution'),
        ("${NAME^^}", 'failed to process "${NAME^^}": unsupported modifier (^) in substitution'),
        ("${NAME:#x}", 'failed to process "${NAME:#x}": unsupported modifier (:#) in substitution'),
        ("${.}", 'failed to process "${.}": unsupported modifier (.) in substitution'),
        ("${}", 'failed to process "${}": syntax error: bad substitution'),
        ("${:-x}", 'failed to process "${:-x}": syntax error: bad substitution'),
        ("${{x}", 'failed to process "${{x}": syntax error: bad substitution'),
        ("x${", "failed to process \"x${\": syntax error: missing '}'"),
        ("${NAME", "failed to process \"${NAME\": syntax error: missing '}'"),
        ("${NAME:-abc", "failed to process \"${NAME:-abc\": syntax error: missing '}'"),
        (
            "'open",
            'failed to process "\'open": '
            "unexpected end of statement while looking for matching single-quote",
        ),
        (
            '"open\\"',
            'failed to process ""open\\"": '
            "unexpected end of statement while looking for matching double-quote",
        ),
    ],
)
def test_expand_errors(text: str, message: str) -> None:
    with pytest.raises(BuildSyntaxError) as caught:
        expand(text, ENV)
    assert str(caught.value) == message


def test_build_syntax_error_is_an_engine_error() -> None:
    assert issubclass(BuildSyntaxError, PodError)
    assert BuildSyntaxError.exit_code == 125


def test_backtick_escape() -> None:
    """With `# escape=\\``, backslashes are ordinary (Windows paths) and ` escapes."""
    assert expand("C:\\Program Files\\$NAME", ENV, "`") == "C:\\Program Files\\pod"
    assert expand("`$NAME", ENV, "`") == "$NAME"
    assert expand('"a`"b"', ENV, "`") == 'a"b'
    assert expand_words("c:\\a` b c:\\dest\\", ENV, "`") == ["c:\\a b", "c:\\dest\\"]


def test_quotes_false_is_dockers_heredoc_body_expansion() -> None:
    """Quotes stay, variables expand, and escapes still eat the backslash (Docker's quirk)."""
    body = "echo \"$NAME\" 'x' \\$HOME \\n\n"
    assert expand(body, ENV, quotes=False) == "echo \"pod\" 'x' $HOME n\n"


def test_expand_words_splits_before_expanding() -> None:
    """Docker splits words first, so a variable holding spaces stays one word."""
    assert expand_words("$SPACED /dst", ENV) == ["a  b", "/dst"]
    assert expand_words('"$SPACED" x', ENV) == ["a  b", "x"]


def test_expand_words_quotes_escapes_and_empty_words() -> None:
    assert expand_words('  "" a\\ b "c d"  \'e f\'  ', ENV) == ["", "a b", "c d", "e f"]
    assert expand_words("$EMPTY x", ENV) == ["", "x"]
    assert expand_words("", ENV) == []
    assert expand_words("a\tb", ENV) == ["a", "b"]


def test_expand_words_resplit_is_dockers_expose() -> None:
    """EXPOSE re-splits unquoted expansions and drops empty words (moby's ProcessWords)."""
    env = {"PORTS": " 80/tcp  443 ", "Q": "1 2"}
    assert expand_words("$PORTS 8080", env, resplit=True) == ["80/tcp", "443", "8080"]
    assert expand_words('"$Q" x$Q', env, resplit=True) == ["1 2", "x1", "2"]
    assert expand_words('"" $EMPTY', ENV, resplit=True) == []


def test_split_words_keeps_quotes_and_escapes() -> None:
    assert split_words('a="b c" d=e\\ f  g') == ['a="b c"', "d=e\\ f", "g"]
    assert split_words("k='it''s' x") == ["k='it''s'", "x"]
    assert split_words("a\\") == ["a"]
    assert split_words("a` b", "`") == ["a` b"]


def test_key_values_forms() -> None:
    text = 'k=v k2="v 2" k3=v\\ 3 k4= k5="" k6=a=b'
    assert key_values(text, ENV, legacy=True) == [
        ("k", "v"),
        ("k2", "v 2"),
        ("k3", "v 3"),
        ("k4", ""),
        ("k5", ""),
        ("k6", "a=b"),
    ]


def test_key_values_expand_with_the_env_before_the_instruction() -> None:
    """`ENV A=2 B=$A` gives B the old A: every pair sees the env as it was before."""
    env = {"A": "1"}
    assert key_values("A=2 B=$A C=${A}x", env, legacy=True) == [("A", "2"), ("B", "1"), ("C", "1x")]
    assert key_values("A=2 B=$A", {}, legacy=True) == [("A", "2"), ("B", "")]
    assert env == {"A": "1"}  # the caller's mapping is not touched


def test_key_values_expand_keys_too() -> None:
    assert key_values("${NAME}_KEY=1", ENV, legacy=False) == [("pod_KEY", "1")]


def test_key_values_legacy_form() -> None:
    """`ENV key the rest`: the value is everything after the key, quotes processed."""
    assert key_values('MSG  hello   "big  world"  $NAME', ENV, legacy=True) == [
        ("MSG", "hello   big  world  pod")
    ]
    assert key_values("PATH_X /a:/b", ENV, legacy=True) == [("PATH_X", "/a:/b")]


@pytest.mark.parametrize(
    ("text", "legacy", "message"),
    [
        ("", True, "ENV requires at least one argument"),
        ("   ", True, "ENV requires at least one argument"),
        ("KEY", True, "ENV must have two arguments"),
        (
            "KEY value",
            False,
            'Syntax error - can\'t find = in "KEY". Must be of the form: name=value',
        ),
        ("a=1 b", True, 'Syntax error - can\'t find = in "b". Must be of the form: name=value'),
        ("=v", True, "ENV names can not be blank"),
        ("a=1 =2", True, "ENV names can not be blank"),
    ],
)
def test_key_values_errors(text: str, legacy: bool, message: str) -> None:
    with pytest.raises(BuildSyntaxError) as caught:
        key_values(text, ENV, legacy=legacy)
    assert str(caught.value) == message


def test_key_values_names_the_instruction() -> None:
    with pytest.raises(BuildSyntaxError, match="^LABEL names can not be blank$"):
        split_key_values("=x", legacy=True, instruction="LABEL")
    with pytest.raises(BuildSyntaxError, match="^LABEL names can not be blank$"):
        key_values("$EMPTY=x", ENV, legacy=True, instruction="LABEL")


def test_arg_pairs() -> None:
    assert arg_pairs('A B=1 C= D="x y" E=$A') == [
        ("A", None),
        ("B", "1"),
        ("C", ""),
        ("D", '"x y"'),  # unexpanded: the executor expands each default in turn
        ("E", "$A"),
    ]
    with pytest.raises(BuildSyntaxError, match="^ARG requires at least one argument$"):
        arg_pairs("")
    with pytest.raises(BuildSyntaxError, match="^ARG names can not be blank$"):
        arg_pairs("A=1 =2")
