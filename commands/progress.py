"""How the core's reports look: podman's plain lines off a terminal, rich bars on one."""

from __future__ import annotations

import os
import sys
from _thread import allocate_lock  # threading.Lock itself, without threading's import
from typing import TYPE_CHECKING

from pod.reporter import Reporter

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID


def log_stamp() -> str:
    """`WARN[0010]`'s number: seconds since this process started, as logrus prints it."""
    try:
        with open("/proc/self/stat", "rb") as handle:
            data = handle.read()
        start = int(data[data.rfind(b")") + 2 :].split()[19]) / os.sysconf("SC_CLK_TCK")
        with open("/proc/uptime") as handle:
            uptime = float(handle.read().split()[0])
        return f"{max(0, int(uptime - start)):04d}"
    except (OSError, ValueError, IndexError):
        return "0000"


def warning_line(message: str) -> str:
    """A warning as podman's logrus prints it: `WARN[0003] message`."""
    return f"WARN[{log_stamp()}] {message}"


def short(digest: str) -> str:
    return digest.removeprefix("sha256:")[:12]


class QuietReporter(Reporter):
    """`-q`: no progress and no step lines; warnings and notices still reach stderr."""

    def __init__(self) -> None:
        self._warned: set[str] = set()
        self._lock = allocate_lock()

    def _say(self, line: str) -> None:
        with self._lock:
            print(line, file=sys.stderr, flush=True)

    def notice(self, text: str) -> None:
        self._say(text)

    def warning(self, message: str) -> None:
        if message not in self._warned:
            self._warned.add(message)
            self._say(warning_line(message))


class PlainReporter(QuietReporter):
    """podman's non-terminal output: progress on stderr, so stdout carries only the result (and
    a build's step lines, which podman prints on stdout)."""

    def trying(self, name: str) -> None:
        self._say(f"Trying to pull {name}...")

    def copying(self) -> None:
        self._say("Getting image source signatures")

    def blob_started(self, digest: str, size: int, kind: str = "blob") -> None:
        self._say(f"Copying {kind} {digest}")

    def blob_skipped(self, digest: str, reason: str, kind: str = "blob") -> None:
        self._say(f"Copying {kind} {short(digest)} skipped: {reason}")

    def writing_manifest(self) -> None:
        self._say("Writing manifest to image destination")

    def step(self, text: str) -> None:
        with self._lock:
            print(text, flush=True)


class RichReporter(PlainReporter):
    """Progress bars on a terminal while blobs move; the same lines as PlainReporter otherwise.
    The live display exists only during a transfer, so a build's RUN output never meets it."""

    def __init__(self) -> None:
        super().__init__()
        from rich.console import Console

        class CursorKeepingConsole(Console):
            """podman's progress bars leave the cursor alone: no hide/show escapes, which
            would also end up in `run -it`'s terminal."""

            def show_cursor(self, show: bool = True) -> bool:
                return False

        self._console = CursorKeepingConsole(file=sys.stderr)
        self._progress: Progress | None = None
        self._tasks: dict[str, TaskID] = {}
        self._kinds: dict[str, str] = {}

    def _live(self) -> Progress:
        if self._progress is None:
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TextColumn,
                TransferSpeedColumn,
            )

            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                console=self._console,
                transient=False,
            )
            self._progress.start()
        return self._progress

    def _say(self, line: str) -> None:
        with self._lock:
            self._console.print(line, highlight=False, markup=False)

    def blob_started(self, digest: str, size: int, kind: str = "blob") -> None:
        with self._lock:
            progress = self._live()
            self._tasks[digest] = progress.add_task(f"Copying {kind} {short(digest)}", total=size)
            self._kinds[digest] = kind

    def blob_progress(self, digest: str, nbytes: int) -> None:
        task = self._tasks.get(digest)
        if task is not None and self._progress is not None:
            self._progress.advance(task, nbytes)

    def blob_done(self, digest: str) -> None:
        task = self._tasks.get(digest)
        if task is not None and self._progress is not None:
            self._progress.update(
                task,
                completed=self._progress.tasks[task].total,
                description=f"Copying {self._kinds.get(digest, 'blob')} {short(digest)} done",
            )

    def close(self) -> None:
        with self._lock:
            if self._progress is not None:
                self._progress.stop()
            self._progress = None
            self._tasks.clear()
            self._kinds.clear()


def reporter_for(quiet: bool) -> Reporter:
    if quiet:
        return QuietReporter()
    return RichReporter() if sys.stderr.isatty() else PlainReporter()
