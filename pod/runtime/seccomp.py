"""linux.seccomp through libseccomp (the library runc and crun use), by a small ctypes binding.

`compile_filter` turns the OCI seccomp object into a libseccomp filter context as runc's
libcontainer/seccomp does: the default action (with defaultErrnoRet), every architecture listed,
each syscall rule with its action and errnoRet, argument comparisons with all seven operators
(several comparisons of one argument become one rule each, as libseccomp cannot AND them),
rules naming a syscall this libseccomp does not know skipped, and the flags (TSYNC, LOG,
SPEC_ALLOW) as filter attributes. libseccomp sets no_new_privs while loading unless told not to:
like runc the filter never does, so a container without noNewPrivileges keeps setuid binaries
working (loading then needs CAP_SYS_ADMIN, which the init still has before it drops its
capabilities). Compiling early lets `create` report a bad profile; `load` is the last step.

libseccomp's output for a given profile never changes, and compiling podman's default profile
and generating its BPF takes ~15 ms: as crun does, the program libseccomp generated is kept in a
cache (the runtime's state root, keyed by the profile and the library's version) and later
containers load it with seccomp(2) directly.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from pod.errors import OCIRuntimeError
from pod.util.records import dataclass

ACT_KILL_THREAD = 0x00000000
ACT_KILL_PROCESS = 0x80000000
ACT_TRAP = 0x00030000
ACT_ERRNO = 0x00050000
ACT_TRACE = 0x7FF00000
ACT_LOG = 0x7FFC0000
ACT_ALLOW = 0x7FFF0000
ACT_NOTIFY = 0x7FC00000
_EPERM = 1

# enum scmp_compare
OPERATORS = {
    "SCMP_CMP_NE": 1,
    "SCMP_CMP_LT": 2,
    "SCMP_CMP_LE": 3,
    "SCMP_CMP_EQ": 4,
    "SCMP_CMP_GE": 5,
    "SCMP_CMP_GT": 6,
    "SCMP_CMP_MASKED_EQ": 7,
}
# enum scmp_filter_attr
_ATTR_CTL_NNP = 3
_ATTR_CTL_TSYNC = 4
_ATTR_CTL_LOG = 6
_ATTR_CTL_SSB = 7
FLAGS = {
    "SECCOMP_FILTER_FLAG_TSYNC": _ATTR_CTL_TSYNC,
    "SECCOMP_FILTER_FLAG_LOG": _ATTR_CTL_LOG,
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW": _ATTR_CTL_SSB,
}
ACTIONS = (
    "SCMP_ACT_KILL",
    "SCMP_ACT_KILL_PROCESS",
    "SCMP_ACT_KILL_THREAD",
    "SCMP_ACT_TRAP",
    "SCMP_ACT_ERRNO",
    "SCMP_ACT_TRACE",
    "SCMP_ACT_ALLOW",
    "SCMP_ACT_LOG",
    "SCMP_ACT_NOTIFY",
)
_MAX_ARGS = 6


class _ArgCmp(ctypes.Structure):
    """struct scmp_arg_cmp."""

    _fields_ = [
        ("arg", ctypes.c_uint),
        ("op", ctypes.c_int),
        ("datum_a", ctypes.c_uint64),
        ("datum_b", ctypes.c_uint64),
    ]


_lib: ctypes.CDLL | None = None


def library() -> ctypes.CDLL:
    """libseccomp.so.2, loaded once (Debian's libseccomp2 is always installed). The runtime
    compiles its filters before pivot_root, while the host's library is still reachable."""
    global _lib
    if _lib is not None:
        return _lib
    try:
        lib = ctypes.CDLL("libseccomp.so.2", use_errno=True)
    except OSError:
        raise OCIRuntimeError(
            "linux.seccomp needs libseccomp (libseccomp.so.2): install the libseccomp2 package"
        ) from None
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_release.argtypes = [ctypes.c_void_p]
    lib.seccomp_arch_add.argtypes = [ctypes.c_void_p, ctypes.c_uint32]
    lib.seccomp_arch_resolve_name.restype = ctypes.c_uint32
    lib.seccomp_arch_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_attr_set.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_uint32]
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_rule_add_array.argtypes = [
        ctypes.c_void_p,
        ctypes.c_uint32,
        ctypes.c_int,
        ctypes.c_uint,
        ctypes.POINTER(_ArgCmp),
    ]
    lib.seccomp_load.argtypes = [ctypes.c_void_p]
    lib.seccomp_export_bpf.argtypes = [ctypes.c_void_p, ctypes.c_int]
    _lib = lib
    return lib


def kernel_filters() -> bool:
    """Whether this kernel has seccomp filters (CONFIG_SECCOMP_FILTER lists its actions)."""
    return os.path.exists("/proc/sys/kernel/seccomp/actions_avail")


def available() -> bool:
    try:
        library()
    except OCIRuntimeError:
        return False
    return True


