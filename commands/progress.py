"""How transfers look: podman's plain lines when not on a terminal, rich bars when on one."""

from __future__ import annotations

import sys
import threading

from pod.reporter import TransferReporter


def short(digest: str) -> str:
    return digest.removeprefix("sha256:")[:12]


class PlainReporter(TransferReporter):
    """podman's non-terminal output, on stderr so stdout carries only the result."""

    def __init__(self) -> None:
        self._warned: set[str] = set()
        self._lock = threading.Lock()

    def _say(self, line: str) -> None:
        with self._lock:
            print(line, file=sys.stderr, flush=True)

    def trying(self, name: str) -> None:
        self._say(f"Trying to pull {name}...")

    def blob_started(self, digest: str, size: int, kind: str = "blob") -> None:
        self._say(f"Copying {kind} {digest}")

    def blob_skipped(self, digest: str, reason: str) -> None:
        self._say(f"Copying blob {short(digest)} skipped: {reason}")

    def writing_manifest(self) -> None:
        self._say("Writing manifest to image destination")

    def warning(self, message: str) -> None:
        if message not in self._warned:
            self._warned.add(message)
            self._say(f"WARN[0000] {message}")


class RichReporter(PlainReporter):
    """Progress bars on a terminal; the same lines as PlainReporter otherwise."""

    def __init__(self) -> None:
        super().__init__()
        from rich.console import Console
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
            console=Console(file=sys.stderr),
            transient=False,
        )
        self._tasks: dict[str, int] = {}
        self._progress.start()

    def _say(self, line: str) -> None:
        self._progress.console.print(line, highlight=False, markup=False)

    def blob_started(self, digest: str, size: int, kind: str = "blob") -> None:
        with self._lock:
            self._tasks[digest] = self._progress.add_task(
                f"Copying {kind} {short(digest)}", total=size
            )

    def blob_progress(self, digest: str, nbytes: int) -> None:
        task = self._tasks.get(digest)
        if task is not None:
            self._progress.advance(task, nbytes)

    def blob_done(self, digest: str) -> None:
        task = self._tasks.get(digest)
        if task is not None:
            self._progress.update(
                task,
                completed=self._progress.tasks[task].total,
                description=f"Copying blob {short(digest)} done",
            )

    def close(self) -> None:
        self._progress.stop()


def reporter_for(quiet: bool) -> TransferReporter:
    if quiet:
        return TransferReporter()
    return RichReporter() if sys.stderr.isatty() else PlainReporter()
