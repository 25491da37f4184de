"""The Linux system calls Python's os module lacks, through ctypes (os.unshare is 3.12+ only);
the namespace calls and flags come from pod.util.libc, which code outside the runtime uses too.

One small interface: each wrapper raises OSError with the errno, like the os module does, so
callers handle failures the same way whichever module made the call.

`Syscalls` bundles every call that changes namespaces, mounts, identity or capabilities behind one
object; the runtime's stages take it as a parameter, so a `Recorder` can stand in for it and the
exact set-up sequence for a config.json is unit-testable without root.
"""

from __future__ import annotations

import ctypes
import fcntl
import os
import resource
import stat
import struct
from collections.abc import Collection
from typing import Any

from pod.util.libc import (  # noqa: F401 - the CLONE_* flags are part of this module's interface
    CLONE_NEWCGROUP,
    CLONE_NEWIPC,
    CLONE_NEWNET,
    CLONE_NEWNS,
    CLONE_NEWPID,
    CLONE_NEWUSER,
    CLONE_NEWUTS,
    check,
    libc,
    setns,
    unshare,
)

MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_SYNCHRONOUS = 0x10
MS_REMOUNT = 0x20
MS_MANDLOCK = 0x40
MS_DIRSYNC = 0x80
MS_NOSYMFOLLOW = 0x100
MS_NOATIME = 0x400
MS_NODIRATIME = 0x800
MS_BIND = 0x1000
MS_MOVE = 0x2000
MS_REC = 0x4000
MS_SILENT = 0x8000
MS_UNBINDABLE = 0x20000
MS_PRIVATE = 0x40000
MS_SLAVE = 0x80000
MS_SHARED = 0x100000
MS_RELATIME = 0x200000
MS_STRICTATIME = 0x1000000
MS_LAZYTIME = 0x2000000
MNT_DETACH = 0x2

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_KEEPCAPS = 8
PR_CAPBSET_DROP = 24
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_RAISE = 2
PR_CAP_AMBIENT_CLEAR_ALL = 4

TIOCSCTTY = 0x540E
TIOCSWINSZ = 0x5414
TIOCGPTN = 0x80045430
TIOCSPTLCK = 0x40045431

_LINUX_CAPABILITY_VERSION_3 = 0x20080522

# statvfs f_flag bits -> the MS_* flag a bind remount must keep (they are locked in a userns).
_LOCKED_FLAGS = {
    os.ST_RDONLY: MS_RDONLY,
    os.ST_NOSUID: MS_NOSUID,
    os.ST_NODEV: MS_NODEV,
    os.ST_NOEXEC: MS_NOEXEC,
    os.ST_NOATIME: MS_NOATIME,
    os.ST_NODIRATIME: MS_NODIRATIME,
    os.ST_RELATIME: MS_RELATIME,
}

libc.mount.argtypes = [ctypes.c_char_p] * 3 + [ctypes.c_ulong, ctypes.c_char_p]
libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
libc.sethostname.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
libc.setdomainname.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
libc.prctl.argtypes = [ctypes.c_int] + [ctypes.c_ulong] * 4
libc.syscall.restype = ctypes.c_long
_SYS_PIVOT_ROOT = 155  # x86_64
_SYS_CAPSET = 126
_SYS_CAPGET = 125


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    ]


def _b(value: str | None) -> bytes | None:
    return None if value is None else os.fsencode(value)


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None):
    """mount(2); `data` is the filesystem-specific option string."""
    check(libc.mount(_b(source), _b(target), _b(fstype), flags, _b(data)), f"mount {target}")


def umount2(target: str, flags: int) -> None:
    check(libc.umount2(_b(target), flags), f"umount {target}")


_SYS_OPEN_TREE, _SYS_MOVE_MOUNT, _SYS_MOUNT_SETATTR = 428, 429, 442  # the same on every arch
_AT_FDCWD, _AT_EMPTY_PATH, _AT_RECURSIVE = -100, 0x1000, 0x8000
_OPEN_TREE_CLONE, _MOVE_MOUNT_F_EMPTY_PATH, _MOUNT_ATTR_IDMAP = 1, 0x4, 0x100000


class _MountAttr(ctypes.Structure):
    _fields_ = [
        ("attr_set", ctypes.c_uint64),
        ("attr_clr", ctypes.c_uint64),
        ("propagation", ctypes.c_uint64),
        ("userns_fd", ctypes.c_uint64),
    ]


