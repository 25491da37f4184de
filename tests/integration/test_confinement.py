"""Confinement with real containers: seccomp by default (pod's runtime and runc, rootful and
rootless), --security-opt, --privileged, --device, device cgroup rules and OCI hooks."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

RUNTIMES = ["pod", "runc"]
SECCOMP = "grep ^Seccomp: /proc/self/status"


@pytest.fixture
def busybox(pod, test_images) -> str:
    pod("pull", "-q", test_images.busybox.ref, check=True)
    return test_images.busybox.ref


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_every_container_gets_a_seccomp_filter(pod, busybox, runtime):
    result = pod("run", "--rm", "--runtime", runtime, busybox, "sh", "-c", SECCOMP)
    assert (result.returncode, result.stdout.split()) == (0, ["Seccomp:", "2"]), result.stderr
    # the default profile in action: sethostname needs CAP_SYS_ADMIN (EPERM, not ENOSYS)
    result = pod("run", "--rm", "--runtime", runtime, busybox, "hostname", "other")
    assert result.returncode != 0 and "not permitted" in result.stderr


def test_the_global_runtime_flag_as_podmans(pod, busybox):
    """`pod --runtime runc run ...`, podman's spelling: the containers made get that runtime
    (run's own --runtime still wins) and info describes it."""
    result = pod("--runtime", "runc", "run", "--name", "g", busybox, "sh", "-c", SECCOMP)
    assert (result.returncode, result.stdout.split()) == (0, ["Seccomp:", "2"]), result.stderr
    assert pod("inspect", "--format", "{{.OCIRuntime}}", "g").stdout == "runc\n"
    pod("--runtime", "runc", "create", "--runtime", "pod", "--name", "own", busybox, check=True)
    assert pod("inspect", "--format", "{{.OCIRuntime}}", "own").stdout == "pod\n"
    described = pod("--runtime", "runc", "info", "--format", "{{.Host.OCIRuntime.Name}}")
    assert described.stdout == "runc\n", described.stderr
    missing = pod("--runtime", "no-such-runtime", "run", "--rm", busybox, "true")
    assert missing.returncode == 125 and missing.stderr.count("\n") == 1, missing.stderr


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("flags", [["--security-opt", "seccomp=unconfined"], ["--privileged"]])
def test_unconfined_and_privileged_have_no_filter(pod, busybox, runtime, flags):
    result = pod("run", "--rm", "--runtime", runtime, *flags, busybox, "sh", "-c", SECCOMP)
    assert (result.returncode, result.stdout.split()) == (0, ["Seccomp:", "0"]), result.stderr


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize(
    "nnp", [[], ["--security-opt", "no-new-privileges"], ["--privileged"]],
    ids=["plain", "nnp", "privileged"],  # podman's --privileged keeps a profile it is given
)  # fmt: skip
def test_a_profile_file_is_applied(pod, busybox, runtime, nnp, tmp_path):
    profile = {"defaultAction": "SCMP_ACT_ALLOW",
               "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO",
                             "errnoRet": 30}]}  # fmt: skip
    path = tmp_path / "profile.json"
    path.write_text(json.dumps(profile))
    result = pod(
        "run",
        "--rm",
        "--runtime",
        runtime,
        "--security-opt",
        f"seccomp={path}",
        *nnp,
        busybox,
        "sh",
        "-c",
        "mkdir /tmp/x; grep NoNewPrivs /proc/self/status",
    )
    assert "Read-only file system" in result.stderr  # EROFS (30) from the filter
    assert result.stdout.split() == ["NoNewPrivs:", "1" if "no-new-privileges" in nnp else "0"]
    inspect = pod("create", "--security-opt", f"seccomp={path}", busybox, check=True)
    options = pod("inspect", "--format", "{{json .HostConfig.SecurityOpt}}",
                  inspect.stdout.strip(), check=True)  # fmt: skip
    assert json.loads(options.stdout) == [f"seccomp={path}"]


