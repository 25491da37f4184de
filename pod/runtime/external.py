"""crun, runc or any OCI runtime binary behind the same verbs as api.py.

The binary is driven through the OCI runtime command line (`<bin> --root R create --bundle B
--pid-file P [--console-socket S] ID`, then start/state/kill/delete). Its errors are read from
its --log file (JSON lines, as conmon does) and mapped onto the exceptions api.py raises, so the
shim handles both runtimes alike. As with runc under conmon, the container's stdio is the
binary's stdio: runc also prints a failure to that stderr, so a failed create may leave one line
in the container's stderr stream.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from pod.errors import (
    OCIRuntimeError,
    RuntimeContainerExistsError,
    RuntimeContainerNotFoundError,
    RuntimeExecError,
    RuntimeStateError,
)
from pod.runtime.state import validate_id

_LOGRUS_MSG = r'msg="((?:[^"\\]|\\.)*)"'
_HYBRID = "cgroups in hybrid mode not supported"
NS_GET_PARENT = 0xB702  # ioctl on a namespace fd: its parent user namespace


def _message_from_log(text: str) -> str:
    """The last error message in a runtime's log (JSON lines or logrus text) or its stderr."""
    message = ""
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            record = json.loads(line)
        except ValueError:
            match = re.search(_LOGRUS_MSG, line)
            found = json.loads(f'"{match.group(1)}"') if match else line
            level_ok = match is None or "level=error" in line or "level=fatal" in line
        else:
            if not isinstance(record, dict):
                continue
            found = str(record.get("msg", ""))
            level_ok = record.get("level", "error") in ("error", "fatal")
        if found and level_ok:
            message = found
    return message


RUNTIME_FLAGS_VARIABLE = "POD_RUNTIME_FLAGS"  # set by `pod --runtime-flag`, one a line


def global_flags() -> list[str]:
    """podman's --runtime-flag values for the binary: `debug` → `--debug`, `log=F` → `--log=F`
    (the shim and its helpers inherit them from the command that started them)."""
    given = os.environ.get(RUNTIME_FLAGS_VARIABLE, "")
    return [flag if flag.startswith("-") else f"--{flag}" for flag in given.split("\n") if flag]


