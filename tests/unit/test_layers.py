"""store.layers: extraction of real tar files, hostile layers, whiteouts under a real overlay mount,
and the store's layer records."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import stat
import subprocess
import sys
import tarfile
import threading
import time
from pathlib import Path

import pytest
import zstandard
from layer_tars import (
    MTIME,
    Member,
    compress,
    directory,
    hardlink,
    make_tar,
    member,
    sha256_digest,
    symlink,
)

from pod.errors import DigestMismatchError, StoreError, UnsafeContentError
from pod.store import layers
from pod.store.layout import Layout
from pod.store.lock import locked
from pod.util import archive

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (chown, mknod, mount)")


def names(directory: Path) -> list[str]:
    """What a store directory holds (nothing when it was never made)."""
    return sorted(os.listdir(directory)) if directory.exists() else []


def assert_nothing_stored(store: Layout) -> None:
    assert names(store.layers_root) == [] and names(store.layer_scratch_root) == []


def assert_untouched(tmp_path: Path, outside: Path) -> None:
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blob", "layer", "outside"]
    assert sorted(p.name for p in outside.iterdir()) == ["secret"]
    assert (outside / "secret").read_text() == "host data"


def host_passwd_state() -> tuple[bytes, int, int]:
    st = os.stat("/etc/passwd")
    return Path("/etc/passwd").read_bytes(), st.st_nlink, st.st_mtime_ns


def extract(
    tmp_path: Path, members: list[Member], *, compression: str = "none", **kwargs
) -> tuple[layers.ExtractResult, Path]:
    blob = tmp_path / "blob"
    blob.write_bytes(compress(make_tar(members), compression))
    dest = tmp_path / "layer"
    dest.mkdir(exist_ok=True)
    kwargs.setdefault("rootless", False)
    return layers.extract_layer(blob, dest, **kwargs), dest


# --- normal extraction --------------------------------------------------------------------------


@pytest.mark.parametrize("compression", ["none", "gzip", "zstd"])
def test_compressions_and_diff_id(tmp_path: Path, compression: str) -> None:
    members = [directory("etc"), member("etc/hostname", data=b"pod\n")]
    raw = make_tar(members)
    result, dest = extract(tmp_path, members, compression=compression)
    assert result.diff_id == sha256_digest(raw)
    assert result.size == len(raw)
    assert (dest / "etc" / "hostname").read_bytes() == b"pod\n"


def test_zstd_with_several_frames(tmp_path: Path) -> None:
    raw = make_tar([member("big", data=os.urandom(300_000))])
    cut = len(raw) // 2
    compressor = zstandard.ZstdCompressor()
    (tmp_path / "blob").write_bytes(compressor.compress(raw[:cut]) + compressor.compress(raw[cut:]))
    (tmp_path / "layer").mkdir()
    result = layers.extract_layer(tmp_path / "blob", tmp_path / "layer", rootless=False)
    assert result.diff_id == sha256_digest(raw)


def test_trailing_padding_counts_in_the_diff_id(tmp_path: Path) -> None:
    raw = make_tar([member("f", data=b"x")]) + b"\0" * 10240
    (tmp_path / "blob").write_bytes(gzip.compress(raw))
    (tmp_path / "layer").mkdir()
    result = layers.extract_layer(tmp_path / "blob", tmp_path / "layer", rootless=False)
    assert result.diff_id == sha256_digest(raw)


def test_the_inflating_thread_ends_with_the_extraction(tmp_path: Path) -> None:
    """Inflating runs a few blocks ahead in a thread; a layer refused early stops it too."""
    hostile = [member("../escape", data=b"x"), member("pad", data=os.urandom(1 << 20) * 16)]
    with pytest.raises(UnsafeContentError):
        extract(tmp_path, hostile, compression="gzip")
    (tmp_path / "ok").mkdir()
    ok, _ = extract(tmp_path / "ok", [member("f", data=b"1")], compression="gzip")
    assert ok.diff_id
    assert [t for t in threading.enumerate() if t.name == "pod-inflate"] == []


def test_gzip_without_isal_unpacks_the_same(tmp_path: Path, monkeypatch) -> None:
    """python-isal is the fast inflate; without it (not installed) the stdlib's does the same."""
    members = [directory("etc"), member("etc/big", data=os.urandom(200_000) * 3)]
    raw = make_tar(members)
    (tmp_path / "fast").mkdir()
    (tmp_path / "slow").mkdir()
    fast, fast_dest = extract(tmp_path / "fast", members, compression="gzip")
    assert type(archive.gzip_reader(io.BytesIO(gzip.compress(b"x")))).__module__ == "isal.igzip"
    monkeypatch.setitem(sys.modules, "isal.igzip", None)  # what `import` meets when it is missing
    assert type(archive.gzip_reader(io.BytesIO(gzip.compress(b"x")))) is gzip.GzipFile
    slow, slow_dest = extract(tmp_path / "slow", members, compression="gzip")
    assert fast.diff_id == slow.diff_id == sha256_digest(raw)
    assert (fast_dest / "etc/big").read_bytes() == (slow_dest / "etc/big").read_bytes()


