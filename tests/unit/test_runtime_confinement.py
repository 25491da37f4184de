"""Device rules, resource settings, OCI hooks and the run flags that ask for them."""

from __future__ import annotations

import json
import os
import re
import struct

import pytest

from pod.container import flags
from pod.errors import UsageError
from pod.runtime import devices, hooks, resources
from pod.runtime.state import OCIRuntimeError

DENY_ALL = {"allow": False, "access": "rwm"}


def test_v1_device_writes_reset_then_allow():
    writes = devices.v1_writes(devices.rules([DENY_ALL, {"allow": True, "type": "c",
                                                         "major": 10, "minor": 229,
                                                         "access": "rw"}]))  # fmt: skip
    assert writes[0] == ("devices.deny", "a")
    assert writes[1] == ("devices.allow", "c 10:229 rw")
    assert ("devices.allow", "c *:* m") in writes and ("devices.allow", "c 136:* rwm") in writes
    assert devices.v1_writes(devices.rules([{"allow": True, "access": "rwm"}], False)) == [
        ("devices.allow", "a")
    ]


def _decode(insns: list[devices.Insn]) -> list[tuple]:
    raw = b"".join(i.encode() for i in insns)
    return [struct.unpack_from("<BBhi", raw, n) for n in range(0, len(raw), 8)]


def _run(insns: list[devices.Insn], kind: int, access: int, major: int, minor: int) -> int:
    """A tiny interpreter for the instructions the generator emits (the kernel's semantics)."""
    regs = [0] * 11
    ctx = struct.pack("<III", (access << 16) | kind, major, minor)
    pc = 0
    decoded = _decode(insns)
    while True:
        code, regbyte, off, imm = decoded[pc]
        dst, src = regbyte & 0xF, regbyte >> 4
        pc += 1
        if code == 0x61:
            regs[dst] = struct.unpack_from("<I", ctx, off)[0]
        elif code == 0x57:
            regs[dst] &= imm
        elif code == 0x77:
            regs[dst] >>= imm
        elif code == 0xBF:
            regs[dst] = regs[src]
        elif code == 0xB7:
            regs[dst] = imm
        elif code == 0x55:
            pc += off if regs[dst] != imm else 0
        elif code == 0x15:
            pc += off if regs[dst] == imm else 0
        elif code == 0x95:
            return regs[0]
        else:
            raise AssertionError(f"unexpected opcode {code:#x}")


CHAR, BLOCK, MKNOD, READ, WRITE = 2, 1, 1, 2, 4


def test_bpf_program_decides_as_the_rules_say():
    rules = devices.rules([DENY_ALL, {"allow": True, "type": "c", "major": 10, "minor": 229,
                                      "access": "r"},
                           {"allow": False, "type": "c", "major": 1, "minor": 9,
                            "access": "w"}])  # fmt: skip
    program = devices.program(rules)
    assert _run(program, CHAR, READ | WRITE, 1, 3) == 1  # /dev/null: default allow-list
    assert _run(program, CHAR, READ, 10, 229) == 1
    assert _run(program, CHAR, WRITE, 10, 229) == 0  # only r was allowed
    assert _run(program, BLOCK, READ, 8, 0) == 0  # nothing allows block reads
    assert _run(program, BLOCK, MKNOD, 8, 0) == 1  # b *:* m
    assert _run(program, CHAR, READ, 136, 4) == 1  # any pts
    # a later deny wins over the default allow for /dev/urandom writes only: the defaults come
    # after the config's rules, so urandom stays allowed (runc's order)
    assert _run(program, CHAR, WRITE, 1, 9) == 1
    later_deny = devices.rules([{"allow": True, "access": "rwm"},
                                {"allow": False, "type": "c", "major": 1, "minor": 11,
                                 "access": "rw"}], defaults=False)  # fmt: skip
    program = devices.program(later_deny)
    assert _run(program, CHAR, READ, 1, 11) == 0
    assert _run(program, CHAR, MKNOD, 1, 11) == 1
    assert _run(program, BLOCK, READ, 1, 11) == 1


@pytest.mark.skipif(os.geteuid() != 0, reason="loading BPF needs root")
def test_bpf_program_passes_the_kernel_verifier():
    fd = devices.load_program(devices.program(devices.rules([DENY_ALL])))
    os.close(fd)


