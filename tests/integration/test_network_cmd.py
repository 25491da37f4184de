"""`pod network` create, ls, inspect, rm, prune, exists: output, error texts and exit codes as
podman 4.3's."""

from __future__ import annotations

import json

import pytest

NOT_FOUND = "unable to find network with name or ID {}: network not found"


def _inspect(pod, *names) -> list[dict]:
    result = pod("network", "inspect", *names, check=True)
    assert result.stdout.startswith("[\n     {"), "podman's five-space indent"
    return json.loads(result.stdout)


def test_default_network_is_listed_before_first_use(pod):
    result = pod("network", "ls", check=True)
    header, line = result.stdout.splitlines()
    assert header.split() == ["NETWORK", "ID", "NAME", "DRIVER"]
    network_id, name, driver = line.split()
    assert (len(network_id), name, driver) == (12, "pod", "bridge")
    assert pod("network", "ls", "-q", check=True).stdout == "pod\n"
    assert pod("network", "ls", "--noheading", check=True).stdout == line + "\n"
    (doc,) = _inspect(pod, "pod")
    assert doc["id"].startswith(network_id)
    assert (doc["network_interface"], doc["dns_enabled"]) == ("pod0", False)


def test_create_prints_the_name(pod):
    assert pod("network", "create", check=True).stdout == "pod1\n"
    assert pod("network", "create", check=True).stdout == "pod2\n"
    assert pod("network", "create", "net1", check=True).stdout == "net1\n"
    assert pod("network", "ls", "-q", check=True).stdout == "net1\npod\npod1\npod2\n"


def test_inspect_shape_and_format(pod):
    pod(
        "network", "create", "--subnet", "10.99.7.0/24", "--gateway", "10.99.7.254",
        "--internal", "--label", "tier=db", "--label", "x", "net1",
    check=True)  # fmt: skip
    (doc,) = _inspect(pod, "net1")
    assert list(doc) == [
        "name", "id", "driver", "network_interface", "created", "subnets", "ipv6_enabled",
        "internal", "dns_enabled", "labels", "ipam_options",
    ]  # fmt: skip
    assert doc["subnets"] == [{"subnet": "10.99.7.0/24", "gateway": "10.99.7.254"}]
    assert (doc["driver"], doc["internal"], doc["dns_enabled"]) == ("bridge", True, True)
    assert doc["labels"] == {"tier": "db", "x": ""}
    assert doc["ipam_options"] == {"driver": "host-local"}
    assert len(doc["id"]) == 64
    fmt = "{{.Name}} {{.ID}} {{range .Subnets}}{{.Subnet}} {{.Gateway}}{{end}} {{.Labels}}"
    out = pod("network", "inspect", "-f", fmt, "net1", check=True).stdout
    assert out == f"net1 {doc['id']} 10.99.7.0/24 10.99.7.254 map[tier:db x:]\n"
    by_id = _inspect(pod, doc["id"][:8], "pod")
    assert [d["name"] for d in by_id] == ["net1", "pod"]


def test_ls_formats_and_filters(pod):
    pod("network", "create", "--label", "tier=web", "web", check=True)
    pod("network", "create", "--label", "tier=db", "db", check=True)
    out = pod("network", "ls", "--format", "{{.Name}} {{.Driver}} {{.Labels}}", check=True).stdout
    assert out == "db bridge tier=db\npod bridge \nweb bridge tier=web\n"
    docs = json.loads(pod("network", "ls", "--format", "json", check=True).stdout)
    assert [d["name"] for d in docs] == ["db", "pod", "web"]
    assert pod("network", "ls", "--format", "json", check=True).stdout.startswith("[\n  {")
    table = pod("network", "ls", "--format", "table {{.Name}} {{.Labels}}", check=True).stdout
    assert table.splitlines()[0].split() == ["NAME", "LABELS"]
    ids = pod("network", "ls", "--no-trunc", "--format", "{{.ID}}", check=True).stdout.split()
    assert all(len(i) == 64 for i in ids)
    assert pod("network", "ls", "-q", "--filter", "name=^w", check=True).stdout == "web\n"
    assert pod("network", "ls", "-q", "-f", "label=tier=db", check=True).stdout == "db\n"
    assert pod("network", "ls", "-q", "-f", "driver=bridge", check=True).stdout == "db\npod\nweb\n"
    web_id = docs[2]["id"]
    assert pod("network", "ls", "-q", "-f", f"id={web_id[:6]}", check=True).stdout == "web\n"
    assert pod("network", "ls", "-q", "-f", "dangling=true", check=True).stdout == "db\nweb\n"
    bad = pod("network", "ls", "--filter", "color=red")
    assert (bad.returncode, bad.stderr) == (125, 'Error: invalid filter "color"\n')


