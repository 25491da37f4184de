"""Pods with real containers: the infra container (catatonit, or pod's own pause program) holds
the namespaces, containers joined with `--pod` share its network (localhost, the published
ports), host name and IPC, and the pod's verbs act on all of them. Rootful with pod's runtime
and runc for the joined containers; rootless too.
"""

from __future__ import annotations

import json
import os
import time

import pytest
from polling import wait_for
from registry_server import free_port
from web import HTTPD, fetch, pod_status


def namespace(runner, container: str, kind: str) -> str:
    """The container's namespace of `kind`, read on the host (the infra has no readlink)."""
    pid = runner("inspect", "--format", "{{.State.Pid}}", container, check=True).stdout.strip()
    return os.readlink(f"/proc/{pid}/ns/{kind}")


def test_containers_of_a_pod_share_its_namespaces(pod, busybox, runtime):
    port = free_port()
    pod_id = pod("pod", "create", "--name", "web", "-p", f"{port}:80", check=True).stdout.strip()
    assert len(pod_id) == 64
    assert pod_status(pod, "web") == "Created"
    infra = json.loads(pod("pod", "inspect", "web", check=True).stdout)["InfraContainerID"]
    pod("run", "-d", "--pod", "web", "--name", "httpd", "--runtime", runtime, busybox,
        "sh", "-c", HTTPD, check=True)  # fmt: skip
    assert pod_status(pod, "web") == "Running"  # its infra was started first
    assert fetch(f"http://127.0.0.1:{port}/") == "hello-from-web\n"
    inside = pod("run", "--rm", "--pod", "web", "--runtime", runtime, busybox, "sh", "-c",
                 "wget -qO- http://localhost:80/ && hostname", check=True)  # fmt: skip
    assert inside.stdout == "hello-from-web\nweb\n"
    for kind in ("net", "ipc", "uts"):
        assert namespace(pod, "httpd", kind) == namespace(pod, infra, kind)
    assert namespace(pod, "httpd", "pid") != namespace(pod, infra, "pid")
    listing = pod("ps", "-a", "--pod", "--format", "{{.Names}} {{.PodName}} {{.IsInfra}}")
    assert sorted(listing.stdout.splitlines()) == [
        f"{pod_id[:12]}-infra web true",
        "httpd web false",
    ]
    assert pod("ps", "--filter", "pod=web", "-q").stdout.count("\n") == 2
    top = pod("pod", "top", "web", check=True).stdout
    assert "/catatonit -P" in top and "httpd -f -p 80" in top
    pod("pod", "stop", "-t", "1", "web", check=True)
    assert pod_status(pod, "web") == "Exited"
    assert pod("pod", "start", "web", check=True).stdout == f"{pod_id}\n"
    assert fetch(f"http://127.0.0.1:{port}/") == "hello-from-web\n"
    assert pod("pod", "rm", "-f", "-t", "0", "web", check=True).stdout == f"{pod_id}\n"
    assert pod("ps", "-aq").stdout == "" and pod("pod", "ps", "-q").stdout == ""


def test_pod_verbs_and_listing(pod, busybox):
    pod("pod", "create", "--name", "p", "--label", "tier=db", check=True)
    pod("create", "--pod", "p", "--name", "one", busybox, "sleep", "60", check=True)
    assert pod_status(pod, "p") == "Created"  # create starts nothing
    pod("pod", "start", "p", check=True)
    assert pod_status(pod, "p") == "Running"
    pod("pod", "pause", "p", check=True)
    assert pod_status(pod, "p") == "Paused"
    pod("pod", "unpause", "p", check=True)
    assert pod_status(pod, "p") == "Running"
    rows = json.loads(pod("pod", "ps", "--format", "json", check=True).stdout)
    assert [(r["Name"], r["Status"], r["Labels"]) for r in rows] == [
        ("p", "Running", {"tier": "db"})
    ]
    assert [c["Status"] for c in rows[0]["Containers"]] == ["running", "running"]
    names = pod("pod", "ps", "--ctr-names", "--noheading", "--format", "{{.ContainerNames}}")
    assert names.stdout.strip().endswith(",one")
    assert pod("pod", "ps", "-q", "--filter", "label=tier=web").stdout == ""
    pod("pod", "kill", "p", check=True)
    wait_for(lambda: pod_status(pod, "p") == "Exited")
    pod("pod", "restart", "p", check=True)
    assert pod_status(pod, "p") == "Running"
    refused = pod("pod", "rm", "p")
    assert refused.returncode == 125 and "cannot be removed without force" in refused.stderr
    assert pod("pod", "exists", "p").returncode == 0
    pod_id = pod("pod", "inspect", "--format", "{{.Id}}", "p", check=True).stdout.strip()
    pod("pod", "stop", "-t", "0", "p", check=True)
    assert pod("pod", "prune", "-f", check=True).stdout.strip() == pod_id
    assert pod("pod", "exists", "p").returncode == 1
    assert pod("ps", "-aq").stdout == ""
    events = pod("events", "--stream=false", "--filter", "type=pod", check=True).stdout
    lines = events.splitlines()  # podman's line for a pod: full ID, an empty image
    assert lines[0].endswith(f" pod create {pod_id} (image=, name=p)")
    assert lines[-1].endswith(f" pod remove {pod_id} (image=, name=p)")