@pytest.mark.parametrize("isal", [True, False], ids=["isal", "stdlib"])
def test_corrupt_gzip_is_refused(tmp_path: Path, monkeypatch, isal: bool) -> None:
    if not isal:
        monkeypatch.setitem(sys.modules, "isal.igzip", None)
    data = bytearray(gzip.compress(make_tar([member("f", data=os.urandom(100_000))])))
    data[len(data) // 2] ^= 0xFF
    (tmp_path / "blob").write_bytes(bytes(data))
    (tmp_path / "layer").mkdir()
    with pytest.raises(UnsafeContentError, match="cannot be decompressed"):
        layers.extract_layer(tmp_path / "blob", tmp_path / "layer", rootless=False)


@needs_root
def test_files_dirs_links_modes_owners_times(tmp_path: Path) -> None:
    members = [
        directory("./", mode=0o755),
        directory("usr", mode=0o755, mtime=1000),
        directory("usr/bin", mode=0o555, mtime=2000),
        member("usr/bin/su", data=b"#!su", mode=0o4755, uid=0, gid=0),
        member("usr/bin/wall", data=b"#!wall", mode=0o2755, uid=0, gid=5),
        member("home/user/notes", data=b"mine", mode=0o600, uid=1000, gid=1000),
        directory("tmp", mode=0o1777),
        symlink("bin", "usr/bin"),
        symlink("abs", "/usr/bin/su"),
        hardlink("usr/bin/su2", "usr/bin/su"),
        hardlink("usr/bin/su3", "/usr/bin/su"),
    ]
    result, dest = extract(tmp_path, members)
    assert not result.owners_collapsed
    su = dest / "usr/bin/su"
    assert su.read_bytes() == b"#!su"
    assert stat.S_IMODE(su.stat().st_mode) == 0o4755
    assert stat.S_IMODE((dest / "usr/bin/wall").stat().st_mode) == 0o2755
    assert (dest / "usr/bin/wall").stat().st_gid == 5
    notes = (dest / "home/user/notes").stat()
    assert (notes.st_uid, notes.st_gid, stat.S_IMODE(notes.st_mode)) == (1000, 1000, 0o600)
    assert stat.S_IMODE((dest / "tmp").stat().st_mode) == 0o1777
    assert stat.S_IMODE((dest / "usr/bin").stat().st_mode) == 0o555
    assert (dest / "usr/bin").stat().st_mtime == 2000
    assert (dest / "usr").stat().st_mtime == 1000
    assert su.stat().st_mtime == MTIME
    assert os.readlink(dest / "bin") == "usr/bin"
    assert os.readlink(dest / "abs") == "/usr/bin/su"
    assert os.lstat(dest / "abs").st_mtime == MTIME
    assert su.stat().st_ino == (dest / "usr/bin/su2").stat().st_ino
    assert su.stat().st_ino == (dest / "usr/bin/su3").stat().st_ino
    assert su.stat().st_nlink == 3


@needs_root
def test_xattrs_from_pax_headers(tmp_path: Path) -> None:
    info, data = member("f", data=b"x")
    info.pax_headers = {
        "SCHILY.xattr.user.comment": "kept",
        "SCHILY.xattr.trusted.overlay.opaque": "y",
        "SCHILY.xattr.user.overlay.redirect": "/etc",
    }
    sub, _ = directory("d")
    sub.pax_headers = {"SCHILY.xattr.user.dir": "too"}
    _, dest = extract(tmp_path, [(info, data), (sub, None)])
    assert os.getxattr(dest / "f", "user.comment") == b"kept"
    assert os.getxattr(dest / "d", "user.dir") == b"too"
    for forged in ("trusted.overlay.opaque", "user.overlay.redirect"):
        assert forged not in os.listxattr(dest / "f")


@needs_root
def test_device_nodes_and_fifos(tmp_path: Path) -> None:
    members = [
        member("dev/null", tarfile.CHRTYPE, devmajor=1, devminor=3, mode=0o666),
        member("dev/loop9", tarfile.BLKTYPE, devmajor=7, devminor=9, mode=0o660),
        member("run/fifo", tarfile.FIFOTYPE, mode=0o622),
    ]
    _, dest = extract(tmp_path, members)
    null = os.lstat(dest / "dev/null")
    assert stat.S_ISCHR(null.st_mode) and null.st_rdev == os.makedev(1, 3)
    assert stat.S_IMODE(null.st_mode) == 0o666
    assert stat.S_ISBLK(os.lstat(dest / "dev/loop9").st_mode)
    fifo = os.lstat(dest / "run/fifo")
    assert stat.S_ISFIFO(fifo.st_mode) and stat.S_IMODE(fifo.st_mode) == 0o622


def test_rootless_skips_device_nodes_but_keeps_fifos(tmp_path: Path) -> None:
    members = [
        member("dev/null", tarfile.CHRTYPE, devmajor=1, devminor=3),
        member("fifo", tarfile.FIFOTYPE),
    ]
    _, dest = extract(tmp_path, members, rootless=True)
    assert not os.path.lexists(dest / "dev/null")
    assert stat.S_ISFIFO(os.lstat(dest / "fifo").st_mode)


def test_later_entries_replace_earlier_ones(tmp_path: Path) -> None:
    members = [
        member("a", data=b"first"),
        hardlink("b", "a"),
        member("b", data=b"second"),  # must not write through the hardlink into "a"
        directory("c"),
        member("c/old", data=b"x"),
        member("c", data=b"file now"),
        member("d", data=b"file"),
        directory("d"),
        directory("e"),
        member("e/one", data=b"1"),
        directory("e", mode=0o700),
        member("e/two", data=b"2"),
        member("f", data=b"file"),
        symlink("f", "a"),
    ]
    _, dest = extract(tmp_path, members)
    assert (dest / "a").read_bytes() == b"first"
    assert (dest / "b").read_bytes() == b"second"
    assert (dest / "c").read_bytes() == b"file now"
    assert (dest / "d").is_dir()
    assert sorted(p.name for p in (dest / "e").iterdir()) == ["one", "two"]
    assert stat.S_IMODE((dest / "e").stat().st_mode) == 0o700
    assert os.readlink(dest / "f") == "a"


def test_parent_symlink_inside_the_layer_is_followed_inside(tmp_path: Path) -> None:
    members = [directory("real"), symlink("alias", "real"), member("alias/file", data=b"x")]
    _, dest = extract(tmp_path, members)
    assert (dest / "real" / "file").read_bytes() == b"x"
    assert (dest / "alias").is_symlink()


# --- whiteouts ------------------------------------------------------------------------------------


def is_whiteout(path: Path) -> bool:
    st = os.lstat(path)
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


@pytest.mark.parametrize("rootless", [False, True])
def test_whiteouts_and_opaque_dirs(tmp_path: Path, rootless: bool) -> None:
    members = [
        member(".wh.gone"),
        member("deep/er/.wh.file"),
        directory("opaque"),
        member("opaque/.wh..wh..opq"),
        member("opaque/new", data=b"n"),
        member(".wh..wh.plnk"),
    ]
    _, dest = extract(tmp_path, members, rootless=rootless)
    assert is_whiteout(dest / "gone")
    assert is_whiteout(dest / "deep/er/file")
    xattr = layers.opaque_xattr(rootless)
    assert os.getxattr(dest / "opaque", xattr) == b"y"
    assert not os.path.lexists(dest / ".wh..wh.plnk")
    assert sorted(p.name for p in dest.iterdir()) == ["deep", "gone", "opaque"]


def test_whiteout_never_deletes_this_layers_entries(tmp_path: Path) -> None:
    members = [
        member("file", data=b"kept"),
        member(".wh.file"),
        directory("dir"),
        member("dir/kept", data=b"k"),
        member(".wh.dir"),
    ]
    _, dest = extract(tmp_path, members)
    assert (dest / "file").read_bytes() == b"kept"
    assert (dest / "dir/kept").read_bytes() == b"k"
    # Its own "dir" replaces the lower one entirely: opaque.
    assert os.getxattr(dest / "dir", layers.ROOTFUL_OPAQUE_XATTR) == b"y"


def test_entry_after_whiteout_replaces_it(tmp_path: Path) -> None:
    members = [member(".wh.dir"), directory("dir"), member(".wh.file"), member("file", data=b"f")]
    _, dest = extract(tmp_path, members)
    assert (dest / "dir").is_dir()
    assert os.getxattr(dest / "dir", layers.ROOTFUL_OPAQUE_XATTR) == b"y"
    assert (dest / "file").read_bytes() == b"f"


def mount_overlay(lowers: list[Path], target: Path, options: str = "") -> None:
    lowerdir = ":".join(str(p) for p in lowers)
    subprocess.run(
        ["mount", "-t", "overlay", "overlay", "-o", f"lowerdir={lowerdir}{options}", str(target)],
        check=True,
        capture_output=True,
    )


@needs_root
@pytest.mark.parametrize("rootless", [False, True])
def test_real_overlay_mount_honours_whiteouts(tmp_path: Path, rootless: bool) -> None:
    """Layers as lowerdirs: deleted files vanish, opaque dirs hide the lower content."""
    base = [
        directory("etc"),
        member("etc/gone", data=b"g"),
        member("etc/kept", data=b"k"),
        directory("opaque"),
        member("opaque/old", data=b"o"),
        directory("merged"),
        member("merged/old", data=b"m"),
        directory("dir-gone"),
        member("dir-gone/x", data=b"x"),
    ]
    top = [
        member("etc/.wh.gone"),
        member(".wh.dir-gone"),
        directory("opaque"),
        member("opaque/.wh..wh..opq"),
        member("opaque/new", data=b"n"),
        member("merged/new", data=b"n"),
    ]
    store = Layout(tmp_path / "store", tmp_path / "run")
    diffs = [sha256_digest(make_tar(base)), sha256_digest(make_tar(top))]
    chains = layers.chain_ids(diffs)
    for index, members in enumerate((base, top)):
        blob = tmp_path / f"blob{index}"
        blob.write_bytes(gzip.compress(make_tar(members)))
        parent = chains[index - 1] if index else None
        layers.ensure_layer(store, chains[index], parent, blob, diffs[index], rootless=False)
        if rootless:  # the rootless on-disk form, as the worker writes it
            diff = store.layer_diff(chains[index])
            layers.remove_layer(store, chains[index], rootless=False)
            diff.mkdir(parents=True)
            layers.extract_layer(blob, diff, rootless=True)
    merged = tmp_path / "merged"
    merged.mkdir()
    lowers = [store.layer_diff(chains[1]), store.layer_diff(chains[0])]
    mount_overlay(lowers, merged, ",userxattr" if rootless else "")
    try:
        assert sorted(p.name for p in merged.iterdir()) == ["etc", "merged", "opaque"]
        assert sorted(p.name for p in (merged / "etc").iterdir()) == ["kept"]
        assert sorted(p.name for p in (merged / "opaque").iterdir()) == ["new"]
        assert sorted(p.name for p in (merged / "merged").iterdir()) == ["new", "old"]
    finally:
        subprocess.run(["umount", str(merged)], check=True)


# --- hostile layers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "members",
    [
        [member("../x", data=b"escape")],
        [member("/abs/../../x", data=b"escape")],
        [member("a/../../outside/secret", data=b"overwritten")],
        [hardlink("h", "../../etc/passwd")],
        [hardlink("h", "../outside/secret")],
        [hardlink("h", "/etc/passwd")],
        [symlink("a", "/etc"), hardlink("h", "a/passwd")],
        [member(".wh..."), member("x")],
        [member(".wh..")],
        [member("d/" * 2500, data=b"long")],
        [symlink("./", "/etc")],
    ],
    ids=[
        "dotdot",
        "absolute-dotdot",
        "dotdot-onto-sentinel",
        "hardlink-dotdot",
        "hardlink-sentinel",
        "hardlink-absolute",
        "hardlink-through-symlink",
        "whiteout-dotdot",
        "whiteout-dot",
        "name-5000-bytes",
        "replace-root",
    ],
)
def test_hostile_entries_are_refused(tmp_path: Path, outside: Path, members: list[Member]) -> None:
    before = host_passwd_state()
    with pytest.raises(UnsafeContentError):
        extract(tmp_path, members)
    assert_untouched(tmp_path, outside)
    assert host_passwd_state() == before


