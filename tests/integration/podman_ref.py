"""podman 4.3.1, the reference engine of the differential tests, with stores of its own; also
the driver of pod's OCI runtime in test_podman_runtime (`runtime=`).

The same command line goes through pod and podman; the tests compare exit codes, messages,
parsed output and the files each left. podman gets the settings this kind of host needs (root
lacks CAP_SYS_RESOURCE here, so its default nofile/nproc limits of 1048576 are pinned to the
hard limits; Debian's crun 1.8.1 refuses a hybrid cgroup v1 host, so runc; no systemd: cgroupfs
and file events) and never touches the host's own podman state: its store, CNI network configs,
events log and auth file (an empty one) all live in its directory.
"""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from mounts import unmount_under
from registry_server import write_registries_conf
from runners import RootlessUser, completed_or_raise

PODMAN = shutil.which("podman") or "podman"


def _hard_limit(kind: int, cap: int) -> int:
    hard = resource.getrlimit(kind)[1]
    return cap if hard == resource.RLIM_INFINITY else min(hard, cap)


def write_containers_conf(directory: Path, tmp_dir: Path) -> Path:
    """`tmp_dir`: the store's own; podman's default, /run/libpod, is shared by every store, and
    a `system reset` of one removes its `alive` file: the next command on another store then
    "refreshes" it (its running containers reset to created, so `rm -f` no longer kills them:
    their conmon, sleep and published-port firewall rules outlived the test session)."""
    nofile = _hard_limit(resource.RLIMIT_NOFILE, 1048576)
    nproc = _hard_limit(resource.RLIMIT_NPROC, 32768)
    conf = directory / "containers.conf"
    conf.write_text(
        "[containers]\n"
        f'default_ulimits = ["nofile={nofile}:{nofile}", "nproc={nproc}:{nproc}"]\n'
        "[network]\n"
        f'network_config_dir = "{directory / "cni"}"\n'
        "[engine]\n"
        'runtime = "runc"\n'
        'cgroup_manager = "cgroupfs"\n'
        'events_logger = "file"\n'
        f'tmp_dir = "{tmp_dir}"\n'
        f'events_logfile_path = "{directory}/events.log"\n'
    )
    return conf


@dataclass
class PodmanRunner:
    """`podman --root D/root --runroot RUN ARGS` with D's containers.conf and registries.conf,
    RUN a fresh directory in /tmp; as the rootless `user` when given (D is then the user's, RUN
    in the user's runtime directory); `runtime`: an OCI runtime other than runc (`--runtime
    PATH`)."""

    directory: Path
    insecure: list[str]
    user: RootlessUser | None = None
    runtime: str | None = None

    def __post_init__(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.root = self.directory / "root"
        # podman refuses a run root longer than 50 characters: a test's tmp_path may be longer
        base = self.user.runtime_dir if self.user is not None else "/tmp"
        self.runroot = Path(tempfile.mkdtemp(prefix="podman-ref-", dir=base))
        (self.directory / "cni").mkdir(exist_ok=True)
        self.auth_file = self.directory / "auth.json"
        self.auth_file.write_text("{}\n")  # never the host's credentials
        self.tmp_dir = self.runroot / "tmp"
        self.tmp_dir.mkdir()
        self.conf = write_containers_conf(self.directory, self.tmp_dir)
        self.registries_conf = write_registries_conf(
            self.directory / "registries.conf", insecure=self.insecure
        )
        if self.user is not None:
            for path in (self.directory, self.directory / "cni", self.auth_file, self.conf,
                         self.registries_conf, self.runroot, self.tmp_dir):  # fmt: skip
                os.chown(path, self.user.uid, self.user.gid)

    def command(self, *args) -> list[str]:
        store = ["--root", str(self.root), "--runroot", str(self.runroot)]
        store += ["--runtime", self.runtime] if self.runtime else []
        return [PODMAN, *store, *map(str, args)]

    def env(self) -> dict[str, str]:
        return {
            "CONTAINERS_CONF": str(self.conf),
            "CONTAINERS_REGISTRIES_CONF": str(self.registries_conf),
            "REGISTRY_AUTH_FILE": str(self.auth_file),
        }

    def __call__(
        self, *args, input=None, stdin=None, check=False, timeout=120, cwd=None, text=True, wrap=()
    ) -> subprocess.CompletedProcess:
        """`stdin`: a file object podman reads as its stdin (as root; rootless: `input` only)."""
        if self.user is not None:
            return self.user.run(
                *self.command(*args),
                env=self.env(),
                input=input,
                timeout=timeout,
                check=check,
                cwd=cwd,
                text=text,
                wrap=wrap,
            )
        cmd = [*wrap, *self.command(*args)]
        proc = subprocess.run(
            cmd,
            input=input,
            stdin=stdin if stdin is not None or input is not None else subprocess.DEVNULL,
            capture_output=True,
            text=text,
            timeout=timeout,
            cwd=cwd or self.directory,
            env={**os.environ, **self.env()},
        )
        return completed_or_raise(cmd, proc, check)

    def reset(self) -> None:
        """Remove what a test made: containers, then volumes (the image stays)."""
        self("rm", "-a", "-f", "-t", "0")
        self("volume", "prune", "-f")

    def close(self) -> None:
        """At the end of the store's life: everything podman made (containers stopped at once,
        pods, images, volumes, networks), its storage mounts and its runroot."""
        try:
            self("system", "reset", "--force", timeout=300)
        finally:
            unmount_under(self.directory)
            unmount_under(self.runroot)
            shutil.rmtree(self.runroot, ignore_errors=True)

    def remove_all(self) -> None:
        """At the end of a test with a store of its own: its containers stopped at once, the
        files (rootless, those of subordinate ids go inside the user's namespace), then close,
        whose system reset removes the images and volumes (no `rmi`, `volume prune` first)."""
        self("rm", "-a", "-f", "-t", "0")
        if self.user is not None:  # files of subordinate ids: removed inside the namespace
            self("unshare", "rm", "-rf", str(self.directory / "root"))
        self.close()


@contextlib.contextmanager
def fresh_podman(directory: Path, insecure: list[str]) -> Iterator[PodmanRunner]:
    """podman as root with a fresh store in `directory`, removed with all it holds afterwards."""
    runner = PodmanRunner(directory, insecure=insecure)
    try:
        yield runner
    finally:
        runner.remove_all()
        unmount_under(runner.directory)
        shutil.rmtree(runner.directory, ignore_errors=True)
