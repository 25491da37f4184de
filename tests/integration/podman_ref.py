"""podman 4.3.1 as the reference for differential tests: the same command line through pod and
through podman, each with a store of its own, the same images from the test registry.

The settings every podman run here gets, and why (a containers.conf of its own, as
/work/shared/podman-ref makes one): runc (Debian's crun refuses the hybrid cgroup layout),
cgroupfs and file events (no systemd), and the default nofile/nproc ulimits pinned to the
hard limits (root in a container may lack CAP_SYS_RESOURCE, and podman's 1048576 then fails
in every runtime). Fixtures: `podman` (root) and `rootless_podman` (the rootless test user),
and `podman_busybox` / `rootless_podman_busybox` (the busybox test image pulled into them).
Tests import the fixtures they use from here, and mark themselves needs_tool("podman").
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from registry_server import write_registries_conf
from runners import RootlessUser, completed_or_raise

PODMAN = shutil.which("podman") or "podman"


def _conf_text(events: Path) -> str:
    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    nproc = resource.getrlimit(resource.RLIMIT_NPROC)[1]
    nproc = 32768 if nproc == resource.RLIM_INFINITY else min(nproc, 32768)
    return (
        "[containers]\n"
        f'default_ulimits = ["nofile={nofile}:{nofile}", "nproc={nproc}:{nproc}"]\n'
        "[engine]\n"
        'runtime = "runc"\n'
        'cgroup_manager = "cgroupfs"\n'
        'events_logger = "file"\n'
        f'events_logfile_path = "{events}"\n'
    )


@dataclass
class PodmanRef:
    """`podman --root <tmp>/root --runroot <tmp>/runroot ARGS` with the settings above, as root
    or (with `user`) as the rootless test user."""

    tmp: Path
    insecure: list[str]
    user: RootlessUser | None = None

    def __post_init__(self) -> None:
        self.root = self.tmp / "root"
        # podman refuses a run root of more than 50 characters: a short one of its own
        self.runroot = Path(tempfile.mkdtemp(prefix="podman-ref-", dir="/tmp"))
        self.conf = self.tmp / "containers.conf"
        self.conf.write_text(_conf_text(self.tmp / "events.log"))
        self.registries_conf = write_registries_conf(
            self.tmp / "registries.conf", insecure=self.insecure
        )
        if self.user is not None:
            for path in (self.conf, self.registries_conf, self.runroot):
                shutil.chown(path, self.user.uid, self.user.gid)

    def command(self, *args) -> list[str]:
        return [PODMAN, "--root", str(self.root), "--runroot", str(self.runroot), *map(str, args)]

    def env(self) -> dict[str, str | None]:
        """The settings; None unsets (podman fails on an auth file that does not exist)."""
        return {
            "CONTAINERS_CONF": str(self.conf),
            "CONTAINERS_REGISTRIES_CONF": str(self.registries_conf),
            "REGISTRY_AUTH_FILE": None,
        }

    def __call__(
        self, *args, input=None, stdin=None, check=False, timeout=120, text=True
    ) -> subprocess.CompletedProcess:
        """`stdin`: a file object to run with as stdin, `text` False: bytes, as they came
        (root only; rootless: `input`'s pipe and text)."""
        if self.user is not None:
            return self.user.run(
                *self.command(*args), env=self.env(), input=input, timeout=timeout, check=check
            )
        cmd = self.command(*args)
        proc = subprocess.run(
            cmd, input=input, stdin=stdin, capture_output=True, text=text, timeout=timeout,
            cwd=self.tmp, env={k: v for k, v in {**os.environ, **self.env()}.items() if v},
        )  # fmt: skip
        return completed_or_raise(cmd, proc, check)

    def remove_all(self) -> None:
        """What a test left: containers and images, then the store's files. (Not `system
        reset`: rootful, it would remove every network of the host's podman as well.)"""
        self("rm", "-a", "-f", "-t", "0")
        self("rmi", "-a", "-f")
        self("volume", "prune", "-f")
        if self.user is not None:  # files of subordinate ids: removed inside the namespace
            self("unshare", "rm", "-rf", str(self.root), str(self.runroot))
        for path in (self.tmp, self.runroot):
            shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def podman(tmp_path, registry):
    """podman as root with a fresh store; registries.conf marks `registry` insecure."""
    directory = tmp_path / "podman"
    directory.mkdir()
    ref = PodmanRef(directory, [registry.host])
    yield ref
    ref.remove_all()


@pytest.fixture
def rootless_podman(rootless_user):
    """podman as the rootless test user with a fresh store."""
    ref = PodmanRef(
        rootless_user.make_tmpdir("podman"), list(rootless_user.insecure), rootless_user
    )
    yield ref
    ref.remove_all()


@pytest.fixture
def podman_busybox(podman, test_images) -> str:
    podman("pull", "-q", test_images.busybox.ref, check=True)
    return test_images.busybox.ref


@pytest.fixture
def rootless_podman_busybox(rootless_podman, test_images) -> str:
    rootless_podman("pull", "-q", test_images.busybox.ref, check=True)
    return test_images.busybox.ref
