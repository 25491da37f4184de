"""Resource limits (--memory, --cpus, --pids-limit, --ulimit, --shm-size, ...) with real
containers, rootful with pod's own runtime and with runc, and the rootless fallback."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from runners import container_state

from pod.runtime import cgroups

CGROUP_V1 = not cgroups.is_pure_v2()


def run(pod, runtime, *args, **kwargs):
    return pod("run", "--runtime", runtime, *args, **kwargs)


def cgroup_file(v1: str, v2: str) -> str:
    """The container's own cgroup file, as its /sys/fs/cgroup shows it."""
    return f"/sys/fs/cgroup/{v1}" if CGROUP_V1 else f"/sys/fs/cgroup/{v2}"


def test_memory_limit_in_the_container_cgroup(pod, runtime, busybox):
    path = cgroup_file("memory/memory.limit_in_bytes", "memory.max")
    result = run(pod, runtime, "--rm", "-m", "64m", busybox, "cat", path)
    assert (result.returncode, result.stdout) == (0, f"{64 << 20}\n"), result.stderr


def test_memory_limit_on_the_host_while_running(pod, runtime, busybox):
    started = run(
        pod, runtime, "-d", "--memory", "32m", "--memory-swap", "-1", busybox, "sleep", "60"
    )
    assert started.returncode == 0, started.stderr
    container_id = started.stdout.strip()
    try:
        if CGROUP_V1:
            host = Path("/sys/fs/cgroup/memory/pod") / container_id / "memory.limit_in_bytes"
            assert host.read_text() == f"{32 << 20}\n"
    finally:
        pod("rm", "-f", "-t", "0", container_id, check=True)


def test_oom_kill_exits_137_and_is_recorded(pod, runtime, busybox, tmp_path):
    # The shell's command substitution holds the whole 100 MB: far beyond the 10 MB limit.
    cidfile = tmp_path / "cid"
    hog = "x=$(head -c 100000000 /dev/zero | tr '\\0' a); echo survived ${#x}"
    result = run(pod, runtime, "--cidfile", cidfile, "--memory", "10m", busybox, "sh", "-c", hog)
    assert result.returncode == 137, (result.stdout, result.stderr)
    assert "survived" not in result.stdout
    container_id = cidfile.read_text()
    assert container_state(pod, container_id)["oom_killed"] is True
    pod("rm", container_id, check=True)


def test_a_plain_kill_is_not_an_oom(pod, runtime, busybox, tmp_path):
    cidfile = tmp_path / "cid"
    result = run(pod, runtime, "--cidfile", cidfile, "--init", "-m", "64m", busybox,
                 "sh", "-c", "kill -9 $$")  # fmt: skip
    assert result.returncode == 137, result.stderr
    assert container_state(pod, cidfile.read_text())["oom_killed"] is False


def test_pids_limit_bounds_a_fork_bomb(pod, runtime, busybox):
    script = "n=0; for i in $(seq 20); do sleep 30 & n=$((n+1)); done; echo started $n"
    bounded = run(pod, runtime, "--rm", "--pids-limit", "10", busybox, "sh", "-c", script)
    assert "can't fork" in bounded.stderr or "Resource temporarily unavailable" in bounded.stderr
    path = cgroup_file("pids/pids.max", "pids.max")
    shown = run(pod, runtime, "--rm", "--pids-limit", "10", busybox, "cat", path)
    assert shown.stdout == "10\n", shown.stderr
    free = run(pod, runtime, "--rm", "--pids-limit", "-1", busybox, "cat", path)
    assert free.stdout == "max\n", free.stderr


def test_cpus_shares_and_cpuset(pod, runtime, busybox):
    if CGROUP_V1:
        files = "cpu/cpu.cfs_quota_us cpu/cpu.cfs_period_us cpu/cpu.shares cpuset/cpuset.cpus"
        expected = "50000\n100000\n512\n0\n"
    else:
        files, expected = "cpu.max cpu.weight cpuset.cpus", "50000 100000\n20\n0\n"
    script = f"cd /sys/fs/cgroup && cat {files}"
    result = run(pod, runtime, "--rm", "--cpus", "0.5", "-c", "512", "--cpuset-cpus", "0",
                 busybox, "sh", "-c", script)  # fmt: skip
    assert (result.returncode, result.stdout) == (0, expected), result.stderr


def test_ulimit_nofile_inside(pod, runtime, busybox):
    result = run(pod, runtime, "--rm", "--ulimit", "nofile=1000:2000", busybox,
                 "sh", "-c", "ulimit -n; ulimit -Hn")  # fmt: skip
    assert (result.returncode, result.stdout) == (0, "1000\n2000\n"), result.stderr


