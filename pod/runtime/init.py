"""The last stage inside the container: limits, terminal, user, capabilities, cwd, exec.

Runs in the container's init process after pivot_root. Order matters and follows runc: the
bounding set is dropped while still root, PR_SET_KEEPCAPS carries the permitted set across
setuid, then the final capability sets are installed; the command is looked up as the final
user in the final cwd, so a lookup failure is reported before create returns. User and group
are numbers only: the engine resolves names, never this process (the host's pwd/grp databases
describe the host, not the image).
"""

from __future__ import annotations

import contextlib
import errno
import os
import resource
import stat
import struct
from typing import Any

from pod.errors import OCIRuntimeError, RuntimeExecError
from pod.runtime import hooks, seccomp
from pod.runtime import syscalls as sc
from pod.runtime.syscalls import Syscalls
from pod.util.records import dataclass

CAPABILITIES = [
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
]
CAP_NUMBERS = {f"CAP_{name}": number for number, name in enumerate(CAPABILITIES)}
RLIMITS = {
    name: getattr(resource, name)
    for name in dir(resource)
    if name.startswith("RLIMIT_") and isinstance(getattr(resource, name), int)
}
RLIMITS.setdefault("RLIMIT_LOCKS", 10)  # Linux's; Python's resource module lacks the name
KEEP_GROUPS_ANNOTATION = "run.oci.keep_original_groups"
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass(frozen=True)
class CapSets:
    """The five capability sets as 64-bit masks."""

    bounding: int
    effective: int
    permitted: int
    inheritable: int
    ambient: int


def cap_mask(names: list[str], last: int) -> int:
    """A mask for capability names; ones this kernel does not know are left out (as runc)."""
    mask = 0
    for name in names:
        key = name.upper() if name.upper().startswith("CAP_") else "CAP_" + name.upper()
        if key not in CAP_NUMBERS:
            raise OCIRuntimeError(f"unknown capability {name!r}")
        if CAP_NUMBERS[key] <= last:
            mask |= 1 << CAP_NUMBERS[key]
    return mask


def cap_sets(process: dict[str, Any], last: int) -> CapSets:
    caps = process.get("capabilities") or {}
    return CapSets(*(cap_mask(caps.get(kind) or [], last) for kind in
                     ("bounding", "effective", "permitted", "inheritable", "ambient")))  # fmt: skip


def _rlimit_value(value: Any) -> int:
    """The spec's uint64 (2**64-1 is unlimited) as Python's resource takes it (-1)."""
    number = int(value)
    return resource.RLIM_INFINITY if number < 0 or number >= 1 << 63 else number


def apply_rlimits(sys: Syscalls, rlimits: list[dict[str, Any]]) -> None:
    """setrlimit each; without CAP_SYS_RESOURCE a raise above the hard limit is clamped to it."""
    for limit in rlimits:
        kind = RLIMITS.get(limit.get("type", ""))
        if kind is None:
            raise OCIRuntimeError(f"unknown rlimit type {limit.get('type')!r}")
        soft, hard = (_rlimit_value(limit.get(key, 0)) for key in ("soft", "hard"))
        try:
            sys.setrlimit(kind, soft, hard)
        except (PermissionError, ValueError):
            current_hard = sys.getrlimit(kind)[1]
            if current_hard == resource.RLIM_INFINITY:
                raise OCIRuntimeError(f"setting {limit['type']}: permission denied") from None
            soft, hard = (
                current_hard if value == resource.RLIM_INFINITY else min(value, current_hard)
                for value in (soft, hard)
            )
            sys.setrlimit(kind, soft, hard)


