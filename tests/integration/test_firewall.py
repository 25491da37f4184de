"""pod.network.firewall on the real kernel, both backends, inside throwaway network namespaces.

The lab: HOST runs the backend (every call through `ip netns exec`, so the machine's own rules
are never touched); it has a bridge pfw0 10.90.0.1/24 and an uplink 192.0.2.1/24 to NET, the
"internet" (192.0.2.2, no route back to 10.90.0.0/24: only masqueraded traffic gets answers).
CTR (10.90.0.2) and CTR2 (10.90.0.3) are containers on the bridge. Servers answer every TCP
connection or UDP datagram with the source address they saw, so a probe shows both whether the
traffic got through and how it was NAT'ed. HOST starts like a host with docker and netavark
installed (FORWARD policy DROP, their own chains and tables), which must come through untouched.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from pod.errors import PodError
from pod.network import firewall
from pod.network.firewall import NetworkRules
from pod.util.records import asdict

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0, reason="network namespaces and firewall rules need root"
)

BACKENDS = [
    pytest.param("nftables", marks=pytest.mark.needs_tool("nft")),
    pytest.param("iptables", marks=pytest.mark.needs_tool("iptables")),
]
CID1, CID2 = "c1" * 32, "c2" * 32
NET = NetworkRules("podfw", "pfw0", "10.90.0.0/24")
INTERNAL = NetworkRules("podfw-internal", "pfw0", "10.90.0.0/24", internal=True)
OTHER = NetworkRules("podfw-other", "pfw1", "10.91.0.0/24")
NO = 0.6  # seconds a probe waits for an answer that must not come

SERVER = r"""
import selectors, socket, sys
sel = selectors.DefaultSelector()
for spec in sys.argv[1:]:
    proto, port = spec.split(":")
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    sock = socket.socket(socket.AF_INET, kind)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("0.0.0.0", int(port)))
    if proto == "tcp":
        sock.listen(16)
    sock.setblocking(False)
    sel.register(sock, selectors.EVENT_READ, proto)
print("ready", flush=True)
while True:
    for key, _ in sel.select():
        try:
            if key.data == "tcp":
                conn, peer = key.fileobj.accept()
                conn.setblocking(True)
                conn.sendall(peer[0].encode() + b"\n")
                conn.close()
            else:
                _, peer = key.fileobj.recvfrom(512)
                key.fileobj.sendto(peer[0].encode() + b"\n", peer)
        except OSError:
            pass
"""

CLIENT = r"""
import concurrent.futures, json, socket, sys
timeout = float(sys.argv[1])
def probe(target):
    proto, host, port = target.split(":")
    try:
        if proto == "tcp":
            with socket.create_connection((host, int(port)), timeout=timeout) as sock:
                return sock.makefile().readline().strip() or None
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(timeout)
            sock.connect((host, int(port)))
            sock.send(b"?")
            return sock.recv(512).decode().strip() or None
    except OSError:
        return None
with concurrent.futures.ThreadPoolExecutor(max(1, len(sys.argv) - 2)) as pool:
    print(json.dumps(list(pool.map(probe, sys.argv[2:]))))
"""

RUNNER = r"""
import json, sys
from pod.errors import PodError
from pod.network import firewall
backend, ops = json.loads(sys.argv[1])
wall = firewall.detect(backend)
try:
    for op, net, *args in ops:
        rules = firewall.NetworkRules(**net)
        if op == "add_ports":
            cid, address, ports = args
            wall.add_ports(rules, cid, address, [firewall.PortRule(*p) for p in ports])
        else:
            getattr(wall, op)(rules, *args)
except PodError as err:
    print(json.dumps({"name": wall.name, "error": str(err)}))
else:
    print(json.dumps({"name": wall.name, "error": None}))
