"""store.layer_diff: overlay upper dirs written as reproducible OCI layers, read back and unpacked
again; the unpack worker's diff op; and layers.adopt_layer, which turns the upper dir into the
unpacked layer without a copy."""

from __future__ import annotations

import gzip
import hashlib
import os
import socket
import stat
import tarfile
import zlib
from pathlib import Path

import pytest

from pod.errors import StoreError
from pod.store import layer_diff, layers, unpack
from pod.store.layer_diff import LayerDiff, write_layer
from pod.store.layout import Layout
from pod.util.records import asdict

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (chown, mknod, xattrs)")

ROOTFUL = layers.ROOTFUL_OPAQUE_XATTR
ROOTLESS = layers.ROOTLESS_OPAQUE_XATTR
STAMP = 1_700_000_000
# A version 2 file capability (CAP_NET_RAW permitted), as setcap writes it.
CAP = bytes.fromhex("0100000200200000000000000000000000000000")
RECORD = 20 * 512  # tar pads the archive to whole records


# --- building upper dirs by hand ------------------------------------------------------------------


def other_opaque(xattr: str) -> str:
    return ROOTLESS if xattr == ROOTFUL else ROOTFUL


def make_socket(path: Path) -> None:
    """Bind relative to the directory: the socket path limit (108 bytes) is then no concern."""
    cwd = os.getcwd()
    os.chdir(path.parent)
    try:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.bind(path.name)
    finally:
        os.chdir(cwd)


def try_setxattr(path: Path, name: str, value: bytes) -> bool:
    try:
        os.setxattr(path, name, value)
    except OSError:
        return False
    return True


# (path, kind, attributes); parents come before children.
TREE: list[tuple[str, str, dict]] = [
    ("bin", "dir", {}),
    ("bin/ping", "file", {"data": b"ping", "mode": 0o755, "cap": True}),
    ("bin/su", "file", {"data": b"su", "mode": 0o4755}),
    ("dev", "dir", {}),
    ("dev/loop0", "blk", {"rdev": (7, 0), "mode": 0o660}),
    ("dev/null", "chr", {"rdev": (1, 3), "mode": 0o666}),
    ("etc", "dir", {}),
    ("etc/gone", "whiteout", {}),
    ("etc/passwd", "file", {"data": b"root:x:0:0\n", "mode": 0o640, "owner": 1000}),
    ("home", "dir", {"mode": 0o2775, "owner": 1000, "decoy": True}),
    ("home/a", "file", {"data": b"one inode, two names"}),
    ("home/b", "link", {"target": "home/a"}),
    ("opaque", "dir", {"opaque": True}),
    ("opaque/new", "file", {"data": b"new"}),
    ("pipe", "fifo", {"mode": 0o620}),
    ("sock", "socket", {}),
    ("sym", "symlink", {"target": "etc/passwd"}),
    ("tmp", "dir", {"mode": 0o1777}),
]


def create(root: Path, rel: str, kind: str, attrs: dict) -> None:
    path = root / rel
    if kind == "dir":
        path.mkdir()
    elif kind == "file":
        path.write_bytes(attrs["data"])
    elif kind == "whiteout":
        os.mknod(path, stat.S_IFCHR | 0o600, 0)
    elif kind in ("chr", "blk"):
        kind_bits = stat.S_IFCHR if kind == "chr" else stat.S_IFBLK
        os.mknod(path, kind_bits | 0o600, os.makedev(*attrs["rdev"]))
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "socket":
        make_socket(path)
    elif kind == "symlink":
        os.symlink(attrs["target"], path)
    elif kind == "link":
        os.link(root / attrs["target"], path)


def finish(root: Path, rel: str, kind: str, attrs: dict, opaque: str) -> None:
    """Owner first (chown drops setuid bits and capabilities), then mode and xattrs."""
    path = root / rel
    if "owner" in attrs:
        os.chown(path, attrs["owner"], attrs["owner"])
    if "mode" in attrs:
        os.chmod(path, attrs["mode"])
    if kind == "file":
        os.setxattr(path, "user.note", rel.encode())
        # Overlay's bookkeeping on a copied-up file: never part of the layer.
        os.setxattr(path, "trusted.overlay.origin", b"\x00\xfb")
    if attrs.get("cap"):
        try_setxattr(path, "security.capability", CAP)
    if attrs.get("opaque"):
        os.setxattr(path, opaque, b"y")
    if attrs.get("decoy"):  # the other mode's opaque xattr: neither opaque nor written
        os.setxattr(path, other_opaque(opaque), b"y")


