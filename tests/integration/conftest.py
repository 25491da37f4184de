"""Integration fixtures: real registries, test images, an isolated pod runner, a rootless user.

Session-scoped: `registry` (plain HTTP), `tls_registry` (TLS + htpasswd), `token_registry`
(token auth + token server), `test_images` (pushed to `registry`), `rootless_user`.
Function-scoped: `pod` (root, isolated store), `rootless_pod` (the rootless user, fresh store).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

# tests/integration has no __init__.py: make its helper modules importable however pytest
# imports this conftest (prepend or importlib mode).
sys.path.insert(0, str(Path(__file__).resolve().parent))

import image_builder  # noqa: E402
import registry_server  # noqa: E402
from registry_server import write_registries_conf  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[2]
SYSTEM_PYTHON = "/usr/bin/python3"
SAFE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
ROOTLESS_USER = os.environ.get("POD_TEST_USER", "podtest")
ROOTLESS_BASE = Path("/var/tmp")


def _completed_or_raise(cmd, proc: subprocess.CompletedProcess, check: bool):
    if check and proc.returncode != 0:
        raise AssertionError(
            f"command failed with exit code {proc.returncode}: {' '.join(map(str, cmd))}\n"
            f"--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
        )
    return proc


def _unmount_under(top: Path) -> None:
    """Lazily unmount whatever a test left mounted below `top` (overlay, fuse, binds)."""
    if os.geteuid() != 0:
        return
    prefix = str(top.resolve()).rstrip("/") + "/"
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return
    points = []
    for line in lines:
        fields = line.split()
        if len(fields) > 4:
            point = re.sub(r"\\(\d{3})", lambda m: chr(int(m.group(1), 8)), fields[4])
            if point.startswith(prefix):
                points.append(point)
    for point in sorted(points, key=len, reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True)


# --------------------------------------------------------------------------------------------
# registries


@pytest.fixture(scope="session")
def registry(tmp_path_factory):
    """Plain-HTTP docker-registry on a free 127.0.0.1 port: `.host`, `.url`, `.log_text()`."""
    server = registry_server.start_plain_registry(tmp_path_factory.mktemp("registry"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def tls_registry(tmp_path_factory):
    """TLS + htpasswd: `.host`, `.url`, `.ca_cert`, `.certs_d`, `.username`, `.password`."""
    server = registry_server.start_tls_registry(tmp_path_factory.mktemp("tls-registry"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def token_registry(tmp_path_factory):
    """Token-auth registry: `.host`, `.url`, `.token_server_url`, `.username`, `.password`,
    `.requests` (TokenRequest log), `.requested_scopes()`, `.clear_requests()`, `.tokens`."""
    server = registry_server.start_token_registry(tmp_path_factory.mktemp("token-registry"))
    yield server
    server.stop()


# --------------------------------------------------------------------------------------------
# images


@pytest.fixture(scope="session", name="test_images")
def _test_images(registry, tmp_path_factory):
    """Every test image, pushed to `registry` (see image_builder.ImageSet)."""
    # The sentinel must be reachable (and writable) by the rootless user too, so a vulnerable
    # rootless extraction would show: a world-writable dir under /var/tmp when we are root.
    base = ROOTLESS_BASE if os.geteuid() == 0 and ROOTLESS_BASE.is_dir() else None
    holder = Path(tempfile.mkdtemp(prefix="pod-hostile-", dir=base))
    holder.chmod(0o755)
    client = image_builder.RegistryClient(registry.url)
    try:
        images = image_builder.build_and_push(
            client, registry.host, tmp_path_factory.mktemp("images"), holder / "sentinel"
        )
        yield images
    finally:
        shutil.rmtree(holder, ignore_errors=True)


# --------------------------------------------------------------------------------------------
# the pod runner (as the current user, normally root)


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
        )
        for key, value in (extra or {}).items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = str(value)
        return env

    def command(self, *args) -> list[str]:
        return [
            sys.executable, "-m", "pod", "--root", str(self.root), "--runroot", str(self.runroot),
            *map(str, args),
        ]  # fmt: skip

    def __call__(
        self, *args, input=None, check=False, env=None, timeout=120, cwd=None
    ) -> subprocess.CompletedProcess:
        cmd = self.command(*args)
        proc = subprocess.run(
            cmd,
            input=input,
            capture_output=True,
            text=True,
            env=self.env(env),
            timeout=timeout,
            cwd=cwd or self.tmp,  # not the checkout: ./pod must not shadow the installed package
        )
        return _completed_or_raise(cmd, proc, check)


@pytest.fixture
def pod(tmp_path, registry):
    """The pod CLI with a fresh store; registries.conf marks `registry` insecure."""
    runner = PodRunner(tmp_path, insecure=[registry.host])
    yield runner
    if (runner.root / "containers").is_dir():  # a failed test must not leave containers running
        runner("rm", "-a", "-f", "-t", "0")
    _unmount_under(tmp_path)


# --------------------------------------------------------------------------------------------
# the rootless user


def _source_files(root: Path) -> list[Path]:
    """The files a `pip install <checkout>` uses (everything but tests, VCS and build output)."""
    skip_dirs = {
        ".git",
        ".ci",
        "tests",
        "bench",
        "build",
        "dist",
        "__pycache__",
        ".venv",
        "venv",
        ".pytest_cache",
        ".ruff_cache",
        ".mypy_cache",
        "node_modules",
    }
    files = []
    for dirpath, dirnames, filenames in os.walk(root):
        top = Path(dirpath) == root  # build/ and dist/ are setuptools' output only at the top
        dirnames[:] = sorted(
            d
            for d in dirnames
            if not (d in skip_dirs and (top or d not in ("build", "dist")))
            and not d.endswith(".egg-info")
        )
        for name in sorted(filenames):
            if not name.endswith((".pyc", ".pyo")):
                files.append(Path(dirpath, name))
    return files


def _tree_hash(root: Path, files: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in files:
        rel = str(path.relative_to(root))
        digest.update(rel.encode() + b"\0")
        if path.is_symlink():
            digest.update(b"L" + os.readlink(path).encode())
        else:
            digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def _prune_rootless_venvs(keep: Path) -> None:
    """Drop venvs of older trees: all but the two last used, never one used in 10 minutes."""

    def last_used(path: Path) -> float:
        try:
            return (path / ".pod-installed").stat().st_mtime
        except FileNotFoundError:
            return 0.0

    old = sorted(
        (p for p in ROOTLESS_BASE.glob("pod-rootless-*")
         if p != keep and re.fullmatch(r"pod-rootless-[0-9a-f]{16}", p.name)),
        key=last_used,
        reverse=True,
    )  # fmt: skip
    for rank, path in enumerate(old):
        if rank >= 2 and time.time() - last_used(path) > 600:
            shutil.rmtree(path, ignore_errors=True)


def _install_rootless_venv() -> Path:
    """A world-readable venv with the checkout installed (not editable), reused per tree hash."""
    files = _source_files(REPO_ROOT)
    venv = ROOTLESS_BASE / f"pod-rootless-{_tree_hash(REPO_ROOT, files)}"
    marker = venv / ".pod-installed"
    with open(ROOTLESS_BASE / "pod-rootless.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if marker.exists():
            marker.touch()
            return venv
        shutil.rmtree(venv, ignore_errors=True)
        with tempfile.TemporaryDirectory(prefix="pod-rootless-src-") as src:
            for path in files:
                dest = Path(src, path.relative_to(REPO_ROOT))
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, dest, follow_symlinks=False)
            steps = [
                [SYSTEM_PYTHON, "-m", "venv", str(venv)],
                [str(venv / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check",
                 "--no-input", "-c", str(Path(src, "constraints.txt")), src],
            ]  # fmt: skip
            for cmd in steps:
                proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
                if proc.returncode != 0:
                    shutil.rmtree(venv, ignore_errors=True)
                    raise RuntimeError(
                        f"installing pod for the rootless user failed: {' '.join(cmd)}\n"
                        f"{proc.stdout}\n{proc.stderr}"
                    )
        subprocess.run(["chmod", "-R", "a+rX", str(venv)], check=True)
        marker.write_text("ok\n")
        _prune_rootless_venvs(keep=venv)
    return venv


def _read_subids(path: Path) -> list[tuple[str, int, int]]:
    entries = []
    with contextlib.suppress(FileNotFoundError):
        for line in path.read_text().splitlines():
            parts = line.strip().split(":")
            if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
                entries.append((parts[0], int(parts[1]), int(parts[2])))
    return entries


def _ensure_subids(name: str, uid: int, count: int = 65536) -> tuple[int, int, int, int]:
    """(subuid start, count, subgid start, count): reuse the user's ranges or add new ones that
    overlap no other entry of /etc/subuid or /etc/subgid."""
    files = (Path("/etc/subuid"), Path("/etc/subgid"))
    tables = [_read_subids(p) for p in files]
    mine = [[e for e in t if e[0] in (name, str(uid)) and e[2] >= count] for t in tables]
    if not (mine[0] and mine[1]):
        end = max([100000] + [s + c for t in tables for (_, s, c) in t])
        start = -(-end // 65536) * 65536
        for path, found in zip(files, mine, strict=True):
            if not found:
                with open(path, "a") as f:
                    f.write(f"{name}:{start}:{count}\n")
        tables = [_read_subids(p) for p in files]
        mine = [[e for e in t if e[0] in (name, str(uid)) and e[2] >= count] for t in tables]
    result = []
    for path, table, own in zip(files, tables, mine, strict=True):
        _, start, size = own[0]
        for other, s, c in table:
            if other not in (name, str(uid)) and s < start + size and start < s + c:
                raise RuntimeError(f"{path}: the range of {name} overlaps {other}'s")
        result += [start, size]
    return tuple(result)


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
            "REGISTRY_AUTH_FILE": str(self.auth_file),
            "CONTAINERS_REGISTRIES_CONF": str(self.registries_conf),
        }
        env.update(overrides)
        for key, value in (extra or {}).items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = str(value)
        return env

    def run(self, *cmd, env=None, input=None, timeout=120, check=False, cwd=None):
        """Run any command as the user with a clean environment (`env -i`)."""
        full = [
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
            text=True,
            timeout=timeout,
            cwd=cwd or self.workdir,
        )
        return _completed_or_raise(full, proc, check)

    def run_pod(
        self, *args, root=None, runroot=None, env=None, input=None, timeout=120, check=False
    ) -> subprocess.CompletedProcess:
        """`<venv>/bin/pod --root ROOT --runroot RUNROOT ARGS` as the user (defaults: the
        session's `.root` / `.runroot`; use `rootless_pod` for a fresh store per test)."""
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
        )


