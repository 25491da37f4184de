"""The container's own /etc/passwd and /etc/group lines, as podman 4.3 adds them.

podman (libpod generatePasswdAndGroup) adds, only where the image's files lack them:
- a line for each --hostuser (the host's entry), and with rootless --userns=keep-id one for
  the user running the engine (and a group line for that user's group): `name:*:uid:gid:
  gecos:home:/bin/sh`, home the user's own when it (or a directory above it) is mounted in,
  else the working directory;
- for a numeric user (-u or the image's USER) no passwd entry names: `uid:*:uid:gid:container
  user:workdir:/bin/sh`, and for a numeric group missing from /etc/group `gid:x:gid:user`;
- --passwd-entry replaces the passwd lines' format ($USERNAME, $UID, $GID, $NAME, $HOME).
An image without /etc/passwd (or /etc/group) gets none. The image's files are never changed:
pod writes the whole file, the image's lines and the added ones, into the container directory
and binds it over the image's (pod.container.etc_files).
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence

from pod.container.user import GroupEntry, PasswdEntry, parse_group, parse_passwd
from pod.errors import PodError
from pod.util.records import dataclass

CONTAINER_USER = "container user"  # podman's gecos for a numeric user's line


@dataclass(frozen=True)
class HostAccount:
    """A host user (pwd) as podman's user.User: name, ids, gecos, home."""

    name: str
    uid: int
    gid: int
    gecos: str
    home: str


@dataclass(frozen=True)
class HostGroup:
    """keep-id's group: the host's entry for the group of the user running pod."""

    name: str
    gid: int


@dataclass(frozen=True)
class AccountRequest:
    """What decides the lines: the user string (-u, else the image's USER, else keep-id's
    `uid:gid`), the host users to add, keep-id's own user and group, the working directory,
    the container paths mounted in (volumes, binds) and --passwd-entry."""

    user_spec: str = ""
    host_users: Sequence[HostAccount] = ()
    current_user: HostAccount | None = None
    current_group: HostGroup | None = None
    workdir: str = "/"
    mount_destinations: Sequence[str] = ()
    passwd_entry: str = ""


@dataclass(frozen=True)
class EtcAccounts:
    """The container's whole /etc/passwd and /etc/group (None: the image's own is used)."""

    passwd: bytes | None
    group: bytes | None


def host_account(text: str) -> HostAccount:
    """A --hostuser NAME or UID from the host's passwd."""
    import pwd

    try:
        entry = pwd.getpwuid(int(text)) if text.isdigit() else pwd.getpwnam(text)
    except (KeyError, OverflowError):
        raise PodError(
            f"creating temporary passwd file for container: user: unknown user {text}"
        ) from None
    return HostAccount(entry.pw_name, entry.pw_uid, entry.pw_gid, entry.pw_gecos, entry.pw_dir)


def current_account(uid: int, gid: int) -> tuple[HostAccount, HostGroup]:
    """keep-id's user and group: the host's entries for the user running pod."""
    import grp
    import pwd

    try:
        user = pwd.getpwuid(uid)
    except KeyError:
        raise PodError(f"failed to get current user: user: unknown userid {uid}") from None
    try:
        group = grp.getgrgid(gid)
    except KeyError:
        raise PodError(f"failed to get current group: group: unknown groupid {gid}") from None
    account = HostAccount(user.pw_name, user.pw_uid, user.pw_gid, user.pw_gecos, user.pw_dir)
    return account, HostGroup(group.gr_name, group.gr_gid)


def _is_number(text: str) -> bool:
    """Go's strconv.ParseUint(text, 10, 32) succeeds."""
    return bool(text) and all(c in "0123456789" for c in text) and int(text) < 2**32


