"""Where the lock and the start markers of bridges live.

A rootful bridge (pod0, ...) and its firewall rules belong to the host and are shared by every
rootful store, so their lock must be host-wide too: with a lock per store, one store's tidy
deleted the bridge while another store's start was attaching to it. Rootless bridges live in the
store's own rootless network namespace, so its run root serves.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from pod.store.layout import Layout
from pod.store.lock import locked

HOST_DIR = Path("/run/pod/bridges")


def _on_the_host() -> bool:
    """Root in the host's user namespace: bridges made here are the host's."""
    if os.geteuid() != 0:
        return False
    try:
        with open("/proc/self/uid_map", encoding="ascii") as uid_map:
            return uid_map.read().split() == ["0", "0", "4294967295"]
    except OSError:
        return False


def starting_dir(layout: Layout) -> Path:
    """A file per bridge worker at work, naming the bridges it is setting up."""
    return HOST_DIR / "starting" if _on_the_host() else layout.network_starting_root


@contextlib.contextmanager
def bridges_locked(layout: Layout) -> Iterator[None]:
    """Held while bridges, their veths and their firewall rules change. Take it after the
    store's networks lock, never before (one order everywhere: no deadlock)."""
    with locked(HOST_DIR / "bridges.lock" if _on_the_host() else layout.bridges_lock):
        yield
