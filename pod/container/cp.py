"""`pod cp`: copy files between a container and the host, either way, or as a tar stream.

Everything moves as a tar stream: the source side writes one (store.safepath walks, no link
followed out of the source root), the destination side extracts it with the layer extractor
(pod.store.layers.extract_tar_stream), so a hostile tar on stdin, a symlink planted in the
container (`/x -> /`, `../../..`) or a symlink at the host destination can never lead outside the
destination root: the container's root for the container side, the destination directory on the
host side.

Where the container's files are: a running rootful container's rootfs is mounted at
<dir>/merged (else /proc/<pid>/root); a stopped one is mounted for the copy and unmounted after.
Rootless, the copy runs in a worker (`python -m pod.container.cp`): for a stopped container in
a fresh user namespace with the user's mapping (pod.util.userns) that unshares a mount
namespace and mounts the rootfs there; for a running one it joins the shim's user and mount
namespaces, where the shim mounted the rootfs.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import stat
import sys
import tarfile
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from pod.errors import NoSuchContainerError, PodError, UsageError
from pod.store import safepath

WORKER_MODULE = "pod.container.cp"
RUNNING = ("running", "paused", "stopping")
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Location:
    """One side of `pod cp`: a container (None: the host) and a path ("-": a tar stream)."""

    container: str | None
    path: str


def parse_location(text: str) -> Location:
    """`CONTAINER:PATH` names a container path; anything else (`-`, /a, ./b:c) the host."""
    name, sep, path = text.partition(":")
    if sep and name and "/" not in name and not name.startswith("."):
        return Location(name, path)
    return Location(None, text)


def _not_found(path: str, where: str) -> PodError:
    return PodError(f'"{path}" could not be found on {where}: no such file or directory')


# --- the source side: a tar stream of one path ----------------------------------------------


def _source(root: Path, path: str, where: str) -> tuple[int, str, str]:
    """(parent fd, name, archive name) of `path` inside `root`; the final link is followed
    inside the root. The archive name is "" when the contents are asked for (`dir/.`)."""
    contents = path in (".", "") or path.endswith(("/.", "/./"))
    real = safepath.resolve_inside(root, path)
    rel = os.path.relpath(real, root)
    rel = "" if rel == "." else rel
    root_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        if not rel:
            return os.dup(root_fd), ".", ""
        try:
            pfd, name = safepath.open_parent(root_fd, rel, symlinks=False)
        except (FileNotFoundError, NotADirectoryError):
            raise _not_found(path, where) from None
    finally:
        os.close(root_fd)
    try:
        os.stat(name, dir_fd=pfd, follow_symlinks=False)
    except FileNotFoundError:
        os.close(pfd)
        raise _not_found(path, where) from None
    return pfd, name, "" if contents else name


def _is_dir(pfd: int, name: str) -> bool:
    return stat.S_ISDIR(os.stat(name, dir_fd=pfd, follow_symlinks=False).st_mode)


def _add(
    tar: tarfile.TarFile, pfd: int, name: str, arcname: str, links: dict[tuple[int, int], str]
) -> None:
    """Add `name` in `pfd` as `arcname` ("" : a directory's contents only), never following."""
    st = os.stat(name, dir_fd=pfd, follow_symlinks=False)
    info = tarfile.TarInfo(arcname)
    info.uid, info.gid = st.st_uid, st.st_gid
    info.mode, info.mtime = stat.S_IMODE(st.st_mode), int(st.st_mtime)
    mode = st.st_mode
    if stat.S_ISDIR(mode):
        fd = os.open(name, _DIR_FLAGS, dir_fd=pfd)
        try:
            if arcname:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            for child in sorted(os.listdir(fd)):
                _add(tar, fd, child, f"{arcname}/{child}" if arcname else child, links)
        finally:
            os.close(fd)
    elif stat.S_ISREG(mode):
        key = (st.st_dev, st.st_ino)
        if st.st_nlink > 1 and key in links:
            info.type, info.linkname = tarfile.LNKTYPE, links[key]
            tar.addfile(info)
            return
        links[key] = arcname
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=pfd)
        with open(fd, "rb") as data:
            info.size = os.fstat(fd).st_size
            tar.addfile(info, data)
    elif stat.S_ISLNK(mode):
        info.type, info.linkname = tarfile.SYMTYPE, os.readlink(name, dir_fd=pfd)
        tar.addfile(info)
    elif stat.S_ISFIFO(mode):
        info.type = tarfile.FIFOTYPE
        tar.addfile(info)
    elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        info.type = tarfile.CHRTYPE if stat.S_ISCHR(mode) else tarfile.BLKTYPE
        info.devmajor, info.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
        tar.addfile(info)
    # sockets are skipped, as tar does


