"""store.safepath against hostile symlink trees: nothing may resolve or be written outside."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pod.errors import UnsafeContentError
from pod.store import safepath


@pytest.fixture
def root_fd(root: Path):
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    yield fd
    os.close(fd)


def assert_untouched(outside: Path) -> None:
    assert sorted(p.name for p in outside.iterdir()) == ["secret"]
    assert (outside / "secret").read_text() == "host data"


@pytest.mark.parametrize(
    ("name", "clean"),
    [
        ("a/b", "a/b"),
        ("/a/./b/", "a/b"),
        ("./", ""),
        ("a/../b", "b"),
        ("//a//b", "a/b"),
    ],
)
def test_clean_relpath_normalizes(name: str, clean: str) -> None:
    assert safepath.clean_relpath(name) == clean


@pytest.mark.parametrize("name", ["../x", "/abs/../../x", "a/../../x", ".."])
def test_clean_relpath_rejects_climbing_out(name: str) -> None:
    with pytest.raises(UnsafeContentError):
        safepath.clean_relpath(name)


def test_clean_relpath_rejects_absurd_length() -> None:
    with pytest.raises(UnsafeContentError, match="longer than 4096"):
        safepath.clean_relpath("d/" * 2500)


def test_absolute_symlink_is_rerooted(root: Path) -> None:
    (root / "etc").mkdir()
    (root / "a").symlink_to("/etc")
    assert safepath.resolve_inside(root, "a/passwd") == root / "etc" / "passwd"


def test_dotdot_never_climbs_above_root(root: Path, outside: Path) -> None:
    (root / "x").mkdir()
    (root / "x" / "b").symlink_to("../../..")
    (root / "a").symlink_to("x/b")
    assert safepath.resolve_inside(root, "a") == root
    assert safepath.resolve_inside(root, "a/outside/secret") == root / "outside" / "secret"
    assert safepath.resolve_inside(root, "../../outside") == root / "outside"


def test_relative_symlink_to_host_path_stays_inside(root: Path, outside: Path) -> None:
    (root / "link").symlink_to(os.path.relpath(outside, root))
    assert safepath.resolve_inside(root, "link/secret") == root / "outside" / "secret"


def test_follow_final_false_returns_the_link(root: Path) -> None:
    (root / "d").mkdir()
    (root / "d" / "l").symlink_to("/etc")
    assert safepath.resolve_inside(root, "d/l", follow_final=False) == root / "d" / "l"
    assert safepath.resolve_inside(root, "d/l") == root / "etc"


def test_missing_components_resolve_lexically(root: Path) -> None:
    assert safepath.resolve_inside(root, "no/such/../x") == root / "no" / "x"


@pytest.mark.parametrize(
    "links", [[("a", "a")], [("a", "b"), ("b", "a")], [("a", "/a")], [("a", "./a/x")]]
)
def test_symlink_loops_are_unsafe(root: Path, links: list[tuple[str, str]]) -> None:
    for name, target in links:
        (root / name).symlink_to(target)
    with pytest.raises(UnsafeContentError, match="symbolic links"):
        safepath.resolve_inside(root, "a/file")


def test_open_dir_creates_through_symlinks_inside_root(
    root: Path, root_fd: int, outside: Path
) -> None:
    (root / "a").symlink_to(str(outside))
    fd = safepath.open_dir(root_fd, "a/new/deeper", create=0o755)
    try:
        os.mkdir("made", dir_fd=fd)
    finally:
        os.close(fd)
    assert (root / outside.relative_to("/") / "new" / "deeper" / "made").is_dir()
    assert_untouched(outside)


def test_open_dir_without_create_reports_missing(root_fd: int) -> None:
    with pytest.raises(FileNotFoundError):
        safepath.open_dir(root_fd, "missing/dir")


def test_open_dir_refuses_symlinks_when_asked(root: Path, root_fd: int) -> None:
    (root / "real").mkdir()
    (root / "sub").symlink_to("real")
    with pytest.raises(UnsafeContentError, match="symbolic link"):
        safepath.open_dir(root_fd, "sub", symlinks=False)
    os.close(safepath.open_dir(root_fd, "real", symlinks=False))


def test_open_parent_never_follows_the_last_component(
    root: Path, root_fd: int, outside: Path
) -> None:
    (root / "dir").mkdir()
    (root / "dir" / "escape").symlink_to(str(outside / "secret"))
    fd, name = safepath.open_parent(root_fd, "dir/escape")
    try:
        assert name == "escape"
        with pytest.raises(OSError):
            os.open(name, os.O_WRONLY | os.O_NOFOLLOW, dir_fd=fd)
        os.unlink(name, dir_fd=fd)
    finally:
        os.close(fd)
    assert_untouched(outside)


@pytest.mark.parametrize("relpath", ["", ".", "a/.."])
def test_open_parent_needs_an_entry_name(root_fd: int, relpath: str) -> None:
    with pytest.raises(UnsafeContentError):
        safepath.open_parent(root_fd, relpath)


def test_a_file_in_the_middle_is_not_a_directory(root: Path, root_fd: int) -> None:
    (root / "file").write_text("x")
    with pytest.raises(NotADirectoryError):
        safepath.open_parent(root_fd, "file/child", create=0o755)


def test_remove_entry_does_not_follow_links(root: Path, root_fd: int, outside: Path) -> None:
    tree = root / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "sub" / "to-outside").symlink_to(str(outside))
    (tree / "sub" / "to-secret").symlink_to(str(outside / "secret"))
    (tree / "file").write_text("x")
    safepath.remove_entry(root_fd, "tree")
    assert not tree.exists()
    assert_untouched(outside)


def test_remove_entry_handles_very_deep_trees(root: Path, root_fd: int) -> None:
    """Deeper than the recursion limit and the fd limit: a hostile layer can build this."""
    depth = 3000
    fd = os.dup(root_fd)
    for _ in range(depth):
        os.mkdir("d", dir_fd=fd)
        child = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = child
    os.close(os.open("leaf", os.O_CREAT | os.O_WRONLY, dir_fd=fd))
    os.close(fd)
    safepath.remove_entry(root_fd, "d")
    assert list(root.iterdir()) == []


def test_remove_tree_of_missing_path_is_quiet(root: Path) -> None:
    safepath.remove_tree(root / "missing" / "deeper")
    safepath.remove_tree(root / "missing")


# --- bind mounts given as a table (a stopped container's volumes and binds) ------------------


@pytest.fixture
def mounted(root: Path, tmp_path: Path) -> dict[str, str]:
    """A tree with /data bound to a volume directory and /etc/hosts to a file next to it."""
    volume = tmp_path / "volume"
    volume.mkdir()
    (volume / "v").write_text("in the volume")
    (tmp_path / "hosts").write_text("127.0.0.1 localhost\n")
    (root / "data").mkdir()
    (root / "data" / "v").write_text("under the mount")
    (root / "etc").mkdir()
    (root / "etc" / "hosts").write_text("")
    return {"data": str(volume), "etc/hosts": str(tmp_path / "hosts")}


def _read(fd: int, name: str) -> str:
    handle = os.open(name, os.O_RDONLY, dir_fd=fd)
    with open(handle) as data:
        return data.read()


def test_a_walk_switches_to_the_mount_source(root_fd: int, mounted: dict[str, str]) -> None:
    fd = safepath.open_dir(root_fd, "data", mounts=mounted)
    try:
        assert _read(fd, "v") == "in the volume"
    finally:
        os.close(fd)
    fd, name = safepath.open_parent(root_fd, "data/v", mounts=mounted)
    try:
        assert _read(fd, name) == "in the volume"
    finally:
        os.close(fd)


def test_a_file_mount_is_its_source(root_fd: int, mounted: dict[str, str]) -> None:
    fd, name = safepath.open_parent(root_fd, "/etc/hosts", mounts=mounted)
    try:
        assert _read(fd, name) == "127.0.0.1 localhost\n"
    finally:
        os.close(fd)
    found = safepath.lookup(root_fd, "etc/hosts", mounts=mounted)
    assert found.path == "etc/hosts" and found.stat is not None
    assert found.stat.st_size == len("127.0.0.1 localhost\n")


def test_symlinks_in_a_mount_resolve_against_the_root(
    root: Path, root_fd: int, mounted: dict[str, str], outside: Path
) -> None:
    Path(mounted["data"], "up").symlink_to("../../..")
    Path(mounted["data"], "abs").symlink_to("/etc")
    assert safepath.lookup(root_fd, "data/up", mounts=mounted).path == ""
    assert safepath.lookup(root_fd, "data/abs/hosts", mounts=mounted).path == "etc/hosts"
    found = safepath.lookup(root_fd, f"data/up{outside}/secret", mounts=mounted)
    assert found.stat is None  # the host's sentinel is not reachable through the volume


def test_dotdot_leaves_a_mount_through_the_tree(root_fd: int, mounted: dict[str, str]) -> None:
    found = safepath.lookup(root_fd, "data/../etc/hosts", mounts=mounted)
    assert found.path == "etc/hosts"
    fd = safepath.open_dir(root_fd, "data/..", mounts=mounted)
    try:
        assert sorted(os.listdir(fd)) == ["data", "etc"]
    finally:
        os.close(fd)


def test_lookup_reports_missing_entries_where_they_would_go(root: Path, root_fd: int) -> None:
    (root / "link").symlink_to("/no/such")
    (root / "file").write_text("x")
    assert safepath.lookup(root_fd, "link") == safepath.Found("no/such", None)
    assert safepath.lookup(root_fd, "link", follow_final=False).stat is not None
    assert safepath.lookup(root_fd, "file/below").stat is None
    assert safepath.lookup(root_fd, "/").path == ""


def test_a_mount_whose_source_is_gone_is_missing(root_fd: int, tmp_path: Path) -> None:
    mounts = {"gone": str(tmp_path / "gone")}
    assert safepath.lookup(root_fd, "gone", mounts=mounts).stat is None
    with pytest.raises(FileNotFoundError):
        safepath.open_dir(root_fd, "gone/x", mounts=mounts)


_HOSTILE_LINKS = [
    ("abs", "/real"),  # absolute: re-rooted
    ("up", "../../../../../real"),  # climbing: clamped at the root
    ("chain", "abs/../up"),
    ("host", "/etc"),  # the host's /etc must never be what opens
    ("loop1", "loop2"),
    ("loop2", "loop1"),
    ("dangling", "/nowhere"),
]


def _outcome(root_fd: int, relpath: str, symlinks: bool) -> object:
    """What open_dir gives: the directory's identity, or the error's type."""
    try:
        fd = safepath.open_dir(root_fd, relpath, symlinks=symlinks)
    except (OSError, UnsafeContentError) as err:
        return type(err)
    try:
        st = os.fstat(fd)
        return (st.st_dev, st.st_ino)
    finally:
        os.close(fd)


@pytest.mark.parametrize("symlinks", [True, False])
@pytest.mark.parametrize(
    "relpath",
    ["abs", "/up", "chain", "real/../../abs/.", "host", "loop1", "dangling", "missing", "", ".."],
)
def test_the_kernels_walk_and_ours_agree(
    root: Path, root_fd: int, monkeypatch, relpath: str, symlinks: bool
) -> None:
    """open_dir asks openat2 (RESOLVE_IN_ROOT) first: on every shape of hostile link it opens
    what the component-by-component walk opens, or fails as it does."""
    (root / "real").mkdir()
    for name, target in _HOSTILE_LINKS:
        (root / name).symlink_to(target)
    kernel = _outcome(root_fd, relpath, symlinks)
    monkeypatch.setattr(safepath, "_kernel_walk", [False])
    assert _outcome(root_fd, relpath, symlinks) == kernel
    if relpath == "host" and symlinks:
        assert kernel is FileNotFoundError  # /etc inside the root: there is none


def test_the_kernels_walk_answers_on_this_kernel(root: Path, root_fd: int) -> None:
    """Not a silent fallback: openat2 itself opens a path through a symlink (Linux >= 5.6)."""
    (root / "real").mkdir()
    (root / "abs").symlink_to("/real")
    fd = safepath.open_in_root(root_fd, "abs", os.O_RDONLY | os.O_DIRECTORY)
    assert fd is not None
    try:
        assert os.path.samestat(os.fstat(fd), os.stat(root / "real"))
    finally:
        os.close(fd)
    assert safepath.open_in_root(root_fd, "abs", os.O_RDONLY, symlinks=False) is None


def test_a_dangling_symlink_made_as_a_directory_is_made_inside_the_root(
    root: Path, root_fd: int, outside: Path
) -> None:
    """The kernel's walk makes a missing last component itself, but never through a link."""
    (root / "real").mkdir()
    (root / "real" / "d").symlink_to(str(outside / "made"))
    os.close(safepath.open_dir(root_fd, "real/new", create=0o755))  # the kernel's mkdir
    os.close(safepath.open_dir(root_fd, "real/d", create=0o755))  # the link: the walk's
    assert (root / "real" / "new").is_dir()
    assert (root / outside.relative_to("/") / "made").is_dir()
    assert_untouched(outside)


def test_the_kernels_walk_says_what_is_missing_when_asked(root: Path, root_fd: int) -> None:
    (root / "dangling").symlink_to("/nowhere")
    (root / "loop").symlink_to("loop")
    for relpath in ("dangling", "missing/entry"):
        with pytest.raises(FileNotFoundError):
            safepath.open_in_root(root_fd, relpath, os.O_PATH, final_enoent=True)
        assert safepath.open_in_root(root_fd, relpath, os.O_PATH) is None
    assert safepath.open_in_root(root_fd, "loop", os.O_PATH, final_enoent=True) is None