def test_info_and_inspect_say_how_seccomp_is_set(pod, busybox, tmp_path):
    """podman's keys: host.security.seccompEnabled / seccompProfilePath in info (the profile
    containers get: containers.conf's seccomp_profile when set), and inspect's
    HostConfig.SecurityOpt with the io.podman.annotations.seccomp annotation."""
    from pod.container.seccomp_profile import BUILTIN_PROFILE, SYSTEM_PROFILES

    system = next((p for p in SYSTEM_PROFILES if p.is_file()), BUILTIN_PROFILE)
    security = json.loads(pod("info", "--format", "json", check=True).stdout)["host"]["security"]
    assert (security["seccompEnabled"], security["seccompProfilePath"]) == (True, str(system))
    assert "    seccompEnabled: true" in pod("info", check=True).stdout.splitlines()
    profile = tmp_path / "profile.json"
    profile.write_text(
        json.dumps(
            {
                "defaultAction": "SCMP_ACT_ALLOW",
                "syscalls": [
                    {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 30}
                ],
            }
        )
    )
    conf = tmp_path / "containers.conf"
    conf.write_text(f'[containers]\nseccomp_profile = "{profile}"\n')
    env = {"CONTAINERS_CONF": str(conf)}
    fields = "{{.Host.Security.SECCOMPEnabled}} {{.Host.Security.SECCOMPProfilePath}}"
    assert pod("info", "--format", fields, env=env).stdout == f"true {profile}\n"
    result = pod("run", "--rm", busybox, "mkdir", "/tmp/x", env=env)
    assert "Read-only file system" in result.stderr  # the configured profile is the default
    template = '{{json .HostConfig.SecurityOpt}} {{index .Config.Annotations "%s"}}'
    for options, shown in [([], "[] "),
                           (["--security-opt", "seccomp=unconfined"],
                            '["seccomp=unconfined"] unconfined')]:  # fmt: skip
        name = pod("create", *options, busybox, check=True).stdout.strip()
        out = pod("inspect", "--format", template % "io.podman.annotations.seccomp", name)
        assert out.stdout == shown + "\n", out.stderr


@pytest.mark.parametrize("content", [None, "{not json"])
def test_missing_or_malformed_profile_exits_125(pod, busybox, tmp_path, content):
    path = tmp_path / "profile.json"
    if content is not None:
        path.write_text(content)
    result = pod("run", "--rm", "--security-opt", f"seccomp={path}", busybox, "true")
    assert result.returncode == 125
    assert result.stderr.count("\n") == 1 and "seccomp profile" in result.stderr
    assert pod("ps", "-a", "-q").stdout == ""


def test_bad_security_opt_exits_125(pod, busybox):
    result = pod("run", "--rm", "--security-opt", "bogus", busybox, "true")
    assert (result.returncode, result.stderr) == (125, 'Error: invalid --security-opt 1: "bogus"\n')
    for option, message in [  # podman 4.3.1's words on a host without AppArmor
        ("no-new-privileges=maybe", 'invalid --security-opt 2: "no-new-privileges=maybe"'),
        ("apparmor=foo", 'apparmor profile "foo" specified, but Apparmor is not enabled on this '
         "system"),
    ]:  # fmt: skip
        refused = pod("create", "--security-opt", "no-new-privileges", "--security-opt", option,
                      busybox, "true")  # fmt: skip
        assert (refused.returncode, refused.stderr) == (125, f"Error: {message}\n")
    assert pod("ps", "-a", "-q").stdout == ""
    ok = pod("run", "--rm", "--security-opt", "label=disable", busybox, "true")
    assert ok.returncode == 0, ok.stderr


MOUNTS = "awk '{print $5, $NF}' /proc/self/mountinfo | grep -E '^/proc/(sys|timer_list) |^/proc '"


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_mask_unmask_systempaths_and_proc_opts_take_effect(pod, busybox, runtime):
    """Never accepted and ignored: unmask= and systempaths= take the default masked and
    read-only paths away, mask= adds one (--privileged too), proc-opts= mounts /proc with it;
    inspect shows them as podman does (not at all)."""

    def mounts(*options: str) -> list[str]:
        security = [arg for option in options for arg in ("--security-opt", option)]
        result = pod("run", "--rm", "--runtime", runtime, *security, busybox, "sh", "-c", MOUNTS)
        assert result.returncode == 0, result.stderr
        return sorted(line.split()[0] for line in result.stdout.splitlines())

    assert mounts() == ["/proc", "/proc/sys", "/proc/timer_list"]
    assert mounts("unmask=/proc/timer_*") == ["/proc", "/proc/sys"]
    assert mounts("unmask=ALL") == mounts("systempaths=unconfined") == ["/proc"]
    masked = pod("run", "--rm", "--runtime", runtime, "--privileged", "--security-opt",
                 "mask=/etc/hostname", busybox, "cat", "/etc/hostname")  # fmt: skip
    assert (masked.returncode, masked.stdout) == (0, ""), masked.stderr
    hidden = pod("run", "--rm", "--runtime", runtime, "--security-opt", "proc-opts=hidepid=2",
                 busybox, "sh", "-c", "grep ' /proc proc ' /proc/mounts")  # fmt: skip
    assert "hidepid=" in hidden.stdout, hidden.stderr
    name = pod("create", "--security-opt", "unmask=ALL", "--security-opt", "label=disable",
               busybox, check=True).stdout.strip()  # fmt: skip
    template = "{{json .HostConfig.SecurityOpt}} {{.HostConfig.Privileged}}"
    shown = pod("inspect", "--format", template, name)
    assert shown.stdout == '["label=disable"] false\n', shown.stderr


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_devices_default_deny_and_added(pod, busybox, runtime):
    script = "(: < /dev/fuse) 2>/dev/null && echo read || echo denied; echo x >/dev/null"
    result = pod("run", "--rm", "--runtime", runtime, "--device", "/dev/fuse:/dev/fuse:r",
                 busybox, "sh", "-c", script)  # fmt: skip
    assert result.stdout == "read\n", result.stderr
    made = "mknod /tmp/fuse c 10 229 && (: < /tmp/fuse) 2>/dev/null && echo read || echo no"
    denied = pod("run", "--rm", "--runtime", runtime, "--cap-add", "MKNOD", busybox, "sh", "-c",
                 made)  # fmt: skip
    assert denied.stdout == "no\n", denied.stderr
    allowed = pod("run", "--rm", "--runtime", runtime, "--cap-add", "MKNOD",
                  "--device-cgroup-rule", "c 10:229 r", busybox, "sh", "-c", made)  # fmt: skip
    assert allowed.stdout == "read\n", allowed.stderr


