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
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from pod.runtime.state import (
    ContainerExistsError,
    ContainerNotFoundError,
    ContainerStateError,
    OCIRuntimeError,
    RuntimeExecError,
    validate_id,
)

_LOGRUS_MSG = re.compile(r'msg="((?:[^"\\]|\\.)*)"')
_HYBRID = "cgroups in hybrid mode not supported"


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
            match = _LOGRUS_MSG.search(line)
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


class ExternalRuntime:
    """An OCI runtime binary with api.py's verbs."""

    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.name = os.path.basename(binary)

    def __repr__(self) -> str:
        return f"ExternalRuntime({self.binary!r})"

    def _base(self, state_root: Path) -> list[str]:
        return [self.binary, "--root", os.fspath(state_root)]

    def _error(self, verb: str, message: str, container_id: str) -> OCIRuntimeError:
        text = message or f"{self.name} {verb} failed"
        lowered = text.lower()
        if _HYBRID in lowered:
            return OCIRuntimeError(
                f"{self.name} cannot run containers on this host's hybrid cgroup layout (cgroup "
                f"v1 with a v2 mount): use runc or pod's own runtime ({text})"
            )
        if "exec:" in lowered or "executable file not found" in lowered:
            if "not found" in lowered or "no such file" in lowered:
                return RuntimeExecError(text, errno.ENOENT)
            if "permission denied" in lowered or "is a directory" in lowered:
                return RuntimeExecError(text, errno.EACCES)
        if verb == "create" and "exists" in lowered and "container" in lowered:
            return ContainerExistsError(text)
        if "does not exist" in lowered or "not found" in lowered:
            return ContainerNotFoundError(f"container {container_id!r} does not exist ({text})")
        if "not running" in lowered or "cannot start" in lowered or "cannot delete" in lowered:
            return ContainerStateError(text)
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
    ) -> int:
        """`<bin> create`; the container's stdio is the binary's. Returns the init's pid."""
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
        try:
            done = subprocess.run(
                [*cmd, container_id], stdin=stdio[0], stdout=stdio[1], stderr=stdio[2]
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

    def features(self) -> dict[str, Any]:
        try:
            done = subprocess.run([self.binary, "features"], capture_output=True, text=True)
            return json.loads(done.stdout)
        except (OSError, ValueError):
            raise OCIRuntimeError(f"{self.name} features: not supported by this binary") from None


def runtime_for(name: str | None) -> Any:
    """pod's own runtime (None or "pod") or an external binary by name or path."""
    if name in (None, "", "pod"):
        from pod.runtime import api

        return api
    assert name is not None
    if "/" in name:
        path = name if os.path.isfile(name) and os.access(name, os.X_OK) else None
    else:
        path = shutil.which(name)
    if path is None:
        raise OCIRuntimeError(f"could not find a working binary (configured runtime: {name})")
    return ExternalRuntime(path)
