"""Python's cyclic garbage collector, off while a short command starts.

Starting `pod run` makes ~16 000 long-lived objects (modules, functions, classes), and the
collector walked them ~30 times on the way (~3.5 ms of ~45 ms of imports, measured) in the CLI,
and again in the shim it forks, where each walk also touches the pages a fork shares.
Reference counting frees everything else; the few cycles a short command makes end with it.
A command that goes on for as long as its container (an attached run, exec's terminal) turns
the collector back on, with what start-up made moved out of its walks (gc.freeze).
"""

from __future__ import annotations

import gc

SHORT_COMMANDS = frozenset(
    (
        "create", "exec", "images", "init", "inspect", "kill", "pause", "ps", "restart", "rm",
        "rmi", "run", "start", "stop", "tag", "unpause", "untag",
    )
)  # fmt: skip


def pause_for(command: str | None) -> None:
    """Turn the collector off for one of SHORT_COMMANDS (None: no command, `pod --help`)."""
    if command in SHORT_COMMANDS:
        gc.disable()


def resume() -> None:
    """Collect again, from here on, for a phase as long as a container's life."""
    if not gc.isenabled():
        gc.freeze()
        gc.enable()
