"""pod.builder.context and pod.builder.copier on real directories: ignore rules, source lookup,
Docker's COPY/ADD rules, and hostile contexts, roots and archives that must stay contained."""

from __future__ import annotations

import bz2
import gzip
import hashlib
import http.server
import io
import lzma
import os
import socket
import stat
import tarfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import zstandard

from pod.builder.context import (
    BuildContext,
    IgnoreMatcher,
    Source,
    load_ignore_patterns,
    parse_ignore,
    sources_digest,
)
from pod.builder.copier import copy_sources, download, extract_archive, make_dirs
from pod.errors import PodError

MTIME = 1_600_000_000
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (chown, mknod)")


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture
def ctx_dir(tmp_path: Path) -> Path:
    path = tmp_path / "ctx"
    path.mkdir()
    return path


def assert_untouched(outside: Path) -> None:
    assert sorted(p.name for p in outside.iterdir()) == ["secret"]
    assert (outside / "secret").read_text() == "host data"
    assert (outside / "secret").stat().st_nlink == 1


def write(path: Path, text: str = "x", mode: int | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    if mode is not None:
        path.chmod(mode)
    return path


def copy(ctx: BuildContext, root: Path, patterns: list[str], dest: str, **kw: object) -> None:
    sources = [s for pattern in patterns for s in ctx.sources(pattern)]
    options: dict = {"workdir": "/", "owner": None, "chmod": None, "matcher": ctx.matcher}
    options.update(kw)
    copy_sources(root, sources, dest, **options)


# --- ignore files and patterns ----------------------------------------------------------------


def test_parse_ignore_cleans_lines() -> None:
    text = "\ufeff# comment\n\n  *.log  \n/secret/\n./a/../b//c\n! keep.log\n#!not-a-rule\n"
    assert parse_ignore(text) == ["*.log", "secret", "b/c", "!keep.log"]


def test_parse_ignore_rejects_bare_exclamation() -> None:
    with pytest.raises(PodError, match="illegal exclusion pattern"):
        parse_ignore("a\n!\n")


def test_ignore_file_precedence(tmp_path: Path, ctx_dir: Path) -> None:
    containerfile = tmp_path / "Containerfile"
    containerfile.write_text("FROM scratch\n")
    assert load_ignore_patterns(ctx_dir, containerfile) == []
    write(ctx_dir / ".dockerignore", "docker\n")
    assert load_ignore_patterns(ctx_dir, None) == ["docker"]
    write(ctx_dir / ".containerignore", "container\n")
    assert load_ignore_patterns(ctx_dir, None) == ["container"]
    write(tmp_path / "Containerfile.dockerignore", "per-file\n")
    assert load_ignore_patterns(ctx_dir, containerfile) == ["per-file"]
    write(tmp_path / "Containerfile.containerignore", "per-file-container\n")
    assert load_ignore_patterns(ctx_dir, containerfile) == ["per-file-container"]


def test_context_ignore_file_symlink_stays_inside(ctx_dir: Path, outside: Path) -> None:
    (outside / ".dockerignore").write_text("from-outside\n")
    (ctx_dir / ".dockerignore").symlink_to(outside / ".dockerignore")
    assert load_ignore_patterns(ctx_dir, None) == []  # <ctx>/<outside>/.dockerignore: none


@pytest.mark.parametrize(
    ("patterns", "path", "excluded"),
    [
        (["*.md"], "README.md", True),
        (["*.md"], "docs/guide.md", False),  # * stays within one element
        (["docs/*.md"], "docs/guide.md", True),
        (["docs/*.md"], "docs/sub/guide.md", False),
        (["docs/*.md"], "README.md", False),
        (["**/*.md"], "README.md", True),
        (["**/*.md"], "a/b/c/guide.md", True),
        (["a/**/z"], "a/z", True),
        (["a/**/z"], "a/b/c/z", True),
        (["a/**/z"], "b/z", False),
        (["build/**"], "build/out/x", True),
        (["build"], "build/out/x", True),  # a matching parent excludes what is below
        (["build"], "buildx", False),
        (["?.txt"], "a.txt", True),
        (["?.txt"], "ab.txt", False),
        (["[a-c].txt"], "b.txt", True),
        (["[^a-c].txt"], "b.txt", False),
        (["file.(x)"], "file.(x)", True),
        (["a+b"], "aab", False),
        (["*.md", "!README.md"], "README.md", False),
        (["*.md", "!README.md"], "OTHER.md", True),
        (["!README.md", "*.md"], "README.md", True),  # the last matching pattern wins
        (["docs", "!docs/keep.md"], "docs/keep.md", False),
        (["docs", "!docs/keep.md"], "docs/drop.md", True),
        (["docs", "!docs/keep.md", "docs/keep.md"], "docs/keep.md", True),
        (["*"], ".", False),  # the context itself is never excluded
    ],
)
def test_ignore_matcher(patterns: list[str], path: str, excluded: bool) -> None:
    assert IgnoreMatcher(patterns).excluded(path) is excluded


def test_may_contain_included() -> None:
    matcher = IgnoreMatcher(["docs", "src", "!docs/keep.md"])
    assert matcher.excluded("docs") and matcher.excluded("src")
    assert matcher.may_contain_included("docs")
    assert not matcher.may_contain_included("src")
    assert IgnoreMatcher(["a", "!**/keep"]).may_contain_included("a")
    assert not IgnoreMatcher(["a"]).may_contain_included("a")


def test_bad_pattern_is_an_error() -> None:
    with pytest.raises(PodError, match="syntax error in pattern"):
        IgnoreMatcher(["[abc"])


# --- sources ----------------------------------------------------------------------------------


def test_sources_globs_per_element(ctx_dir: Path) -> None:
    for name in ("b.txt", "a.txt", ".hidden.txt", "c.md", "dir/x.txt", "dir/sub/y.txt"):
        write(ctx_dir / name)
    ctx = BuildContext(ctx_dir)
    assert [s.rel for s in ctx.sources("*.txt")] == [".hidden.txt", "a.txt", "b.txt"]
    assert [s.rel for s in ctx.sources("d?r/*.txt")] == ["dir/x.txt"]
    assert [s.rel for s in ctx.sources("*/sub/[x-z].txt")] == ["dir/sub/y.txt"]
    assert [s.rel for s in ctx.sources("./dir/")] == ["dir"]
    assert ctx.sources(".")[0].path == ctx_dir.resolve()


def test_sources_skip_ignored(ctx_dir: Path) -> None:
    for name in ("a.txt", "secret.txt", "docs/keep.md", "docs/drop.md", "real.txt"):
        write(ctx_dir / name)
    (ctx_dir / "link").symlink_to("secret.txt")
    matcher = IgnoreMatcher(["secret.txt", "docs", "!docs/keep.md"])
    ctx = BuildContext(ctx_dir, matcher)
    assert [s.rel for s in ctx.sources("*.txt")] == ["a.txt", "real.txt"]
    assert [s.rel for s in ctx.sources("docs/*")] == ["docs/keep.md"]
    with pytest.raises(PodError, match='"/secret.txt": no such file'):
        ctx.sources("secret.txt")
    with pytest.raises(PodError, match="no such file"):
        ctx.sources("link")  # its target was never part of the context


def test_sources_missing_reports_like_podman(ctx_dir: Path) -> None:
    ctx = BuildContext(ctx_dir)
    with pytest.raises(PodError) as err:
        ctx.sources("nope/*.c")
    assert str(err.value) == (
        f'checking on sources under "{ctx_dir.resolve()}": copier: stat: "/nope/*.c": '
        "no such file or directory"
    )


def test_sources_dotdot_cannot_climb(tmp_path: Path, ctx_dir: Path) -> None:
    write(tmp_path / "etc" / "passwd", "outside the context")
    ctx = BuildContext(ctx_dir)
    with pytest.raises(PodError, match='"/etc/passwd": no such file'):
        ctx.sources("../../etc/passwd")
    write(ctx_dir / "etc" / "passwd", "inside")
    (found,) = ctx.sources("../../etc/passwd")
    assert found.path == ctx_dir.resolve() / "etc" / "passwd"
    assert found.path.read_text() == "inside"


def test_sources_symlinks_resolve_inside(ctx_dir: Path, outside: Path) -> None:
    write(ctx_dir / "etc" / "passwd", "context passwd")
    (ctx_dir / "hostetc").symlink_to("/etc")
    (ctx_dir / "climb").symlink_to("../../../../../../etc/passwd")
    (ctx_dir / "out").symlink_to(outside)
    ctx = BuildContext(ctx_dir)
    (via_dir,) = ctx.sources("hostetc/passwd")
    (via_climb,) = ctx.sources("climb")
    for found in (via_dir, via_climb):
        assert found.path == ctx_dir.resolve() / "etc" / "passwd"
        assert found.path.read_text() == "context passwd"
    assert via_climb.rel == "climb" and via_climb.real_rel == "etc/passwd"
    with pytest.raises(PodError, match="no such file"):
        ctx.sources("out/secret")  # would be <ctx>/<outside>/secret, which does not exist
    # The glob lists the context's own etc, never the host's.
    assert [s.path for s in ctx.sources("hostetc/*")] == [ctx_dir.resolve() / "etc" / "passwd"]


# --- COPY rules -------------------------------------------------------------------------------


def test_copy_directory_copies_its_contents(ctx_dir: Path, root: Path) -> None:
    write(ctx_dir / "src" / "a.txt", "a")
    write(ctx_dir / "src" / "sub" / "b.txt", "b")
    copy(BuildContext(ctx_dir), root, ["src"], "/app")
    assert (root / "app" / "a.txt").read_text() == "a"
    assert (root / "app" / "sub" / "b.txt").read_text() == "b"
    assert not (root / "app" / "src").exists()
    assert stat.S_IMODE((root / "app").stat().st_mode) == 0o755


def test_copy_file_into_directory_and_rename(ctx_dir: Path, root: Path) -> None:
    write(ctx_dir / "a.txt", "a")
    ctx = BuildContext(ctx_dir)
    copy(ctx, root, ["a.txt"], "/into/")
    assert (root / "into" / "a.txt").read_text() == "a"
    (root / "existing").mkdir()
    copy(ctx, root, ["a.txt"], "/existing")
    assert (root / "existing" / "a.txt").read_text() == "a"
    copy(ctx, root, ["a.txt"], "/renamed.txt")
    assert (root / "renamed.txt").read_text() == "a"
    copy(ctx, root, ["a.txt"], "/deep/new/name")
    assert (root / "deep" / "new" / "name").read_text() == "a"


def test_copy_symlink_source_keeps_its_name(ctx_dir: Path, root: Path) -> None:
    write(ctx_dir / "real.txt", "content")
    (ctx_dir / "link.txt").symlink_to("real.txt")
    copy(BuildContext(ctx_dir), root, ["link.txt"], "/d/")
    assert not (root / "d" / "link.txt").is_symlink()
    assert (root / "d" / "link.txt").read_text() == "content"


def test_copy_several_sources_need_a_slash(ctx_dir: Path, root: Path) -> None:
    write(ctx_dir / "a.txt", "a")
    write(ctx_dir / "b.txt", "b")
    ctx = BuildContext(ctx_dir)
    with pytest.raises(PodError, match="destination must be a directory and end with a /"):
        copy(ctx, root, ["a.txt", "b.txt"], "/dest")
    with pytest.raises(PodError, match="end with a /"):
        copy(ctx, root, ["*.txt"], "/dest")
    assert not (root / "dest").exists()
    copy(ctx, root, ["*.txt"], "/dest/")
    assert sorted(p.name for p in (root / "dest").iterdir()) == ["a.txt", "b.txt"]


def test_copy_relative_to_workdir(ctx_dir: Path, root: Path) -> None:
    write(ctx_dir / "a.txt", "a")
    write(ctx_dir / "b.txt", "b")
    ctx = BuildContext(ctx_dir)
    copy(ctx, root, ["a.txt"], "rel/", workdir="/work")
    assert (root / "work" / "rel" / "a.txt").read_text() == "a"
    copy(ctx, root, ["a.txt", "b.txt"], ".", workdir="/w2")
    assert sorted(p.name for p in (root / "w2").iterdir()) == ["a.txt", "b.txt"]
    copy(ctx, root, ["a.txt"], "/abs/", workdir="/ignored")
    assert (root / "abs" / "a.txt").exists() and not (root / "ignored").exists()


@needs_root
def test_copy_owner_and_chmod(ctx_dir: Path, root: Path) -> None:
    write(ctx_dir / "src" / "f", "f", mode=0o755)
    (ctx_dir / "src" / "d").mkdir(mode=0o700)
    (ctx_dir / "src" / "l").symlink_to("f")
    for path in ctx_dir.rglob("*"):
        os.lchown(path, 4321, 4321)
    ctx = BuildContext(ctx_dir)
    copy(ctx, root, ["src"], "/default/x")
    for name in ("f", "d", "l"):
        st = (root / "default" / "x" / name).lstat()
        assert (st.st_uid, st.st_gid) == (0, 0)
    assert stat.S_IMODE((root / "default" / "x" / "f").stat().st_mode) == 0o755
    assert stat.S_IMODE((root / "default" / "x" / "d").stat().st_mode) == 0o700

    copy(ctx, root, ["src"], "/owned/x", owner=(1000, 1001), chmod=0o640)
    for path in (root / "owned", root / "owned" / "x"):  # created destination dirs
        st = path.stat()
        assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (1000, 1001, 0o755)
    for name in ("f", "d", "l"):
        st = (root / "owned" / "x" / name).lstat()
        assert (st.st_uid, st.st_gid) == (1000, 1001)
    assert stat.S_IMODE((root / "owned" / "x" / "f").stat().st_mode) == 0o640
    assert stat.S_IMODE((root / "owned" / "x" / "d").stat().st_mode) == 0o640
    assert os.readlink(root / "owned" / "x" / "l") == "f"


def test_copy_keeps_mtimes(ctx_dir: Path, root: Path) -> None:
    write(ctx_dir / "src" / "sub" / "f", "f")
    os.utime(ctx_dir / "src" / "sub" / "f", (MTIME, MTIME))
    os.utime(ctx_dir / "src" / "sub", (MTIME + 5, MTIME + 5))
    (ctx_dir / "src" / "l").symlink_to("sub/f")
    os.utime(ctx_dir / "src" / "l", (MTIME + 9, MTIME + 9), follow_symlinks=False)
    copy(BuildContext(ctx_dir), root, ["src"], "/app")
    assert (root / "app" / "sub" / "f").stat().st_mtime == MTIME
    assert (root / "app" / "sub").stat().st_mtime == MTIME + 5  # set after its children
    assert (root / "app" / "l").lstat().st_mtime == MTIME + 9


def test_copy_special_files(ctx_dir: Path, root: Path) -> None:
    src = ctx_dir / "src"
    write(src / "f", "f")
    (src / "abs").symlink_to("/etc/passwd")
    os.mkfifo(src / "fifo")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(src / "sock"))
    try:
        copy(BuildContext(ctx_dir), root, ["src"], "/app")
    finally:
        sock.close()
    assert os.readlink(root / "app" / "abs") == "/etc/passwd"  # copied, never followed
    assert stat.S_ISFIFO((root / "app" / "fifo").lstat().st_mode)
    assert not (root / "app" / "sock").exists()


