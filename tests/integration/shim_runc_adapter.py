"""The runtime contract the shim codes against (pod.runtime.api / external), served by runc.

Only for tests until pod's own runtime modules land: test_shim.py points the shim at it with
POD_SHIM_RUNTIME_FACTORY=shim_runc_adapter:runtime_for. Standard library only (the shim's memory
is measured with it loaded).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from pod.errors import PodError

_NOT_FOUND = ("executable file not found", "no such file or directory")


class RuntimeExecError(PodError):
    """The container's command could not be found (127) or run (126)."""


class Runc:
    """create/start/state/kill/delete through the OCI runtime command line."""

    def __init__(self, binary: str = "runc") -> None:
        self.binary = binary

    def _run(self, state_root: Path, args: list[str], **kwargs) -> subprocess.CompletedProcess:
        log = state_root / f".log-{os.getpid()}"
        cmd = [self.binary, "--root", str(state_root), "--log", str(log), "--log-format", "json"]
        try:
            done = subprocess.run([*cmd, *args], **kwargs)
            if done.returncode != 0:
                raise self._error(args[0], log, done)
            return done
        finally:
            log.unlink(missing_ok=True)

    def _error(self, verb: str, log: Path, done: subprocess.CompletedProcess) -> PodError:
        message = f"{self.binary} {verb} failed with exit status {done.returncode}"
        try:
            for line in log.read_text().splitlines():
                entry = json.loads(line)
                if entry.get("level") in ("error", "fatal"):
                    message = entry.get("msg", message)
        except (OSError, ValueError):
            pass
        lowered = message.lower()
        if "exec:" in lowered and any(text in lowered for text in _NOT_FOUND):
            error = RuntimeExecError(message)
            error.exit_code = 127
            return error
        if "exec:" in lowered and "permission denied" in lowered:
            error = RuntimeExecError(message)
            error.exit_code = 126
            return error
        return PodError(message)

    def create(
        self,
        state_root: Path,
        container_id: str,
        bundle: Path,
        *,
        pid_file: Path,
        console_socket: Path | None = None,
        stdio: tuple[int, int, int] = (0, 1, 2),
    ) -> int:
        args = ["create", "--bundle", str(bundle), "--pid-file", str(pid_file)]
        if console_socket is not None:
            args += ["--console-socket", str(console_socket)]
        stdin, stdout, stderr = stdio
        self._run(
            state_root, [*args, container_id], stdin=stdin, stdout=stdout, stderr=stderr, cwd=bundle
        )
        return int(pid_file.read_text().strip())

    def start(self, state_root: Path, container_id: str) -> None:
        self._run(state_root, ["start", container_id], capture_output=True)

    def state(self, state_root: Path, container_id: str) -> dict:
        done = self._run(state_root, ["state", container_id], capture_output=True, text=True)
        return json.loads(done.stdout)

    def kill(self, state_root: Path, container_id: str, signal: int) -> None:
        self._run(state_root, ["kill", container_id, str(signal)], capture_output=True)

    def delete(self, state_root: Path, container_id: str, force: bool = True) -> None:
        args = ["delete", *(["--force"] if force else []), container_id]
        self._run(state_root, args, capture_output=True)


def runtime_for(name: str) -> Runc:
    return Runc(os.path.basename(name) if name in ("runc", "crun") else "runc")