def action_value(name: str, errno_ret: int | None) -> int:
    """The libseccomp action for an OCI action name (errnoRet for ERRNO and TRACE)."""
    if name in ("SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD"):
        return ACT_KILL_THREAD
    if name == "SCMP_ACT_KILL_PROCESS":
        return ACT_KILL_PROCESS
    if name == "SCMP_ACT_TRAP":
        return ACT_TRAP
    if name == "SCMP_ACT_ALLOW":
        return ACT_ALLOW
    if name == "SCMP_ACT_LOG":
        return ACT_LOG
    if name in ("SCMP_ACT_ERRNO", "SCMP_ACT_TRACE"):
        code = _EPERM if errno_ret is None else int(errno_ret)
        base = ACT_ERRNO if name == "SCMP_ACT_ERRNO" else ACT_TRACE
        return base | (code & 0xFFFF)
    if name == "SCMP_ACT_NOTIFY":
        raise OCIRuntimeError(
            "seccomp action SCMP_ACT_NOTIFY needs a listener (linux.seccomp.listenerPath), "
            "which pod's runtime does not support"
        )
    raise OCIRuntimeError(f"unknown seccomp action {name!r}")


def arch_token(name: str) -> int:
    """SCMP_ARCH_X86_64 → libseccomp's token for x86_64."""
    short = name.removeprefix("SCMP_ARCH_").lower()
    token = library().seccomp_arch_resolve_name(short.encode())
    if not token:
        raise OCIRuntimeError(f"unknown seccomp architecture {name!r}")
    return token


def syscall_number(name: str) -> int | None:
    """The number libseccomp uses for `name` (negative pseudo numbers for other arches);
    None when this libseccomp does not know the name (runc skips such rules too)."""
    number = library().seccomp_syscall_resolve_name(name.encode())
    return None if number == -1 else number


@dataclass(frozen=True)
class Comparison:
    index: int
    op: int
    value: int
    value_two: int


def comparisons(args: list[dict[str, Any]] | None) -> list[Comparison]:
    found = []
    for arg in args or []:
        index = int(arg.get("index", 0))
        if not 0 <= index < _MAX_ARGS:
            raise OCIRuntimeError(f"seccomp argument index {index} is out of range (0-5)")
        op = arg.get("op", "")
        if op not in OPERATORS:
            raise OCIRuntimeError(f"unknown seccomp comparison operator {op!r}")
        found.append(Comparison(index, OPERATORS[op], int(arg.get("value", 0)),
                                int(arg.get("valueTwo", 0))))  # fmt: skip
    return found


def rule_groups(compared: list[Comparison]) -> list[list[Comparison]]:
    """One rule with every comparison, or one rule per comparison when an argument is
    compared twice (libseccomp refuses that within one rule; runc splits them alike)."""
    indexes = [c.index for c in compared]
    if len(set(indexes)) == len(indexes):
        return [compared]
    return [[c] for c in compared]


class SeccompFilter:
    """A compiled filter context; `load()` installs it on the calling thread (or all, TSYNC)."""

    def __init__(self, config: dict[str, Any]) -> None:
        lib = library()
        self.default = action_value(config.get("defaultAction", ""), config.get("defaultErrnoRet"))
        self.ctx = lib.seccomp_init(self.default)
        if not self.ctx:
            raise OCIRuntimeError("seccomp_init failed (an action this kernel does not know?)")
        try:
            self._configure(lib, config)
        except BaseException:
            self.release()
            raise

    def _check(self, result: int, what: str) -> None:
        if result < 0:
            raise OCIRuntimeError(f"seccomp: {what}: {os.strerror(-result)}")

    def _configure(self, lib: ctypes.CDLL, config: dict[str, Any]) -> None:
        self._check(lib.seccomp_attr_set(self.ctx, _ATTR_CTL_NNP, 0), "clearing the NNP attribute")
        for arch in config.get("architectures") or []:
            result = lib.seccomp_arch_add(self.ctx, arch_token(arch))
            if result != -17:  # -EEXIST: the native architecture is always there
                self._check(result, f"adding architecture {arch}")
        for flag in config.get("flags") or []:
            if flag not in FLAGS:
                raise OCIRuntimeError(f"seccomp flag {flag!r} is not supported by pod's runtime")
            self._check(lib.seccomp_attr_set(self.ctx, FLAGS[flag], 1), f"setting {flag}")
        for rule in config.get("syscalls") or []:
            self._add_rule(lib, rule)

    def _add_rule(self, lib: ctypes.CDLL, rule: dict[str, Any]) -> None:
        action = action_value(rule.get("action", ""), rule.get("errnoRet"))
        groups = rule_groups(comparisons(rule.get("args")))
        if action == self.default:
            return  # libseccomp refuses a rule that repeats the default; runc skips it too
        for name in rule.get("names") or []:
            number = syscall_number(name)
            if number is None:
                continue
            for group in groups:
                array = (_ArgCmp * max(len(group), 1))(
                    *(_ArgCmp(c.index, c.op, c.value, c.value_two) for c in group)
                )
                result = lib.seccomp_rule_add_array(self.ctx, action, number, len(group), array)
                self._check(result, f"adding the rule for {name}")

    def export_bpf(self) -> bytes:
        """The BPF program libseccomp generated (for tests and debugging)."""
        fd = os.memfd_create("seccomp-bpf", os.MFD_CLOEXEC)
        try:
            self._check(library().seccomp_export_bpf(self.ctx, fd), "exporting BPF")
            os.lseek(fd, 0, os.SEEK_SET)
            chunks = []
            while chunk := os.read(fd, 65536):
                chunks.append(chunk)
            return b"".join(chunks)
        finally:
            os.close(fd)

    def load(self) -> None:
        result = library().seccomp_load(self.ctx)
        if result < 0:
            reason = os.strerror(-result)
            if -result == 13:  # EACCES: neither no_new_privs nor CAP_SYS_ADMIN
                reason += " (loading a filter needs noNewPrivileges or CAP_SYS_ADMIN)"
            raise OCIRuntimeError(f"loading the seccomp filter: {reason}")

    def release(self) -> None:
        if self.ctx:
            library().seccomp_release(self.ctx)
            self.ctx = None


