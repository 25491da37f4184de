"""Last touches on a mounted rootfs before the runtime sees it: the workdir, volume copy-up and
/etc/mtab.

Run by the shim (standard library only), inside the user namespace for rootless containers so
new entries get the container's owners. Every path is resolved inside the rootfs with
pod.store.safepath: an image's symlinked workdir or volume path never leads out of it.
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

from pod.store import safepath
from pod.store.layout import ContainerPaths


def ensure_workdir(rootfs: Path, config: dict) -> None:
    """Create process.cwd when the image lacks it, owned by the process user (as podman)."""
    cwd = str(config.get("process", {}).get("cwd") or "/")
    if os.path.lexists(safepath.resolve_inside(rootfs, cwd)):
        return
    user = config.get("process", {}).get("user", {})
    root_fd = os.open(rootfs, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        fd = safepath.open_dir(root_fd, cwd, create=0o755)
        try:
            os.fchown(fd, int(user.get("uid", 0)), int(user.get("gid", 0)))
        finally:
            os.close(fd)
    finally:
        os.close(root_fd)


def ensure_mtab(rootfs: Path, owner: tuple[int, int] | None = None) -> None:
    """/etc/mtab → /proc/mounts when the image has none (podman makes it when it mounts a
    container's storage; mount, df and friends read it). /etc is made when missing.

    `owner`: container root's host ids when the rootful engine makes them for a container with
    maps of its own (--userns=auto): what it creates as host root would be nobody's in there,
    and an /etc the container's root cannot write takes the bind mounts' targets with it."""
    root_fd = os.open(rootfs, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        etc = safepath.open_dir(root_fd, "etc", create=0o755)
        try:
            if owner is not None and os.fstat(etc).st_uid == os.geteuid():  # made just now
                os.fchown(etc, *owner)
            os.symlink("/proc/mounts", "mtab", dir_fd=etc)
            if owner is not None:
                os.chown("mtab", *owner, dir_fd=etc, follow_symlinks=False)
        except FileExistsError:
            pass  # the image's own (a file, a link, even a dangling one) stays
        finally:
            os.close(etc)
    finally:
        os.close(root_fd)


def add_account_entries(rootfs: Path, paths: ContainerPaths) -> None:
    """The entries pod.container.etc_users adds (keep-id's user, --hostuser, -u UID), appended
    to a writable rootfs's own /etc/passwd and /etc/group when an entry of that name is not
    there yet, as podman does: tools inside (useradd, distrobox's and toolbox's set-up) then
    edit and replace these files as on any system. Run on every mount, so a restart adds
    nothing twice and keeps what the container changed; an image without the file, or with a
    link or anything but a regular file there, gets none (the link is never followed)."""
    for name, source in (("passwd", paths.passwd_entries), ("group", paths.group_entries)):
        try:
            wanted = source.read_bytes().decode(errors="replace").splitlines()
        except FileNotFoundError:
            continue
        root_fd = os.open(rootfs, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            etc = safepath.open_dir(root_fd, "etc")
            try:
                fd = os.open(name, os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=etc)
            except OSError:  # missing, a link (ELOOP), not writable: as the image has it
                continue
            finally:
                os.close(etc)
        finally:
            os.close(root_fd)
        with os.fdopen(fd, "r+b") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                continue
            current = handle.read().decode(errors="replace")
            names = {line.split(":", 1)[0] for line in current.splitlines() if line}
            missing = [line for line in wanted if line and line.split(":", 1)[0] not in names]
            if missing:
                separator = "" if not current or current.endswith("\n") else "\n"
                handle.write((separator + "\n".join(missing) + "\n").encode())


def copy_up_volumes(rootfs: Path, mounts: list[dict]) -> None:
    """Seed each empty named volume with the image's content at its mount point (copy-up)."""
    for mount in mounts:
        if mount.get("type") != "volume" or not mount.get("source"):
            continue
        data = Path(mount["source"])
        if any(data.iterdir()):
            continue
        source = safepath.resolve_inside(rootfs, mount["destination"])
        if source.is_dir() and not source.is_symlink():
            _copy_tree(source, data)


def _copy_tree(source: Path, target: Path) -> None:
    """Copy contents with owners, modes and links kept; symlinks are copied, never followed."""
    for directory, dirs, files in os.walk(source, followlinks=False):
        relative = Path(directory).relative_to(source)
        for name in dirs:
            origin, copy = Path(directory, name), target / relative / name
            if origin.is_symlink():
                _copy_entry(origin, copy)
                continue
            info = origin.lstat()
            copy.mkdir(mode=stat.S_IMODE(info.st_mode))
            os.lchown(copy, info.st_uid, info.st_gid)
            os.chmod(copy, stat.S_IMODE(info.st_mode))
        for name in files:
            _copy_entry(Path(directory, name), target / relative / name)
    info = source.lstat()
    os.lchown(target, info.st_uid, info.st_gid)
    os.chmod(target, stat.S_IMODE(info.st_mode))


def _copy_entry(origin: Path, copy: Path) -> None:
    info = origin.lstat()
    if stat.S_ISLNK(info.st_mode):
        os.symlink(os.readlink(origin), copy)
    elif stat.S_ISREG(info.st_mode):
        shutil.copy2(origin, copy, follow_symlinks=False)
    else:
        return
    os.lchown(copy, info.st_uid, info.st_gid)