def build_upper(root: Path, opaque: str = ROOTFUL, reverse: bool = False) -> Path:
    """TREE under `root`; `reverse` creates the non-directories the other way round, so the
    same content ends up with another inode order."""
    root.mkdir(parents=True)
    dirs = [entry for entry in TREE if entry[1] == "dir"]
    others = [entry for entry in TREE if entry[1] != "dir"]
    if reverse:
        others = [e for e in others if e[1] != "link"][::-1] + [e for e in others if e[1] == "link"]
    for rel, kind, attrs in dirs + others:
        create(root, rel, kind, attrs)
    for rel, kind, attrs in TREE:
        finish(root, rel, kind, attrs, opaque)
    return root


def set_all_mtimes(root: Path, mtime: float) -> None:
    """Every entry's mtime (and atime), deepest first so directories keep theirs."""
    for dirpath, dirnames, filenames in os.walk(root, topdown=False):
        for name in filenames + dirnames:
            os.utime(os.path.join(dirpath, name), (mtime, mtime), follow_symlinks=False)
    os.utime(root, (mtime, mtime))


# --- reading layers back --------------------------------------------------------------------------


def read_members(blob: Path) -> list[tarfile.TarInfo]:
    with tarfile.open(blob, "r:gz", encoding="utf-8", errors="surrogateescape") as tar:
        return tar.getmembers()


def raw_name(raw: bytes, member: tarfile.TarInfo) -> bytes:
    """The name field of the member's own ustar header (tarfile strips a directory's `/`)."""
    header = raw[member.offset_data - 512 : member.offset_data]
    return header[:100].rstrip(b"\0")


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def xattrs(member: tarfile.TarInfo) -> dict[str, str]:
    return {
        key.removeprefix("SCHILY.xattr."): value
        for key, value in member.pax_headers.items()
        if key.startswith("SCHILY.xattr.")
    }


EXPECTED_NAMES = [
    "bin",
    "bin/ping",
    "bin/su",
    "dev",
    "dev/loop0",
    "dev/null",
    "etc",
    "etc/.wh.gone",
    "etc/passwd",
    "home",
    "home/a",
    "home/b",
    "opaque",
    "opaque/.wh..wh..opq",
    "opaque/new",
    "pipe",
    "sym",
    "tmp",
]


# --- the tar ----------------------------------------------------------------------------------


def test_entries_types_owners_modes_and_order(tmp_path: Path) -> None:
    upper = build_upper(tmp_path / "upper")
    has_cap = os.getxattr(upper / "bin/ping", "security.capability") == CAP
    set_all_mtimes(upper, 1_234_567_890.75)
    blob = tmp_path / "layer.tar.gz"
    result = write_layer(upper, blob, timestamp=None, opaque_xattr=ROOTFUL)

    assert not result.empty
    members = read_members(blob)
    assert [m.name for m in members] == EXPECTED_NAMES  # sorted, parents first, no socket
    by_name = {m.name: m for m in members}
    raw = gzip.decompress(blob.read_bytes())
    for m in members:
        assert m.uname == "" and m.gname == ""
        assert m.mtime == 1_234_567_890  # whole seconds of the file's own mtime
        assert not {"atime", "ctime", "mtime", "uname", "gname"} & set(m.pax_headers)
        assert not m.name.startswith(("/", "./"))
        assert raw_name(raw, m) == (m.name + "/" if m.isdir() else m.name).encode()
    assert b"atime=" not in raw and b"ctime=" not in raw

    assert by_name["bin/su"].isfile() and by_name["bin/su"].mode == 0o4755
    assert by_name["home"].isdir() and by_name["home"].mode == 0o2775
    assert (by_name["home"].uid, by_name["home"].gid) == (1000, 1000)
    assert by_name["tmp"].mode == 0o1777
    passwd = by_name["etc/passwd"]
    assert (passwd.uid, passwd.gid, passwd.mode, passwd.size) == (1000, 1000, 0o640, 11)
    assert by_name["bin/ping"].uid == 0 and by_name["bin/ping"].mode == 0o755

    assert by_name["dev/null"].ischr()
    assert (by_name["dev/null"].devmajor, by_name["dev/null"].devminor) == (1, 3)
    assert by_name["dev/loop0"].isblk() and by_name["dev/loop0"].devmajor == 7
    assert by_name["pipe"].isfifo() and by_name["pipe"].mode == 0o620
    assert by_name["sym"].issym() and by_name["sym"].linkname == "etc/passwd"
    assert by_name["home/a"].isfile() and by_name["home/a"].size == 20
    assert by_name["home/b"].islnk() and by_name["home/b"].linkname == "home/a"

    for marker in ("etc/.wh.gone", "opaque/.wh..wh..opq"):
        entry = by_name[marker]
        assert entry.isfile() and entry.size == 0
        assert (entry.mode, entry.uid, entry.gid) == (0, 0, 0)
    assert "etc/gone" not in by_name

    # Overlay's own xattrs never leave; the decoy does not make `home` opaque.
    assert "home/.wh..wh..opq" not in by_name
    for m in members:
        assert not any(name.startswith(("trusted.overlay.", "user.overlay.")) for name in xattrs(m))
    assert xattrs(by_name["etc/passwd"]) == {"user.note": "etc/passwd"}
    if has_cap:
        value = xattrs(by_name["bin/ping"])["security.capability"]
        assert value.encode("utf-8", "surrogateescape") == CAP


