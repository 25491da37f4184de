"""A shim's detaching from the command that started it: one way, for set-up and for the
prefork child (which does it first thing, while it is small)."""

from __future__ import annotations

import os


def daemonize() -> bool:
    """setsid + fork: True in the child (the shim: in a session of its own, not its leader,
    so it never gets a controlling terminal), False in the original process, which ends and
    leaves the shim to the init (or the nearest subreaper)."""
    os.setsid()
    return os.fork() == 0
