"""The two sides of `pod cp`, each answering stat, get (write a tar) and put (extract one).

The host side runs in this process. A container side sees the container's own tree: a running
container's root through /proc/<pid>/root (its volumes, bind mounts, tmpfs and the /etc files
pod writes are mounted there by the kernel), a stopped one's rootfs mounted for the copy plus
its bind mounts from config.json. Rootful, that happens in this process; rootless, in a session
worker (pod.container.cp_worker) that is root of the container's user namespace: it joins the
running container's shim's namespace, or makes one with the user's mapping and mounts the
rootfs in a mount namespace of its own. Data between the sides flows through a pipe whose
ends are handed to each side (over SCM_RIGHTS to a worker).
"""

from __future__ import annotations

import contextlib
import json
import os
import posixpath
import stat
import threading
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from pod.container.cp_tar import Source, Target, Tree, put_tar, write_tar
from pod.errors import PodError
from pod.store import safepath
from pod.util.records import asdict, dataclass, field

WORKER_MODULE = "pod.container.cp_worker"
RUNNING = ("running", "paused", "stopping")
_OVERFLOW_ID = 65534


@dataclass(frozen=True)
class Stat:
    """What a side found at a path: where it leads with symlinks resolved (a container path
    below its root, no leading "/"; a host path absolute) and its kind: dir, file (regular),
    other, or missing (`path` is then where a new entry would go; `reason` why it is not there).
    """

    path: str
    kind: str
    reason: str = "no such file or directory"


@dataclass(frozen=True)
class Get:
    """Archive `path` (as a side's Stat gave it) under the top-level name `arcname`
    ("": the directory's entries only)."""

    path: str
    arcname: str


@dataclass(frozen=True)
class Put:
    """Extract into the directory `path` (as a side's Stat gave it); `overwrite` as
    --overwrite; `archive` as -a: a container side chowns to its user."""

    path: str
    overwrite: bool
    archive: bool


class Side(Protocol):
    """One end of a copy. `where` and `kind` word its messages ("container web", "container").
    get and put own the fd they are given: it is closed when they return."""

    @property
    def where(self) -> str: ...

    @property
    def kind(self) -> str: ...

    def stat(self, path: str) -> Stat: ...

    def get(self, request: Get, fd: int) -> None: ...

    def put(self, request: Put, fd: int) -> None: ...


class ContainerEnd(Side, Protocol):
    """A container's side, which can also copy within itself (`pod cp C:a C:b`)."""

    def copy_within(self, get: Get, put: Put) -> None: ...


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "dir"
    return "file" if stat.S_ISREG(mode) else "other"


def transfer(get: Callable[[int], None], put: Callable[[int], None]) -> None:
    """Run `get` (writing a tar into a pipe) and `put` (reading it) together; each closes its
    end. The first real failure is raised: a writer's broken pipe only follows the reader's."""
    read_fd, write_fd = os.pipe()
    failures: dict[str, BaseException] = {}

    def produce() -> None:
        try:
            get(write_fd)
        except BaseException as err:  # noqa: BLE001 - raised below, in the caller's thread
            failures["get"] = err

    writer = threading.Thread(target=produce, daemon=True)
    writer.start()
    try:
        put(read_fd)
    except BaseException as err:  # noqa: BLE001 - raised below, after the writer is joined
        failures["put"] = err
    finally:
        writer.join()
    got = failures.get("get")
    if got is not None and not isinstance(got, BrokenPipeError):
        raise got
    if "put" in failures:
        raise failures["put"]
    if got is not None:
        raise got


def _write_all(fd: int, write: Callable[[Any], None]) -> None:
    """Call write(file) on a file for `fd`, which is closed whatever happens (the reader then
    sees the end); a reader that went away is the reader's story."""
    with contextlib.suppress(BrokenPipeError), open(fd, "wb") as out:
        write(out)


def _read_all(fd: int, read: Callable[[Any], None]) -> None:
    """Call read(file) on a file for `fd`, then drain it so the writer can finish; `fd` is
    closed whatever happens (the writer then stops)."""
    with open(fd, "rb") as stream:
        read(stream)
        while stream.read(1 << 20):
            pass


# --- the host -------------------------------------------------------------------------------


def _namespace_ids() -> Callable[[int, int], tuple[int, int]]:
    """Host ids as the rootless user's namespace sees them (podman reads host files from inside
    it): the user is 0, subordinate ids map into the range, anything else is the overflow id."""
    from pod.util.userns import current_mapping

    mapping = current_mapping()

    def inside(host: int, lines: list[Any]) -> int:
        for line in lines:
            if line.outside <= host < line.outside + line.count:
                return line.inside + host - line.outside
        return _OVERFLOW_ID

    uids, gids = mapping.uids.lines(), mapping.gids.lines()
    return lambda uid, gid: (inside(uid, uids), inside(gid, gids))


