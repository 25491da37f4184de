"""The container's filesystem view: config mounts, /dev, masked and read-only paths, pivot_root.

Runs in the init process, inside its new mount namespace, before pivot_root. A config without a
mount namespace shares the runtime's (the spec's "inherit"): then nothing is made private, the
rootfs bind and every mount below it appear in that namespace, the container enters its root by
chroot rather than pivot_root, and `delete` detaches the bind (`release`). The rootfs itself
(the image's overlay at root.path) is prepared by the caller. Every destination is resolved INSIDE
the rootfs with store/safepath, one component at a time, and mounted through /proc/self/fd/<fd>
of the resolved directory or file, so a symlink in the image (even one swapped in meanwhile)
cannot point a mount at the host. Where a user namespace forbids an operation (mknod, sysfs
without a private network namespace, mqueue without a private IPC namespace), the fallback is a
bind of the host's object, as runc and crun do.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pod.errors import OCIRuntimeError
from pod.runtime import cgroups
from pod.runtime import syscalls as sc
from pod.runtime.syscalls import Syscalls
from pod.store import safepath
from pod.util.records import dataclass, field

FLAGS: dict[str, tuple[bool, int]] = {
    "ro": (False, sc.MS_RDONLY),
    "rw": (True, sc.MS_RDONLY),
    "suid": (True, sc.MS_NOSUID),
    "nosuid": (False, sc.MS_NOSUID),
    "dev": (True, sc.MS_NODEV),
    "nodev": (False, sc.MS_NODEV),
    "exec": (True, sc.MS_NOEXEC),
    "noexec": (False, sc.MS_NOEXEC),
    "sync": (False, sc.MS_SYNCHRONOUS),
    "async": (True, sc.MS_SYNCHRONOUS),
    "dirsync": (False, sc.MS_DIRSYNC),
    "remount": (False, sc.MS_REMOUNT),
    "mand": (False, sc.MS_MANDLOCK),
    "nomand": (True, sc.MS_MANDLOCK),
    "atime": (True, sc.MS_NOATIME),
    "noatime": (False, sc.MS_NOATIME),
    "diratime": (True, sc.MS_NODIRATIME),
    "nodiratime": (False, sc.MS_NODIRATIME),
    "bind": (False, sc.MS_BIND),
    "rbind": (False, sc.MS_BIND | sc.MS_REC),
    "relatime": (False, sc.MS_RELATIME),
    "norelatime": (True, sc.MS_RELATIME),
    "strictatime": (False, sc.MS_STRICTATIME),
    "nostrictatime": (True, sc.MS_STRICTATIME),
    "lazytime": (False, sc.MS_LAZYTIME),
    "nolazytime": (True, sc.MS_LAZYTIME),
    "nosymfollow": (False, sc.MS_NOSYMFOLLOW),
    "symfollow": (True, sc.MS_NOSYMFOLLOW),
}
PROPAGATION = {
    "private": sc.MS_PRIVATE,
    "rprivate": sc.MS_PRIVATE | sc.MS_REC,
    "shared": sc.MS_SHARED,
    "rshared": sc.MS_SHARED | sc.MS_REC,
    "slave": sc.MS_SLAVE,
    "rslave": sc.MS_SLAVE | sc.MS_REC,
    "unbindable": sc.MS_UNBINDABLE,
    "runbindable": sc.MS_UNBINDABLE | sc.MS_REC,
}
# Options other runtimes define that change nothing pod's runtime does (podman adds some).
_IGNORED = {"tmpcopyup", "notmpcopyup", "copy-symlink", "z", "Z"}
_ATTR_FLAGS = ~(sc.MS_BIND | sc.MS_REC | sc.MS_REMOUNT)
DEFAULT_DEVICES = (
    ("/dev/null", 1, 3),
    ("/dev/zero", 1, 5),
    ("/dev/full", 1, 7),
    ("/dev/random", 1, 8),
    ("/dev/urandom", 1, 9),
    ("/dev/tty", 5, 0),
)
DEV_SYMLINKS = (
    ("/dev/fd", "/proc/self/fd"),
    ("/dev/stdin", "/proc/self/fd/0"),
    ("/dev/stdout", "/proc/self/fd/1"),
    ("/dev/stderr", "/proc/self/fd/2"),
    ("/dev/ptmx", "pts/ptmx"),
)
_OPATH = os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC


@dataclass
class MountOptions:
    """A mount's options split into mount(2) flags, propagation changes and the data string."""

    flags: int = 0
    propagation: list[int] = field(default_factory=list)
    data: list[str] = field(default_factory=list)

    @property
    def data_text(self) -> str | None:
        return ",".join(self.data) or None


