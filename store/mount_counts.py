"""How many `pod mount`s hold a root file system mounted, per mount namespace.

podman counts mounts so that `umount` unmounts only when the last user is done, and a
container's own exit leaves a user's mount in place. A mount lives in one mount namespace and
dies with the boot: counts are kept per namespace of the current boot, and a count from another
boot or namespace means nothing here. Callers change counts holding the lock of what is
mounted (the container's, the image mount's); each change is an atomic rewrite.
"""

from __future__ import annotations

import contextlib
import json
import os

from pod.store.lock import atomic_write_json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path

BOOT_ID_FILE = "/proc/sys/kernel/random/boot_id"


def namespace_key() -> str:
    """This boot and this process's mount namespace."""
    try:
        with open(BOOT_ID_FILE) as handle:
            boot = handle.read().strip()
    except OSError:
        boot = "unknown-boot"
    return f"{boot}/{os.stat('/proc/self/ns/mnt').st_ino}"


def _read(path: Path) -> dict[str, int]:
    try:
        with open(path, "rb") as handle:
            data = json.loads(handle.read())
    except (FileNotFoundError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, int) and v > 0}


def held(path: Path) -> int:
    """The count in this namespace (0: no `pod mount` holds it here)."""
    return _read(path).get(namespace_key(), 0)


def change(path: Path, delta: int) -> int:
    """Add `delta` (±1) to this namespace's count, never below 0; the new count."""
    key = namespace_key()
    counts = _read(path)
    counts[key] = max(0, counts.get(key, 0) + delta)
    _save(path, counts)
    return counts[key]


def reset(path: Path) -> None:
    """This namespace's count back to 0 (its mount is gone, or removed by force)."""
    counts = _read(path)
    if counts.pop(namespace_key(), None) is not None:
        _save(path, counts)


def _save(path: Path, counts: dict[str, int]) -> None:
    kept = {k: v for k, v in counts.items() if v > 0}
    if kept:
        atomic_write_json(path, kept, mode=0o600)
    else:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