@pytest.fixture(scope="session")
def rootless_user(registry):
    """An unprivileged user with subuid/subgid ranges, XDG_RUNTIME_DIR and its own pod install."""
    if os.geteuid() != 0:
        pytest.skip(
            f"rootless tests create a user and need root; this session runs as uid {os.geteuid()}"
        )
    for tool in ("useradd", "runuser", "newuidmap", "newgidmap"):
        if shutil.which(tool, path=SAFE_PATH) is None:
            pytest.fail(f"rootless tests need {tool}: apt-get install uidmap util-linux passwd")
    name = ROOTLESS_USER
    try:
        pw = pwd.getpwnam(name)
    except KeyError:
        subprocess.run(
            ["useradd", "--create-home", "--shell", "/bin/sh", "--user-group", name],
            check=True,
            capture_output=True,
        )
        pw = pwd.getpwnam(name)
    home = Path(pw.pw_dir)
    if not home.is_dir():
        home.mkdir(parents=True, mode=0o755)
        os.chown(home, pw.pw_uid, pw.pw_gid)
    subuid_start, subuid_count, subgid_start, subgid_count = _ensure_subids(name, pw.pw_uid)
    runtime_dir = Path(f"/run/user/{pw.pw_uid}")
    runtime_dir.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
    runtime_dir.mkdir(mode=0o700, exist_ok=True)
    os.chown(runtime_dir, pw.pw_uid, pw.pw_gid)
    runtime_dir.chmod(0o700)
    venv = _install_rootless_venv()
    workdir = Path(tempfile.mkdtemp(prefix="pod-rootless-run-", dir=ROOTLESS_BASE))
    os.chown(workdir, pw.pw_uid, pw.pw_gid)
    workdir.chmod(0o700)
    user = RootlessUser(
        name=name,
        uid=pw.pw_uid,
        gid=pw.pw_gid,
        home=home,
        subuid_start=subuid_start,
        subuid_count=subuid_count,
        subgid_start=subgid_start,
        subgid_count=subgid_count,
        runtime_dir=runtime_dir,
        venv=venv,
        workdir=workdir,
        insecure=[registry.host],
    )
    yield user
    _unmount_under(workdir)
    shutil.rmtree(workdir, ignore_errors=True)


