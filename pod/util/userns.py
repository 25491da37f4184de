"""User namespaces for rootless pod: subordinate id ranges and a worker run inside a namespace.

Below the store and the runtime alike: layer extraction and diffs, build, cp, the shim and the
rootless network namespace all enter user namespaces the same way.

Files in an image belong to many users; an unprivileged user can only own them through a user
namespace mapping container uid 0 to the user and 1..N to the user's /etc/subuid range (podman's
mapping, set up by the setuid newuidmap/newgidmap). With no range, or no newuidmap, the namespace
maps the user alone: owners collapse to the user, and the caller is told once.

Worker protocol (both halves live here so they cannot drift apart):
  1. The parent spawns `python -m <module> --parent <pid> --userns-sync <fd>` (never fork: the
     parent may hold threads), with one end of a socketpair as <fd>.
  2. The child unshares CLONE_NEWUSER and sends b"U"; the parent writes the uid/gid maps and sends
     b"G"; the child becomes uid/gid 0 in the namespace.
  3. The child asks to be killed when the thread that spawned it ends (PR_SET_PDEATHSIG), and
     stops if <pid> is gone already: a `kill -9` of the command leaves no worker writing on.
  4. The parent writes a JSON request on the child's stdin; the child answers on stdout with
     {"result": ...} or {"error": {"type": <PodError subclass name>, "message": ...}}, which the
     parent raises as that PodError.
A session worker (`start_session`, `serve_session`) answers many requests instead: each is one
message on a SOCK_SEQPACKET socket (`--session <fd>`), file descriptors passed along with it
(the data pipes of `pod cp`), until the parent closes its end.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pod import errors
from pod.util.records import dataclass

if TYPE_CHECKING:  # the CLI reads id maps on every start; spawning workers is rarer
    import socket
    import subprocess

SUBUID_FILE = Path("/etc/subuid")
SUBGID_FILE = Path("/etc/subgid")
SYNC_FLAG = "--userns-sync"
PARENT_FLAG = "--parent"
SESSION_FLAG = "--session"
_MAX_MESSAGE = 1 << 16
_MAX_FDS = 8
_READY = b"U"
_GO = b"G"


@dataclass(frozen=True)
class SubIdRange:
    """One /etc/subuid or /etc/subgid range granted to a user."""

    start: int
    count: int


@dataclass(frozen=True)
class IdMapLine:
    """One line of /proc/<pid>/uid_map: `count` ids from `inside` map to `outside` on the host."""

    inside: int
    outside: int
    count: int


@dataclass(frozen=True)
class IdMapping:
    """How one kind of id ("uid" or "gid") is mapped: own id to 0, subordinate ranges from 1."""

    kind: str
    own: int
    ranges: tuple[SubIdRange, ...]
    source: Path

    def lines(self) -> list[IdMapLine]:
        lines = [IdMapLine(0, self.own, 1)]
        for subids in self.ranges:
            lines.append(IdMapLine(lines[-1].inside + lines[-1].count, subids.start, subids.count))
        return lines


@dataclass(frozen=True)
class UserMapping:
    """The mapping a rootless namespace gets for `user`."""

    user: str
    uids: IdMapping
    gids: IdMapping


@dataclass(frozen=True)
class WorkerResult:
    """A worker's answer, and a warning to show once when the namespace maps one id only."""

    value: Any
    warning: str