class Program:
    """A BPF program libseccomp generated, loaded with seccomp(2) as libseccomp would (no
    no_new_privs of its own, the profile's flags)."""

    _SYS_SECCOMP = 317  # x86_64
    _SET_MODE_FILTER = 1
    _FLAG_BITS = {"SECCOMP_FILTER_FLAG_TSYNC": 1, "SECCOMP_FILTER_FLAG_LOG": 2,
                  "SECCOMP_FILTER_FLAG_SPEC_ALLOW": 4}  # fmt: skip

    def __init__(self, bpf: bytes, flags: list[str]) -> None:
        self.bpf = bpf
        self.flags = sum(self._FLAG_BITS[flag] for flag in flags)

    def load(self) -> None:
        buffer = ctypes.create_string_buffer(self.bpf, len(self.bpf))
        program = _SockFprog(len(self.bpf) // 8, ctypes.cast(buffer, ctypes.c_void_p))
        libc = ctypes.CDLL(None, use_errno=True)
        result = libc.syscall(self._SYS_SECCOMP, self._SET_MODE_FILTER, self.flags,
                              ctypes.byref(program))  # fmt: skip
        if result != 0:
            err = ctypes.get_errno()
            reason = os.strerror(err)
            if err == 13:
                reason += " (loading a filter needs noNewPrivileges or CAP_SYS_ADMIN)"
            raise OCIRuntimeError(f"loading the seccomp filter: {reason}")

    def release(self) -> None:
        """Nothing to free: the program is plain bytes."""


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


# A filter ready to load(): libseccomp's, or the BPF program it generated earlier (cached).
Compiled = SeccompFilter | Program


def compile_filter(config: dict[str, Any] | None, cache: Path | None = None) -> Compiled | None:
    """The filter for linux.seccomp, or None when the config has none. With a `cache` folder
    the program comes from there when libseccomp generated it before (and is put there when
    not); a bad profile is refused either way, as only a compiled one is ever cached."""
    if not config:
        return None
    if cache is None or os.uname().machine != "x86_64":
        return SeccompFilter(config)
    for flag in config.get("flags") or []:
        if flag not in FLAGS:
            raise OCIRuntimeError(f"seccomp flag {flag!r} is not supported by pod's runtime")
    path = cache / f"{_cache_key(config)}.bpf"
    try:
        return Program(path.read_bytes(), list(config.get("flags") or []))
    except (FileNotFoundError, PermissionError):  # none yet, or another id's (see below)
        pass
    compiled = SeccompFilter(config)
    try:
        bpf = compiled.export_bpf()
    finally:
        compiled.release()
    if _owns(cache.parent):
        with contextlib.suppress(OSError):  # a cache only: the filter is there either way
            _store(path, bpf)
    return Program(bpf, list(config.get("flags") or []))


def _owns(state_root: Path) -> bool:
    """Whether this process is the state root's owner, the one the cache is for: the root of a
    container's own user namespace (rootless --userns=keep-id) is another id, and what it
    wrote there nobody else could read."""
    try:
        return os.stat(state_root).st_uid == os.geteuid()
    except OSError:
        return False


def _cache_key(config: dict[str, Any]) -> str:
    version = _version()
    text = json.dumps(config, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"{version}\n{text}".encode()).hexdigest()


def _version() -> str:
    """libseccomp's version: its generated programs may differ between versions."""
    lib = library()
    lib.seccomp_version.restype = ctypes.POINTER(ctypes.c_uint * 3)
    numbers = lib.seccomp_version().contents
    return ".".join(str(n) for n in numbers)


def _store(path: Path, bpf: bytes) -> None:
    """Atomically: concurrent creates may race to write the same bytes."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # Not named by the pid: the writers are often pid 1, each in its container's pid namespace.
    temp = path.with_name(f".{path.name}.{os.urandom(8).hex()}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        os.write(fd, bpf)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temp, path)
