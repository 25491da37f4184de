"""store.layer_squash: several layer blobs squashed into one, in layer_diff's format, with the
stack's semantics kept (on an empty base, and on a base the squashed layer is put on again)."""

from __future__ import annotations

import gzip
import os
import stat
import subprocess
import tarfile
import zlib
from pathlib import Path

import pytest
from layer_tars import (
    Member,
    compress,
    directory,
    hardlink,
    make_tar,
    member,
    sha256_digest,
    symlink,
)

from pod.errors import UnsafeContentError
from pod.store import layers
from pod.store.layer_diff import LayerDiff, write_layer
from pod.store.layer_squash import squash_blobs

STAMP = 1_700_000_000
OPQ = layers._OPAQUE_MARKER

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (chown, mknod, mount)")


# --- building layers ------------------------------------------------------------------------------


def whiteout(path: str) -> Member:
    parent, _, name = path.rpartition("/")
    return member(f"{parent}/.wh.{name}" if parent else f".wh.{name}")


def opaque(path: str) -> Member:
    return member(f"{path}/{OPQ}")


def write_blobs(
    where: Path, stack: list[list[Member]], compressions: list[str] | None = None
) -> list[Path]:
    where.mkdir(exist_ok=True)
    blobs = []
    for index, members in enumerate(stack):
        compression = compressions[index] if compressions else "gzip"
        blob = where / f"layer{index}.{compression}"
        blob.write_bytes(compress(make_tar(members), compression))
        blobs.append(blob)
    return blobs


def squash(
    tmp_path: Path,
    stack: list[list[Member]],
    *,
    on_top_of_base: bool = True,
    timestamp: int | None = None,
    out: str = "squashed.tgz",
) -> tuple[LayerDiff, Path]:
    blobs = write_blobs(tmp_path / "in", stack)
    blob_out = tmp_path / out
    result = squash_blobs(blobs, blob_out, timestamp=timestamp, on_top_of_base=on_top_of_base)
    return result, blob_out


# --- reading the result back ----------------------------------------------------------------------


def read(blob: Path) -> list[tuple[tarfile.TarInfo, bytes | None]]:
    with tarfile.open(blob, "r:gz", encoding="utf-8", errors="surrogateescape") as tar:
        entries = []
        for info in tar:
            handle = tar.extractfile(info) if info.isreg() else None
            entries.append((info, handle.read() if handle else None))
        return entries


def names(blob: Path) -> list[str]:
    """Entry names in written order, directories with a trailing `/`."""
    return [info.name + ("/" if info.isdir() else "") for info, _ in read(blob)]


def by_name(blob: Path) -> dict[str, tuple[tarfile.TarInfo, bytes | None]]:
    return {info.name: (info, data) for info, data in read(blob)}


# --- later layers win ---------------------------------------------------------------------------


def test_later_files_win_and_directories_merge(tmp_path: Path) -> None:
    lower = [
        directory("d", mode=0o700),
        member("d/x", data=b"x1"),
        member("d/keep", data=b"keep"),
        member("a", data=b"one"),
    ]
    upper = [directory("d", mode=0o750), member("d/x", data=b"x2", mode=0o600), member("b")]
    result, blob = squash(tmp_path, [lower, upper])

    assert names(blob) == ["a", "b", "d/", "d/keep", "d/x"]
    got = by_name(blob)
    assert got["d/x"][1] == b"x2" and got["d/x"][0].mode == 0o600
    assert got["d/keep"][1] == b"keep"
    assert got["a"][1] == b"one"
    assert got["d"][0].mode == 0o750  # the later header of a merged directory
    assert not result.empty


def test_member_names_are_normalised(tmp_path: Path) -> None:
    stack = [[directory("./etc/"), member("/etc/a", data=b"a"), member("etc//b/", data=b"b")]]
    _, blob = squash(tmp_path, stack)
    assert names(blob) == ["etc/", "etc/a", "etc/b"]
    assert by_name(blob)["etc/b"][1] == b"b"