def parse_options(options: list[str]) -> MountOptions:
    parsed = MountOptions()
    for option in options:
        if option in FLAGS:
            clear, flag = FLAGS[option]
            parsed.flags = parsed.flags & ~flag if clear else parsed.flags | flag
        elif option in PROPAGATION:
            parsed.propagation.append(PROPAGATION[option])
        elif option in ("idmap", "ridmap"):
            raise OCIRuntimeError(f"mount option {option!r} is not supported by pod's runtime")
        elif option not in _IGNORED:
            parsed.data.append(option)
    return parsed


def _fd_path(fd: int) -> str:
    return f"/proc/self/fd/{fd}"


class RootfsBuilder:
    """Sets up one container's mounts below `rootfs` (an absolute host path)."""

    def __init__(
        self,
        sys: Syscalls,
        rootfs: str,
        spec: dict[str, Any],
        in_userns: bool,
        own_mount_ns: bool = True,
        cgroup_views: list[tuple[str, str]] | None = None,
    ) -> None:
        self.sys = sys
        self.cgroup_views = cgroup_views  # None: this process's own (it has joined them)
        self.rootfs = rootfs
        self.spec = spec
        self.linux = spec.get("linux") or {}
        self.in_userns = in_userns
        self.own_mount_ns = own_mount_ns
        self.root_fd = -1
        name = self.linux.get("rootfsPropagation") or ""
        if name and name not in PROPAGATION:
            raise OCIRuntimeError(f"linux.rootfsPropagation {name!r} is not a propagation type")
        self.root_propagation = PROPAGATION.get(name, 0)

    # -- resolving destinations inside the rootfs -----------------------------------------

    def _resolved(self, dest: str) -> str:
        """`dest` with every symlink resolved inside the rootfs (relative, "" = the root)."""
        real = safepath.resolve_inside(Path(self.rootfs), dest)
        rel = os.path.relpath(real, self.rootfs)
        return "" if rel == "." else rel

    def open_target(self, dest: str, *, directory: bool, create: bool = True) -> int:
        """An fd for the mount point `dest` inside the rootfs, created if missing."""
        mode = 0o755 if create else None
        if directory:
            return safepath.open_dir(self.root_fd, dest, create=mode)
        fd = safepath.open_in_root(self.root_fd, dest, os.O_PATH)  # there already
        if fd is None and create:
            fd = self._new_file(dest)
        if fd is not None:
            return fd
        rel = self._resolved(dest)
        parent, name = safepath.open_parent(self.root_fd, rel, create=mode, symlinks=False)
        try:
            if create:
                with contextlib.suppress(FileExistsError):
                    made = os.open(
                        name,
                        os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC,
                        0o644,
                        dir_fd=parent,
                    )
                    os.close(made)
            return os.open(name, _OPATH, dir_fd=parent)
        finally:
            os.close(parent)

    def _new_file(self, dest: str) -> int | None:
        """An empty file made as the mount point `dest`, in a parent directory the kernel
        resolves (made if it alone is missing); None: the full walk decides (a dangling
        symlink is resolved there, for one)."""
        parent_path, _, name = dest.rstrip("/").rpartition("/")
        if name in ("", ".", ".."):
            return None
        try:
            parent = safepath.open_dir(self.root_fd, parent_path, create=0o755)
        except (OSError, safepath.UnsafeContentError):
            return None
        try:
            flags = os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC
            os.close(os.open(name, flags, 0o644, dir_fd=parent))
            return os.open(name, _OPATH, dir_fd=parent)
        except OSError:
            return None
        finally:
            os.close(parent)

    def _existing(self, dest: str) -> int | None:
        """An O_PATH fd for `dest` if it exists inside the rootfs (for masks), else None."""
        try:
            fd = safepath.open_in_root(self.root_fd, dest, os.O_PATH, final_enoent=True)
        except FileNotFoundError:
            return None
        if fd is not None:
            return fd
        try:
            rel = self._resolved(dest)
            if not rel:
                return os.dup(self.root_fd)
            parent, name = safepath.open_parent(self.root_fd, rel, symlinks=False)
        except (FileNotFoundError, NotADirectoryError):
            return None
        try:
            return os.open(name, _OPATH, dir_fd=parent)
        except FileNotFoundError:
            return None
        finally:
            os.close(parent)

    def _mount_at(self, dest: str, directory: bool, *args: Any, create: bool = True) -> None:
        fd = self.open_target(dest, directory=directory, create=create)
        try:
            self.sys.mount(args[0], _fd_path(fd), *args[1:])
        finally:
            os.close(fd)

    def _remount_bind(self, dest: str, directory: bool, flags: int) -> None:
        """Change a bind mount's flags, keeping the ones a user namespace locks."""
        fd = self.open_target(dest, directory=directory, create=False)
        try:
            locked = self.sys.locked_mount_flags(_fd_path(fd))
            if not flags & sc.MS_RDONLY and not self.in_userns:
                locked &= ~sc.MS_RDONLY  # only a user namespace locks read-only
            self.sys.mount(
                None, _fd_path(fd), None, sc.MS_BIND | sc.MS_REMOUNT | flags | locked, None
            )
        finally:
            os.close(fd)

    def _propagate(self, dest: str, directory: bool, changes: list[int]) -> None:
        for change in changes:
            self._mount_at(dest, directory, None, None, change, None, create=False)

    # -- the steps ----------------------------------------------------------------------

    def prepare_root(self) -> None:
        """Cut the container's mounts off from the host, then bind the rootfs onto itself.

        In a mount namespace of its own every mount becomes private (slave when the config asks
        for a slave root, so the host's mount events still arrive), so nothing done here reaches
        the host; the root's own propagation is set after pivot_root (`finish_root`), which
        needs the rootfs to be a mount. Without one the host's mounts are left alone and only
        the new bind is made private: the container's mounts stay below it."""
        if self.own_mount_ns:
            base = sc.MS_SLAVE if self.root_propagation & sc.MS_SLAVE else sc.MS_PRIVATE
            self._step("making mounts private", "/", self.sys.mount, None, "/", None,
                       sc.MS_REC | base, None)  # fmt: skip
        elif os.path.realpath(self.rootfs) == "/":
            raise OCIRuntimeError(
                "root.path is the host's root and the config has no mount namespace: "
                "pod's runtime will not mount over the host"
            )
        self._step("binding the rootfs", self.rootfs, self.sys.mount, self.rootfs, self.rootfs,
                   None, sc.MS_BIND | sc.MS_REC, None)  # fmt: skip
        if not self.own_mount_ns:
            self._step("making the rootfs private", self.rootfs, self.sys.mount, None,
                       self.rootfs, None, sc.MS_PRIVATE, None)  # fmt: skip
        self.root_fd = os.open(self.rootfs, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)

    def _step(self, what: str, path: str, call: Any, *args: Any) -> Any:
        try:
            return call(*args)
        except OSError as err:
            raise OCIRuntimeError(f"{what} ({path}): {err.strerror or err}") from None
        except safepath.UnsafeContentError as err:
            raise OCIRuntimeError(f"{what} ({path}): {err}") from None

    def mount_all(self) -> None:
        for mount in self.spec.get("mounts") or []:
            dest = mount.get("destination", "")
            if not dest.startswith("/"):
                dest = "/" + dest
            kind = mount.get("type") or ""
            self._step(f"mounting {kind or 'bind'} on {dest}", dest, self.mount_one, mount, dest)

    def mount_one(self, mount: dict[str, Any], dest: str) -> None:
        kind = mount.get("type") or ""
        opts = parse_options(mount.get("options") or [])
        source = mount.get("source") or kind or "none"
        if kind == "bind" or opts.flags & sc.MS_BIND:
            self.bind(source, dest, opts)
        elif kind == "cgroup":
            self.cgroup_view(dest, opts)
        elif kind == "tmpfs":
            self.tmpfs_mount(source, dest, opts, "tmpcopyup" in (mount.get("options") or []))
        else:
            self.fs_mount(source, dest, kind, opts)

    def bind(self, source: str, dest: str, opts: MountOptions) -> None:
        directory = os.path.isdir(source)
        if not os.path.exists(source):
            raise FileNotFoundError(errno.ENOENT, "bind source missing", source)
        flags = sc.MS_BIND | (opts.flags & sc.MS_REC)
        self._mount_at(dest, directory, source, None, flags, None)
        if opts.flags & _ATTR_FLAGS:
            self._remount_bind(dest, directory, opts.flags & _ATTR_FLAGS)
        self._propagate(dest, directory, opts.propagation)

    def fs_mount(self, source: str, dest: str, kind: str, opts: MountOptions) -> None:
        try:
            self._mount_at(dest, True, source, kind, opts.flags, opts.data_text)
        except PermissionError:
            host = {"sysfs": "/sys", "mqueue": "/dev/mqueue", "proc": "/proc"}.get(kind)
            if not self.in_userns or host is None:
                raise
            # A user namespace may not mount these without its own net/ipc/pid namespace.
            self._mount_at(dest, True, host, None, sc.MS_BIND | sc.MS_REC, None)
            if opts.flags & _ATTR_FLAGS:
                self._remount_bind(dest, True, opts.flags & _ATTR_FLAGS)
        self._propagate(dest, True, opts.propagation)

    def tmpfs_mount(self, source: str, dest: str, opts: MountOptions, copy_up: bool) -> None:
        """A tmpfs over a directory the image has keeps that directory's mode and, with
        `tmpcopyup` (podman's default), its contents, as runc does."""
        try:
            under = safepath.open_dir(self.root_fd, dest)
        except (FileNotFoundError, NotADirectoryError):
            under = -1
        try:
            self.fs_mount(source, dest, "tmpfs", opts)
            if under < 0:
                return
            top = safepath.open_dir(self.root_fd, dest)
            try:
                if copy_up:
                    self.sys.copy_tree(under, top)
                self.sys.fchmod(top, stat.S_IMODE(os.fstat(under).st_mode))
            finally:
                os.close(top)
        finally:
            if under >= 0:
                os.close(under)

    def cgroup_view(self, dest: str, opts: MountOptions) -> None:
        """/sys/fs/cgroup: the container's own cgroups (v1: a tmpfs with one bind each)."""
        flags = opts.flags & _ATTR_FLAGS
        views = self.cgroup_views
        if views is None:
            views = cgroups.container_views()
        if cgroups.is_pure_v2():
            try:
                self._mount_at(dest, True, "cgroup2", "cgroup2", flags, None)
            except PermissionError:
                self._mount_at(dest, True, views[0][1], None, sc.MS_BIND | sc.MS_REC, None)
                self._remount_bind(dest, True, flags)
            return
        self._mount_at(dest, True, "tmpfs", "tmpfs", flags & ~sc.MS_RDONLY, "mode=755")
        for name, host_dir in views:
            sub = f"{dest}/{name}"
            self._mount_at(sub, True, host_dir, None, sc.MS_BIND | sc.MS_REC, None)
            self._remount_bind(sub, True, flags)
        if flags & sc.MS_RDONLY:
            self._mount_at(dest, True, None, None, sc.MS_REMOUNT | flags, "mode=755",
                           create=False)  # fmt: skip

    def needs_dev(self) -> bool:
        for mount in self.spec.get("mounts") or []:
            if os.path.normpath(mount.get("destination", "")) == "/dev":
                opts = mount.get("options") or []
                return not (mount.get("type") == "bind" or "bind" in opts or "rbind" in opts)
        return True

    def create_devices(self, terminal: bool) -> None:
        """Device nodes, /dev symlinks and the /dev/console mount point, like runc's default."""
        devices = [(path, "c", major, minor, 0o666, None, None)
                   for path, major, minor in DEFAULT_DEVICES]  # fmt: skip
        for dev in self.linux.get("devices") or []:
            devices.append((dev["path"], dev.get("type", "c"), dev.get("major", 0),
                            dev.get("minor", 0), dev.get("fileMode", 0o666), dev.get("uid"),
                            dev.get("gid")))  # fmt: skip
        for device in devices:
            self._step("creating device", device[0], self.make_device, *device)
        for path, target in DEV_SYMLINKS:
            self._step("creating symlink", path, self._symlink, path, target)
        if os.path.exists("/proc/kcore"):
            self._step("creating symlink", "/dev/core", self._symlink, "/dev/core", "/proc/kcore")
        if terminal:
            self._step("creating /dev/console", "/dev/console", self._console_point)

    def make_device(self, path: str, kind: str, major: int, minor: int, mode: int,
                    uid: int | None, gid: int | None) -> None:  # fmt: skip
        kinds = {"c": stat.S_IFCHR, "u": stat.S_IFCHR, "b": stat.S_IFBLK, "p": stat.S_IFIFO}
        parent, name = safepath.open_parent(self.root_fd, path, create=0o755, symlinks=False)
        try:
            with contextlib.suppress(FileNotFoundError):
                st = os.stat(name, dir_fd=parent, follow_symlinks=False)
                if stat.S_ISDIR(st.st_mode):
                    raise IsADirectoryError(errno.EISDIR, "is a directory", path)
                os.unlink(name, dir_fd=parent)
            try:
                self.sys.mknod(name, kinds[kind] | (mode & 0o7777), os.makedev(major, minor),
                               dir_fd=parent)  # fmt: skip
            except PermissionError:
                if not os.path.exists(path):
                    raise
                made = os.open(name, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_CLOEXEC, 0o644,
                               dir_fd=parent)  # fmt: skip
                os.close(made)
                self._mount_at(path, False, path, None, sc.MS_BIND, None, create=False)
                return
            if uid is not None or gid is not None:
                os.chown(name, uid if uid is not None else -1, gid if gid is not None else -1,
                         dir_fd=parent, follow_symlinks=False)  # fmt: skip
        finally:
            os.close(parent)

    def _symlink(self, path: str, target: str) -> None:
        parent, name = safepath.open_parent(self.root_fd, path, create=0o755, symlinks=False)
        try:
            with contextlib.suppress(FileExistsError):
                os.symlink(target, name, dir_fd=parent)
        finally:
            os.close(parent)

    def _console_point(self) -> None:
        os.close(self.open_target("/dev/console", directory=False))

    def write_sysctls(self) -> None:
        for key, value in (self.linux.get("sysctl") or {}).items():
            path = "/proc/sys/" + key.replace(".", "/")
            fd = self._existing(path)
            if fd is None:
                raise OCIRuntimeError(f"sysctl {key}: {path} does not exist in the container")
            try:
                self._step(f"sysctl {key}", path, self.sys.write_file, _fd_path(fd), str(value))
            finally:
                os.close(fd)

    def mask_paths(self) -> None:
        for path in self.linux.get("maskedPaths") or []:
            self._step("masking", path, self._mask, path)
        for path in self.linux.get("readonlyPaths") or []:
            self._step("making read-only", path, self._readonly, path)

    def _mask(self, path: str) -> None:
        fd = self._existing(path)
        if fd is None:
            return
        try:
            if stat.S_ISDIR(os.fstat(fd).st_mode):
                self.sys.mount("tmpfs", _fd_path(fd), "tmpfs", sc.MS_RDONLY, None)
            else:
                self.sys.mount("/dev/null", _fd_path(fd), None, sc.MS_BIND, None)
        finally:
            os.close(fd)

    def _readonly(self, path: str) -> None:
        fd = self._existing(path)
        if fd is None:
            return
        try:
            self.sys.mount(_fd_path(fd), _fd_path(fd), None, sc.MS_BIND | sc.MS_REC, None)
        finally:
            os.close(fd)
        fd = self._existing(path)
        assert fd is not None
        try:
            flags = sc.MS_BIND | sc.MS_REMOUNT | sc.MS_RDONLY
            locked = self.sys.locked_mount_flags(_fd_path(fd))
            self.sys.mount(None, _fd_path(fd), None, flags | locked, None)
        finally:
            os.close(fd)

    def pivot(self) -> None:
        """pivot_root(".", "."): the old root ends up stacked on "/" and is detached at once.
        Without a mount namespace of its own pivot_root would move everyone's root: chroot."""
        os.close(self.root_fd)
        self.root_fd = -1
        self._step("entering the rootfs", self.rootfs, self.sys.chdir, self.rootfs)
        if not self.own_mount_ns:
            self._step("chroot", self.rootfs, self.sys.chroot, ".")
            self._step("entering the new root", "/", self.sys.chdir, "/")
            return
        self._step("pivot_root", self.rootfs, self.sys.pivot_root, ".", ".")
        self._step("detaching the old root", "/", self.sys.mount, None, ".", None,
                   sc.MS_SLAVE | sc.MS_REC, None)  # fmt: skip
        self._step("detaching the old root", "/", self.sys.umount2, ".", sc.MNT_DETACH)
        self._step("entering the new root", "/", self.sys.chdir, "/")

    def finish_root(self) -> None:
        """After pivot_root: the root's propagation (linux.rootfsPropagation), then read-only
        if asked. A shared root gets a peer group of its own: the host's stays untouched."""
        if self.root_propagation:
            self._step("rootfsPropagation", "/", self.sys.mount, None, "/", None,
                       self.root_propagation, None)  # fmt: skip
        if (self.spec.get("root") or {}).get("readonly"):
            flags = sc.MS_BIND | sc.MS_REMOUNT | sc.MS_RDONLY
            self._step("making the root read-only", "/", self._remount_root, flags)

    def _remount_root(self, flags: int) -> None:
        self.sys.mount(None, "/", None, flags | self.sys.locked_mount_flags("/"), None)