def test_symlink_then_write_through_it_stays_inside(tmp_path: Path, outside: Path) -> None:
    before = host_passwd_state()
    members = [
        symlink("a", "/etc"),
        member("a/passwd", data=b"root::0:0::/:/bin/sh\n"),
        symlink("s", str(outside)),
        member("s/secret", data=b"overwritten"),
        member("s/new", data=b"planted"),
    ]
    _, dest = extract(tmp_path, members)
    assert (dest / "etc/passwd").read_bytes() == b"root::0:0::/:/bin/sh\n"
    inner = dest / outside.relative_to("/")
    assert (inner / "secret").read_bytes() == b"overwritten"
    assert (inner / "new").read_bytes() == b"planted"
    assert host_passwd_state() == before
    assert_untouched(tmp_path, outside)


def test_symlink_chain_climbing_out_is_clamped_at_the_root(tmp_path: Path, outside: Path) -> None:
    members = [
        directory("x/y"),
        symlink("x/y/b", "../../../.."),
        symlink("a", "x/y/b"),
        member("a/outside/secret", data=b"overwritten"),
        member("a/escaped", data=b"planted"),
    ]
    _, dest = extract(tmp_path, members)
    assert (dest / "escaped").read_bytes() == b"planted"
    assert (dest / "outside/secret").read_bytes() == b"overwritten"
    assert_untouched(tmp_path, outside)