def test_file_replacing_a_directory_drops_its_children(tmp_path: Path) -> None:
    lower = [directory("d"), member("d/x"), directory("d/sub"), member("d/sub/y")]
    upper = [member("d", data=b"now a file")]
    _, blob = squash(tmp_path, [lower, upper])
    assert names(blob) == ["d"]
    assert by_name(blob)["d"][1] == b"now a file"


@pytest.mark.parametrize("on_top_of_base", [True, False])
def test_directory_replacing_a_file_hides_the_base_only_on_a_base(
    tmp_path: Path, on_top_of_base: bool
) -> None:
    """Under the squashed file, the base's entry of that name was hidden: it must stay so."""
    stack = [[member("p", data=b"file")], [directory("p"), member("p/in")]]
    _, blob = squash(tmp_path, stack, on_top_of_base=on_top_of_base)
    marker = [f"p/{OPQ}"] if on_top_of_base else []
    assert names(blob) == ["p/", *marker, "p/in"]


def test_directories_without_a_header_are_what_extraction_makes(tmp_path: Path) -> None:
    """In the stack the topmost layer's directory is seen, made 0755 and root's where that
    layer has no header for it; its own header counts wherever it comes in the tar."""
    stack = [
        [directory("d", mode=0o700, uid=5), member("d/x"), directory("e", mode=0o700)],
        [member("d/y"), member("e/z"), directory("e", mode=0o711, uid=7), member("u/v/w")],
    ]
    _, blob = squash(tmp_path, stack, timestamp=STAMP)
    assert names(blob) == ["d/", "d/x", "d/y", "e/", "e/z", "u/", "u/v/", "u/v/w"]
    got = {name: got[0] for name, got in by_name(blob).items()}
    for name in ("d", "u", "u/v"):
        assert (got[name].mode, got[name].uid, got[name].mtime) == (0o755, 0, STAMP)
    assert (got["e"].mode, got["e"].uid) == (0o711, 7)


def test_a_root_entry_is_kept_only_from_the_top_layer(tmp_path: Path) -> None:
    """Every layer has a root of its own: an earlier layer's `./` header is not what is seen."""
    lower = [directory("./", mode=0o700), member("a")]
    _, blob = squash(tmp_path, [lower, [member("b")]], out="no-root.tgz")
    assert names(blob) == ["a", "b"]
    _, blob = squash(tmp_path, [lower, [member("b"), directory(".", mode=0o711)]])
    assert names(blob) == ["./", "a", "b"]
    assert read(blob)[0][0].mode == 0o711
    with pytest.raises(UnsafeContentError, match="root"):
        squash(tmp_path, [[member("./", data=b"not a dir")]], out="bad.tgz")


# --- deletions --------------------------------------------------------------------------------


@pytest.mark.parametrize("on_top_of_base", [True, False])
def test_deletions(tmp_path: Path, on_top_of_base: bool) -> None:
    lower = [directory("etc"), member("etc/gone", data=b"g"), member("etc/keep", data=b"k")]
    upper = [
        directory("etc"),
        whiteout("etc/gone"),  # deletes a squashed file (and the base's, if it has one)
        whiteout("etc/base-only"),  # deletes nothing squashed: only the base's
        whiteout("top"),
    ]
    result, blob = squash(tmp_path, [lower, upper], on_top_of_base=on_top_of_base)
    if on_top_of_base:
        assert names(blob) == ["etc/", "etc/.wh.base-only", "etc/.wh.gone", "etc/keep", ".wh.top"]
        marker = by_name(blob)["etc/.wh.gone"][0]
        assert (marker.mode, marker.uid, marker.gid, marker.size) == (0, 0, 0, 0)
    else:
        assert names(blob) == ["etc/", "etc/keep"]
    assert not result.empty


