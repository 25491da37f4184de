"""`-u user[:group]` → ids, read from the image's own /etc/passwd and /etc/group.

The files come from the image's layer directories, merged the way overlayfs will merge them
(top layer first: a 0:0 character device or a `.wh.<name>` file hides lower entries, an opaque
directory hides lower content). Layers are untrusted: every component is opened with O_NOFOLLOW
below a layer directory, and symlinks are resolved inside the merged view (an absolute target
restarts at the image root, `..` stops there), so `/etc/passwd -> ../../../etc/passwd` can never
reach the host's file. The host's own user database (pwd/grp) is never consulted.

Matching follows runc's libcontainer/user.GetExecUser, which podman uses: a name must have a
passwd entry, a number needs none; supplementary groups come from /etc/group membership only
when no group was given.
"""

from __future__ import annotations

import contextlib
import errno
import os
import posixpath
import re
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path

from pod.errors import PodError, UnsafeContentError
from pod.store.safepath import MAX_SYMLINKS, split_path
from pod.util.records import dataclass, field, replace

MAX_ID = 2**31 - 1  # runc's limit, kept for 32-bit compatibility
MAX_FILE_BYTES = 16 << 20
WHITEOUT_PREFIX = ".wh."
OPAQUE_MARKER = ".wh..wh..opq"
OPAQUE_XATTRS = ("user.overlay.opaque", "trusted.overlay.opaque")
_NUMBER = r"^[+-]?[0-9]+$"
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK  # a FIFO must not block


@dataclass(frozen=True)
class ResolvedUser:
    """Who the container's process runs as.

    `spec` is the user string it was resolved from ("" = the default, root); `additional_gids`
    is what goes to process.user.additionalGids (podman adds the primary gid when a user was
    named, then the /etc/group memberships); `skipped_gids` are memberships left out because the
    user namespace does not map them (podman warns about each).
    """

    uid: int = 0
    gid: int = 0
    additional_gids: tuple[int, ...] = ()
    home: str = "/"
    spec: str = ""
    skipped_gids: tuple[int, ...] = field(default=(), compare=False)

    @property
    def is_root(self) -> bool:
        """Root by name, as podman decides which capabilities stay effective."""
        return self.spec.split(":")[0] in ("", "root", "0")


# --- the merged view of the layers -------------------------------------------------------------


def _lstat(name: str, dir_fd: int) -> os.stat_result | None:
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except (FileNotFoundError, NotADirectoryError):
        return None


def _is_whiteout(st: os.stat_result) -> bool:
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def _is_opaque(fd: int) -> bool:
    if _lstat(OPAQUE_MARKER, fd) is not None:
        return True
    for name in OPAQUE_XATTRS:
        try:
            if os.getxattr(fd, name) == b"y":
                return True
        except OSError as err:
            if err.errno not in (errno.ENODATA, errno.ENOTSUP, errno.EPERM, errno.EACCES):
                raise
    return False


def _close_all(fds: Sequence[int]) -> None:
    for fd in fds:
        os.close(fd)


