"""podman 4.3.1, the reference engine of the differential tests, with stores of its own.

The same command line goes through pod and podman; the tests compare exit codes, messages and
the files each left. podman gets the settings this kind of host needs (root lacks
CAP_SYS_RESOURCE here, so its default nofile/nproc limits of 1048576 are pinned to the hard
limits; Debian's crun 1.8.1 refuses a hybrid cgroup v1 host, so runc; no systemd: cgroupfs and
file events) and never touches the host's own podman store.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from registry_server import write_registries_conf
from runners import RootlessUser, completed_or_raise

PODMAN = shutil.which("podman") or "podman"


def write_containers_conf(directory: Path) -> Path:
    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    nproc = resource.getrlimit(resource.RLIMIT_NPROC)[1]
    nproc = 32768 if nproc == resource.RLIM_INFINITY else min(nproc, 32768)
    conf = directory / "containers.conf"
    conf.write_text(
        "[containers]\n"
        f'default_ulimits = ["nofile={nofile}:{nofile}", "nproc={nproc}:{nproc}"]\n'
        "[engine]\n"
        'runtime = "runc"\n'
        'cgroup_manager = "cgroupfs"\n'
        'events_logger = "file"\n'
        f'events_logfile_path = "{directory}/events.log"\n'
    )
    return conf


@dataclass
class PodmanRunner:
    """`podman --root D/root --runroot RUN ARGS` with D's containers.conf and registries.conf;
    as the rootless `user` when given (D is then the user's, and RUN, which rootless podman
    wants at most 50 characters long, in the user's runtime directory)."""

    directory: Path
    insecure: list[str]
    user: RootlessUser | None = None

    def __post_init__(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.runroot = self.directory / "run"
        if self.user is not None:
            self.runroot = Path(tempfile.mkdtemp(prefix="podman-ref-", dir=self.user.runtime_dir))
            os.chown(self.runroot, self.user.uid, self.user.gid)
        self.conf = write_containers_conf(self.directory)
        self.registries_conf = write_registries_conf(
            self.directory / "registries.conf", insecure=self.insecure
        )
        if self.user is not None:
            for path in (self.directory, self.conf, self.registries_conf):
                os.chown(path, self.user.uid, self.user.gid)

    def command(self, *args) -> list[str]:
        store = ["--root", str(self.directory / "root"), "--runroot", str(self.runroot)]
        return [PODMAN, *store, *map(str, args)]

    def env(self) -> dict[str, str | None]:
        """podman's settings; REGISTRY_AUTH_FILE unset (podman fails on a missing one)."""
        return {
            "CONTAINERS_CONF": str(self.conf),
            "CONTAINERS_REGISTRIES_CONF": str(self.registries_conf),
            "REGISTRY_AUTH_FILE": None,
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
            stdin=stdin,
            capture_output=True,
            text=text,
            timeout=timeout,
            cwd=cwd or self.directory,
            env={k: v for k, v in {**os.environ, **self.env()}.items() if v is not None},
        )
        return completed_or_raise(cmd, proc, check)

    def reset(self) -> None:
        """Remove what a test made: containers, then volumes (the image stays)."""
        self("rm", "-a", "-f", "-t", "0")
        self("volume", "prune", "-f")

    def close(self) -> None:
        """At the end of the session: the containers, and a runroot outside the directory."""
        self.reset()
        if self.user is not None:
            shutil.rmtree(self.runroot, ignore_errors=True)

    def remove_all(self) -> None:
        """At the end of a test with a store of its own: everything, images and files too.
        (Not `system reset`: as root it would remove the host podman's networks as well.)"""
        self.reset()
        self("rmi", "-a", "-f")
        if self.user is not None:  # files of subordinate ids: removed inside the namespace
            self("unshare", "rm", "-rf", str(self.directory / "root"))
        self.close()
