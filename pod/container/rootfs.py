"""A container's root filesystem: the image's layers plus its own upper dir, at <dir>/merged.

Tried in order: native overlayfs (rootless: from inside the shim's user and mount namespaces
with `userxattr`, so the layers' user.overlay.opaque dirs count), fuse-overlayfs when installed,
and last a copy of the layers into <dir>/rootfs-copy (vfs-like, whiteouts and opaque dirs applied
while copying) bind-mounted on merged. The storage driver `vfs` goes straight to the copy. The
caller records which one was used (`pod info` and inspect show it).

Standard library only: the shim imports this module.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Iterator
from pathlib import Path

from pod.runtime import syscalls
from pod.store import mount_counts
from pod.store.containers import ContainerRecord
from pod.store.layout import LAYER_DIFF, ContainerPaths, Layout
from pod.util.records import dataclass

OVERLAY = "overlay"
FUSE_OVERLAYFS = "fuse-overlayfs"
VFS = "vfs"

CLONE_NEWNS = 0x00020000
MS_RDONLY = 0x1
MS_BIND = 0x1000
MS_REC = 0x4000
MS_SLAVE = 1 << 19
MNT_DETACH = 2
_OPAQUE_XATTRS = ("trusted.overlay.opaque", "user.overlay.opaque")
_OVERLAY_XATTR_PREFIXES = ("trusted.overlay.", "user.overlay.")
_MAX_UNMOUNTS = 8


def sys_mount(
    source: str | Path | None, target: str | Path, fstype: str | None, flags: int, data: str = ""
) -> None:
    """mount(2) (pod.runtime.syscalls'): raises OSError with the errno, like the os module."""
    syscalls.mount(
        None if source is None else str(source), str(target), fstype, flags, data or None
    )


def private_mount_namespace() -> None:
    """A new mount namespace whose mounts never propagate back to the host (rslave)."""
    syscalls.unshare(CLONE_NEWNS)
    sys_mount(None, "/", None, MS_REC | MS_SLAVE)


def merged_dir(directory: Path) -> Path:
    return ContainerPaths(directory).merged


def mount(layout: Layout, record: ContainerRecord, directory: Path) -> str:
    """Mount the rootfs of the container in `directory` at <directory>/merged, each
    `--mount type=image` at its own directory's merged/ (its changes kept there), the volumes
    that are filesystems, and the tmpfs with its secrets (pod.container.secret_files); return
    the rootfs's driver. As podman's mountStorage, the rootfs gets an /etc/mtab (not a build
    step's: its files go into the image).

    A rootfs `pod mount` holds mounted here already is used as it is (one overlay per upper
    dir), as podman's container and its `podman mount` share one mount."""
    from pod.container import secret_files
    from pod.container.rootfs_prepare import add_account_entries, ensure_mtab

    merged = merged_dir(directory)
    if mount_counts.held(ContainerPaths(directory).mount_counts) and os.path.ismount(merged):
        return mounted_driver(merged)
    overlay = OverlaySettings(record.mount_program, record.overlay_mountopt)
    with _image_lowers(layout, record, directory) as lowers:
        driver = mount_layers(
            lowers, directory, driver=record.storage_driver, rootless=record.rootless,
            overlay=overlay,
        )  # fmt: skip
    try:
        for entry in record.mounts:
            if entry.get("type") == "image":
                image_dir = Path(entry["source"]).parent
                image_dir.mkdir(parents=True, exist_ok=True)
                image_lowers = [layout.layer_diff(chain) for chain in reversed(entry["layers"])]
                mount_layers(
                    image_lowers,
                    image_dir,
                    driver=record.storage_driver,
                    rootless=record.rootless,
                    overlay=overlay,
                )
        _mount_volumes(layout, record, directory)
        if not record.builder:
            ensure_mtab(merged_dir(directory), _engine_made_owner(record))
            add_account_entries(merged_dir(directory), ContainerPaths(directory))
        secret_files.mount(layout, record, directory)
    except BaseException:
        unmount(directory, force=True)
        raise
    return driver


def _engine_made_owner(record: ContainerRecord) -> tuple[int, int] | None:
    """Who what this rootful process creates in the rootfs must belong to: container root's
    host ids for a container with maps of its own (rootless, the shim is container root)."""
    if not record.idmappings or record.rootless:
        return None
    from pod.container.userns_modes import mapped_root, record_maps

    mapping = record_maps(record)
    return mapped_root(mapping) if mapping is not None else None


@contextlib.contextmanager
def _image_lowers(layout: Layout, record: ContainerRecord, directory: Path) -> Iterator[list[Path]]:
    """The rootfs's lower dirs, top first: the image's layers, or, for a container with maps
    of its own (--userns=nomap|auto), their copies with owners moved (rootless,
    store.mapped_layers) or the layers mounted idmapped for the mount made in the block
    (rootful, pod.container.idmapped)."""
    chains = list(reversed(record.layers))
    if not record.idmappings:
        yield [layout.layer_diff(chain) for chain in chains]
        return
    from pod.store import mapped_layers

    uids = mapped_layers.parse_lines(record.idmappings.get("UidMap", []))
    gids = mapped_layers.parse_lines(record.idmappings.get("GidMap", []))
    if record.rootless:
        key = mapped_layers.mapping_key(uids, gids)
        yield [layout.layer_mapped(chain, key) / LAYER_DIFF for chain in chains]
        return
    from pod.container.idmapped import idmapped_lowers

    with idmapped_lowers([layout.layer_diff(c) for c in chains], directory, uids, gids) as lowers:
        yield lowers


def mounted_driver(merged: Path) -> str:
    """Which driver mounted `merged`, from /proc/self/mountinfo (a bind mount: the copy)."""
    wanted, fstype = os.fsencode(merged), b""
    with open("/proc/self/mountinfo", "rb") as handle:
        for line in handle:
            fields = line.split()
            if len(fields) > 4 and fields[4] == wanted and b"-" in fields:
                fstype = fields[fields.index(b"-") + 1]  # the last mount on top wins
    if fstype == b"overlay":
        return OVERLAY
    return FUSE_OVERLAYFS if fstype.startswith(b"fuse") else VFS


def mount_read_only(lowers: list[Path], directory: Path, *, rootless: bool) -> None:
    """Layers (top first) read-only at <directory>/merged: an overlay with no upper dir (which
    needs two lower dirs: an empty one stands in for the second of a one-layer image)."""
    paths = ContainerPaths(directory)
    paths.merged.mkdir(parents=True, exist_ok=True)
    if len(lowers) < 2:
        paths.empty_lower.mkdir(exist_ok=True)
        lowers = [*lowers, paths.empty_lower]
    _mount_overlay(lowers, directory, userxattr=rootless, read_only=True)


def _mount_volumes(layout: Layout, record: ContainerRecord, directory: Path) -> None:
    """The volumes that are filesystems (pod.container.volume_mounts), each once; rootful, the
    names go to mounted-volumes so unmount lets go of exactly those."""
    from pod.container import volume_mounts

    marker = ContainerPaths(directory).mounted_volumes
    if marker.exists():  # mounted for an earlier run that never unmounted: counted already
        return
    names = []
    for entry in record.mounts:
        options = entry.get("volume_options") or {}
        if entry.get("type") == "volume" and volume_mounts.mounts_filesystem(options):
            volume_mounts.acquire(layout, entry["volume"], options, rootless=record.rootless)
            names.append(entry["volume"])
    if names and not record.rootless:
        marker.write_text("\n".join(names) + "\n")


@dataclass(frozen=True)
class OverlaySettings:
    """--storage-opt overlay.mount_program (a FUSE overlay binary to use instead of the
    kernel's) and overlay.mountopt (more options for the kernel's overlay mount)."""

    mount_program: str = ""
    mountopt: str = ""


_KERNEL_OVERLAY = OverlaySettings()


def mount_layers(
    lowers: list[Path],
    directory: Path,
    *,
    driver: str,
    rootless: bool,
    overlay: OverlaySettings = _KERNEL_OVERLAY,
) -> str:
    """Layers (top first) + <directory>/upper at <directory>/merged; return the driver used."""
    paths = ContainerPaths(directory)
    paths.merged.mkdir(exist_ok=True)
    if driver == VFS:
        _mount_copy(lowers, directory)
        return VFS
    if not lowers:
        paths.empty_lower.mkdir(exist_ok=True)
        lowers = [paths.empty_lower]
    for path in (paths.upper, paths.work):
        path.mkdir(exist_ok=True)
    if overlay.mount_program:
        _mount_fuse(overlay.mount_program, lowers, directory)
        return FUSE_OVERLAYFS
    try:
        _mount_overlay(lowers, directory, userxattr=rootless, extra=overlay.mountopt)
        return OVERLAY
    except OSError:
        pass
    import shutil  # the fallbacks only: a start's mount (and every unmount) skip its imports

    fuse = shutil.which(FUSE_OVERLAYFS)
    if fuse is not None:
        with contextlib.suppress(OSError):
            _mount_fuse(fuse, lowers, directory)
            return FUSE_OVERLAYFS
    _mount_copy(lowers, directory)
    return VFS


def unmount(directory: Path, *, force: bool = False) -> None:
    """Unmount <directory>/merged, the image mounts beside it and the secrets tmpfs (lazily
    when busy), and let go of the volumes mounted for it; nothing mounted is fine. A mount
    that `pod mount` holds in this namespace stays, unless `force` (`rm`, the last `umount`)."""
    if not force and mount_counts.held(ContainerPaths(directory).mount_counts):
        return
    from pod.container import secret_files

    secret_files.unmount(directory)
    paths = ContainerPaths(directory)
    for image_dir in sorted(paths.image_mounts.iterdir()) if paths.image_mounts.is_dir() else ():
        _unmount(merged_dir(image_dir))
    _unmount(merged_dir(directory))
    if paths.mounted_volumes.exists():
        from pod.container import volume_mounts

        volumes_layout = Layout(paths.graph_root, paths.graph_root)  # volumes need no run root
        for name in paths.mounted_volumes.read_text().split():
            volume_mounts.release(volumes_layout, name)
        paths.mounted_volumes.unlink()


def _unmount(merged: Path) -> None:
    for _ in range(_MAX_UNMOUNTS):  # a bind over an earlier mount needs more than one
        try:
            syscalls.umount2(str(merged), 0)
        except OSError as err:
            if err.errno in (errno.EINVAL, errno.ENOENT):
                return
            if err.errno != errno.EBUSY:
                raise
            syscalls.umount2(str(merged), MNT_DETACH)


# --- overlayfs --------------------------------------------------------------------------------


def _overlay_options(
    lowers: list[str], upper: str | None, work: str, userxattr: bool, extra: str | None = None
) -> str:
    """The overlay's options; no `upper` makes a read-only overlay of the lower dirs."""
    options = f"lowerdir={':'.join(lowers)}"
    if upper is not None:
        options += f",upperdir={upper},workdir={work}"
    return options + (",userxattr" if userxattr else "") + (f",{extra}" if extra else "")


def _mount_overlay(
    lowers: list[Path],
    directory: Path,
    *,
    userxattr: bool,
    extra: str = "",
    read_only: bool = False,
) -> None:
    """mount(2)'s data is one page: with many layers, name them by short links from <dir>/l.
    `extra` (overlay.mountopt) may hold mount flags (nodev, ...) as well as overlay options."""
    from pod.runtime.rootfs import parse_options

    wanted = parse_options([option for option in extra.split(",") if option])
    flags = wanted.flags | (MS_RDONLY if read_only else 0)
    extra_data = wanted.data_text
    paths = ContainerPaths(directory)
    merged = paths.merged
    upper = None if read_only else str(paths.upper)
    options = _overlay_options(
        [str(p) for p in lowers], upper, str(paths.work), userxattr, extra_data
    )
    if len(options) < os.sysconf("SC_PAGESIZE"):
        sys_mount(OVERLAY, merged, OVERLAY, flags, options)
        return
    import shutil

    links = paths.lower_links
    shutil.rmtree(links, ignore_errors=True)
    links.mkdir()
    for index, lower in enumerate(lowers):
        os.symlink(lower, links / str(index))
    short = [f"{links.name}/{index}" for index in range(len(lowers))]
    saved = os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.chdir(directory)  # the relative names resolve against the mounting process's cwd
        short_upper = None if read_only else paths.upper.name
        relative = _overlay_options(short, short_upper, paths.work.name, userxattr, extra_data)
        sys_mount(OVERLAY, merged, OVERLAY, flags, relative)
    finally:
        os.fchdir(saved)
        os.close(saved)


def _mount_fuse(binary: str, lowers: list[Path], directory: Path) -> None:
    """fuse-overlayfs daemonizes once mounted: its stderr goes to a file, never a pipe."""
    import subprocess
    import tempfile

    paths = ContainerPaths(directory)
    options = _overlay_options([str(p) for p in lowers], str(paths.upper), str(paths.work), False)
    with tempfile.TemporaryFile() as err:
        done = subprocess.run(
            [binary, "-o", options, str(merged_dir(directory))],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
            timeout=60,
        )
        if done.returncode != 0:
            err.seek(0)
            text = err.read().decode(errors="replace").strip()
            raise OSError(errno.EIO, f"fuse-overlayfs failed: {text or done.returncode}")


# --- the copy (vfs) ---------------------------------------------------------------------------


def _mount_copy(lowers: list[Path], directory: Path) -> None:
    """Copy the layers once (kept across restarts: it is the container's writable layer too)."""
    import shutil

    paths = ContainerPaths(directory)
    copy = paths.rootfs_copy
    if not copy.is_dir():
        partial = paths.rootfs_copy_partial
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir()
        for lower in reversed(lowers):  # base layer first
            _apply_layer(lower, partial)
        os.rename(partial, copy)
    sys_mount(copy, merged_dir(directory), None, MS_BIND | MS_REC)


def _is_opaque(path: Path) -> bool:
    for name in _OPAQUE_XATTRS:
        with contextlib.suppress(OSError):
            if os.getxattr(path, name, follow_symlinks=False) == b"y":
                return True
    return False


def _remove(path: Path) -> None:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        import shutil

        shutil.rmtree(path)
    else:
        os.unlink(path)


def _apply_layer(layer: Path, dest: Path) -> None:
    """Merge one layer into `dest` as overlayfs would show it: whiteouts delete, opaque hides."""
    dirs: list[tuple[Path, Path, os.stat_result]] = [(layer, dest, os.lstat(layer))]
    pending = [(layer, dest)]
    while pending:
        source_dir, dest_dir = pending.pop()
        for entry in os.scandir(source_dir):
            source, target = Path(entry.path), dest_dir / entry.name
            st = entry.stat(follow_symlinks=False)
            if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
                _remove(target)
            elif stat.S_ISDIR(st.st_mode):
                if not target.is_dir() or target.is_symlink():
                    _remove(target)
                    target.mkdir(0o700)
                elif _is_opaque(source):
                    for child in os.scandir(target):
                        _remove(Path(child.path))
                dirs.append((source, target, st))
                pending.append((source, target))
            else:
                _remove(target)
                if _copy_entry(source, target, st):
                    _copy_metadata(source, target, st)
    for source, target, st in reversed(dirs):  # children first: they change a dir's mtime
        _copy_metadata(source, target, st)


def _copy_entry(source: Path, target: Path, st: os.stat_result) -> bool:
    """Create `target` like `source`; False for what cannot be made here (sockets, devices)."""
    mode = st.st_mode
    if stat.S_ISREG(mode):
        import shutil

        shutil.copyfile(source, target, follow_symlinks=False)
    elif stat.S_ISLNK(mode):
        os.symlink(os.readlink(source), target)
    elif stat.S_ISFIFO(mode):
        os.mkfifo(target, 0o600)
    elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        try:
            os.mknod(target, stat.S_IFMT(mode) | 0o600, st.st_rdev)
        except PermissionError:  # no CAP_MKNOD (rootless): the runtime provides /dev anyway
            return False
    else:
        return False
    return True


def _copy_metadata(source: Path, target: Path, st: os.stat_result) -> None:
    """Owner, mode, xattrs (not overlay's own) and times; ids the namespace lacks stay as is."""
    try:
        os.chown(target, st.st_uid, st.st_gid, follow_symlinks=False)
    except OSError as err:
        if err.errno not in (errno.EINVAL, errno.EPERM):
            raise
    if not stat.S_ISLNK(st.st_mode):
        os.chmod(target, stat.S_IMODE(st.st_mode))
    _copy_xattrs(source, target)
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)


def _copy_xattrs(source: Path, target: Path) -> None:
    with contextlib.suppress(OSError):
        for name in os.listxattr(source, follow_symlinks=False):
            if name.startswith(_OVERLAY_XATTR_PREFIXES):
                continue
            with contextlib.suppress(OSError):
                value = os.getxattr(source, name, follow_symlinks=False)
                os.setxattr(target, name, value, follow_symlinks=False)