def build(
    sys: Syscalls,
    rootfs: str,
    spec: dict[str, Any],
    in_userns: bool,
    before_pivot: Callable[[], None] | None = None,
    own_mount_ns: bool = True,
    cgroup_views: list[tuple[str, str]] | None = None,
) -> RootfsBuilder:
    """Everything up to and including pivot_root (or chroot); the caller then runs
    `finish_root()`.

    `before_pivot` runs once the mounts are in place, while the host is still visible (the
    createRuntime and createContainer hooks). `cgroup_views`: the cgroups /sys/fs/cgroup
    shows, when this process is still being moved into them (pod.runtime.process)."""
    builder = RootfsBuilder(sys, rootfs, spec, in_userns, own_mount_ns, cgroup_views)
    builder.prepare_root()
    try:
        builder.mount_all()
        if builder.needs_dev():
            builder.create_devices(bool((spec.get("process") or {}).get("terminal")))
        builder.write_sysctls()
        builder.mask_paths()
        if before_pivot is not None:
            before_pivot()
    except BaseException:
        if builder.root_fd >= 0:
            os.close(builder.root_fd)
        raise
    builder.pivot()
    return builder


def mounts_at(path: str) -> int:
    """How many mounts are stacked on `path` in the caller's mount namespace."""
    count = 0
    with open("/proc/self/mountinfo") as handle:
        for line in handle:
            fields = line.split(" ", 5)
            if len(fields) > 4 and cgroups.unescape_mountinfo(fields[4]) == path:
                count += 1
    return count


def release(path: str, keep: int) -> None:
    """Detach what a container without a mount namespace stacked on its rootfs (the bind and
    every mount below it), keeping the `keep` mounts that were there before create."""
    while mounts_at(path) > keep:
        try:
            sc.umount2(path, sc.MNT_DETACH)
        except OSError as err:
            raise OCIRuntimeError(f"detaching the rootfs {path}: {err.strerror}") from None