def setup_terminal(sys: Syscalls, process: dict[str, Any], console_point: bool) -> int:
    """Create the container's pty; the slave becomes the controlling tty and stdio.

    Returns the master fd, which the caller hands on over the console socket.
    """
    master, slave, name = sys.open_pty()
    try:
        user = process.get("user") or {}
        os.fchown(slave, int(user.get("uid", 0)), -1)
        size = process.get("consoleSize")
        if size:
            winsize = struct.pack("HHHH", size.get("height", 0), size.get("width", 0), 0, 0)
            sys.ioctl(slave, sc.TIOCSWINSZ, winsize)
        if console_point:
            sys.mount(name, "/dev/console", None, sc.MS_BIND, None)
        sys.ioctl(slave, sc.TIOCSCTTY, 0)
        for target in (0, 1, 2):
            os.dup2(slave, target)
    except BaseException:
        os.close(master)
        raise
    finally:
        os.close(slave)
    return master


def keeps_groups(annotations: dict[str, str]) -> bool:
    """crun's run.oci.keep_original_groups annotation (podman's --group-add keep-groups): the
    process keeps the supplementary groups it was started with (a rootless user's own)."""
    return annotations.get(KEEP_GROUPS_ANNOTATION, "").lower() in ("1", "true")


def drop_privileges(sys: Syscalls, process: dict[str, Any], keep_groups: bool = False) -> None:
    """Bounding set, then user and groups (left alone with `keep_groups`), then the final
    capability sets."""
    last = sys.last_cap()
    caps = cap_sets(process, last)
    unraisable = caps.ambient & ~(caps.permitted & caps.inheritable)
    if unraisable:
        raise OCIRuntimeError(
            f"process.capabilities.ambient: {_cap_names(unraisable, last)} must also be "
            "permitted and inheritable (the kernel raises no other ambient capability)"
        )
    for number in range(last + 1):
        if not caps.bounding & (1 << number):
            sys.prctl(sc.PR_CAPBSET_DROP, number)
    user = process.get("user") or {}
    uid, gid = int(user.get("uid", 0)), int(user.get("gid", 0))
    groups = [int(g) for g in user.get("additionalGids") or []]
    sys.prctl(sc.PR_SET_KEEPCAPS, 1)
    try:
        if not keep_groups:
            sys.setgroups(groups)
    except PermissionError:
        if groups or _setgroups_allowed():
            raise
    sys.setresgid(gid)
    sys.setresuid(uid)
    sys.prctl(sc.PR_SET_KEEPCAPS, 0)
    try:
        sys.capset(caps.effective, caps.permitted, caps.inheritable)
    except PermissionError:
        missing = (caps.permitted | caps.effective) & ~sc.capget()[1]
        if not missing:
            raise
        raise OCIRuntimeError(
            f"process.capabilities asks for {_cap_names(missing, last)}, which the runtime's "
            "own process lacks (it cannot grant what it does not hold)"
        ) from None
    for number in range(last + 1):
        if caps.ambient & (1 << number):
            sys.prctl(sc.PR_CAP_AMBIENT, sc.PR_CAP_AMBIENT_RAISE, number)
    if process.get("noNewPrivileges"):
        sys.prctl(sc.PR_SET_NO_NEW_PRIVS, 1)


def _cap_names(mask: int, last: int) -> str:
    return ", ".join(f"CAP_{CAPABILITIES[n]}" for n in range(last + 1) if mask >> n & 1)


def _setgroups_allowed() -> bool:
    try:
        with open("/proc/self/setgroups") as handle:
            return handle.read().strip() != "deny"
    except OSError:
        return True


def enter_cwd(sys: Syscalls, cwd: str, *, retry_later: bool = False) -> bool:
    """chdir to process.cwd and check the result is inside the new root (CVE-2024-21626).

    As runc, the first attempt runs as root (a user may run in a 0700 WORKDIR such as /root);
    with `retry_later` a permission error returns False so the caller retries after setuid
    (a root-squashed mount is only enterable as the user).
    """
    if not cwd.startswith("/"):
        raise OCIRuntimeError(f"process.cwd {cwd!r} must be an absolute path")
    try:
        sys.chdir(cwd)
        here = os.getcwd()
    except PermissionError:
        if retry_later:
            return False
        raise OCIRuntimeError(
            f"changing to the working directory {cwd}: Permission denied"
        ) from None
    except OSError as err:  # podman reports a missing one as a command not found: 127
        raise RuntimeExecError(
            f"changing to the working directory {cwd}: {err.strerror}", err.errno or 0
        ) from None
    if not here.startswith("/"):
        raise OCIRuntimeError(f"working directory {cwd} is outside the container")
    return True