def test_existing_symlink_in_the_layer_dir_is_not_written_through(
    tmp_path: Path, outside: Path
) -> None:
    dest = tmp_path / "layer"
    dest.mkdir()
    (dest / "planted").symlink_to(str(outside))
    extract(tmp_path, [member("planted/secret", data=b"overwritten")])
    assert (dest / outside.relative_to("/") / "secret").read_bytes() == b"overwritten"
    assert_untouched(tmp_path, outside)


def test_whiteout_through_a_symlink_is_refused(tmp_path: Path, outside: Path) -> None:
    members = [symlink("sub", str(outside)), member("sub/.wh.secret")]
    with pytest.raises(UnsafeContentError, match="symbolic link"):
        extract(tmp_path, members)
    assert_untouched(tmp_path, outside)


def test_opaque_marker_through_a_symlink_is_refused(tmp_path: Path, outside: Path) -> None:
    members = [symlink("sub", "../outside"), member("sub/.wh..wh..opq")]
    with pytest.raises(UnsafeContentError):
        extract(tmp_path, members)
    assert_untouched(tmp_path, outside)
    assert "trusted.overlay.opaque" not in os.listxattr(outside)


def test_huge_declared_size_is_refused_before_reading(tmp_path: Path, outside: Path) -> None:
    info = tarfile.TarInfo("huge")
    info.size = 70 << 30  # beyond the 64 GiB default bound
    blob = tmp_path / "blob"
    blob.write_bytes(info.tobuf(tarfile.PAX_FORMAT) + b"\0" * 4096)
    (tmp_path / "layer").mkdir()
    with pytest.raises(UnsafeContentError, match="declares"):
        layers.extract_layer(blob, tmp_path / "layer", rootless=False)
    assert_untouched(tmp_path, outside)