class LayerView:
    """Read-only lookups in the union of layer directories given top layer first."""

    def __init__(self, layers: Sequence[Path | str]) -> None:
        self.layers = [Path(layer) for layer in layers]

    def _roots(self) -> list[int]:
        fds: list[int] = []
        try:
            for layer in self.layers:
                with contextlib.suppress(FileNotFoundError):
                    fds.append(os.open(layer, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC))
        except BaseException:
            _close_all(fds)
            raise
        return fds

    def _child_dirs(self, dirs: list[int], name: str) -> list[int] | None:
        """The fds of `name` in each layer that contributes to the merged directory, or None."""
        found: list[int] = []
        try:
            for fd in dirs:
                st = _lstat(name, fd)
                if st is None:
                    if _lstat(WHITEOUT_PREFIX + name, fd) is not None:
                        break
                    continue
                if not stat.S_ISDIR(st.st_mode):
                    break  # a whiteout or a file: nothing lower shows through
                child = os.open(name, _DIR_FLAGS, dir_fd=fd)
                found.append(child)
                if _is_opaque(child):
                    break
        except BaseException:
            _close_all(found)
            raise
        return found or None

    def _top_entry(self, dirs: list[int], name: str) -> tuple[int, os.stat_result] | None:
        """The topmost layer's entry for `name` (its directory fd and lstat), unless hidden."""
        for fd in dirs:
            st = _lstat(name, fd)
            if st is not None:
                return None if _is_whiteout(st) else (fd, st)
            if _lstat(WHITEOUT_PREFIX + name, fd) is not None:
                return None
        return None

    def _walk_dirs(self, names: list[str]) -> list[int] | None:
        """Re-open the merged directory at `names` (directories found earlier) from the roots."""
        dirs: list[int] | None = self._roots()
        for name in names:
            if dirs is None:
                return None
            child = self._child_dirs(dirs, name)
            _close_all(dirs)
            dirs = child
        return dirs

    def exists(self, path: str) -> bool:
        """Whether the merged image has an entry at `path` (its directories taken literally)."""
        *parents, name = split_path(path) or [""]
        if not name:
            return True
        dirs = self._walk_dirs(parents)
        if dirs is None:
            return False
        try:
            return self._top_entry(dirs, name) is not None
        finally:
            _close_all(dirs)

    def read_file(self, path: str, limit: int = MAX_FILE_BYTES) -> bytes | None:
        """The content of the regular file at `path` in the merged image, None when missing."""
        pending = split_path(path)
        names: list[str] = []
        links = 0
        dirs = self._walk_dirs(names)
        try:
            while pending and dirs is not None:
                part = pending.pop(0)
                if part == "..":
                    names = names[:-1]
                    _close_all(dirs)
                    dirs = self._walk_dirs(names)
                    continue
                entry = self._top_entry(dirs, part)
                if entry is None:
                    return None
                fd, st = entry
                if stat.S_ISLNK(st.st_mode):
                    links += 1
                    if links > MAX_SYMLINKS:
                        raise UnsafeContentError(
                            f"too many levels of symbolic links in {path} in the image"
                        )
                    target = os.readlink(part, dir_fd=fd)
                    pending[:0] = split_path(target)
                    if target.startswith("/"):
                        names = []
                        _close_all(dirs)
                        dirs = self._walk_dirs(names)
                    continue
                if not pending:
                    return _read_regular(fd, part, limit) if stat.S_ISREG(st.st_mode) else None
                if not stat.S_ISDIR(st.st_mode):
                    return None
                child = self._child_dirs(dirs, part)
                _close_all(dirs)
                dirs = child
                names.append(part)
            return None
        finally:
            if dirs is not None:
                _close_all(dirs)


