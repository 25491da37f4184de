"""The event log: what pod processes and shims append, and `pod events` reading, filtering,
following it (through a rotation too), rootful and rootless."""

from __future__ import annotations

import json
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from polling import wait_for

RUN_RM = ["create", "init", "start", "attach", "died", "cleanup", "remove"]


def _events(pod, *args) -> list[dict]:
    out = pod("events", "--stream=false", "--format", "json", *args, check=True, timeout=30)
    return [json.loads(line) for line in out.stdout.splitlines()]


def _statuses(pod, name: str) -> list[str]:
    return [e["Status"] for e in _events(pod) if e.get("Name") == name]


def test_a_run_rm_leaves_its_whole_story_in_order(pod, busybox):
    pod("run", "--rm", "--name", "once", busybox, "sh", "-c", "exit 3")
    assert _statuses(pod, "once") == RUN_RM
    died = next(e for e in _events(pod) if e["Status"] == "died")
    assert died["ContainerExitCode"] == 3
    assert set(died) == {"ContainerExitCode", "ID", "Image", "Name", "Status", "Time", "Type",
                         "Attributes"}  # fmt: skip
    assert died["Type"] == "container" and died["Image"] == busybox
    assert died["Time"].endswith("Z") and "T" in died["Time"]


def test_twenty_concurrent_runs_give_twenty_complete_stories(pod, busybox):
    def run(n: int) -> int:
        return pod("run", "--rm", "--name", f"c{n}", "--network", "none", busybox, "true",
                   timeout=120).returncode  # fmt: skip

    with ThreadPoolExecutor(max_workers=20) as pool:
        assert list(pool.map(run, range(20))) == [0] * 20
    lines = (pod.runroot / "events" / "events.log").read_text().splitlines()
    parsed = [json.loads(line) for line in lines]  # no torn or interleaved line
    for n in range(20):
        assert [e["Status"] for e in parsed if e.get("Name") == f"c{n}"] == RUN_RM


def test_lifecycle_events(pod, busybox):
    pod("run", "-d", "--name", "life", busybox, "sleep", "60", check=True)
    pod("exec", "life", "sh", "-c", "exit 4")
    pod("kill", "-s", "USR1", "life", check=True)
    pod("restart", "-t", "0", "life", check=True)
    pod("stop", "-t", "0", "life", check=True)
    pod("rm", "life", check=True)
    statuses = _statuses(pod, "life")
    for expected in ("exec", "exec_died", "kill", "stop", "restart", "remove"):
        assert expected in statuses, statuses
    exec_died = next(e for e in _events(pod) if e["Status"] == "exec_died")
    assert exec_died["ContainerExitCode"] == 4


def test_filters_formats_and_times(pod, busybox):
    pod("run", "--rm", "--name", "a", "--label", "team=red", busybox, "true", check=True)
    pod("run", "--rm", "--name", "b", busybox, "true", check=True)
    only_a = _events(pod, "--filter", "container=a")
    assert {e["Name"] for e in only_a} == {"a"}
    died = _events(pod, "--filter", "event=died", "--filter", "event=create")
    assert sorted(e["Status"] for e in died) == ["create", "create", "died", "died"]
    labelled = _events(pod, "--filter", "label=team=red", "--filter", "event=start")
    assert [e["Name"] for e in labelled] == ["a"]
    assert _events(pod, "--filter", "type=volume") == []
    text = pod("events", "--stream=false", "--filter", "container=b", "--filter", "event=died",
               "--format", "{{.Status}} {{.Name}} {{.Type}} {{.Image}}", check=True)  # fmt: skip
    assert text.stdout == f"died b container {busybox}\n"
    plain = pod("events", "--stream=false", "--filter", "container=b", "--filter", "event=died",
                check=True).stdout  # fmt: skip
    assert plain.split()[4:6] == ["container", "died"]
    assert len(plain.split()[6]) == 64  # --no-trunc is the default; =false truncates
    short = pod("events", "--stream=false", "--filter", "container=b", "--filter", "event=died",
                "--no-trunc=false", check=True).stdout  # fmt: skip
    assert short.split()[6] == plain.split()[6][:12]
    # the container's labels follow, the image's among them (as podman's)
    assert ", name=b, org.opencontainers.image.title=pod-test-busybox)" in plain
    assert _events(pod, "--since", "1h") != []
    assert _events(pod, "--until", "1h") == []  # all of them came less than an hour ago
    future = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
    assert _events(pod, "--since", future) == []
    bad = pod("events", "--stream=false", "--filter", "nonsense=1")
    assert bad.returncode == 125 and bad.stderr.startswith("Error: ")


def test_following_sees_new_events_and_stops_at_until(pod, busybox):
    until = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 8))
    follower = subprocess.Popen(
        pod.command("events", "--filter", "event=died", "--format", "{{.Name}}",
                    "--until", until),  # fmt: skip
        stdout=subprocess.PIPE, text=True, env=pod.env(), cwd=pod.tmp,
    )  # fmt: skip
    try:
        time.sleep(1)
        pod("run", "--rm", "--name", "seen", busybox, "true", check=True)
        out, _ = follower.communicate(timeout=20)
    finally:
        follower.kill()
    assert out == "seen\n"