"""


def _sh(*cmd, input=None, check=True) -> subprocess.CompletedProcess:
    proc = subprocess.run(list(cmd), input=input, capture_output=True, text=True, timeout=60)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed: {proc.stderr.strip()}")
    return proc


@dataclass
class Lab:
    """Network namespaces named `<prefix>-<role>`; `close` removes them and their processes."""

    prefix: str
    tmp: Path
    backend: str
    namespaces: list[str] = field(default_factory=list)
    servers: list[subprocess.Popen] = field(default_factory=list)

    def __post_init__(self) -> None:
        for name, text in (("server.py", SERVER), ("client.py", CLIENT)):
            (self.tmp / name).write_text(text)

    @property
    def host(self) -> str:
        return f"{self.prefix}-host"

    def ns(self, role: str) -> str:
        return f"{self.prefix}-{role}"

    def add_ns(self, role: str) -> str:
        name = self.ns(role)
        _sh("ip", "netns", "add", name)
        self.namespaces.append(name)
        _sh("ip", "-n", name, "link", "set", "lo", "up")
        return name

    def run(self, ns: str, *cmd, input=None, check=True) -> subprocess.CompletedProcess:
        return _sh("ip", "netns", "exec", ns, *cmd, input=input, check=check)

    def close(self) -> None:
        for proc in self.servers:
            proc.kill()
            proc.wait()
        for name in reversed(self.namespaces):
            _sh("ip", "netns", "del", name, check=False)

    # -- the topology

    def container(self, role: str, address: str) -> str:
        """A container namespace with eth0 on HOST's pfw0 and a default route via 10.90.0.1."""
        name = self.add_ns(role)
        host_side = f"v{role}"[:15]
        _sh("ip", "-n", self.host, "link", "add", host_side, "type", "veth",
            "peer", "name", "eth0", "netns", name)  # fmt: skip
        _sh("ip", "-n", self.host, "link", "set", host_side, "master", "pfw0", "up")
        # Hairpin mode on the bridge port (pod's bridge code must set it too): with br_netfilter
        # a container's packets to its own published port are DNAT'ed at the bridge and must go
        # back out the port they came in by.
        _sh(
            "ip", "-n", self.host, "link", "set", host_side, "type", "bridge_slave", "hairpin", "on"
        )
        _sh("ip", "-n", name, "addr", "add", f"{address}/24", "dev", "eth0")
        _sh("ip", "-n", name, "link", "set", "eth0", "up")
        _sh("ip", "-n", name, "route", "add", "default", "via", "10.90.0.1")
        return name

    def build(self) -> None:
        """HOST with bridge pfw0, NET on the uplink, CTR and CTR2 on the bridge."""
        self.add_ns("host")
        _sh("ip", "-n", self.host, "link", "add", "pfw0", "type", "bridge")
        _sh("ip", "-n", self.host, "addr", "add", "10.90.0.1/24", "dev", "pfw0")
        _sh("ip", "-n", self.host, "link", "set", "pfw0", "up")
        net = self.add_ns("net")
        _sh("ip", "-n", self.host, "link", "add", "uplink", "type", "veth",
            "peer", "name", "eth0", "netns", net)  # fmt: skip
        _sh("ip", "-n", self.host, "addr", "add", "192.0.2.1/24", "dev", "uplink")
        _sh("ip", "-n", self.host, "link", "set", "uplink", "up")
        _sh("ip", "-n", net, "addr", "add", "192.0.2.2/24", "dev", "eth0")
        _sh("ip", "-n", net, "link", "set", "eth0", "up")
        self.container("ctr", "10.90.0.2")
        self.container("ctr2", "10.90.0.3")

    def like_a_docker_host(self) -> None:
        """Rules of other tools that pod must leave as they are (and work under)."""
        if shutil.which("iptables"):
            for cmd in (
                ["-P", "FORWARD", "DROP"],
                ["-N", "DOCKER-USER"],
                ["-A", "FORWARD", "-j", "DOCKER-USER"],
                ["-t", "nat", "-A", "POSTROUTING", "-s", "172.17.0.0/16", "!", "-o", "docker0",
                 "-j", "MASQUERADE"],
            ):  # fmt: skip
                self.run(self.host, "iptables", *cmd)
        if shutil.which("nft"):
            script = (
                "add table inet netavark\n"
                "add chain inet netavark FORWARD "
                "{ type filter hook forward priority filter; policy accept; }\n"
                "add rule inet netavark FORWARD ip saddr 10.88.0.0/16 accept\n"
                "add chain inet netavark POSTROUTING "
                "{ type nat hook postrouting priority srcnat; policy accept; }\n"
                "add rule inet netavark POSTROUTING ip saddr 10.88.0.0/16 "
                "ip daddr != 10.88.0.0/16 masquerade\n"
            )
            self.run(self.host, "nft", "-f", "-", input=script)

    # -- servers, probes, rules

    def serve(self, ns: str, *specs: str) -> None:
        proc = subprocess.Popen(
            ["ip", "netns", "exec", ns, sys.executable, "-I", "-S", str(self.tmp / "server.py"),
             *specs],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        self.servers.append(proc)
        if proc.stdout.readline().strip() != "ready":
            raise AssertionError(f"server in {ns} did not start: {proc.stderr.read()}")

    def probe(self, ns: str, *targets: str, timeout: float = NO) -> dict[str, str | None]:
        """target "tcp:ADDRESS:PORT" → the source address the server saw, None: no answer."""
        out = self.run(ns, sys.executable, "-I", "-S", str(self.tmp / "client.py"),
                       str(timeout), *targets).stdout  # fmt: skip
        return dict(zip(targets, json.loads(out), strict=True))

    def fw(self, *ops) -> str | None:
        """Run firewall calls in HOST; returns the PodError message of a failed one."""
        encoded = [[op, asdict(net), *args] for op, net, *args in ops]
        out = self.run(
            self.host, sys.executable, "-c", RUNNER, json.dumps([self.backend, encoded])
        ).stdout
        result = json.loads(out)
        assert result["name"] == self.backend
        return result["error"]

    def ok(self, *ops) -> None:
        error = self.fw(*ops)
        assert error is None, error

    def rules(self) -> dict[str, str]:
        """HOST's ruleset as both tools print it, counters and timestamps left out."""
        shown = {}
        if shutil.which("nft"):
            text = self.run(self.host, "nft", "list", "ruleset").stdout
            shown["nft"] = re.sub(r"packets \d+ bytes \d+", "packets 0 bytes 0", text)
        if shutil.which("iptables-save"):
            text = self.run(self.host, "iptables-save").stdout
            lines = [re.sub(r"\[\d+:\d+\]", "[0:0]", line) for line in text.splitlines()]
            shown["iptables"] = "\n".join(line for line in lines if not line.startswith("#"))
        return shown

    def sysctl(self, key: str) -> str:
        return self.run(self.host, "cat", f"/proc/sys/net/{key}").stdout.strip()


@pytest.fixture(params=BACKENDS)
def lab(request, tmp_path):
    if shutil.which("ip") is None:
        pytest.fail("the firewall tests need iproute2's ip command")
    lab = Lab(f"podfw-{secrets.token_hex(3)}", tmp_path, request.param)
    try:
        yield lab
    finally:
        lab.close()


def _ports(*specs: tuple[str, int, int, str]) -> list[list]:
    return [list(spec) for spec in specs]


PORTS = _ports(("", 8080, 80, "tcp"), ("", 8053, 53, "udp"), ("127.0.0.1", 8081, 80, "tcp"))


def test_published_ports_outbound_nat_and_exact_removal(lab):
    lab.build()
    lab.like_a_docker_host()
    lab.serve(lab.ns("ctr"), "tcp:80", "udp:53")
    lab.serve(lab.ns("net"), "tcp:9000")
    before = lab.rules()
    # Under the FORWARD DROP policy nothing gets out before pod's rules are there.
    assert lab.probe(lab.ns("ctr"), "tcp:192.0.2.2:9000") == {"tcp:192.0.2.2:9000": None}

    lab.ok(("setup_network", NET), ("setup_network", NET))  # idempotent
    assert lab.sysctl("ipv4/ip_forward") == "1"
    assert lab.sysctl("ipv4/conf/pfw0/route_localnet") == "1"
    only_network = lab.rules()
    lab.ok(
        ("add_ports", NET, CID1, "10.90.0.2", PORTS), ("add_ports", NET, CID1, "10.90.0.2", PORTS)
    )
    with_ports = lab.rules()

    # From the host itself: loopback (masqueraded to the gateway), its own addresses.
    assert lab.probe(
        lab.host,
        "tcp:127.0.0.1:8080",
        "tcp:192.0.2.1:8080",
        "tcp:10.90.0.1:8080",
        "tcp:127.0.0.1:8081",
        "udp:127.0.0.1:8053",
        "tcp:192.0.2.1:8081",  # published on 127.0.0.1 only
        timeout=3,
    ) == {
        "tcp:127.0.0.1:8080": "10.90.0.1",
        "tcp:192.0.2.1:8080": "192.0.2.1",
        "tcp:10.90.0.1:8080": "10.90.0.1",
        "tcp:127.0.0.1:8081": "10.90.0.1",
        "udp:127.0.0.1:8053": "10.90.0.1",
        "tcp:192.0.2.1:8081": None,
    }
    # From outside: the client's own address reaches the container.
    assert lab.probe(
        lab.ns("net"), "tcp:192.0.2.1:8080", "udp:192.0.2.1:8053", "tcp:192.0.2.1:8081"
    ) == {
        "tcp:192.0.2.1:8080": "192.0.2.2",
        "udp:192.0.2.1:8053": "192.0.2.2",
        "tcp:192.0.2.1:8081": None,
    }
    # From the containers: out masqueraded, hairpin to the own published port, the neighbour.
    assert lab.probe(
        lab.ns("ctr"), "tcp:192.0.2.2:9000", "tcp:192.0.2.1:8080", "tcp:10.90.0.1:8080", timeout=3
    ) == {
        "tcp:192.0.2.2:9000": "192.0.2.1",
        "tcp:192.0.2.1:8080": "10.90.0.1",
        "tcp:10.90.0.1:8080": "10.90.0.1",
    }
    assert lab.probe(lab.ns("ctr2"), "tcp:10.90.0.2:80", "tcp:192.0.2.1:8080", timeout=3) == {
        "tcp:10.90.0.2:80": "10.90.0.3",
        "tcp:192.0.2.1:8080": "10.90.0.1",
    }

    lab.ok(("remove_ports", NET, CID1), ("remove_ports", NET, CID1))
    assert lab.rules() == only_network
    assert lab.probe(lab.host, "tcp:127.0.0.1:8080", "tcp:192.0.2.1:8080") == {
        "tcp:127.0.0.1:8080": None,
        "tcp:192.0.2.1:8080": None,
    }
    lab.ok(("add_ports", NET, CID1, "10.90.0.2", PORTS))
    assert lab.rules() == with_ports

    # The network goes with its containers' ports; a second teardown has nothing to do.
    lab.ok(("teardown_network", NET), ("teardown_network", NET), ("remove_ports", NET, CID1))
    assert lab.rules() == before
    assert lab.sysctl("ipv4/ip_forward") == "1"  # never turned off again
    assert lab.probe(lab.ns("ctr"), "tcp:192.0.2.2:9000") == {"tcp:192.0.2.2:9000": None}


def test_internal_network_reaches_nothing_but_its_members(lab):
    lab.build()
    lab.like_a_docker_host()
    lab.serve(lab.host, "tcp:9001")
    lab.serve(lab.ns("net"), "tcp:9000")
    lab.serve(lab.ns("ctr2"), "tcp:80")
    lab.serve(lab.ns("ctr"), "tcp:80")
    before = lab.rules()
    lab.ok(("setup_network", INTERNAL))
    lab.ok(("add_ports", INTERNAL, CID1, "10.90.0.2", PORTS))  # ignored, as netavark does
    assert lab.sysctl("ipv4/conf/pfw0/forwarding") == "0"
    assert lab.probe(
        lab.ns("ctr"),
        "tcp:10.90.0.1:9001",  # the host, on the bridge
        "tcp:192.0.2.1:9001",  # the host, elsewhere
        "tcp:192.0.2.2:9000",  # the outside
        "tcp:10.90.0.3:80",  # the neighbour
        "tcp:127.0.0.1:80",  # itself
    ) == {
        "tcp:10.90.0.1:9001": None,
        "tcp:192.0.2.1:9001": None,
        "tcp:192.0.2.2:9000": None,
        "tcp:10.90.0.3:80": "10.90.0.2",
        "tcp:127.0.0.1:80": "127.0.0.1",
    }
    # The host still reaches its containers (their answers are established traffic).
    assert lab.probe(lab.host, "tcp:10.90.0.2:80", "tcp:127.0.0.1:8080", timeout=3) == {
        "tcp:10.90.0.2:80": "10.90.0.1",
        "tcp:127.0.0.1:8080": None,
    }
    lab.ok(("teardown_network", INTERNAL))
    assert lab.rules() == before


def test_containers_cannot_reach_the_hosts_loopback_services(lab):
    """route_localnet=1 on the bridge must not open the host's 127.0.0.1 to containers."""
    lab.build()
    lab.serve(lab.host, "tcp:9002")
    ctr = lab.ns("ctr")
    # A container with NET_ADMIN can send to 127.0.0.1 through the bridge: no loopback
    # address of its own, a route via the gateway.
    lab.run(ctr, "ip", "addr", "flush", "dev", "lo")
    lab.run(ctr, "sysctl", "-qw", "net.ipv4.conf.eth0.route_localnet=1")
    lab.run(ctr, "ip", "route", "add", "127.0.0.0/8", "via", "10.90.0.1", "dev", "eth0")
    # What route_localnet alone does on the host's side (the probe works):
    lab.run(lab.host, "sysctl", "-qw", "net.ipv4.conf.pfw0.route_localnet=1")
    assert lab.probe(ctr, "tcp:127.0.0.1:9002", timeout=2) == {"tcp:127.0.0.1:9002": "10.90.0.2"}
    lab.ok(("setup_network", NET))
    assert lab.probe(ctr, "tcp:127.0.0.1:9002", "tcp:10.90.0.1:9002", timeout=2) == {
        "tcp:127.0.0.1:9002": None,
        "tcp:10.90.0.1:9002": "10.90.0.2",
    }


@pytest.mark.parametrize("start", ["empty", "docker"])
def test_removal_is_exact_across_networks_and_containers(lab, start):
    lab.add_ns("host")
    for bridge in ("pfw0", "pfw1"):
        lab.run(lab.host, "ip", "link", "add", bridge, "type", "bridge")
    if start == "docker":
        lab.like_a_docker_host()
    before = lab.rules()
    lab.ok(
        ("setup_network", NET),
        ("setup_network", OTHER),
        ("add_ports", OTHER, CID2, "10.91.0.5", _ports(("", 9090, 90, "tcp"))),
    )
    two_networks = lab.rules()
    lab.ok(
        ("add_ports", NET, CID1, "10.90.0.2", PORTS),
        ("remove_ports", NET, CID1),
        ("setup_network", INTERNAL),  # a third network, internal
        ("teardown_network", INTERNAL),
    )
    assert lab.rules() == two_networks
    lab.ok(("teardown_network", NET))
    text = lab.rules()["nft" if lab.backend == "nftables" else "iptables"]
    assert "pfw0" not in text and "10.90.0" not in text
    assert "pfw1" in text and "10.91.0.5:90" in text
    lab.ok(("teardown_network", OTHER))  # takes CID2's ports with it
    after = lab.rules()
    if start == "empty" and lab.backend == "iptables":
        # iptables-nft cannot delete the tables it created; only empty builtin chains are left.
        assert "POD" not in after["iptables"] and "-A " not in after["iptables"]
        if "nft" in after:
            assert "chain" not in after["nft"]
    else:
        assert after == before
    if start == "empty" and lab.backend == "nftables":
        assert after["nft"] == ""


@pytest.mark.needs_tool("nft")
def test_a_failed_change_leaves_no_half_set_of_rules(lab):
    lab.add_ns("host")
    lab.run(lab.host, "ip", "link", "add", "pfw0", "type", "bridge")
    lab.like_a_docker_host()
    if lab.backend == "nftables":
        # pod's table holds a chain of the name pod uses, on another hook: the batch fails.
        lab.run(lab.host, "nft", "-f", "-", input=(
            "add table inet pod\n"
            "add chain inet pod postrouting { type filter hook input priority 0; }\n"
        ))  # fmt: skip
    else:
        # The nat table refuses pod's jump (to a base chain), after filter was set up.
        chain = firewall.IptablesFirewall._chain(NET, "NAT")
        lab.run(lab.host, "nft", "add", "chain", "ip", "nat", chain,
                "{ type nat hook postrouting priority 50; }")  # fmt: skip
    before = lab.rules()
    error = lab.fw(("setup_network", NET))
    assert error and error.startswith("setting up") and "\n" not in error, error
    assert lab.rules() == before


def test_bad_ports_are_refused_before_any_rule(lab):
    lab.add_ns("host")
    lab.ok(("setup_network", NET))
    before = lab.rules()
    for ports, message in (
        (_ports(("", 8080, 80, "icmp")), "protocol"),
        (_ports(("", 0, 80, "tcp")), "1-65535"),
        (_ports(("nowhere", 8080, 80, "tcp")), "host IP"),
    ):
        error = lab.fw(("add_ports", NET, CID1, "10.90.0.2", ports))
        assert error and message in error
    error = lab.fw(("add_ports", NET, CID1, "10.99.0.2", _ports(("", 8080, 80, "tcp"))))
    assert error and "not in network" in error
    assert lab.rules() == before
    lab.ok(("teardown_network", NET))


def test_detect(monkeypatch, tmp_path):
    if shutil.which("nft", path=firewall.SEARCH_PATH):
        assert firewall.detect().name == "nftables"
        assert firewall.detect("nftables").name == "nftables"
    if shutil.which("iptables", path=firewall.SEARCH_PATH):
        assert firewall.detect("iptables").name == "iptables"
    with pytest.raises(PodError, match="firewall_driver"):
        firewall.detect("firewalld")
    monkeypatch.setattr(firewall, "SEARCH_PATH", str(tmp_path))
    with pytest.raises(PodError, match="install nftables"):
        firewall.detect()
    with pytest.raises(PodError, match="install nftables"):
        firewall.detect("nftables")
    with pytest.raises(PodError, match="install iptables"):
        firewall.detect("iptables")
    with pytest.raises(PodError):
        NetworkRules("bad name", "pfw0", "10.90.0.0/24")
    with pytest.raises(PodError):
        NetworkRules("v6", "pfw0", "fd00::/64")
