"""pod.util.userns: subordinate id files, the mapping, and the unpack worker in a user namespace,
including rootless runs as a real unprivileged user with and without /etc/subuid ranges."""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import os
import pwd
import shutil
import stat
import subprocess
import sys
import tarfile
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import pod
import pod.store
from pod.errors import PodError, StoreError, UnsafeContentError
from pod.util import userns

WORKER = "pod.store.unpack"


# --- subordinate id files -------------------------------------------------------------------------


def test_read_subids_by_name_and_by_uid(tmp_path: Path) -> None:
    path = tmp_path / "subuid"
    path.write_text(
        "# comment\n"
        "alice:100000:65536\n"
        "bob:165536:65536\n"
        "1001:300000:1000\n"
        "alice:bad:1\n"
        "alice:400000:0\n"
        "alice:500000\n"
        "alice:600000:10\n"
    )
    assert userns.read_subids(path, "alice", 1001) == [
        userns.SubIdRange(100000, 65536),
        userns.SubIdRange(300000, 1000),
        userns.SubIdRange(600000, 10),
    ]
    assert userns.read_subids(path, "carol", 1002) == []
    assert userns.read_subids(tmp_path / "missing", "alice", 1001) == []


def test_mapping_puts_own_id_at_zero_and_ranges_after() -> None:
    mapping = userns.IdMapping(
        "uid", 1000, (userns.SubIdRange(100000, 65536), userns.SubIdRange(300000, 10)), Path("x")
    )
    assert mapping.lines() == [
        userns.IdMapLine(0, 1000, 1),
        userns.IdMapLine(1, 100000, 65536),
        userns.IdMapLine(65537, 300000, 10),
    ]


def test_current_mapping_reads_the_given_files(tmp_path: Path) -> None:
    name = pwd.getpwuid(os.geteuid()).pw_name
    (tmp_path / "subuid").write_text(f"{name}:100000:65536\n")
    (tmp_path / "subgid").write_text("")
    mapping = userns.current_mapping(tmp_path / "subuid", tmp_path / "subgid")
    assert mapping.user == name
    assert mapping.uids.own == os.geteuid() and mapping.gids.own == os.getegid()
    assert mapping.uids.ranges == (userns.SubIdRange(100000, 65536),)
    assert mapping.gids.ranges == ()


# --- the worker -----------------------------------------------------------------------------------