def read_subids(path: Path, user: str, uid: int) -> list[SubIdRange]:
    """The ranges `path` grants to `user` (lines name the user by name or by number)."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return []
    ranges = []
    for line in text.splitlines():
        fields = line.strip().split(":")
        if len(fields) != 3 or fields[0] not in (user, str(uid)):
            continue
        with contextlib.suppress(ValueError):
            start, count = int(fields[1]), int(fields[2])
            if start >= 0 and count > 0:
                ranges.append(SubIdRange(start, count))
    return ranges


def current_mapping(
    subuid_file: Path = SUBUID_FILE, subgid_file: Path = SUBGID_FILE
) -> UserMapping:
    """The mapping for the calling user, from the subordinate id files."""
    uid, gid = os.geteuid(), os.getegid()
    try:
        user = pwd.getpwuid(uid).pw_name
    except KeyError:
        user = str(uid)
    return UserMapping(
        user=user,
        uids=IdMapping("uid", uid, tuple(read_subids(subuid_file, user, uid)), subuid_file),
        gids=IdMapping("gid", gid, tuple(read_subids(subgid_file, user, uid)), subgid_file),
    )


def _write_proc(pid: int, name: str, text: str) -> None:
    with open(f"/proc/{pid}/{name}", "w") as handle:
        handle.write(text)


def _map_single(pid: int, mapping: IdMapping) -> None:
    """Map the user's own id alone (allowed without privileges; gid_map needs setgroups denied)."""
    if mapping.kind == "gid":
        _write_proc(pid, "setgroups", "deny")
    _write_proc(pid, f"{mapping.kind}_map", f"0 {mapping.own} 1\n")


def _map_tool(mapping: IdMapping) -> str | None:
    """newuidmap/newgidmap for `mapping`'s ranges (None: no ranges, or no tool)."""
    import shutil

    return shutil.which(f"new{mapping.kind}map") if mapping.ranges else None