def test_v1_settings_for_every_field():
    res = {
        "memory": {"limit": 100, "reservation": 50, "swap": 200, "kernel": 10, "kernelTCP": 5,
                   "swappiness": 0, "disableOOMKiller": True},
        "cpu": {"shares": 512, "quota": 5000, "period": 10000, "realtimeRuntime": 10,
                "realtimePeriod": 100, "cpus": "0", "mems": "0"},
        "pids": {"limit": 5},
        "blockIO": {"weight": 300, "leafWeight": 200,
                    "weightDevice": [{"major": 8, "minor": 0, "weight": 400, "leafWeight": 100}],
                    "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1000}],
                    "throttleWriteIOPSDevice": [{"major": 8, "minor": 0, "rate": 10}]},
        "hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}],
        "network": {"classID": 7, "priorities": [{"name": "eth0", "priority": 3}]},
    }  # fmt: skip
    written = {(s.name, s.value) for s in resources.settings_v1(res)}
    for expected in [("memory.memsw.limit_in_bytes", "200"), ("memory.swappiness", "0"),
                     ("memory.kmem.tcp.limit_in_bytes", "5"), ("memory.oom_control", "1"),
                     ("cpu.rt_runtime_us", "10"), ("pids.max", "5"),
                     ("blkio.leaf_weight_device", "8:0 100"),
                     ("blkio.throttle.read_bps_device", "8:0 1000"),
                     ("blkio.throttle.write_iops_device", "8:0 10"),
                     ("hugetlb.2MB.limit_in_bytes", "4194304"), ("net_cls.classid", "7"),
                     ("net_prio.ifpriomap", "eth0 3")]:  # fmt: skip
        assert expected in written
    with pytest.raises(OCIRuntimeError, match="unified needs cgroup v2"):
        resources.settings_v1({"unified": {"memory.high": "1"}})


def test_v2_settings_and_refusals():
    res = {"memory": {"limit": 100, "swap": 300}, "cpu": {"shares": 1024, "quota": 5000},
           "blockIO": {"weight": 300, "throttleReadBpsDevice": [{"major": 8, "minor": 0,
                                                                 "rate": 1000}]},
           "unified": {"memory.high": "90"}}  # fmt: skip
    written = [(s.name, s.value) for s in resources.settings_v2(res)]
    assert ("memory.swap.max", "200") in written
    assert ("cpu.max", "5000 100000") in written
    assert ("io.max", "8:0 rbps=1000") in written and ("memory.high", "90") in written
    for bad, field in [({"memory": {"kernel": 1}}, "memory.kernel"),
                       ({"cpu": {"realtimeRuntime": 1}}, "cpu.realtimeRuntime"),
                       ({"network": {"classID": 1}}, "network"),
                       ({"unified": {"../x": "1"}}, "unified")]:  # fmt: skip
        with pytest.raises(OCIRuntimeError, match=f"linux.resources.{field}"):
            resources.settings_v2(bad)


def test_missing_controller_or_file_is_refused(tmp_path):
    with pytest.raises(OCIRuntimeError, match="needs the hugetlb cgroup controller"):
        resources.apply({"memory": str(tmp_path)}, resources.settings_v1(
            {"hugepageLimits": [{"pageSize": "2MB", "limit": 1}]}))  # fmt: skip
    with pytest.raises(OCIRuntimeError, match="memory.kernel is not supported by this kernel"):
        resources.apply({"memory": str(tmp_path / "none")},
                        resources.settings_v1({"memory": {"kernel": 1}}))  # fmt: skip


def test_a_limit_the_kernel_drops_is_refused(tmp_path):
    """Recent kernels accept memory.kmem.limit_in_bytes and keep no limit: read back, refused."""
    kmem = tmp_path / "memory.kmem.limit_in_bytes"
    kmem.write_text("")
    resources.apply({"memory": str(tmp_path)}, resources.settings_v1({"memory": {"kernel": 4096}}))
    assert kmem.read_text() == "4096"  # a file that keeps what it is given passes
    kmem.write_text("9223372036854771712")
    with pytest.raises(OCIRuntimeError, match="memory.kernel is not supported by this kernel"):
        resources._check_kept(str(kmem), "4096", "memory.kernel")
    resources._check_kept(str(kmem), "-1", "memory.kernel")  # no limit asked: nothing to check
    setting = resources.settings_v1({"memory": {"kernel": 1, "limit": 2}})
    assert [s.read_back for s in setting] == [False, True]


# -- hooks ------------------------------------------------------------------------------------


