"""The event log: what every pod process and every shim did, one JSON line per event.

The file backend keeps one log per store (`<runroot>/events/events.log` unless containers.conf
names another file), with podman's fields: ID, Image, Name, Status, Time, Type, Attributes (and
ContainerExitCode on `died`). Appends from any number of processes never interleave: each event is
one write() on an O_APPEND descriptor, under a shared lock; rotation (at the size limit, podman's
events_logfile_max_size) renames the log to `events.log.1` under the exclusive lock, so a
follower that still holds the old file reads it to its end and then moves to the new one: no
event is lost. `--events-backend none` (or events_logger = "none") writes nothing; journald is
refused where there is no journal.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pod.errors import PodError
from pod.util.records import dataclass, field

BACKENDS = ("file", "journald", "none")
DEFAULT_MAX_SIZE = 1 << 20  # bytes before the log is rotated (podman: 1 MB)
_JOURNAL_SOCKET = Path("/run/systemd/journal/socket")
_config: dict[str, Any] = {}  # this process's choice: set by the CLI, or read once


@dataclass
class Event:
    """One event as podman writes it."""

    type: str  # container, image, volume, network, pod, system
    status: str  # create, start, died, pull, remove, ...
    name: str = ""
    id: str = ""
    image: str = ""
    time_ns: int = field(default_factory=time.time_ns)
    attributes: dict[str, str] | None = None
    exit_code: int | None = None  # ContainerExitCode, on died
    network: str = ""  # network events: the network's name (podman's lower-case "network" key)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if self.exit_code is not None:
            data["ContainerExitCode"] = self.exit_code
        if self.id:
            data["ID"] = self.id
        if self.image:
            data["Image"] = self.image
        data["Name"] = self.name
        if self.network:
            data["network"] = self.network
        data["Status"] = self.status
        data["Time"] = go_time(self.time_ns)
        data["Type"] = self.type
        data["Attributes"] = self.attributes
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Event:
        return cls(
            type=str(data.get("Type", "")),
            status=str(data.get("Status", "")),
            name=str(data.get("Name", "")),
            id=str(data.get("ID", "")),
            image=str(data.get("Image", "")),
            time_ns=parse_go_time(str(data.get("Time", ""))),
            attributes=data.get("Attributes"),
            exit_code=data.get("ContainerExitCode"),
            network=str(data.get("network", "")),
        )


def go_time(ns: int) -> str:
    """Go's RFC 3339 with nanoseconds, UTC (`2026-12-06T17:00:45.947746546Z`)."""
    seconds, nanos = divmod(ns, 1_000_000_000)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    fraction = f"{nanos:09d}".rstrip("0")
    return stamp + (f".{fraction}" if fraction else "") + "Z"


def parse_go_time(text: str) -> int:
    """Nanoseconds since the epoch of a time go_time wrote (or any RFC 3339 with a zone)."""
    from datetime import datetime

    base, dot, rest = text.partition(".")
    digits = "".join(c for c in rest if c.isdigit()) if dot else ""
    zone = rest[len(digits) :] if dot else base[19:]
    base = base[:19]
    moment = datetime.fromisoformat(base + ("+00:00" if zone in ("", "Z") else zone))
    return int(moment.timestamp()) * 1_000_000_000 + int((digits + "000000000")[:9])


# --- where events go ----------------------------------------------------------------------------


def configure(backend: str | None = None, logfile: str | None = None) -> None:
    """The CLI's --events-backend (containers.conf's events_logger otherwise)."""
    if backend is not None and backend not in BACKENDS:
        raise PodError(f'unknown events backend "{backend}": use one of file, journald, none')
    _config.clear()
    if backend:
        _config["backend"] = backend
    if logfile:
        _config["logfile"] = logfile


def override() -> str:
    """The backend the command line chose ("" when containers.conf decides)."""
    return str(_config.get("backend", ""))