def _start_map(pid: int, mapping: IdMapping, tool: str | None) -> subprocess.Popen[str] | None:
    """Start the setuid tool writing one id map for `pid` (None: there is none to run)."""
    import subprocess

    if tool is None:
        return None
    args = [str(n) for line in mapping.lines() for n in (line.inside, line.outside, line.count)]
    return subprocess.Popen(
        [tool, str(pid), *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )


def _finish_map(pid: int, mapping: IdMapping, user: str, proc: subprocess.Popen[str] | None) -> str:
    """Wait for the tool; on failure (or without one) map the user's own id alone and return
    the warning that says so."""
    collapse = "image file owners collapse to you"
    if not mapping.ranges:
        warning = (
            f"no sub{mapping.kind} ranges found for user {user} in {mapping.source}: "
            f"{collapse}; add a range to keep them"
        )
    elif proc is None:
        warning = f"new{mapping.kind}map not found (install the uidmap package): {collapse}"
    else:
        _, stderr = proc.communicate()
        if proc.returncode == 0:
            return ""
        reason = stderr.strip().splitlines()[-1:] or [f"exit {proc.returncode}"]
        warning = f"new{mapping.kind}map failed ({reason[0]}): {collapse}"
    _map_single(pid, mapping)
    return warning


def set_up_child(sock: socket.socket, pid: int, mapping: UserMapping) -> str:
    """Parent half of the handshake: wait for the child's namespace, map it, let it go on.
    The tools are found (and subprocess loaded) while the child unshares, and its uid and gid
    maps are written at once, by the two tools side by side."""
    import subprocess  # noqa: F401 - for _start_map: loaded while the child unshares (~3 ms)

    maps = (mapping.uids, mapping.gids)
    tools = [_map_tool(each) for each in maps]
    if sock.recv(1) != _READY:
        return ""  # the child failed before unsharing; its answer on stdout says why
    running = [_start_map(pid, each, tool) for each, tool in zip(maps, tools, strict=True)]
    warnings = [
        _finish_map(pid, each, mapping.user, proc) for each, proc in zip(maps, running, strict=True)
    ]
    sock.sendall(_GO)
    return warnings[0] or warnings[1]


def _error_class(name: str) -> type[errors.PodError]:
    cls = getattr(errors, name, errors.PodError)
    return cls if isinstance(cls, type) and issubclass(cls, errors.PodError) else errors.PodError


def _decode_reply(module: str, out: bytes, err: bytes, returncode: int) -> Any:
    try:
        reply = json.loads(out)
    except ValueError:
        lines = err.decode(errors="replace").strip().splitlines()
        detail = lines[-1] if lines else f"exit status {returncode}"
        raise errors.StoreError(f"{module} worker failed: {detail}") from None
    if "error" in reply:
        raise _error_class(reply["error"]["type"])(reply["error"]["message"])
    return reply["result"]


def _spawn(
    module: str, sync_fd: int | None, session_fd: int | None = None
) -> subprocess.Popen[bytes]:
    import subprocess

    args = [] if sync_fd is None else [SYNC_FLAG, str(sync_fd)]
    if session_fd is not None:
        args += [SESSION_FLAG, str(session_fd)]
    pipe = subprocess.PIPE if session_fd is None else subprocess.DEVNULL
    return subprocess.Popen(
        [sys.executable, "-m", module, PARENT_FLAG, str(os.getpid()), *args],
        stdin=pipe,
        stdout=pipe,
        stderr=subprocess.PIPE,
        pass_fds=tuple(fd for fd in (sync_fd, session_fd) if fd is not None),
        cwd="/",  # `-m` puts the cwd first on sys.path: keep a checkout from shadowing pod
    )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.kill()
    proc.wait()


def run_in_userns(module: str, request: Any, mapping: UserMapping | None = None) -> WorkerResult:
    """Run `python -m module` as root of a fresh user namespace and return its answer."""
    import socket

    mapping = mapping or current_mapping()
    parent_end, child_end = socket.socketpair()
    with parent_end:
        try:
            with child_end:
                proc = _spawn(module, child_end.fileno())
        except OSError as err:
            raise errors.StoreError(f"cannot start the {module} worker: {_describe(err)}") from None
        try:
            warning = set_up_child(parent_end, proc.pid, mapping)
            out, errout = proc.communicate(json.dumps(request).encode())
        except OSError as exc:
            _stop(proc)
            raise errors.StoreError(f"setting up a user namespace: {_describe(exc)}") from None
        except BaseException:
            _stop(proc)
            raise
    return WorkerResult(_decode_reply(module, out, errout, proc.returncode), warning)


def run_worker(module: str, request: Any) -> Any:
    """Run `python -m module` with no new namespace (it joins an existing one itself, e.g. a
    rootless shim's: only a process outside that namespace, as its owner, may) and answer."""
    try:
        proc = _spawn(module, None)
    except OSError as err:
        raise errors.StoreError(f"cannot start the {module} worker: {_describe(err)}") from None
    try:
        out, errout = proc.communicate(json.dumps(request).encode())
    except BaseException:
        _stop(proc)
        raise
    return _decode_reply(module, out, errout, proc.returncode)


class Session:
    """A session worker: `call` sends one request and returns the answer, raising the worker's
    PodError; `close` ends it. The fds sent along are handed over: closed here once sent, so a
    pipe's other end sees EOF when the worker is done with it."""

    def __init__(self, module: str, proc: subprocess.Popen[bytes], sock: socket.socket) -> None:
        self.module = module
        self.proc = proc
        self.sock = sock
        self.warning = ""

    def call(self, request: Any, fds: tuple[int, ...] = ()) -> Any:
        import socket

        try:
            try:
                socket.send_fds(self.sock, [json.dumps(request).encode()], list(fds))
            finally:
                for fd in fds:
                    os.close(fd)
            data, _, _, _ = socket.recv_fds(self.sock, _MAX_MESSAGE, _MAX_FDS)
        except OSError:
            data = b""
        if not data:
            self.close()
            detail = self.proc.stderr.read() if self.proc.stderr else b""
            raise errors.StoreError(
                f"{self.module} worker failed: {_last_line(detail, self.proc.returncode)}"
            )
        return _decode_reply(self.module, data, b"", 0)

    def close(self) -> None:
        """End the session: the worker sees EOF and exits."""
        import subprocess

        if self.sock.fileno() >= 0:
            self.sock.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            _stop(self.proc)

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _last_line(err: bytes, returncode: int | None) -> str:
    lines = err.decode(errors="replace").strip().splitlines()
    return lines[-1] if lines else f"exit status {returncode}"


def start_session(module: str, *, userns: bool, mapping: UserMapping | None = None) -> Session:
    """Start `python -m module` as a session worker: as root of a fresh user namespace with
    `userns`, else as it is (to join an existing namespace itself, like run_worker)."""
    import socket

    parent_end, child_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    sync_parent, sync_child = socket.socketpair() if userns else (None, None)
    try:
        try:
            proc = _spawn(module, sync_child.fileno() if sync_child else None, child_end.fileno())
        except OSError as err:
            parent_end.close()
            raise errors.StoreError(f"cannot start the {module} worker: {_describe(err)}") from None
        finally:
            child_end.close()
            if sync_child is not None:
                sync_child.close()
        session = Session(module, proc, parent_end)
        if sync_parent is not None:
            try:
                session.warning = set_up_child(sync_parent, proc.pid, mapping or current_mapping())
            except OSError as exc:
                session.close()
                raise errors.StoreError(f"setting up a user namespace: {_describe(exc)}") from None
    finally:
        if sync_parent is not None:
            sync_parent.close()
    return session


def parent_pid(argv: list[str]) -> int:
    """The pid of the command that started this worker (its --parent flag)."""
    return int(dict(zip(argv[::2], argv[1::2], strict=False))[PARENT_FLAG])


def serve_session(handler: Callable[[Any, list[int]], Any], argv: list[str]) -> None:
    """A session worker's entry point: join the namespace if asked, then answer each request
    with handler(request, fds) until the parent hangs up. The handler closes the fds; one that
    changes credentials (joins a namespace) calls die_with_parent(parent_pid(argv)) again."""
    from pod.util import libc

    flags = dict(zip(argv[::2], argv[1::2], strict=False))
    try:
        if SYNC_FLAG in flags:
            enter_userns(int(flags[SYNC_FLAG]))
    except errors.PodError as err:
        sys.exit(str(err))
    if not libc.die_with_parent(parent_pid(argv)):
        sys.exit(1)  # the command that asked is gone
    import socket

    sock = socket.socket(fileno=int(flags[SESSION_FLAG]))
    while True:
        data, fds, _, _ = socket.recv_fds(sock, _MAX_MESSAGE, _MAX_FDS)
        if not data:
            return
        try:
            reply: dict[str, Any] = {"result": handler(json.loads(data), fds)}
        except errors.PodError as err:
            reply = {"error": {"type": type(err).__name__, "message": str(err)}}
        except OSError as err:
            reply = {"error": {"type": "StoreError", "message": _describe(err)}}
        sock.sendall(json.dumps(reply).encode())


def enter_userns(sync_fd: int) -> None:
    """Child half of the handshake: unshare, wait for the maps, become root in the namespace."""
    from pod.util import libc

    try:
        libc.unshare(libc.CLONE_NEWUSER)
    except OSError as err:
        raise errors.StoreError(
            f"cannot create a user namespace ({err.strerror}): unprivileged user namespaces may "
            "be disabled (sysctl user.max_user_namespaces, kernel.unprivileged_userns_clone)"
        ) from None
    os.write(sync_fd, _READY)
    if os.read(sync_fd, 1) != _GO:
        raise errors.StoreError("user namespace set-up was abandoned by the parent")
    os.close(sync_fd)
    become_root()


def become_root() -> None:
    """uid and gid 0 of the user namespace just entered. The user's supplementary groups are
    kept (they grant nothing the user did not have): every container process sets its own
    (process.user.additionalGids), except with --group-add keep-groups, which asks for them."""
    os.setresgid(0, 0, 0)
    os.setresuid(0, 0, 0)


def _describe(err: OSError) -> str:
    where = f": {err.filename}" if err.filename else ""
    return f"{err.strerror or err}{where}"


def worker_main(handler: Callable[[Any], Any], argv: list[str]) -> None:
    """The worker's entry point: join the namespace if asked, answer one request, report errors."""
    from pod.util import libc

    flags = dict(zip(argv[::2], argv[1::2], strict=False))
    try:
        if SYNC_FLAG in flags:
            enter_userns(int(flags[SYNC_FLAG]))
        if PARENT_FLAG in flags and not libc.die_with_parent(int(flags[PARENT_FLAG])):
            sys.exit(1)  # the command that asked is gone: nobody wants the answer
        reply: dict[str, Any] = {"result": handler(json.load(sys.stdin))}
    except errors.PodError as err:
        reply = {"error": {"type": type(err).__name__, "message": str(err)}}
    except OSError as err:
        reply = {"error": {"type": "StoreError", "message": _describe(err)}}
    sys.stdout.write(json.dumps(reply))
    sys.stdout.flush()