def _hook(tmp_path, body: str, **extra) -> dict:
    script = tmp_path / "hook.sh"
    script.write_text("#!/bin/sh\n" + body + "\n")
    script.chmod(0o755)
    return {"path": str(script), **extra}


def test_hook_gets_state_args_and_env(tmp_path):
    out = tmp_path / "out"
    hook = _hook(tmp_path, f'cat > {out}; echo >> {out}; echo "$0 $1 $FOO" >> {out}',
                 args=["first", "second"], env=["FOO=bar"])  # fmt: skip
    hooks.run_fatal({"hooks": {"prestart": [hook]}}, {"id": "c1", "pid": 5}, "created",
                    "prestart")  # fmt: skip
    state_line, arg_line = out.read_text().splitlines()
    assert json.loads(state_line) == {"id": "c1", "pid": 5, "status": "created"}
    assert arg_line.endswith("hook.sh second bar")  # $0 is the script, as the kernel runs it


def test_hook_failure_and_timeout(tmp_path):
    failing = {"hooks": {"createRuntime": [_hook(tmp_path, "echo broken >&2; exit 3")]}}
    with pytest.raises(OCIRuntimeError, match=r"createRuntime hook .* \(exit status 3\): broken"):
        hooks.run_fatal(failing, {}, "created", "createRuntime")
    slow = {"hooks": {"poststop": [_hook(tmp_path, "sleep 5", timeout=1)]}}
    warnings = hooks.run_warning(slow, {}, "stopped", "poststop")
    assert len(warnings) == 1 and "timed out after 1s" in warnings[0]
    with pytest.raises(OCIRuntimeError, match="unknown hook kind"):
        hooks.hooks_of({"hooks": {"prestop": []}}, "prestart")
    with pytest.raises(OCIRuntimeError, match="path must be absolute"):
        hooks.hooks_of({"hooks": {"prestart": [{"path": "x"}]}}, "prestart")


# -- flags ------------------------------------------------------------------------------------


def test_security_opts():
    parsed = flags.parse_security_opts(["seccomp=/p.json", "no-new-privileges", "label=disable"])
    assert parsed.seccomp_profile == "/p.json" and parsed.no_new_privileges
    assert not flags.parse_security_opts(["no-new-privileges=false"]).no_new_privileges
    assert flags.parse_security_opts(["seccomp=unconfined"]).seccomp_profile == "unconfined"
    # podman 4.3.1's numbers are error kinds, not positions: 1 no value, 2 unknown or bad
    for values, message in [
        (["label=disable", "foo"], 'invalid --security-opt 1: "foo"'),
        (["mask"], 'invalid --security-opt 1: "mask"'),
        (["foo=1"], 'invalid --security-opt 2: "foo=1"'),
        (["no-new-privileges="], 'invalid --security-opt 2: "no-new-privileges="'),
        (["no-new-privileges=tRue"], 'invalid --security-opt 2: "no-new-privileges=tRue"'),
        (["systempaths=x"], 'invalid systempaths option "x", only `unconfined` is supported'),
        (["apparmor=foo"], 'apparmor profile "foo" specified, but Apparmor is not enabled'),
    ]:
        with pytest.raises(UsageError, match=re.escape(message)):
            flags.parse_security_opts(values)
    # Go's ParseBool, Docker's KEY:VALUE, and the keys with nothing to act on here
    assert flags.parse_security_opts(["no-new-privileges=t"]).no_new_privileges
    assert not flags.parse_security_opts(["no-new-privileges:F"]).no_new_privileges
    accepted = ["label=foo", "label:disable", "apparmor=unconfined", "seccomp=", "unmask="]
    assert flags.parse_security_opts(accepted).seccomp_profile == ""
    parsed = flags.parse_security_opts(
        ["mask=/a:/b", "unmask=/proc/k*", "systempaths=unconfined", "proc-opts=hidepid=2,gid=3"]
    )
    assert (parsed.mask, parsed.unmask) == (["/a", "/b"], ["/proc/k*", "ALL"])
    assert parsed.proc_opts == ["hidepid=2", "gid=3"]


def test_inspect_shows_security_opts_as_podman():
    """libpod's GetSecurityOptions: no_new_privs from the spec, labels joined, then the last
    seccomp and apparmor values (`:` spelled `=`); mask, unmask and the rest not shown."""
    from pod.container.inspect import inspect_security_opts

    given = ["seccomp:unconfined", "label=disable", "mask=/x", "label=type:t",
             "apparmor=unconfined", "no-new-privileges=false", "seccomp=/p.json"]  # fmt: skip
    assert inspect_security_opts(given, True) == [
        "no-new-privileges",
        "label=disable,label=type:t",
        "seccomp=/p.json",
        "apparmor=unconfined",
    ]
    assert inspect_security_opts(["no-new-privileges=false"], False) == []