def test_no_event_is_lost_across_a_rotation(pod, busybox, tmp_path):
    conf = tmp_path / "containers.conf"
    conf.write_text('[engine]\nevents_logfile_max_size = "2k"\n')
    env = {"CONTAINERS_CONF": str(conf)}
    follower = subprocess.Popen(
        pod.command("events", "--filter", "event=create", "--format", "{{.Name}}"),
        stdout=subprocess.PIPE, text=True, env=pod.env(env), cwd=pod.tmp,
    )  # fmt: skip
    try:
        time.sleep(1)
        for n in range(8):  # each run writes ~1.8 kB of events: several rotations
            pod("run", "--rm", "--name", f"r{n}", "--network", "none", busybox, "true", env=env,
                check=True)  # fmt: skip
        names = []
        assert follower.stdout is not None
        while len(names) < 8:
            names.append(follower.stdout.readline().strip())
    finally:
        follower.kill()
    assert names == [f"r{n}" for n in range(8)]
    assert (pod.runroot / "events" / "events.log.1").exists()


def test_backends(pod, busybox):
    pod("--events-backend", "none", "run", "--rm", "--name", "quiet", busybox, "true", check=True)
    assert _statuses(pod, "quiet") == []  # neither the command nor its shim wrote one
    journald = pod("--events-backend", "journald", "ps")
    assert journald.returncode == 125 and "no journal" in journald.stderr
    unknown = pod("--events-backend", "syslog", "ps")
    assert unknown.returncode == 125
    info = json.loads(pod("info", "--format", "json", check=True).stdout)
    assert info["host"]["eventLogger"] == "file"


def test_events_logger_in_containers_conf(pod, busybox, tmp_path):
    """containers.conf decides when no flag does; journald there is refused before any work
    (not once the container exists and its first event is due)."""
    conf = tmp_path / "containers.conf"
    conf.write_text('[engine]\nevents_logger = "none"\n')
    none = {"CONTAINERS_CONF": str(conf)}
    assert pod("info", "--format", "{{.Host.EventLogger}}", env=none).stdout == "none\n"
    pod("run", "--rm", "--name", "unlogged", busybox, "true", env=none, check=True)
    assert _statuses(pod, "unlogged") == []
    conf.write_text('[engine]\nevents_logger = "journald"\n')
    journald = {"CONTAINERS_CONF": str(conf)}
    for args in (["run", "--rm", "--name", "never", busybox, "true"], ["tag", busybox, "x:1"]):
        refused = pod(*args, env=journald)
        assert refused.returncode == 125 and "no journal" in refused.stderr, refused.stderr
    assert pod("ps", "-a", "-q").stdout == ""
    assert "localhost/x:1" not in pod("images", "--format", "{{.Repository}}:{{.Tag}}").stdout
    flag_wins = pod("--events-backend", "file", "info", "--format", "{{.Host.EventLogger}}",
                    env=journald)  # fmt: skip
    assert flag_wins.stdout == "file\n"


@pytest.mark.rootless
def test_rootless_run_rm_story(rootless_pod, rootless_busybox):
    rootless_pod("run", "--rm", "--name", "once", rootless_busybox, "true", check=True)
    wait_for(lambda: _statuses(rootless_pod, "once") == RUN_RM)


def _of_type(pod, kind: str) -> list[tuple[str, str]]:
    return [(e["Status"], e["Name"]) for e in _events(pod, "--filter", f"type={kind}")]


def test_image_events_as_libimage_writes_them(pod, busybox, registry):
    pod("pull", busybox, check=True)
    pod("tag", busybox, "evimg:1", check=True)
    pod("untag", "evimg:1", "evimg:1", check=True)
    pod("tag", busybox, "evimg:2", check=True)
    image_id = pod("image", "inspect", "--format", "{{.Id}}", busybox, check=True).stdout.strip()
    pod("rmi", "evimg:2", check=True)
    images = _events(pod, "--filter", "type=image")
    assert [(e["Status"], e["Name"]) for e in images] == [
        ("pull", busybox),  # the fixture's
        ("pull", busybox),
        ("tag", "localhost/evimg:1"),
        ("untag", "localhost/evimg:1"),
        ("tag", "localhost/evimg:2"),
        ("untag", "localhost/evimg:2"),
    ]
    assert "ID" not in images[0]  # a pull names what was asked for, as podman's
    assert {e["ID"] for e in images[2:]} == {image_id}
    text = pod("events", "--stream=false", "--filter", "event=tag", check=True).stdout
    assert text.splitlines()[0].endswith(f" image tag {image_id} localhost/evimg:1")
    destination = f"{registry.host}/events/pushed:1"
    pod("push", busybox, destination, check=True)
    assert _events(pod, "--filter", "event=push")[0]["Name"] == destination