def idmapped_mount(source: str, target: str, userns_fd: int) -> None:
    """Mount a copy of `source` (not recursive) at `target`, its files' owners seen through
    the user namespace `userns_fd`'s maps (on-disk id N shows as the id N maps to): open_tree,
    mount_setattr(MOUNT_ATTR_IDMAP), move_mount. Needs privilege over `source`'s filesystem."""
    fd = check(
        libc.syscall(_SYS_OPEN_TREE, _AT_FDCWD, _b(source), _OPEN_TREE_CLONE | os.O_CLOEXEC),
        f"open_tree {source}",
    )
    try:
        attr = _MountAttr(_MOUNT_ATTR_IDMAP, 0, 0, userns_fd)
        check(
            libc.syscall(_SYS_MOUNT_SETATTR, fd, b"", _AT_EMPTY_PATH, ctypes.byref(attr),
                         ctypes.c_size_t(ctypes.sizeof(attr))),
            f"mount_setattr {source}",
        )  # fmt: skip
        check(
            libc.syscall(_SYS_MOVE_MOUNT, fd, b"", _AT_FDCWD, _b(target), _MOVE_MOUNT_F_EMPTY_PATH),
            f"move_mount {target}",
        )
    finally:
        os.close(fd)


def pivot_root(new_root: str, put_old: str) -> None:
    check(libc.syscall(_SYS_PIVOT_ROOT, _b(new_root), _b(put_old)), "pivot_root")


def sethostname(name: str) -> None:
    raw = name.encode()
    check(libc.sethostname(raw, len(raw)), "sethostname")


def setdomainname(name: str) -> None:
    raw = name.encode()
    check(libc.setdomainname(raw, len(raw)), "setdomainname")


def prctl(option: int, arg2: int = 0, arg3: int = 0, arg4: int = 0, arg5: int = 0) -> int:
    return check(libc.prctl(option, arg2, arg3, arg4, arg5), f"prctl({option})")


def _mask_halves(mask: int) -> tuple[int, int]:
    return mask & 0xFFFFFFFF, (mask >> 32) & 0xFFFFFFFF


def capset(effective: int, permitted: int, inheritable: int) -> None:
    """Set the calling thread's capability sets (64-bit masks, bit n = capability n)."""
    header = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    for index, (eff, prm, inh) in enumerate(
        zip(
            _mask_halves(effective),
            _mask_halves(permitted),
            _mask_halves(inheritable),
            strict=True,
        )
    ):
        data[index].effective, data[index].permitted, data[index].inheritable = eff, prm, inh
    check(libc.syscall(_SYS_CAPSET, ctypes.byref(header), data), "capset")


def capget() -> tuple[int, int, int]:
    """(effective, permitted, inheritable) of the calling thread."""
    header = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    check(libc.syscall(_SYS_CAPGET, ctypes.byref(header), data), "capget")
    return tuple(
        getattr(data[0], field) | (getattr(data[1], field) << 32)
        for field in ("effective", "permitted", "inheritable")
    )


def last_cap() -> int:
    try:
        with open("/proc/sys/kernel/cap_last_cap", "rb") as handle:
            return int(handle.read())
    except OSError:
        return 40


def locked_mount_flags(path: str) -> int:
    """The MS_* flags of the mount holding `path` that a bind remount must repeat."""
    flags = os.statvfs(path).f_flag
    return sum(ms for st, ms in _LOCKED_FLAGS.items() if flags & st)


_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def copy_tree(source_fd: int, target_fd: int) -> None:
    """Copy the entries of the directory `source_fd` into `target_fd`, recursively, with their
    owners, modes and times; device nodes and sockets are left out (runc's tmpcopyup copies
    what a tmpfs can hold). Every name is opened relative to its directory's fd, no link
    followed, so nothing outside the two trees is read or written."""
    for entry in os.scandir(source_fd):
        st = entry.stat(follow_symlinks=False)
        name = entry.name
        mode = stat.S_IMODE(st.st_mode)
        if stat.S_ISDIR(st.st_mode):
            os.mkdir(name, 0o700, dir_fd=target_fd)
            child_source = os.open(name, _DIR, dir_fd=source_fd)
            child_target = os.open(name, _DIR, dir_fd=target_fd)
            try:
                copy_tree(child_source, child_target)
                os.fchown(child_target, st.st_uid, st.st_gid)
                os.fchmod(child_target, mode)
                os.utime(child_target, ns=(st.st_atime_ns, st.st_mtime_ns))
            finally:
                os.close(child_source)
                os.close(child_target)
        elif stat.S_ISREG(st.st_mode):
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
            source = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=source_fd)
            try:
                target = os.open(name, flags, 0o600, dir_fd=target_fd)
                try:
                    while os.sendfile(target, source, None, 1 << 20):
                        pass
                    os.fchown(target, st.st_uid, st.st_gid)
                    os.fchmod(target, mode)
                    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
                finally:
                    os.close(target)
            finally:
                os.close(source)
        elif stat.S_ISLNK(st.st_mode) or stat.S_ISFIFO(st.st_mode):
            if stat.S_ISLNK(st.st_mode):
                os.symlink(os.readlink(name, dir_fd=source_fd), name, dir_fd=target_fd)
            else:
                os.mkfifo(name, mode, dir_fd=target_fd)
            os.chown(name, st.st_uid, st.st_gid, dir_fd=target_fd, follow_symlinks=False)
            os.utime(name, ns=(st.st_atime_ns, st.st_mtime_ns), dir_fd=target_fd,
                     follow_symlinks=False)  # fmt: skip


