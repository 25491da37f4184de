"""pod's own OCI runtime as a library: the verbs of the OCI runtime command line.

The shim calls these in-process (no exec) when the user chose pod's runtime; `pod-runtime`
(cli.py) is a thin command line over them, and external.py offers the same verbs over runc/crun.

What the caller of `create` must do: be single-threaded (create forks); set
PR_SET_CHILD_SUBREAPER if it wants to wait() for the container (the init is a grandchild,
reparented to the nearest subreaper when the runtime's middle stage exits); pass the container's
stdio as three fds (or a console socket when process.terminal is set: the pty master arrives on
it, as with runc); never reap pids it does not know (create reaps only its own middle stage).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import signal as signal_mod
import time
from pathlib import Path
from typing import Any

from pod.errors import (
    OCIRuntimeError,
    RuntimeContainerExistsError,
    RuntimeContainerNotFoundError,
    RuntimeExecError,
    RuntimeStateError,
)
from pod.runtime import cgroups, hooks, rootfs
from pod.runtime import state as st
from pod.util.proc_info import unprivileged

__all__ = [
    "RuntimeContainerExistsError",
    "RuntimeContainerNotFoundError",
    "RuntimeStateError",
    "OCIRuntimeError",
    "RuntimeExecError",
    "create",
    "delete",
    "exec_process",
    "features",
    "kill",
    "load_spec",
    "start",
    "state",
]

_STOP_TIMEOUT = 10.0
# SemVer 2.0.0, as config.md requires of ociVersion: MAJOR.MINOR.PATCH[-PRE][+BUILD].
_SEMVER = r"^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$"


def load_spec(bundle: Path) -> dict[str, Any]:
    path = Path(bundle) / "config.json"
    try:
        spec = json.loads(path.read_text())
    except FileNotFoundError:
        raise OCIRuntimeError(f"{path}: no such file (is {bundle} an OCI bundle?)") from None
    except (OSError, ValueError) as err:
        raise OCIRuntimeError(f"reading {path}: {err}") from None
    if not isinstance(spec, dict):
        raise OCIRuntimeError(f"{path}: not a JSON object")
    if not isinstance(spec.get("ociVersion"), str) or not re.match(_SEMVER, spec["ociVersion"]):
        raise OCIRuntimeError(f"{path}: ociVersion {spec.get('ociVersion')!r} is not a SemVer "
                              "version")  # fmt: skip
    if not isinstance(spec.get("process", {}), dict):
        raise OCIRuntimeError(f"{path}: process must be an object")
    _refuse_unsupported(spec, path)
    return spec


def _refuse_unsupported(spec: dict[str, Any], path: Path) -> None:
    """Say so rather than run a container with less isolation than its config asks for."""
    proc = spec.get("process") or {}
    if proc.get("apparmorProfile") and os.path.exists("/sys/kernel/security/apparmor"):
        raise OCIRuntimeError(f"{path}: AppArmor profiles are not supported by pod's runtime")
    if proc.get("selinuxLabel") and os.path.exists("/sys/fs/selinux/enforce"):
        raise OCIRuntimeError(f"{path}: SELinux labels are not supported by pod's runtime")


def _rootfs_path(bundle: Path, spec: dict[str, Any]) -> str:
    root = (spec.get("root") or {}).get("path") or "rootfs"
    path = (Path(bundle) / root).resolve()
    if not path.is_dir():
        raise OCIRuntimeError(f"root.path {path}: not a directory")
    return str(path)


def create(
    state_root: Path,
    container_id: str,
    bundle: Path,
    *,
    pid_file: Path | None = None,
    console_socket: Path | None = None,
    stdio: tuple[int, int, int] = (0, 1, 2),
    preserve_fds: int = 0,
) -> int:
    """Create the container; it waits before exec until `start`. Returns the init's pid.
    `preserve_fds`: the caller's fds 3..3+N-1 are the container process's too."""
    from pod.runtime import process  # create and exec only: delete, kill and state skip it

    directory = st.container_dir(Path(state_root), container_id)
    bundle = Path(bundle).resolve()
    spec = load_spec(bundle)
    request = process.CreateRequest(
        container_id=container_id,
        spec=spec,
        rootfs=_rootfs_path(bundle, spec),
        fifo=directory / st.EXEC_FIFO,
        console_socket=Path(console_socket) if console_socket else None,
        stdio=stdio,
        bundle=str(bundle),
        preserve_fds=preserve_fds,
        seccomp_cache=Path(state_root) / st.SECCOMP_CACHE,
    )
    hooks.hooks_of(spec, *hooks.KINDS)  # a malformed hook fails create, not delete
    Path(state_root).mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        directory.mkdir(mode=0o700)
    except FileExistsError:
        raise RuntimeContainerExistsError(f"container {container_id!r} already exists") from None
    try:
        os.mkfifo(request.fifo, 0o600)
        result = process.create(request)
        record = st.ContainerState(
            id=container_id,
            pid=result.pid,
            bundle=str(bundle),
            start_time=st.proc_start_time(result.pid),
            created=st.now(),
            annotations=dict(spec.get("annotations") or {}),
            cgroup_paths=result.cgroup_paths,
            rootless=unprivileged(),
            seccomp=(spec.get("linux") or {}).get("seccomp") or None,
            hooks=dict(spec.get("hooks") or {}),
            has_process="process" in spec,
            rootfs=request.rootfs if result.rootfs_mounts_kept is not None else "",
            rootfs_mounts_kept=result.rootfs_mounts_kept,
        )
        st.save(directory, record)
        if pid_file:
            st.write_atomic(Path(pid_file), str(result.pid))
    except BaseException:
        st.remove_dir(directory)
        raise
    return result.pid


def start(state_root: Path, container_id: str) -> list[str]:
    """Let a created container exec its command; then the poststart hooks, whose failures
    are returned as warnings (the container runs on, as the runtime-spec says)."""
    record = st.load(Path(state_root), container_id)
    status = st.status(Path(state_root), record)
    if status != "created":
        raise RuntimeStateError(f"cannot start container {container_id}: it is {status}")
    if not record.has_process:
        # runtime.md: an error. Nothing could ever run in it, so its init ends too: the
        # container is stopped, for delete (a caller waiting for "stopped" is not left hanging).
        _signal_all(record, signal_mod.SIGKILL)
        _wait_stopped(Path(state_root), record)
        raise RuntimeStateError(f"cannot start container {container_id}: its config has no "
                                "process (it is stopped now)")  # fmt: skip
    fifo = st.container_dir(Path(state_root), container_id) / st.EXEC_FIFO
    try:
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as err:
        if err.errno in (errno.ENXIO, errno.ENOENT):
            raise RuntimeStateError(f"cannot start container {container_id}: not created") from None
        raise OCIRuntimeError(f"opening {fifo}: {err.strerror}") from None
    try:
        os.write(fd, b"0")
    finally:
        os.close(fd)
    with contextlib.suppress(FileNotFoundError):
        fifo.unlink()
    return hooks.run_warning(_hook_spec(record), record.oci("running"), "running", "poststart")


def _hook_spec(record: st.ContainerState) -> dict[str, Any]:
    return {"hooks": record.hooks}


def state(state_root: Path, container_id: str) -> dict[str, Any]:
    """The OCI state of the container (status computed now)."""
    record = st.load(Path(state_root), container_id)
    return record.oci(st.status(Path(state_root), record))


def _signal_all(record: st.ContainerState, sig: int) -> None:
    targets = cgroups.pids(record.cgroup_paths) | {record.pid}
    for pid in targets:
        with contextlib.suppress(ProcessLookupError):
            if pid == record.pid and st.proc_start_time(pid) != record.start_time:
                continue
            os.kill(pid, sig)


def kill(state_root: Path, container_id: str, signal: int, *, all_processes: bool = False) -> None:
    """Send `signal` to the container's init (or to every process in its cgroups)."""
    record = st.load(Path(state_root), container_id)
    if st.status(Path(state_root), record) == "stopped":
        raise RuntimeStateError(f"container {container_id} is not running")
    if all_processes:
        _signal_all(record, signal)
        return
    try:
        os.kill(record.pid, signal)
    except ProcessLookupError:
        raise RuntimeStateError(f"container {container_id} is not running") from None


