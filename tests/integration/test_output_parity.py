"""Differential tests: what scripts parse, through pod and through podman 4.3.1.

Each test runs the same command lines through pod and podman (podman_ref.py), each with its own
store and the same images from the test registry, and compares exit codes and parsed output:
JSON keys, order and types (`assert_same_shape`), template output (byte for byte where the two
stores hold the same facts, else after `normalized`), table headers, error lines.
"""

from __future__ import annotations

import contextlib
import fnmatch
import json
import re
import socket
from collections.abc import Iterator

import pytest
from podman_ref import fresh_podman
from runners import isolated_pod

pytestmark = pytest.mark.needs_tool("podman")

ZERO_UNIX = -62135596800  # Go's zero time in Unix seconds: podman's "never"
GO_TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{1,9})? [+-]\d{4} [A-Z+\-0-9]+")
RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)")
AGE = re.compile(r"Less than a second|About an? \w+|\d+ (seconds?|minutes?|hours?|days?|weeks?)")


# --- helpers ------------------------------------------------------------------------------------


def _kind(value) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if value is None:
        return "null"
    return type(value).__name__


def assert_same_shape(ours, theirs, path="$", maps=(), ignore=()):
    """Same keys in the same order and the same JSON types, all the way down; `maps` are the
    paths (fnmatch) of maps, whose keys are data, and `ignore` paths are not compared."""
    if any(fnmatch.fnmatch(path, pattern) for pattern in ignore):
        return
    assert _kind(ours) == _kind(theirs), f"{path}: pod {ours!r}, podman {theirs!r}"
    if isinstance(theirs, dict):
        if any(fnmatch.fnmatch(path, pattern) for pattern in maps):
            return
        assert list(ours) == list(theirs), f"{path}: keys differ"
        for key in theirs:
            assert_same_shape(ours[key], theirs[key], f"{path}.{key}", maps, ignore)
    elif isinstance(theirs, list):
        for index, (mine, other) in enumerate(zip(ours, theirs, strict=False)):
            assert_same_shape(mine, other, f"{path}[{index}]", maps, ignore)


def cells(text: str) -> list[list[str]]:
    """A table's cells (columns are two or more spaces apart): alignment depends on the
    widths of values, like ages, that differ between the two stores."""
    return [re.split(r"\s{2,}", line.strip()) for line in text.splitlines()]


def normalized(text: str, *replace: tuple[str, str]) -> str:
    """Ages ("3 seconds") and the given values (store paths, ports, ids) made comparable."""
    for old, new in replace:
        text = text.replace(old, new)
    return AGE.sub("AGE", text)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def same(pod, podman, *args, replace=()) -> str:
    """Run in both: the same exit code, stdout and stderr (after `normalized`); pod's stdout."""
    ours, theirs = pod(*args), podman(*args)
    assert ours.returncode == theirs.returncode, (args, ours.stderr, theirs.stderr)
    assert normalized(ours.stdout, *replace) == normalized(theirs.stdout, *replace), args
    assert normalized(ours.stderr, *replace) == normalized(theirs.stderr, *replace), args
    return ours.stdout


def json_of(runner, *args):
    return json.loads(runner(*args, check=True).stdout)


def json_pair(pod, podman, *args):
    """The parsed JSON output of the same command through pod and through podman."""
    return json_of(pod, *args), json_of(podman, *args)


@pytest.fixture
def image(pod, podman, test_images) -> str:
    """The busybox test image, pulled into both stores: its reference."""
    for engine in (pod, podman):
        engine("pull", "-q", test_images.busybox.ref, check=True)
    return test_images.busybox.ref


# The tests that only read the stores share theirs, made once per module: pulling into a fresh
# podman store and removing it again take seconds a test.


@contextlib.contextmanager
def _shared_stores(registry, test_images, tmp_path_factory) -> Iterator[tuple]:
    """A pod store and a podman store of their own, both holding the busybox test image."""
    with (
        isolated_pod(tmp_path_factory.mktemp("pod-shared"), [registry.host]) as pod,
        fresh_podman(tmp_path_factory.mktemp("podman-shared"), [registry.host]) as podman,
    ):
        for engine in (pod, podman):
            engine("pull", "-q", test_images.busybox.ref, check=True)
        yield pod, podman


@pytest.fixture(scope="module")
def images_only(registry, test_images, tmp_path_factory):
    """(pod, podman, image): the two stores hold the busybox test image and nothing else."""
    with _shared_stores(registry, test_images, tmp_path_factory) as (pod, podman):
        yield pod, podman, test_images.busybox.ref


