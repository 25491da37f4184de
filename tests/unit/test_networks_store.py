"""Network records, subnet choice and address allocation (store/networks.py, store/subnets.py),
and their removal with the host's parts (pod/network/records.py)."""

from __future__ import annotations

import json
import multiprocessing
from ipaddress import IPv4Network
from pathlib import Path

import pytest

from pod.errors import (
    NetworkExistsError,
    NetworkInUseError,
    NoSuchNetworkError,
    PodError,
    UsageError,
)
from pod.network.records import remove_network
from pod.store import networks as netstore
from pod.store import subnets
from pod.store.layout import Layout
from pod.store.networks import DEFAULT_ID, NetworkStore

# --- subnets ---


def test_first_free_subnet_starts_at_10_90():
    assert subnets.choose_subnet([], []) == IPv4Network("10.90.0.0/24")


def test_subnet_skips_pod_networks_and_host_routes():
    used = [IPv4Network("10.90.0.0/24"), IPv4Network("10.90.2.0/24")]
    assert subnets.choose_subnet(used, []) == IPv4Network("10.90.1.0/24")
    host = [IPv4Network("10.90.1.0/25")]
    assert subnets.choose_subnet(used, host) == IPv4Network("10.90.3.0/24")
    assert subnets.choose_subnet([], [IPv4Network("10.90.0.0/16")]) == IPv4Network("10.91.0.0/24")


def test_no_free_subnet_is_an_error():
    with pytest.raises(PodError, match="could not find free subnet from subnet pools"):
        subnets.choose_subnet([], [IPv4Network("10.0.0.0/8")])


def test_never_podmans_default_subnet():
    assert IPv4Network("10.88.0.0/16") in subnets.RESERVED
    chosen = subnets.choose_subnet([], [])
    assert not chosen.overlaps(IPv4Network("10.88.0.0/16"))


def test_parse_subnet():
    assert subnets.parse_subnet("10.99.0.7/24") == IPv4Network("10.99.0.0/24")
    for text in ("foo", "10.1.0.0", "10.1.0.0/33"):
        with pytest.raises(UsageError, match=f"invalid CIDR address: {text}"):
            subnets.parse_subnet(text)
    with pytest.raises(UsageError, match="IPv4 only"):
        subnets.parse_subnet("fd00::/64")
    with pytest.raises(UsageError, match="too small"):
        subnets.parse_subnet("10.1.0.0/31")


def test_check_free_wording():
    with pytest.raises(PodError, match="^subnet 10.90.0.0/16 is already used on the host or by"):
        subnets.check_free(IPv4Network("10.90.0.0/16"), [IPv4Network("10.90.5.0/24")], [])
    subnets.check_free(IPv4Network("10.91.0.0/24"), [IPv4Network("10.90.5.0/24")], [])


def test_gateway():
    net = IPv4Network("10.99.0.0/24")
    assert str(subnets.gateway_for(net)) == "10.99.0.1"
    assert str(subnets.gateway_for(net, "10.99.0.254")) == "10.99.0.254"
    with pytest.raises(UsageError, match="^gateway 10.98.0.1 not in subnet 10.99.0.0/24$"):
        subnets.gateway_for(net, "10.98.0.1")
    with pytest.raises(UsageError, match="broadcast"):
        subnets.gateway_for(net, "10.99.0.255")
    with pytest.raises(UsageError, match='invalid argument "x" for "--gateway" flag'):
        subnets.gateway_for(net, "x")


# --- records ---


def _store(tmp_path, host=(), links=()) -> NetworkStore:
    layout = Layout(tmp_path / "root", tmp_path / "run")
    return NetworkStore(layout, host_networks=lambda: list(host), interfaces=lambda: list(links))


def test_default_network_made_on_first_use(tmp_path):
    store = _store(tmp_path)
    assert not (tmp_path / "root" / "networks" / "pod.json").exists()
    (record,) = store.list()
    assert (record.name, record.id, record.network_interface) == ("pod", DEFAULT_ID, "pod0")
    assert record.subnets == [{"subnet": "10.90.0.0/24", "gateway": "10.90.0.1"}]
    assert record.dns_enabled is False and record.internal is False
    assert store.default() == record
    assert store.list() == [record]


def test_default_network_avoids_host_routes(tmp_path):
    store = _store(tmp_path, host=[IPv4Network("10.90.0.0/24")])
    assert store.default().subnets[0]["subnet"] == "10.90.1.0/24"


def test_record_file_is_netavarks_shape(tmp_path):
    store = _store(tmp_path)
    store.create("net1", labels={"b": "2", "a": "1"})
    doc = store.get("net1").to_json()
    assert list(doc) == [
        "name", "id", "driver", "network_interface", "created", "subnets", "ipv6_enabled",
        "internal", "dns_enabled", "labels", "ipam_options",
    ]  # fmt: skip
    assert list(doc["subnets"][0]) == ["subnet", "gateway"]
    assert doc["ipam_options"] == {"driver": "host-local"} and doc["labels"] == {"a": "1", "b": "2"}
    assert len(doc["id"]) == 64 and int(doc["id"], 16) >= 0
    assert doc["created"].endswith("Z") or doc["created"][-6] in "+-"
    assert "labels" not in store.default().to_json()  # omitempty
    on_disk = json.loads((tmp_path / "root" / "networks" / "net1.json").read_text())
    assert on_disk["name"] == "net1"