def _wait_stopped(state_root: Path, record: st.ContainerState) -> None:
    deadline = time.monotonic() + _STOP_TIMEOUT
    while st.status(state_root, record) != "stopped":
        if time.monotonic() > deadline:
            raise OCIRuntimeError(f"container {record.id} did not stop after SIGKILL")
        time.sleep(0.01)


def delete(state_root: Path, container_id: str, force: bool = False) -> list[str]:
    """Remove a stopped container; `force` kills a created or running one first (the spec:
    deleting a container that is not stopped is an error) and, as runc's, finds nothing wrong
    in a container that is already gone (podman cleans up so after a failed create). Then the
    poststop hooks, whose failures are returned as warnings."""
    state_root = Path(state_root)
    try:
        record = st.load(state_root, container_id)
    except RuntimeContainerNotFoundError:
        if force:
            return []
        raise
    status = st.status(state_root, record)
    if status != "stopped" and not force:
        raise RuntimeStateError(
            f"cannot delete {status} container {container_id}: stop it first or use --force"
        )
    if status != "stopped":
        _signal_all(record, signal_mod.SIGKILL)
        _wait_stopped(state_root, record)
    if status == "stopped":
        _signal_all(record, signal_mod.SIGKILL)  # leftovers when the init had no pid namespace
    cgroups.remove(record.cgroup_paths, timeout=_STOP_TIMEOUT)
    if record.rootfs_mounts_kept is not None:
        rootfs.release(record.rootfs, record.rootfs_mounts_kept)
    st.remove_dir(st.container_dir(state_root, container_id))
    stopped = {**record.oci("stopped"), "pid": record.pid}
    return hooks.run_warning(_hook_spec(record), stopped, "stopped", "poststop")


