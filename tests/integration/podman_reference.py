"""podman 4.3 as the reference for differential tests: the same command line through pod and
podman, each with a store of its own, and their exit codes and output compared.

/work/shared/podman-ref (or POD_TEST_PODMAN_REF) runs podman with an isolated store and this
host's fixes (runc, cgroupfs, file events); PODMAN_REF_DIR puts that store under the test's
temporary directory. Without it, a differential test is skipped with the reason, never faked.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

REF_SCRIPT = Path(os.environ.get("POD_TEST_PODMAN_REF", "/work/shared/podman-ref"))


@dataclass
class PodmanRef:
    """`podman ARGS` with a store under `directory`; the busybox test image is `image`."""

    directory: Path
    image: str = ""

    def __call__(self, *args, input=None, timeout=120, env=None) -> subprocess.CompletedProcess:
        environment = {**os.environ, "PODMAN_REF_DIR": str(self.directory), **(env or {})}
        return subprocess.run(
            [str(REF_SCRIPT), *map(str, args)],
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=environment,
            cwd=self.directory,
        )

    def cleanup(self) -> None:
        self("rm", "-a", "-f", "-t", "0")
        self("volume", "prune", "-f")


def start(directory: Path, image_ref: str) -> PodmanRef:
    """A reference podman with the busybox test image pulled (plain-HTTP test registry)."""
    if not REF_SCRIPT.is_file() or shutil.which("podman") is None:
        pytest.skip(f"the podman reference ({REF_SCRIPT}, podman 4.3) is not installed here")
    ref = PodmanRef(directory)
    pulled = ref("pull", "-q", "--tls-verify=false", image_ref)
    if pulled.returncode != 0:
        pytest.fail(f"podman could not pull the test image {image_ref}: {pulled.stderr}")
    ref.image = image_ref
    return ref


def error_line(stderr: str) -> str:
    """The `Error: ...` line of a failed command (podman may log before it)."""
    lines = [line for line in stderr.splitlines() if line.startswith("Error: ")]
    return lines[-1] if lines else stderr.strip()