def _make_containers(pod, podman, image: str) -> dict[str, int]:
    """In both: `web` running (a label, a named volume, a published port), `done` exited 3,
    `fresh` created; the ports each engine published ("pod", "podman"), for normalizing."""
    ports = {}
    for key, engine in (("pod", pod), ("podman", podman)):
        port = free_port()
        engine("run", "-d", "--name", "web", "-l", "tier=web", "-v", "data:/data",
               "-p", f"{port}:80", image, "sleep", "1000", check=True)  # fmt: skip
        engine("run", "--name", "done", image, "sh", "-c", "exit 3")
        engine("create", "--name", "fresh", image, "true", check=True)
        ports[key] = port
    return ports


@pytest.fixture(scope="module")
def containers(registry, test_images, tmp_path_factory):
    """(pod, podman, ports): the two stores with the containers of _make_containers."""
    with _shared_stores(registry, test_images, tmp_path_factory) as (pod, podman):
        yield pod, podman, _make_containers(pod, podman, test_images.busybox.ref)


# --- images, history, image inspect -------------------------------------------------------------

IMAGE_TEMPLATES = [
    "{{.ID}}",
    "{{.Id}}",
    "{{.Repository}}:{{.Tag}}",
    "{{.Created}} {{.CreatedAt}} {{.CreatedSince}} {{.CreatedTime}}",
    "{{.Size}} {{.VirtualSize}} {{.SharedSize}}",
    "{{.Labels}} {{.Names}} {{.History}} {{.Digest}} {{.RepoTags}} {{.RepoDigests}}",
    "{{.Dangling}} {{.ReadOnly}} {{.IsReadOnly}} {{.IsDangling}} {{.Containers}} {{.ParentId}}",
    "{{.}}",
    '{{json .Labels}} {{.Created | printf "%s"}}',
    "table {{.ID}} {{.Repository}} {{.ReadOnly}} {{.CreatedSince}} {{.Created}}",
]


@pytest.mark.parametrize("template", IMAGE_TEMPLATES)
def test_images_format_templates(images_only, template):
    pod, podman, _ = images_only
    same(pod, podman, "images", "--format", template)


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--format", "json"],
        ["-q"],
        ["-q", "--no-trunc"],
        ["--digests"],
        ["--noheading"],
        ["--no-trunc"],
        ["--sort", "size"],
        ["--format", "{{.Digests}}"],  # not a field of podman's imageReporter: exit 125
    ],
)
def test_images_output(images_only, args):
    pod, podman, _ = images_only
    same(pod, podman, "images", *args)


def test_images_sort_error(images_only):
    pod, podman, _ = images_only
    ours, theirs = pod("images", "--sort", "bogus"), podman("images", "--sort", "bogus")
    assert ours.returncode == theirs.returncode == 125
    # podman lists the keys in a Go map's (random) order
    words = re.compile(r"[\w\"]+")
    assert sorted(words.findall(ours.stderr)) == sorted(words.findall(theirs.stderr))


def test_images_json_shape(images_only):
    pod, podman, _ = images_only
    ours, theirs = json_pair(pod, podman, "images", "--format", "json")
    assert_same_shape(ours, theirs, maps=["*.Labels"])
    assert ours[0]["Labels"] == theirs[0]["Labels"] != {}
    assert ours[0]["RepoTags"] is None  # podman writes null here


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--human=false"],
        ["--no-trunc"],
        ["-q"],
        ["--format", "json"],
        ["--format", "{{.ID}} {{.Created}} {{.CreatedAt}} {{.CreatedSince}} {{.Size}}"],
        ["--format", "{{.Tags}} {{.Comment}} {{.CreatedBy}} {{.}}"],
        ["--format", "table {{.ID}} {{.CreatedBy}} {{.Tags}} {{.CreatedAt}}"],
    ],
)
def test_history_output(images_only, args):
    pod, podman, image = images_only
    same(pod, podman, "history", *args, image)


def test_history_dates_are_rfc3339(images_only):
    pod, _, image = images_only
    rows = pod("history", "--human=false", image, check=True).stdout.splitlines()
    assert RFC3339.fullmatch(rows[1].split()[1])
    (layer,) = json_of(pod, "history", "--format", "json", image)
    assert RFC3339.fullmatch(layer["created"]) and RFC3339.fullmatch(layer["Created"])


