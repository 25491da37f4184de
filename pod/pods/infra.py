"""A pod's infra container: the process that holds the namespaces the pod's containers share.

Without --infra-image no image is pulled: the infra's root file system is empty but for its one
program, bound in read-only from the host. `/catatonit` (the default where catatonit is
installed) binds the host's static catatonit, run with -P (pause mode); `/pause` (the default
elsewhere) binds pod's own pause program (pod.pods.pause), written into the store once.
"""

from __future__ import annotations

import os
import shutil
import struct

from pod.errors import PodError, UsageError
from pod.store.layout import Layout
from pod.store.lock import atomic_write
from pod.util.records import dataclass

CATATONIT = "/catatonit"
PAUSE = "/pause"
CATATONIT_CANDIDATES = (
    "/usr/libexec/podman/catatonit",
    "/usr/bin/catatonit",
    "/usr/libexec/catatonit/catatonit",
)


@dataclass(frozen=True)
class InfraProgram:
    """What the infra runs: the host file bound at `path` in its rootfs, and its argv."""

    source: str
    path: str
    argv: tuple[str, ...]


def is_static(path: str) -> bool:
    """An ELF executable with no program interpreter: it runs in a root with no libraries."""
    try:
        with open(path, "rb") as handle:
            header = handle.read(64)
            if header[:4] != b"\x7fELF" or header[4] != 2 or header[5] != 1:
                return False  # only 64-bit little-endian executables are read here
            (phoff,) = struct.unpack_from("<Q", header, 32)
            phentsize, phnum = struct.unpack_from("<HH", header, 54)
            handle.seek(phoff)
            table = handle.read(phentsize * phnum)
    except OSError:
        return False
    for index in range(phnum):
        (kind,) = struct.unpack_from("<I", table, index * phentsize)
        if kind == 3:  # PT_INTERP: it needs the dynamic loader
            return False
    return len(table) == phentsize * phnum


def find_catatonit(candidates: tuple[str, ...] = CATATONIT_CANDIDATES) -> str | None:
    """The host's catatonit if it is static (an infra's root has no libraries to load)."""
    found = [c for c in candidates if os.path.isfile(c)]
    on_path = shutil.which("catatonit")
    for path in [*found, *([on_path] if on_path else [])]:
        if os.access(path, os.X_OK) and is_static(path):
            return path
    return None


def own_pause(layout: Layout) -> str:
    """pod's pause program in the store (written the first time a pod needs it, rewritten
    should a newer pod carry different bytes)."""
    from pod.pods.pause import pause_program

    path = layout.pause_program
    program = pause_program()
    try:
        current = path.read_bytes()
    except FileNotFoundError:
        current = b""
    if current != program:  # concurrent writers write the same bytes: no lock needed
        atomic_write(path, program, 0o755)
    return str(path)


def default_command(catatonit: str | None) -> str:
    return CATATONIT if catatonit else PAUSE


def infra_program(layout: Layout, command: str | None) -> InfraProgram:
    """The program an image-less infra runs: `command` (--infra-command) or the default."""
    catatonit = find_catatonit()
    path = command or default_command(catatonit)
    if path == CATATONIT:
        if catatonit is None:
            raise PodError(
                "the infra command /catatonit needs a static catatonit on the host: install "
                "catatonit, or use --infra-command /pause (pod's own pause program)"
            )
        return InfraProgram(catatonit, CATATONIT, (CATATONIT, "-P"))
    if path == PAUSE:
        return InfraProgram(own_pause(layout), PAUSE, (PAUSE,))
    raise UsageError(
        f"--infra-command {path}: without --infra-image an infra container runs /catatonit "
        "(the host's catatonit) or /pause (pod's own pause program)"
    )