def test_copy_replaces_existing_entries(ctx_dir: Path, root: Path, outside: Path) -> None:
    write(ctx_dir / "src" / "secret", "new")
    write(ctx_dir / "src" / "plain", "new plain")
    (root / "app").mkdir()
    (root / "app" / "secret").symlink_to(outside / "secret")
    write(root / "app" / "plain", "old")
    copy(BuildContext(ctx_dir), root, ["src"], "/app")
    assert not (root / "app" / "secret").is_symlink()
    assert (root / "app" / "secret").read_text() == "new"
    assert (root / "app" / "plain").read_text() == "new plain"
    assert_untouched(outside)


def test_copy_into_hostile_root_stays_inside(ctx_dir: Path, root: Path, outside: Path) -> None:
    write(ctx_dir / "a.txt", "payload")
    write(ctx_dir / "tree" / "secret", "payload")
    ctx = BuildContext(ctx_dir)
    (root / "dest").symlink_to(outside)  # absolute: outside's host path
    (root / "climb").symlink_to("../../../../../../../../" + str(outside).lstrip("/"))
    (root / "file").symlink_to(outside / "secret")
    copy(ctx, root, ["a.txt"], "/dest/")
    copy(ctx, root, ["tree"], "/dest")
    copy(ctx, root, ["a.txt"], "/climb/sub/")
    copy(ctx, root, ["a.txt"], "/file")
    make_dirs(root, "/dest/work/dir", owner=None)
    assert_untouched(outside)
    inside = root / str(outside).lstrip("/")
    assert (inside / "a.txt").read_text() == "payload"
    assert (inside / "secret").read_text() == "payload"
    assert (inside / "sub" / "a.txt").read_text() == "payload"
    assert (inside / "work" / "dir").is_dir()
    assert (root / "file").read_text() == "payload" and not (root / "file").is_symlink()