@pytest.mark.parametrize(
    "template",
    [
        "{{.ID}} {{.Id}} {{.Digest}} {{.RepoTags}} {{.Architecture}} {{.Os}}",
        "{{.Created}} {{.Size}} {{.VirtualSize}} {{.Labels}} {{.Annotations}}",
        "{{.Config}} {{.Config.ExposedPorts}} {{.Config.Volumes}} {{.Config.Env}}",
        "{{.History}} {{.RootFS}} {{.NamesHistory}} {{.User}} {{.ManifestType}}",
        "{{.Created.Unix}} {{(index .History 0).Created}}",
    ],
)
def test_image_inspect_templates(images_only, template):
    pod, podman, image = images_only
    same(pod, podman, "image", "inspect", "--format", template, image)


def test_image_inspect_json(images_only):
    pod, podman, image = images_only
    (ours,), (theirs,) = json_pair(pod, podman, "image", "inspect", image)
    assert_same_shape(ours, theirs, maps=["$.GraphDriver.Data"])
    for key in theirs:
        if key != "GraphDriver":
            assert ours[key] == theirs[key], key


# --- ps ------------------------------------------------------------------------------------------


PS_SAME = ("Command", "Names", "Image", "ImageID", "Labels", "Mounts", "State", "Exited",
           "ExitCode", "AutoRemove", "IsInfra", "Pod", "PodName", "Size")  # fmt: skip


def _by_name(records: list[dict]) -> dict[str, dict]:
    return {record["Names"][0]: record for record in records}


def test_ps_json(containers):
    pod, podman, published = containers
    ours, theirs = map(_by_name, json_pair(pod, podman, "ps", "-a", "--format", "json"))
    assert list(ours) == list(theirs) == ["web", "done", "fresh"]  # oldest first
    for name in theirs:
        mine, other = ours[name], theirs[name]
        assert_same_shape(mine, other, maps=["*.Labels"], ignore=["*.Networks[*]"])
        for key in PS_SAME:
            assert mine[key] == other[key], (name, key)
        assert normalized(mine["Status"]) == normalized(other["Status"])
        assert normalized(mine["CreatedAt"]) == normalized(other["CreatedAt"])
        assert (mine["ExitedAt"] == ZERO_UNIX) == (other["ExitedAt"] == ZERO_UNIX), name
        assert (mine["StartedAt"] == ZERO_UNIX) == (other["StartedAt"] == ZERO_UNIX), name
    assert ours["web"]["Ports"][0]["host_port"] == published["pod"]
    mine, other = ours["web"]["Ports"], theirs["web"]["Ports"]
    assert [dict(p, host_port=0) for p in mine] == [dict(p, host_port=0) for p in other]
    inherited = {"org.opencontainers.image.title": "pod-test-busybox"}  # the image's label
    assert ours["web"]["Labels"] == {"tier": "web", **inherited}


PS_TEMPLATES = [
    "{{.Names}} {{.Command}} {{.Image}} {{.ImageID}}",
    "{{.State}} {{.Status}} {{.RunningFor}} {{.CreatedHuman}}",
    "{{.Labels}} {{.Mounts}} {{.Namespaces}}",
    "{{.Exited}} {{.ExitCode}} {{.IsInfra}} {{.AutoRemove}} {{.Pod}} {{.PodName}}",
    "{{.Ports}}",
    "{{.Cgroup}}{{.IPC}}{{.MNT}}{{.NET}}{{.PIDNS}}{{.User}}{{.UTS}}",
    "{{len .ID}} {{.Names | upper}} {{json .Names}} {{json .Labels}}",
    '{{.Label "tier"}}',  # psReporter has no Label method: exit 125 in both
]


@pytest.mark.parametrize("template", PS_TEMPLATES)
def test_ps_format_templates(containers, template):
    pod, podman, published = containers
    ports = [(str(port), "PORT") for port in published.values()]
    same(pod, podman, "ps", "-a", "--format", template, replace=ports)