def test_deleting_everything_on_an_empty_base_is_empty(tmp_path: Path) -> None:
    stack = [[member("a", data=b"a")], [whiteout("a"), whiteout("never-there")]]
    result, blob = squash(tmp_path, stack, on_top_of_base=False)
    assert names(blob) == []
    assert result.empty
    kept, _ = squash(tmp_path, stack, on_top_of_base=True, out="kept.tgz")
    assert not kept.empty and names(tmp_path / "kept.tgz") == [".wh.a", ".wh.never-there"]


@pytest.mark.parametrize("on_top_of_base", [True, False])
def test_deleted_then_recreated_directory_is_opaque(tmp_path: Path, on_top_of_base: bool) -> None:
    stack = [
        [directory("d"), member("d/old", data=b"old")],
        [whiteout("d")],
        [directory("d", mode=0o700), member("d/new", data=b"new")],
    ]
    _, blob = squash(tmp_path, stack, on_top_of_base=on_top_of_base)
    marker = [f"d/{OPQ}"] if on_top_of_base else []
    assert names(blob) == ["d/", *marker, "d/new"]
    assert by_name(blob)["d"][0].mode == 0o700


def test_deleted_then_recreated_file_needs_no_whiteout(tmp_path: Path) -> None:
    stack = [[member("f", data=b"1")], [whiteout("f")], [member("f", data=b"3")]]
    _, blob = squash(tmp_path, stack)
    assert names(blob) == ["f"]
    assert by_name(blob)["f"][1] == b"3"


def test_recreated_under_a_deleted_directory_without_its_header(tmp_path: Path) -> None:
    """The later layer has `d` only implicitly: still a directory hiding the base's `d`."""
    stack = [[whiteout("d")], [member("d/new", data=b"n")]]
    _, blob = squash(tmp_path, stack, timestamp=STAMP)
    assert names(blob) == ["d/", f"d/{OPQ}", "d/new"]
    made = by_name(blob)["d"][0]
    assert (made.mode, made.uid, made.gid, made.mtime) == (0o755, 0, 0, STAMP)


def test_opaque_directories_keep_their_marker_and_hide_earlier_layers(tmp_path: Path) -> None:
    stack = [
        [directory("o"), member("o/old"), directory("o/sub"), member("o/sub/x"), whiteout("o/w")],
        [directory("o"), opaque("o"), member("o/new", data=b"new")],
        [directory("o"), member("o/newer")],
    ]
    _, blob = squash(tmp_path, stack)
    assert names(blob) == ["o/", f"o/{OPQ}", "o/new", "o/newer"]
    _, plain = squash(tmp_path, stack, on_top_of_base=False, out="plain.tgz")
    assert names(plain) == ["o/", "o/new", "o/newer"]


def test_whiteouts_under_a_hidden_path_are_dropped(tmp_path: Path) -> None:
    """Once the base is hidden at a path, deleting below it has nothing left to delete."""
    stack = [
        [directory("o"), opaque("o"), member("o/x")],
        [directory("o"), whiteout("o/x"), whiteout("o/base")],
    ]
    _, blob = squash(tmp_path, stack)
    assert names(blob) == ["o/", f"o/{OPQ}"]


def test_whiteout_and_entry_in_one_layer_replace_the_lower_entry(tmp_path: Path) -> None:
    """A layer's whiteouts apply to the layers below it, never to its own entries."""
    stack = [
        [directory("d"), member("d/lower"), member("f", data=b"lower")],
        [directory("d"), member("d/own"), whiteout("d"), member("f", data=b"own"), whiteout("f")],
    ]
    _, blob = squash(tmp_path, stack)
    assert names(blob) == ["d/", f"d/{OPQ}", "d/own", "f"]
    assert by_name(blob)["f"][1] == b"own"


# --- hardlinks --------------------------------------------------------------------------------


