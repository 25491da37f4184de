"""podman 4.3.1 on the test's own store: the reference engine of the differential tests (the
same command line runs through pod and through podman, and the tests compare exit codes and
parsed output), and the driver of pod's OCI runtime in test_podman_runtime.

podman runs with an isolated store, registries.conf (the test registry is insecure) and a
containers.conf that keeps it off the host's state and works on these hosts: runc (Debian's
crun refuses cgroups v1 with a v2 hybrid mount), cgroupfs and file events (no systemd), its CNI
configs in the test's own directory, and nofile/nproc pinned to the hard limits (root may lack
CAP_SYS_RESOURCE for podman's 1048576). Rootless, it runs as the rootless test user.
"""

from __future__ import annotations

import resource
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from mounts import unmount_under
from registry_server import write_registries_conf
from runners import SAFE_PATH, completed_or_raise

PODMAN = shutil.which("podman", path=SAFE_PATH) or "podman"


def _hard_limit(kind: int, cap: int) -> int:
    hard = resource.getrlimit(kind)[1]
    return cap if hard == resource.RLIM_INFINITY else min(hard, cap)


def write_containers_conf(directory: Path) -> Path:
    nofile = _hard_limit(resource.RLIMIT_NOFILE, 1048576)
    nproc = _hard_limit(resource.RLIMIT_NPROC, 32768)
    path = directory / "containers.conf"
    path.write_text(
        "[containers]\n"
        f'default_ulimits = ["nofile={nofile}:{nofile}", "nproc={nproc}:{nproc}"]\n'
        "[network]\n"
        f'network_config_dir = "{directory / "cni"}"\n'
        "[engine]\n"
        'runtime = "runc"\n'
        'cgroup_manager = "cgroupfs"\n'
        'events_logger = "file"\n'
        f'events_logfile_path = "{directory / "events.log"}"\n'
    )
    return path


@dataclass
class PodmanRunner:
    """`podman(*args)`: podman with its own store under `tmp`, as root or as `user` (a
    runners.RootlessUser, whose environment and `run` it uses); `runtime`: an OCI runtime
    other than runc (`--runtime PATH`)."""

    tmp: Path
    insecure: list[str]
    user: object | None = None
    runtime: str | None = None
    conf: Path = field(init=False)

    def __post_init__(self):
        self.root = self.tmp / "root"
        # podman refuses a run root longer than 50 characters
        base = Path(self.user.runtime_dir) if self.user is not None else Path("/tmp")
        self.runroot = Path(tempfile.mkdtemp(prefix="podman-", dir=base))
        (self.tmp / "cni").mkdir(parents=True, exist_ok=True)
        self.auth_file = self.tmp / "auth.json"
        self.auth_file.write_text("{}\n")  # never the host's credentials
        self.conf = write_containers_conf(self.tmp)
        self.registries_conf = write_registries_conf(
            self.tmp / "registries.conf", insecure=self.insecure
        )
        if self.user is not None:
            for path in (self.tmp / "cni", self.auth_file, self.conf, self.registries_conf,
                         self.runroot):  # fmt: skip
                shutil.chown(path, self.user.uid, self.user.gid)

    def env(self) -> dict[str, str]:
        return {
            "CONTAINERS_CONF": str(self.conf),
            "CONTAINERS_REGISTRIES_CONF": str(self.registries_conf),
            "REGISTRY_AUTH_FILE": str(self.auth_file),
        }

    def __call__(self, *args, input=None, check=False, timeout=120):
        store = ["--root", str(self.root), "--runroot", str(self.runroot)]
        store += ["--runtime", self.runtime] if self.runtime else []
        if self.user is not None:
            return self.user.run(
                PODMAN, *store, *args, env=self.env(), input=input, timeout=timeout, check=check
            )
        cmd = [PODMAN, *store, *map(str, args)]
        env = {"PATH": SAFE_PATH, "HOME": "/root", "LANG": "C.UTF-8", **self.env()}
        proc = subprocess.run(
            cmd, input=input, capture_output=True, text=True, env=env, timeout=timeout,
            cwd=self.tmp, stdin=subprocess.DEVNULL if input is None else None,
        )  # fmt: skip
        return completed_or_raise(cmd, proc, check)

    def reset(self) -> None:
        """Everything podman made here: containers (stopped at once), pods, images, volumes,
        networks and the storage mounts."""
        try:
            self("system", "reset", "--force", timeout=300)
        finally:
            unmount_under(self.tmp)
            unmount_under(self.runroot)
            shutil.rmtree(self.runroot, ignore_errors=True)