def test_ps_times_are_go_times(containers):
    pod, podman, _ = containers
    for engine in (pod, podman):
        lines = engine("ps", "-a", "--format", "{{.Created}}|{{.CreatedAt}}", check=True).stdout
        for line in lines.splitlines():
            created, created_at = line.split("|")
            assert GO_TIME.fullmatch(created) and GO_TIME.fullmatch(created_at), line
        unix = engine("ps", "-a", "--format", "{{.Created.Unix}}", check=True).stdout.split()
        assert all(value.isdigit() for value in unix)


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["-a", "--sort", "names"],
        ["-a", "--noheading", "--sort", "status"],
        ["-a", "--format", "table {{.Names}} {{.Status}}"],
        ["-a", "--format", "table {{.ID}} {{.Names}} {{.Pod}} {{.RunningFor}} {{.CreatedAt}}"],
        ["-a", "-q", "--no-trunc", "--format", "{{len .ID}}"],
        ["-n", "2", "--format", "{{.Names}}"],
        ["--latest", "--format", "{{.Names}}"],
    ],
)
def test_ps_output(containers, args):
    pod, podman, published = containers
    ports = [(str(port), "PORT") for port in published.values()]
    ours, theirs = pod("ps", *args), podman("ps", *args)
    assert ours.returncode == theirs.returncode == 0, (ours.stderr, theirs.stderr)
    # the IDs and times differ between the stores: compare cells with them cut out
    volatile = re.compile(r"\b[0-9a-f]{12}\b|" + GO_TIME.pattern)
    mine = cells(volatile.sub("X", normalized(ours.stdout, *ports)))
    other = cells(volatile.sub("X", normalized(theirs.stdout, *ports)))
    assert mine == other


def test_ps_sort_error(containers):
    pod, podman, _ = containers
    ours, theirs = pod("ps", "--sort", "bogus"), podman("ps", "--sort", "bogus")
    assert ours.returncode == theirs.returncode == 125
    assert ours.stderr.splitlines()[0] == theirs.stderr.splitlines()[0]


# --- container, volume and network inspect ------------------------------------------------------


def test_container_inspect_json_keys(containers):
    pod, podman, _ = containers
    (ours,), (theirs,) = json_pair(pod, podman, "inspect", "web")
    maps = ["*.Labels", "*.Annotations", "*.Networks", "*.Ports", "*.PortBindings", "*.Tmpfs",
            "*.GraphDriver.Data"]  # fmt: skip
    ignore = ["$.State.CgroupPath", "$.Config.CreateCommand[*]", "$.HostConfig.Ulimits[*]"]
    theirs["State"].pop("CgroupPath", None)  # omitempty: pod's runtime reports none
    assert_same_shape(ours, theirs, maps=maps, ignore=ignore)
    assert ours["Config"]["Labels"] == theirs["Config"]["Labels"]
    assert RFC3339.fullmatch(ours["Created"]) and RFC3339.fullmatch(ours["State"]["StartedAt"])


@pytest.mark.parametrize(
    "template",
    [
        "{{.Config.Labels}} {{.Config.Cmd}} {{.Config.Volumes}} {{.Config.StopSignal}}",
        "{{.State.Status}} {{.State.Health}} {{.State.FinishedAt}} {{.RestartCount}}",
        "{{.HostConfig.RestartPolicy}} {{.HostConfig.LogConfig.Type}} {{.HostConfig.Tmpfs}}",
        "{{.HostConfig.PortBindings}} {{.NetworkSettings.Ports}}",
        '{{(index (index .NetworkSettings.Ports "80/tcp") 0).HostIP}}',
        "{{eq .ID .Id}} {{len .Created.String}} {{.Name}} {{.ImageName}} {{.Image}}",
    ],
)
def test_container_inspect_templates(containers, template):
    pod, podman, published = containers
    ports = [(str(port), "PORT") for port in published.values()]
    same(pod, podman, "container", "inspect", "--format", template, "web", replace=ports)
    for engine in (pod, podman):
        for what in ("{{.Created}}", "{{.State.StartedAt}}"):
            assert GO_TIME.fullmatch(engine("inspect", "-f", what, "web").stdout.strip())