def test_digests_sizes_and_gzip_header(tmp_path: Path) -> None:
    upper = build_upper(tmp_path / "upper")
    blob = tmp_path / "layer.tar.gz"
    result = write_layer(upper, blob, timestamp=STAMP, opaque_xattr=ROOTFUL)

    data = blob.read_bytes()
    raw = gzip.decompress(data)
    assert result.digest == sha256(data) and result.blob_size == len(data)
    assert result.diff_id == sha256(raw) and result.size == len(raw)
    assert len(raw) % RECORD == 0
    # No file name (flags 0), mtime 0, no extra-flags hint, OS "unknown": nothing from the host.
    assert data[:10] == b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
    deflate = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS, 8, 0)
    assert data[10:-8] == deflate.compress(raw) + deflate.flush()  # level 6


def test_identical_trees_give_identical_blobs_with_a_timestamp(tmp_path: Path) -> None:
    def inode_order(root: Path) -> list[str]:
        """The non-directories by inode number. The order of two names in different directories
        may be fixed by the file system (ext4 numbers inodes by block group), so the whole order
        is compared: names that share a directory follow their creation order."""
        entries = [rel for rel, kind, _ in TREE if kind != "dir"]
        return sorted(entries, key=lambda rel: (os.lstat(root / rel).st_ino, rel))

    one = build_upper(tmp_path / "one")
    # A freed inode number may be handed out again in any order: build the reversed tree again
    # (keeping the earlier tries, which use up those numbers) until its order really differs.
    for attempt in range(8):
        two = build_upper(tmp_path / f"two{attempt}", reverse=True)
        if inode_order(two) != inode_order(one):
            break
    assert inode_order(two) != inode_order(one)  # the trees really differ on disk
    set_all_mtimes(one, 1_000_000_000)
    set_all_mtimes(two, 1_100_000_000)
    os.utime(two / "home/a", (5, 1_100_000_000))  # another atime

    plain = [
        write_layer(root, tmp_path / f"{root.name}.plain", timestamp=None, opaque_xattr=ROOTFUL)
        for root in (one, two)
    ]
    assert plain[0].digest != plain[1].digest  # the mtimes are content without a timestamp

    stamped = [
        write_layer(root, tmp_path / f"{root.name}.tgz", timestamp=STAMP, opaque_xattr=ROOTFUL)
        for root in (one, two)
    ]
    assert stamped[0] == stamped[1]
    assert (tmp_path / "one.tgz").read_bytes() == (tmp_path / f"{two.name}.tgz").read_bytes()
    assert all(m.mtime == STAMP for m in read_members(tmp_path / "one.tgz"))
    # The trees now carry the timestamp too (symlinks, whiteouts and directories included).
    for root in (one, two):
        for dirpath, dirnames, filenames in os.walk(root):
            for name in [*dirnames, *filenames]:
                assert os.lstat(os.path.join(dirpath, name)).st_mtime == STAMP
        assert os.lstat(root).st_mtime == STAMP
    # Writing again is still byte-identical.
    again = write_layer(one, tmp_path / "again.tgz", timestamp=STAMP, opaque_xattr=ROOTFUL)
    assert again == stamped[0]