def _engine_conf() -> dict[str, Any]:
    if "engine" not in _config:
        from pod.config import containers_conf

        _config["engine"] = containers_conf().get("engine", {})
    return _config["engine"]


def backend() -> str:
    """file, journald or none: the flag, containers.conf, or file (no systemd here)."""
    chosen = _config.get("backend") or _engine_conf().get("events_logger") or "file"
    if chosen not in BACKENDS:
        raise PodError(f'unknown events backend "{chosen}": use one of file, journald, none')
    if chosen == "journald" and not _JOURNAL_SOCKET.exists():
        raise PodError(
            "events backend journald: there is no journal on this host "
            f"({_JOURNAL_SOCKET} is missing): use --events-backend file"
        )
    return chosen


def log_path(runroot: Path) -> Path:
    """The log file: --events-logfile-path / containers.conf's events_logfile_path, or the
    store's own."""
    configured = _config.get("logfile") or _engine_conf().get("events_logfile_path")
    return Path(configured) if configured else runroot / "events" / "events.log"


def max_size() -> int:
    value = _engine_conf().get("events_logfile_max_size")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip():
        from pod.container.resource_flags import parse_size

        return parse_size(value, "events_logfile_max_size")
    return DEFAULT_MAX_SIZE


def where(runroot: Path) -> str:
    """What a container records so its shim's events go where the command's went: the log's
    path, or "" when events are off."""
    return "" if backend() == "none" else str(log_path(runroot))


# --- writing ------------------------------------------------------------------------------------


def _lock_file(log: Path) -> Path:
    return log.with_name(log.name + ".lock")


