"""The exact namespace / mount / pivot_root / identity sequence pod's runtime performs for a
config.json, recorded by the syscall layer's fake (no root, nothing mounted)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pod.runtime import process
from pod.runtime import syscalls as sc
from pod.runtime.init import CAP_NUMBERS
from pod.runtime.syscalls import Recorder

CAPS = ["CAP_CHOWN", "CAP_KILL", "CAP_SETUID", "CAP_SETGID"]
MASK = sum(1 << CAP_NUMBERS[c] for c in CAPS)
NODEV = sc.MS_NOSUID | sc.MS_NOEXEC | sc.MS_NODEV


def _spec(source: Path, namespaces: list[dict]) -> dict:
    return {
        "process": {
            "args": ["/bin/sh", "-c", "true"],
            "env": ["PATH=/bin", "HOME=/root"],
            "cwd": "/",
            "user": {"uid": 1000, "gid": 1000, "additionalGids": [10], "umask": 0o027},
            "capabilities": {
                k: CAPS for k in ("bounding", "effective", "permitted", "inheritable", "ambient")
            },  # fmt: skip
            "rlimits": [{"type": "RLIMIT_NOFILE", "soft": 512, "hard": 512}],
            "noNewPrivileges": True,
        },
        "root": {"path": "rootfs", "readonly": True},
        "hostname": "box",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {
                "destination": "/dev",
                "type": "tmpfs",
                "source": "tmpfs",
                "options": ["nosuid", "mode=755"],
            },
            {
                "destination": "/sys",
                "type": "sysfs",
                "source": "sysfs",
                "options": ["nosuid", "noexec", "nodev", "ro"],
            },
            {
                "destination": "/data",
                "type": "bind",
                "source": str(source),
                "options": ["rbind", "ro", "rprivate"],
            },
        ],  # fmt: skip
        "linux": {
            "namespaces": namespaces,
            "maskedPaths": ["/proc/kcore", "/proc/missing"],
            "readonlyPaths": ["/proc/sys"],
        },
    }


@pytest.fixture
def rootfs(tmp_path):
    root = tmp_path / "rootfs"
    (root / "proc" / "sys").mkdir(parents=True)
    (root / "proc" / "kcore").write_text("")
    (tmp_path / "source").mkdir()
    return root


def _run(rootfs: Path, spec: dict, recorder: Recorder) -> process.ExecPlan:
    request = process.CreateRequest("c1", spec, str(rootfs), rootfs.parent / "fifo")
    here = os.getcwd()
    try:
        return process.prepare_init(request, process.namespaces(spec), recorder, None)
    finally:
        os.chdir(here)


def _common_tail(last: int) -> list[tuple]:
    drops = [("prctl", sc.PR_CAPBSET_DROP, n, 0) for n in range(last + 1) if not MASK & (1 << n)]
    ambient = [("prctl", sc.PR_CAP_AMBIENT, sc.PR_CAP_AMBIENT_RAISE, CAP_NUMBERS[c])
               for c in sorted(CAPS, key=CAP_NUMBERS.get)]  # fmt: skip
    return [
        ("chdir", "<rootfs>"),
        ("pivot_root", ".", "."),
        ("mount", None, ".", None, sc.MS_SLAVE | sc.MS_REC, None),
        ("umount2", ".", sc.MNT_DETACH),
        ("chdir", "/"),
        ("mount", None, "/", None, sc.MS_BIND | sc.MS_REMOUNT | sc.MS_RDONLY, None),
        ("setrlimit", 7, 512, 512),
        ("chdir", "/"),  # as root first, like runc: a user may run in a 0700 WORKDIR
        *drops,
        ("prctl", sc.PR_SET_KEEPCAPS, 1, 0),
        ("setgroups", [10]),
        ("setresgid", 1000),
        ("setresuid", 1000),
        ("prctl", sc.PR_SET_KEEPCAPS, 0, 0),
        ("capset", MASK, MASK, MASK),
        *ambient,
        ("prctl", sc.PR_SET_NO_NEW_PRIVS, 1, 0),
        ("umask", 0o027),
    ]


def _masks() -> list[tuple]:
    return [
        ("mount", "/dev/null", "<rootfs>/proc/kcore", None, sc.MS_BIND, None),
        ("mount", "<rootfs>/proc/sys", "<rootfs>/proc/sys", None, sc.MS_BIND | sc.MS_REC, None),
        ("mount", None, "<rootfs>/proc/sys", None,
         sc.MS_BIND | sc.MS_REMOUNT | sc.MS_RDONLY, None),
    ]  # fmt: skip


def test_rootful_sequence(rootfs, monkeypatch):
    monkeypatch.setattr(process, "in_user_namespace", lambda: False)
    namespaces = [{"type": t} for t in ("pid", "ipc", "uts", "mount", "cgroup")]
    namespaces.append({"type": "network", "path": "/run/netns/n1"})
    spec = _spec(rootfs.parent / "source", namespaces)
    recorder = Recorder(root=str(rootfs))
    process.enter_namespaces(recorder, process.namespaces(spec))
    plan = _run(rootfs, spec, recorder)
    source = str(rootfs.parent / "source")
    nodes = [("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8), ("urandom", 1, 9)]
    devices = [
        ("mknod", f"<rootfs>/dev/{name}", 0o20666, os.makedev(major, minor))
        for name, major, minor in [*nodes, ("tty", 5, 0)]
    ]
    assert recorder.calls == [
        ("setns", "/run/netns/n1", sc.CLONE_NEWNET),
        ("prctl", sc.PR_SET_DUMPABLE, 0, 0),
        ("unshare", sc.CLONE_NEWPID | sc.CLONE_NEWIPC | sc.CLONE_NEWUTS | sc.CLONE_NEWNS),
        ("unshare", sc.CLONE_NEWCGROUP),
        ("setsid",),
        ("umask", 0),
        ("sethostname", "box"),
        ("mount", None, "/", None, sc.MS_REC | sc.MS_PRIVATE, None),
        ("mount", "<rootfs>", "<rootfs>", None, sc.MS_BIND | sc.MS_REC, None),
        ("mount", "proc", "<rootfs>/proc", "proc", 0, None),
        ("mount", "tmpfs", "<rootfs>/dev", "tmpfs", sc.MS_NOSUID, "mode=755"),
        ("mount", "sysfs", "<rootfs>/sys", "sysfs", NODEV | sc.MS_RDONLY, None),
        ("mount", source, "<rootfs>/data", None, sc.MS_BIND | sc.MS_REC, None),
        ("mount", None, "<rootfs>/data", None, sc.MS_BIND | sc.MS_REMOUNT | sc.MS_RDONLY, None),
        ("mount", None, "<rootfs>/data", None, sc.MS_PRIVATE | sc.MS_REC, None),
        *devices,
        *_masks(),
        *_common_tail(40),
    ]
    assert plan.path == "/bin/sh" and plan.env["HOME"] == "/root"
    assert os.readlink(rootfs / "dev" / "ptmx") == "pts/ptmx"
    assert os.readlink(rootfs / "dev" / "fd") == "/proc/self/fd"


def test_rootless_in_userns_sequence(rootfs, monkeypatch):
    """No user namespace in config (the engine made one): mknod and sysfs fall back to binds."""
    monkeypatch.setattr(process, "in_user_namespace", lambda: True)
    namespaces = [{"type": t} for t in ("pid", "ipc", "uts", "mount")]
    spec = _spec(rootfs.parent / "source", namespaces)
    recorder = Recorder(root=str(rootfs), deny={"mknod", "mount:sysfs"})
    process.enter_namespaces(recorder, process.namespaces(spec))
    _run(rootfs, spec, recorder)
    calls = recorder.calls
    assert calls[:3] == [
        ("prctl", sc.PR_SET_DUMPABLE, 0, 0),
        ("unshare", sc.CLONE_NEWPID | sc.CLONE_NEWIPC | sc.CLONE_NEWUTS | sc.CLONE_NEWNS),
        ("setsid",),
    ]
    sysfs = calls.index(("mount", "/sys", "<rootfs>/sys", None, sc.MS_BIND | sc.MS_REC, None))
    assert calls[sysfs + 1] == (
        "mount", None, "<rootfs>/sys", None, sc.MS_BIND | sc.MS_REMOUNT | NODEV | sc.MS_RDONLY,
        None,
    )  # fmt: skip
    for name in ("null", "zero", "full", "random", "urandom", "tty"):
        bind = ("mount", f"/dev/{name}", f"<rootfs>/dev/{name}", None, sc.MS_BIND, None)
        assert bind in calls
        assert (rootfs / "dev" / name).is_file()
    assert not any(call[0] == "mknod" for call in calls)
    assert calls[-len(_common_tail(40)) :] == _common_tail(40)


def test_user_namespace_from_config_is_created_first(rootfs):
    spec = _spec(rootfs.parent / "source", [{"type": "mount"}, {"type": "user"}])
    recorder = Recorder()
    mapped = []
    process.enter_namespaces(recorder, process.namespaces(spec), lambda: mapped.append(True))
    assert mapped == [True]
    assert recorder.calls == [
        ("unshare", sc.CLONE_NEWUSER),
        ("setresgid", 0),
        ("setresuid", 0),
        ("prctl", sc.PR_SET_DUMPABLE, 0, 0),
        ("unshare", sc.CLONE_NEWNS),
    ]


def test_symlinked_destination_resolves_inside_rootfs(rootfs, tmp_path):
    (rootfs / "escape").symlink_to("../../../..")
    spec = _spec(tmp_path / "source", [{"type": "mount"}])
    del spec["hostname"]
    spec["mounts"] = [{"destination": "/escape/etc/x", "type": "bind",
                       "source": str(tmp_path / "source"), "options": ["bind"]}]  # fmt: skip
    recorder = Recorder(root=str(rootfs))
    _run(rootfs, spec, recorder)
    assert ("mount", str(tmp_path / "source"), "<rootfs>/etc/x", None, sc.MS_BIND, None) in (
        recorder.calls
    )
    assert (rootfs / "etc" / "x").is_dir()


def test_without_a_mount_namespace_the_host_is_left_alone(rootfs, monkeypatch):
    """The spec's "inherit": no propagation change on the host, the rootfs bind made private
    (the container's mounts stay below it), chroot instead of pivot_root."""
    monkeypatch.setattr(process, "in_user_namespace", lambda: False)
    spec = _spec(rootfs.parent / "source", [{"type": t} for t in ("pid", "uts")])
    recorder = Recorder(root=str(rootfs))
    _run(rootfs, spec, recorder)
    calls = recorder.calls
    mounts = [call for call in calls if call[0] == "mount"]
    assert mounts[:3] == [
        ("mount", "<rootfs>", "<rootfs>", None, sc.MS_BIND | sc.MS_REC, None),
        ("mount", None, "<rootfs>", None, sc.MS_PRIVATE, None),
        ("mount", "proc", "<rootfs>/proc", "proc", 0, None),
    ]
    assert not any(call[0] in ("pivot_root", "umount2") for call in calls)
    at = calls.index(("chroot", "."))
    assert calls[at - 1 : at + 3] == [
        ("chdir", "<rootfs>"),
        ("chroot", "."),
        ("chdir", "/"),
        ("mount", None, "/", None, sc.MS_BIND | sc.MS_REMOUNT | sc.MS_RDONLY, None),
    ]


def test_without_a_mount_namespace_the_host_root_is_refused(tmp_path):
    from pod.errors import OCIRuntimeError

    spec = _spec(tmp_path, [{"type": "uts"}])
    request = process.CreateRequest("c1", spec, "/", tmp_path / "fifo")
    with pytest.raises(OCIRuntimeError, match="will not mount over the host"):
        process.prepare_init(request, process.namespaces(spec), Recorder(), None)


@pytest.mark.parametrize(
    ("name", "first", "last"),
    [
        ("shared", sc.MS_PRIVATE, sc.MS_SHARED),
        ("slave", sc.MS_SLAVE, sc.MS_SLAVE),
        ("rslave", sc.MS_SLAVE, sc.MS_SLAVE | sc.MS_REC),
        ("private", sc.MS_PRIVATE, sc.MS_PRIVATE),
        ("unbindable", sc.MS_PRIVATE, sc.MS_UNBINDABLE),
    ],
)
def test_rootfs_propagation(rootfs, monkeypatch, name, first, last):
    """Every mount private (slave for a slave root) before the rootfs is bound — an unbindable
    tree could not be bound at all — and the root's own propagation once it is "/"."""
    monkeypatch.setattr(process, "in_user_namespace", lambda: False)
    spec = _spec(rootfs.parent / "source", [{"type": "mount"}, {"type": "uts"}])
    spec["linux"]["rootfsPropagation"] = name
    spec["root"]["readonly"] = False
    recorder = Recorder(root=str(rootfs))
    _run(rootfs, spec, recorder)
    calls = recorder.calls
    assert ("mount", None, "/", None, sc.MS_REC | first, None) in calls
    detached = calls.index(("umount2", ".", sc.MNT_DETACH))
    assert calls[detached + 1 : detached + 3] == [
        ("chdir", "/"),
        ("mount", None, "/", None, last, None),
    ]


def test_unknown_rootfs_propagation_is_refused(rootfs):
    from pod.errors import OCIRuntimeError

    spec = _spec(rootfs.parent / "source", [{"type": "mount"}, {"type": "uts"}])
    spec["linux"]["rootfsPropagation"] = "sideways"
    with pytest.raises(OCIRuntimeError, match="'sideways' is not a propagation type"):
        _run(rootfs, spec, Recorder(root=str(rootfs)))