def test_volume_listing_and_inspect(pod, podman, image):
    for engine in (pod, podman):
        assert engine("volume", "ls").stdout == ""  # no volumes: not even the header
        engine("volume", "create", "-l", "a=b", "v1", check=True)
    ours, theirs = json_pair(pod, podman, "volume", "ls", "--format", "json")
    assert_same_shape(ours, theirs, maps=["*.Labels", "*.Options"])
    assert ours[0]["NeedsChown"] is theirs[0]["NeedsChown"] is True  # never mounted yet
    text = pod("volume", "ls", "--format", "json", check=True).stdout
    assert '"Options": {\n      \n    },' in text  # json-iterator's layout, as podman's
    stores = [(str(pod.root), "ROOT"), (str(podman.root), "ROOT")]
    fields = "{{.Name}} {{.Labels}} {{.Scope}} {{.NeedsChown}} {{.NeedsCopyUp}} {{.Options}}"
    for args in (
        ["volume", "ls"],
        ["volume", "ls", "-q"],
        ["volume", "ls", "--format", fields + " {{.MountCount}}"],
        ["volume", "inspect", "--format", fields + " {{.Anonymous}} {{.Status}} {{.UID}}", "v1"],
    ):
        same(pod, podman, *args, replace=stores)
    table = ("volume", "ls", "--format", "table {{.Name}} {{.Mountpoint}} {{.Driver}} {{.Scope}}")
    assert cells(normalized(pod(*table).stdout, *stores)) == cells(
        normalized(podman(*table).stdout, *stores)
    )
    (mine,), (other,) = json_pair(pod, podman, "volume", "inspect", "v1")
    assert_same_shape(mine, other, maps=["*.Labels", "*.Options"])
    for engine in (pod, podman):
        created = engine("volume", "inspect", "-f", "{{.CreatedAt}}", "v1").stdout.strip()
        assert GO_TIME.fullmatch(created)
        engine("run", "--rm", "-v", "v1:/data", image, "true", check=True)
        engine("create", "--name", "idle", "-v", "v2:/data", image, "true", check=True)
    ours, theirs = json_pair(pod, podman, "volume", "ls", "--format", "json")
    assert [v["Name"] for v in ours] == [v["Name"] for v in theirs] == ["v1", "v2"]
    assert "NeedsChown" not in ours[0] and "NeedsChown" not in theirs[0]  # chowned at first use
    assert ours[1]["NeedsChown"] is theirs[1]["NeedsChown"] is True  # its container never ran


def test_network_listing_and_inspect(pod, podman):
    for engine in (pod, podman):
        engine("network", "create", "--label", "k=v", "netx", check=True)
    listed = json_pair(pod, podman, "network", "ls", "--format", "json")
    ours, theirs = ([n for n in nets if n["name"] == "netx"] for nets in listed)
    maps = ["*.labels", "*.options", "*.ipam_options"]
    assert_same_shape(ours, theirs, maps=maps, ignore=["*.dns_enabled"])
    ours, theirs = json_pair(pod, podman, "network", "inspect", "netx")
    assert_same_shape(ours, theirs, maps=maps, ignore=["*.dns_enabled"])
    subnet = re.compile(r"\[\{\{\{[\d.]+ [0-9a-f]{8}\}\} [\d.]+ <nil>\}\]")
    for engine in (pod, podman):
        for args in (["network", "ls", "--filter", "name=netx"], ["network", "inspect"]):
            fmt = "{{.Created}}|{{.Subnets}}|{{.Labels}}|{{len .ID}}|{{.Options}}"
            line = engine(*args, "--format", fmt, *(["netx"] if "inspect" in args else []),
                          check=True).stdout.strip()  # fmt: skip
            created, subnets, labels, length, options = line.split("|")
            assert GO_TIME.fullmatch(created) and subnet.fullmatch(subnets), line
            assert (labels, length) == (("k=v", "12") if "ls" in args else ("map[k:v]", "64"))
            assert options == "map[]"
    header = "table {{.ID}} {{.Name}} {{.Labels}} {{.Created}} {{.IPv6Enabled}}"
    assert (cells(pod("network", "ls", "--format", header).stdout)[0]
            == cells(podman("network", "ls", "--format", header).stdout)[0])  # fmt: skip


def _timeless(text: str, replace) -> str:
    """Output with its times (Go's and RFC 3339's) and the given values made comparable."""
    return normalized(RFC3339.sub("TIME", GO_TIME.sub("TIME", text)), *replace)