def append(log: Path | str, event: Event) -> None:
    """Append one event; never raises (an event is never worth failing the work for)."""
    if not log:
        return
    log = Path(log)
    line = json.dumps(event.to_json(), separators=(",", ":")).encode() + b"\n"
    with contextlib.suppress(OSError):
        log.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        lock = os.open(_lock_file(log), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(lock, fcntl.LOCK_SH)
            fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                os.write(fd, line)  # one write on O_APPEND: never interleaved with another
                size = os.fstat(fd).st_size
            finally:
                os.close(fd)
            if size > max_size():
                _rotate(lock, log, size)
        finally:
            os.close(lock)


def _rotate(lock: int, log: Path, size: int) -> None:
    """Rename the full log away (one old generation kept) under the exclusive lock."""
    fcntl.flock(lock, fcntl.LOCK_UN)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return  # another process is rotating
    with contextlib.suppress(FileNotFoundError):
        if os.stat(log).st_size >= size:  # nobody rotated it meanwhile
            os.replace(log, log.with_name(log.name + ".1"))


def emit(runroot: Path, event: Event) -> None:
    """Append `event` where this process's events go (nothing with the none backend)."""
    if backend() != "none":
        append(log_path(runroot), event)


def container_event(runroot: Path, record: Any, status: str, **extra: Any) -> None:
    """An event about `record` (a ContainerRecord): its name, ID, image and labels. None for
    a build step's container: podman's builds run in buildah's containers, which log none."""
    if not getattr(record, "builder", False):
        emit(runroot, for_container(record, status, **extra))


def for_container(record: Any, status: str, **extra: Any) -> Event:
    return Event("container", status, name=record.name, id=record.id, image=record.image_name,
                 attributes=dict(record.labels), **extra)  # fmt: skip


def pod_event(runroot: Path, record: Any, status: str) -> None:
    """An event about `record` (a store.pods.PodRecord): create, start, stop, kill, pause,
    unpause, remove."""
    emit(runroot, Event("pod", status, name=record.name, id=record.id))


def image_event(runroot: Path, status: str, image_id: str = "", name: str = "") -> None:
    """An image event as libimage writes it: pull and push name what the user typed and carry
    no ID; tag, untag, remove and save carry the image's ID; build has the ID as its name."""
    emit(runroot, Event("image", status, name=name, id=image_id))


def volume_event(runroot: Path, status: str, name: str) -> None:
    emit(runroot, Event("volume", status, name=name))


def network_event(runroot: Path, status: str, network: str, ident: str, name: str) -> None:
    """A network event: for connect/disconnect `ident` and `name` are the container's (podman's
    shape); for create/remove they are the network's own ID and name."""
    emit(runroot, Event("network", status, name=name, id=ident, network=network))


# --- reading ------------------------------------------------------------------------------------


def read(log: Path, follow: bool, history: bool, stop_ns: int | None = None) -> Iterator[Event]:
    """The log's events: with `history` those written so far (the rotated generation first);
    with `follow` then every new one as it is written (inotify, no polling) until `stop_ns`."""
    if history:
        yield from _events_of(log.with_name(log.name + ".1"))
        if not follow:
            yield from _events_of(log)
            return
    if follow:
        yield from _follow(log, from_start=history, stop_ns=stop_ns)


def _events_of(path: Path) -> Iterator[Event]:
    try:
        with open(path, "rb") as handle:
            for raw in handle:
                event = _parse(raw)
                if event is not None:
                    yield event
    except FileNotFoundError:
        return


def _parse(raw: bytes) -> Event | None:
    try:
        return Event.from_json(json.loads(raw))
    except (ValueError, TypeError):
        return None  # a torn or foreign line


def _follow(log: Path, from_start: bool, stop_ns: int | None) -> Iterator[Event]:
    """Read `log` (from its start, or only what comes), then wait for writes and renames with
    inotify; after a rotation the old file (still open here) is read to its end before the
    next generation is opened."""
    from pod.util.inotify import Watcher

    log.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with Watcher(log.parent) as watcher:
        handle = _open_log(log)
        if handle is not None and not from_start:
            handle.seek(0, os.SEEK_END)
        pending = b""
        try:
            while True:
                chunk = handle.read() if handle else b""
                # Rotated away: every write to the old file came before its rename (writers
                # hold the lock shared, the rotation exclusive), so one more read gets the
                # last of them; only then the next generation.
                if not chunk and handle is not None and _replaced(handle, log):
                    chunk = handle.read()
                    if not chunk:
                        handle, pending = _successor(log, handle), b""
                        continue
                if chunk:
                    *lines, pending = (pending + chunk).split(b"\n")
                    for event in filter(None, map(_parse, lines)):
                        if stop_ns is not None and event.time_ns > stop_ns:
                            return
                        yield event
                    continue
                if handle is None:
                    handle = _open_log(log)
                    if handle is not None:
                        continue
                timeout = None if stop_ns is None else max(0.0, (stop_ns - time.time_ns()) / 1e9)
                if not watcher.wait(timeout) and stop_ns is not None and time.time_ns() > stop_ns:
                    return
        finally:
            if handle is not None:
                handle.close()


def _successor(log: Path, old: Any):
    """The file to follow after `old` (read to its end) was rotated away: the rotated
    generation (`.1`) when it is not `old` but newer, as when a second rotation came before
    this follower looked again; else the current log (None until its first write)."""
    gone = os.fstat(old.fileno())
    old.close()
    rotated = _open_log(log.with_name(log.name + ".1"))
    if rotated is not None:
        found = os.fstat(rotated.fileno())
        if (found.st_dev, found.st_ino) != (gone.st_dev, gone.st_ino) and (
            found.st_mtime_ns >= gone.st_mtime_ns
        ):
            return rotated
        rotated.close()
    return _open_log(log)


def _open_log(log: Path):
    try:
        return open(log, "rb", buffering=0)  # noqa: SIM115 - kept open across rotations
    except FileNotFoundError:
        return None


def _replaced(handle: Any, log: Path) -> bool:
    """The log's name now points at another file (rotated), or at none yet."""
    try:
        current = os.stat(log)
    except FileNotFoundError:
        return True
    mine = os.fstat(handle.fileno())
    return (current.st_dev, current.st_ino) != (mine.st_dev, mine.st_ino)
