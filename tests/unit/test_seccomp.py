"""Seccomp: profile resolution as podman does it, and filters compiled and loaded by libseccomp."""

from __future__ import annotations

import ctypes
import errno
import json
import os
from pathlib import Path

import pytest

from pod.container import seccomp_profile as sp
from pod.errors import OCIRuntimeError
from pod.runtime import seccomp

GOLDEN = Path(__file__).parent / "golden" / "podman_seccomp_default.json"
AMD64 = sp.Host("amd64", (6, 1))
POD_CAPS = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
            "CAP_NET_BIND_SERVICE", "CAP_SETFCAP", "CAP_SETGID", "CAP_SETPCAP", "CAP_SETUID",
            "CAP_SYS_CHROOT"]  # fmt: skip


def _effect(config: dict) -> list[tuple]:
    """A profile's meaning: each (syscall, action, errno, args) in order."""
    return [
        (name, rule["action"], rule.get("errnoRet"), json.dumps(rule.get("args") or []))
        for rule in config["syscalls"]
        for name in rule["names"]
    ]


def test_builtin_profile_resolves_like_podman_for_its_default_capabilities():
    golden = json.loads(GOLDEN.read_text())
    resolved = sp.resolve(sp.read_profile(sp.BUILTIN_PROFILE), golden["bounding"], AMD64)
    expected = golden["seccomp"]
    assert {k: v for k, v in resolved.items() if k != "syscalls"} == {
        k: v for k, v in expected.items() if k != "syscalls"
    }
    assert sorted(_effect(resolved)) == sorted(_effect(expected))


@pytest.mark.skipif(not sp.SYSTEM_PROFILES[1].is_file(), reason="containers-common not installed")
@pytest.mark.parametrize("extra", [[], ["CAP_SYS_ADMIN"], ["CAP_AUDIT_WRITE", "CAP_SYS_PTRACE"]])
def test_builtin_profile_has_the_effect_of_containers_common(extra):
    caps = POD_CAPS + extra
    ours = sp.resolve(sp.read_profile(sp.BUILTIN_PROFILE), caps, AMD64)
    theirs = sp.resolve(sp.read_profile(sp.SYSTEM_PROFILES[1]), caps, AMD64)
    assert ours["architectures"] == theirs["architectures"]
    assert ours["defaultErrnoRet"] == theirs["defaultErrnoRet"] == 38
    assert sorted(_effect(ours)) == sorted(_effect(theirs))


