#!/usr/bin/env python3
"""Writes commands/fastpath_table.py: the flags of the commands pod.commands.fastpath runs
without typer, read from the typer CLI itself (so the two cannot drift: a unit test compares the
checked-in table with what this reads). Run after changing those commands' flags:
`python tools/fastpath_table.py` (it formats the file with the venv's ruff)."""

from __future__ import annotations

import pprint
import subprocess
import sys
from pathlib import Path

# The fast commands and the typer-free functions that do their work, called with the parameters
# of the typer command by name.
BODIES = {
    "ps": ("pod.commands.listings", "ps"),
    "images": ("pod.commands.listings", "images"),
    "inspect": ("pod.commands.inspect_output", "inspect_objects"),
    "run": ("pod.commands.run_create", "run"),
    "create": ("pod.commands.run_create", "create"),
    "exec": ("pod.commands.exec_run", "exec_process"),
    "stop": ("pod.commands.container_actions", "stop"),
    "rm": ("pod.commands.container_actions", "remove"),
    "build": ("pod.commands.build_image", "build"),
    "pull": ("pod.commands.pull_image", "pull"),
    "logs": ("pod.commands.logs_output", "logs"),
    "start": ("pod.commands.lifecycle_actions", "start"),
    "kill": ("pod.commands.lifecycle_actions", "kill"),
    "restart": ("pod.commands.lifecycle_actions", "restart"),
    "wait": ("pod.commands.lifecycle_actions", "wait"),
    "init": ("pod.commands.lifecycle_actions", "init"),
    "pause": ("pod.commands.lifecycle_actions", "pause"),
    "unpause": ("pod.commands.lifecycle_actions", "unpause"),
    "rmi": ("pod.commands.image_actions", "rmi"),
    "tag": ("pod.commands.image_actions", "tag"),
    "untag": ("pod.commands.image_actions", "untag"),
}
ANNOTATIONS = {
    "ROOT_FLAGS": "dict[str, tuple[str, str]]",
    "ROOT_DEFAULTS": "dict[str, Any]",
    "COMMANDS": "dict[str, dict[str, Any]]",
}
TABLE = Path(__file__).resolve().parents[1] / "commands" / "fastpath_table.py"


def _options(params, command: str = "") -> tuple[dict, dict, list, list]:
    """(flag -> (parameter, kind[, bare value]), parameter -> default, arguments, the
    environment variables options read) of click parameters."""
    from pod.commands.boolflags import OPTIONAL_VALUES

    flags: dict[str, tuple] = {}
    defaults: dict[str, object] = {}
    arguments: list[tuple[str, int, bool]] = []
    envvars: list[str] = []
    for param in params:
        if param.param_type_name == "argument":
            arguments.append((param.name, param.nargs, param.required))
            defaults[param.name] = [] if param.nargs == -1 else param.default
            continue
        if param.is_eager:  # --version, --help: typer's path prints them
            continue
        if param.is_flag:
            kind = "true"
        elif param.multiple:
            kind = "multi"
        elif param.type.name in ("integer", "int"):
            kind = "int"
        elif param.type.name in ("text", "str"):
            kind = "value"
        else:
            raise SystemExit(f"{param.name}: a {param.type!r} option has no fast-path kind")
        if param.envvar:
            envvars += [param.envvar] if isinstance(param.envvar, str) else list(param.envvar)
        for flag in param.opts:
            bare = OPTIONAL_VALUES.get((command, flag))
            flags[flag] = (param.name, kind) if bare is None else (param.name, "optional", bare)
        for flag in param.secondary_opts:
            flags[flag] = (param.name, "false")
        default = param.default
        defaults[param.name] = list(default or []) if param.multiple else default
    return flags, defaults, arguments, sorted(envvars)


def tables() -> dict[str, dict]:
    """ROOT_FLAGS, ROOT_DEFAULTS and COMMANDS as the typer CLI declares them now."""
    import typer

    from pod.commands import cli

    root = typer.main.get_command(cli.build_app(()))
    root_flags, root_defaults, _, root_envvars = _options(root.params)
    if root_envvars:
        raise SystemExit(f"{root_envvars}: the fast path reads no global option's environment")
    commands = {}
    for name, body in BODIES.items():
        group = typer.main.get_command(cli.build_app(cli.MODULES_FOR[name]))
        command = group.commands[name]
        flags, defaults, arguments, envvars = _options(command.params, name)
        commands[name] = {
            "body": body,
            "flags": flags,
            "defaults": defaults,
            "arguments": arguments,
            "envvars": envvars,  # set: typer's to read
            # False: the first argument ends the flags (run IMAGE CMD --flag: the container's)
            "interspersed": command.context_settings.get("allow_interspersed_args", True),
        }
    return {"ROOT_FLAGS": root_flags, "ROOT_DEFAULTS": root_defaults, "COMMANDS": commands}


def _same_as(commands: dict[str, dict]) -> dict[str, str]:
    """Commands whose table is an earlier one's but for the body (create is run's): written as
    that one's with their own body, not a second copy of ~150 flags."""
    same: dict[str, str] = {}
    written: list[str] = []
    for name, spec in commands.items():
        match = next((e for e in written if {**commands[e], "body": spec["body"]} == spec), None)
        if match is None:
            written.append(name)
        else:
            same[name] = match
    return same


if __name__ == "__main__":
    text = '"""Generated by tools/fastpath_table.py from the typer CLI: do not edit."""\n\n'
    text += "from typing import Any\n"
    values = tables()
    same = _same_as(values["COMMANDS"])
    values["COMMANDS"] = {k: v for k, v in values["COMMANDS"].items() if k not in same}
    for name, value in values.items():
        text += f"\n{name}: {ANNOTATIONS[name]} = {pprint.pformat(value, width=99)}\n"
    for name, earlier in same.items():
        text += f'\nCOMMANDS[{name!r}] = {{**COMMANDS[{earlier!r}], "body": {BODIES[name]!r}}}\n'
    TABLE.write_text(text)
    subprocess.run([Path(sys.executable).parent / "ruff", "format", "-q", TABLE], check=True)