class Syscalls:
    """The real system calls, as one object the runtime stages are given."""

    def unshare(self, flags: int) -> None:
        unshare(flags)

    def setns(self, path: str, nstype: int) -> None:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            setns(fd, nstype)
        finally:
            os.close(fd)

    def mount(
        self,
        source: str | None,
        target: str,
        fstype: str | None = None,
        flags: int = 0,
        data: str | None = None,
    ) -> None:
        mount(source, target, fstype, flags, data)

    def umount2(self, target: str, flags: int) -> None:
        umount2(target, flags)

    def pivot_root(self, new_root: str, put_old: str) -> None:
        pivot_root(new_root, put_old)

    def chdir(self, path: str) -> None:
        os.chdir(path)

    def fchdir(self, fd: int) -> None:
        os.fchdir(fd)

    def chroot(self, path: str) -> None:
        os.chroot(path)

    def sethostname(self, name: str) -> None:
        sethostname(name)

    def setdomainname(self, name: str) -> None:
        setdomainname(name)

    def mknod(self, path: str, mode: int, device: int, dir_fd: int | None = None) -> None:
        os.mknod(path, mode, device, dir_fd=dir_fd)

    def loopback_up(self) -> None:
        from pod.runtime.netif import set_lo_up

        set_lo_up()

    def fchmod(self, fd: int, mode: int) -> None:
        os.fchmod(fd, mode)

    def copy_tree(self, source_fd: int, target_fd: int) -> None:
        """Copy a directory's contents (files, dirs, symlinks, fifos; owners, modes, times)
        between two directory fds, never following a link: a tmpfs's `tmpcopyup`."""
        copy_tree(source_fd, target_fd)

    def write_file(self, path: str, data: str) -> None:
        """Write to a kernel-provided path: /proc/self/... or /proc/self/fd/N of an fd the
        caller resolved safely inside the rootfs (that magic link must be followed)."""
        fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
        try:
            os.write(fd, data.encode())
        finally:
            os.close(fd)

    def setrlimit(self, kind: int, soft: int, hard: int) -> None:
        resource.setrlimit(kind, (soft, hard))

    def getrlimit(self, kind: int) -> tuple[int, int]:
        return resource.getrlimit(kind)

    def locked_mount_flags(self, path: str) -> int:
        return locked_mount_flags(path)

    def setsid(self) -> None:
        os.setsid()

    def setgroups(self, gids: list[int]) -> None:
        os.setgroups(gids)

    def setresgid(self, gid: int) -> None:
        os.setresgid(gid, gid, gid)

    def setresuid(self, uid: int) -> None:
        os.setresuid(uid, uid, uid)

    def prctl(self, option: int, arg2: int = 0, arg3: int = 0) -> None:
        prctl(option, arg2, arg3)

    def capset(self, effective: int, permitted: int, inheritable: int) -> None:
        capset(effective, permitted, inheritable)

    def last_cap(self) -> int:
        return last_cap()

    def umask(self, mask: int) -> None:
        os.umask(mask)

    def ioctl(self, fd: int, request: int, arg: int | bytes = 0) -> Any:
        return fcntl.ioctl(fd, request, arg)

    def load_seccomp(self, compiled: Any) -> None:
        """Install a compiled seccomp filter (pod.runtime.seccomp.Compiled)."""
        compiled.load()

    def open_pty(self) -> tuple[int, int, str]:
        """Open /dev/ptmx (the container's, after pivot_root): (master, slave, slave path)."""
        master = os.open("/dev/ptmx", os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
        try:
            fcntl.ioctl(master, TIOCSPTLCK, struct.pack("i", 0))
            number = struct.unpack("I", fcntl.ioctl(master, TIOCGPTN, b"\0\0\0\0"))[0]
            name = f"/dev/pts/{number}"
            slave = os.open(name, os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
        except BaseException:
            os.close(master)
            raise
        return master, slave, name


class Recorder(Syscalls):
    """A stand-in for `Syscalls` that records what would be done and does nothing.

    Targets given as /proc/self/fd/N are recorded as the path the fd names, relative to
    `root` when one is set (the rootfs under test), so sequences compare as plain strings.
    """

    def __init__(
        self, root: str | None = None, last: int = 40, deny: Collection[str] = frozenset()
    ):
        """`deny` names calls to fail with EPERM, as a user namespace would ("mknod",
        "mount:sysfs": a mount of that filesystem type)."""
        self.calls: list[tuple[Any, ...]] = []
        self.root = root
        self.deny = set(deny)
        self._last = last

    def _name(self, path: str) -> str:
        if path.startswith("/proc/self/fd/"):
            path = os.readlink(path)
        if self.root and (path == self.root or path.startswith(self.root + "/")):
            return "<rootfs>" + path[len(self.root) :]
        return path

    def _record(self, *call: Any) -> None:
        self.calls.append(call)

    def unshare(self, flags: int) -> None:
        self._record("unshare", flags)

    def setns(self, path: str, nstype: int) -> None:
        self._record("setns", path, nstype)

    def mount(self, source, target, fstype=None, flags=0, data=None) -> None:
        source = self._name(source) if source and source.startswith("/") else source
        if f"mount:{fstype}" in self.deny:
            raise PermissionError(1, "Operation not permitted")
        self._record("mount", source, self._name(target), fstype, flags, data)

    def umount2(self, target: str, flags: int) -> None:
        self._record("umount2", target, flags)

    def pivot_root(self, new_root: str, put_old: str) -> None:
        self._record("pivot_root", new_root, put_old)

    def chdir(self, path: str) -> None:
        self._record("chdir", self._name(path))

    def fchdir(self, fd: int) -> None:
        self._record("fchdir", self._name(f"/proc/self/fd/{fd}"))

    def chroot(self, path: str) -> None:
        self._record("chroot", self._name(path))

    def sethostname(self, name: str) -> None:
        self._record("sethostname", name)

    def setdomainname(self, name: str) -> None:
        self._record("setdomainname", name)

    def mknod(self, path: str, mode: int, device: int, dir_fd: int | None = None) -> None:
        if "mknod" in self.deny:
            raise PermissionError(1, "Operation not permitted")
        where = self._name(f"/proc/self/fd/{dir_fd}") + "/" if dir_fd is not None else ""
        self._record("mknod", where + path, mode, device)

    def loopback_up(self) -> None:
        self._record("loopback_up")

    def write_file(self, path: str, data: str) -> None:
        self._record("write_file", self._name(path), data)

    def fchmod(self, fd: int, mode: int) -> None:
        self._record("fchmod", self._name(f"/proc/self/fd/{fd}"), mode)

    def copy_tree(self, source_fd: int, target_fd: int) -> None:
        self._record("copy_tree", self._name(f"/proc/self/fd/{source_fd}"),
                     self._name(f"/proc/self/fd/{target_fd}"))  # fmt: skip

    def setrlimit(self, kind: int, soft: int, hard: int) -> None:
        self._record("setrlimit", kind, soft, hard)

    def getrlimit(self, kind: int) -> tuple[int, int]:
        return resource.getrlimit(kind)

    def locked_mount_flags(self, path: str) -> int:
        return 0

    def setsid(self) -> None:
        self._record("setsid")

    def setgroups(self, gids: list[int]) -> None:
        self._record("setgroups", list(gids))

    def setresgid(self, gid: int) -> None:
        self._record("setresgid", gid)

    def setresuid(self, uid: int) -> None:
        self._record("setresuid", uid)

    def prctl(self, option: int, arg2: int = 0, arg3: int = 0) -> None:
        self._record("prctl", option, arg2, arg3)

    def capset(self, effective: int, permitted: int, inheritable: int) -> None:
        self._record("capset", effective, permitted, inheritable)

    def last_cap(self) -> int:
        return self._last

    def umask(self, mask: int) -> None:
        self._record("umask", mask)

    def ioctl(self, fd: int, request: int, arg: int | bytes = 0) -> Any:
        self._record("ioctl", request)
        return arg

    def load_seccomp(self, compiled: Any) -> None:
        self._record("load_seccomp")

    def open_pty(self) -> tuple[int, int, str]:
        self._record("open_pty")
        master, slave = os.openpty()
        return master, slave, "/dev/pts/0"
