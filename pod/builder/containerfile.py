"""The Containerfile parser for `pod build`, with Docker/BuildKit's syntax and error checks.

The input is untrusted, and every mistake Docker reports before running anything is reported
here too, with the file name and line, so a build never runs half of a file that cannot work.
Variable expansion is left to the executor (pod.builder.words): it depends on ARG and ENV values
that are only known while the build runs.
"""

from __future__ import annotations

import json
import re

from pod.builder.words import arg_pairs, split_key_values
from pod.errors import BuildSyntaxError
from pod.util.records import dataclass

__all__ = [
    "INSTRUCTIONS",
    "Containerfile",
    "Heredoc",
    "Instruction",
    "Stage",
    "exec_or_shell",
    "healthcheck",
    "onbuild_trigger",
    "parse",
    "parse_shell",
]

INSTRUCTIONS = frozenset(
    {
        "FROM",
        "RUN",
        "CMD",
        "LABEL",
        "MAINTAINER",
        "EXPOSE",
        "ENV",
        "ADD",
        "COPY",
        "ENTRYPOINT",
        "VOLUME",
        "USER",
        "WORKDIR",
        "ARG",
        "ONBUILD",
        "STOPSIGNAL",
        "HEALTHCHECK",
        "SHELL",
    }
)

# Flag kinds, as BuildKit declares them: a value is required (`--from=x`), optional for
# booleans (`--link`, `--link=false`), and only list flags may be repeated.
_STRING, _BOOL, _LIST = "string", "bool", "list"
_FLAGS: dict[str, dict[str, str]] = {
    "FROM": {"platform": _STRING},
    "RUN": {"mount": _LIST, "network": _STRING, "security": _STRING},
    "COPY": {
        "from": _STRING,
        "chown": _STRING,
        "chmod": _STRING,
        "link": _BOOL,
        "parents": _BOOL,
        "exclude": _LIST,
    },
    "ADD": {
        "chown": _STRING,
        "chmod": _STRING,
        "link": _BOOL,
        "checksum": _STRING,
        "keep-git-dir": _BOOL,
        "exclude": _LIST,
    },
    "HEALTHCHECK": {
        "interval": _STRING,
        "timeout": _STRING,
        "start-period": _STRING,
        "start-interval": _STRING,
        "retries": _STRING,
    },
}
# Instructions whose arguments may be a JSON array (exec form); others take `[` literally.
_JSON_FORMS = frozenset({"RUN", "CMD", "ENTRYPOINT", "SHELL", "ADD", "COPY", "VOLUME"})
_HEREDOC_FORMS = frozenset({"RUN", "COPY", "ADD"})
_DIRECTIVES = frozenset({"syntax", "escape", "check"})