def test_secret_listing_and_inspect(pod, podman):
    replace = []
    for engine in (pod, podman):
        made = engine("secret", "create", "-l", "a=b", "s1", "-", input="one", check=True)
        replace.append((made.stdout.strip(), "ID1"))
        data = engine("secret", "inspect", "-f", "{{.Spec.Driver.Options.path}}", "s1").stdout
        replace.append((data.strip(), "DATA"))
    for args in (
        ["secret", "ls", "-q"],
        ["secret", "ls", "--noheading"],  # one secret: podman lists them in a map's order
        ["secret", "ls", "--format", "json"],  # podman 4.3: a template like any other
        ["secret", "ls", "--format", "{{.}}|{{json .}}|{{.CreatedAt}}"],
        ["secret", "ls", "--format", "{{.Nope}}"],
        ["secret", "ls", "--filter", "name=[", "--format", "{{.Name}}"],
        ["secret", "ls", "--filter", "bogus=1"],
    ):
        same(pod, podman, *args, replace=replace)
    for args in (["secret", "ls"], ["secret", "ls", "--format", "table {{.Name}} {{.ID}}"]):
        assert cells(normalized(pod(*args).stdout, *replace)) == cells(
            normalized(podman(*args).stdout, *replace)
        )
    for engine in (pod, podman):
        made = engine("secret", "create", "s2", "-", input="two", check=True)
        replace.append((made.stdout.strip(), "ID2"))
    (ours, _), (theirs, _) = json_pair(pod, podman, "secret", "inspect", "s1", "s2")
    assert_same_shape(ours, theirs, maps=["*.Labels", "*.Options"])
    assert RFC3339.fullmatch(ours["CreatedAt"]) and ours["Spec"]["Labels"] == {"a": "b"}
    for args in (
        ["--format", "{{.ID}} {{.Spec}} {{.Spec.Labels}} {{.CreatedAt}}", "s1", "s2"],
        ["--format", 'table {{.ID}} {{.Spec.Name}} {{printf "%T" .UpdatedAt}}', "s2"],
        ["--pretty", "s1", "s2"],
        ["--pretty", "--format", "{{.ID}}", "s1"],  # --pretty wins
        ["--format", "{{.Nope}}", "s1"],
        ["--format", "{{.Spec.Nope}}", "s1"],
        ["s1", "nope"],
        ["--pretty", "nope"],
    ):
        results = pod("secret", "inspect", *args), podman("secret", "inspect", *args)
        assert results[0].returncode == results[1].returncode, args
        for stream in ("stdout", "stderr"):
            mine, other = (_timeless(getattr(r, stream), replace) for r in results)
            assert mine == other, (args, stream)


def test_diff_output(pod, podman, image):
    script = "rm /bin/true; echo x > /data/f; mkdir -p /a/b; echo > /a/b/c; echo > /etc/z"
    for engine in (pod, podman):
        engine("run", "--name", "d", "-v", "vol:/data", "--tmpfs", "/tm", image, "sh", "-c",
               script, check=True)  # fmt: skip
    for args in ([], ["--format", "json"], ["--format", "{{json .}}"], ["--format", "{{.}}"]):
        same(pod, podman, "diff", *args, "d")
    assert pod("diff", "nope").returncode == podman("diff", "nope").returncode == 125


EVENT_FORMATS = [
    [],  # podman's human-readable line
    ["--format", "json"],
    ["--format", "{{.}}"],
    ["--format", "{{json .}}|{{json .Details}}|{{.PodID}}|{{.Network}}|{{.HealthStatus}}"],
    ["--format", '{{.ContainerExitCode}} {{.Attributes}} {{.Time}} {{printf "%T" .Time}}'],
    ["--format", "{{.Nope}}"],
    ["--format", "{{.Details.Nope}}"],
]


@pytest.mark.parametrize("args", EVENT_FORMATS)
def test_events_output(pod, podman, image, args):
    replace = []
    for engine in (pod, podman):
        for name, code in (("ev3", "3"), ("ev0", "0")):  # died with 0: no ContainerExitCode
            made = engine("create", "--name", name, "-l", "k=v", image, "sh", "-c", f"exit {code}")
            replace.append((made.stdout.strip(), f"ID-{name}"))
            engine("start", "-a", name)
            engine("rm", name, check=True)
    for event in ("create", "died"):
        command = ["events", "--stream=false", "--filter", "type=container"]
        results = [e(*command, "--filter", f"event={event}", *args) for e in (pod, podman)]
        assert results[0].returncode == results[1].returncode, args
        for stream in ("stdout", "stderr"):
            mine, other = (_timeless(getattr(r, stream), replace) for r in results)
            if not args:  # podman's line ranges over a Go map: its labels come in any order
                mine, other = _labels_sorted(mine), _labels_sorted(other)
            assert mine == other, (event, args, stream)


def _labels_sorted(text: str) -> str:
    """Each `(image=..., name=..., k=v, ...)` with the labels after name= in sorted order."""

    def fix(match: re.Match[str]) -> str:
        head, _, labels = match.group(1).partition(", name=")
        name, _, rest = labels.partition(", ")
        ordered = ", ".join(sorted(rest.split(", "))) if rest else ""
        return f"({head}, name={name}{', ' + ordered if ordered else ''})"

    return re.sub(r"\((image=.*)\)$", fix, text, flags=re.M)


