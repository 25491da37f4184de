"""The events the core reports while it moves images; the CLI decides how to show them.

The core never prints: pull, push and build call these hooks, and the command picks plain lines
(podman's wording, for logs and scripts), rich progress bars on a terminal, or nothing (`-q`).
"""

from __future__ import annotations


class TransferReporter:
    """Silent by default: `-q` uses this class as it is."""

    def trying(self, name: str) -> None:
        """About to contact the registry for `name` (podman: `Trying to pull NAME...`)."""

    def blob_started(self, digest: str, size: int, kind: str = "blob") -> None:
        """A blob transfer starts; `kind` is `blob` or `config`."""

    def blob_progress(self, digest: str, nbytes: int) -> None:
        """`nbytes` more bytes of `digest` moved."""

    def blob_done(self, digest: str) -> None:
        """The blob is complete and verified."""

    def blob_skipped(self, digest: str, reason: str) -> None:
        """No transfer needed (`already exists`, `mounted from REPO`)."""

    def writing_manifest(self) -> None:
        """The blobs are in place; the manifest is being written."""

    def warning(self, message: str) -> None:
        """Something the user should know that does not stop the work."""

    def close(self) -> None:
        """The transfer ended (successfully or not): release the terminal."""
