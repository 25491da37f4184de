"""The everyday commands (run, ps, logs, stop, start, ... : those commands/fastpath_table.py names)
and `pod --version` without typer: importing typer and building its click commands costs ~35 ms
(~40 ms with run's ~150 flags), more than the listings' own work and a fifth of a start. The
flags come from commands/fastpath_table.py, generated from the typer CLI; anything this small
parser does not take exactly as click would (`--help`, unknown or malformed flags, `--flag=value`
on a boolean, `--` before the arguments, an option's environment variable set) goes to the typer
CLI instead, which then parses, helps and errs as always. The bodies are the same functions the
typer commands call.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

from pod.commands import boundary, common
from pod.commands.fastpath_table import COMMANDS, ROOT_DEFAULTS, ROOT_FLAGS

VERSION_FLAGS = ("--version", "-v")


class _Unhandled(Exception):
    """This command line is the typer CLI's to parse."""


def _take(flags: dict, values: dict, argv: list[str], at: int) -> int:
    """Parse the flag at argv[at] into `values`; the index after it."""
    word = argv[at]
    if not word.startswith("--") and len(word) > 2:  # -aq, -t0, -it -p80: click's short forms
        for index, letter in enumerate(word[1:], start=2):
            spec = flags.get(f"-{letter}")
            if spec is None or spec[1] == "optional":
                raise _Unhandled
            if spec[1] in ("true", "false"):
                values[spec[0]] = spec[1] == "true"
                continue
            if index < len(word):  # the rest of the word is the value
                _store(values, spec[0], spec[1], word[index:])
                return at + 1
            return _value_after(values, spec, argv, at)
        return at + 1
    name, equals, inline = word.partition("=") if word.startswith("--") else (word, "", "")
    spec = flags.get(name)
    if spec is None:
        raise _Unhandled
    if spec[1] in ("true", "false"):
        if equals:
            raise _Unhandled
        values[spec[0]] = spec[1] == "true"
        return at + 1
    if spec[1] == "optional":  # `--pull` alone means its bare value, never the next word's
        values[spec[0]] = inline if equals else spec[2]
        return at + 1
    if equals:
        _store(values, spec[0], spec[1], inline)
        return at + 1
    return _value_after(values, spec, argv, at)


def _value_after(values: dict, spec: tuple[str, str], argv: list[str], at: int) -> int:
    """The option at argv[at] takes the next word as its value."""
    if at + 1 >= len(argv):
        raise _Unhandled
    _store(values, spec[0], spec[1], argv[at + 1])
    return at + 2


def _store(values: dict, param: str, kind: str, value: str) -> None:
    if kind == "multi":
        values.setdefault(param, []).append(value)
    elif kind == "int":
        try:
            values[param] = int(value)
        except ValueError:
            raise _Unhandled from None
    else:
        values[param] = value


def parse(argv: list[str]) -> tuple[str, dict[str, Any], dict[str, Any]] | None:
    """(command, root options, command parameters) as the typer CLI would give them, or None
    when the command line is not one this parser takes."""
    try:
        root: dict[str, Any] = {}
        at = 0
        version = False
        while at < len(argv) and argv[at].startswith("-"):
            if argv[at] in VERSION_FLAGS:  # eager in typer: printed before any command
                version, at = True, at + 1
                continue
            at = _take(ROOT_FLAGS, root, argv, at)
        if version:
            return "--version", root, {}
        if at >= len(argv) or argv[at] not in COMMANDS:
            return None
        name, spec = argv[at], COMMANDS[argv[at]]
        if any(variable in os.environ for variable in spec["envvars"]):
            return None  # an option's value from the environment: typer reads it
        params: dict[str, Any] = {}
        positional: list[str] = []
        at += 1
        while at < len(argv):
            word = argv[at]
            if word == "--":
                return None
            if word.startswith("-") and word != "-":
                at = _take(spec["flags"], params, argv, at)
            elif not spec["interspersed"]:  # run IMAGE CMD...: the rest is the container's
                positional.extend(argv[at:])
                break
            else:
                positional.append(word)
                at += 1
        for param, nargs, required in spec["arguments"]:
            if nargs == -1:
                params[param], positional = positional, []
            elif positional:
                params[param] = positional.pop(0)
            if required and not params.get(param):
                return None
        if positional:
            return None
    except _Unhandled:
        return None
    if root.get("log_level", "warn") not in common.LOG_LEVELS:
        return None
    return name, {**ROOT_DEFAULTS, **root}, {**spec["defaults"], **params}


def run(argv: list[str]) -> int | None:
    """The command's exit code, or None: the typer CLI is to run this command line."""
    parsed = parse(argv)
    if parsed is None:
        return None
    name, root, params = parsed
    if name == "--version":
        from pod import __version__

        print(f"pod version {__version__}")
        return 0
    module, function = COMMANDS[name]["body"]

    def command() -> int | None:
        common.apply_root_options(**root)
        return getattr(importlib.import_module(module), function)(**params)

    common.remember_command_line(argv)
    return boundary.guarded(command)