class ExternalRuntime:
    """An OCI runtime binary with api.py's verbs."""

    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.name = os.path.basename(binary)

    def __repr__(self) -> str:
        return f"ExternalRuntime({self.binary!r})"

    def _base(self, state_root: Path) -> list[str]:
        return [self.binary, *global_flags(), "--root", os.fspath(state_root)]

    def _error(self, verb: str, message: str, container_id: str) -> OCIRuntimeError:
        text = message or f"{self.name} {verb} failed"
        lowered = text.lower()
        if _HYBRID in lowered:
            return OCIRuntimeError(
                f"{self.name} cannot run containers on this host's hybrid cgroup layout (cgroup "
                f"v1 with a v2 mount): use runc or pod's own runtime ({text})"
            )
        if "chdir to cwd" in lowered and "no such file" in lowered:  # podman: 127, as not found
            return RuntimeExecError(text, errno.ENOENT)
        if "exec:" in lowered or "executable file not found" in lowered:
            if "not found" in lowered or "no such file" in lowered:
                return RuntimeExecError(text, errno.ENOENT)
            if "permission denied" in lowered or "is a directory" in lowered:
                return RuntimeExecError(text, errno.EACCES)
        if verb == "create" and "exists" in lowered and "container" in lowered:
            return RuntimeContainerExistsError(text)
        if "does not exist" in lowered or "not found" in lowered:
            return RuntimeContainerNotFoundError(
                f"container {container_id!r} does not exist ({text})"
            )
        if "not running" in lowered or "cannot start" in lowered or "cannot delete" in lowered:
            return RuntimeStateError(text)
        return OCIRuntimeError(f"{self.name} {verb}: {text}")

    def _run(self, state_root: Path, verb: str, container_id: str, *args: str) -> str:
        validate_id(container_id)
        try:
            done = subprocess.run(
                [*self._base(state_root), verb, *args],
                capture_output=True,
                text=True,
                stdin=subprocess.DEVNULL,
            )
        except OSError as err:
            raise OCIRuntimeError(f"running {self.binary}: {err.strerror}") from None
        if done.returncode != 0:
            raise self._error(verb, _message_from_log(done.stderr), container_id)
        return done.stdout

    def create(
        self,
        state_root: Path,
        container_id: str,
        bundle: Path,
        *,
        pid_file: Path | None = None,
        console_socket: Path | None = None,
        stdio: tuple[int, int, int] = (0, 1, 2),
        preserve_fds: int = 0,
    ) -> int:
        """`<bin> create`; the container's stdio is the binary's (and our fds 3..3+N-1 with
        `preserve_fds`). Returns the init's pid."""
        validate_id(container_id)
        state_root = Path(state_root)
        state_root.mkdir(parents=True, exist_ok=True, mode=0o700)
        log = state_root / f".{container_id}.create.log"
        own_pid_file = state_root / f".{container_id}.pid"
        pid_path = Path(pid_file) if pid_file else own_pid_file
        cmd = [*self._base(state_root), "--log", str(log), "--log-format", "json", "create",
               "--bundle", os.fspath(bundle), "--pid-file", os.fspath(pid_path)]  # fmt: skip
        if console_socket:
            cmd += ["--console-socket", os.fspath(console_socket)]
        if preserve_fds:
            cmd += ["--preserve-fds", str(preserve_fds)]
        try:
            done = subprocess.run(
                [*cmd, container_id],
                stdin=stdio[0],
                stdout=stdio[1],
                stderr=stdio[2],
                pass_fds=tuple(range(3, 3 + preserve_fds)),
            )
            if done.returncode != 0:
                text = log.read_text() if log.exists() else ""
                raise self._error("create", _message_from_log(text), container_id)
            return int(pid_path.read_text().strip())
        except OSError as err:
            raise OCIRuntimeError(f"running {self.binary} create: {err.strerror}") from None
        finally:
            for path in (log, own_pid_file):
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()

    def start(self, state_root: Path, container_id: str) -> None:
        self._run(Path(state_root), "start", container_id, container_id)

    def state(self, state_root: Path, container_id: str) -> dict[str, Any]:
        out = self._run(Path(state_root), "state", container_id, container_id)
        try:
            return json.loads(out)
        except ValueError:
            raise OCIRuntimeError(f"{self.name} state printed no JSON: {out[:200]!r}") from None

    def kill(
        self, state_root: Path, container_id: str, signal: int, *, all_processes: bool = False
    ) -> None:
        args = ["--all"] if all_processes else []
        self._run(Path(state_root), "kill", container_id, *args, container_id, str(signal))

    def delete(self, state_root: Path, container_id: str, force: bool = False) -> None:
        args = ["--force"] if force else []
        self._run(Path(state_root), "delete", container_id, *args, container_id)

    def exec_process(
        self,
        state_root: Path,
        container_id: str,
        process: dict[str, Any],
        *,
        console_socket: Path | None = None,
        stdio: tuple[int, int, int] = (0, 1, 2),
        detach: bool = False,
        preserve_fds: int = 0,
    ) -> int:
        """`<bin> exec --detach --process F --pid-file P ID`: api.exec_process's contract.

        The binary always detaches, so the process is reparented to the caller when the caller
        is a child subreaper (required unless `detach`) and it waits for it, as with pod's
        runtime; the process's stdio is the binary's. A rootless container's init lives in the
        shim's user namespace, which the binary must join first (runc only joins namespaces its
        config lists, and that one is not listed: the shim was already in it).
        """
        from pod.runtime.exec import check_process, is_child_subreaper

        validate_id(container_id)
        state_root = Path(state_root)
        check_process(process, console_socket)
        if not detach and not is_child_subreaper():
            raise OCIRuntimeError("exec without detach needs a caller that is a child subreaper")
        current = self.state(state_root, container_id)
        if current.get("status") != "running" or not current.get("pid"):
            raise RuntimeStateError(
                f"cannot exec in container {container_id}: it is {current.get('status')}"
            )
        tag = f".{container_id}.exec-{os.getpid()}-{os.urandom(4).hex()}"
        process_file, log, pid_file = (state_root / f"{tag}.{e}" for e in ("json", "log", "pid"))
        cmd = [*self._base(state_root), "--log", str(log), "--log-format", "json", "exec",
               "--process", str(process_file), "--detach", "--pid-file", str(pid_file)]  # fmt: skip
        if console_socket:
            cmd += ["--console-socket", os.fspath(console_socket)]
        if preserve_fds:
            cmd += ["--preserve-fds", str(preserve_fds)]
        try:
            fd = os.open(process_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
            with open(fd, "w") as handle:
                json.dump(process, handle)
            userns = _runtime_user_namespace(int(current["pid"]), current.get("bundle") or "")
            code = _run_in_namespace(userns, [*cmd, container_id], stdio, preserve_fds)
            if code != 0:
                text = log.read_text() if log.exists() else ""
                raise self._error("exec", _message_from_log(text), container_id)
            return int(pid_file.read_text().strip())
        except OSError as err:
            raise OCIRuntimeError(f"running {self.binary} exec: {err.strerror}") from None
        finally:
            for path in (process_file, log, pid_file):
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()

    def features(self) -> dict[str, Any]:
        try:
            done = subprocess.run([self.binary, "features"], capture_output=True, text=True)
            return json.loads(done.stdout)
        except (OSError, ValueError):
            raise OCIRuntimeError(f"{self.name} features: not supported by this binary") from None


def _runtime_user_namespace(pid: int, bundle: str) -> int:
    """An fd of the user namespace the binary ran in for the container whose init is `pid`:
    the init's own, or its parent when the bundle gives the container a user namespace of
    its own (the binary made or joined it from there: rootless --userns=keep-id)."""
    fd = os.open(f"/proc/{pid}/ns/user", os.O_RDONLY | os.O_CLOEXEC)
    try:
        config = json.loads((Path(bundle) / "config.json").read_bytes()) if bundle else {}
    except (OSError, ValueError):
        config = {}
    namespaces = (config.get("linux") or {}).get("namespaces") or []
    if not any(ns.get("type") == "user" for ns in namespaces):
        return fd
    try:
        return fcntl.ioctl(fd, NS_GET_PARENT)
    except OSError as err:
        raise OCIRuntimeError(f"finding the runtime's user namespace: {err.strerror}") from None
    finally:
        os.close(fd)


def _run_in_namespace(
    user_fd: int, cmd: list[str], stdio: tuple[int, int, int], preserve_fds: int = 0
) -> int:
    """Run `cmd` with `stdio` (and the fds 3..3+`preserve_fds`-1 it passes on), as root of the
    user namespace `user_fd` (closed here) when that is not ours."""
    from pod.runtime.exec import join_user_namespace
    from pod.runtime.syscalls import Syscalls

    mine, theirs = os.stat("/proc/self/ns/user"), os.fstat(user_fd)
    if (mine.st_dev, mine.st_ino) == (theirs.st_dev, theirs.st_ino):
        os.close(user_fd)
        kept = tuple(range(3, 3 + preserve_fds))
        done = subprocess.run(cmd, stdin=stdio[0], stdout=stdio[1], stderr=stdio[2], pass_fds=kept)
        return done.returncode
    failure_r, failure_w = os.pipe()
    child = os.fork()
    if child == 0:
        try:
            os.close(failure_r)
            join_user_namespace(Syscalls(), user_fd)
            with contextlib.suppress(OSError):  # the user's host groups mean nothing in there
                os.setgroups([])
            copies = [os.dup(fd) for fd in stdio]
            for number, copy in enumerate(copies):
                os.dup2(copy, number)
            os.execv(cmd[0], cmd)
        except BaseException as err:  # a forked child must never return into the caller
            with contextlib.suppress(OSError):
                os.write(failure_w, str(err).encode())
        os._exit(127)
    os.close(user_fd)
    os.close(failure_w)
    with open(failure_r, "rb") as failures:
        failure = failures.read().decode(errors="replace")
    _, status = os.waitpid(child, 0)
    if failure:
        raise OCIRuntimeError(f"entering the container's user namespace: {failure}")
    return os.waitstatus_to_exitcode(status)


def external_runtime(name: str) -> ExternalRuntime:
    """runc, crun or another OCI runtime binary, by name (on PATH) or path."""
    if "/" in name:
        path = name if os.path.isfile(name) and os.access(name, os.X_OK) else None
    else:
        path = shutil.which(name)
    if path is None:
        raise OCIRuntimeError(f"could not find a working binary (configured runtime: {name})")
    return ExternalRuntime(path)