def test_worker_imports_stay_small() -> None:
    code = (
        "import sys, pod.store.unpack; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'typer', 'rich', 'oras', 'pyroute2', 'requests', 'click', 'zstandard'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def fake_mapping(ranges: tuple[userns.SubIdRange, ...]) -> userns.UserMapping:
    return userns.UserMapping(
        user="someone",
        uids=userns.IdMapping("uid", os.geteuid(), ranges, Path("/etc/subuid")),
        gids=userns.IdMapping("gid", os.getegid(), ranges, Path("/etc/subgid")),
    )


def test_worker_without_ranges_maps_a_single_id() -> None:
    answer = userns.run_in_userns(WORKER, {"ops": []}, fake_mapping(()))
    assert answer.value == []
    assert answer.warning == (
        "no subuid ranges found for user someone in /etc/subuid: "
        "image file owners collapse to you; add a range to keep them"
    )


def test_missing_newuidmap_falls_back_to_a_single_id(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    answer = userns.run_in_userns(
        WORKER, {"ops": []}, fake_mapping((userns.SubIdRange(100000, 65536),))
    )
    assert answer.warning.startswith("newuidmap not found (install the uidmap package)")


@pytest.mark.skipif(shutil.which("newuidmap") is None, reason="needs newuidmap (uidmap package)")
def test_refused_newuidmap_falls_back_to_a_single_id() -> None:
    """A range /etc/subuid does not grant: newuidmap refuses, the worker still runs."""
    answer = userns.run_in_userns(
        WORKER, {"ops": []}, fake_mapping((userns.SubIdRange(4_000_000_000, 10),))
    )
    assert answer.warning.startswith("newuidmap failed (")
    assert "image file owners collapse to you" in answer.warning


def test_worker_errors_come_back_as_pod_errors(tmp_path: Path) -> None:
    with pytest.raises(PodError, match="unknown operation 'bogus'"):
        userns.run_in_userns(WORKER, {"ops": [{"op": "bogus"}]}, fake_mapping(()))
    with pytest.raises(StoreError, match="worker failed: KeyError"):
        userns.run_in_userns(WORKER, {"no-ops": []}, fake_mapping(()))


def test_worker_keeps_the_error_class(tmp_path: Path) -> None:
    blob = tmp_path / "blob"
    info = tarfile.TarInfo("../escape")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        tar.addfile(info, io.BytesIO())
    blob.write_bytes(buf.getvalue())
    dest = tmp_path / "dest"
    dest.mkdir()
    op = {"op": "unpack", "blob": str(blob), "dest": str(dest), "diff_id": "x", "max_size": 1 << 20}
    with pytest.raises(UnsafeContentError, match="outside its root"):
        userns.run_in_userns(WORKER, {"ops": [op]}, fake_mapping(()))
    assert not dest.exists()
    assert not (tmp_path / "escape").exists()


# --- rootless, as a real unprivileged user --------------------------------------------------------


@dataclass(frozen=True)
class TempUser:
    name: str
    uid: int
    gid: int
    subuid: userns.SubIdRange | None
    subgid: userns.SubIdRange | None


def _subid_args(flag: str, ranges: list[userns.SubIdRange]) -> list[str]:
    return [arg for r in ranges for arg in (flag, f"{r.start}-{r.start + r.count - 1}")]


@contextlib.contextmanager
def temp_user(with_ranges: bool) -> Iterator[TempUser]:
    """A throwaway user; shadow's own tools edit /etc/subuid and /etc/subgid (with their locks)."""
    if os.geteuid() != 0 or shutil.which("useradd") is None:
        pytest.skip("creating a temporary user needs root and useradd")
    name = f"podt{uuid.uuid4().hex[:10]}"
    subprocess.run(["useradd", "-M", "-U", "-s", "/usr/sbin/nologin", name], check=True)
    try:
        entry = pwd.getpwnam(name)
        subuid = userns.read_subids(userns.SUBUID_FILE, name, entry.pw_uid)
        subgid = userns.read_subids(userns.SUBGID_FILE, name, entry.pw_uid)
        if not with_ranges and (subuid or subgid):
            drop = _subid_args("--del-subuids", subuid) + _subid_args("--del-subgids", subgid)
            subprocess.run(["usermod", *drop, name], check=True)
        if with_ranges and not (subuid and subgid):
            pytest.skip("useradd allocated no subordinate ids (see SUB_UID_COUNT in login.defs)")
        yield TempUser(
            name,
            entry.pw_uid,
            entry.pw_gid,
            subuid[0] if with_ranges else None,
            subgid[0] if with_ranges else None,
        )
    finally:
        subprocess.run(["userdel", name], check=True)


@pytest.fixture(scope="module")
def package_copy() -> Iterator[Path]:
    """pod as the wheel lays it out, readable by every user (the checkout may not be)."""
    base = Path(tempfile.mkdtemp(prefix="pod-pkg-"))
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(Path(pod.__file__).parent, base / "pod", ignore=ignore)
    shutil.rmtree(base / "pod" / "store", ignore_errors=True)
    shutil.copytree(Path(pod.store.__file__).parent, base / "pod" / "store", ignore=ignore)
    for path in [base, *base.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    yield base
    shutil.rmtree(base)


@pytest.fixture
def workdir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="pod-rootless-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path)


SCRIPT = """
import json, sys
from pathlib import Path
import pod
from pod.errors import PodError
from pod.store import layers
from pod.store.layout import Layout

root, action, blob, diff = sys.argv[1:5]
layout = Layout(Path(root), Path(root) / "run")
try:
    if action == "ensure":
        info = layers.ensure_layer(layout, diff, None, Path(blob), diff, rootless=True)
        out = {**info.to_json(), "warning": info.warning, "pod": pod.__file__}
    elif action == "remove":
        out = {"removed": layers.remove_layer(layout, diff, rootless=True)}
    else:
        out = {"cleaned": layers.cleanup_partial_layers(layout)}
except PodError as err:
    out = {"error": type(err).__name__, "message": str(err)}
print(json.dumps(out))
"""


def run_as(user: TempUser, package: Path, workdir: Path, *args: str) -> dict:
    script = workdir / "run.py"
    script.write_text(SCRIPT)
    script.chmod(0o644)
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "PYTHONPATH": str(package), "HOME": "/"}
    done = subprocess.run(
        ["runuser", "-u", user.name, "--", sys.executable, str(script), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd="/",
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def layer_blob(workdir: Path) -> tuple[Path, str]:
    entries = []
    for name, uid, kind, mode in [
        ("root-file", 0, tarfile.REGTYPE, 0o4755),
        ("user-dir", 1000, tarfile.DIRTYPE, 0o750),
        ("user-dir/user-file", 1000, tarfile.REGTYPE, 0o600),
        ("nobody-file", 65534, tarfile.REGTYPE, 0o644),
        (".wh.deleted", 0, tarfile.REGTYPE, 0o644),
        ("opaque", 0, tarfile.DIRTYPE, 0o755),
        ("opaque/.wh..wh..opq", 0, tarfile.REGTYPE, 0o644),
        ("dev-null", 0, tarfile.CHRTYPE, 0o666),
    ]:
        info = tarfile.TarInfo(name)
        info.type, info.uid, info.gid, info.mode = kind, uid, uid, mode
        info.devmajor, info.devminor = 1, 3
        entries.append(info)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info in entries:
            tar.addfile(info, io.BytesIO())
    raw = buf.getvalue()
    blob = workdir / "blob.tar.gz"
    blob.write_bytes(gzip.compress(raw))
    blob.chmod(0o644)
    return blob, "sha256:" + hashlib.sha256(raw).hexdigest()


def owner(path: Path) -> tuple[int, int]:
    st = os.lstat(path)
    return st.st_uid, st.st_gid


def make_store(user: TempUser, workdir: Path) -> Path:
    root = workdir / "store"
    root.mkdir()
    os.chown(root, user.uid, user.gid)
    return root


@pytest.mark.rootless
def test_rootless_layer_keeps_owners_in_the_subid_range(package_copy: Path, workdir: Path) -> None:
    with temp_user(with_ranges=True) as user:
        assert user.subuid is not None and user.subgid is not None
        root = make_store(user, workdir)
        blob, diff = layer_blob(workdir)
        info = run_as(user, package_copy, workdir, str(root), "ensure", str(blob), diff)
        assert info.get("error") is None, info
        assert info["pod"].startswith(str(package_copy))
        assert info["rootless"] and not info["owners_collapsed"] and info["warning"] == ""
        assert info["opaque_xattr"] == "user.overlay.opaque"
        layer = root / "layers" / diff.removeprefix("sha256:") / "diff"
        assert owner(layer / "root-file") == (user.uid, user.gid)
        assert stat.S_IMODE(os.lstat(layer / "root-file").st_mode) == 0o4755
        uid1000 = (user.subuid.start + 999, user.subgid.start + 999)
        assert owner(layer / "user-dir") == uid1000
        assert owner(layer / "user-dir/user-file") == uid1000
        nobody = (user.subuid.start + 65533, user.subgid.start + 65533)
        assert owner(layer / "nobody-file") == nobody
        deleted = os.lstat(layer / "deleted")
        assert stat.S_ISCHR(deleted.st_mode) and deleted.st_rdev == 0
        assert os.getxattr(layer / "opaque", "user.overlay.opaque") == b"y"
        assert not os.path.lexists(layer / "dev-null")

        # user-dir/user-file belongs to a subordinate id: only the namespace can remove it.
        removed = run_as(user, package_copy, workdir, str(root), "remove", str(blob), diff)
        assert removed == {"removed": True}
        assert list((root / "layers").iterdir()) == []

        # A worker killed mid-unpack leaves such files behind: cleanup removes them too.
        run_as(user, package_copy, workdir, str(root), "ensure", str(blob), diff)
        leftover = root / "tmp" / "layers" / f"{layer.parent.name}.partial-4194305"
        layer.parent.rename(leftover)
        cleaned = run_as(user, package_copy, workdir, str(root), "cleanup", str(blob), diff)
        assert cleaned == {"cleaned": [leftover.name]}
        assert list((root / "layers").iterdir()) == []
        assert list((root / "tmp" / "layers").iterdir()) == []


@pytest.mark.rootless
def test_rootless_without_ranges_collapses_owners(package_copy: Path, workdir: Path) -> None:
    with temp_user(with_ranges=False) as user:
        root = make_store(user, workdir)
        blob, diff = layer_blob(workdir)
        info = run_as(user, package_copy, workdir, str(root), "ensure", str(blob), diff)
        assert info.get("error") is None, info
        assert info["owners_collapsed"]
        assert info["warning"] == (
            f"no subuid ranges found for user {user.name} in /etc/subuid: "
            "image file owners collapse to you; add a range to keep them"
        )
        layer = root / "layers" / diff.removeprefix("sha256:") / "diff"
        for name in ("root-file", "user-dir", "user-dir/user-file", "nobody-file"):
            assert owner(layer / name) == (user.uid, user.gid), name


@pytest.mark.rootless
def test_rootless_hostile_layer_fails_cleanly(package_copy: Path, workdir: Path) -> None:
    with temp_user(with_ranges=True) as user:
        root = make_store(user, workdir)
        raw = io.BytesIO()
        with tarfile.open(fileobj=raw, mode="w") as tar:
            for name, kind, target in [
                ("a", tarfile.SYMTYPE, "/"),
                ("h", tarfile.LNKTYPE, "/etc/passwd"),
            ]:
                info = tarfile.TarInfo(name)
                info.type, info.linkname = kind, target
                tar.addfile(info)
        blob = workdir / "hostile.tar"
        blob.write_bytes(raw.getvalue())
        blob.chmod(0o644)
        diff = "sha256:" + "f" * 64
        answer = run_as(user, package_copy, workdir, str(root), "ensure", str(blob), diff)
        assert answer["error"] == "UnsafeContentError"
        assert "not in this layer" in answer["message"]
        assert list((root / "layers").iterdir()) == []
        assert list((root / "tmp" / "layers").iterdir()) == []
