"""The engines the run, exec and logs benches drive: pod and podman, rootful or rootless."""

from __future__ import annotations

import subprocess
from pathlib import Path

import common
from image_builder import (
    Layer,
    RegistryClient,
    build_tar,
    busybox_applets,
    busybox_config,
    busybox_rootfs,
    make_image,
)

# podman needs limits within this machine's hard limits (root lacks CAP_SYS_RESOURCE here).
PODMAN_LIMITS = ["--ulimit", "nofile=20000:20000", "--ulimit", "nproc=1024:1024"]
# Two comparisons of `run --rm busybox true`: each engine's default network (the command users
# type: a bridge rootful for both; rootless, podman's slirp4netns and pod's pasta/slirp4netns
# or, where /dev/net/tun is closed to users, loopback only), and both with `--network none`
# (a private namespace with loopback only), which equalises networking.
NETWORKS = {"default": [], "none": ["--network", "none"]}


def push_busybox(host: str) -> str:
    busybox = Path("/bin/busybox")
    base = Layer(build_tar(busybox_rootfs(busybox, busybox_applets(busybox))))
    image = make_image([base], busybox_config([base.diff_id]))
    RegistryClient(f"http://{host}").push_image(image, "bench/busybox", "latest")
    return f"{host}/bench/busybox:latest"


class Tool:
    """One engine (pod or podman) in one mode, with its own store."""

    def __init__(self, name: str, argv0: str, mode: str, user, env: dict[str, str]) -> None:
        self.name, self.mode, self.user, self.env = name, mode, user, env
        base = common.WORK / "stores" / f"{name}-{mode}"
        self.root = common.fresh_dir(base / "root", user)
        self.runroot = common.fresh_dir(Path(f"/tmp/pb-{name}-{mode}"), user)
        self.prefix = [argv0, "--root", str(self.root), "--runroot", str(self.runroot)]

    def argv(self, *args: str) -> list[str]:
        extra = (
            PODMAN_LIMITS if self.name == "podman" and args[:1] in (("run",), ("create",)) else []
        )
        return [*self.prefix, args[0], *extra, *args[1:]]

    def run(self, *args: str) -> str:
        argv = self.argv(*args)
        if self.user:
            env = [f"{k}={v}" for k, v in self.env.items()]
            argv = ["runuser", "-u", self.user.pw_name, "--", "env", "-i", *env, *argv]
        done = subprocess.run(argv, env=None if self.user else self.env, capture_output=True,
                              text=True, check=True)  # fmt: skip
        return done.stdout

    def measure(self, *args: str) -> common.Measurement:
        who = self.user.pw_name if self.user else None
        return common.run_measured(self.argv(*args), env=self.env, user=who)