def test_the_last_name_removed_removes_the_image(pod, busybox):
    pod("build", "-q", "-t", "evbuilt", "-f", "-", ".", input=f"FROM {busybox}\nRUN true\n",
        check=True)  # fmt: skip
    built = pod("image", "inspect", "--format", "{{.Id}}", "evbuilt", check=True).stdout.strip()
    pod("rmi", "evbuilt", check=True)
    mine = [(e["Status"], e.get("ID", ""), e.get("Name")) for e in _events(pod)
            if built in (e.get("ID"), e.get("Name"))]  # fmt: skip
    assert mine == [("build", "", built),  # podman 4.3's: the ID as the name, and no ID
                    ("untag", built, "localhost/evbuilt:latest"),
                    ("remove", built, "localhost/evbuilt:latest")]  # fmt: skip


def test_volume_events(pod, busybox):
    pod("volume", "create", "ev1", check=True)
    pod("volume", "rm", "ev1", check=True)
    pod("volume", "create", "ev2", check=True)
    pod("volume", "prune", "-f", check=True)
    assert _of_type(pod, "volume") == [
        ("create", "ev1"), ("remove", "ev1"), ("create", "ev2"), ("remove", "ev2"),
        ("prune", "ev2"),
    ]  # fmt: skip
    text = pod("events", "--stream=false", "--filter", "volume=ev1", check=True).stdout
    assert [line.split(" UTC ", 1)[1] for line in text.splitlines()] == [
        "volume create ev1", "volume remove ev1"
    ]  # fmt: skip


def test_network_events(pod, busybox):
    pod("network", "create", "evnet", check=True)
    pod("create", "--name", "evc", "--network", "evnet", busybox, "true", check=True)
    ctr = pod("inspect", "--format", "{{.Id}}", "evc", check=True).stdout.strip()
    pod("network", "disconnect", "evnet", "evc", check=True)
    pod("network", "connect", "evnet", "evc", check=True)
    pod("rm", "evc", check=True)
    pod("network", "rm", "evnet", check=True)
    network = _events(pod, "--filter", "type=network")
    assert [(e["Status"], e["Name"], e["network"]) for e in network] == [
        ("create", "evnet", "evnet"), ("disconnect", "evc", "evnet"),
        ("connect", "evc", "evnet"), ("remove", "evnet", "evnet"),
    ]  # fmt: skip
    assert network[1]["ID"] == ctr
    text = pod("events", "--stream=false", "--filter", "event=connect", check=True).stdout
    assert text.rstrip().endswith(f" network connect {ctr} (container={ctr}, name=evnet)")
    by_network = _events(pod, "--filter", "network=evnet")
    assert [e["Status"] for e in by_network] == ["create", "disconnect", "connect", "remove"]


def test_images_as_files_and_mounts_leave_events(pod, busybox, tmp_path):
    archive = tmp_path / "saved.tar"
    image_id = pod("image", "inspect", "--format", "{{.Id}}", busybox, check=True).stdout.strip()
    pod("save", "-o", archive, busybox, check=True)
    pod("rmi", busybox, check=True)
    pod("load", "-i", archive, check=True)
    pod("import", archive, "imported:1", check=True)
    pod("image", "mount", busybox, check=True)
    pod("image", "unmount", busybox, check=True)
    pod("create", "--name", "mounted", busybox, "true", check=True)
    pod("mount", "mounted", check=True)
    pod("umount", "mounted", check=True)
    seen = [(e["Type"], e["Status"], e.get("ID", ""), e["Name"]) for e in _events(pod)]
    assert ("image", "save", image_id, str(archive)) in seen
    assert ("image", "loadfromarchive", "", str(archive)) in seen  # podman's name for load
    imported = next(e for e in seen if e[1] == "import")
    assert imported[3] == str(archive) and len(imported[2]) == 64
    assert ("image", "mount", image_id, busybox) in seen
    assert ("image", "unmount", image_id, busybox) in seen
    statuses = [e[1] for e in seen if e[0] == "container" and e[3] == "mounted"]
    assert statuses[-2:] == ["mount", "unmount"]


def test_file_transports_leave_pull_and_push_events(pod, busybox, tmp_path):
    """As libimage: the reference as typed, transport and all, and no ID."""
    layout = f"oci:{tmp_path / 'layout'}:v1"
    pod("push", busybox, layout, check=True)
    pod("pull", "-q", layout, check=True)
    seen = [(e["Status"], e.get("ID", ""), e["Name"]) for e in _events(pod, "--filter",
            "type=image")]  # fmt: skip
    assert ("push", "", layout) in seen and ("pull", "", layout) in seen


def test_a_build_logs_the_image_not_its_step_containers(pod, busybox, tmp_path):
    """podman's builds run RUN in buildah's containers, which log no events: only `build`."""
    (tmp_path / "Containerfile").write_text(f"FROM {busybox}\nRUN echo built > /built\n")
    pod("build", "-q", "-t", "evbuild:1", tmp_path, check=True)
    seen = [(e["Type"], e["Status"]) for e in _events(pod) if e["Type"] != "image" or
            e["Status"] == "build"]  # fmt: skip
    assert seen == [("image", "build")]