def test_capability_arch_and_kernel_conditions():
    profile = {
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrno": "EPERM",
        "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86"]},
                    {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": []}],
        "syscalls": [
            {"names": ["a"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
            {"names": ["b"], "action": "SCMP_ACT_ALLOW", "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
            {"names": ["c"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["arm64"]}},
            {"names": ["d"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "6.2"}},
            {"names": ["e"], "action": "SCMP_ACT_ERRNO", "errno": "ENOENT",
             "args": [{"index": 1, "value": 2, "valueTwo": 0, "op": "SCMP_CMP_EQ"}]},
        ],
    }  # fmt: skip
    plain = sp.resolve(profile, [], AMD64)
    assert plain["defaultErrnoRet"] == errno.EPERM
    assert plain["architectures"] == ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"]
    assert [r["names"] for r in plain["syscalls"]] == [["b"], ["e"]]
    assert plain["syscalls"][1] == {
        "names": ["e"],
        "action": "SCMP_ACT_ERRNO",
        "errnoRet": errno.ENOENT,
        "args": [{"index": 1, "value": 2, "op": "SCMP_CMP_EQ"}],
    }
    admin = sp.resolve(profile, ["CAP_SYS_ADMIN"], sp.Host("arm64", (6, 2)))
    assert [r["names"] for r in admin["syscalls"]] == [["a"], ["c"], ["d"], ["e"]]
    assert admin["architectures"] == ["SCMP_ARCH_AARCH64"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "opening seccomp profile failed: open {path}: no such file or directory"),
        ("{bad", "loading seccomp profile ({path}) failed: decoding seccomp profile failed"),
        ("[]", "no defaultAction"),
        ('{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["x"], "archMap": [{}]}',
         "either 'architectures' or 'archMap'"),
    ],
)  # fmt: skip
def test_bad_profiles_are_one_clear_error(tmp_path, content, message):
    path = tmp_path / "profile.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(sp.SeccompProfileError) as caught:
        sp.read_profile(path)
    assert message.format(path=path) in str(caught.value)
    assert caught.value.exit_code == 125


def test_privileged_and_unconfined_get_no_filter():
    assert sp.seccomp_for(sp.SeccompChoice("unconfined"), False, POD_CAPS) is None
    assert sp.seccomp_for(sp.SeccompChoice(""), True, POD_CAPS) is None
    assert sp.seccomp_for(sp.SeccompChoice(""), False, POD_CAPS)["defaultAction"]


def test_privileged_keeps_a_profile_it_was_given(tmp_path, monkeypatch):
    """podman 4.3.1: --privileged drops only the default profile; one named by
    --security-opt seccomp=FILE or containers.conf's seccomp_profile still applies."""
    profile = tmp_path / "profile.json"
    profile.write_text('{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": []}')
    given = sp.seccomp_for(sp.SeccompChoice(str(profile)), True, POD_CAPS)
    assert given is not None and given["defaultAction"] == "SCMP_ACT_ALLOW"
    conf = tmp_path / "containers.conf"
    conf.write_text(f'[containers]\nseccomp_profile = "{profile}"\n')
    monkeypatch.setenv("CONTAINERS_CONF", str(conf))
    assert sp.SeccompChoice("").named() and sp.SeccompChoice("").applies(privileged=True)
    assert not sp.SeccompChoice("unconfined").applies(privileged=True)


# -- the runtime's libseccomp binding ----------------------------------------------------------


def _in_child(config: dict, probe) -> int:
    """Load `config` (with no_new_privs) in a forked child and return what `probe` returns."""
    compiled = seccomp.compile_filter(config)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 255
        try:
            ctypes.CDLL(None).prctl(38, 1, 0, 0, 0)  # PR_SET_NO_NEW_PRIVS
            compiled.load()
            os.write(write_end, str(probe()).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    _, status = os.waitpid(pid, 0)
    result = os.read(read_end, 100).decode()
    os.close(read_end)
    compiled.release()
    assert os.waitstatus_to_exitcode(status) == 0
    return int(result)


def _errno_of(call) -> int:
    try:
        call()
    except OSError as err:
        return err.errno
    return 0


ALLOW_ALL = {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"]}


def test_errno_rule_and_default(tmp_path):
    config = {**ALLOW_ALL, "syscalls": [
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno.EROFS},
        {"names": ["no_such_syscall"], "action": "SCMP_ACT_ERRNO"},
    ]}  # fmt: skip
    assert _in_child(config, lambda: _errno_of(lambda: os.mkdir(tmp_path / "x"))) == errno.EROFS
    config = {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": errno.ENOSYS,
              "syscalls": [{"names": ["getpid", "write", "exit_group", "exit", "close",
                                      "rt_sigprocmask", "munmap", "brk", "mmap"],
                            "action": "SCMP_ACT_ALLOW"}]}  # fmt: skip
    libc = ctypes.CDLL(None, use_errno=True)

    def getppid() -> int:
        return ctypes.get_errno() if libc.syscall(110) == -1 else 0

    assert _in_child(config, getppid) == errno.ENOSYS


@pytest.mark.parametrize(
    ("op", "value", "value_two", "blocked_mode"),
    [
        ("SCMP_CMP_EQ", 0o700, 0, 0o700),
        ("SCMP_CMP_NE", 0o700, 0, 0o755),
        ("SCMP_CMP_LT", 0o700, 0, 0o600),
        ("SCMP_CMP_LE", 0o700, 0, 0o700),
        ("SCMP_CMP_GE", 0o700, 0, 0o755),
        ("SCMP_CMP_GT", 0o700, 0, 0o755),
        ("SCMP_CMP_MASKED_EQ", 0o007, 0o005, 0o755),
    ],
)
def test_every_comparison_operator(tmp_path, op, value, value_two, blocked_mode):
    arg = {"index": 1, "value": value, "valueTwo": value_two, "op": op}
    config = {**ALLOW_ALL, "syscalls": [
        {"names": ["chmod"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno.EDOM, "args": [arg]},
    ]}  # fmt: skip
    target = tmp_path / "f"
    target.write_text("")
    libc = ctypes.CDLL(None, use_errno=True)

    def chmod(mode: int) -> int:  # the chmod syscall itself (os.chmod uses fchmodat)
        return 0 if libc.syscall(90, str(target).encode(), mode) == 0 else ctypes.get_errno()

    assert _in_child(config, lambda: chmod(blocked_mode)) == errno.EDOM
    allowed = 0o711 if blocked_mode != 0o711 else 0o700
    assert _in_child(config, lambda: chmod(allowed)) in (0, errno.EDOM)


def test_two_comparisons_of_one_argument_become_two_rules():
    compared = seccomp.comparisons([{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"},
                                    {"index": 0, "value": 2, "op": "SCMP_CMP_EQ"},
                                    ])  # fmt: skip
    assert len(seccomp.rule_groups(compared)) == 2
    compiled = seccomp.compile_filter({**ALLOW_ALL, "syscalls": [
        {"names": ["personality"], "action": "SCMP_ACT_ERRNO",
         "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"},
                  {"index": 0, "value": 2, "op": "SCMP_CMP_EQ"}]}]})  # fmt: skip
    assert compiled.export_bpf()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"defaultAction": "SCMP_ACT_BOGUS"}, "unknown seccomp action"),
        ({"architectures": ["SCMP_ARCH_NOPE"]}, "unknown seccomp architecture"),
        ({"flags": ["SECCOMP_FILTER_FLAG_NOPE"]}, "not supported"),
        ({"syscalls": [{"names": ["read"], "action": "SCMP_ACT_NOTIFY"}]}, "listener"),
        ({"syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO",
                        "args": [{"index": 7, "value": 0, "op": "SCMP_CMP_EQ"}]}]}, "index 7"),
        ({"syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO",
                        "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_XX"}]}]}, "operator"),
    ],
)  # fmt: skip
def test_bad_filters_fail_to_compile(change, message):
    with pytest.raises(OCIRuntimeError, match=message):
        seccomp.compile_filter({**ALLOW_ALL, **change})


def test_flags_and_multiple_arches_compile():
    config = {
        **ALLOW_ALL,
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "flags": [
            "SECCOMP_FILTER_FLAG_TSYNC",
            "SECCOMP_FILTER_FLAG_LOG",
            "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
        ],
        "syscalls": [{"names": ["socketcall", "not_a_syscall"], "action": "SCMP_ACT_LOG"}],
    }
    compiled = seccomp.compile_filter(config)  # fmt: skip
    assert len(compiled.export_bpf()) % 8 == 0
    compiled.release()
    assert seccomp.compile_filter(None) is None


def test_default_profile_follows_containers_conf(tmp_path, monkeypatch):
    """containers.conf's [containers] seccomp_profile wins, as in podman; else the system's."""
    conf = tmp_path / "containers.conf"
    conf.write_text('[containers]\nseccomp_profile = "/srv/profile.json"\n')
    monkeypatch.setenv("CONTAINERS_CONF", str(conf))
    assert sp.default_profile_path() == Path("/srv/profile.json")
    conf.write_text("[containers]\n")
    expected = next((p for p in sp.SYSTEM_PROFILES if p.is_file()), sp.BUILTIN_PROFILE)
    assert sp.default_profile_path() == expected
