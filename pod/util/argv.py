"""What pod's command line names before any parser runs: the subcommand and `--network` values.

Read by the program's first lines (pod.entry, before typer is imported) and by the CLI, which
imports only the invoked command's module.
"""

from __future__ import annotations

GLOBAL_OPTIONS_WITH_VALUES = ("--root", "--runroot", "--log-level", "--storage-driver")


def command_name(argv: list[str]) -> str | None:
    """The subcommand named on the command line (after the global options), if any."""
    index = 0
    while index < len(argv):
        token = argv[index]
        if token in GLOBAL_OPTIONS_WITH_VALUES:
            index += 2
        elif token.startswith("-"):
            index += 1
        else:
            return token
    return None


def network_values(argv: list[str]) -> list[str]:
    """Every `--network`/`--net` value before a `--`."""
    values = []
    for index, token in enumerate(argv):
        if token == "--":
            break
        name, sep, value = token.partition("=")
        if name in ("--network", "--net"):
            values.append(value if sep else (argv[index + 1] if index + 1 < len(argv) else ""))
    return values