def _home(account: HostAccount, request: AccountRequest) -> str:
    """The user's own home when it or a directory above it (not /) is mounted in, else the
    working directory (podman's userPasswdEntry)."""
    mounted = {posixpath.normpath(d) for d in request.mount_destinations}
    path = posixpath.normpath(account.home or "/")
    while path != "/":
        if path in mounted:
            return account.home
        path = posixpath.dirname(path)
    return request.workdir


def _line(request: AccountRequest, name: str, uid: int, gid: int, gecos: str, home: str) -> str:
    if request.passwd_entry:
        text = request.passwd_entry
        for key, value in (("$USERNAME", name), ("$UID", str(uid)), ("$GID", str(gid)),
                           ("$NAME", gecos), ("$HOME", home)):  # fmt: skip
            text = text.replace(key, value)
        return text + "\n"
    return f"{name}:*:{uid}:{gid}:{gecos}:{home}:/bin/sh\n"


def _account_line(account: HostAccount, request: AccountRequest, passwd: list[PasswdEntry]) -> str:
    if any(e.name == account.name or e.uid == account.uid for e in passwd):
        return ""
    home = _home(account, request)
    return _line(request, account.name, account.uid, account.gid, account.gecos, home)


def _user_line(
    request: AccountRequest, passwd: list[PasswdEntry], group: list[GroupEntry], added_uid: int
) -> str:
    """A numeric user no passwd entry names (podman's generateUserPasswdEntry)."""
    user, _, group_spec = request.user_spec.partition(":")
    if not _is_number(user) or (added_uid and int(user) == added_uid):
        return ""
    uid = int(user)
    if any(e.uid == uid for e in passwd):
        return ""
    gid = 0
    if group_spec:
        if _is_number(group_spec):
            gid = int(group_spec)
        else:
            named = [g for g in group if g.name == group_spec]
            if not named:
                raise PodError(
                    f"unable to get gid {group_spec} from group file: "
                    "no matching entries in group file"
                )
            gid = named[0].gid
    return _line(request, str(uid), uid, gid, CONTAINER_USER, request.workdir)


def _group_line(request: AccountRequest, group: list[GroupEntry], added_gid: int) -> str:
    """A numeric group missing from /etc/group (podman's generateUserGroupEntry)."""
    if not request.user_spec:
        return ""
    user, _, group_spec = request.user_spec.partition(":")
    wanted = group_spec or user
    if not _is_number(wanted) or (added_gid and int(wanted) == added_gid):
        return ""
    if any(g.gid == int(wanted) for g in group):
        return ""
    return f"{int(wanted)}:x:{int(wanted)}:{user}\n"


def _current_group_line(request: AccountRequest, group: list[GroupEntry]) -> str:
    own, user = request.current_group, request.current_user
    if own is None or user is None:
        return ""
    if any(g.name == own.name or g.gid == own.gid for g in group):
        return ""
    return f"{own.name}:x:{own.gid}:{user.name}\n"


def _joined(original: bytes, added: str) -> bytes:
    if original and not original.endswith(b"\n"):
        original += b"\n"
    return original + added.encode()


def etc_accounts(
    request: AccountRequest, image_passwd: bytes | None, image_group: bytes | None
) -> EtcAccounts:
    """The files with podman's lines added (None for a file the image lacks or that gains
    nothing)."""
    passwd_file, group_file = None, None
    group = parse_group(image_group) if image_group is not None else []
    if image_passwd is not None:
        passwd = parse_passwd(image_passwd)
        added = "".join(_account_line(a, request, passwd) for a in request.host_users)
        added_uid = 0
        if request.current_user is not None:
            added += _account_line(request.current_user, request, passwd)
            added_uid = request.current_user.uid
        added += _user_line(request, passwd, group, added_uid)
        if added:
            passwd_file = _joined(image_passwd, added)
    if image_group is not None:
        added = _current_group_line(request, group)
        added_gid = request.current_group.gid if added and request.current_group else 0
        added += _group_line(request, group, added_gid)
        if added:
            group_file = _joined(image_group, added)
    return EtcAccounts(passwd_file, group_file)
