"""store.mapped_layers: a layer copied with its owners moved through an id mapping (rootless
--userns=nomap|auto). Run with a mapping onto the caller's own ids so no privilege is needed."""

from __future__ import annotations

import os
import stat

from pod.store import mapped_layers
from pod.util.userns import IdMapLine


def _tree(root):
    diff = root / "diff"
    (diff / "bin").mkdir(parents=True)
    target = diff / "bin" / "busybox"
    target.write_bytes(b"binary")
    target.chmod(0o4755)
    os.link(target, diff / "bin" / "sh")
    os.symlink("busybox", diff / "bin" / "ls")
    os.mkfifo(diff / "fifo")
    opaque = diff / "opaque"
    opaque.mkdir(mode=0o750)
    os.setxattr(opaque, "user.overlay.opaque", b"y")
    os.utime(target, ns=(1, 2_000_000_000))
    return diff


def test_copy_keeps_links_modes_xattrs_and_times(tmp_path):
    diff = _tree(tmp_path)
    own = (IdMapLine(os.getuid(), os.getuid(), 1),), (IdMapLine(os.getgid(), os.getgid(), 1),)
    mapped = tmp_path / "mapped" / mapped_layers.mapping_key(*own)
    copy = mapped_layers.ensure_copy(diff, mapped, *own)
    assert copy == mapped / "diff"
    busybox, sh = copy / "bin" / "busybox", copy / "bin" / "sh"
    assert busybox.read_bytes() == b"binary"
    assert stat.S_IMODE(busybox.stat().st_mode) == 0o4755  # set after the chown
    assert busybox.stat().st_ino == sh.stat().st_ino  # hard links stay links
    assert busybox.stat().st_mtime_ns == 2_000_000_000
    assert os.readlink(copy / "bin" / "ls") == "busybox"
    assert stat.S_ISFIFO((copy / "fifo").lstat().st_mode)
    assert os.getxattr(copy / "opaque", "user.overlay.opaque") == b"y"
    assert stat.S_IMODE((copy / "opaque").stat().st_mode) == 0o750
    assert not (tmp_path / "mapped" / f"{mapped.name}.partial").exists()
    # made once: a second call finds it
    (copy / "marker").write_text("")
    assert mapped_layers.ensure_copy(diff, mapped, *own) == copy
    assert (copy / "marker").exists()


def test_a_leftover_scratch_dir_is_replaced(tmp_path):
    diff = _tree(tmp_path)
    own = (IdMapLine(os.getuid(), os.getuid(), 1),), (IdMapLine(os.getgid(), os.getgid(), 1),)
    mapped = tmp_path / "mapped" / "k"
    scratch = tmp_path / "mapped" / "k.partial"
    (scratch / "diff").mkdir(parents=True)
    (scratch / "diff" / "stale").write_text("")
    copy = mapped_layers.ensure_copy(diff, mapped, *own)
    assert not (copy / "stale").exists() and (copy / "bin" / "busybox").exists()


def test_mapping_key_and_lines():
    one = (IdMapLine(0, 1, 1024),)
    other = (IdMapLine(0, 1025, 1024),)
    assert mapped_layers.mapping_key(one, one) == mapped_layers.mapping_key(one, one)
    assert mapped_layers.mapping_key(one, one) != mapped_layers.mapping_key(other, one)
    assert mapped_layers.parse_lines(["0:1:1024", "1024:5000:1"]) == (
        IdMapLine(0, 1, 1024),
        IdMapLine(1024, 5000, 1),
    )


def test_traversal_acl_is_search_only_and_survives_prepare(tmp_path):
    """A nomap/auto container's root may pass through the private store root (a POSIX ACL
    entry, search only), and the next command's make_private keeps that."""
    from pod.store.prepare import _add_search_entry, make_private

    root = tmp_path / "store"
    make_private(root, rootless=False)
    _add_search_entry(root, 300000)  # allow_traversal's step for each private directory
    _add_search_entry(root, 300000)  # once is enough
    _add_search_entry(root, 301024)
    raw = os.getxattr(root, "system.posix_acl_access")
    entries = [raw[i : i + 8] for i in range(4, len(raw), 8)]
    users = [
        (int.from_bytes(e[4:], "little"), int.from_bytes(e[2:4], "little"))
        for e in entries
        if int.from_bytes(e[:2], "little") == 0x02
    ]
    assert users == [(300000, 0o1), (301024, 0o1)]
    assert stat.S_IMODE(root.stat().st_mode) == 0o710  # the group bits are the ACL's mask
    make_private(root, rootless=False)
    assert stat.S_IMODE(root.stat().st_mode) == 0o710
    root.chmod(0o700)  # a chmod masks the entries off: adding one again brings them back
    _add_search_entry(root, 300000)
    assert stat.S_IMODE(root.stat().st_mode) == 0o710
    root.chmod(0o755)  # opened otherwise: made private again
    make_private(root, rootless=False)
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