# --- info, version, stats -----------------------------------------------------------------------


def test_info_has_podmans_keys_and_types(pod, podman):
    ours, theirs = json_pair(pod, podman, "info", "--format", "json")
    assert ours["host"].pop("checks")  # pod's own: the rootless readiness findings
    maps = ["$.registries", "*.graphOptions", "*.graphStatus"]
    # pod serves no API: podman names its socket path even when no service runs
    ignore = ["$.host.remoteSocket", "*.idMappings.*"]
    assert_same_shape(ours, theirs, maps=maps, ignore=ignore)
    template = ("{{.Host.Arch}} {{.Host.OS}} {{.Host.CgroupsVersion}} {{.Host.CPUs}} "
                "{{.Host.Kernel}} {{.Host.Security.Rootless}} {{.Host.Distribution.Distribution}} "
                "{{.Store.GraphDriverName}} {{.Version.OsArch}} {{.Host.Hostname}}")  # fmt: skip
    same(pod, podman, "info", "--format", template)
    assert pod("info", "--format", "{{.Store.GraphRoot}}").stdout.strip() == str(pod.root)


def _keys(text: str) -> list[str]:
    return [line.split(":")[0] for line in text.splitlines()]


def test_version_has_podmans_keys(pod, podman):
    for engine in (pod, podman):
        (client,) = json_of(engine, "version", "--format", "json").values()
        assert list(client) == ["APIVersion", "Version", "GoVersion", "GitCommit", "BuiltTime",
                                "Built", "OsArch", "Os"]  # fmt: skip
        expected = ["Client", "Version", "API Version", "Go Version"]
        expected += ["Git Commit"] if client["GitCommit"] else []
        expected += ["Built", "OS/Arch"]
        assert _keys(engine("version", check=True).stdout) == expected
        assert len(engine("version", "--format", "json").stdout.splitlines()) == 1
    same(pod, podman, "version", "--format", "{{.Client.Os}} {{.Client.OsArch}}")
    same(pod, podman, "version", "--format", "{{.Client.NoSuchField}}")


def test_stats_output(pod, podman, image):
    # containers of its own, just made: with the module's, made a minute before, podman 4.3.1
    # showed `web` with 0 PIDs where pod counts its 1 (not understood: kept as it was)
    _make_containers(pod, podman, image)
    ours, theirs = json_pair(pod, podman, "stats", "--no-stream", "--format", "json", "web")
    assert_same_shape(ours, theirs)
    for args in ([], ["--format", "table {{.ID}} {{.Name}} {{.Up}} {{.MemPerc}} {{.UpTime}}"]):
        mine = pod("stats", "--no-stream", *args, "web", check=True).stdout.splitlines()
        other = podman("stats", "--no-stream", *args, "web", check=True).stdout.splitlines()
        # the header line's cells (column widths follow the values, e.g. the bytes sent)
        assert cells(mine[0]) == cells(other[0])
    fmt = "{{.Name}} {{.PIDs}} {{.PIDS}} {{len .ContainerID}} {{len .ID}}"
    same(pod, podman, "stats", "--no-stream", "--format", fmt, "web")


# --- exit codes and messages ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["rm", "-f", "nosuch"],
        ["rm", "-fv", "nosuch", "nosuch2"],
        ["rmi", "-f", "nosuch"],
        ["volume", "rm", "-f", "nosuch"],
        ["rm", "nosuch"],
        ["rmi", "nosuch"],
        ["volume", "rm", "nosuch"],
        ["untag", "nosuch"],
        ["image", "untag", "nosuch"],
        ["tag", "nosuch", "other"],
        ["history", "nosuch"],
        ["image", "inspect", "nosuch", "nosuch2"],
        ["volume", "inspect", "nosuch", "nosuch2"],
        ["container", "inspect", "nosuch"],
        ["inspect", "nosuch"],
        ["stop", "nosuch"],
    ],
)
def test_exit_codes_and_messages(pod, podman, args):
    same(pod, podman, *args)


def test_untag_of_an_unknown_name_exits_125(pod, podman, image):
    same(pod, podman, "untag", image, "nosuch:tag")


