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
import struct
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
        if stat.S_IMODE(info.st_mode) & 0o077 and not _traversal_acl(path, info):
            os.chmod(path, PRIVATE_MODE)
    except OSError as err:
        raise StoreError(f"making {path} private: {err.strerror or err}") from None


# POSIX ACLs as the kernel stores them (linux/posix_acl_xattr.h): a version, then sorted
# (tag, permissions, id) entries.
_ACL_XATTR = "system.posix_acl_access"
_ACL_VERSION = 2
_ACL_USER_OBJ, _ACL_USER, _ACL_GROUP_OBJ, _ACL_MASK, _ACL_OTHER = 0x01, 0x02, 0x04, 0x10, 0x20
_ACL_NO_ID = 0xFFFFFFFF
_ACL_ENTRY = struct.Struct("<HHI")


def _traversal_acl(path: Path, info: os.stat_result) -> bool:
    """Whether `path` is private but for the search permission its ACL gives (allow_traversal):
    mode 0710 whose group bits are the ACL's mask."""
    if stat.S_IMODE(info.st_mode) & 0o077 != 0o010:
        return False
    try:
        return _ACL_XATTR in os.listxattr(path)
    except OSError:
        return False


def allow_traversal(path: Path, uid: int) -> None:
    """Let host uid `uid` pass through the private directory `path` and those of its parents
    the caller owns that others may not search (search only, no listing): a container whose
    namespace leaves the store's owner out (--userns=nomap|auto) must reach its rootfs and
    bind sources below the store root, as podman's 0711 graph root allows to everyone; here
    only the container's own root may (rootless: one of the user's own subordinate ids)."""
    for directory in (path, *path.parents):
        info = os.stat(directory)
        if info.st_uid != os.geteuid():
            break
        if directory == path or not info.st_mode & stat.S_IXOTH:
            _add_search_entry(directory, uid)


def _add_search_entry(path: Path, uid: int) -> None:
    entries: dict[tuple[int, int], int] = {}
    try:
        raw = os.getxattr(path, _ACL_XATTR)
    except OSError:
        raw = b""
    for offset in range(4, len(raw) - _ACL_ENTRY.size + 1, _ACL_ENTRY.size):
        tag, perm, ident = _ACL_ENTRY.unpack_from(raw, offset)
        entries[(tag, ident)] = perm
    if entries.get((_ACL_USER, uid), 0) & entries.get((_ACL_MASK, _ACL_NO_ID), 0) & 0o1:
        return  # there, and not masked off (a chmod since sets the mask from the group bits)
    mode = stat.S_IMODE(os.stat(path).st_mode)  # no ACL yet: its three entries are the mode
    entries.setdefault((_ACL_USER_OBJ, _ACL_NO_ID), (mode >> 6) & 0o7)
    entries.setdefault((_ACL_GROUP_OBJ, _ACL_NO_ID), (mode >> 3) & 0o7)
    entries.setdefault((_ACL_OTHER, _ACL_NO_ID), mode & 0o7)
    entries[(_ACL_USER, uid)] = 0o1
    mask = 0
    for (tag, _), perm in entries.items():
        if tag not in (_ACL_USER_OBJ, _ACL_OTHER, _ACL_MASK):
            mask |= perm  # the named entries and the owning group, as setfacl computes it
    entries[(_ACL_MASK, _ACL_NO_ID)] = mask
    data = struct.pack("<I", _ACL_VERSION) + b"".join(
        _ACL_ENTRY.pack(tag, perm, ident) for (tag, ident), perm in sorted(entries.items())
    )
    try:
        os.setxattr(path, _ACL_XATTR, data)
    except OSError as err:
        raise StoreError(
            f"letting the container's root pass through {path} (a POSIX ACL): {err.strerror or err}"
        ) from None


def _has_entries(directory: Path) -> bool:
    try:
        with os.scandir(directory) as entries:
            return next(entries, None) is not None
    except (FileNotFoundError, NotADirectoryError):
        return False