def test_exclude_skips_only_empty_mount_points(tmp_path: Path) -> None:
    upper = tmp_path / "upper"
    for directory in ("etc", "run", "proc", "tmp", "dev/shm", "mnt"):
        (upper / directory).mkdir(parents=True)
    (upper / "etc/hosts").touch()
    (upper / "etc/resolv.conf").write_bytes(b"nameserver 10.0.0.1\n")
    (upper / "run/.containerenv").touch()
    (upper / "dev/console").touch()
    (upper / "tmp/keep").touch()
    (upper / "data").touch()
    os.setxattr(upper / "mnt", ROOTFUL, b"y")
    exclude = [
        "etc",
        "etc/hosts",
        "etc/resolv.conf",
        "./run/",
        "run/.containerenv",
        "/proc",
        "tmp",
        "dev",
        "dev/shm",
        "dev/console",
        "mnt",
    ]
    blob = tmp_path / "layer.tgz"
    result = write_layer(upper, blob, timestamp=STAMP, exclude=exclude, opaque_xattr=ROOTFUL)

    assert [m.name for m in read_members(blob)] == [
        "data",  # empty but not excluded
        "etc",  # excluded, but something inside is written (before it, as its parent)
        "etc/resolv.conf",  # excluded, but has content
        "mnt",  # excluded and empty, but opaque: it hides the lower layers' content
        "mnt/.wh..wh..opq",
        "tmp",
        "tmp/keep",
    ]
    assert not result.empty
    assert (upper / "etc/hosts").exists()  # the tree itself is left as it was


@pytest.mark.parametrize("stub", [False, True])
def test_nothing_to_write_is_empty(tmp_path: Path, stub: bool) -> None:
    upper = tmp_path / "upper"
    upper.mkdir()
    if stub:
        (upper / "etc").mkdir()
        (upper / "etc/hostname").touch()
    blob = tmp_path / "layer.tgz"
    result = write_layer(
        upper, blob, timestamp=STAMP, exclude=["etc", "etc/hostname"], opaque_xattr=ROOTFUL
    )
    assert result.empty
    assert read_members(blob) == []
    assert gzip.decompress(blob.read_bytes()) == b"\0" * RECORD
    assert result.size == RECORD and result.diff_id == sha256(b"\0" * RECORD)


def test_metacopy_upper_is_refused_and_leaves_no_blob(tmp_path: Path) -> None:
    upper = tmp_path / "upper"
    upper.mkdir()
    (upper / "big").touch()
    os.setxattr(upper / "big", "trusted.overlay.metacopy", b"")
    blob = tmp_path / "layer.tgz"
    with pytest.raises(StoreError, match="metacopy"):
        write_layer(upper, blob, timestamp=None, opaque_xattr=ROOTFUL)
    assert not blob.exists()


def test_unreadable_upper_is_a_store_error(tmp_path: Path) -> None:
    blob = tmp_path / "layer.tgz"
    with pytest.raises(StoreError, match="writing layer entry '/'"):
        write_layer(tmp_path / "missing", blob, timestamp=None, opaque_xattr=ROOTFUL)
    assert not blob.exists()


# --- round trip through the extractor -------------------------------------------------------------


def snapshot(root: Path, opaque: str) -> dict[str, tuple]:
    """What an unpacked layer must keep of each entry (the root itself is not an entry)."""
    seen: dict[str, tuple] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(dirnames + filenames):
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)
            st = os.lstat(path)
            if stat.S_ISSOCK(st.st_mode):
                continue
            if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
                seen[rel] = ("whiteout",)
                continue
            names = os.listxattr(path, follow_symlinks=False)
            kept = {
                n: os.getxattr(path, n, follow_symlinks=False)
                for n in names
                if n == opaque or not n.startswith(("trusted.overlay.", "user.overlay."))
            }
            if stat.S_ISREG(st.st_mode):
                detail: object = Path(path).read_bytes()
            elif stat.S_ISLNK(st.st_mode):
                detail = os.readlink(path)
            else:
                detail = st.st_rdev
            mode = st.st_mode if not stat.S_ISLNK(st.st_mode) else stat.S_IFLNK
            seen[rel] = (mode, st.st_uid, st.st_gid, st.st_mtime, detail, kept)
    return seen