def test_hardlink_to_a_surviving_target_stays_a_link(tmp_path: Path) -> None:
    stack = [[member("f", data=b"shared", mode=0o640), hardlink("g", "f"), member("z")]]
    _, blob = squash(tmp_path, stack)
    got = by_name(blob)
    assert got["f"][1] == b"shared"
    assert got["g"][0].islnk() and got["g"][0].linkname == "f"


def test_hardlink_sorting_first_carries_the_data(tmp_path: Path) -> None:
    """Extraction needs a link's target written before it: the first name gets the data."""
    stack = [[member("z", data=b"data", mode=0o600), hardlink("a", "/z")]]
    _, blob = squash(tmp_path, stack)
    assert names(blob) == ["a", "z"]
    got = by_name(blob)
    assert got["a"][0].isreg() and got["a"][1] == b"data" and got["a"][0].mode == 0o600
    assert got["z"][0].islnk() and got["z"][0].linkname == "a"


def test_hardlink_whose_target_was_replaced_keeps_the_old_data(tmp_path: Path) -> None:
    stack = [
        [directory("d"), member("d/f", data=b"old"), hardlink("d/g", "d/f"), hardlink("h", "d/g")],
        [directory("d"), member("d/f", data=b"new")],
    ]
    _, blob = squash(tmp_path, stack)
    assert names(blob) == ["d/", "d/f", "d/g", "h"]
    got = by_name(blob)
    assert got["d/f"][1] == b"new"
    assert got["d/g"][0].isreg() and got["d/g"][1] == b"old"
    assert got["h"][0].islnk() and got["h"][0].linkname == "d/g"  # still one inode


def test_hardlink_whose_target_was_deleted(tmp_path: Path) -> None:
    stack = [[member("f", data=b"d"), hardlink("g", "f")], [whiteout("f")]]
    _, blob = squash(tmp_path, stack)
    assert names(blob) == [".wh.f", "g"]
    assert by_name(blob)["g"][1] == b"d"


def test_hardlink_to_another_layer_is_refused(tmp_path: Path) -> None:
    stack = [[member("f", data=b"d")], [hardlink("g", "f")]]
    with pytest.raises(UnsafeContentError, match="not in this layer"):
        squash(tmp_path, stack)
    assert not (tmp_path / "squashed.tgz").exists()


# --- metadata ---------------------------------------------------------------------------------


def test_modes_owners_xattrs_and_special_files_are_kept(tmp_path: Path) -> None:
    caps = "\x01\x00\x00\x02"
    file = member("bin/ping", data=b"ping", mode=0o4755, uid=1000, gid=1001)
    file[0].pax_headers = {
        "SCHILY.xattr.user.note": "n",
        "SCHILY.xattr.security.capability": caps,
        "SCHILY.xattr.trusted.overlay.opaque": "y",  # forged overlay metadata: dropped
        "atime": "5",
        "ctime": "6",
    }
    stack = [
        [
            directory("bin", mode=0o711, uid=2, gid=3),
            file,
            symlink("bin/sh", "busybox", uid=4),
            member("dev/null", tarfile.CHRTYPE, mode=0o666, devmajor=1, devminor=3),
            member("dev/loop0", tarfile.BLKTYPE, mode=0o660, devmajor=7, devminor=0),
            member("pipe", tarfile.FIFOTYPE, mode=0o620),
            directory("tmp", mode=0o1777),
        ]
    ]
    _, blob = squash(tmp_path, stack)
    got = by_name(blob)
    ping = got["bin/ping"][0]
    assert (ping.mode, ping.uid, ping.gid, ping.uname, ping.gname) == (0o4755, 1000, 1001, "", "")
    assert ping.pax_headers == {
        "SCHILY.xattr.security.capability": caps,
        "SCHILY.xattr.user.note": "n",
    }
    assert (got["bin"][0].mode, got["bin"][0].uid, got["bin"][0].gid) == (0o711, 2, 3)
    assert got["bin/sh"][0].issym() and got["bin/sh"][0].linkname == "busybox"
    assert got["bin/sh"][0].uid == 4
    null, loop = got["dev/null"][0], got["dev/loop0"][0]
    assert null.ischr() and (null.devmajor, null.devminor, null.mode) == (1, 3, 0o666)
    assert loop.isblk() and (loop.devmajor, loop.devminor) == (7, 0)
    assert got["pipe"][0].isfifo() and got["pipe"][0].mode == 0o620
    assert got["tmp"][0].mode == 0o1777