def test_total_uncompressed_size_is_bounded(tmp_path: Path, outside: Path) -> None:
    members = [member("one", data=b"1" * 30_000), member("two", data=b"2" * 30_000)]
    with pytest.raises(UnsafeContentError, match="larger than"):
        extract(tmp_path, members, compression="gzip", max_size=50_000)
    assert_untouched(tmp_path, outside)


def test_oversized_extended_header_is_refused(tmp_path: Path) -> None:
    info, data = member("f", data=b"x")
    info.pax_headers = {"comment": "x" * (2 << 20)}
    with pytest.raises(UnsafeContentError, match="extended header"):
        extract(tmp_path, [(info, data)])


@pytest.mark.needs_tool("tar")
@pytest.mark.parametrize("options", [["--format=gnu"], ["--format=pax", "--sparse-version=1.0"]])
def test_sparse_files_are_refused(tmp_path: Path, options: list[str]) -> None:
    src = tmp_path / "src"
    src.mkdir()
    with open(src / "sparse", "wb") as handle:
        handle.seek(1 << 20)
        handle.write(b"end")
    blob = tmp_path / "blob"
    subprocess.run(["tar", "--sparse", *options, "-cf", str(blob), "-C", str(src), "."], check=True)
    (tmp_path / "layer").mkdir()
    with pytest.raises(UnsafeContentError, match="sparse"):
        layers.extract_layer(blob, tmp_path / "layer", rootless=False)


