"""Volumes that mount a filesystem (`volume create -o type=tmpfs -o device=... -o o=...`).

The local driver's options as podman reads them: `type` (mount -t), `device` (what is mounted)
and `o` (mount -o, where uid= and gid= also own the volume's directory). Such a volume is
mounted on its _data directory while a container uses it (or `volume mount` asked for it).

Rootful, the mount is on the host: a count of its users, kept beside the volume under the
volumes lock, unmounts it when the last one lets go. Rootless, each container's shim mounts it
in the container's own mount namespace (there is no shared one to mount it in), so containers
share a bind-type volume's files but each gets a tmpfs of its own.

Standard library only (and the store): the shim mounts volumes with the rootfs.
"""

from __future__ import annotations

import contextlib
import errno
import os

from pod.errors import PodError, UsageError
from pod.store.layout import Layout
from pod.store.lock import atomic_write, locked

KEYS = ("type", "device", "o")
_QUOTA = ("size", "inodes")


def parse_options(values: list[str]) -> dict[str, str]:
    """`-o KEY=VALUE` for the local driver; uid=/gid= in `o` are also kept as UID and GID."""
    options: dict[str, str] = {}
    for value in values:
        key, _, content = value.partition("=")
        if key not in KEYS:
            raise UsageError(f"invalid mount option {key} for driver 'local': invalid argument")
        options[key] = content
    for item in options.get("o", "").split(","):
        name, _, content = item.partition("=")
        if name in _QUOTA:
            raise PodError(
                "volume options size and inodes not supported. Filesystem does not support "
                "Project Quota"
            )
        if name in ("uid", "gid"):
            options[name.upper()] = content
    return options


def owner(options: dict[str, str]) -> tuple[int, int] | None:
    """The owner `o=uid=,gid=` asks for the volume's directory (None: the creator's)."""
    if "UID" not in options and "GID" not in options:
        return None
    try:
        return int(options.get("UID", "-1")), int(options.get("GID", "-1"))
    except ValueError:
        raise UsageError(f"invalid uid or gid in o={options.get('o', '')}") from None


def mounts_filesystem(options: dict[str, str]) -> bool:
    """Whether the volume is a mount (a type or a device), not just a directory."""
    return bool(options.get("type") or options.get("device"))


def _count_file(layout: Layout, name: str):
    return layout.volume_dir(name) / "mount-count"


def _count(layout: Layout, name: str) -> int:
    try:
        return int(_count_file(layout, name).read_text() or "0")
    except (FileNotFoundError, ValueError):
        return 0


def _mount(options: dict[str, str], target: str) -> None:
    from pod.runtime import syscalls
    from pod.runtime.rootfs import parse_options as split_options

    wanted = [item for item in options.get("o", "").split(",") if item]
    parsed = split_options(wanted)
    device = options.get("device") or options.get("type") or "none"
    try:
        syscalls.mount(device, target, options.get("type") or None, parsed.flags, parsed.data_text)
    except OSError as err:
        raise PodError(f"mounting volume {device} on {target}: {err.strerror}") from None


def _unmount(target: str) -> None:
    from pod.runtime import syscalls

    with contextlib.suppress(FileNotFoundError):
        syscalls.umount2(target, syscalls.MNT_DETACH)


def acquire(layout: Layout, name: str, options: dict[str, str], *, rootless: bool) -> None:
    """Mount the volume for one more user (rootless: in this process's mount namespace)."""
    target = str(layout.volume_data(name))
    if rootless:
        if not os.path.ismount(target):
            _mount(options, target)
        return
    with locked(layout.volumes_lock):
        count = _count(layout, name)
        if count == 0 or not os.path.ismount(target):
            _mount(options, target)
        atomic_write(_count_file(layout, name), str(count + 1).encode())


def release(layout: Layout, name: str) -> None:
    """One user less (rootful): the last one unmounts the volume."""
    with locked(layout.volumes_lock):
        count = max(_count(layout, name) - 1, 0)
        if count == 0:
            try:
                _unmount(str(layout.volume_data(name)))
            except OSError as err:
                if err.errno not in (errno.EINVAL, errno.ENOENT):
                    raise
        if layout.volume_dir(name).is_dir():
            atomic_write(_count_file(layout, name), str(count).encode())


def forget(layout: Layout, name: str) -> None:
    """Before the volume is removed (rootful): unmount it whoever counted on it."""
    target = str(layout.volume_data(name))
    with locked(layout.volumes_lock):
        if os.path.ismount(target):
            _unmount(target)
        with contextlib.suppress(FileNotFoundError):
            _count_file(layout, name).unlink()
