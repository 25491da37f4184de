"""OCI hooks: prestart, createRuntime, createContainer, startContainer, poststart, poststop.

Each hook is a program (`path`, `args` with args[0], `env` exactly as given, `timeout` seconds)
that gets the container's state JSON on stdin. Where they run in pod's runtime (as runc):

  prestart, createRuntime   the runtime's parent, after the namespaces and mounts exist and
                            the cgroups are placed, before pivot_root
  createContainer           the container's init, in its namespaces, before pivot_root
  startContainer            the container's init after `start`, right before the command's
                            execve (path resolved inside the container)
                            (these four: status "created"; runtime.md's lifecycle runs them
                            after step 2, and "created" is the state after step 2)
  poststart                 `start`, once the command was released (status "running")
  poststop                  `delete`, once the container is gone (status "stopped")

A failing hook of the first four kinds fails create (or, for startContainer, the container:
the init reports it on its stderr and exits); poststart and poststop failures are warnings.
Plain fork/execve with a poll loop, no subprocess: startContainer runs after pivot_root, when
no module can be imported any more.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import time
from typing import Any

from pod.errors import OCIRuntimeError

KINDS = ("prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop")
_OUTPUT_LIMIT = 4096


def hooks_of(spec: dict[str, Any], *kinds: str) -> list[tuple[str, dict[str, Any]]]:
    """(kind, hook) for the given kinds, in that order, checked."""
    found = []
    table = spec.get("hooks") or {}
    for kind in table:
        if kind not in KINDS:
            raise OCIRuntimeError(f"unknown hook kind {kind!r}")
    for kind in kinds:
        for hook in table.get(kind) or []:
            if not isinstance(hook, dict) or not str(hook.get("path", "")).startswith("/"):
                raise OCIRuntimeError(f"{kind} hook {hook!r}: path must be absolute")
            timeout = hook.get("timeout")
            if timeout is not None and int(timeout) <= 0:
                raise OCIRuntimeError(f"{kind} hook {hook['path']}: timeout must be positive")
            found.append((kind, hook))
    return found


def state_json(state: dict[str, Any], status: str) -> bytes:
    return json.dumps({**state, "status": status}).encode()


def run_hook(kind: str, hook: dict[str, Any], stdin: bytes) -> None:
    """Run one hook to the end (or its timeout); raise OCIRuntimeError if it failed."""
    path = hook["path"]
    args = [str(a) for a in hook.get("args") or [path]]
    env = dict(item.partition("=")[::2] for item in hook.get("env") or [])
    in_read, in_write = os.pipe()
    out_read, out_write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child execs or exits
        try:
            os.dup2(in_read, 0)
            os.dup2(out_write, 1)
            os.dup2(out_write, 2)
            os.closerange(3, 1 << 16)
            os.execve(path, args, env)
        except OSError as err:
            os.write(2, f"exec {path}: {err.strerror}".encode())
        finally:
            os._exit(127)
    os.close(in_read)
    os.close(out_write)
    with contextlib.suppress(BrokenPipeError):  # a hook need not read its stdin
        os.write(in_write, stdin)
    os.close(in_write)
    output, status = _collect(pid, out_read, hook.get("timeout"))
    text = output.decode(errors="replace").strip()
    detail = f": {text[-_OUTPUT_LIMIT:]}" if text else ""
    if status is None:
        raise OCIRuntimeError(f"{kind} hook {path} timed out after {hook['timeout']}s{detail}")
    if status != 0:
        raise OCIRuntimeError(f"{kind} hook {path} failed ({_describe(status)}){detail}")


def _collect(pid: int, fd: int, timeout: Any) -> tuple[bytes, int | None]:
    """The hook's output and wait status; None (the hook killed) when it ran out of time."""
    deadline = None if timeout is None else time.monotonic() + int(timeout)

    def left() -> float | None:
        return None if deadline is None else deadline - time.monotonic()

    def killed() -> tuple[bytes, None]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        return b"".join(chunks), None

    chunks: list[bytes] = []
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLHUP)
    try:
        while True:  # the output, until EOF
            remaining = left()
            if remaining is not None and remaining <= 0:
                return killed()
            if poller.poll(-1 if remaining is None else max(1, int(remaining * 1000))):
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                chunks.append(chunk)
        while True:  # the exit
            done, status = os.waitpid(pid, 0 if deadline is None else os.WNOHANG)
            if done:
                return b"".join(chunks), status
            remaining = left()
            if remaining is not None and remaining <= 0:
                return killed()
            time.sleep(0.01)
    finally:
        os.close(fd)


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"killed by signal {os.WTERMSIG(status)}"
    return f"exit status {os.waitstatus_to_exitcode(status)}"


def run_fatal(spec: dict[str, Any], state: dict[str, Any], status: str, *kinds: str) -> None:
    """Run hooks whose failure fails the operation; the first failure stops the rest."""
    for kind, hook in hooks_of(spec, *kinds):
        run_hook(kind, hook, state_json(state, status))


def run_warning(spec: dict[str, Any], state: dict[str, Any], status: str, kind: str) -> list[str]:
    """Run hooks whose failures are only warnings (poststart, poststop): every hook runs."""
    warnings = []
    for name, hook in hooks_of(spec, kind):
        try:
            run_hook(name, hook, state_json(state, status))
        except OCIRuntimeError as err:
            warnings.append(str(err))
    return warnings