# Go's \s is [\t\n\f\r ]; BuildKit splits instruction words on [\t\v\f\r ]+.
_WHITESPACE = r"[\t\v\f\r ]+"
_DIRECTIVE = r"#[\t\n\f\r ]*([a-zA-Z][a-zA-Z0-9]*)[\t\n\f\r ]*=(.*)\Z"
_HEREDOC = r"([0-9]*)<<(-?)[\t\n\f\r ]*([^<]*)\Z"
_STAGE_NAME = r"[a-z][a-z0-9\-_.]*\Z"
_DURATION_UNITS = {
    "ns": 1,
    "us": 1_000,
    "\u00b5s": 1_000,
    "\u03bcs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}
_NOT_STRINGS = "when using JSON array syntax, arrays must be comprised of strings only"


@dataclass(frozen=True)
class Heredoc:
    """A here-document body attached to RUN, COPY or ADD (`<<EOF` ... `EOF`)."""

    name: str  # delimiter word as written without quotes, e.g. "EOF"
    content: str  # the body, each line ending with "\n"; with <<- leading tabs stripped
    expand: bool  # False when the delimiter was quoted (<<'EOF' or <<"EOF"): no expansion
    chomp: bool  # True for <<-


@dataclass(frozen=True)
class Instruction:
    """One instruction, checked but unexpanded: expansion needs the build's ARG/ENV values."""

    keyword: str  # upper case: "RUN", "COPY", "FROM", ...
    flags: tuple[tuple[str, str], ...]  # leading --flags in order; value "" for a bare flag
    text: str  # the rest after the flags (continuations joined), unexpanded
    json_args: tuple[str, ...] | None  # the JSON array (exec form), else None
    heredocs: tuple[Heredoc, ...]
    line: int  # 1-based line where the instruction starts
    source: str  # the instruction on one line, for "STEP 3/7: RUN ..." output
    onbuild: Instruction | None = None  # for ONBUILD: the wrapped instruction


@dataclass(frozen=True)
class Stage:
    """A build stage: a FROM and the instructions up to the next FROM."""

    index: int
    name: str | None  # FROM ... AS name, lowercased as Docker does
    base: str  # the FROM image text, unexpanded (may contain $ARG)
    platform: str | None  # FROM --platform=...
    from_instruction: Instruction
    instructions: tuple[Instruction, ...]


@dataclass(frozen=True)
class Containerfile:
    """A parsed Containerfile: the global ARGs and the stages, in file order."""

    filename: str
    escape: str
    meta_args: tuple[Instruction, ...]  # ARG instructions before the first FROM
    stages: tuple[Stage, ...]


class _Reason(Exception):
    """An error without its location; the parser adds `file:line:` in one place."""


def parse(text: str, filename: str = "Containerfile") -> Containerfile:
    """Parse and check a whole Containerfile; BuildSyntaxError names the file and line."""
    return _Parser(text, filename).parse()


def exec_or_shell(instr: Instruction, shell: list[str]) -> list[str]:
    """RUN / CMD / ENTRYPOINT argv: the JSON array as is, or the text handed to `shell`."""
    if instr.json_args is not None:
        return list(instr.json_args)
    return [*shell, instr.text]


def onbuild_trigger(instr: Instruction) -> str:
    """The ONBUILD trigger as the image config stores it: Docker appends heredoc bodies.

    Parsing `FROM scratch` + this text gives back the wrapped instruction with its heredocs.
    """
    text = instr.text
    for doc in instr.heredocs:
        text += "\n" + doc.content + doc.name
    return text


def parse_shell(instr: Instruction, filename: str = "Containerfile") -> list[str]:
    """SHELL's argv, which Docker only accepts as a non-empty JSON array."""
    try:
        return _shell_args(instr.text, instr.json_args)
    except _Reason as exc:
        raise BuildSyntaxError(f"{filename}:{instr.line}: {exc}") from None


def healthcheck(instr: Instruction, filename: str = "Containerfile") -> dict | None:
    """The image config's Healthcheck for a HEALTHCHECK instruction (None for any other).

    Durations are nanoseconds as in Docker's config; unset or zero values are left out, which
    means "the default" to every runtime, as Docker's omitempty JSON does.
    """
    if instr.keyword != "HEALTHCHECK":
        return None
    try:
        return _healthcheck(instr.flags, instr.text)
    except _Reason as exc:
        raise BuildSyntaxError(f"{filename}:{instr.line}: {exc}") from None


class _Parser:
    """Line-oriented state: where we are in the file and the escape character in force."""

    def __init__(self, text: str, filename: str) -> None:
        self.filename = filename
        self.escape = "\\"
        text = text.removeprefix("\ufeff")
        parts = text.split("\n")
        # Keep line endings: heredoc bodies are kept byte for byte.
        self.lines = [part + "\n" for part in parts[:-1]]
        if parts[-1]:
            self.lines.append(parts[-1])
        self.pos = 0
        self.continuation = _continuation(self.escape)

    def error(self, line: int, reason: object) -> BuildSyntaxError:
        return BuildSyntaxError(f"{self.filename}:{line}: {reason}")

    def parse(self) -> Containerfile:
        self.read_directives()
        meta_args: list[Instruction] = []
        stages: list[tuple[Instruction, list[Instruction]]] = []
        names: set[str] = set()
        while (logical := self.next_logical_line()) is not None:
            joined, start = logical
            try:
                instr = self.instruction(joined, start)
            except (_Reason, BuildSyntaxError) as exc:
                raise self.error(start, exc) from None
            if instr.keyword == "FROM":
                name = _stage_name(instr.text)
                if name is not None:
                    if name in names:
                        raise self.error(
                            start, f'duplicate stage name "{name}": stage names must be unique'
                        )
                    names.add(name)
                stages.append((instr, []))
            elif stages:
                stages[-1][1].append(instr)
            elif instr.keyword == "ARG":
                meta_args.append(instr)
            else:
                raise self.error(
                    start, f"{instr.keyword} before the first FROM (only ARG may come before FROM)"
                )
        if not stages:
            raise BuildSyntaxError(f"{self.filename}: no FROM instruction")
        return Containerfile(
            filename=self.filename,
            escape=self.escape,
            meta_args=tuple(meta_args),
            stages=tuple(
                _make_stage(index, from_instr, body)
                for index, (from_instr, body) in enumerate(stages)
            ),
        )

    def read_directives(self) -> None:
        """`# escape=` / `# syntax=` / `# check=`, only in the comment block at the very top."""
        seen: set[str] = set()
        while self.pos < len(self.lines):
            line = self.lines[self.pos].rstrip("\r\n").lstrip()
            match = re.match(_DIRECTIVE, line)
            value = match.group(2).strip() if match else ""
            if not match or not value or match.group(1).lower() not in _DIRECTIVES:
                return
            key = match.group(1).lower()
            self.pos += 1
            if key in seen:
                raise self.error(self.pos, f"only one {key} parser directive can be used")
            seen.add(key)
            if key == "escape":
                if value not in ("\\", "`"):
                    raise self.error(
                        self.pos, f"invalid escape token '{value}' does not match ` or \\"
                    )
                self.escape = value
                self.continuation = _continuation(value)

    def next_logical_line(self) -> tuple[str, int] | None:
        """The next instruction's text with continuations joined, and its first line number.

        Comments and blank lines between instructions are skipped, and so are comment and
        blank lines inside a continuation (Docker warns about the latter; its joining adds
        no separator, so the whitespace around the escape character is what separates).
        """
        continuation = self.continuation
        while self.pos < len(self.lines):
            line = self.lines[self.pos].rstrip("\r\n").lstrip()
            self.pos += 1
            start = self.pos
            if line.startswith("#"):
                continue
            match = continuation.search(line)
            if not match and not line:
                continue
            parts = [line[: match.start()] if match else line]
            while match and self.pos < len(self.lines):
                line = self.lines[self.pos].rstrip("\r\n")
                self.pos += 1
                stripped = line.lstrip()
                if stripped.startswith("#") or not stripped:
                    continue
                match = continuation.search(line)
                parts.append(line[: match.start()] if match else line)
            joined = "".join(parts)
            if joined.strip():
                return joined, start
        return None

    def instruction(self, joined: str, line: int) -> Instruction:
        source = joined.strip()
        word, flag_words, rest = self.split(source)
        keyword = word.upper()
        if keyword not in INSTRUCTIONS:
            raise _Reason(f'unknown instruction: "{word}"')
        if keyword != "ONBUILD":
            json_args = _json_args(keyword, rest)
            heredocs = self.heredocs(keyword, json_args, joined)
            return self.make(keyword, flag_words, rest, json_args, heredocs, line, source)
        _parse_flags(keyword, flag_words)
        if not rest:
            raise _Reason("ONBUILD requires at least one argument")
        inner_word, inner_flags, inner_rest = self.split(rest)
        inner_keyword = inner_word.upper()
        if inner_keyword == "ONBUILD":
            raise _Reason("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")
        if inner_keyword in ("FROM", "MAINTAINER"):
            raise _Reason(f"{inner_keyword} isn't allowed as an ONBUILD trigger")
        if inner_keyword not in INSTRUCTIONS:
            raise _Reason(f'unknown instruction: "{inner_word}"')
        json_args = _json_args(inner_keyword, inner_rest)
        heredocs = self.heredocs(inner_keyword, json_args, joined)
        inner = self.make(inner_keyword, inner_flags, inner_rest, json_args, heredocs, line, rest)
        return Instruction("ONBUILD", (), rest, None, heredocs, line, source, inner)

    def split(self, line: str) -> tuple[str, list[str], str]:
        """Keyword, leading `--flag` words (quotes and escapes removed), and the rest."""
        parts = re.split(_WHITESPACE, line.strip(), maxsplit=1)
        if len(parts) < 2:
            return parts[0], [], ""
        flags, rest = _extract_flags(parts[1], self.escape)
        return parts[0], flags, rest.strip()

    def heredocs(
        self, keyword: str, json_args: tuple[str, ...] | None, joined: str
    ) -> tuple[Heredoc, ...]:
        """Read the bodies of the line's `<<WORD` heredocs, which follow it in order."""
        if keyword not in _HEREDOC_FORMS or json_args is not None or "<<" not in joined:
            return ()
        found: list[Heredoc] = []
        for word in _heredoc_words(joined):
            parsed = _heredoc_marker(word)
            if parsed is None:
                continue
            name, expand, chomp = parsed
            body: list[str] = []
            while self.pos < len(self.lines):
                raw = self.lines[self.pos]
                self.pos += 1
                candidate = raw.rstrip("\r\n")
                if chomp:
                    candidate = candidate.lstrip("\t")
                if candidate == name:
                    break
                body.append(raw.lstrip("\t") if chomp else raw)
            else:
                raise _Reason(f'unterminated heredoc "{name}"')
            found.append(Heredoc(name=name, content="".join(body), expand=expand, chomp=chomp))
        return tuple(found)

    def make(
        self,
        keyword: str,
        flag_words: list[str],
        rest: str,
        json_args: tuple[str, ...] | None,
        heredocs: tuple[Heredoc, ...],
        line: int,
        source: str,
    ) -> Instruction:
        """Check one instruction's flags and arguments the way BuildKit does, then build it."""
        flags = _parse_flags(keyword, flag_words)
        words = re.split(_WHITESPACE, rest) if rest else []
        args = list(json_args) if json_args is not None else words
        if keyword == "FROM":
            _stage_name(rest)
        elif keyword == "RUN":
            if not args:
                raise _Reason("RUN requires at least one argument")
        elif keyword in ("ADD", "COPY"):
            if len(args) < 2:
                raise _Reason(
                    f"{keyword} requires at least two arguments, but only one was provided. "
                    "Destination could not be determined"
                )
            if _heredoc_marker(args[-1]) is not None:
                raise _Reason(f"{keyword} cannot accept a heredoc as a destination")
        elif keyword == "VOLUME":
            if not args:
                raise _Reason("VOLUME requires at least one argument")
            if any(not arg.strip() for arg in args):
                raise _Reason("VOLUME specified can not be an empty string")
        elif keyword == "EXPOSE":
            if not args:
                raise _Reason("EXPOSE requires at least one argument")
        elif keyword in ("MAINTAINER", "USER", "WORKDIR", "STOPSIGNAL"):
            if not rest:
                raise _Reason(f"{keyword} requires exactly one argument")
        elif keyword in ("ENV", "LABEL"):
            split_key_values(rest, self.escape, legacy=True, instruction=keyword)
        elif keyword == "ARG":
            arg_pairs(rest, self.escape)
        elif keyword == "SHELL":
            _shell_args(rest, json_args)
        elif keyword == "HEALTHCHECK":
            _healthcheck(flags, rest)
        return Instruction(
            keyword=keyword,
            flags=flags,
            text=rest,
            json_args=json_args,
            heredocs=heredocs,
            line=line,
            source=source,
        )


def _continuation(escape: str) -> re.Pattern[str]:
    """The escape char ending a line continues it, unless it is itself escaped (`\\\\`)."""
    return re.compile(rf"(?<!{re.escape(escape)}){re.escape(escape)}[ \t]*\Z")


def _extract_flags(text: str, escape: str) -> tuple[list[str], str]:
    """Leading words that start with `--`, unquoted; a bare `--` ends them (BuildKit's rule)."""
    flags: list[str] = []
    pos = 0
    while pos < len(text):
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if not text.startswith("--", pos):
            return flags, text[pos:]
        word: list[str] = []
        quote = ""
        while pos < len(text) and (quote or not text[pos].isspace()):
            ch = text[pos]
            pos += 1
            if quote and ch == quote:
                quote = ""
                continue
            if not quote and ch in "'\"":
                quote = ch
                continue
            if ch == escape:
                if pos == len(text):
                    break  # an escape at the very end is dropped
                ch = text[pos]
                pos += 1
            word.append(ch)
        flag = "".join(word)
        if flag == "--":
            return flags, text[pos:]
        if flag:
            flags.append(flag)
    return flags, ""


def _parse_flags(keyword: str, words: list[str]) -> tuple[tuple[str, str], ...]:
    """Check flags against what the instruction accepts, with BuildKit's messages."""
    allowed = _FLAGS.get(keyword, {})
    used: set[str] = set()
    flags: list[tuple[str, str]] = []
    for word in words:
        written, has_value, value = word.partition("=")
        name = written[2:]
        kind = allowed.get(name)
        if kind is None:
            raise _Reason(f"unknown flag: {written}")
        if name in used and kind != _LIST:
            raise _Reason(f"duplicate flag specified: {written}")
        used.add(name)
        if kind == _BOOL:
            if has_value and not value:
                raise _Reason(f"missing a value on flag: {written}")
            if value.lower() not in ("", "true", "false"):
                raise _Reason(f"expecting boolean value for flag {written}, not: {value}")
        elif not has_value:
            raise _Reason(f"missing a value on flag: {written} (write {written}=value)")
        flags.append((name, value))
    return tuple(flags)


def _reject_constant(name: str) -> object:
    raise ValueError(f"not JSON: {name}")  # NaN and Infinity are Python's extension, not JSON


def _parse_json_array(text: str) -> tuple[str, ...] | None:
    """A JSON array of strings; None when it is not JSON (shell form), error if not strings."""
    text = text.lstrip()
    if not text.startswith("["):
        return None
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise _Reason(_NOT_STRINGS) from None  # only nested arrays get that deep
    except ValueError:
        return None
    if not isinstance(value, list):
        return None
    if not all(isinstance(item, str) for item in value):
        raise _Reason(_NOT_STRINGS)
    return tuple(value)


def _json_args(keyword: str, rest: str) -> tuple[str, ...] | None:
    return _parse_json_array(rest) if keyword in _JSON_FORMS else None


def _stage_name(text: str) -> str | None:
    """FROM's `image [AS name]`: the stage name, lowercased, checked as BuildKit does."""
    args = re.split(_WHITESPACE, text) if text else []
    if len(args) == 3 and args[1].lower() == "as":
        name = args[2].lower()
        if not re.match(_STAGE_NAME, name):
            raise _Reason(
                f'invalid name for build stage: "{args[2]}", '
                "name can't start with a number or contain symbols"
            )
        return name
    if len(args) != 1:
        raise _Reason("FROM requires either one or three arguments")
    return None


def _make_stage(index: int, from_instr: Instruction, body: list[Instruction]) -> Stage:
    return Stage(
        index=index,
        name=_stage_name(from_instr.text),
        base=re.split(_WHITESPACE, from_instr.text)[0],
        platform=dict(from_instr.flags).get("platform"),
        from_instruction=from_instr,
        instructions=tuple(body),
    )


def _heredoc_words(line: str) -> list[str]:
    """The line's words for heredoc detection, quotes and escapes kept (BuildKit's lexing).

    As in BuildKit: the escape is always a backslash here, `<<` keeps the blanks after it in
    its word (`<< EOF` is a heredoc), and a line with an unterminated quote has no heredocs.
    """
    words: list[str] = []
    word: list[str] = []
    quote = ""
    i = 0
    while i < len(line):
        ch = line[i]
        i += 1
        if quote:
            word.append(ch)
            if ch == quote:
                quote = ""
            elif ch == "\\" and quote == '"' and i < len(line):
                word.append(line[i])
                i += 1
        elif ch in "'\"":
            quote = ch
            word.append(ch)
        elif ch == "\\":
            word.append(line[i - 1 : i + 1])
            i += 1
        elif ch == "<" and line.startswith("<", i):
            end = i + 1
            while end < len(line) and line[end] in " \t\r":
                end += 1
            word.append(line[i - 1 : end])
            i = end
        elif ch.isspace():
            if word:
                words.append("".join(word))
                word = []
        else:
            word.append(ch)
    if quote:
        return []
    if word:
        words.append("".join(word))
    return words


def _heredoc_marker(word: str) -> tuple[str, bool, bool] | None:
    """(name, expand, chomp) when `word` is `[n]<<[-]DELIM`; None when it is not a heredoc."""
    match = re.match(_HEREDOC, word)
    if not match or not match.group(3):
        return None
    parsed = _delimiter(match.group(3))
    if parsed is None:
        return None
    return parsed[0], parsed[1], match.group(2) == "-"


def _delimiter(text: str) -> tuple[str, bool] | None:
    """The delimiter with quotes removed, and whether it had none (then the body expands).

    Like BuildKit, it must come out as exactly one non-empty word; `$` is not expanded.
    """
    words: list[str] = []
    word: list[str] = []
    in_word = quoted = False
    i = 0
    while i < len(text):
        ch = text[i]
        i += 1
        if ch in "'\"":
            end = i
            chars: list[str] = []
            while end < len(text) and text[end] != ch:
                if ch == '"' and text[end] == "\\" and text[end + 1 : end + 2] in ('"', "$", "\\"):
                    end += 1
                chars.append(text[end])
                end += 1
            if end >= len(text):
                kind = "single-quote" if ch == "'" else "double-quote"
                raise _Reason(f"unexpected end of statement while looking for matching {kind}")
            word.extend(chars)
            i = end + 1
            in_word = quoted = True
        elif ch == "\\":
            if i < len(text):
                word.append(text[i])
                i += 1
            in_word = True
        elif ch.isspace():
            if in_word and word:
                words.append("".join(word))
            word, in_word = [], False
        else:
            word.append(ch)
            in_word = True
    if word:
        words.append("".join(word))
    if len(words) != 1:
        return None
    return words[0], not quoted


def _shell_args(text: str, json_args: tuple[str, ...] | None) -> list[str]:
    if json_args is None:
        if not text:
            raise _Reason("SHELL requires at least one argument")
        raise _Reason("SHELL requires the arguments to be in JSON form")
    if not json_args:
        raise _Reason("SHELL requires at least one argument")
    return list(json_args)


def _healthcheck(flags: tuple[tuple[str, str], ...], text: str) -> dict:
    """HEALTHCHECK NONE | [flags] CMD command, as BuildKit checks and stores it."""
    if not text:
        raise _Reason("HEALTHCHECK requires at least one argument")
    match = re.match(r"(\S+)\s*(.*)\Z", text, re.DOTALL)
    kind, command = (match.group(1), match.group(2)) if match else (text, "")
    kind = kind.upper()
    if kind == "NONE":
        if command:
            raise _Reason("HEALTHCHECK NONE takes no arguments")
        return {"Test": ["NONE"]}
    if kind != "CMD":
        raise _Reason(f'Unknown type "{kind}" in HEALTHCHECK (try CMD)')
    json_args = _parse_json_array(command)
    test = ["CMD", *json_args] if json_args is not None else ["CMD-SHELL", command]
    if json_args == () or not command:
        raise _Reason("Missing command after HEALTHCHECK CMD")
    config: dict = {"Test": test}
    values = dict(flags)
    for flag, key in (
        ("interval", "Interval"),
        ("timeout", "Timeout"),
        ("start-period", "StartPeriod"),
        ("start-interval", "StartInterval"),
    ):
        if values.get(flag):
            nanoseconds = _duration(flag, values[flag])
            if nanoseconds:
                config[key] = nanoseconds
    if values.get("retries"):
        retries_text = values["retries"]
        if not re.fullmatch(r"[+-]?[0-9]+", retries_text):
            raise _Reason(f'--retries must be a whole number, not "{retries_text}"')
        retries = int(retries_text)
        if retries < 0:
            raise _Reason(f"--retries cannot be negative ({retries})")
        if retries >= 2**31:
            raise _Reason(f'--retries is out of range: "{retries_text}"')
        if retries:
            config["Retries"] = retries
    return config


def _duration(flag: str, text: str) -> int:
    """A Go duration (`30s`, `1m30s`, `1.5h`, `500ms`) in nanoseconds; at least 1ms unless 0."""
    invalid = _Reason(f'invalid duration "{text}" for --{flag} (e.g. 30s, 1m30s, 500ms)')
    rest = text
    negative = rest[:1] == "-"
    if rest[:1] in ("-", "+"):
        rest = rest[1:]
    if rest == "0":
        return 0
    if not rest:
        raise invalid
    total = 0
    while rest:
        number = re.match(r"([0-9]*)(?:\.([0-9]*))?", rest)
        assert number is not None  # the pattern matches the empty string
        whole, fraction = number.group(1), number.group(2) or ""
        if not whole and not fraction:
            raise invalid
        rest = rest[number.end() :]
        unit_match = re.match(r"[^0-9.]*", rest)
        assert unit_match is not None
        unit = unit_match.group(0)
        rest = rest[len(unit) :]
        if unit not in _DURATION_UNITS:
            raise invalid
        scale = _DURATION_UNITS[unit]
        total += int(whole or "0") * scale
        if fraction:
            total += int(fraction) * scale // 10 ** len(fraction)
        if total >= 2**63:
            raise invalid
    if negative:
        total = -total
    if total and total < 1_000_000:
        raise _Reason(f"--{flag} cannot be less than 1ms ({text})")
    return total
