"""What the core has to tell the user while it works; the CLI decides how to show it.

Nothing under pod/ or store/ prints: pull, push, build, commit, run and rm call these hooks on the
reporter their command passed in, and the command picks plain lines (podman's wording, for logs
and scripts), rich progress bars on a terminal, or no progress at all (`-q`).
"""

from __future__ import annotations


class Reporter:
    """Silent: what library callers (and steps whose output nobody reads) use as it is."""

    def trying(self, name: str) -> None:
        """About to contact the registry for `name` (podman: `Trying to pull NAME...`)."""

    def copying(self) -> None:
        """An image copy starts (podman: `Getting image source signatures`)."""

    def blob_started(self, digest: str, size: int, kind: str = "blob") -> None:
        """A blob transfer starts; `kind` is `blob` or `config`."""

    def blob_progress(self, digest: str, nbytes: int) -> None:
        """`nbytes` more bytes of `digest` moved."""

    def blob_done(self, digest: str) -> None:
        """The blob is complete and verified."""

    def blob_skipped(self, digest: str, reason: str, kind: str = "blob") -> None:
        """No transfer needed (`already exists`, `mounted from REPO`); `kind` as for
        blob_started."""

    def writing_manifest(self) -> None:
        """The blobs are in place; the manifest is being written."""

    def step(self, text: str) -> None:
        """A line of the work's own progress for stdout (a build's `STEP 2/5: ...`, `--> id`)."""

    def notice(self, text: str) -> None:
        """A line for the user on stderr, in the reference tool's own words (not a WARN line)."""

    def warning(self, message: str) -> None:
        """Something the user should know that does not stop the work (a `WARN[0000]` line)."""

    def close(self) -> None:
        """A transfer ended (successfully or not): release the terminal. The reporter stays
        usable: a later transfer takes the terminal again."""