@pytest.mark.parametrize("rootless", [False, True])
def test_round_trip_through_unpack_layer(tmp_path: Path, rootless: bool) -> None:
    opaque = layers.opaque_xattr(rootless)
    upper = build_upper(tmp_path / "upper", opaque=opaque)
    blob = tmp_path / "layer.tgz"
    result = write_layer(upper, blob, timestamp=STAMP, opaque_xattr=opaque)

    dest = tmp_path / "dest"
    dest.mkdir()
    unpacked = layers.unpack_layer(
        blob, dest, result.diff_id, rootless=rootless, max_size=layers.DEFAULT_MAX_SIZE
    )
    assert (unpacked.diff_id, unpacked.size) == (result.diff_id, result.size)

    want = snapshot(upper, opaque)
    if rootless:  # the rootless extractor makes no device nodes
        del want["dev/null"], want["dev/loop0"]
    got = snapshot(dest, opaque)
    assert got == want
    assert got["etc/gone"] == ("whiteout",)
    assert got["opaque"][-1] == {opaque: b"y"}
    assert got["home"][-1] == {}  # the decoy opaque xattr was not carried over
    assert os.lstat(dest / "home/a").st_ino == os.lstat(dest / "home/b").st_ino


# --- rootless: the unpack worker's diff op --------------------------------------------------------


def test_worker_diff_op_answers_layer_diff_fields(tmp_path: Path) -> None:
    one = build_upper(tmp_path / "one", opaque=ROOTLESS)
    two = build_upper(tmp_path / "two", opaque=ROOTLESS)
    op = {
        "op": "diff",
        "upper": str(one),
        "blob_out": str(tmp_path / "one.tgz"),
        "timestamp": STAMP,
        "exclude": ["tmp"],
        "opaque_xattr": ROOTLESS,
    }
    [answer] = unpack.handle({"ops": [op]})
    direct = write_layer(
        two, tmp_path / "two.tgz", timestamp=STAMP, exclude=["tmp"], opaque_xattr=ROOTLESS
    )
    assert answer == asdict(direct)
    assert "tmp" not in [m.name for m in read_members(tmp_path / "one.tgz")]


def small_upper(root: Path, opaque: str) -> Path:
    (root / "opaque").mkdir(parents=True)
    (root / "opaque/file").write_bytes(b"x")
    os.setxattr(root / "opaque", opaque, b"y")
    os.mknod(root / "gone", stat.S_IFCHR | 0o600, 0)
    return root


def test_diff_upper_rootless_runs_in_the_user_namespace(tmp_path: Path) -> None:
    """As root with no subuid range the namespace maps root alone: root-owned files only."""
    upper = small_upper(tmp_path / "upper", ROOTLESS)
    blob = tmp_path / "layer.tgz"
    result = layer_diff.diff_upper(upper, blob, timestamp=STAMP, exclude=(), rootless=True)

    assert isinstance(result, LayerDiff) and result.digest == sha256(blob.read_bytes())
    assert [m.name for m in read_members(blob)] == [
        ".wh.gone",
        "opaque",
        "opaque/.wh..wh..opq",  # from user.overlay.opaque: the rootless form
        "opaque/file",
    ]
    assert os.lstat(upper / "opaque/file").st_mtime == STAMP  # retimed inside the namespace
    same = small_upper(tmp_path / "same", ROOTLESS)
    assert write_layer(same, tmp_path / "same.tgz", timestamp=STAMP, opaque_xattr=ROOTLESS) == (
        result
    )


def test_diff_upper_rootful_reads_the_trusted_xattr(tmp_path: Path) -> None:
    upper = small_upper(tmp_path / "upper", ROOTFUL)
    blob = tmp_path / "layer.tgz"
    layer_diff.diff_upper(upper, blob, timestamp=STAMP, exclude=["gone"], rootless=False)
    assert [m.name for m in read_members(blob)] == [
        ".wh.gone",  # a whiteout is never an empty mount point
        "opaque",
        "opaque/.wh..wh..opq",
        "opaque/file",
    ]


# --- adopt_layer ----------------------------------------------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> Layout:
    return Layout(tmp_path / "store", tmp_path / "run")


def container_upper(store: Layout, name: str, content: bytes) -> Path:
    upper = store.container_dir(name) / "upper"
    (upper / "etc").mkdir(parents=True)
    (upper / "etc/config").write_bytes(content)
    os.mknod(upper / "gone", stat.S_IFCHR | 0o600, 0)
    return upper