def test_unmask_takes_paths_globs_and_all():
    """podman 4.3.1's results for the default masked paths (checked against its config.json)."""
    from pod.container.spec import MASKED_PATHS, READONLY_PATHS, unmasked

    assert unmasked(MASKED_PATHS, ["all"]) == [] == unmasked(READONLY_PATHS, ["ALL"])
    assert unmasked(MASKED_PATHS, ["/proc/*"]) == ["/sys/firmware", "/sys/fs/selinux",
                                                   "/sys/dev/block"]  # fmt: skip
    assert "/proc/kcore" not in unmasked(MASKED_PATHS, ["/proc/k*"])
    assert "/proc/keys" not in unmasked(MASKED_PATHS, ["/proc/k*"])
    assert unmasked(READONLY_PATHS, ["/proc/sys", "/nothing"]) == [
        p for p in READONLY_PATHS if p != "/proc/sys"
    ]
    assert unmasked(MASKED_PATHS, ["/*"]) == list(MASKED_PATHS)  # `*` stays in one element


def test_devices_and_cgroup_rules():
    assert flags.parse_device("/dev/fuse") == flags.DeviceSpec("/dev/fuse", "/dev/fuse", "rwm")
    assert flags.parse_device("/dev/fuse:r") == flags.DeviceSpec("/dev/fuse", "/dev/fuse", "r")
    assert flags.parse_device("/dev/a:/dev/b:rw") == flags.DeviceSpec("/dev/a", "/dev/b", "rw")
    with pytest.raises(UsageError, match="invalid device mode"):
        flags.parse_device("/dev/a:/dev/b:rx")
    assert flags.parse_device_cgroup_rule("c 1:* rwm") == "c 1:* rwm"
    with pytest.raises(UsageError, match="invalid device type in device-access-add: x"):
        flags.parse_device_cgroup_rule("x 1:3 rwm")
    with pytest.raises(UsageError, match="invalid device access in device-access-add: q"):
        flags.parse_device_cgroup_rule("c 1:3 rwq")
    # podman 4.3.1's words for a relative container path and a rule short of fields
    for value in ("/dev/null:rel", "/dev/null:rel:r"):
        with pytest.raises(UsageError, match="^invalid device mode: rel$"):
            flags.parse_device(value)
    with pytest.raises(UsageError) as caught:
        flags.parse_device_cgroup_rule("c 1:3")
    assert str(caught.value) == (
        'invalid device cgroup rule requires type, major:Minor, and access rules: "c 1:3"'
    )


# -- capabilities -----------------------------------------------------------------------------


def test_ambient_capabilities_must_be_permitted_and_inheritable():
    from pod.runtime import init
    from pod.runtime.syscalls import Recorder

    caps = {"bounding": ["CAP_KILL"], "permitted": ["CAP_KILL"], "ambient": ["CAP_KILL"]}
    recorder = Recorder()
    with pytest.raises(OCIRuntimeError, match="ambient: CAP_KILL must also be permitted and "
                                              "inheritable"):  # fmt: skip
        init.drop_privileges(recorder, {"capabilities": caps})
    assert recorder.calls == []  # refused before anything changed
    init.drop_privileges(recorder, {"capabilities": {**caps, "inheritable": ["CAP_KILL"]}})
    assert ("prctl", 47, 2, 5) in recorder.calls  # PR_CAP_AMBIENT_RAISE CAP_KILL


def test_a_capability_the_runtime_lacks_is_named(monkeypatch):
    from pod.runtime import init
    from pod.runtime import syscalls as sc
    from pod.runtime.syscalls import Recorder

    class Denied(Recorder):
        def capset(self, effective: int, permitted: int, inheritable: int) -> None:
            raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(sc, "capget", lambda: (0, ~(1 << 24) & ((1 << 41) - 1), 0))
    caps = {k: ["CAP_SYS_RESOURCE", "CAP_KILL"] for k in ("bounding", "permitted", "effective")}
    with pytest.raises(OCIRuntimeError, match="asks for CAP_SYS_RESOURCE, which the runtime's"):
        init.drop_privileges(Denied(), {"capabilities": caps})