def test_truncated_member_data_is_unsafe_content(tmp_path: Path) -> None:
    raw = make_tar([member("big", data=b"x" * 100_000)])
    (tmp_path / "blob").write_bytes(raw[:50_000])
    (tmp_path / "layer").mkdir()
    with pytest.raises(UnsafeContentError, match="big"):
        layers.extract_layer(tmp_path / "blob", tmp_path / "layer", rootless=False)


@pytest.mark.parametrize("blob", [b"", b"not a tar at all" * 100, gzip.compress(b"x" * 600)[:-9]])
def test_garbage_blobs_are_unsafe_content(tmp_path: Path, blob: bytes) -> None:
    (tmp_path / "blob").write_bytes(blob)
    (tmp_path / "layer").mkdir()
    with pytest.raises(UnsafeContentError):
        layers.extract_layer(tmp_path / "blob", tmp_path / "layer", rootless=False)


# --- the store ------------------------------------------------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> Layout:
    return Layout(tmp_path / "store", tmp_path / "run")


def write_blob(
    tmp_path: Path, members: list[Member], name: str = "blob.tar.gz"
) -> tuple[Path, str]:
    raw = make_tar(members)
    path = tmp_path / name
    path.write_bytes(gzip.compress(raw))
    return path, sha256_digest(raw)


def test_chain_ids_follow_the_oci_rule() -> None:
    a, b, c = (f"sha256:{ch * 64}" for ch in "abc")
    chain_b = "sha256:" + hashlib.sha256(f"{a} {b}".encode()).hexdigest()
    chain_c = "sha256:" + hashlib.sha256(f"{chain_b} {c}".encode()).hexdigest()
    assert layers.chain_ids([a, b, c]) == [a, chain_b, chain_c]
    assert layers.chain_ids([]) == []


def test_ensure_layer_unpacks_once(tmp_path: Path, store: Layout) -> None:
    blob, diff = write_blob(tmp_path, [member("hello", data=b"world")])
    info = layers.ensure_layer(store, diff, None, blob, diff, rootless=False)
    assert info.diff_id == diff and info.parent is None and not info.rootless
    assert info.whiteout_format == "overlay-chardev"
    assert info.opaque_xattr == "trusted.overlay.opaque"
    assert (store.layer_diff(diff) / "hello").read_bytes() == b"world"
    assert layers.layer_exists(store, diff)
    assert layers.read_layer_info(store, diff) == info
    blob.unlink()  # a second call must not even look at the blob
    assert layers.ensure_layer(store, diff, None, blob, diff, rootless=False) == info
    assert names(store.layers_root) == [diff.removeprefix("sha256:")]
    assert names(store.layer_scratch_root) == []


def lsattr_flags(path: Path) -> str:
    """e2fsprogs' lsattr, the oracle: the attribute letters of the directory `path`."""
    out = subprocess.run(["lsattr", "-d", str(path)], capture_output=True, text=True, check=True)
    return out.stdout.split()[0]


