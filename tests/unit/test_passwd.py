"""container.user: -u resolution from real layer directories (whiteouts, opaque, hostile links)."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pytest

from pod.container.user import (
    LayerView,
    ResolvedUser,
    home_env,
    lookup_user,
    parse_group,
    parse_passwd,
    resolve_user,
    resolve_workdir,
)
from pod.errors import PodError, UnsafeContentError

PASSWD = b"""root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
bob:x:1001:1001:Bob:/home/bob:/bin/sh
# a comment
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
"""
GROUP = b"""root:x:0:
wheel:x:10:root,bob
audio:x:29:bob
bob:x:1001:
staff:x:50:
"""


def layer(root: Path, name: str, files: dict[str, bytes]) -> Path:
    base = root / name
    base.mkdir()
    for rel, data in files.items():
        path = base / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return base


def whiteout(path: Path) -> None:
    """An overlay whiteout: a 0:0 character device (skip where it cannot be made)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.mknod(path, stat.S_IFCHR | 0o600, 0)
    except PermissionError:
        pytest.skip("cannot create a whiteout device here")


def set_opaque(path: Path) -> None:
    try:
        os.setxattr(path, "user.overlay.opaque", b"y")
    except OSError as err:
        if err.errno in (errno.ENOTSUP, errno.EPERM, errno.EACCES):
            pytest.skip(f"no user xattrs on this filesystem: {err.strerror}")
        raise


@pytest.fixture
def image(tmp_path: Path) -> Path:
    """A base layer with the two files; tests add layers on top."""
    return layer(tmp_path, "base", {"etc/passwd": PASSWD, "etc/group": GROUP})


# --- matching, as runc's GetExecUser -----------------------------------------------------------


def test_default_user_is_root_with_memberships(image):
    user = resolve_user([image], "")
    assert user == ResolvedUser(0, 0, (10,), "/root", "")
    assert user.is_root


def test_user_by_name(image):
    user = resolve_user([image], "bob")
    assert (user.uid, user.gid, user.home) == (1001, 1001, "/home/bob")
    assert user.additional_gids == (1001, 10, 29)  # primary first, as podman adds it
    assert not user.is_root


def test_numeric_user_with_an_entry_gets_its_home_and_groups(image):
    user = resolve_user([image], "1001")
    assert (user.uid, user.gid, user.home, user.additional_gids) == (
        1001,
        1001,
        "/home/bob",
        (1001, 10, 29),
    )


def test_numeric_ids_need_no_entry(image):
    user = resolve_user([image], "1000:1000")
    assert user == ResolvedUser(1000, 1000, (1000,), "/", "1000:1000")


def test_explicit_group_drops_memberships(image):
    assert resolve_user([image], "bob:staff").additional_gids == (50,)
    assert resolve_user([image], "bob:4242").gid == 4242


def test_unknown_user(image):
    with pytest.raises(PodError) as err:
        resolve_user([image], "alice")
    assert str(err.value) == "unable to find user alice: no matching entries in passwd file"
    assert err.value.exit_code == 125


def test_unknown_group(image):
    with pytest.raises(
        PodError, match="unable to find group nogroup: no matching entries in group"
    ):
        resolve_user([image], "bob:nogroup")


def test_out_of_range_id(image):
    with pytest.raises(PodError, match="uids and gids must be in range"):
        resolve_user([image], "4294967296")


def test_no_passwd_file(tmp_path):
    empty = layer(tmp_path, "empty", {})
    assert resolve_user([empty], "") == ResolvedUser(0, 0, (), "/", "")
    assert resolve_user([empty], "5:6").uid == 5
    with pytest.raises(PodError, match="unable to find user root"):
        resolve_user([empty], "root")


def test_memberships_beyond_the_namespace_are_skipped(image):
    user = resolve_user([image], "bob", available_gids=20)
    assert user.additional_gids == (1001, 10)
    assert user.skipped_gids == (29,)


def test_parsers_tolerate_short_and_bad_lines():
    assert parse_passwd(b"a:x:notanumber\n\n") == [parse_passwd(b"a:x:0:0::")[0]]
    group = parse_group(b"g:x:7\n")
    assert group[0].gid == 7 and group[0].members == ()
    user = lookup_user("a", parse_passwd(b"a:x:3:4"), None)
    assert (user.uid, user.gid, user.home) == (3, 4, "/")


# --- layers --------------------------------------------------------------------------------


def test_upper_layer_replaces_passwd(tmp_path, image):
    upper = layer(tmp_path, "upper", {"etc/passwd": b"root:x:0:0::/:/bin/sh\nnew:x:7:7::/n:/\n"})
    assert resolve_user([upper, image], "new").uid == 7
    with pytest.raises(PodError):
        resolve_user([upper, image], "bob")
    assert resolve_user([image, upper], "bob").uid == 1001  # order matters: top layer first