def test_own_mtimes_or_the_pinned_timestamp(tmp_path: Path) -> None:
    stack = [
        [directory("d", mtime=10), member("d/f", mtime=20), member("gone", mtime=25)],
        [whiteout("gone"), directory("e", mtime=30), opaque("e"), symlink("s", "d", mtime=40)],
    ]
    stack[1][0][0].mtime = 50  # the whiteout's own time
    _, blob = squash(tmp_path, stack, out="own.tgz")
    times = {info.name: info.mtime for info, _ in read(blob)}
    assert times == {"d": 10, "d/f": 20, "e": 30, f"e/{OPQ}": 30, ".wh.gone": 50, "s": 40}

    _, pinned = squash(tmp_path, stack, timestamp=STAMP, out="pinned.tgz")
    entries = read(pinned)
    assert len(entries) == 6 and all(info.mtime == STAMP for info, _ in entries)
    # No atime/ctime records, only xattrs (none here): nothing from the squashing host.
    assert all(info.pax_headers == {} for info, _ in entries)


# --- the blob ---------------------------------------------------------------------------------


STACK: list[list[Member]] = [
    [directory("etc"), member("etc/a", data=b"a" * 5000), member("etc/b", data=b"b")],
    [directory("etc"), member("etc/a", data=b"A"), whiteout("etc/b"), symlink("l", "etc/a")],
    [directory("var"), opaque("var"), member("var/x", data=os.urandom(70_000))],
]


def test_digests_sizes_and_gzip_header(tmp_path: Path) -> None:
    result, blob = squash(tmp_path, STACK)
    data = blob.read_bytes()
    raw = gzip.decompress(data)
    assert result.digest == sha256_digest(data) and result.blob_size == len(data)
    assert result.diff_id == sha256_digest(raw) and result.size == len(raw)
    assert len(raw) % (20 * 512) == 0
    # No file name, mtime 0, level 6: layer_diff's gzip exactly.
    assert data[:10] == b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
    deflate = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS, 8, 0)
    assert data[10:-8] == deflate.compress(raw) + deflate.flush()


def test_same_input_gives_the_same_bytes_whatever_the_compression(tmp_path: Path) -> None:
    result, first = squash(tmp_path, STACK, out="one.tgz")
    again, second = squash(tmp_path, STACK, out="two.tgz")
    assert again == result and first.read_bytes() == second.read_bytes()

    blobs = write_blobs(tmp_path / "mixed", STACK, ["none", "zstd", "gzip"])
    mixed = squash_blobs(blobs, tmp_path / "three.tgz", timestamp=None, on_top_of_base=True)
    assert mixed == result and (tmp_path / "three.tgz").read_bytes() == first.read_bytes()
    # The decompressed copies are gone: only the inputs and outputs are left.
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "in",
        "mixed",
        "one.tgz",
        "three.tgz",
        "two.tgz",
    ]
    assert sorted(p.name for p in (tmp_path / "mixed").iterdir()) == [
        "layer0.none",
        "layer1.zstd",
        "layer2.gzip",
    ]


