"""The /etc/passwd and /etc/group lines podman 4.3 adds (--hostuser, keep-id, -u UID[:GID],
--passwd-entry), checked against what podman-ref wrote for the same cases."""

from __future__ import annotations

import pytest

from pod.container.etc_users import AccountRequest, HostAccount, HostGroup, etc_accounts
from pod.errors import PodError

PASSWD = b"root:x:0:0:root:/root:/bin/sh\ntester:x:1000:1000:tester:/home/tester:/bin/sh\n"
GROUP = b"root:x:0:\ntester:x:1000:\n"
ME = HostAccount("podtest", 1001, 1001, "", "/home/podtest")
MY_GROUP = HostGroup("podtest", 1001)


def added(request: AccountRequest, passwd=PASSWD, group=GROUP) -> tuple:
    """The lines added to each file (None: the file is not written)."""
    files = etc_accounts(request, passwd, group)
    return (
        None if files.passwd is None else files.passwd[len(passwd) :].decode(),
        None if files.group is None else files.group[len(group) :].decode(),
    )


def keep_id(**changes) -> AccountRequest:
    fields = {"user_spec": "1001:1001", "current_user": ME, "current_group": MY_GROUP}
    return AccountRequest(**{**fields, "workdir": "/root", **changes})


def test_keep_id_adds_the_user_and_its_group():
    assert added(keep_id()) == (
        "podtest:*:1001:1001::/root:/bin/sh\n",
        "podtest:x:1001:podtest\n",
    )


def test_keep_id_home_is_the_workdir_unless_it_is_mounted_in():
    assert added(keep_id(workdir="/tmp"))[0] == "podtest:*:1001:1001::/tmp:/bin/sh\n"
    mounted = keep_id(mount_destinations=["/home/podtest"])
    assert added(mounted)[0] == "podtest:*:1001:1001::/home/podtest:/bin/sh\n"
    above = keep_id(mount_destinations=["/home/"])
    assert added(above)[0] == "podtest:*:1001:1001::/home/podtest:/bin/sh\n"
    assert added(keep_id(mount_destinations=["/"]))[0].endswith("::/root:/bin/sh\n")


def test_keep_id_adds_nothing_the_image_has():
    mine = PASSWD + b"podtest:x:1001:1001::/home/podtest:/bin/sh\n"
    assert added(keep_id(), passwd=mine, group=GROUP + b"podtest:x:1001:\n") == (None, None)
    same_uid = PASSWD + b"other:x:1001:1001::/:/bin/sh\n"
    assert added(keep_id(), passwd=same_uid)[0] is None
    same_gid = GROUP + b"users:x:1001:\n"
    assert added(keep_id(), group=same_gid)[1] is None


def test_keep_id_with_another_user_still_adds_its_own():
    assert added(keep_id(user_spec="root"))[0] == "podtest:*:1001:1001::/root:/bin/sh\n"


def test_a_numeric_user_the_image_lacks():
    numeric = AccountRequest(user_spec="4242:4343", workdir="/root")
    assert added(numeric) == (
        "4242:*:4242:4343:container user:/root:/bin/sh\n",
        "4343:x:4343:4242\n",
    )
    alone = AccountRequest(user_spec="4242", workdir="/tmp")
    assert added(alone) == ("4242:*:4242:0:container user:/tmp:/bin/sh\n", "4242:x:4242:4242\n")
    named_user = AccountRequest(user_spec="tester:4343", workdir="/")
    assert added(named_user) == (None, "4343:x:4343:tester\n")
    named_group = AccountRequest(user_spec="4242:tester", workdir="/")
    assert added(named_group) == ("4242:*:4242:1000:container user:/:/bin/sh\n", None)
    with pytest.raises(PodError, match="unable to get gid nope from group file"):
        added(AccountRequest(user_spec="4242:nope"))
    assert added(AccountRequest(user_spec="1000")) == (None, None)
    assert added(AccountRequest(user_spec="")) == (None, None)


def test_passwd_entry_formats_the_lines():
    template = "$USERNAME:x:$UID:$GID:$NAME:$HOME:/bin/false"
    assert added(keep_id(passwd_entry=template))[0] == "podtest:x:1001:1001::/root:/bin/false\n"
    numeric = AccountRequest(user_spec="4242:4343", workdir="/root", passwd_entry=template)
    assert added(numeric)[0] == "4242:x:4242:4343:container user:/root:/bin/false\n"
    assert added(keep_id(passwd_entry="$USERNAME-$UID"))[0] == "podtest-1001\n"
    assert added(AccountRequest(passwd_entry=template)) == (None, None)  # root: in the image


def test_host_users_come_first():
    guest = HostAccount("guest", 2000, 2000, "Guest", "/home/guest")
    request = keep_id(host_users=[guest])
    assert added(request)[0] == (
        "guest:*:2000:2000:Guest:/root:/bin/sh\npodtest:*:1001:1001::/root:/bin/sh\n"
    )


def test_an_image_without_the_files_gets_none():
    assert etc_accounts(keep_id(), None, None).passwd is None
    files = etc_accounts(keep_id(), None, GROUP)
    assert files.passwd is None and files.group == GROUP + b"podtest:x:1001:podtest\n"


def test_a_last_line_without_newline_is_ended_first():
    files = etc_accounts(AccountRequest(user_spec="5"), b"root:x:0:0::/:/bin/sh", None)
    assert files.passwd == b"root:x:0:0::/:/bin/sh\n5:*:5:0:container user:/:/bin/sh\n"