def test_generated_names_and_bridges(tmp_path):
    store = _store(tmp_path, links=["lo", "eth0", "pod2"])
    first = store.create()
    assert (first.name, first.network_interface) == ("pod1", "pod1")
    named = store.create("web")
    assert named.network_interface == "pod3"  # pod2 is a host link
    assert store.create().name == "pod4"
    subnets_given = [r.subnets[0]["subnet"] for r in store.list()]
    assert subnets_given == ["10.90.0.0/24", "10.90.1.0/24", "10.90.3.0/24", "10.90.2.0/24"]


def test_create_with_subnet_and_gateway(tmp_path):
    store = _store(tmp_path)
    record = store.create("n", subnet="10.99.0.0/24", gateway="10.99.0.254", internal=True)
    assert record.subnets == [{"subnet": "10.99.0.0/24", "gateway": "10.99.0.254"}]
    assert record.internal is True
    with pytest.raises(PodError, match="subnet 10.99.0.0/16 is already used on the host"):
        store.create("m", subnet="10.99.0.0/16")
    host_store = _store(tmp_path, host=[IPv4Network("192.168.1.0/24")])
    with pytest.raises(PodError, match="already used on the host or by another config"):
        host_store.create("m", subnet="192.168.0.0/16")
    with pytest.raises(UsageError, match="cannot set gateway or range without subnet"):
        store.create("m", gateway="10.1.1.1")


def test_create_errors(tmp_path):
    store = _store(tmp_path)
    store.create("net1")
    with pytest.raises(NetworkExistsError, match="^network name net1 already used: network alr"):
        store.create("net1")
    with pytest.raises(NetworkExistsError):
        store.create("pod")
    with pytest.raises(PodError, match=r"names must match \[a-zA-Z0-9\]\[a-zA-Z0-9_.-\]\*: inv"):
        store.create("bad/name")
    with pytest.raises(PodError, match='name "host" because it conflicts with a valid network'):
        store.create("host")
    with pytest.raises(PodError, match="^unsupported driver macvlan: invalid argument$") as err:
        store.create("mv", driver="macvlan")
    assert err.value.exit_code == 125


def test_lookup_by_name_or_id(tmp_path):
    store = _store(tmp_path)
    record = store.create("net1")
    assert store.lookup(record.id[:10]) == record
    assert store.lookup("net1") == record
    assert store.exists(record.id) and not store.exists("nosuch")
    with pytest.raises(NoSuchNetworkError, match="^unable to find network with name or ID x: netw"):
        store.lookup("x")
    with pytest.raises(NoSuchNetworkError):
        store.get("../etc")


def test_remove(tmp_path):
    store = _store(tmp_path)
    store.create("net1")
    default_stays = pytest.raises(PodError, match="^default network pod cannot be removed$")
    with default_stays, store.removing("pod"):
        pass
    store.allocate("net1", "c" * 64)
    in_use = pytest.raises(NetworkInUseError, match='"net1" has associated containers')
    with in_use as err, store.removing("net1"):
        pass
    assert err.value.exit_code == 2 and str(err.value).endswith(": network is being used")
    with store.removing("net1", force=True) as record:
        assert record.name == "net1" and store.exists("net1")  # gone once the block ends
    assert not store.exists("net1")
    assert not (tmp_path / "root" / "networks" / "ipam" / "net1.json").exists()
    with pytest.raises(NoSuchNetworkError), store.removing("net1"):
        pass


def test_remove_network_takes_host_parts_down_first(tmp_path, monkeypatch):
    """The bridge and rules go before the record: a failure there keeps the record (and a
    second rm retries), an in-use network keeps both."""
    calls = []

    def host_parts(layout, record, rootless):
        calls.append((record.name, rootless, store.exists(record.name)))
        if len(calls) == 1:
            raise PodError("firewall said no")

    monkeypatch.setattr("pod.network.bridge.remove_network_host_parts", host_parts)
    store = _store(tmp_path)
    store.create("net1")
    store.allocate("net1", "c" * 64)
    with pytest.raises(NetworkInUseError):
        remove_network(store, "net1", False, False)
    assert calls == []
    with pytest.raises(PodError, match="firewall said no"):
        remove_network(store, "net1", True, True)
    assert store.exists("net1")
    assert remove_network(store, "net1", True, True).name == "net1"
    assert calls == [("net1", True, True), ("net1", True, True)]
    assert not store.exists("net1")


# --- addresses ---