def test_layers_are_made_as_top_level_trees(tmp_path: Path, store: Layout) -> None:
    """The scratch root has chattr's 'T' where the filesystem has it (ext2/3/4), so each layer's
    tree starts in a block group of its own; elsewhere the unpack goes on without it."""
    probe = tmp_path / "probe"
    probe.mkdir()
    topdir_supported = (
        subprocess.run(["chattr", "+T", str(probe)], capture_output=True).returncode == 0
    )
    blob, diff = write_blob(tmp_path, [member("hello", data=b"world")])
    layers.ensure_layer(store, diff, None, blob, diff, rootless=False)
    assert (store.layer_diff(diff) / "hello").read_bytes() == b"world"
    assert ("T" in lsattr_flags(store.layer_scratch_root)) == topdir_supported


def test_ensure_layer_records_the_parent(tmp_path: Path, store: Layout) -> None:
    blob0, diff0 = write_blob(tmp_path, [member("a")], "b0")
    blob1, diff1 = write_blob(tmp_path, [member("b")], "b1")
    chain0, chain1 = layers.chain_ids([diff0, diff1])
    layers.ensure_layer(store, chain0, None, blob0, diff0, rootless=False)
    info = layers.ensure_layer(store, chain1, chain0, blob1, diff1, rootless=False)
    assert info.parent == chain0 and info.chain_id == chain1


def test_diff_id_mismatch_keeps_nothing(tmp_path: Path, store: Layout) -> None:
    blob, diff = write_blob(tmp_path, [member("hello", data=b"world")])
    wrong = "sha256:" + "0" * 64
    with pytest.raises(DigestMismatchError, match=wrong):
        layers.ensure_layer(store, wrong, None, blob, wrong, rootless=False)
    assert_nothing_stored(store)


def test_failed_hostile_layer_leaves_no_partial_dir(
    tmp_path: Path, store: Layout, outside: Path
) -> None:
    blob, diff = write_blob(tmp_path, [member("ok", data=b"1"), member("../escape", data=b"x")])
    with pytest.raises(UnsafeContentError):
        layers.ensure_layer(store, diff, None, blob, diff, rootless=False)
    assert_nothing_stored(store)
    assert not layers.layer_exists(store, diff)


def feeding(data: bytes, chunk: int = 4096, then: BaseException | None = None, sent=None):
    """A feed handing `data` over in pieces, as a download does, then raising `then` (what a
    digest that does not check raises); `sent` counts the pieces the unpacker took."""

    def feed(write) -> None:
        for start in range(0, len(data), chunk):
            write(data[start : start + chunk])
            if sent is not None:
                sent.append(1)
        if then is not None:
            raise then

    return feed


def test_a_fed_layer_unpacks_as_it_arrives(tmp_path: Path, store: Layout) -> None:
    members = [directory("d", mode=0o750), member("d/f", data=os.urandom(50_000), mode=0o640)]
    blob, diff = write_blob(tmp_path, members)
    feed = feeding(blob.read_bytes())
    info = layers.ensure_layer(
        store, diff, None, tmp_path / "absent", diff, rootless=False, feed=feed
    )
    assert info.diff_id == diff and info.size == len(make_tar(members))
    unpacked = store.layer_diff(diff)
    assert (unpacked / "d/f").read_bytes() == members[1][1]
    assert stat.S_IMODE((unpacked / "d").stat().st_mode) == 0o750
    assert stat.S_IMODE((unpacked / "d/f").stat().st_mode) == 0o640
    assert names(store.layer_scratch_root) == []


def test_a_fed_blob_failing_its_digest_leaves_nothing(tmp_path: Path, store: Layout) -> None:
    """The whole blob arrived and unpacked to the right diff id, but the download's digest
    check failed after it: the layer must never become visible."""
    blob, diff = write_blob(tmp_path, [member("hello", data=b"world")])
    feed = feeding(blob.read_bytes(), then=DigestMismatchError("blob digest mismatch"))
    with pytest.raises(DigestMismatchError, match="blob digest mismatch"):
        layers.ensure_layer(store, diff, None, tmp_path / "absent", diff, rootless=False, feed=feed)
    assert_nothing_stored(store)
    assert not layers.layer_exists(store, diff)


