"""`pod logs`: read the shim's k8s-file log (`<RFC 3339 time> stdout|stderr F|P <text>`).

Partial (P) entries are joined with the entries that complete them. Following polls the file
and stops once the container has exited and its shim is gone (nothing more can be written).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from pod.config import Settings
from pod.container.state import current_state
from pod.errors import PodError
from pod.store.containers import ContainerRecord, ContainerStore, pid_alive
from pod.store.layout import Layout
from pod.util.records import dataclass, field
from pod.util.timefmt import go_time, parse_moment, parse_time

_FOLLOW_POLL = 0.1


@dataclass
class LogLine:
    """One complete line: its time (ns since the epoch, and the text as logged), stream, text."""

    time_ns: int
    stamp: str
    stream: str
    text: bytes


@dataclass
class LogOptions:
    """Which entries of a container's log to show and how (podman's logs flags)."""

    follow: bool = False
    tail: int = -1
    timestamps: bool = False
    since_ns: int | None = None
    until_ns: int | None = None
    prefix: str = ""  # "NAME " or "<short id> " when several containers are shown
    color: str = ""  # --color: the container's ANSI colour sequence, "" for none

    @classmethod
    def from_flags(
        cls, follow: bool, tail: int, timestamps: bool, since: str | None, until: str | None
    ) -> LogOptions:
        """The options as `pod logs` and `pod pod logs` take them: --since and --until are
        times or durations back from now."""
        return cls(
            follow=follow,
            tail=tail,
            timestamps=timestamps,
            since_ns=parse_moment(since) if since else None,
            until_ns=parse_moment(until) if until else None,
        )


@dataclass
class _Reader:
    """Incremental parser: joins P entries, keeps an unfinished line between reads."""

    pending: bytes = b""
    partial: dict[str, tuple[int, str, bytes]] = field(default_factory=dict)

    def feed(self, data: bytes) -> list[LogLine]:
        data = self.pending + data
        lines = data.split(b"\n")
        self.pending = lines.pop()
        out = []
        for raw in lines:
            parsed = parse_entry(raw)
            if parsed is None:
                continue
            stamp, stream, tag, text = parsed
            when, before, joined = self.partial.pop(stream, (0, stamp, b""))
            when = when or parse_time(stamp)
            if tag == b"P":
                self.partial[stream] = (when, before, joined + text)
            else:
                out.append(LogLine(when, before, stream, joined + text))
        return out

    def flush(self) -> list[LogLine]:
        rest = [LogLine(w, s, stream, t) for stream, (w, s, t) in self.partial.items()]
        self.partial.clear()
        return rest


def parse_entry(raw: bytes) -> tuple[str, str, bytes, bytes] | None:
    parts = raw.split(b" ", 3)
    if len(parts) < 3 or parts[1] not in (b"stdout", b"stderr"):
        return None
    text = parts[3] if len(parts) == 4 else b""
    return parts[0].decode(), parts[1].decode(), parts[2], text


def log_path(settings: Settings, record: ContainerRecord) -> Path:
    if record.log_driver == "none":
        raise PodError(
            "this container is using the 'none' log driver, cannot read logs: this container "
            "is not logging output"
        )
    if record.log_path:  # --log-opt path=
        return Path(record.log_path)
    return Layout(settings.root, settings.runroot).container(record.id).log


def _selected(line: LogLine, options: LogOptions) -> bool:
    if options.since_ns is not None and line.time_ns < options.since_ns:
        return False
    return options.until_ns is None or line.time_ns <= options.until_ns


# podman's --color sequence: one colour per container, in the order they were named
COLORS = ("\033[37m", "\033[31m", "\033[33m", "\033[34m", "\033[35m", "\033[36m", "\033[32m")
RESET = "\033[0m"


def render(line: LogLine, options: LogOptions) -> bytes:
    stamp = f"{go_time(line.stamp)} " if options.timestamps else ""
    text = f"{options.color}{options.prefix}{stamp}".encode() + line.text
    return text + (RESET.encode() if options.color else b"") + b"\n"


def _write(line: LogLine, options: LogOptions) -> None:
    stream = sys.stdout if line.stream == "stdout" else sys.stderr
    stream.flush()
    out = sys.stdout.buffer if line.stream == "stdout" else sys.stderr.buffer
    out.write(render(line, options))
    out.flush()


@dataclass
class Follower:
    """One container's log being read: its file, how far, and whether more can come."""

    settings: Settings
    record: ContainerRecord
    options: LogOptions
    reader: _Reader = field(default_factory=_Reader)
    offset: int = 0
    done: bool = False

    def initial(self) -> list[LogLine]:
        lines = [line for line in self._read() if _selected(line, self.options)]
        if not self.options.follow:
            lines += [line for line in self.reader.flush() if _selected(line, self.options)]
        if self.options.tail >= 0:
            lines = lines[len(lines) - self.options.tail :] if self.options.tail else []
        return lines

    def _read(self) -> list[LogLine]:
        path = log_path(self.settings, self.record)
        try:
            with open(path, "rb") as handle:
                if os.fstat(handle.fileno()).st_size < self.offset:  # max-size started it afresh
                    self.offset, self.reader = 0, _Reader()
                handle.seek(self.offset)
                data = handle.read()
        except FileNotFoundError:
            return []
        self.offset += len(data)
        return self.reader.feed(data)

    def poll(self) -> Iterator[LogLine]:
        """New lines; marks the follower done once the container cannot write any more."""
        finished = not self._running()
        for line in self._read():
            if _selected(line, self.options):
                yield line
        if finished:
            yield from (line for line in self.reader.flush() if _selected(line, self.options))
            self.done = True
        elif self.options.until_ns is not None and time.time_ns() > self.options.until_ns:
            self.done = True

    def _running(self) -> bool:
        store = ContainerStore(Layout(self.settings.root, self.settings.runroot))
        if not store.record_file(self.record.id).exists():
            return False
        state = current_state(store, self.record)
        return state.status in ("running", "paused", "stopping", "created") and pid_alive(
            state.shim_pid, state.shim_start_time
        )


def show_logs(settings: Settings, records: list[ContainerRecord], options: LogOptions,
              use_names: bool, color: bool = False) -> None:  # fmt: skip
    """Print (and with follow, keep printing) the logs of `records` (with `color`, each
    container's lines in a colour of its own, as podman's --color)."""
    followers = []
    for index, record in enumerate(records):
        log_path(settings, record)
        prefix = ""
        if len(records) > 1:
            prefix = (record.name if use_names else record.short_id) + " "
        shade = COLORS[index % len(COLORS)] if color else ""
        mine = LogOptions(**{**vars(options), "prefix": prefix, "color": shade})
        followers.append(Follower(settings, record, mine))
    for follower in followers:
        for line in follower.initial():
            _write(line, follower.options)
    if not options.follow:
        return
    while True:
        active = [f for f in followers if not f.done]
        if not active:
            return
        for follower in active:
            for line in follower.poll():
                _write(line, follower.options)
        if any(not f.done for f in followers):
            time.sleep(_FOLLOW_POLL)