def test_copy_merges_through_image_symlinks(ctx_dir: Path, root: Path) -> None:
    """usrmerge: an image's /lib -> usr/lib stays a link and the copy lands in usr/lib."""
    write(ctx_dir / "rootfs" / "lib" / "x.so", "lib")
    (root / "usr" / "lib").mkdir(parents=True)
    (root / "lib").symlink_to("usr/lib")
    write(root / "gone", "a file where the source has a directory")
    write(ctx_dir / "rootfs" / "gone" / "f", "f")
    copy(BuildContext(ctx_dir), root, ["rootfs"], "/")
    assert os.readlink(root / "lib") == "usr/lib"
    assert (root / "usr" / "lib" / "x.so").read_text() == "lib"
    assert (root / "gone" / "f").read_text() == "f"


def test_copy_skips_ignored_entries(ctx_dir: Path, root: Path) -> None:
    for name in ("app/main.py", "app/x.pyc", "app/cache/c", "app/docs/keep.md", "app/docs/no"):
        write(ctx_dir / name)
    matcher = IgnoreMatcher(["**/*.pyc", "app/cache", "app/docs", "!app/docs/keep.md"])
    ctx = BuildContext(ctx_dir, matcher)
    copy(ctx, root, ["app"], "/dst")
    found = sorted(str(p.relative_to(root / "dst")) for p in (root / "dst").rglob("*"))
    assert found == ["docs", "docs/keep.md", "main.py"]