def environment(process: dict[str, Any]) -> dict[str, str]:
    env: dict[str, str] = {}
    for entry in process.get("env") or []:
        key, _, value = entry.partition("=")
        env[key] = value
    if "HOME" not in env:
        env["HOME"] = _home_of(int((process.get("user") or {}).get("uid", 0)))
    return env


def _home_of(uid: int) -> str:
    """HOME from the container's own /etc/passwd (read as a file: never the host's database)."""
    try:
        with open("/etc/passwd", "rb") as handle:
            for line in handle.read().decode(errors="replace").splitlines():
                fields = line.split(":")
                if len(fields) >= 6 and fields[2] == str(uid) and fields[5]:
                    return fields[5]
    except OSError:
        pass
    return "/"


def _executable(path: str) -> int:
    """0 when `path` can be executed, else the errno (Go's exec.LookPath rules, as runc)."""
    try:
        st = os.stat(path)
    except OSError as err:
        return err.errno or errno.ENOENT
    if stat.S_ISDIR(st.st_mode) or not st.st_mode & 0o111:
        return errno.EACCES
    return 0


def lookup(args: list[str], env: dict[str, str]) -> str:
    """The file to execve for args[0], searched in the container's PATH like runc."""
    if not args:
        raise OCIRuntimeError("process.args is empty: nothing to run")
    name = args[0]
    if "/" in name:
        failure = _executable(name)
        if failure:
            reason = "no such file or directory" if failure == errno.ENOENT else "permission denied"
            raise RuntimeExecError(f'exec: "{name}": {reason}', failure)
        return name
    for directory in env.get("PATH", DEFAULT_PATH).split(":"):
        candidate = os.path.join(directory or ".", name)
        if not _executable(candidate):
            return candidate
    raise RuntimeExecError(f'exec: "{name}": executable file not found in $PATH', errno.ENOENT)


def exec_command(path: str, args: list[str], env: dict[str, str]) -> None:
    """execve, never returning: a failure is written to stderr and becomes exit 127 or 126."""
    try:
        os.execve(path, args, env)
    except OSError as err:
        code = 127 if err.errno == errno.ENOENT else 126
        message = f"pod-runtime: exec {args[0]}: {err.strerror}\n"
        try:
            os.write(2, message.encode())
        finally:
            os._exit(code)


def seccomp_before_privileges(
    sys: Syscalls, process: dict[str, Any], compiled: seccomp.Compiled | None
) -> seccomp.Compiled | None:
    """Load the compiled linux.seccomp filter now, or keep it for last.

    runc's order: without no_new_privs loading a filter needs CAP_SYS_ADMIN, so it is loaded
    before the capabilities are dropped; with no_new_privs it is loaded as late as possible,
    right before execve, so that none of the runtime's own last steps is filtered. Returns the
    filter still to load."""
    if compiled is None or process.get("noNewPrivileges"):
        return compiled
    try:
        sys.load_seccomp(compiled)
    finally:
        compiled.release()
    return None


def finish_and_exec(sys: Syscalls, spec: dict[str, Any], plan: Any) -> None:
    """After `start`: the startContainer hooks, the late seccomp filter, execve. Nobody waits
    for a message any more: a failure goes to the container's stderr and ends it (exit 1)."""
    try:
        hooks.run_fatal(spec, plan.state, "created", "startContainer")
        if plan.seccomp is not None:
            sys.load_seccomp(plan.seccomp)
    except Exception as err:  # noqa: BLE001 - reported where the container's output goes
        with contextlib.suppress(OSError):
            os.write(2, f"pod-runtime: {err}\n".encode())
        os._exit(1)
    exec_command(plan.path, plan.args, plan.env)