def _write_tar(out: IO[bytes], pfd: int, name: str, arcname: str) -> None:
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        _add(tar, pfd, name, arcname, {})


# --- the destination side -------------------------------------------------------------------


def _container_target(
    root: Path, path: str, src_is_dir: bool, arcname: str, where: str
) -> tuple[int, str]:
    """(directory fd to extract into, top-level archive name) for a container destination."""
    root_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        try:
            return safepath.open_dir(root_fd, path), arcname or ""
        except (FileNotFoundError, NotADirectoryError):
            pass
        if path.endswith("/"):
            raise _not_found(path, where)
        try:
            pfd, name = safepath.open_parent(root_fd, path)
        except (FileNotFoundError, NotADirectoryError, PodError):
            raise _not_found(path, where) from None
    finally:
        os.close(root_fd)
    return _checked_target(pfd, name, src_is_dir, arcname)


def _host_target(path: str, src_is_dir: bool, arcname: str) -> tuple[int, str]:
    """The same on the host: the destination directory itself is the root of the extraction."""
    dest = os.path.abspath(path)
    if os.path.isdir(dest):
        return os.open(dest, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC), arcname
    if path.endswith("/"):
        raise _not_found(path, "the host")
    parent = os.path.dirname(dest)
    try:
        pfd = os.open(parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except (FileNotFoundError, NotADirectoryError):
        raise _not_found(parent, "the host") from None
    return _checked_target(pfd, os.path.basename(dest), src_is_dir, arcname)


def _checked_target(pfd: int, name: str, src_is_dir: bool, arcname: str) -> tuple[int, str]:
    """The destination `name` in `pfd` is not a directory: the copy takes that name. Copying a
    directory's contents (`dir/.`) to a missing name creates it and extracts into it."""
    try:
        st = os.stat(name, dir_fd=pfd, follow_symlinks=False)
    except FileNotFoundError:
        st = None
    if st is not None and src_is_dir and not stat.S_ISDIR(st.st_mode):
        os.close(pfd)
        raise PodError("destination must be a directory when copying a directory")
    if arcname or not src_is_dir:
        return pfd, name
    try:
        os.mkdir(name, 0o755, dir_fd=pfd)
        return os.open(name, _DIR_FLAGS, dir_fd=pfd), ""
    finally:
        os.close(pfd)


def _pipe_copy(pfd: int, name: str, arcname: str, dest_fd: int, *, rootless: bool, owner) -> None:
    """Stream the tar from a writer thread into the extractor: no temporary copy."""
    from pod.store.layers import extract_tar_stream

    read_fd, write_fd = os.pipe()
    failure: list[BaseException] = []

    def produce() -> None:
        try:
            with open(write_fd, "wb") as out:
                _write_tar(out, pfd, name, arcname)
        except BaseException as err:  # noqa: BLE001 - re-raised in the caller
            failure.append(err)

    writer = threading.Thread(target=produce, daemon=True)
    writer.start()
    try:
        with open(read_fd, "rb") as stream:
            extract_tar_stream(stream, dest_fd, rootless=rootless, owner=owner)
            while stream.read(_CHUNK):  # let the writer finish its padding
                pass
    finally:
        writer.join()
    if failure and not isinstance(failure[0], BrokenPipeError):
        raise failure[0]


# --- one copy, given the container's root ---------------------------------------------------


def _container_owner(directory: Path) -> tuple[int, int]:
    """The container's primary uid/gid (its config.json), for `--archive` copies in."""
    from pod.store.layout import ContainerPaths

    config = json.loads(ContainerPaths(directory).config.read_bytes())
    user = config.get("process", {}).get("user", {})
    return int(user.get("uid", 0)), int(user.get("gid", 0))


def copy_with_root(root: Path, op: dict[str, Any]) -> None:
    """Do one copy (`op` as built by copy()) with the container's rootfs at `root`."""
    rootless = os.geteuid() != 0 or op["rootless"]
    where = f"container {op['name']}"
    if op["direction"] == "out":
        pfd, name, arcname = _source(root, op["container_path"], where)
        try:
            if op["stream"] is not None:
                with open(op["stream"], "wb") if op["stream"] != "-" else _stdout() as out:
                    _write_tar(out, pfd, name, arcname or "")
                return
            top = arcname or ""
            dest_fd, top = _host_target(op["host_path"], _is_dir(pfd, name), top)
            try:
                owner = (os.getuid(), os.getgid())
                _pipe_copy(pfd, name, top, dest_fd, rootless=rootless, owner=owner)
            finally:
                os.close(dest_fd)
        finally:
            os.close(pfd)
        return
    owner = _container_owner(Path(op["directory"])) if op["archive"] else None
    if op["stream"] is not None:
        from pod.store.layers import extract_tar_stream

        root_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            dest_fd = safepath.open_dir(root_fd, op["container_path"])
        except (FileNotFoundError, NotADirectoryError):
            raise _not_found(op["container_path"], where) from None
        finally:
            os.close(root_fd)
        try:
            with open(op["stream"], "rb") if op["stream"] != "-" else _stdin() as stream:
                extract_tar_stream(stream, dest_fd, rootless=rootless, owner=owner)
        finally:
            os.close(dest_fd)
        return
    pfd, name, arcname = _source(Path("/"), os.path.abspath(op["host_path"]), "the host")
    try:
        dest_fd, top = _container_target(
            root, op["container_path"], _is_dir(pfd, name), arcname, where
        )
        try:
            _pipe_copy(pfd, name, top, dest_fd, rootless=rootless, owner=owner)
        finally:
            os.close(dest_fd)
    finally:
        os.close(pfd)


@contextlib.contextmanager
def _stdout() -> Iterator[IO[bytes]]:
    sys.stdout.flush()
    yield sys.stdout.buffer
    sys.stdout.buffer.flush()


@contextlib.contextmanager
def _stdin() -> Iterator[IO[bytes]]:
    yield sys.stdin.buffer


# --- the engine entry point -----------------------------------------------------------------


def _check_host_source(location: Location) -> None:
    if location.path != "-" and not os.path.lexists(os.path.abspath(location.path)):
        raise _not_found(location.path, "the host")


def copy(settings: Any, source: str, dest: str, *, archive: bool = True) -> None:
    """`pod cp SOURCE DEST`: exactly one side names a container."""

    src, dst = parse_location(source), parse_location(dest)
    if (src.container is None) == (dst.container is None):
        if src.container is None:
            raise UsageError("invalid arguments: one of source and destination must be a container")
        raise UsageError("copying between containers is not supported")
    ctr, host = (src, dst) if src.container else (dst, src)
    if src.container is None:
        _check_host_source(src)
    if ctr.path in ("", "-"):
        raise UsageError(f"invalid container path {ctr.path!r}")
    op: dict[str, Any] = {
        "direction": "out" if src.container else "in",
        "name": ctr.container,
        "container_path": ctr.path,
        "host_path": os.path.abspath(host.path) if host.path != "-" else "-",
        "stream": "-" if host.path == "-" else None,
        "archive": archive,
    }
    _run(settings, op)


def export(settings: Any, name: str, output: str | None) -> None:
    """`pod export`: the container's whole file system as a tar, to `output` or stdout."""
    op: dict[str, Any] = {
        "direction": "out",
        "name": name,
        "container_path": "/.",
        "host_path": "-",
        "stream": os.path.abspath(output) if output else "-",
        "archive": False,
    }
    _run(settings, op)


def _run(settings: Any, op: dict[str, Any]) -> None:
    """One copy `op` of the container `op["name"]`: found, then done with its root."""
    from pod.container.lifecycle import engine_error
    from pod.container.state import current_state
    from pod.store.containers import ContainerStore
    from pod.store.layout import Layout

    layout = Layout(settings.root, settings.runroot)
    store = ContainerStore(layout)
    try:
        record = store.lookup(op["name"] or "")
    except NoSuchContainerError as err:
        raise engine_error(err) from None
    status = current_state(store, record).status
    op["id"], op["rootless"] = record.id, record.rootless
    op["directory"] = str(layout.container_dir(record.id))
    if not record.rootless:
        with _rootful_root(layout, store, record, status) as root:
            copy_with_root(root, op)
        return
    shim_pid = current_state(store, record).shim_pid if status in RUNNING else 0
    _rootless_copy(layout, store, record, op, shim_pid)


@contextlib.contextmanager
def _rootful_root(layout: Any, store: Any, record: Any, status: str) -> Iterator[Path]:
    from pod.container import rootfs as rootfs_mount
    from pod.container.state import current_state
    from pod.store.lock import locked

    directory = layout.container_dir(record.id)
    merged = rootfs_mount.merged_dir(directory)
    if status in RUNNING:
        if os.path.ismount(merged):
            yield merged
            return
        pid = current_state(store, record).pid
        if pid:
            yield Path(f"/proc/{pid}/root")
            return
    with locked(store.container_lock(record.id)):
        if os.path.ismount(merged):
            yield merged
            return
        rootfs_mount.mount(layout, record, directory)
        try:
            yield merged
        finally:
            rootfs_mount.unmount(directory)


def _rootless_copy(layout: Any, store: Any, record: Any, op: dict[str, Any], shim_pid: int) -> None:
    """Run the copy in a worker inside the user namespace; tar streams go through a file.

    A stopped container: a fresh namespace (the user's mapping) mounting the rootfs privately,
    under the container lock. A running one: the worker joins its shim's user and mount
    namespaces, where the rootfs is mounted.
    """
    from pod.store.lock import locked
    from pod.util.userns import run_in_userns, run_worker

    request = {"root": str(layout.root), "runroot": str(layout.runroot), "op": op}
    request["join"] = shim_pid
    final = op["stream"]
    with tempfile.TemporaryDirectory(prefix="pod-cp-") as spool:
        stream = os.path.join(spool, "stream.tar")
        if op["stream"] is not None:
            op["stream"] = stream
            if op["direction"] == "in":
                with open(stream, "wb") as out:
                    shutil.copyfileobj(sys.stdin.buffer, out, _CHUNK)
        if shim_pid:
            run_worker(WORKER_MODULE, request)
        else:
            with locked(store.container_lock(record.id)):
                run_in_userns(WORKER_MODULE, request)
        if op["stream"] is not None and op["direction"] == "out":
            target = _stdout() if final == "-" else open(final, "wb")  # noqa: SIM115
            with open(stream, "rb") as data, target as out:
                shutil.copyfileobj(data, out, _CHUNK)


def _worker(request: dict[str, Any]) -> None:
    """In the user namespace: a private mount namespace, the rootfs mounted there, the copy."""
    from pod.container import rootfs as rootfs_mount
    from pod.store.containers import ContainerStore
    from pod.store.layout import Layout

    layout = Layout(Path(request["root"]), Path(request["runroot"]))
    op = request["op"]
    record = ContainerStore(layout).lookup(op["id"])
    directory = layout.container_dir(record.id)
    if request["join"]:
        _join_shim(request["join"], op["name"])
    else:
        rootfs_mount.private_mount_namespace()
        rootfs_mount.mount(layout, record, directory)
    copy_with_root(rootfs_mount.merged_dir(directory), op)


def _join_shim(shim_pid: int, name: str) -> None:
    """Become root of the running container's shim's user namespace, in its mount namespace."""
    from pod.runtime import syscalls
    from pod.runtime.exec import join_user_namespace

    try:
        user_fd = os.open(f"/proc/{shim_pid}/ns/user", os.O_RDONLY | os.O_CLOEXEC)
        mnt_fd = os.open(f"/proc/{shim_pid}/ns/mnt", os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise PodError(f"container {name} stopped while copying: try again") from None
    try:
        join_user_namespace(syscalls.Syscalls(), user_fd)
        with contextlib.suppress(OSError):
            os.setgroups([])
        syscalls.setns(mnt_fd, syscalls.CLONE_NEWNS)
    finally:
        os.close(user_fd)
        os.close(mnt_fd)


if __name__ == "__main__":
    from pod.util.userns import worker_main

    worker_main(_worker, sys.argv[1:])
