"""`pod cp`: copy between a container and the host, between two containers, or as a tar stream
on stdin/stdout, by podman 4.3.1's rules (cmd/podman/containers/cp.go).

The rules, in the order podman checks them: the containers must exist; the source must (a
container path is relative to the WORKDIR; `SRC/.` means the directory's entries); a
destination that exists is a directory the copy goes into or a regular file it replaces (a
host device, FIFO or a symlink to one is refused: "invalid destination"); a missing one needs
its parent directory and takes the source's place under its own name; a directory never
replaces a file, and with stdin the destination must be a directory and the input a tar
(plain or compressed). Entries copied into a container belong to its user unless
`--archive=false`; entries copied to the host belong to the caller; a directory never replaces
a non-directory nor the reverse unless `--overwrite`.

The sides (pod.container.cp_sides) do the file work: symlinks resolve inside the container,
host destinations are extracted confined to their directory, and nothing else on the host is
touched.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from pod.container.cp_sides import (
    ContainerEnd,
    ContainerFacts,
    Get,
    HostSide,
    Put,
    Side,
    Stat,
    open_container,
    read_facts,
    transfer,
)
from pod.errors import NoSuchContainerError, PodError, UsageError
from pod.reporter import Reporter
from pod.util.records import dataclass

_CHUNK = 1 << 20


@dataclass(frozen=True)
class Location:
    """One argument of `pod cp`: a container (None: the host) and a path ("-": a stream)."""

    container: str | None
    path: str


def parse_location(text: str) -> Location:
    """podman's `[CONTAINER:]PATH`: text starting with "." or "/" is a host path (colons and
    all); otherwise what precedes the first colon names a container."""
    if not text or text[0] in "./":
        return Location(None, text)
    name, sep, path = text.partition(":")
    return Location(name, path) if sep else Location(None, text)


@dataclass(frozen=True)
class CopyOptions:
    """`-a/--archive` (chown to the container's user), `--overwrite`, `--pause`."""

    archive: bool = True
    overwrite: bool = False
    pause: bool = False


def quoted(text: str) -> str:
    """A string as Go's %q shows it, for podman's messages."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _not_found(path: str, side: Side, reason: str = "no such file or directory") -> PodError:
    return PodError(f"{quoted(path)} could not be found on {side.where}: {reason}")


def _invalid_destination(path: str) -> PodError:
    return PodError(f"invalid destination: {quoted(path)} must be a directory or a regular file")


@dataclass(frozen=True)
class Destination:
    """Where the archive goes: the directory `into`, and the name the source's top entry takes
    there (None: its own, the destination being an existing directory)."""

    into: str
    name: str | None
    exists: Stat | None


def _source_name(side: Side, found: Stat, given: str) -> tuple[str, bool]:
    """(top-level name, entries only?) of a source: a container names it by where its symlinks
    lead, the host by the name given; `dir/.` (and a container's `.`) means the entries."""
    if side.kind == "host":
        name = posixpath.basename(os.path.abspath(given))
        contents = given.endswith("/.")
    else:
        name = posixpath.basename(found.path)
        contents = posixpath.basename(given) == "."
    return name, contents or not name


def _destination(side: Side, path: str, *, stdin: bool) -> Destination:
    """Resolve the destination as podman does (see the module docstring); raise its errors."""
    found = side.stat(path)
    if found.kind != "missing":
        if found.kind == "other":
            shown = os.path.abspath(path) if side.kind == "host" else path
            raise _invalid_destination(shown)
        if stdin and found.kind != "dir":
            raise PodError("destination must be a directory when copying from stdin")
        if found.kind == "dir":
            return Destination(found.path, None, found)
        parent, name = posixpath.split(found.path)
        return Destination(parent, name, found)
    if path.endswith("/"):
        raise _not_found(path, side, found.reason)
    if stdin:
        raise PodError("destination must be a directory when copying from stdin")
    parent_path, name = posixpath.split(found.path)
    parent_stat = side.stat(parent_path if side.kind == "host" else "/" + parent_path)
    if parent_stat.kind == "other" and side.kind == "host":
        raise _invalid_destination(parent_path)
    if parent_stat.kind == "file":
        raise _not_found(path, side, "not a directory")
    if parent_stat.kind != "dir":
        raise _not_found(path, side)
    return Destination(parent_stat.path, name, None)


def _plan(src: Side, found: Stat, given: str, dest: Destination) -> Get:
    """What the source sends: under the destination's name, or its own in an existing
    directory (its entries only for `dir/.`)."""
    if found.kind == "dir" and dest.exists is not None and dest.exists.kind != "dir":
        raise PodError("destination must be a directory when copying a directory")
    name, contents = _source_name(src, found, given)
    if dest.name is not None:
        return Get(found.path, dest.name)
    return Get(found.path, "" if contents else name)


def _labelled(label: str, step: Callable[[int], None]) -> Callable[[int], None]:
    """`step`, its PodErrors prefixed as podman words them ("copying to host: ...")."""

    def run(fd: int) -> None:
        try:
            step(fd)
        except PodError as err:
            raise type(err)(f"{label}: {err}") from None

    return run


def _copy(src: Side, get: Get, dst: Side, put: Put) -> None:
    transfer(
        _labelled(f"copying from {src.kind}", lambda fd: src.get(get, fd)),
        _labelled(f"copying to {dst.kind}", lambda fd: dst.put(put, fd)),
    )


# --- the containers -----------------------------------------------------------------------


class _Opened:
    """The containers of one copy: looked up first (podman's "does not exist"), then opened
    (a stopped one's rootfs mounted) once each, paused with --pause, all closed at the end."""

    def __init__(self, settings: Any, options: CopyOptions, reporter: Reporter) -> None:
        from pod.store.containers import ContainerStore
        from pod.store.layout import Layout

        self.settings = settings
        self.options = options
        self.reporter = reporter
        self.layout = Layout(settings.root, settings.runroot)
        self.store = ContainerStore(self.layout)
        self.stack = contextlib.ExitStack()
        self.records: dict[str, Any] = {}
        self.sides: dict[str, ContainerEnd] = {}

    def __enter__(self) -> _Opened:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stack.close()

    def must_exist(self, name: str) -> None:
        if not name:
            raise PodError("name or ID cannot be empty")
        try:
            self.records[name] = self.store.lookup(name)
        except NoSuchContainerError:
            raise PodError(f"container {quoted(name)} does not exist") from None

    def side(self, name: str) -> ContainerEnd:
        record = self.records[name]
        if record.id in self.sides:
            return self.sides[record.id]
        if self.options.pause:
            from pod.container.pause import paused_while

            froze = self.stack.enter_context(paused_while(self.settings, self.store, record))
            if not froze and self.settings.rootless:
                self.reporter.warning(
                    f"cannot pause rootless container {name} without cgroup v2: copying anyway"
                )
        facts: ContainerFacts = read_facts(self.layout, self.store, record, name)
        opening = open_container(self.layout, self.store, record, facts, self.reporter.warning)
        side = self.stack.enter_context(opening)
        self.sides[record.id] = side
        return side


# --- stdin and stdout ---------------------------------------------------------------------


@contextlib.contextmanager
def _spooled_stdin() -> Iterator[str]:
    """Standard input in a temporary file, checked to be a (compressed) tar before any of it
    reaches the container, as podman does."""
    from pod.util.archive import is_tar_archive

    with tempfile.TemporaryDirectory(prefix="pod-cp-") as spool:
        path = os.path.join(spool, "stdin")
        with open(path, "wb") as out:
            shutil.copyfileobj(sys.stdin.buffer, out, _CHUNK)
        if not is_tar_archive(Path(path)):
            raise PodError("source must be a (compressed) tar archive when copying from stdin")
        yield path


def _send_file(path: str, fd: int) -> None:
    """Write the decompressed archive at `path` to `fd` (the put side's pipe)."""
    from pod.util.archive import decode_errors, decompressed

    with open(fd, "wb") as out, open(path, "rb") as raw:
        try:
            shutil.copyfileobj(decompressed(raw), out, _CHUNK)
        except BrokenPipeError:
            return
        except decode_errors() as err:
            raise PodError(f"cannot decompress the archive on stdin: {err}") from None


def _to_stdout(src: Side, get: Get) -> None:
    sys.stdout.flush()
    _labelled(f"copying from {src.kind}", lambda fd: src.get(get, fd))(os.dup(1))


# --- the three directions -----------------------------------------------------------------


def copy(
    settings: Any, source: str, dest: str, options: CopyOptions, reporter: Reporter | None = None
) -> None:
    """`pod cp SOURCE DEST`."""
    src, dst = parse_location(source), parse_location(dest)
    if not src.path or not dst.path:
        raise UsageError(
            f"invalid arguments {quoted(source)}, {quoted(dest)}: you must specify paths"
        )
    with _Opened(settings, options, reporter or Reporter()) as opened:
        if src.container is not None and dst.container is not None:
            _between_containers(opened, src, dst)
        elif src.container is not None:
            _from_container(opened, src, dst.path)
        else:
            _to_container(opened, src.path, dst)


def _between_containers(opened: _Opened, src: Location, dst: Location) -> None:
    assert src.container is not None and dst.container is not None
    opened.must_exist(src.container)
    opened.must_exist(dst.container)
    # Opened in a fixed order: two copies between the same containers never wait on each other.
    for name in sorted((src.container, dst.container), key=lambda n: opened.records[n].id):
        opened.side(name)
    source, target = opened.side(src.container), opened.side(dst.container)
    found = source.stat(src.path)
    if found.kind == "missing":
        raise _not_found(src.path, source)
    dest = _destination(target, dst.path, stdin=False)
    get = _plan(source, found, src.path, dest)
    put = Put(dest.into, opened.options.overwrite, opened.options.archive)
    if source is target:
        source.copy_within(get, put)
    else:
        _copy(source, get, target, put)


def _from_container(opened: _Opened, src: Location, host_path: str) -> None:
    assert src.container is not None
    opened.must_exist(src.container)
    source = opened.side(src.container)
    found = source.stat(src.path)
    if found.kind == "missing":
        raise _not_found(src.path, source)
    if host_path == "-":
        name, contents = _source_name(source, found, src.path)
        _to_stdout(source, Get(found.path, "" if contents else name))
        return
    host = HostSide(rootless=opened.settings.rootless)
    dest = _destination(host, host_path, stdin=False)
    get = _plan(source, found, src.path, dest)
    _copy(source, get, host, Put(dest.into, opened.options.overwrite, archive=True))


def _to_container(opened: _Opened, host_path: str, dst: Location) -> None:
    opened.must_exist(dst.container or "")
    assert dst.container is not None
    host = HostSide(rootless=opened.settings.rootless)
    stdin = host_path == "-"
    found = Stat("-", "file") if stdin else host.stat(host_path)
    if found.kind == "missing":
        raise _not_found(host_path, host)
    target = opened.side(dst.container)
    dest = _destination(target, dst.path, stdin=stdin)
    put = Put(dest.into, opened.options.overwrite, opened.options.archive)
    if not stdin:
        _copy(host, _plan(host, found, host_path, dest), target, put)
        return
    with _spooled_stdin() as spool:
        transfer(
            lambda fd: _send_file(spool, fd),
            _labelled("copying to container", lambda fd: target.put(put, fd)),
        )
