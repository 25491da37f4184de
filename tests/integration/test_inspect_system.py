"""inspect (containers, images, volumes), info, version, system prune/reset/df -v."""

from __future__ import annotations

import json

import pytest
from runners import IDLE


@pytest.fixture
def created(pod, busybox) -> str:
    """A created (never started) container with a volume, a bind, a label and a user."""
    (pod.tmp / "bind").mkdir()
    return pod(
        "create", "--name", "c1", "-v", "data:/data", "-v", f"{pod.tmp / 'bind'}:/bind:ro",
        "-l", "tier=web", "-u", "1000:1000", "--cap-add", "net_admin", "--cap-drop", "chown",
        "--entrypoint", "/bin/sh", busybox, "-c", "exit 3",
    check=True).stdout.strip()  # fmt: skip


def _inspect(pod, *args) -> list[dict]:
    result = pod("inspect", *args, check=True)
    assert result.stdout.startswith("[\n     {"), "podman's five-space indent"
    return json.loads(result.stdout)


def test_container_inspect_shape(pod, busybox, created):
    (doc,) = _inspect(pod, "c1")
    assert doc["Id"] == created and doc["Name"] == "c1"
    assert doc["Path"] == "/bin/sh" and doc["Args"] == ["-c", "exit 3"]
    assert doc["ImageName"] == busybox and len(doc["Image"]) == 64
    state = doc["State"]
    assert (state["Status"], state["Running"], state["Pid"], state["ExitCode"]) == (
        "created", False, 0, 0)  # fmt: skip
    assert state["StartedAt"] == "0001-01-01T00:00:00Z"
    config = doc["Config"]
    assert config["Entrypoint"] == "/bin/sh" and config["Cmd"] == ["-c", "exit 3"]
    # the image's labels are the container's too, as podman's
    assert config["User"] == "1000:1000" and config["Labels"] == {
        "org.opencontainers.image.title": "pod-test-busybox",
        "tier": "web",
    }
    assert config["StopSignal"] == 15 and config["Tty"] is False
    assert any(e.startswith("PATH=") for e in config["Env"])
    host = doc["HostConfig"]
    assert host["CapAdd"] == ["CAP_NET_ADMIN"] and host["CapDrop"] == ["CAP_CHOWN"]
    assert host["RestartPolicy"] == {"Name": "", "MaximumRetryCount": 0}
    assert host["Privileged"] is False and host["ReadonlyRootfs"] is False
    for key in ("Memory", "MemorySwap", "NanoCpus", "CpuShares", "CpusetCpus", "PidsLimit"):
        assert key in host
    # not running: no address; the image's EXPOSE 80 shows unpublished, as podman's null
    assert doc["NetworkSettings"]["IPAddress"] == ""
    assert doc["NetworkSettings"]["Ports"] == {"80/tcp": None}
    mounts = {m["Destination"]: m for m in doc["Mounts"]}
    assert mounts["/data"]["Type"] == "volume" and mounts["/data"]["Name"] == "data"
    assert mounts["/data"]["RW"] is True and mounts["/data"]["Propagation"] == "rprivate"
    assert mounts["/bind"]["Type"] == "bind" and mounts["/bind"]["RW"] is False
    for key in ("RestartCount", "Driver", "OCIRuntime", "Rootfs", "OCIConfigPath", "ConmonPidFile"):
        assert key in doc


def test_container_inspect_after_exit_and_format(pod, busybox, created):
    pod("start", "-a", "c1")
    out = pod("container", "inspect", "--format",
              "{{.State.Status}} {{.State.ExitCode}} {{.Config.Labels.tier}}", "c1",
              check=True).stdout  # fmt: skip
    assert out == "exited 3 web\n"
    (doc,) = json.loads(pod("container", "inspect", created[:12], check=True).stdout)
    assert doc["State"]["FinishedAt"] != "0001-01-01T00:00:00Z"


def test_inspect_auto_detects_and_types(pod, busybox, created, test_images):
    pod("volume", "create", "vol1", check=True)
    docs = _inspect(pod, "c1", busybox, "vol1")
    assert docs[0]["Id"] == created
    assert docs[1]["Id"] == test_images.busybox.id
    assert docs[2]["Name"] == "vol1" and docs[2]["Driver"] == "local"
    assert _inspect(pod, "--type", "image", busybox)[0]["Id"] == test_images.busybox.id
    assert _inspect(pod, "--type", "volume", "data")[0]["Name"] == "data"
    miss = pod("inspect", "--type", "volume", "c1")
    assert miss.returncode == 125 and "no such volume c1" in miss.stderr
    names = pod("inspect", "-f", "{{.Name}}", "c1", "vol1", check=True).stdout
    assert names == "c1\nvol1\n"


def test_inspect_errors(pod, busybox, created):
    miss = pod("inspect", "nosuch")
    assert miss.returncode == 125
    assert miss.stderr.strip() == 'Error: inspecting object: no such object: "nosuch"'
    assert json.loads(miss.stdout) == []
    partial = pod("inspect", "c1", "nosuch")
    assert partial.returncode == 125 and json.loads(partial.stdout)[0]["Name"] == "c1"
    bad = pod("inspect", "--format", "{{.Nope}}", "c1")
    assert bad.returncode == 125 and "Nope" in bad.stderr
    kind = pod("inspect", "--type", "bogus", "c1")
    assert kind.returncode == 125 and 'invalid type "bogus"' in kind.stderr
    assert pod("container", "inspect", "nosuch").returncode == 125


