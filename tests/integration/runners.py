"""Running pod in the tests: as the current user (root) with an isolated store, and as the
rootless test user with its own pod install. The fixtures in conftest.py hand these out."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from mounts import unmount_under
from registry_server import write_registries_conf

REPO_ROOT = Path(__file__).resolve().parents[2]
SYSTEM_PYTHON = "/usr/bin/python3"
SAFE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# A container command that idles like `sleep 1000` but ends at once on SIGTERM: a bare sleep as
# PID 1 ignores the signal, so stopping it waits out the whole stop timeout (10 s).
IDLE = ["sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait"]


def completed_or_raise(cmd, proc: subprocess.CompletedProcess, check: bool):
    if check and proc.returncode != 0:
        raise AssertionError(
            f"command failed with exit code {proc.returncode}: {' '.join(map(str, cmd))}\n"
            f"--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
        )
    return proc


def _overlay_env(env: dict[str, str], extra: dict | None) -> dict[str, str]:
    """`env` with `extra` applied: a value of None removes the variable."""
    for key, value in (extra or {}).items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = str(value)
    return env


@dataclass
class PodRunner:
    """Runs `python -m pod --root <tmp>/root --runroot <tmp>/runroot ARGS` with an isolated
    environment: REGISTRY_AUTH_FILE, CONTAINERS_REGISTRIES_CONF and XDG_CONFIG_HOME under tmp."""

    tmp: Path
    insecure: list[str] = field(default_factory=list)

    def __post_init__(self):
        self.root = self.tmp / "root"
        self.runroot = self.tmp / "runroot"
        self.auth_file = self.tmp / "auth.json"
        self.registries_conf = self.tmp / "registries.conf"
        self.config_home = self.tmp / "config"
        self.config_home.mkdir(parents=True, exist_ok=True)
        self.cache_home = self.tmp / "cache"  # pod's parse of containers.conf, the test's own
        self.write_registries_conf(insecure=self.insecure)

    def write_registries_conf(self, **kwargs) -> Path:
        """Rewrite registries.conf: insecure=[hosts], secure=[hosts], unqualified_search=[...],
        extra="raw TOML"."""
        return write_registries_conf(self.registries_conf, **kwargs)

    def env(self, extra: dict | None = None) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            REGISTRY_AUTH_FILE=str(self.auth_file),
            CONTAINERS_REGISTRIES_CONF=str(self.registries_conf),
            XDG_CONFIG_HOME=str(self.config_home),
            XDG_CACHE_HOME=str(self.cache_home),
        )
        return _overlay_env(env, extra)

    def command(self, *args) -> list[str]:
        return [
            sys.executable, "-m", "pod", "--root", str(self.root), "--runroot", str(self.runroot),
            *map(str, args),
        ]  # fmt: skip

    def __call__(
        self, *args, input=None, check=False, env=None, timeout=120, cwd=None, text=True, wrap=()
    ) -> subprocess.CompletedProcess:
        """`wrap`: a command line the pod command is run under (e.g. mounts.PRIVATE_DEV)."""
        cmd = [*wrap, *self.command(*args)]
        proc = subprocess.run(
            cmd,
            input=input,
            capture_output=True,
            text=text,
            env=self.env(env),
            timeout=timeout,
            cwd=cwd or self.tmp,  # not the checkout: ./pod must not shadow the installed package
        )
        return completed_or_raise(cmd, proc, check)

    def popen(self, *args, **kwargs) -> subprocess.Popen:
        """`pod ARGS` left running (Popen's keyword arguments: stdout=PIPE, text=True, ...)."""
        return subprocess.Popen(self.command(*args), env=self.env(), cwd=self.tmp, **kwargs)


@contextlib.contextmanager
def isolated_pod(tmp: Path, insecure: list[str]) -> Iterator[PodRunner]:
    """A PodRunner with a store of its own under `tmp`; what a test left running or mounted
    there is removed afterwards."""
    runner = PodRunner(tmp, insecure=list(insecure))
    try:
        yield runner
    finally:
        remove_leftovers(runner, tmp)


def remove_leftovers(runner, tmp: Path) -> None:
    """What a failed test left in `runner`'s store under `tmp`: containers, then mounts (no
    `rm` run when no container is left: most tests remove their own)."""
    containers = runner.root / "containers"
    if containers.is_dir() and any(containers.iterdir()):
        runner("rm", "-a", "-f", "-t", "0")
    unmount_under(tmp)


def container_state(runner, container_id: str) -> dict:
    """The container's state.json, as its shim last wrote it (root or rootless store)."""
    return json.loads((runner.root / "containers" / container_id / "state.json").read_text())


def container_status(runner, name: str) -> str:
    """The container's state as `ps -a --format json` shows it (which also notices a dead
    shim): "running", "exited", ...; "" when there is no such container."""
    done = runner("ps", "-a", "--filter", f"name=^{name}$", "--format", "json")
    listed = json.loads(done.stdout or "[]")
    return listed[0]["State"] if listed else ""


# --------------------------------------------------------------------------------------------
# the rootless user


@dataclass
class RootlessUser:
    name: str
    uid: int
    gid: int
    home: Path
    subuid_start: int
    subuid_count: int
    subgid_start: int
    subgid_count: int
    runtime_dir: Path
    venv: Path
    workdir: Path  # owned by the user, removed at session end
    insecure: list[str] = field(default_factory=list)

    def __post_init__(self):
        self.root = self.workdir / "root"
        self.runroot = self.workdir / "runroot"
        self.auth_file = self.workdir / "auth.json"
        self.registries_conf = self.workdir / "registries.conf"
        self.config_home = self.make_tmpdir("config")
        self.cache_home = self.make_tmpdir("cache")
        self.write_registries_conf(insecure=self.insecure)

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    @property
    def pod_bin(self) -> Path:
        return self.venv / "bin" / "pod"

    def make_tmpdir(self, prefix: str = "tmp") -> Path:
        """A fresh directory owned by the user (under the session's workdir)."""
        path = Path(tempfile.mkdtemp(prefix=prefix + "-", dir=self.workdir))
        os.chown(path, self.uid, self.gid)
        return path

    def write_registries_conf(self, path: Path | None = None, **kwargs) -> Path:
        path = write_registries_conf(path or self.registries_conf, **kwargs)
        os.chown(path, self.uid, self.gid)
        return path

    def env(self, extra: dict | None = None, **overrides) -> dict[str, str]:
        env = {
            "HOME": str(self.home),
            "USER": self.name,
            "LOGNAME": self.name,
            "PATH": SAFE_PATH,
            "LANG": "C.UTF-8",
            "XDG_RUNTIME_DIR": str(self.runtime_dir),
            "XDG_CONFIG_HOME": str(self.config_home),
            "XDG_CACHE_HOME": str(self.cache_home),
            "REGISTRY_AUTH_FILE": str(self.auth_file),
            "CONTAINERS_REGISTRIES_CONF": str(self.registries_conf),
        }
        env.update(overrides)
        return _overlay_env(env, extra)

    def run(
        self, *cmd, env=None, input=None, timeout=120, check=False, cwd=None, text=True, wrap=()
    ):
        """Run any command as the user with a clean environment (`env -i`), under the command
        line `wrap` (run as root, e.g. mounts.PRIVATE_DEV) when given."""
        full = [
            *wrap,
            "runuser",
            "-u",
            self.name,
            "--",
            "env",
            "-i",
            *(f"{k}={v}" for k, v in self.env(env).items()),
            *map(str, cmd),
        ]
        proc = subprocess.run(
            full,
            input=input,
            capture_output=True,
            text=text,
            timeout=timeout,
            cwd=cwd or self.workdir,
        )
        return completed_or_raise(full, proc, check)

    def popen(self, *cmd, **kwargs) -> subprocess.Popen:
        """Any command left running as the user, its pid the command's own (no runuser in
        between, so a signal reaches it): Popen's keyword arguments (stdout=PIPE, ...)."""
        return subprocess.Popen(
            [str(c) for c in cmd],
            user=self.uid,
            group=self.gid,
            extra_groups=[],
            env=self.env(),
            cwd=self.workdir,
            **kwargs,
        )

    def run_pod(
        self,
        *args,
        root=None,
        runroot=None,
        env=None,
        input=None,
        timeout=120,
        check=False,
        **options,
    ) -> subprocess.CompletedProcess:
        """`<venv>/bin/pod --root ROOT --runroot RUNROOT ARGS` as the user (defaults: the
        session's `.root` / `.runroot`; use `rootless_pod` for a fresh store per test).
        `options`: run()'s cwd, text and wrap."""
        return self.run(
            self.pod_bin,
            "--root",
            root or self.root,
            "--runroot",
            runroot or self.runroot,
            *args,
            env=env,
            input=input,
            timeout=timeout,
            check=check,
            **options,
        )


@dataclass
class RootlessPod:
    """`rootless_pod(*args)`: run_pod with a fresh root/runroot for one test."""

    user: RootlessUser
    tmp: Path

    def __post_init__(self):
        self.root = self.tmp / "root"
        self.runroot = self.tmp / "runroot"

    def popen(self, *args, **kwargs) -> subprocess.Popen:
        """`pod ARGS` left running as the user, with this test's store."""
        store = ["--root", self.root, "--runroot", self.runroot]
        return self.user.popen(self.user.pod_bin, *store, *args, **kwargs)

    def __call__(self, *args, env=None, input=None, timeout=120, check=False, **options):
        """`options`: RootlessUser.run's cwd, text and wrap."""
        return self.user.run_pod(
            *args,
            root=self.root,
            runroot=self.runroot,
            env=env,
            input=input,
            timeout=timeout,
            check=check,
            **options,
        )