def test_a_hostile_fed_layer_stops_the_download(tmp_path: Path, store: Layout) -> None:
    hostile = [member("../escape", data=b"x"), member("pad", data=os.urandom(1 << 20) * 64)]
    blob, diff = write_blob(tmp_path, hostile)
    sent: list[int] = []
    feed = feeding(blob.read_bytes(), chunk=1 << 20, sent=sent)
    with pytest.raises(UnsafeContentError, match="outside"):
        layers.ensure_layer(store, diff, None, tmp_path / "absent", diff, rootless=False, feed=feed)
    assert len(sent) < 32  # the download was cut short, not run to its end
    assert_nothing_stored(store)
    assert not (tmp_path / "escape").exists()


def test_incomplete_layer_dir_is_redone(tmp_path: Path, store: Layout) -> None:
    blob, diff = write_blob(tmp_path, [member("hello", data=b"world")])
    stale = store.layer_diff(diff)
    stale.mkdir(parents=True)
    (stale / "junk").write_text("from a crash after the rename")
    layers.ensure_layer(store, diff, None, blob, diff, rootless=False)
    assert sorted(p.name for p in store.layer_diff(diff).iterdir()) == ["hello"]


def test_remove_layer(tmp_path: Path, store: Layout) -> None:
    blob, diff = write_blob(tmp_path, [directory("d", mode=0o500), member("d/f", mode=0o400)])
    layers.ensure_layer(store, diff, None, blob, diff, rootless=False)
    assert layers.remove_layer(store, diff, rootless=False)
    assert not layers.layer_exists(store, diff)
    assert_nothing_stored(store)
    assert not layers.remove_layer(store, diff, rootless=False)


def test_cleanup_removes_leftovers_of_dead_writers_only(tmp_path: Path, store: Layout) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    busy_chain, dead_chain = "b" * 64, "d" * 64
    leftover = store.layer_scratch_dir(dead_chain, "partial", dead.pid)
    (leftover / "diff" / "sub").mkdir(parents=True)
    removing = store.layer_scratch_dir(dead_chain, "removing", dead.pid)
    removing.mkdir()
    in_progress = store.layer_scratch_dir(busy_chain, "partial", os.getpid())
    in_progress.mkdir()
    unrelated = store.layer_scratch_root / ("c" * 64)
    unrelated.mkdir()
    with locked(store.layer_lock(busy_chain)):
        removed = layers.cleanup_partial_layers(store)
    assert removed == sorted([leftover.name, removing.name])
    assert names(store.layer_scratch_root) == sorted([in_progress.name, unrelated.name])


KILLED_WRITER = """
import sys
from pathlib import Path
from pod.store.layers import ensure_layer
from pod.store.layout import Layout
root, blob, diff = sys.argv[1:4]
ensure_layer(Layout(Path(root), Path(root) / "run"), diff, None, Path(blob), diff, rootless=False)
"""


def test_kill_9_mid_unpack_is_cleaned_up(tmp_path: Path, store: Layout) -> None:
    files = [member(f"d{i}/f{j}", data=b"x" * 512) for i in range(60) for j in range(200)]
    blob, diff = write_blob(tmp_path, files)
    args = [str(store.root), str(blob), diff]
    writer = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, *args], cwd="/")
    partial = store.layer_scratch_dir(diff, "partial", writer.pid)
    deadline = time.monotonic() + 60
    while not (partial / "diff" / "d1").exists() and time.monotonic() < deadline:
        time.sleep(0.005)
    writer.kill()
    writer.wait()
    assert partial.is_dir(), "the writer finished before it could be killed"
    assert not layers.layer_exists(store, diff)
    assert layers.cleanup_partial_layers(store) == [partial.name]
    assert_nothing_stored(store)
    info = layers.ensure_layer(store, diff, None, blob, diff, rootless=False)
    assert info.diff_id == diff


def test_damaged_meta_is_a_store_error(store: Layout) -> None:
    chain = "sha256:" + "e" * 64
    store.layer_dir(chain).mkdir(parents=True)
    store.layer_meta(chain).write_text('{"chain_id": "x"}')
    with pytest.raises(StoreError, match="damaged"):
        layers.read_layer_info(store, chain)