@pytest.mark.parametrize(
    "bad",
    [
        member("a/../../etc/passwd", data=b"x"),
        member("a/../b", data=b"x"),
        member("../.wh.x"),
        hardlink("ok", "../etc/shadow"),
        member(".wh.."),
    ],
)
def test_escaping_names_are_refused_and_leave_nothing(tmp_path: Path, bad: Member) -> None:
    stack = [[member("fine", data=b"f")], [directory("a"), bad]]
    with pytest.raises(UnsafeContentError):
        squash(tmp_path, stack)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]


@pytest.mark.parametrize("blob", [b"", b"\x1f\x8b\x08garbage", b"not a tar at all" * 64])
def test_broken_blobs_are_unsafe_content(tmp_path: Path, blob: bytes) -> None:
    (tmp_path / "bad").write_bytes(blob)
    with pytest.raises(UnsafeContentError):
        squash_blobs([tmp_path / "bad"], tmp_path / "out", timestamp=None, on_top_of_base=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad"]


def test_sizes_are_bounded(tmp_path: Path) -> None:
    blobs = write_blobs(tmp_path / "in", [[member("big", data=b"x" * 5000)]])
    with pytest.raises(UnsafeContentError, match="larger than"):
        squash_blobs(blobs, tmp_path / "out", timestamp=None, on_top_of_base=True, max_size=4096)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]