@pytest.mark.parametrize(
    "args, message",
    [
        (["net1"], "network name net1 already used: network already exists"),
        (["pod"], "network name pod already used: network already exists"),
        (["bad/name"], "network name bad/name invalid: names must match "
                       "[a-zA-Z0-9][a-zA-Z0-9_.-]*: invalid argument"),
        (["host"], 'cannot create network with name "host" because it conflicts with a valid '
                   "network mode"),
        (["-d", "macvlan", "mv"], "unsupported driver macvlan: invalid argument"),
        (["--subnet", "nonsense", "n"], "invalid CIDR address: nonsense"),
        (["--gateway", "10.1.1.1", "n"], "cannot set gateway or range without subnet"),
        (["--subnet", "10.99.0.0/24", "--gateway", "10.98.0.1", "n"],
         "gateway 10.98.0.1 not in subnet 10.99.0.0/24"),
        (["--subnet", "10.99.5.0/24", "n"],
         "subnet 10.99.5.0/24 is already used on the host or by another config"),
    ],
)  # fmt: skip
def test_create_errors(pod, args, message):
    pod("network", "create", "--subnet", "10.99.5.0/24", "net1", check=True)
    result = pod("network", "create", *args)
    assert (result.returncode, result.stderr, result.stdout) == (125, f"Error: {message}\n", "")


def test_inspect_missing(pod):
    result = pod("network", "inspect", "nosuch")
    assert (result.returncode, result.stdout) == (125, "[]\n")
    missing = NOT_FOUND.format("nosuch")
    assert result.stderr == f"Error: inspecting object: network nosuch: {missing}\n"
    result = pod("network", "inspect", "pod", "nosuch")
    assert result.returncode == 125 and json.loads(result.stdout)[0]["name"] == "pod"


def test_exists(pod):
    pod("network", "create", "net1", check=True)
    for name, code in (("pod", 0), ("net1", 0), ("nosuch", 1)):
        result = pod("network", "exists", name)
        assert (result.returncode, result.stdout, result.stderr) == (code, "", "")


def test_rm(pod):
    pod("network", "create", "net1", check=True)
    pod("network", "create", "net2", check=True)
    assert pod("network", "rm", "net1", check=True).stdout == "net1\n"
    assert pod("network", "remove", "net2", check=True).stdout == "net2\n"
    assert pod("network", "exists", "net1").returncode == 1
    result = pod("network", "rm", "nosuch")
    assert (result.returncode, result.stderr) == (1, f"Error: {NOT_FOUND.format('nosuch')}\n")
    assert pod("network", "rm", "-f", "nosuch").returncode == 0
    result = pod("network", "rm", "pod")
    assert (result.returncode, result.stderr) == (
        125, "Error: default network pod cannot be removed\n")  # fmt: skip
    result = pod("network", "rm", "-t", "3", "pod")
    assert result.returncode == 125
    assert result.stderr == "Error: --force option must be specified to use the --time option\n"


def test_prune(pod):
    for name in ("net1", "net2"):
        pod("network", "create", name, check=True)
    declined = pod("network", "prune", input="n\n")
    assert declined.returncode == 0
    assert declined.stdout == (
        "WARNING! This will remove all networks not used by at least one container.\n"
        "Are you sure you want to continue? [y/N] "
    )
    assert pod("network", "ls", "-q", check=True).stdout == "net1\nnet2\npod\n"
    accepted = pod("network", "prune", input="y\n", check=True)
    assert accepted.stdout.endswith("[y/N] net1\nnet2\n")
    assert pod("network", "ls", "-q", check=True).stdout == "pod\n"
    assert pod("network", "prune", "-f", check=True).stdout == ""


def test_rm_in_use_needs_force(pod, busybox):
    pod("network", "create", "net1", check=True)
    container = pod(
        "create", "--name", "c1", "--network", "net1", busybox, "true", check=True
    ).stdout.strip()
    result = pod("network", "rm", "net1")
    assert result.returncode == 2
    assert result.stderr == (
        'Error: "net1" has associated containers with it. Use -f to forcibly delete containers '
        "and pods: network is being used\n"
    )
    assert pod("network", "prune", "-f", check=True).stdout == ""
    assert pod("network", "ls", "-q", "-f", "dangling=false", check=True).stdout == "net1\npod\n"
    assert pod("network", "rm", "-f", "-t", "0", "net1", check=True).stdout == "net1\n"
    assert container[:12] not in pod("ps", "-a", "-q", check=True).stdout
    assert pod("network", "exists", "net1").returncode == 1