def test_ulimit_above_the_host_hard_limit_is_clamped(pod, runtime, busybox):
    import resource

    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard == resource.RLIM_INFINITY or hard >= 1 << 30:
        pytest.skip("the host's nofile hard limit is not finite")
    result = run(pod, runtime, "--rm", "--ulimit", f"nofile={hard * 2}", busybox,
                 "sh", "-c", "ulimit -Hn")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) <= hard * 2


def test_shm_size(pod, runtime, busybox):
    result = run(pod, runtime, "--rm", "--shm-size", "128m", busybox, "df", "-k", "/dev/shm")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1].split()[1] == str(128 * 1024)


def test_oom_score_adj(pod, runtime, busybox):
    result = run(pod, runtime, "--rm", "--oom-score-adj", "400", busybox,
                 "cat", "/proc/self/oom_score_adj")  # fmt: skip
    assert (result.returncode, result.stdout) == (0, "400\n"), result.stderr


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--memory=abc"], 'Error: invalid argument "abc" for "-m, --memory" flag: '
                           "invalid size: 'abc'"),
        (["-m", "-5m"], "invalid size: '-5m'"),
        (["-m", "99999999999999p"], "value out of range"),
        (["-m", "4m"], "Error: minimum memory limit allowed is 6MB"),
        (["-m", "20m", "--memory-swap", "10m"],
         "Error: minimum memoryswap limit should be larger than memory limit, see usage"),
        (["--memory-swap", "10m"], "you should always set a memory limit"),
        (["--cpus", "abc"], 'invalid argument "abc" for "--cpus" flag'),
        (["--cpus", "-1"], "range of CPUs is from 0.01"),
        (["-c", "-1"], 'invalid argument "-1" for "-c, --cpu-shares" flag'),
        (["--cpuset-cpus", "0-999"], "requested CPUs are not available - requested 0-999"),
        (["--cpuset-cpus", "x"], "invalid value x for cpuset cpus"),
        (["--pids-limit", "many"], 'invalid argument "many" for "--pids-limit" flag'),
        (["--ulimit", "bogus=1"], "invalid ulimit type: bogus"),
        (["--ulimit", "nofile=10:5"], "soft limit must be less than or equal to hard limit"),
        (["--ulimit", "nofile=x"], 'strconv.ParseInt: parsing "x": invalid syntax'),
        (["--shm-size", "lots"], "unable to translate --shm-size: invalid size: 'lots'"),
        (["--oom-score-adj", "1001"], "oom_score_adj must be between -1000 and 1000"),
    ],
)  # fmt: skip
@pytest.mark.parametrize("verb", ["run", "create"])
def test_invalid_values_exit_125_and_leave_nothing(shared_pod, test_images, verb, flags, message):
    pod, busybox = shared_pod, test_images.busybox.ref
    result = pod(verb, *flags, busybox, "true")
    assert result.returncode == 125, result.stderr
    assert message in result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert pod("ps", "-a", "-q").stdout == ""


# --- rootless ------------------------------------------------------------------------------------


@pytest.mark.rootless
def test_rootless_limits_warn_once_and_run(rootless_pod, rootless_busybox, runtime):
    result = rootless_pod("run", "--runtime", runtime, "--rm", "--memory", "64m",
                          "--pids-limit", "100", "--cpus", "1", rootless_busybox,
                          "echo", "ran")  # fmt: skip
    assert (result.returncode, result.stdout) == (0, "ran\n"), result.stderr
    if cgroups.is_pure_v2() and cgroups.rootless_limits_supported():
        pytest.skip("this host delegates cgroup v2 to the user: limits apply, no warning")
    warning = "Resource limits are not supported and ignored"
    lines = [line for line in result.stderr.splitlines() if warning in line]
    assert len(lines) == 1, result.stderr
    if CGROUP_V1:  # podman 4.3 prints this one as a plain line
        assert lines[0] == (
            "Resource limits are not supported and ignored on cgroups V1 rootless systems"
        )


@pytest.mark.rootless
def test_rootless_process_limits_still_apply(rootless_pod, rootless_busybox, runtime):
    result = rootless_pod("run", "--runtime", runtime, "--rm",
                          "--ulimit", "nofile=500:600", "--oom-score-adj", "300",
                          rootless_busybox, "sh", "-c",
                          "ulimit -n; cat /proc/self/oom_score_adj")  # fmt: skip
    assert (result.returncode, result.stdout) == (0, "500\n300\n"), result.stderr
    assert "Resource limits" not in result.stderr


def test_no_limits_means_no_warning_and_defaults(pod, busybox):
    result = pod("run", "--rm", busybox, "sh", "-c", "df -k /dev/shm | tail -1")
    # podman's default: 65536000 bytes (containers.conf's "65536k" read as decimal kilobytes)
    assert result.returncode == 0 and result.stdout.split()[1] == "64000", result.stderr
    assert "WARN" not in result.stderr
    assert os.geteuid() == 0