def test_sequential_allocation_skips_gateway(tmp_path):
    store = _store(tmp_path)
    store.create("n", subnet="10.99.0.0/24")
    ips = [store.allocate("n", f"c{i}") for i in range(3)]
    assert ips == ["10.99.0.2", "10.99.0.3", "10.99.0.4"]
    assert store.allocate("n", "c0") == "10.99.0.2"  # asking again: the same address
    store.release("n", "c0")
    assert store.allocate("n", "c9") == "10.99.0.5"  # host-local: after the last given out
    assert set(store.allocations("n")) == {"c1", "c2", "c9"}


def test_allocation_wraps_and_runs_out(tmp_path):
    store = _store(tmp_path)
    store.create("n", subnet="10.99.0.0/29", gateway="10.99.0.6")
    ips = [store.allocate("n", f"c{i}") for i in range(5)]
    assert ips == ["10.99.0.1", "10.99.0.2", "10.99.0.3", "10.99.0.4", "10.99.0.5"]
    with pytest.raises(PodError, match="^IPAM error: failed to find free IP in range: 10.99.0.1"):
        store.allocate("n", "c5")
    store.release("n", "c1")
    assert store.allocate("n", "c5") == "10.99.0.2"


def test_requested_address(tmp_path):
    store = _store(tmp_path)
    store.create("n", subnet="10.99.0.0/24")
    assert store.allocate("n", "a", "10.99.0.50") == "10.99.0.50"
    with pytest.raises(PodError, match="already allocated to container ID a$"):
        store.allocate("n", "b", "10.99.0.50")
    with pytest.raises(PodError, match="not in any subnet on network n"):
        store.allocate("n", "b", "10.98.0.5")
    for address in ("10.99.0.0", "10.99.0.1", "10.99.0.255"):
        with pytest.raises(PodError, match="network, gateway or broadcast address"):
            store.allocate("n", "b", address)
    with pytest.raises(UsageError):
        store.allocate("n", "b", "nonsense")
    assert store.allocate("n", "b") == "10.99.0.2"


def test_allocation_entries_carry_names_and_aliases(tmp_path):
    store = _store(tmp_path)
    store.default()
    ip = store.allocate("pod", "cid", name="web", aliases=["www", "front"])
    assert store.allocations("pod") == {
        "cid": {"ip": ip, "name": "web", "aliases": ["www", "front"]}
    }


def test_unknown_network(tmp_path):
    store = _store(tmp_path)
    with pytest.raises(NoSuchNetworkError):
        store.allocate("nosuch", "c")
    with pytest.raises(NoSuchNetworkError):
        store.allocations("nosuch")
    store.release("nosuch", "c")  # nothing to give back: no error


def _allocate_in_child(root: str, index: int, barrier) -> str:
    """One `pod create` in its own process: all of them start allocating at once."""
    store = NetworkStore(Layout(Path(root), Path(root) / "run"), lambda: [], lambda: [])
    barrier.wait()
    return store.allocate("n", f"{index:064x}")


def test_concurrent_allocations_from_processes_are_distinct(tmp_path):
    store = _store(tmp_path)
    store.create("n", subnet="10.99.0.0/24")
    count = 20
    context = multiprocessing.get_context("fork")
    barrier = context.Manager().Barrier(count)
    with context.Pool(count) as pool:
        jobs = [
            pool.apply_async(_allocate_in_child, (str(tmp_path / "root"), i, barrier))
            for i in range(count)
        ]
        ips = [job.get(timeout=60) for job in jobs]
    assert len(set(ips)) == count
    assert {entry["ip"] for entry in store.allocations("n").values()} == set(ips)


# --- filters ---


def test_filters(tmp_path):
    store = _store(tmp_path)
    store.create("web", labels={"tier": "front"})
    store.create("db", labels={"tier": "back", "x": ""})
    records = store.list()

    def names(*items, in_use=()):
        parsed = netstore.parse_filters(list(items), netstore.LIST_FILTERS)
        return [r.name for r in netstore.select(records, parsed, set(in_use))]

    assert names("name=^w") == ["web"]
    assert names("name=web", "name=db") == ["db", "web"]
    assert names("label=tier=back") == ["db"]
    assert names("label=tier", "label=x") == ["db"]
    assert names("label!=tier") == ["pod"]
    assert names("driver=bridge") == ["db", "pod", "web"]
    assert names(f"id={store.get('db').id[:5]}") == ["db"]
    assert names("dangling=true", in_use=["web"]) == ["db"]
    assert names("dangling=false", in_use=["web"]) == ["pod", "web"]
    assert names("until=2000-01-01T00:00:00Z") == []
    with pytest.raises(UsageError, match='^invalid filter "bogus"$'):
        names("bogus=1")
    with pytest.raises(UsageError, match="filter input must be in the form of filter=value"):
        names("name")
    with pytest.raises(UsageError, match='invalid dangling filter value "maybe"'):
        names("dangling=maybe")
    with pytest.raises(UsageError, match='invalid filter "name"'):
        netstore.parse_filters(["name=x"], netstore.PRUNE_FILTERS)