def test_adopt_layer_renames_the_upper_dir_into_the_store(tmp_path: Path, store: Layout) -> None:
    upper = container_upper(store, "c1", b"v1")
    inode = os.lstat(upper / "etc/config").st_ino
    diff = write_layer(upper, tmp_path / "layer.tgz", timestamp=STAMP, opaque_xattr=ROOTFUL)
    base = "sha256:" + "a" * 64
    _, chain = layers.chain_ids([base, diff.diff_id])

    info = layers.adopt_layer(store, chain, base, upper, diff.diff_id, diff.size, rootless=False)

    assert not os.path.lexists(upper)
    layer = store.layer_diff(chain)
    assert (layer / "etc/config").read_bytes() == b"v1"
    assert os.lstat(layer / "etc/config").st_ino == inode  # moved, not copied
    assert stat.S_ISCHR(os.lstat(layer / "gone").st_mode)
    assert (info.chain_id, info.diff_id, info.parent, info.size) == (
        chain,
        diff.diff_id,
        base,
        diff.size,
    )
    assert info.opaque_xattr == ROOTFUL and info.whiteout_format == layers.WHITEOUT_FORMAT
    assert not info.owners_collapsed and not info.rootless
    assert layers.read_layer_info(store, chain) == info
    assert sorted(os.listdir(store.layers_root)) == [chain.removeprefix("sha256:")]


def test_adopt_layer_keeps_a_read_only_root_mode(tmp_path: Path, store: Layout) -> None:
    """An image's root of 0555 (the upper dir takes it) stays 0555 in the layer; the rename
    itself needs u+w for a rootless user (rewriting `..`), given only for the move."""
    upper = container_upper(store, "c1", b"v1")
    upper.chmod(0o555)
    diff = write_layer(upper, tmp_path / "layer.tgz", timestamp=STAMP, opaque_xattr=ROOTFUL)
    layers.adopt_layer(store, diff.diff_id, None, upper, diff.diff_id, diff.size, rootless=False)
    assert stat.S_IMODE(os.stat(store.layer_diff(diff.diff_id)).st_mode) == 0o555


def test_adopting_a_known_layer_removes_the_new_upper(tmp_path: Path, store: Layout) -> None:
    first = container_upper(store, "c1", b"v1")
    diff = write_layer(first, tmp_path / "one.tgz", timestamp=STAMP, opaque_xattr=ROOTFUL)
    info = layers.adopt_layer(store, diff.diff_id, None, first, diff.diff_id, 1, rootless=False)

    second = container_upper(store, "c2", b"v2")
    again = layers.adopt_layer(store, diff.diff_id, None, second, diff.diff_id, 2, rootless=False)
    assert again == info and again.size == 1  # the recorded layer, not the new one
    assert not os.path.lexists(second)
    assert (store.layer_diff(diff.diff_id) / "etc/config").read_bytes() == b"v1"


def test_failed_adopt_keeps_the_upper_and_leaves_nothing(
    tmp_path: Path, store: Layout, monkeypatch: pytest.MonkeyPatch
) -> None:
    upper = container_upper(store, "c1", b"v1")
    chain = "sha256:" + "b" * 64
    real_rename = os.rename

    def failing_rename(src: object, dst: object) -> None:
        if Path(str(dst)) == store.layer_dir(chain):
            raise OSError(28, "No space left on device")
        real_rename(src, dst)

    monkeypatch.setattr(os, "rename", failing_rename)
    with pytest.raises(StoreError, match="storing layer .*No space left"):
        layers.adopt_layer(store, chain, None, upper, chain, 1, rootless=False)
    monkeypatch.undo()

    assert (upper / "etc/config").read_bytes() == b"v1"  # given back to the container
    assert not layers.layer_exists(store, chain)
    assert os.listdir(store.layers_root) == []  # no layer dir, no scratch dir


def test_adopt_of_a_missing_upper_leaves_nothing(tmp_path: Path, store: Layout) -> None:
    chain = "sha256:" + "c" * 64
    with pytest.raises(StoreError, match="storing layer"):
        layers.adopt_layer(store, chain, None, tmp_path / "missing", chain, 1, rootless=False)
    assert os.listdir(store.layers_root) == []
