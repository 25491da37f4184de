"""Health checks run by pod itself: the container's supervisor runs them on their interval (no
systemd timer), `pod healthcheck run` at once; status, streak and log in inspect, the status in
ps, the on-failure actions, the image's HEALTHCHECK. With pod's runtime and runc; rootless too.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from polling import wait_for
from runners import IDLE

CHECK = ["--health-cmd", "test -e /tmp/ok", "--health-interval", "1s", "--health-retries", "2"]


def _health(pod, name: str) -> dict:
    return json.loads(pod("inspect", "--format", "{{json .State.Health}}", name, check=True).stdout)


def _status(pod, name: str) -> str:
    return pod("ps", "-a", "--filter", f"name=^{name}$", "--format", "{{.Status}}").stdout.strip()


def _state(pod, name: str) -> dict:
    container_id = pod("inspect", "--format", "{{.Id}}", name, check=True).stdout.strip()
    return json.loads((pod.root / "containers" / container_id / "state.json").read_text())


def test_the_supervisor_runs_the_check_on_its_interval(pod, busybox, runtime):
    pod("run", "-d", "--name", "web", "--runtime", runtime, *CHECK, busybox, "sh", "-c",
        "mkdir -p /tmp; sleep 60", check=True)  # fmt: skip
    assert _health(pod, "web") == {"Status": "starting", "FailingStreak": 0, "Log": None}
    assert _status(pod, "web").endswith("(starting)")
    health = wait_for(lambda: (h := _health(pod, "web"))["Status"] == "unhealthy" and h)
    assert health["FailingStreak"] >= 2
    entry = health["Log"][-1]
    assert list(entry) == ["Start", "End", "ExitCode", "Output"]
    assert entry["ExitCode"] == 1
    assert _status(pod, "web").endswith("(unhealthy)")
    assert pod("ps", "--filter", "health=unhealthy", "--format", "{{.Names}}").stdout == "web\n"
    pod("exec", "web", "touch", "/tmp/ok", check=True)
    wait_for(lambda: _health(pod, "web")["Status"] == "healthy")
    health = _health(pod, "web")
    assert health["FailingStreak"] == 0
    assert len(health["Log"]) <= 5  # only the last five results are kept
    assert pod("ps", "--filter", "health=healthy", "--format", "{{.Names}}").stdout == "web\n"


def test_healthcheck_run_exit_codes(pod, busybox):
    pod("run", "-d", "--name", "c", "--health-cmd", "test -e /tmp/ok", "--health-interval",
        "disable", busybox, "sh", "-c", "mkdir -p /tmp; sleep 60", check=True)  # fmt: skip
    failed = pod("healthcheck", "run", "c")
    assert (failed.returncode, failed.stdout) == (1, "unhealthy\n")
    pod("exec", "c", "touch", "/tmp/ok", check=True)
    passed = pod("healthcheck", "run", "c")
    assert (passed.returncode, passed.stdout, passed.stderr) == (0, "", "")
    log = _health(pod, "c")["Log"]
    assert [entry["ExitCode"] for entry in log] == [1, 0]  # no timer: only the runs we asked
    pod("run", "-d", "--name", "plain", busybox, "sleep", "60", check=True)
    none = pod("healthcheck", "run", "plain")
    assert none.returncode == 125
    assert none.stderr.strip().endswith("has no defined healthcheck")
    missing = pod("healthcheck", "run", "nosuch")
    assert missing.returncode == 125
    assert 'no container with name or ID "nosuch" found: no such container' in missing.stderr


def test_a_check_that_outlives_its_timeout_fails(pod, busybox):
    pod("run", "-d", "--name", "slow", "--health-cmd", "sleep 30", "--health-timeout", "1s",
        "--health-interval", "disable", busybox, "sleep", "60", check=True)  # fmt: skip
    result = pod("healthcheck", "run", "slow", timeout=20)
    assert result.returncode == 1
    assert "Timed out" in _health(pod, "slow")["Log"][-1]["Output"]


@pytest.mark.parametrize("action", ["kill", "restart", "stop"])
def test_on_failure_actions(pod, busybox, action):
    pod("run", "-d", "--name", "sick", "--health-on-failure", action, *CHECK, busybox, *IDLE,
        check=True)  # fmt: skip
    if action == "restart":
        wait_for(lambda: _state(pod, "sick").get("restart_count", 0) >= 1, timeout=20)
        assert _state(pod, "sick")["status"] in ("running", "exited", "created")
        return
    state = wait_for(lambda: (s := _state(pod, "sick"))["status"] == "exited" and s, timeout=20)
    assert state["exit_code"] == 137 if action == "kill" else state["stopped_by_user"]


def test_the_images_healthcheck_and_turning_it_off(pod, busybox, tmp_path):
    context = tmp_path / "ctx"
    context.mkdir()
    (context / "Containerfile").write_text(
        f"FROM {busybox}\nHEALTHCHECK --interval=1s --retries=1 CMD true\n"
    )
    pod("build", "-q", "-t", "checked", str(context), check=True)
    pod("run", "-d", "--name", "from-image", "checked", "sleep", "60", check=True)
    config = pod("inspect", "--format", "{{json .Config.Healthcheck}}", "from-image", check=True)
    assert json.loads(config.stdout)["Test"] == ["CMD-SHELL", "true"]  # shell form
    wait_for(lambda: _health(pod, "from-image")["Status"] == "healthy")
    for flags in (["--no-healthcheck"], ["--health-cmd", "none"]):
        name = f"off{len(flags)}"
        pod("run", "-d", "--name", name, *flags, "checked", "sleep", "60", check=True)
        assert _health(pod, name)["Status"] == ""
        assert pod("healthcheck", "run", name).returncode == 125


@pytest.mark.parametrize(
    "flags",
    [
        ["--health-interval", "10"],
        ["--health-timeout", "soon"],
        ["--health-on-failure", "panic"],
        ["--health-cmd", "[not json"],
    ],  # fmt: skip
)
def test_bad_health_flags_create_nothing(pod, busybox, flags):
    result = pod("run", "-d", "--health-cmd", "true", *flags, busybox, "true")
    assert result.returncode == 125
    assert result.stderr.startswith("Error: ") and len(result.stderr.splitlines()) == 1
    assert pod("ps", "-a", "-q").stdout == ""


def test_checks_keep_the_supervisor_small(pod, busybox):
    pod("run", "-d", "--name", "watched", "--health-cmd", "true", "--health-interval", "1s",
        busybox, "sleep", "60", check=True)  # fmt: skip
    wait_for(lambda: len(_health(pod, "watched")["Log"] or []) >= 2)
    pid = _state(pod, "watched")["shim_pid"]
    rss = next(int(line.split()[1]) for line in Path(f"/proc/{pid}/status").read_text()
               .splitlines() if line.startswith("VmRSS:"))  # fmt: skip
    assert rss <= 9 * 1024, f"supervisor RSS {rss} KiB"
    assert "site-packages" not in Path(f"/proc/{pid}/maps").read_text()


@pytest.mark.rootless
def test_rootless_checks(rootless_pod, rootless_busybox):
    rootless_pod("run", "-d", "--name", "web", "--health-cmd", "true", "--health-interval", "1s",
                 rootless_busybox, "sleep", "60", check=True)  # fmt: skip
    wait_for(lambda: _health(rootless_pod, "web")["Status"] == "healthy")
    assert rootless_pod("healthcheck", "run", "web").returncode == 0
