"""`pod diff`: what a container changed, from its overlay upper dir (A added, C changed, D deleted).

An entry in the upper dir is D when it is a whiteout (a 0:0 character device), C when a lower
layer has that path, A otherwise; the paths every container gets from its engine (mount points,
/etc/hosts, ...) are left out, as podman leaves them out. Rootless upper dirs belong to
subordinate ids: directories the user cannot read are skipped with a warning (root can read
them).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from pod.config import Settings
from pod.reporter import Reporter
from pod.store.containers import ContainerStore
from pod.store.layout import Layout

# podman's initInodes (libpod/diff.go): what the engine itself puts in every container
ENGINE_PATHS = frozenset({
    "/dev", "/etc/hostname", "/etc/hosts", "/etc/resolv.conf", "/etc/mtab", "/proc", "/run",
    "/run/notify", "/run/.containerenv", "/run/secrets", "/sys",
})  # fmt: skip


def _in_lower(lowers: list[Path], rel: str) -> bool:
    return any(os.path.lexists(lower / rel) for lower in lowers)


def _changes(upper: Path, lowers: list[Path], skipped: list[str]) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []

    def on_error(err: OSError) -> None:
        skipped.append(str(err.filename))

    for dirpath, dirnames, filenames in os.walk(upper, onerror=on_error):
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, upper)
            try:
                info = os.lstat(full)
            except OSError:
                continue
            if stat.S_ISCHR(info.st_mode) and info.st_rdev == 0:
                found.append(("D", "/" + rel))
            else:
                found.append(("C" if _in_lower(lowers, rel) else "A", "/" + rel))
    return sorted((c for c in found if c[1] not in ENGINE_PATHS), key=lambda change: change[1])


def diff(settings: Settings, text: str, reporter: Reporter) -> list[tuple[str, str]]:
    """The changes of one container, sorted by path."""
    layout = Layout(settings.root, settings.runroot)
    record = ContainerStore(layout).lookup(text)
    upper = layout.container(record.id).upper
    if not upper.is_dir():  # the vfs driver copies the layers: no upper dir to compare
        return []
    lowers = [layout.layer_diff(chain_id) for chain_id in reversed(record.layers)]
    skipped: list[str] = []
    changes = [c for c in _changes(upper, lowers, skipped) if c[1] not in ENGINE_PATHS]
    for path in skipped:
        rel = os.path.relpath(path, upper)
        reporter.warning(
            f"skipped /{rel}: owned by a subordinate id and not readable by you (root can read it)"
        )
    return changes