def _read_regular(dir_fd: int, name: str, limit: int) -> bytes | None:
    try:
        fd = os.open(name, _FILE_FLAGS, dir_fd=dir_fd)
    except OSError as err:
        if err.errno in (errno.ENOENT, errno.ELOOP):
            return None  # replaced under us (by a symlink, which O_NOFOLLOW refuses)
        raise
    with open(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise UnsafeContentError(f"{name} in the image is larger than {limit} bytes")
    return data


# --- passwd and group --------------------------------------------------------------------------


@dataclass(frozen=True)
class PasswdEntry:
    """The fields of an /etc/passwd line that a user lookup needs."""

    name: str
    uid: int
    gid: int
    home: str


@dataclass(frozen=True)
class GroupEntry:
    """The fields of an /etc/group line that a group lookup needs."""

    name: str
    gid: int
    members: tuple[str, ...]


def _int_field(text: str) -> int:
    """runc ignores conversion errors in these files (some are misformatted): they read as 0."""
    return int(text) if re.match(_NUMBER, text) else 0


def _lines(data: bytes) -> Iterator[list[str]]:
    for raw in data.decode("utf-8", "surrogateescape").splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            yield line.split(":")


def parse_passwd(data: bytes) -> list[PasswdEntry]:
    entries = []
    for fields in _lines(data):
        fields += [""] * (7 - len(fields))
        entries.append(
            PasswdEntry(fields[0], _int_field(fields[2]), _int_field(fields[3]), fields[5])
        )
    return entries


def parse_group(data: bytes) -> list[GroupEntry]:
    entries = []
    for fields in _lines(data):
        fields += [""] * (4 - len(fields))
        members = tuple(fields[3].split(",")) if fields[3] else ()
        entries.append(GroupEntry(fields[0], _int_field(fields[2]), members))
    return entries


def _numeric(text: str) -> int | None:
    if not re.match(_NUMBER, text):
        return None
    value = int(text)
    if not 0 <= value <= MAX_ID:
        raise PodError(f"uids and gids must be in range 0-{MAX_ID}")
    return value


def lookup_user(
    user_spec: str,
    passwd: Sequence[PasswdEntry] | None,
    group: Sequence[GroupEntry] | None,
    *,
    available_gids: int | None = None,
) -> ResolvedUser:
    """Resolve `user[:group]` against parsed files (None: the image has no such file)."""
    user_arg, _, group_arg = user_spec.partition(":")
    group_arg = group_arg.split(":")[0]
    uid_arg = _numeric(user_arg) if user_arg else None
    uid, gid, home = 0, 0, ""
    if user_arg == "":
        matches = [e for e in passwd or () if e.uid == 0]
    elif uid_arg is not None:
        matches = [e for e in passwd or () if e.uid == uid_arg]
    else:
        matches = [e for e in passwd or () if e.name == user_arg]
    matched_name = ""
    if matches:
        matched_name, uid, gid, home = (
            matches[0].name,
            matches[0].uid,
            matches[0].gid,
            matches[0].home,
        )
    elif user_arg:
        if uid_arg is None:
            raise PodError(f"unable to find user {user_arg}: no matching entries in passwd file")
        uid = uid_arg

    memberships: list[int] = []
    if group_arg:
        gid_arg = _numeric(group_arg)
        if gid_arg is not None:
            named = [g for g in group or () if g.gid == gid_arg]
        else:
            named = [g for g in group or () if g.name == group_arg]
        if named:
            gid = named[0].gid
        elif gid_arg is None:
            raise PodError(f"unable to find group {group_arg}: no matching entries in group file")
        else:
            gid = gid_arg
    elif matched_name:
        memberships = [g.gid for g in group or () if matched_name in g.members]

    extra: list[int] = [gid] if user_spec else []
    skipped: list[int] = []
    if ":" not in user_spec:
        for member_gid in memberships:
            if available_gids is not None and member_gid >= available_gids:
                skipped.append(member_gid)
            else:
                extra.append(member_gid)
    return ResolvedUser(
        uid=uid,
        gid=gid,
        additional_gids=tuple(dict.fromkeys(extra)),
        home=home or "/",
        spec=user_spec,
        skipped_gids=tuple(skipped),
    )


def resolve_user(
    layers: Sequence[Path | str],
    user_spec: str,
    *,
    available_gids: int | None = None,
    group_add: Sequence[str] = (),
) -> ResolvedUser:
    """Resolve `-u user[:group]` (or the image's USER) from the image layers, top layer first,
    with the --group-add groups (names from the image's /etc/group, or gids) added.

    `available_gids` is how many gids the user namespace maps from 0 (rootless: 1 without a
    subgid range); memberships beyond it are skipped, as podman does.
    """
    return resolve_user_from(
        account_files(layers), user_spec, available_gids=available_gids, group_add=group_add
    )


def account_files(layers: Sequence[Path | str]) -> tuple[bytes | None, bytes | None]:
    """The image's /etc/passwd and /etc/group (None: it has no such file)."""
    view = LayerView(layers)
    return view.read_file("/etc/passwd"), view.read_file("/etc/group")


def resolve_user_from(
    files: tuple[bytes | None, bytes | None],
    user_spec: str,
    *,
    available_gids: int | None = None,
    group_add: Sequence[str] = (),
) -> ResolvedUser:
    """resolve_user against given /etc/passwd and /etc/group contents: the image's, or the
    container's own when pod adds lines to them (pod.container.etc_users)."""
    passwd_data, group_data = files
    groups = None if group_data is None else parse_group(group_data)
    user = lookup_user(
        user_spec,
        None if passwd_data is None else parse_passwd(passwd_data),
        groups,
        available_gids=available_gids,
    )
    added = [_group_id(name, groups) for name in group_add if name != "keep-groups"]
    if not added:
        return user
    gids = tuple(dict.fromkeys([*user.additional_gids, *added]))
    return replace(user, additional_gids=gids)


def _group_id(text: str, groups: Sequence[GroupEntry] | None) -> int:
    """A --group-add value: a gid, or a group of the image's /etc/group."""
    number = _numeric(text)
    if number is not None:
        return number
    for entry in groups or ():
        if entry.name == text:
            return entry.gid
    raise PodError(f"Unable to find group {text}: no matching entries in group file")


def resolve_workdir(option: str | None, image_workdir: str) -> str:
    """`--workdir`, else the image's WorkingDir, else "/" (a relative one is taken from "/")."""
    chosen = option or image_workdir or "/"
    return posixpath.normpath("/" + chosen.lstrip("/"))


def home_env(user: ResolvedUser) -> str:
    """The HOME podman sets when neither the image nor -e does: the passwd home, else "/"."""
    return f"HOME={user.home or '/'}"
