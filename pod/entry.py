"""The `pod` program's first lines, before the CLI (typer, ~40 ms) is imported.

A rootful `pod run` on a bridge network forks its bridge worker here, so the worker's slow
import (pyroute2) and the bridge set-up overlap the CLI's own start-up as well as the
container's creation: the container then rarely waits for its network.
"""

from __future__ import annotations

import os
import sys
from typing import Any

GLOBAL_OPTIONS_WITH_VALUES = ("--root", "--runroot", "--log-level", "--storage-driver")
_NOT_BRIDGE = ("none", "host", "slirp4netns", "pasta", "container:", "ns:")

_early_worker: Any = None


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


def _network_values(argv: list[str]) -> list[str]:
    values = []
    for index, token in enumerate(argv):
        if token == "--":
            break
        name, sep, value = token.partition("=")
        if name in ("--network", "--net"):
            values.append(value if sep else (argv[index + 1] if index + 1 < len(argv) else ""))
    return values


def wants_bridge_worker(argv: list[str]) -> bool:
    """A rootful `run` whose network is the default bridge or a named network (a guess from
    argv: `pod run` takes the worker only when the parsed flags agree)."""
    if os.geteuid() != 0 or command_name(argv) != "run":
        return False
    return not any(v.startswith(_NOT_BRIDGE) for v in _network_values(argv))


def take_early_worker() -> Any:
    """The worker forked at start-up, if any (once: the caller owns it then)."""
    global _early_worker
    worker, _early_worker = _early_worker, None
    return worker


def main() -> None:
    global _early_worker
    if wants_bridge_worker(sys.argv[1:]):
        from pod.network.setup import BridgeWorker

        _early_worker = BridgeWorker.start()
    from pod.commands import main as cli_main

    cli_main()