@dataclass
class HostSide:
    """The host: paths are the user's (relative to the current directory), symlinks followed.
    `rootless`: archived owners are translated into the user's namespace."""

    rootless: bool
    where: str = "the host"
    kind: str = "host"

    def stat(self, path: str) -> Stat:
        # Made absolute lexically first (`a/..` never goes through `a`), a trailing "/" kept.
        absolute = os.path.abspath(path)
        statted = absolute + "/" if path.endswith("/") and absolute != "/" else absolute
        try:
            st = os.stat(statted)
        except FileNotFoundError:
            return Stat(absolute, "missing")
        except NotADirectoryError:
            return Stat(absolute, "missing", f"stat {statted}: not a directory")
        return Stat(os.path.realpath(absolute), _kind(st.st_mode))

    def get(self, request: Get, fd: int) -> None:
        def write(out: Any) -> None:
            ids = _namespace_ids() if self.rootless else None
            source = Source(request.path.lstrip("/"), request.arcname, owner=None, ids=ids)
            root_fd = os.open("/", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            try:
                write_tar(out, Tree(root_fd, {}, container=False), source)
            finally:
                os.close(root_fd)

        _write_all(fd, write)

    def put(self, request: Put, fd: int) -> None:
        def read(stream: Any) -> None:
            target = Target(
                "",
                owner=(os.getuid(), os.getgid()),
                overwrite=request.overwrite,
                devices=False,
                where=request.path,
            )
            root_fd = os.open(request.path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            try:
                put_tar(stream, Tree(root_fd, {}, container=False), target)
            finally:
                os.close(root_fd)

        _read_all(fd, read)


# --- a container ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ContainerFacts:
    """What a container side needs to know, from the store (JSON-able for the worker)."""

    id: str
    name: str
    directory: str
    workdir: str
    user: tuple[int, int]
    binds: dict[str, str] = field(default_factory=dict)
    rootless: bool = False
    pid: int = 0  # the running container's init, else 0
    shim_pid: int = 0
    # `pod export`: the rootfs as stored, running or not (no volumes, no kernel file systems,
    # /proc, /sys and /dev as the image has them), its owners kept
    rootfs_only: bool = False

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ContainerFacts:
        return cls(**{**data, "user": tuple(data["user"])})


def _is_bind(mount: dict[str, Any]) -> bool:
    return mount.get("type") == "bind" or bool({"bind", "rbind"} & set(mount.get("options", [])))


def read_facts(layout: Any, store: Any, record: Any, name: str) -> ContainerFacts:
    """The facts of `record` (as the user named it `name`), from config.json and its state."""
    from pod.container.state import current_state

    directory = layout.container_dir(record.id)
    config = json.loads(layout.container(record.id).config.read_bytes())
    process = config.get("process", {})
    user = process.get("user", {})
    binds = {}
    for mount in config.get("mounts", []):
        destination = safepath.clean_relpath(mount.get("destination", ""))
        if destination and _is_bind(mount):
            binds[destination] = mount["source"]
    state = current_state(store, record)
    running = state.status in RUNNING and state.pid > 0
    return ContainerFacts(
        id=record.id,
        name=name,
        directory=str(directory),
        workdir=process.get("cwd", "/"),
        user=_user_outside(
            config, record.rootless, int(user.get("uid", 0)), int(user.get("gid", 0))
        ),
        binds=binds,
        rootless=record.rootless,
        pid=state.pid if running else 0,
        shim_pid=state.shim_pid if running else 0,
    )


def _user_outside(config: dict, rootless: bool, uid: int, gid: int) -> tuple[int, int]:
    """The process user as the rootless worker (root of the shim's namespace) writes it: a
    container with a namespace nested in the shim's (--userns=keep-id, nomap, auto) has its
    ids moved by the bundle's maps; otherwise they are the shim namespace's already."""
    linux = config.get("linux") or {}
    if not rootless or not linux.get("uidMappings"):
        return uid, gid

    def outside(lines: list[dict], value: int) -> int:
        for line in lines:
            if line["containerID"] <= value < line["containerID"] + line["size"]:
                return line["hostID"] + value - line["containerID"]
        return value

    return outside(linux["uidMappings"], uid), outside(linux.get("gidMappings") or [], gid)


def container_path(path: str, workdir: str) -> str:
    """A path in the container as podman reads it: relative ones start at the WORKDIR, and `..`
    is taken lexically (`/a/..` is `/` wherever /a leads)."""
    joined = posixpath.normpath(posixpath.join("/", workdir, path))
    return "/" + joined.lstrip("/")


@dataclass
class ContainerSide:
    """A container whose tree this process sees (rootful, or inside the rootless worker)."""

    tree: Tree
    facts: ContainerFacts
    kind: str = "container"

    @property
    def where(self) -> str:
        return f"container {self.facts.name}"

    def stat(self, path: str) -> Stat:
        found = safepath.lookup(
            self.tree.root_fd, container_path(path, self.facts.workdir), mounts=self.tree.mounts
        )
        if found.stat is None:
            return Stat(found.path, "missing")
        return Stat(found.path, _kind(found.stat.st_mode))

    def get(self, request: Get, fd: int) -> None:
        owner = None if self.facts.rootfs_only else self.facts.user
        source = Source(request.path, request.arcname, owner=owner)
        _write_all(fd, lambda out: write_tar(out, self.tree, source))

    def put(self, request: Put, fd: int) -> None:
        target = Target(
            request.path,
            owner=self.facts.user if request.archive else None,
            overwrite=request.overwrite,
            devices=not self.facts.rootless,
            where="/" + request.path,
        )
        _read_all(fd, lambda stream: put_tar(stream, self.tree, target))

    def copy_within(self, get: Get, put: Put) -> None:
        transfer(lambda fd: self.get(get, fd), lambda fd: self.put(put, fd))


@dataclass
class WorkerSide:
    """A rootless container, served by a session worker in its user namespace."""

    session: Any  # pod.util.userns.Session
    facts: ContainerFacts
    kind: str = "container"

    @property
    def where(self) -> str:
        return f"container {self.facts.name}"

    def stat(self, path: str) -> Stat:
        return Stat(**self.session.call({"op": "stat", "path": path}))

    def get(self, request: Get, fd: int) -> None:
        self.session.call({"op": "get", **asdict(request)}, (fd,))

    def put(self, request: Put, fd: int) -> None:
        self.session.call({"op": "put", **asdict(request)}, (fd,))

    def copy_within(self, get: Get, put: Put) -> None:
        self.session.call({"op": "copy", "get": asdict(get), "put": asdict(put)})


def _open_root(path: str, what: str) -> int:
    try:
        return os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except (FileNotFoundError, ProcessLookupError):
        raise PodError(f"{what} stopped while copying: try again") from None


@contextlib.contextmanager
def open_container(
    layout: Any, store: Any, record: Any, facts: ContainerFacts, warn: Callable[[str], None]
) -> Iterator[ContainerEnd]:
    """The side for a container, for the duration of the block (its rootfs mounted meanwhile
    when it is stopped, under the container's lock). `warn` hears of a rootless namespace
    that could map the user's own id only."""
    from pod.store.lock import locked

    if facts.rootless:
        with _worker_side(layout, store, record, facts, warn) as side:
            yield side
        return
    if facts.pid and not facts.rootfs_only:
        root_fd = _open_root(f"/proc/{facts.pid}/root", f"container {facts.name}")
        try:
            yield ContainerSide(Tree(root_fd, {}, container=True), facts)
        finally:
            os.close(root_fd)
        return
    from pod.container import rootfs as rootfs_mount

    directory = layout.container_dir(record.id)
    merged = rootfs_mount.merged_dir(directory)
    with locked(store.container_lock(record.id)):
        mounted_here = not os.path.ismount(merged)
        if mounted_here:
            rootfs_mount.mount(layout, record, directory)
        try:
            root_fd = _open_root(str(merged), f"container {facts.name}")
            try:
                tree = Tree(root_fd, facts.binds, container=not facts.rootfs_only)
                yield ContainerSide(tree, facts)
            finally:
                os.close(root_fd)
        finally:
            if mounted_here:
                rootfs_mount.unmount(directory)


@contextlib.contextmanager
def _worker_side(
    layout: Any, store: Any, record: Any, facts: ContainerFacts, warn: Callable[[str], None]
) -> Iterator[ContainerEnd]:
    """A running rootless container: a worker joining its shim's user namespace. A stopped one:
    a worker in a fresh one mounting the rootfs privately, under the container's lock."""
    from pod.store.lock import locked
    from pod.util.userns import start_session

    request = {
        "op": "open",
        "root": str(layout.root),
        "runroot": str(layout.runroot),
        "facts": asdict(facts),
    }
    with contextlib.ExitStack() as stack:
        if not facts.pid:
            stack.enter_context(locked(store.container_lock(record.id)))
        session = stack.enter_context(start_session(WORKER_MODULE, userns=not facts.pid))
        if session.warning:
            warn(session.warning)
        session.call(request)
        yield WorkerSide(session, facts)
