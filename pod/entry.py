"""The `pod` program's first lines, before the CLI (typer, ~40 ms) is imported.

A rootful `pod run` on a bridge network forks its bridge worker here, so the worker's slow
import (pyroute2) and the bridge set-up overlap the CLI's own start-up as well as the
container's creation: the container then rarely waits for its network. The worker is handed to
the CLI, which owns it from then on. A `run` without it forks its shim here instead
(pod.shim.prefork), which loads set-up's modules meanwhile and waits to be handed the
container. The commands of commands/fastpath_table.py (`run`, `ps`, `logs`, ...) are tried
without typer first (pod.commands.fastpath).
"""

from __future__ import annotations

import os
import sys

from pod.util import collector
from pod.util.argv import command_name, network_values

VERSION_WORDS = frozenset(("--version", "-v"))  # and --version, when it comes before any command
_NOT_BRIDGE = ("none", "host", "slirp4netns", "pasta", "container:", "ns:")


def wants_bridge_worker(argv: list[str]) -> bool:
    """A rootful `run` whose network is the default bridge or a named network (a guess from
    argv: `pod run` takes the worker only when the parsed flags agree)."""
    if os.geteuid() != 0 or command_name(argv) != "run":
        return False
    return not any(v.startswith(_NOT_BRIDGE) for v in network_values(argv))


def wants_early_shim(argv: list[str]) -> bool:
    """A `run` (not its help) without a bridge worker: its shim is forked now, to load while
    the CLI works. With the worker (pyroute2's import: ~55 ms of CPU) the second CPU is taken,
    and a third process at work made the run slower (~13 ms, measured), not faster."""
    return command_name(argv) == "run" and "--help" not in argv and not wants_bridge_worker(argv)


def main() -> None:
    argv = sys.argv[1:]
    collector.pause_for(command_name(argv))
    worker = None
    if wants_bridge_worker(argv):
        from pod.network.setup import BridgeWorker

        worker = BridgeWorker.start()
    elif wants_early_shim(argv):
        from pod.shim import prefork

        prefork.start()
    from pod.commands.fastpath_table import COMMANDS  # those pod.commands.fastpath runs

    if command_name(argv) in COMMANDS or not VERSION_WORDS.isdisjoint(argv):
        from pod.commands import boundary, common, fastpath

        common.hand_over_early_worker(worker)
        code = fastpath.run(argv)
        if code is not None:
            boundary.exit_now(code)
    from pod.commands import main as cli_main

    cli_main(early_worker=worker)
