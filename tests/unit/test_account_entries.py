"""rootfs_prepare.add_account_entries: the added /etc/passwd and /etc/group entries go into a
writable rootfs's own files, once, and never through a link the image planted."""

from __future__ import annotations

import os

from pod.container.rootfs_prepare import add_account_entries
from pod.store.layout import ContainerPaths


def _container(tmp_path, passwd: str | None, entries: str):
    rootfs = tmp_path / "merged"
    (rootfs / "etc").mkdir(parents=True)
    if passwd is not None:
        (rootfs / "etc" / "passwd").write_text(passwd)
    paths = ContainerPaths(tmp_path / "container")
    paths.directory.mkdir()
    paths.passwd_entries.write_text(entries)
    return rootfs, paths


def test_missing_entries_are_appended_once(tmp_path):
    image = "root:x:0:0:root:/root:/bin/sh"  # no final newline
    wanted = f"{image}\nuser:*:1000:1000::/home/user:/bin/sh\n"
    rootfs, paths = _container(tmp_path, image, wanted)
    add_account_entries(rootfs, paths)
    add_account_entries(rootfs, paths)  # a restart: nothing twice
    assert (rootfs / "etc" / "passwd").read_text() == wanted


def test_the_containers_own_edits_are_kept(tmp_path):
    edited = "root:x:0:0:root:/root:/bin/sh\nuser::1000:1000::/home/user:/bin/bash\n"
    rootfs, paths = _container(tmp_path, edited, "user:*:1000:1000::/:/bin/sh\n")
    add_account_entries(rootfs, paths)
    assert (rootfs / "etc" / "passwd").read_text() == edited


def test_an_image_without_the_file_or_with_a_link_gets_none(tmp_path):
    rootfs, paths = _container(tmp_path, None, "user:*:1000:1000::/:/bin/sh\n")
    add_account_entries(rootfs, paths)
    assert not (rootfs / "etc" / "passwd").exists()
    outside = tmp_path / "host-passwd"
    outside.write_text("host:x:0:0::/:/bin/sh\n")
    os.symlink(outside, rootfs / "etc" / "passwd")
    add_account_entries(rootfs, paths)
    assert outside.read_text() == "host:x:0:0::/:/bin/sh\n"