def test_copy_leaves_no_empty_ignored_directories(ctx_dir: Path, root: Path) -> None:
    write(ctx_dir / "a" / "f")
    write(ctx_dir / "b" / "f")
    ctx = BuildContext(ctx_dir, IgnoreMatcher(["a", "b", "!a/f", "!b/g"]))
    copy(ctx, root, ["."], "/dst")
    assert sorted(str(p.relative_to(root / "dst")) for p in (root / "dst").rglob("*")) == [
        "a",
        "a/f",
    ]


# --- ADD: archives ----------------------------------------------------------------------------


def make_tar(members: list[tuple[tarfile.TarInfo, bytes | None]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in members:
            info.mtime = info.mtime or MTIME
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def entry(name: str, data: bytes | None = None, **attrs: object) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.mode = 0o644
    for key, value in attrs.items():
        setattr(info, key, value)
    return info, data if data is not None or info.type != tarfile.REGTYPE else b""


def simple_tar() -> bytes:
    return make_tar(
        [
            entry("dir", type=tarfile.DIRTYPE, mode=0o750),
            entry("dir/file", b"content", uid=1234, gid=5678),
        ]
    )


@pytest.mark.parametrize(
    "compress",
    [
        lambda b: b,
        gzip.compress,
        bz2.compress,
        lzma.compress,
        lambda b: zstandard.ZstdCompressor().compress(b),
    ],
    ids=["plain", "gzip", "bzip2", "xz", "zstd"],
)
def test_extract_archive_formats(tmp_path: Path, root: Path, compress) -> None:
    archive = tmp_path / "no-telling-name.bin"
    archive.write_bytes(compress(simple_tar()))
    assert extract_archive(root, archive, "/opt/", workdir="/", owner=None) is True
    assert (root / "opt" / "dir" / "file").read_bytes() == b"content"
    assert stat.S_IMODE((root / "opt" / "dir").stat().st_mode) == 0o750


@needs_root
def test_extract_archive_owners(tmp_path: Path, root: Path) -> None:
    archive = tmp_path / "a.tar"
    archive.write_bytes(simple_tar())
    extract_archive(root, archive, "kept", workdir="/w", owner=None)
    st = (root / "w" / "kept" / "dir" / "file").stat()
    assert (st.st_uid, st.st_gid) == (1234, 5678)
    extract_archive(root, archive, "/forced", workdir="/", owner=(7, 8))
    st = (root / "forced" / "dir" / "file").stat()
    assert (st.st_uid, st.st_gid) == (7, 8)


def test_extract_archive_refuses_non_tars(tmp_path: Path, root: Path) -> None:
    text = tmp_path / "notes.tar.gz"
    text.write_bytes(b"just text, not a tar\n" * 40)
    zipped = tmp_path / "text.gz"
    zipped.write_bytes(gzip.compress(b"hello\n" * 200))
    broken = tmp_path / "broken.tar"
    block = bytearray(simple_tar()[:512])
    block[0] ^= 0xFF  # the header checksum no longer matches
    broken.write_bytes(bytes(block) + b"\0" * 1024)
    for path in (text, zipped, broken):
        assert extract_archive(root, path, "/x/", workdir="/", owner=None) is False
    assert list(root.iterdir()) == []


def hostile(outside: Path) -> dict[str, list[tuple[tarfile.TarInfo, bytes | None]]]:
    out = str(outside)
    return {
        "dotdot": [entry("../../../../../../" + out.lstrip("/") + "/pwned", b"x")],
        "absolute": [entry(out + "/pwned", b"x")],
        "symlink": [
            entry("link", type=tarfile.SYMTYPE, linkname=out),
            entry("link/pwned", b"x"),
            entry("link/secret", b"overwritten"),
        ],
        "hardlink": [entry("hl", type=tarfile.LNKTYPE, linkname=out + "/secret")],
        "hardlink-dotdot": [entry("hl", type=tarfile.LNKTYPE, linkname="../../../secret")],
    }


@pytest.mark.parametrize("case", list(hostile(Path("/x"))))
def test_extract_hostile_archives(tmp_path: Path, root: Path, outside: Path, case: str) -> None:
    archive = tmp_path / "evil.tar"
    archive.write_bytes(make_tar(hostile(outside)[case]))
    if case in ("absolute", "symlink"):  # confined to the destination, as docker's chroot does
        assert extract_archive(root, archive, "/dest/", workdir="/", owner=None)
    else:  # names and link targets that leave the destination: refused, like docker's breakout
        with pytest.raises(PodError):
            extract_archive(root, archive, "/dest/", workdir="/", owner=None)
    assert_untouched(outside)
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            assert path.resolve().is_relative_to(root)


def test_extract_hostile_names_land_inside(tmp_path: Path, root: Path, outside: Path) -> None:
    archive = tmp_path / "evil.tar"
    archive.write_bytes(make_tar(hostile(outside)["absolute"] + hostile(outside)["symlink"]))
    assert extract_archive(root, archive, "/dest/", workdir="/", owner=None)
    inside = root / "dest" / str(outside).lstrip("/")
    assert (inside / "pwned").read_bytes() == b"x"
    assert (inside / "secret").read_bytes() == b"overwritten"
    assert_untouched(outside)


@needs_root
def test_extract_skips_device_nodes(tmp_path: Path, root: Path) -> None:
    archive = tmp_path / "dev.tar"
    archive.write_bytes(
        make_tar(
            [
                entry("null", type=tarfile.CHRTYPE, devmajor=1, devminor=3),
                entry("disk", type=tarfile.BLKTYPE, devmajor=8, devminor=0),
                entry("pipe", type=tarfile.FIFOTYPE),
                entry("f", b"ok"),
            ]
        )
    )
    assert extract_archive(root, archive, "/d", workdir="/", owner=None)
    assert sorted(p.name for p in (root / "d").iterdir()) == ["f", "pipe"]


# --- the cache digest -------------------------------------------------------------------------


def test_sources_digest_tracks_content_and_mode_not_times(ctx_dir: Path) -> None:
    write(ctx_dir / "src" / "a", "a")
    write(ctx_dir / "src" / "sub" / "b", "b")
    write(ctx_dir / "src" / "ignored.log", "log")
    (ctx_dir / "src" / "l").symlink_to("a")
    ctx = BuildContext(ctx_dir, IgnoreMatcher(["**/*.log"]))

    def digest() -> str:
        return sources_digest(ctx.sources("src"))

    first = digest()
    assert first.startswith("sha256:") and len(first) == 7 + 64
    assert ctx.sources_digest(ctx.sources("src")) == first
    os.utime(ctx_dir / "src" / "sub" / "b", (MTIME, MTIME))
    os.utime(ctx_dir / "src" / "sub", (MTIME, MTIME))
    assert digest() == first
    (ctx_dir / "src" / "ignored.log").write_text("changed")
    assert digest() == first
    if os.geteuid() == 0:
        os.chown(ctx_dir / "src" / "a", 1234, 1234)
        assert digest() == first
    (ctx_dir / "src" / "sub" / "b").write_text("B")
    second = digest()
    assert second != first
    (ctx_dir / "src" / "sub" / "b").chmod(0o600)
    third = digest()
    assert third not in (first, second)
    (ctx_dir / "src" / "l").unlink()
    (ctx_dir / "src" / "l").symlink_to("sub/b")
    assert digest() not in (first, second, third)


def test_sources_digest_tracks_file_names(ctx_dir: Path) -> None:
    write(ctx_dir / "one", "same")
    write(ctx_dir / "two", "same")
    ctx = BuildContext(ctx_dir)
    assert sources_digest(ctx.sources("one")) != sources_digest(ctx.sources("two"))


def test_sources_digest_is_fast(ctx_dir: Path) -> None:
    for i in range(3000):
        write(ctx_dir / "many" / f"d{i % 30}" / f"f{i}", f"file {i}")
    ctx = BuildContext(ctx_dir, IgnoreMatcher(["*.tmp", "**/cache"]))
    started = time.monotonic()
    value = sources_digest(ctx.sources("many"))
    assert time.monotonic() - started < 3.0
    assert value == sources_digest(ctx.sources("many"))


# --- ADD: downloads ---------------------------------------------------------------------------


@pytest.fixture
def http_root(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    served = tmp_path / "served"
    served.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, directory=str(served), **kwargs)

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", served
    finally:
        server.shutdown()
        server.server_close()


def test_download_with_checksum(tmp_path: Path, http_root: tuple[str, Path]) -> None:
    base, served = http_root
    data = b"downloaded bytes\n" * 1000
    (served / "tool.tar.gz").write_bytes(data)
    os.utime(served / "tool.tar.gz", (MTIME, MTIME))
    dest = tmp_path / "dl"
    dest.mkdir()
    checksum = "sha256:" + hashlib.sha256(data).hexdigest()
    path = download(f"{base}/tool.tar.gz", dest, checksum=checksum)
    assert path == dest / "tool.tar.gz"
    assert path.read_bytes() == data
    assert path.stat().st_mtime == MTIME  # from Last-Modified
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in dest.iterdir()] == ["tool.tar.gz"]
    again = download(f"{base}/tool.tar.gz?x=1#frag", dest, checksum=None)
    assert again == path and again.read_bytes() == data


def test_download_checksum_mismatch(tmp_path: Path, http_root: tuple[str, Path]) -> None:
    base, served = http_root
    (served / "file").write_bytes(b"real content")
    dest = tmp_path / "dl"
    dest.mkdir()
    wrong = "sha256:" + "0" * 64
    actual = "sha256:" + hashlib.sha256(b"real content").hexdigest()
    with pytest.raises(PodError) as err:
        download(f"{base}/file", dest, checksum=wrong)
    assert wrong in str(err.value) and actual in str(err.value)
    assert list(dest.iterdir()) == []


def test_download_errors(tmp_path: Path, http_root: tuple[str, Path]) -> None:
    base, _ = http_root
    with pytest.raises(PodError, match="HTTP 404"):
        download(f"{base}/missing", tmp_path, checksum=None)
    with pytest.raises(PodError, match="only http and https"):
        download("ftp://127.0.0.1/file", tmp_path, checksum=None)
    with pytest.raises(PodError, match="only http and https"):
        download("file:///etc/passwd", tmp_path, checksum=None)
    with pytest.raises(PodError, match="invalid --checksum"):
        download(f"{base}/x", tmp_path, checksum="md5:abc")
    assert list(tmp_path.iterdir()) == [tmp_path / "served"]


def test_download_refuses_redirects_to_other_schemes(tmp_path: Path) -> None:
    class Redirect(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(302)
            self.send_header("Location", "ftp://127.0.0.1/file")
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        with pytest.raises(PodError, match="redirected to unsupported URL ftp://"):
            download(f"http://127.0.0.1:{server.server_address[1]}/f", tmp_path, checksum=None)
    finally:
        server.shutdown()
        server.server_close()
    assert list(tmp_path.iterdir()) == []


def test_download_name_defaults(tmp_path: Path, http_root: tuple[str, Path]) -> None:
    base, served = http_root
    (served / "index.html").write_text("index")
    assert download(f"{base}/", tmp_path, checksum=None).name == "download"


def test_source_dataclass_fields(ctx_dir: Path) -> None:
    write(ctx_dir / "f")
    (found,) = BuildContext(ctx_dir).sources("f")
    assert isinstance(found, Source)
    assert (found.path, found.rel, found.real_rel) == (ctx_dir.resolve() / "f", "f", "f")