def test_version(pod):
    out = pod("version", check=True).stdout.splitlines()
    commit = json.loads(pod("version", "--format", "json", check=True).stdout)["Client"][
        "GitCommit"
    ]
    assert [line.split(":")[0] for line in out] == [  # podman's keys
        "Client", "Version", "API Version", "Go Version", *(["Git Commit"] if commit else []),
        "Built", "OS/Arch"]  # fmt: skip
    from pod import __version__

    assert pod("version", "--format", "{{.Client.Version}}", check=True).stdout == (
        f"{__version__}\n"
    )
    assert json.loads(pod("version", "--format", "json", check=True).stdout)["Client"]["Os"]


CHECKS = {"subids", "newuidmap", "xdgRuntimeDir", "cgroups", "rootfs", "unprivilegedPorts", "tun",
          "storageDriver", "networkBackend"}  # fmt: skip


def test_info_rootful(pod, busybox, created):
    text = pod("info", check=True).stdout
    assert text.startswith("host:\n  arch: ")
    for line in ("  cgroupManager: cgroupfs", "  os: linux", "store:", "version:"):
        assert line in text.splitlines()
    data = json.loads(pod("info", "--format", "json", check=True).stdout)
    assert data["host"]["security"]["rootless"] is False
    assert data["host"]["cgroupVersion"] in ("v1", "v2")
    assert data["store"]["containerStore"]["number"] == 1
    assert data["store"]["imageStore"]["number"] == 1
    assert data["store"]["graphRoot"] == str(pod.root)
    assert {c["name"] for c in data["host"]["checks"]} == CHECKS
    out = pod("info", "--format", "{{.Store.GraphDriverName}} {{.Host.OCIRuntime.Name}}")
    assert out.stdout == "overlay pod\n"


def test_info_rootless_checks(rootless_pod):
    data = json.loads(rootless_pod("info", "--format", "json", check=True).stdout)
    host = data["host"]
    assert host["security"]["rootless"] is True
    assert host["idMappings"]["uidmap"][1]["size"] >= 65536
    checks = {c["name"]: c for c in host["checks"]}
    assert set(checks) == CHECKS
    assert checks["subids"]["status"] == "ok" and checks["newuidmap"]["status"] == "ok"
    assert checks["xdgRuntimeDir"]["status"] == "ok"
    tun = checks["tun"]
    assert tun["status"] == "ok" or "chmod 0666 /dev/net/tun" in tun["fix"]
    text = rootless_pod("info", check=True).stdout
    assert "  checks:\n" in text and "    subids: " in text


def test_info_rootless_without_runtime_dir(rootless_pod):
    result = rootless_pod("info", "--format", "json", env={"XDG_RUNTIME_DIR": None}, check=True)
    checks = {c["name"]: c for c in json.loads(result.stdout)["host"]["checks"]}
    assert checks["xdgRuntimeDir"]["status"] == "warn" and checks["xdgRuntimeDir"]["fix"]


def test_system_prune(pod, busybox, created):
    pod("run", "--name", "keep", "-d", busybox, *IDLE, check=True)
    pod("volume", "create", "lonely", check=True)
    assert pod("system", "prune", input="n\n").stdout.startswith("WARNING! This command removes:")
    assert pod("container", "inspect", "c1").returncode == 0
    out = pod("system", "prune", "-f", "--volumes", check=True).stdout
    assert out.startswith(f"Deleted Containers\n{created}\nDeleted Volumes\n")
    assert "lonely" in out and "Total reclaimed space: " in out.splitlines()[-1]
    assert pod("volume", "exists", "lonely").returncode == 1
    assert pod("image", "exists", busybox).returncode == 0  # used by `keep`
    pod("rm", "-f", "keep", check=True)
    out = pod("system", "prune", "-a", "-f", check=True).stdout
    assert "Deleted Images" in out and pod("image", "exists", busybox).returncode == 1


def test_system_df_verbose(pod, busybox, created):
    out = pod("system", "df", "-v", check=True).stdout
    sections = out.split("\n\n")
    assert sections[0] == "Images space usage:"
    assert sections[1].split("\n")[0].split() == [
        "REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE", "SHARED", "SIZE", "UNIQUE",
        "SIZE", "CONTAINERS"]  # fmt: skip
    assert "Containers space usage:" in sections and "Local Volumes space usage:" in sections
    assert "c1" in out and "data" in out
    summary = pod("system", "df", "--format", "{{.Type}} {{.Total}}", check=True).stdout
    assert summary.splitlines() == ["Images 1", "Containers 1", "Local Volumes 1"]


def test_system_reset(pod, busybox, created):
    assert pod("system", "reset", input="n\n").stdout.startswith("WARNING! This will remove:")
    assert pod.root.exists()
    pod("run", "--name", "live", "-d", busybox, "sleep", "60", check=True)
    pod("system", "reset", "-f", check=True)
    assert not pod.root.exists() and not pod.runroot.exists()
    assert pod("ps", "-a", "-q", check=True).stdout == ""