def test_truncated_member_data_is_unsafe_content(tmp_path: Path) -> None:
    raw = make_tar([member("big", data=b"x" * 4096)])
    (tmp_path / "cut").write_bytes(gzip.compress(raw[: 1024 + 1000]))
    with pytest.raises(UnsafeContentError):
        squash_blobs([tmp_path / "cut"], tmp_path / "out", timestamp=None, on_top_of_base=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cut"]


# --- against the real thing (root: whiteout devices, trusted xattrs, overlay) ---------------------


@needs_root
def test_one_layer_from_write_layer_comes_back_byte_identical(tmp_path: Path) -> None:
    """Squashing a single layer_diff layer rewrites it exactly: the very same format."""
    upper = tmp_path / "upper"
    (upper / "etc/sub").mkdir(parents=True)
    (upper / "etc/passwd").write_bytes(b"root:x:0:0\n")
    os.chmod(upper / "etc/passwd", 0o640)
    os.chown(upper / "etc/passwd", 1000, 1001)
    os.setxattr(upper / "etc/passwd", "user.note", b"note")
    os.link(upper / "etc/passwd", upper / "etc/alias")
    os.symlink("passwd", upper / "etc/sym")
    os.mknod(upper / "etc/gone", stat.S_IFCHR | 0o600, 0)  # an overlay whiteout
    (upper / "opq").mkdir()
    os.setxattr(upper / "opq", layers.ROOTFUL_OPAQUE_XATTR, b"y")
    (upper / "opq/f").write_bytes(b"f")
    os.mkfifo(upper / "fifo")
    original = tmp_path / "layer.tgz"
    made = write_layer(upper, original, timestamp=None, opaque_xattr=layers.ROOTFUL_OPAQUE_XATTR)

    result = squash_blobs([original], tmp_path / "again.tgz", timestamp=None, on_top_of_base=True)
    assert (tmp_path / "again.tgz").read_bytes() == original.read_bytes()
    assert result == made


def view_entry(path: Path) -> tuple:
    """What a tree shows of one entry: type, mode, owner, content and xattrs (mtimes of
    non-directories too: implicit parent directories have the time they were unpacked)."""
    st = os.lstat(path)
    xattrs = {
        name: os.getxattr(path, name, follow_symlinks=False)
        for name in sorted(os.listxattr(path, follow_symlinks=False))
        if not name.startswith(("trusted.overlay.", "user.overlay."))
    }
    if stat.S_ISREG(st.st_mode):
        detail: object = path.read_bytes()
    elif stat.S_ISLNK(st.st_mode):
        detail = os.readlink(path)
    else:
        detail = st.st_rdev
    mtime = None if stat.S_ISDIR(st.st_mode) else st.st_mtime
    return st.st_mode, st.st_uid, st.st_gid, detail, xattrs, mtime


def is_whiteout(st: os.stat_result) -> bool:
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def merged_view(lowers: list[Path]) -> dict[str, tuple]:
    """The overlayfs view of unpacked layers (top first), computed: an entry comes from the
    topmost layer having it; whiteouts, opaque directories and non-directories end the merge."""
    view: dict[str, tuple] = {}

    def walk(rel: str, dirs: list[Path]) -> None:
        for name in sorted({name for d in dirs for name in os.listdir(d / rel)}):
            path = f"{rel}/{name}" if rel else name
            found: list[Path] = []
            for layer in dirs:
                st = os.lstat(layer / path) if os.path.lexists(layer / path) else None
                if st is None:
                    continue
                if is_whiteout(st):
                    break
                if not stat.S_ISDIR(st.st_mode):
                    if not found:
                        view[path] = view_entry(layer / path)
                    break
                found.append(layer)
                opaque_dir = os.listxattr(layer / path, follow_symlinks=False)
                if layers.ROOTFUL_OPAQUE_XATTR in opaque_dir:
                    break
            if found:
                view[path] = view_entry(found[0] / path)
                walk(path, found)

    walk("", lowers)
    return view


def mounted_view(lowers: list[Path], target: Path) -> dict[str, tuple]:
    """The real overlayfs view (lowerdirs only, top first); skips where overlay cannot mount."""
    target.mkdir()
    if len(lowers) == 1:  # overlayfs wants two lowerdirs when there is no upper one
        lowers = [*lowers, target.with_name(f"{target.name}.empty")]
        lowers[-1].mkdir()
    lowerdir = ":".join(str(p) for p in lowers)
    mount = ["mount", "-t", "overlay", "overlay", "-o", f"lowerdir={lowerdir}", str(target)]
    if subprocess.run(mount, capture_output=True).returncode != 0:
        pytest.skip("overlayfs cannot be mounted here")
    try:
        view: dict[str, tuple] = {}
        for dirpath, dirnames, filenames in os.walk(target):
            for name in dirnames + filenames:
                path = Path(dirpath, name)
                view[str(path.relative_to(target))] = view_entry(path)
        return view
    finally:
        subprocess.run(["umount", str(target)], check=True)


def unpack(blob: Path, dest: Path) -> Path:
    """layers.unpack_layer into a dir of its own, as the store keeps every layer."""
    dest.mkdir()
    with open(blob, "rb") as raw:
        reader = layers._decompressed(raw, layers.DEFAULT_MAX_SIZE)
        reader.drain()
    layers.unpack_layer(blob, dest, reader.digest, rootless=False, max_size=layers.DEFAULT_MAX_SIZE)
    return dest


BASE: list[Member] = [
    directory("etc"),
    member("etc/passwd", data=b"root:x:0:0\n"),
    member("etc/group", data=b"root:x:0:\n"),
    member("etc/keep", data=b"base keep"),
    directory("opt"),
    directory("opt/old"),
    member("opt/old/deep", data=b"deep"),
    directory("var"),
    directory("var/cache"),
    member("var/cache/x", data=b"cached"),
    directory("usr"),
    directory("usr/bin"),
    member("usr/bin/tool", data=b"tool", mode=0o755),
    directory("home"),
    directory("home/user", mode=0o700, uid=1000, gid=1000),
    member("home/user/.profile", data=b"profile", uid=1000, gid=1000),
    member("link-me", data=b"a file in the base"),
    directory("tmp", mode=0o1777),
]

SETUID_FILE = member("new/f", data=b"caps", mode=0o4755, uid=1000, gid=1000)
SETUID_FILE[0].pax_headers = {"SCHILY.xattr.user.note": "kept"}

INPUTS: list[list[Member]] = [
    [
        directory("etc"),
        member("etc/passwd", data=b"root:x:0:0\nuser:x:1000:1000\n", mode=0o600),
        whiteout("etc/group"),
        member("etc/new-file", data=b"new"),
        directory("opt"),
        whiteout("opt/old"),
        directory("var"),
        directory("var/cache"),
        opaque("var/cache"),
        member("var/cache/fresh", data=b"fresh"),
        directory("data"),
        member("data/a", data=b"a, linked"),
        hardlink("data/b", "data/a"),
        directory("data/sub"),
        member("data/sub/x", data=b"x"),
        member("gone-later", data=b"short-lived"),
        member("usr/bin/tool2", data=b"tool2", mode=0o755),  # parents implicit
    ],
    [
        directory("opt"),
        directory("opt/old", mode=0o750),
        member("opt/old/new", data=b"recreated"),
        directory("data"),
        member("data/a", data=b"a, replaced"),
        member("data/sub", data=b"a file now"),
        whiteout("gone-later"),
        directory("etc"),
        whiteout("etc/keep"),
        directory("home"),
        opaque("home/user"),  # home/user itself implicit
        symlink("sym", "etc/passwd"),
        member("fifo", tarfile.FIFOTYPE, mode=0o600),
    ],
    [
        directory("etc"),
        member("etc/group", data=b"recreated group\n"),
        directory("var"),
        directory("var/cache"),
        whiteout("var/cache/fresh"),
        directory("link-me", mode=0o700),
        member("link-me/child", data=b"child"),
        directory("new", mode=0o711),
        SETUID_FILE,
        member("dev/zero", tarfile.CHRTYPE, mode=0o666, devmajor=1, devminor=5),
    ],
]


@needs_root
@pytest.mark.parametrize("how", ["computed", "overlay"])
def test_squashed_layer_on_the_base_shows_the_same_tree(tmp_path: Path, how: str) -> None:
    base_blob, *input_blobs = write_blobs(
        tmp_path / "in", [BASE, *INPUTS], ["gzip", "gzip", "none", "zstd"]
    )
    on_base = tmp_path / "on-base.tgz"
    whole = tmp_path / "whole.tgz"
    squash_blobs(input_blobs, on_base, timestamp=None, on_top_of_base=True)
    squash_blobs([base_blob, *input_blobs], whole, timestamp=None, on_top_of_base=False)

    base = unpack(base_blob, tmp_path / "base")
    inputs = [unpack(blob, tmp_path / f"input{i}") for i, blob in enumerate(input_blobs)]
    squashed = unpack(on_base, tmp_path / "squashed")
    alone = unpack(whole, tmp_path / "whole")

    def view(lowers: list[Path], name: str) -> dict[str, tuple]:
        return merged_view(lowers) if how == "computed" else mounted_view(lowers, tmp_path / name)

    want = view([*reversed(inputs), base], "stack")
    assert view([squashed, base], "on-base") == want
    assert view([alone], "alone") == want

    # The cases the stack exercises, so an empty or trivial view cannot pass.
    assert want["etc/passwd"][3] == b"root:x:0:0\nuser:x:1000:1000\n"
    assert want["etc/group"][3] == b"recreated group\n"
    assert "etc/keep" not in want and "gone-later" not in want
    assert sorted(p for p in want if p.startswith("opt/")) == ["opt/old", "opt/old/new"]
    assert sorted(p for p in want if p.startswith("var/cache/")) == []
    assert [p for p in want if p.startswith("home/user/")] == []
    assert want["data/b"][3] == b"a, linked" and want["data/sub"][3] == b"a file now"
    assert want["link-me/child"][3] == b"child" and want["usr/bin/tool"][3] == b"tool"
    assert want["new/f"][:3] == (stat.S_IFREG | 0o4755, 1000, 1000)
    assert want["new/f"][4] == {"user.note": b"kept"}
    assert stat.S_ISCHR(want["dev/zero"][0]) and stat.S_ISFIFO(want["fifo"][0])
