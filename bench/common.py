"""Shared by the bench scripts: a local registry, a rootless bench user, podman's config, timing.

Benchmarks print one line per figure. They run as root; rootless figures run as an unprivileged
user (`podbench`, created with a subuid range when missing), like the tests do.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent
WORK = Path(os.environ.get("POD_BENCH_DIR", "/var/tmp/pod-bench"))
BENCH_USER = "podbench"
sys.path.insert(0, str(CHECKOUT / "tests" / "integration"))

from registry_server import start_plain_registry  # noqa: E402

PODMAN_CONF = """[containers]
default_ulimits = []
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime = "runc"
"""


@dataclass
class Measurement:
    seconds: float
    peak_rss_kib: int


def run_measured(
    argv: list[str], env: dict[str, str] | None = None, user: str | None = None
) -> Measurement:
    """Wall time and peak RSS of `argv` and the children it waits for, via GNU time.

    GNU time runs right before the command so the figure is the command's own, not that of
    this (possibly large) Python process or of runuser.
    """
    with tempfile.NamedTemporaryFile("r", dir=WORK, suffix=".time") as report:
        os.chmod(report.name, 0o666)
        argv = ["/usr/bin/time", "-f", "%e %M", "-o", report.name, *map(str, argv)]
        if user:
            argv = [
                "runuser",
                "-u",
                user,
                "--",
                "env",
                "-i",
                *(f"{k}={v}" for k, v in (env or {}).items()),
                *argv,
            ]
            env = None
        proc = subprocess.run(
            argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        if proc.returncode != 0:
            raise SystemExit(f"failed: {' '.join(argv)}\n{proc.stderr}")
        seconds, kib = report.read().split()[-2:]
    return Measurement(float(seconds), int(kib))


def median(values: list[float]) -> float:
    return statistics.median(values)


def have_podman() -> bool:
    return shutil.which("podman") is not None


def podman_env(home: Path, registries_conf: Path) -> dict[str, str]:
    conf = WORK / "containers.conf"
    conf.write_text(PODMAN_CONF)
    conf.chmod(0o644)
    return {
        "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": str(home),
        "CONTAINERS_CONF": str(conf),
        "CONTAINERS_REGISTRIES_CONF": str(registries_conf),
    }


def registries_conf(host: str) -> Path:
    path = WORK / "registries.conf"
    path.write_text(
        f'unqualified-search-registries = []\n[[registry]]\nlocation = "{host}"\ninsecure = true\n'
    )
    path.chmod(0o644)
    return path


def bench_user() -> pwd.struct_passwd:
    """The unprivileged bench user, with a subuid/subgid range and a runtime dir."""
    try:
        user = pwd.getpwnam(BENCH_USER)
    except KeyError:
        subprocess.run(["useradd", "--create-home", "--shell", "/bin/sh", BENCH_USER], check=True)
        user = pwd.getpwnam(BENCH_USER)
    if BENCH_USER not in Path("/etc/subuid").read_text():
        subprocess.run(
            [
                "usermod",
                "--add-subuids",
                "300000-365535",
                "--add-subgids",
                "300000-365535",
                BENCH_USER,
            ],
            check=True,
        )
    runtime = Path(f"/run/user/{user.pw_uid}")
    runtime.mkdir(parents=True, exist_ok=True)
    os.chown(runtime, user.pw_uid, user.pw_gid)
    runtime.chmod(0o700)
    return user


def user_env(user: pwd.struct_passwd, registries: Path) -> dict[str, str]:
    env = podman_env(Path(user.pw_dir), registries)
    env.update(USER=user.pw_name, XDG_RUNTIME_DIR=f"/run/user/{user.pw_uid}")
    return env


def installed_pod() -> Path:
    """This checkout installed (not editable) where the bench user can run it; reused per source."""
    digest = hashlib.sha256()
    for path in sorted(CHECKOUT.glob("*/**/*.py")) + [CHECKOUT / "pyproject.toml"]:
        if "tests" not in path.parts and "bench" not in path.parts:
            digest.update(path.read_bytes())
    venv = WORK / f"venv-{digest.hexdigest()[:12]}"
    if not (venv / "bin" / "pod").exists():
        subprocess.run(["/usr/bin/python3", "-m", "venv", venv], check=True)
        subprocess.run([venv / "bin" / "pip", "install", "-q", str(CHECKOUT)], check=True)
        subprocess.run(["chmod", "-R", "a+rX", venv], check=True)
    return venv / "bin" / "pod"


def debian_rootfs() -> Path:
    """debootstrap --variant=minbase once, plus host trees so the image has 20k+ files."""
    target = WORK / "rootfs"
    if not target.exists():
        partial = WORK / "rootfs.partial"
        shutil.rmtree(partial, ignore_errors=True)
        subprocess.run(
            [
                "debootstrap",
                "--variant=minbase",
                "bookworm",
                partial,
                "http://deb.debian.org/debian",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        partial.rename(target)
    return target


def _unmount_under(path: Path) -> None:
    """Lazily unmount what an interrupted earlier run left mounted under `path` (a container's
    rootfs, podman's overlay and shm), deepest first, so the directory can be removed."""
    prefix = str(path.resolve()) + "/"
    with open("/proc/self/mountinfo") as table:
        points = [line.split()[4] for line in table]
    for point in sorted((p for p in points if p.startswith(prefix)), key=len, reverse=True):
        subprocess.run(["umount", "-l", point], check=False, stderr=subprocess.DEVNULL)


def fresh_dir(path: Path, owner: pwd.struct_passwd | None = None) -> Path:
    """An empty directory (root removes any store, subuid-owned files included)."""
    if path.exists():
        _unmount_under(path)
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    if owner is not None:
        os.chown(path, owner.pw_uid, owner.pw_gid)
    return path


def start_registry():
    return start_plain_registry(WORK / "registry")


def print_figure(name: str, value: str) -> None:
    print(f"{name}: {value}", flush=True)