def exec_process(
    state_root: Path, container_id: str, process: dict[str, Any], **options: Any
) -> int:
    """pod.runtime.exec.exec_process (its options and contract), loaded only for an exec."""
    from pod.runtime.exec import exec_process as start_in_container

    return start_in_container(state_root, container_id, process, **options)


def features() -> dict[str, Any]:
    """What this runtime supports, in the shape of `runc features`."""
    from pod.runtime import process, seccomp
    from pod.runtime.init import CAP_NUMBERS

    return {
        "ociVersionMin": "1.0.0",
        "ociVersionMax": st.OCI_VERSION,
        "hooks": list(hooks.KINDS),
        "mountOptions": sorted([*rootfs.FLAGS, *rootfs.PROPAGATION]),
        "linux": {
            "namespaces": sorted(process.NAMESPACES),
            "capabilities": sorted(CAP_NUMBERS, key=CAP_NUMBERS.__getitem__),
            "cgroup": {"v1": True, "v2": True, "systemd": False, "systemdUser": False},
            "seccomp": {
                "enabled": seccomp.available(),
                "actions": list(seccomp.ACTIONS),
                "operators": list(seccomp.OPERATORS),
                "archs": [
                    "SCMP_ARCH_X86",
                    "SCMP_ARCH_X86_64",
                    "SCMP_ARCH_X32",
                    "SCMP_ARCH_ARM",
                    "SCMP_ARCH_AARCH64",
                ],
                "supportedFlags": list(seccomp.FLAGS),
            },
            "apparmor": {"enabled": False},
            "selinux": {"enabled": False},
        },
        "annotations": {"org.opencontainers.runtime-spec.features.runtime": "pod-runtime"},
    }
