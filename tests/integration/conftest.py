"""Integration fixtures: real registries, test images, isolated pod runners, a rootless user.

Session-scoped: `registry` (plain HTTP), `tls_registry` (TLS + htpasswd), `token_registry`
(token auth + token server), `test_images` (pushed to `registry`), `rootless_user`.
Module-scoped: `shared_pod` (root, one store per module with busybox, for tests that change
nothing in it).
Function-scoped: `pod` (root, isolated store), `rootless_pod` (the rootless user, fresh store),
`runtime` (each test once with pod's own OCI runtime and once with runc), `busybox` and
`rootless_busybox` (the busybox test image pulled into `pod` / `rootless_pod`: its reference),
`twins` (pod and podman side by side, as root and rootless: differential.py).
Session-scoped podman stores for those: `podman_ref`, `rootless_podman_ref` (podman_ref.py);
function-scoped ones for tests that change images: `podman`, `rootless_podman` (fresh stores),
`podman_busybox`, `rootless_podman_busybox` (the busybox test image pulled into them).
Helpers the tests import live in modules of their own: runners.py, polling.py, mounts.py,
terminal.py, registry_server.py, image_builder.py, differential.py, podman_ref.py.
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
from pathlib import Path

import pytest

# tests/integration has no __init__.py: make its helper modules importable however pytest
# imports this conftest (prepend or importlib mode).
sys.path.insert(0, str(Path(__file__).resolve().parent))

import image_builder  # noqa: E402
import registry_server  # noqa: E402
from differential import Engine, Twins  # noqa: E402
from mounts import unmount_under  # noqa: E402
from podman_ref import PodmanRunner, fresh_podman  # noqa: E402
from runners import (  # noqa: E402
    REPO_ROOT,
    SAFE_PATH,
    SYSTEM_PYTHON,
    RootlessPod,
    RootlessUser,
    isolated_pod,
    remove_leftovers,
)

ROOTLESS_USER = os.environ.get("POD_TEST_USER", "podtest")
ROOTLESS_BASE = Path("/var/tmp")
RUNTIMES = ["pod", "runc"]  # pod's own OCI runtime and an external one


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
# pod as root, the runtimes, the busybox image


@pytest.fixture
def pod(tmp_path, registry):
    """The pod CLI with a fresh store; registries.conf marks `registry` insecure."""
    with isolated_pod(tmp_path, insecure=[registry.host]) as runner:
        yield runner


@pytest.fixture(params=RUNTIMES)
def runtime(request) -> str:
    """`--runtime` for the test: it runs once with each."""
    return request.param


@pytest.fixture
def busybox(pod, test_images) -> str:
    """The busybox test image, pulled into `pod`'s store: its reference."""
    pod("pull", "-q", test_images.busybox.ref, check=True)
    return test_images.busybox.ref


@pytest.fixture(scope="module")
def shared_pod(tmp_path_factory, registry, test_images):
    """One store per test module, the busybox test image pulled into it once, for the tests
    that change nothing another test of the module looks at (commands refused, images read or
    built under names of their own): no pull and no store of their own a test."""
    with isolated_pod(tmp_path_factory.mktemp("shared-pod"), [registry.host]) as runner:
        runner("pull", "-q", test_images.busybox.ref, check=True)
        yield runner


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
    unmount_under(workdir)
    shutil.rmtree(workdir, ignore_errors=True)


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
    remove_leftovers(runner, tmp)
    _stop_rootless_netns(runner.runroot)
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
def rootless_busybox(rootless_pod, test_images) -> str:
    """The busybox test image, pulled into `rootless_pod`'s store: its reference."""
    rootless_pod("pull", "-q", test_images.busybox.ref, check=True)
    return test_images.busybox.ref


# --------------------------------------------------------------------------------------------
# podman, the reference of the differential tests


def _podman_with_busybox(runner: PodmanRunner, test_images) -> PodmanRunner:
    runner("pull", "-q", test_images.busybox.ref, check=True, timeout=300)
    return runner


@pytest.fixture(scope="session")
def podman_ref(registry, test_images, tmp_path_factory):
    """podman as root with a store of its own holding the busybox test image."""
    if shutil.which("podman") is None:
        pytest.skip("differential tests need podman")
    runner = PodmanRunner(tmp_path_factory.mktemp("podman-ref"), insecure=[registry.host])
    try:
        yield _podman_with_busybox(runner, test_images)
    finally:
        runner.close()


@pytest.fixture(scope="session")
def rootless_podman_ref(rootless_user, test_images):
    """podman as the rootless user, with a store of its own holding the busybox test image."""
    if shutil.which("podman") is None:
        pytest.skip("differential tests need podman")
    runner = PodmanRunner(
        rootless_user.make_tmpdir("podman-ref"), insecure=rootless_user.insecure, user=rootless_user
    )
    try:
        yield _podman_with_busybox(runner, test_images)
    finally:
        runner.close()  # its runroot is outside the user's session directory


@pytest.fixture
def podman(registry, tmp_path_factory):
    """podman as root with a fresh store of its own (short paths: podman refuses a run root of
    more than 50 characters), removed with what the test left."""
    with fresh_podman(tmp_path_factory.mktemp("podman"), [registry.host]) as runner:
        yield runner


@pytest.fixture
def rootless_podman(rootless_user):
    """podman as the rootless test user with a fresh store of its own."""
    runner = PodmanRunner(
        rootless_user.make_tmpdir("podman"), insecure=rootless_user.insecure, user=rootless_user
    )
    try:
        yield runner
    finally:
        runner.remove_all()
        shutil.rmtree(runner.directory, ignore_errors=True)


@pytest.fixture
def podman_busybox(podman, test_images) -> str:
    """The busybox test image, pulled into `podman`'s store: its reference."""
    _podman_with_busybox(podman, test_images)
    return test_images.busybox.ref


@pytest.fixture
def rootless_podman_busybox(rootless_podman, test_images) -> str:
    """The busybox test image, pulled into `rootless_podman`'s store: its reference."""
    _podman_with_busybox(rootless_podman, test_images)
    return test_images.busybox.ref


@pytest.fixture(params=["root", "rootless"])
def twins(request, tmp_path, test_images):
    """pod and podman side by side (differential.Twins), as root and as the rootless user;
    each with a host directory of its own, podman's containers removed after the test."""
    if request.param == "root":
        pod_runner, podman = request.getfixturevalue("pod"), request.getfixturevalue("podman_ref")
        request.getfixturevalue("busybox")
        hosts = [tmp_path / "pod-host", tmp_path / "podman-host"]
        for path in hosts:
            path.mkdir()
        owner = (0, 0)
    else:
        user = request.getfixturevalue("rootless_user")
        pod_runner = request.getfixturevalue("rootless_pod")
        podman = request.getfixturevalue("rootless_podman_ref")
        request.getfixturevalue("rootless_busybox")
        hosts = [user.make_tmpdir("pod-host"), user.make_tmpdir("podman-host")]
        owner = (user.uid, user.gid)
    pair = Twins(
        mode=request.param,
        pod=Engine("pod", pod_runner, hosts[0]),
        podman=Engine("podman", podman, hosts[1]),
        owner=owner,
        image=test_images.busybox.ref,
    )
    try:
        yield pair
    finally:
        podman.reset()