def test_rm_prints_what_was_typed(pod, podman, image):
    """podman 4.3.1 prints the same lines in Go map order (random); pod keeps the typed order."""
    printed = []
    for engine in (pod, podman):
        ident = engine("create", image, "true", check=True).stdout.strip()
        engine("create", "--name", "named", image, "true", check=True)
        lines = engine("rm", ident[:8], "named", check=True).stdout.splitlines()
        printed.append(lines)
        assert sorted(lines) == sorted([ident[:8], "named"])
    assert printed[0][1] == "named"


def test_a_published_port_in_use(pod, podman, image):
    with socket.socket() as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.bind(("0.0.0.0", 0))
        holder.listen()
        port = holder.getsockname()[1]
        same(pod, podman, "run", "-d", "--name", "p1", "-p", f"{port}:80", image, "true")
        same(pod, podman, "run", "--name", "p2", "-p", f"127.0.0.1:{port}:80", image, "true")
        for engine in (pod, podman):
            engine("create", "--name", "p3", "-p", f"{port}:80", image, "true", check=True)
        ours, theirs = pod("start", "p3"), podman("start", "p3")
        assert ours.returncode == theirs.returncode == 125
        ids = re.compile(r'"[0-9a-f]{64}"')
        assert ids.sub("ID", ours.stderr) == ids.sub("ID", theirs.stderr)


def test_containerenv(pod, podman, image):
    same(pod, podman, "run", "--rm", image, "cat", "/run/.containerenv")
    keys = "sed 's/=.*//' /run/.containerenv"
    same(pod, podman, "run", "--rm", "--privileged", image, "sh", "-c", keys)


# --- rootless ------------------------------------------------------------------------------------


@pytest.fixture
def usable_tun():
    """/dev/net/tun open to users, as on a Debian host with udev (slirp4netns needs it for
    rootless podman's networks); restored afterwards."""
    import os
    import stat

    mode = stat.S_IMODE(os.stat("/dev/net/tun").st_mode)
    os.chmod("/dev/net/tun", 0o666)
    yield
    os.chmod("/dev/net/tun", mode)


@pytest.fixture
def rootless_image(rootless_pod, rootless_podman, test_images, usable_tun) -> str:
    for engine in (rootless_pod, rootless_podman):
        engine("pull", "-q", test_images.busybox.ref, check=True)
    return test_images.busybox.ref


def test_rootless_containerenv_and_ps(rootless_pod, rootless_podman, rootless_image):
    pod, podman, image = rootless_pod, rootless_podman, rootless_image
    same(pod, podman, "run", "--rm", image, "cat", "/run/.containerenv")
    for engine in (pod, podman):
        engine("run", "--name", "done", "-l", "k=v", image, "sh", "-c", "exit 3")
    ours, theirs = json_pair(pod, podman, "ps", "-a", "--format", "json")
    assert_same_shape(ours, theirs, maps=["*.Labels"])
    assert ours[0]["Labels"] == theirs[0]["Labels"] and ours[0]["Networks"] == theirs[0]["Networks"]
    same(pod, podman, "ps", "-a", "--format", "{{.Names}} {{.Status}} {{.Labels}} {{.Mounts}}")


def test_rootless_port_in_use(rootless_pod, rootless_podman, rootless_image):
    with socket.socket() as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.bind(("0.0.0.0", 0))
        holder.listen()
        port = holder.getsockname()[1]
        ours = rootless_pod("run", "-d", "-p", f"{port}:80", rootless_image, "true")
        theirs = rootless_podman("run", "-d", "-p", f"{port}:80", rootless_image, "true")
        assert ours.returncode == theirs.returncode == 126, (ours.stderr, theirs.stderr)
        assert "address already in use" in ours.stderr


@pytest.mark.parametrize("policy", ["stop", "continue"])
def test_a_pods_exit_policy(pod, podman, image, policy):
    """--exit-policy=stop: the last member's exit stops the infra and so the pod (podman's
    stopIfOnlyInfraRemains); continue: the infra keeps the pod up."""
    statuses = []
    for engine in (pod, podman):
        engine("pod", "create", "--name", "ep", "--exit-policy", policy, check=True)
        engine("run", "--pod", "ep", image, "true", check=True)
        listed = engine("pod", "ps", "--format", "{{.Name}} {{.Status}}", check=True).stdout
        statuses.append(listed)
        engine("pod", "rm", "-f", "ep", check=True)
    assert statuses[0] == statuses[1] == ("ep Exited\n" if policy == "stop" else "ep Degraded\n")