def test_shared_pid_namespace_with_pods_own_pause(pod, busybox):
    pod("pod", "create", "--name", "pids", "--share", "+pid", "--infra-command", "/pause",
        check=True)  # fmt: skip
    pod("run", "-d", "--pod", "pids", "--name", "sleeper", busybox, "sleep", "60", check=True)
    processes = pod("run", "--rm", "--pod", "pids", busybox, "ps", "-o", "pid,args", check=True)
    lines = [line.split(None, 1) for line in processes.stdout.splitlines()[1:]]
    assert lines[0] == ["1", "/pause"] and ["2", "sleep 60"] in lines
    started = time.monotonic()
    pod("pod", "stop", "pids", check=True)  # the pause program ends on SIGTERM at once
    assert time.monotonic() - started < 8
    assert pod_status(pod, "pids") == "Exited"


def test_pod_refusals_as_podman(pod, busybox):
    pod("pod", "create", "--name", "web", check=True)
    taken = pod("pod", "create", "--name", "web")
    assert taken.returncode == 125
    assert 'name "web" is in use: pod already exists' in taken.stderr
    bad = pod("pod", "create", "--name", "../x")
    assert bad.returncode == 125 and "names must match" in bad.stderr
    ports = pod("run", "--pod", "web", "-p", "8080:80", busybox, "true")
    assert ports.returncode == 125 and "must be defined when the pod is created" in ports.stderr
    named = pod("run", "--pod", "web", "--hostname", "x", busybox, "true")
    assert named.returncode == 125 and "joining the pod UTS namespace" in named.stderr
    missing = pod("run", "--pod", "nope", busybox, "true")
    assert missing.returncode == 125 and "no pod with name or ID nope found" in missing.stderr
    assert pod("pod", "rm", "nope").returncode == 1
    assert pod("pod", "stop", "nope").returncode == 125
    infra = json.loads(pod("pod", "inspect", "web", check=True).stdout)["InfraContainerID"]
    kept = pod("rm", "-f", infra)
    assert kept.returncode == 125 and "cannot be removed without removing the pod" in kept.stderr
    bare = pod("pod", "create", "--infra=false", "--name", "bare", check=True)
    assert bare.returncode == 0
    empty = pod("pod", "start", "bare")
    assert empty.returncode == 125 and "no containers in pod" in empty.stderr
    assert "Traceback" not in "".join(r.stderr for r in (taken, ports, kept, empty))
    assert pod("rm", "-a", "-f", "-t", "0").returncode == 0  # the infra goes with its pod
    assert [line for line in pod("pod", "ps", "--format", "{{.Name}}").stdout.split()] == ["bare"]


def test_new_pod_from_run_takes_the_ports(pod, busybox):
    port = free_port()
    pod("run", "-d", "--pod", "new:fresh", "-p", f"{port}:80", "--name", "srv", busybox,
        "sh", "-c", HTTPD, check=True)  # fmt: skip
    assert fetch(f"http://127.0.0.1:{port}/") == "hello-from-fresh\n"
    ports = json.loads(pod("pod", "inspect", "fresh", check=True).stdout)["InfraConfig"]
    assert ports["PortBindings"] == {"80/tcp": [{"HostIp": "", "HostPort": str(port)}]}
    pod("pod", "rm", "-f", "-t", "0", "fresh", check=True)


@pytest.mark.rootless
def test_rootless_pod_shares_network_and_ports(rootless_pod, rootless_busybox):
    port = free_port()
    rootless_pod("pod", "create", "--name", "web", "-p", f"{port}:80", check=True)
    rootless_pod("run", "-d", "--pod", "web", "--name", "httpd", rootless_busybox,
                 "sh", "-c", HTTPD, check=True)  # fmt: skip
    assert fetch(f"http://127.0.0.1:{port}/") == "hello-from-web\n"
    inside = rootless_pod("run", "--rm", "--pod", "web", rootless_busybox, "sh", "-c",
                          "wget -qO- http://localhost:80/ && id -u", check=True)  # fmt: skip
    assert inside.stdout == "hello-from-web\n0\n"
    infra = json.loads(rootless_pod("pod", "inspect", "web", check=True).stdout)["InfraContainerID"]
    for kind in ("net", "ipc", "uts", "user"):
        assert namespace(rootless_pod, "httpd", kind) == namespace(rootless_pod, infra, kind)
    rootless_pod("pod", "stop", "-t", "1", "web", check=True)
    assert pod_status(rootless_pod, "web") == "Exited"
    rootless_pod("pod", "start", "web", check=True)
    assert fetch(f"http://127.0.0.1:{port}/") == "hello-from-web\n"
    rootless_pod("pod", "rm", "-f", "-t", "0", "web", check=True)
    assert rootless_pod("ps", "-aq").stdout == ""