@pytest.mark.rootless
@pytest.mark.parametrize("runtime", RUNTIMES)
def test_rootless_containers_get_seccomp(rootless_pod, test_images, runtime):
    rootless_pod("pull", "-q", test_images.busybox.ref, check=True)
    result = rootless_pod("run", "--rm", "--runtime", runtime, test_images.busybox.ref,
                          "sh", "-c", SECCOMP)  # fmt: skip
    assert (result.returncode, result.stdout.split()) == (0, ["Seccomp:", "2"]), result.stderr
    unconfined = rootless_pod(
        "run",
        "--rm",
        "--runtime",
        runtime,
        "--security-opt",
        "seccomp=unconfined",
        test_images.busybox.ref,
        "sh",
        "-c",
        SECCOMP,
    )
    assert unconfined.stdout.split() == ["Seccomp:", "0"], unconfined.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="cgroup v2 BPF needs root")
@pytest.mark.skipif(not Path("/sys/fs/cgroup/unified/cgroup.procs").exists()
                    and not Path("/sys/fs/cgroup/cgroup.controllers").exists(),
                    reason="no cgroup v2 mount")  # fmt: skip
def test_cgroup_v2_device_program(tmp_path):
    """The BPF program on a real cgroup v2 directory: /dev/null allowed, /dev/kmsg denied."""
    import subprocess

    from pod.runtime import devices

    base = Path("/sys/fs/cgroup/unified")
    base = base if base.is_dir() else Path("/sys/fs/cgroup")
    group = base / f"pod-test-{os.getpid()}"
    group.mkdir()
    try:
        devices.attach(str(group), devices.rules([{"allow": False, "access": "rwm"}]))
        script = (
            f"echo $$ > {group}/cgroup.procs; echo x > /dev/null && echo null; "
            "head -c 1 /dev/kmsg >/dev/null 2>&1 && echo kmsg || echo kmsg-denied"
        )
        done = subprocess.run(["sh", "-c", script], capture_output=True, text=True)
        assert done.stdout.split() == ["null", "kmsg-denied"], done.stderr
    finally:
        group.rmdir()


HOOK_KINDS = ["prestart", "createRuntime", "createContainer", "startContainer", "poststart",
              "poststop"]  # fmt: skip


def test_oci_hooks_in_pod_runtime(tmp_path):
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from test_runtime import Bundle

    bundle = Bundle(tmp_path, "pod")
    log = tmp_path / "hooks.log"
    hooks = {}
    for kind in HOOK_KINDS:
        script = tmp_path / f"{kind}.sh"
        target = log if kind != "startContainer" else "/tmp/start.log"
        script.write_text(f'#!/bin/sh\nread state; echo "{kind} $1 $state" >> {target}\n')
        script.chmod(0o755)
        path = str(script) if kind != "startContainer" else "/bin/sh"
        args = [path, kind] if kind != "startContainer" else ["sh", "-c",
                "read s; echo startContainer $s > /tmp/start.log"]  # fmt: skip
        hooks[kind] = [{"path": path, "args": args, "timeout": 10}]
    out = bundle.ok(["cat", "/tmp/start.log"], hooks=hooks)
    assert out.startswith("startContainer {") and '"status": "created"' in out
    lines = log.read_text().splitlines()
    assert [line.split()[0] for line in lines] == [k for k in HOOK_KINDS if k != "startContainer"]
    states = [json.loads(line.split(" ", 2)[2]) for line in lines]
    # runtime.md: the creation hooks run after lifecycle step 2, and "created" is that state
    assert [s["status"] for s in states] == ["created", "created", "created", "running",
                                             "stopped"]  # fmt: skip
    assert all(s["bundle"] == str(bundle.bundle) and s["pid"] > 0 for s in states)
    failing = {"createRuntime": [{"path": "/bin/false"}]}
    result = bundle.run(["true"], hooks=failing)
    assert "createRuntime hook /bin/false failed" in result["error"]
