"""The runtime's on-disk record of a container, and the errors every runtime verb raises.

A container is a directory `<state_root>/<id>/` holding `state.json` (written atomically once
create has succeeded) and `exec.fifo` while it waits for `start`. The status is derived, never
stored: no live init process (or a zombie, or a reused pid) means stopped; a live init with the
fifo still present means created; otherwise running. So a crashed caller never leaves a lie behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
from pathlib import Path

from pod.errors import OCIRuntimeError, RuntimeContainerNotFoundError
from pod.util.records import asdict, dataclass, field

OCI_VERSION = "1.0.2"
STATE_FILE = "state.json"
EXEC_FIFO = "exec.fifo"
SECCOMP_CACHE = "seccomp"  # in the state root: BPF programs libseccomp generated
_ID_RE = r"^[A-Za-z0-9][A-Za-z0-9_.+-]{0,127}$"


@dataclass
class ContainerState:
    """What create records; `status` is computed by `status()` each time it is read."""

    id: str
    pid: int
    bundle: str
    start_time: str = ""
    created: str = ""
    annotations: dict[str, str] = field(default_factory=dict)
    cgroup_paths: list[str] = field(default_factory=list)
    rootless: bool = False
    seccomp: dict | None = None  # linux.seccomp: exec'd processes get the same filter
    hooks: dict = field(default_factory=dict)  # the config's hooks (poststop runs at delete)
    has_process: bool = True  # config.json had a process: `start` refuses a container without
    # No mount namespace of its own: the rootfs whose bind `delete` detaches from the runtime's
    # mount namespace, and how many mounts were stacked on it before create (those stay).
    rootfs: str = ""
    rootfs_mounts_kept: int | None = None

    def oci(self, status: str) -> dict:
        return {
            "ociVersion": OCI_VERSION,
            "id": self.id,
            "status": status,
            "pid": self.pid if status != "stopped" else 0,
            "bundle": self.bundle,
            "annotations": self.annotations,
        }


def validate_id(container_id: str) -> None:
    if not re.match(_ID_RE, container_id):
        raise OCIRuntimeError(f"invalid container id {container_id!r}: use letters, digits, _.+-")


def container_dir(state_root: Path, container_id: str) -> Path:
    validate_id(container_id)
    return Path(state_root) / container_id


def proc_start_time(pid: int) -> str:
    """Field 22 of /proc/<pid>/stat (start time in ticks), "" when gone; guards pid reuse."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            text = handle.read().decode()
    except OSError:
        return ""
    fields = text[text.rfind(")") + 2 :].split()
    return "" if fields[0] in ("Z", "X") else fields[19]


def write_atomic(path: Path, text: str) -> None:
    """Readers see the old file or the new one. Not synced (as runc does not): the state and
    the pid file name a process, and no process outlives the boot they could be read after."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w") as handle:
        handle.write(text)
    os.replace(tmp, path)


def save(directory: Path, record: ContainerState) -> None:
    write_atomic(directory / STATE_FILE, json.dumps(asdict(record)))


def load(state_root: Path, container_id: str) -> ContainerState:
    directory = container_dir(state_root, container_id)
    try:
        data = json.loads((directory / STATE_FILE).read_text())
    except FileNotFoundError:
        raise RuntimeContainerNotFoundError(f"container {container_id!r} does not exist") from None
    except ValueError as err:
        raise OCIRuntimeError(f"reading {directory / STATE_FILE}: {err}") from None
    return ContainerState(**data)


def status(state_root: Path, record: ContainerState) -> str:
    if not record.pid or proc_start_time(record.pid) != record.start_time:
        return "stopped"
    if (container_dir(state_root, record.id) / EXEC_FIFO).exists():
        return "created"
    return "running"


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def remove_dir(directory: Path) -> None:
    for name in (STATE_FILE, EXEC_FIFO):
        with contextlib.suppress(FileNotFoundError):
            (directory / name).unlink()
    for leftover in directory.glob(".*.tmp"):
        leftover.unlink()
    with contextlib.suppress(FileNotFoundError):
        directory.rmdir()
