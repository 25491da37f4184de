"""What every command does first with its store: keep it private, clear what a kill left.

The graph root and the run root are 0700, as containers-storage's: the layers and container
roots below them hold image files (set-uid binaries among them) and a container's files, which
no other user may reach (the class of CVE-2021-41091). A store an older pod made 0755 is
tightened on its first use here; making the top private is enough, nothing below is reachable
without passing through it, so nothing is walked. A rootless store or run root that is not the
user's own (say a /tmp/pod-$UID someone else made first) is refused.

A command killed with -9 (a `pod pull`, a build) leaves its partial downloads and half-made
layers behind: the next command removes those whose writer is gone. Each check is a stat, or a
listing of a directory that is empty unless something was left there (or is being written).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from pod.errors import StoreError
from pod.store.layout import Layout

PRIVATE_MODE = 0o700


def prepare_store(layout: Layout, *, rootless: bool) -> None:
    """Make the graph root and the run root private (creating them), then tidy leftovers."""
    for path in (layout.root, layout.runroot):
        make_private(path, rootless=rootless)
    if _has_entries(layout.layer_scratch_root):
        from pod.store import layers  # tarfile and friends: only when there is work

        layers.cleanup_partial_layers(layout, rootless=rootless)
    if _has_entries(layout.incoming):
        from pod.store.blobs import BlobStore

        BlobStore(layout).clean_incoming()


def make_private(path: Path, *, rootless: bool) -> None:
    """`path` as a directory only its owner can enter; a rootless user's must be their own."""
    try:
        try:
            info = os.stat(path)
        except FileNotFoundError:
            path.mkdir(mode=PRIVATE_MODE, parents=True, exist_ok=True)
            os.chmod(path, PRIVATE_MODE)  # whatever the umask
            return
        if rootless and info.st_uid != os.geteuid():
            raise StoreError(
                f"{path} belongs to uid {info.st_uid}, not to you: pod keeps its store and run "
                "root in directories of your own (use --root/--runroot to choose others)"
            )
        if not stat.S_ISDIR(info.st_mode):
            raise StoreError(f"{path} is not a directory: pod needs one for its store")
        if stat.S_IMODE(info.st_mode) & 0o077:
            os.chmod(path, PRIVATE_MODE)
    except OSError as err:
        raise StoreError(f"making {path} private: {err.strerror or err}") from None


def _has_entries(directory: Path) -> bool:
    try:
        with os.scandir(directory) as entries:
            return next(entries, None) is not None
    except (FileNotFoundError, NotADirectoryError):
        return False