@dataclass
class RootlessPod:
    """`rootless_pod(*args)`: run_pod with a fresh root/runroot for one test."""

    user: RootlessUser
    tmp: Path

    def __post_init__(self):
        self.root = self.tmp / "root"
        self.runroot = self.tmp / "runroot"

    def __call__(self, *args, env=None, input=None, timeout=120, check=False):
        return self.user.run_pod(
            *args,
            root=self.root,
            runroot=self.runroot,
            env=env,
            input=input,
            timeout=timeout,
            check=check,
        )


def _stop_rootless_netns(runroot: Path) -> None:
    """A rootless network namespace holder a failed test left (pod stops it with the last
    container using it: tests assert that themselves)."""
    holder = runroot / "rootless-netns" / "holder.json"
    if holder.exists():
        data = json.loads(holder.read_text())
        for pid in (data.get("slirp_pid", 0), data["pid"]):
            with contextlib.suppress(ProcessLookupError):
                if pid:
                    os.kill(pid, signal.SIGKILL)


@pytest.fixture
def rootless_pod(rootless_user):
    tmp = rootless_user.make_tmpdir("test")
    runner = RootlessPod(rootless_user, tmp)
    yield runner
    if (runner.root / "containers").is_dir():  # a failed test must not leave containers running
        runner("rm", "-a", "-f", "-t", "0")
    _stop_rootless_netns(runner.runroot)
    _unmount_under(tmp)
    shutil.rmtree(tmp, ignore_errors=True)