def test_whiteout_device_hides_lower_file(tmp_path, image):
    upper = layer(tmp_path, "upper", {})
    whiteout(upper / "etc" / "passwd")
    assert LayerView([upper, image]).read_file("/etc/passwd") is None
    with pytest.raises(PodError, match="unable to find user bob"):
        resolve_user([upper, image], "bob")


def test_whiteout_file_hides_lower_file(tmp_path, image):
    upper = layer(tmp_path, "upper", {"etc/.wh.passwd": b""})
    assert LayerView([upper, image]).read_file("/etc/passwd") is None
    assert LayerView([upper, image]).read_file("/etc/group") == GROUP


def test_whiteout_of_a_directory(tmp_path, image):
    upper = layer(tmp_path, "upper", {".wh.etc": b""})
    assert LayerView([upper, image]).read_file("etc/group") is None


def test_opaque_directory_xattr_hides_lower_content(tmp_path, image):
    upper = layer(tmp_path, "upper", {"etc/hostname": b"x\n"})
    set_opaque(upper / "etc")
    view = LayerView([upper, image])
    assert view.read_file("/etc/passwd") is None
    assert view.read_file("/etc/hostname") == b"x\n"


def test_opaque_marker_file_hides_lower_content(tmp_path, image):
    upper = layer(tmp_path, "upper", {"etc/.wh..wh..opq": b""})
    assert LayerView([upper, image]).read_file("/etc/passwd") is None


def test_directories_merge_across_layers(tmp_path, image):
    upper = layer(tmp_path, "upper", {"etc/other": b"o"})
    assert LayerView([upper, image]).read_file("/etc/passwd") == PASSWD


def test_symlink_resolves_inside_the_merged_image(tmp_path, image):
    upper = layer(tmp_path, "upper", {})
    (upper / "etc").mkdir()
    (upper / "etc" / "passwd").symlink_to("/usr/share/passwd")
    data = b"linked:x:42:42::/l:/bin/sh\n"
    middle = layer(tmp_path, "middle", {"usr/share/passwd": data})
    assert resolve_user([upper, middle, image], "linked").uid == 42


def test_relative_symlink_escape_stays_in_the_image(tmp_path, image):
    """`etc/passwd -> ../../../<host file>` must resolve inside the image, never on the host."""
    host_file = tmp_path / "outside" / "passwd"
    host_file.parent.mkdir()
    host_file.write_bytes(b"hostonly:x:4242:4242::/:/bin/sh\n")
    upper = layer(tmp_path, "upper", {})
    (upper / "etc").mkdir()
    depth = len(upper.parts) + 2
    (upper / "etc" / "passwd").symlink_to("../" * depth + str(host_file).lstrip("/"))
    assert LayerView([upper, image]).read_file("/etc/passwd") is None
    with pytest.raises(PodError, match="unable to find user hostonly"):
        resolve_user([upper, image], "hostonly")


def test_symlink_to_the_hosts_etc_passwd_is_not_followed_out(tmp_path):
    upper = layer(tmp_path, "upper", {})
    (upper / "etc").mkdir()
    (upper / "etc" / "passwd").symlink_to("../../../etc/passwd")  # resolves to itself: a loop
    with pytest.raises(UnsafeContentError, match="too many levels of symbolic links"):
        resolve_user([upper], "root")


def test_symlinked_etc_directory_is_resolved_in_the_image(tmp_path):
    upper = layer(tmp_path, "upper", {"real/passwd": b"viadir:x:9:9::/:/bin/sh\n"})
    (upper / "etc").symlink_to("../../../../real")
    assert resolve_user([upper], "viadir").uid == 9


def test_dotdot_in_path_is_clamped(tmp_path, image):
    assert LayerView([image]).read_file("/../../etc/../etc/passwd") == PASSWD


def test_fifo_is_not_read(tmp_path):
    upper = layer(tmp_path, "upper", {"etc/passwd": PASSWD})
    os.mkfifo(upper / "etc" / "group")
    user = resolve_user([upper], "bob")  # would block forever if the FIFO were opened for reading
    assert user.additional_gids == (1001,)


def test_missing_layer_directory_is_skipped(tmp_path, image):
    assert resolve_user([tmp_path / "gone", image], "bob").uid == 1001


def test_oversized_file_is_refused(image):
    with pytest.raises(UnsafeContentError, match="larger than"):
        LayerView([image]).read_file("/etc/passwd", limit=10)


# --- workdir and HOME ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "image_dir", "expected"),
    [(None, "", "/"), (None, "/app", "/app"), ("/w/", "/app", "/w"), (None, "rel/dir", "/rel/dir")],
)
def test_resolve_workdir(option, image_dir, expected):
    assert resolve_workdir(option, image_dir) == expected


def test_home_env():
    assert home_env(ResolvedUser(home="/root")) == "HOME=/root"
    assert home_env(ResolvedUser(home="")) == "HOME=/"
