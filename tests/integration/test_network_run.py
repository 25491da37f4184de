"""Container networking with real namespaces, bridges, firewall rules and published ports.

Rootful: the default bridge network, user networks, published ports through the firewall,
name resolution between members, `--internal`, `container:`, concurrent address allocation and
a host left as it was. Rootless: published ports through pod's forwarder (this host's
/dev/net/tun is 0600, so outbound needs the chmod the pasta test makes for itself).
"""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import re
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from polling import poll
from registry_server import free_port

from pod.shim.steps import TIDY_GRACE

HTTPD = "mkdir -p /www && echo hello-from-$(hostname) > /www/index.html && httpd -f -p 80 -h /www"


def host_address() -> str:
    """The host's outbound IPv4 address (not loopback)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.1", 9))
        return probe.getsockname()[0]


def fetch(url: str, timeout: float = 10.0) -> str:
    """GET with retries while the server in the container starts."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                return answer.read().decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def host_links() -> set[str]:
    out = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=True).stdout
    return {line.split(": ")[1].split("@")[0] for line in out.splitlines()}


def firewall_rules() -> str:
    parts = []
    for argv in (["iptables-save"], ["nft", "list", "ruleset"]):
        try:
            done = subprocess.run(argv, capture_output=True, text=True)
        except FileNotFoundError:
            continue
        lines = [line for line in done.stdout.splitlines() if not line.startswith("#")]
        parts.append("\n".join(lines))
    # traffic moves the counters of other tools' chains (podman's CNI ones, say)
    return re.sub(r"\[\d+:\d+\]|packets \d+ bytes \d+", "", "\n".join(parts))


def host_now_as(before, seconds: float = 5.0) -> bool:
    """The host's links and rules are as `before` again. After `pod rm` they are at once (rm
    waits for the shim); after a foreground `run --rm` the shim removes the host parts right
    after it has reported the exit, so the check allows it a moment."""
    return poll(lambda: (host_links(), firewall_rules()) == before, seconds)


@pytest.fixture
def host_before():
    """The host's links and firewall rules before the test; compared after it. An earlier
    test's bridge is tidied a second after its last container (pod.shim.steps.TIDY_GRACE):
    waited out, so it does not go in the middle of this test."""
    poll(lambda: "pod0" not in host_links(), TIDY_GRACE + 2.0, 0.1)
    return host_links(), firewall_rules()


def test_published_port_answers_from_the_host_and_leaves_nothing(pod, busybox, host_before):
    port = free_port()
    started = pod("run", "-d", "--name", "web", "-p", f"{port}:80", busybox, "sh", "-c", HTTPD)
    assert started.returncode == 0, started.stderr
    assert fetch(f"http://127.0.0.1:{port}/").startswith("hello-from-")
    listing = pod("ps", "--format", "{{.Ports}}").stdout.strip()
    assert listing == f"0.0.0.0:{port}->80/tcp"
    assert pod("port", "web").stdout == f"80/tcp -> 0.0.0.0:{port}\n"
    inspect = json.loads(pod("inspect", "web").stdout)[0]
    settings = inspect["NetworkSettings"]
    assert settings["Ports"] == {"80/tcp": [{"HostIp": "", "HostPort": str(port)}]}
    assert settings["IPAddress"].count(".") == 3 and settings["Gateway"]
    assert settings["Networks"]["pod"]["IPAddress"] == settings["IPAddress"]
    assert inspect["HostConfig"]["NetworkMode"] == "bridge"
    # the container reaches the host through the bridge's gateway
    gateway = settings["Gateway"]
    hosts = pod("exec", "web", "cat", "/etc/hosts").stdout
    assert f"{gateway}\thost.containers.internal" in hosts
    # hairpin: the container reaches its own published port through the host's address
    own = f"timeout 5 wget -q -O - http://{host_address()}:{port}/; true"
    assert pod("exec", "web", "sh", "-c", own).stdout.startswith("hello-from-")
    assert pod("rm", "-f", "-t", "0", "web").returncode == 0
    assert (host_links(), firewall_rules()) == host_before


def test_port_in_use_is_a_clear_error_and_nothing_is_left(pod, busybox, host_before):
    with socket.socket() as holder:
        holder.bind(("0.0.0.0", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = pod("run", "--rm", "-p", f"{port}:80", busybox, "true")
    assert result.returncode == 126  # podman 4.3.1: a port in use fails run with 126
    assert "address already in use" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert pod("ps", "-a", "-q").stdout == ""
    assert (host_links(), firewall_rules()) == host_before


@pytest.mark.parametrize("spec", ["0:80", "70000:80", "8000-8002:80-81", "8080:80/icmp", "abc:80"])
def test_invalid_publish_specs_exit_125(pod, busybox, spec):
    result = pod("run", "--rm", "-p", spec, busybox, "true")
    assert result.returncode == 125, result.stderr
    assert result.stderr.startswith("Error: ")


def test_members_of_a_user_network_find_each_other_by_name(pod, busybox, host_before):
    assert pod("network", "create", "backend").returncode == 0
    server = pod("run", "-d", "--name", "db", "--network", "backend", "--network-alias", "store",
                 busybox, "sh", "-c", HTTPD)  # fmt: skip
    assert server.returncode == 0, server.stderr
    for name in ("db", "store"):
        client = pod("run", "--rm", "--network", "backend", busybox,
                     "sh", "-c", f"for i in $(seq 50); do wget -q -O - http://{name}/ && exit; "
                     "sleep 0.1; done; exit 1")  # fmt: skip
        assert client.returncode == 0, client.stderr
        assert client.stdout.startswith("hello-from-")
    # the server learned of a member that joined after it and forgets it when it leaves
    peer = pod("run", "-d", "--name", "peer", "--network", "backend", busybox, "sleep", "60")
    assert peer.returncode == 0, peer.stderr
    assert "\tpeer" in pod("exec", "db", "cat", "/etc/hosts").stdout
    pod("rm", "-f", "-t", "0", "peer", check=True)
    assert "\tpeer" not in pod("exec", "db", "cat", "/etc/hosts").stdout
    pod("rm", "-f", "-t", "0", "db", check=True)
    assert pod("network", "rm", "backend").returncode == 0
    assert (host_links(), firewall_rules()) == host_before


class _Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"host-says-hi")

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def hello_server(address: str) -> Iterator[int]:
    """An HTTP server on `address` of the host answering "host-says-hi": its port."""
    server = http.server.ThreadingHTTPServer((address, 0), _Hello)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def host_http():
    """An HTTP server on all the host's addresses (what containers try to reach): its port."""
    with hello_server("0.0.0.0") as port:
        yield port


def test_internal_network_cannot_reach_the_host(pod, busybox, host_http):
    pod("network", "create", "--internal", "sealed", check=True)
    inspect = json.loads(pod("network", "inspect", "sealed").stdout)[0]
    gateway = inspect["subnets"][0]["gateway"]
    # busybox-static's wget -T crashes on Debian 12: its timeout applet bounds wget instead
    # (not as the last command: sh would exec it as PID 1, which ignores the SIGTERM)
    probe = f"ip route; timeout 3 wget -q -O - http://{gateway}:{host_http}/; true"
    sealed = pod("run", "--rm", "--network", "sealed", busybox, "sh", "-c", probe)
    assert "host-says-hi" not in sealed.stdout
    assert "default" not in sealed.stdout
    probe = f"timeout 5 wget -q -O - http://host.containers.internal:{host_http}/; true"
    normal = pod("run", "--rm", busybox, "sh", "-c", probe)
    assert normal.stdout == "host-says-hi", normal.stderr
    pod("network", "rm", "sealed", check=True)


def test_none_has_only_loopback_and_container_mode_shares_it(pod, busybox):
    none = pod("run", "--rm", "--network", "none", busybox, "ls", "/sys/class/net")
    assert none.stdout.split() == ["lo"]
    first = pod("run", "-d", "--name", "first", "--network", "none", busybox,
                "sh", "-c", "nc -l -p 7777 -e echo shared")  # fmt: skip
    assert first.returncode == 0, first.stderr
    joined = pod("run", "--rm", "--network", "container:first", busybox,
                 "sh", "-c", "for i in $(seq 50); do nc 127.0.0.1 7777 </dev/null && exit; "
                 "sleep 0.1; done")  # fmt: skip
    assert joined.stdout.strip() == "shared", joined.stderr
    pod("rm", "-f", "-t", "0", "first", check=True)


def test_concurrent_runs_get_distinct_addresses(pod, busybox, host_before):
    def start(index: int) -> str:
        result = pod("run", "-d", "--name", f"c{index}", busybox, "sleep", "60")
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    with ThreadPoolExecutor(max_workers=10) as pool:
        ids = list(pool.map(start, range(10)))
    addresses = [
        pod("inspect", "-f", "{{.NetworkSettings.IPAddress}}", cid).stdout.strip() for cid in ids
    ]
    assert len(set(addresses)) == 10 and all(addresses), addresses
    pod("rm", "-f", "-a", "-t", "0", check=True)
    assert (host_links(), firewall_rules()) == host_before


def test_dns_flags_and_add_host(pod, busybox):
    result = pod("run", "--rm", "--dns", "9.9.9.9", "--dns-search", "corp.example",
                 "--dns-option", "ndots:2", "--add-host", "db.local:10.1.2.3", busybox,
                 "sh", "-c", "cat /etc/resolv.conf /etc/hosts")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "nameserver 9.9.9.9\n" in result.stdout
    assert "search corp.example\n" in result.stdout
    assert "options ndots:2\n" in result.stdout
    assert "10.1.2.3\tdb.local\n" in result.stdout
    bad = pod("run", "--rm", "--dns", "not-an-ip", busybox, "true")
    assert (bad.returncode, bad.stderr) == (125, "Error: not-an-ip is not an ip address\n")


@pytest.mark.rootless
def test_rootless_published_port_through_the_forwarder(rootless_pod, rootless_busybox):
    port = free_port()
    started = rootless_pod("run", "-d", "--name", "web", "-p", f"{port}:80",
                           rootless_busybox, "sh", "-c", HTTPD)  # fmt: skip
    assert started.returncode == 0, started.stderr
    assert fetch(f"http://127.0.0.1:{port}/").startswith("hello-from-")
    assert rootless_pod("port", "web").stdout == f"80/tcp -> 0.0.0.0:{port}\n"
    assert rootless_pod("rm", "-f", "-t", "0", "web").returncode == 0
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)


@pytest.mark.rootless
def test_rootless_privileged_port_fails_with_podmans_advice(rootless_pod, rootless_busybox):
    result = rootless_pod("run", "--rm", "-p", "80:80", rootless_busybox, "true")
    assert result.returncode == 125
    assert "ip_unprivileged_port_start" in result.stderr


@pytest.fixture
def tun_open_to_users():
    """/dev/net/tun at 0666 for the test (slirp4netns needs it rootless), restored after."""
    tun = "/dev/net/tun"
    mode = os.stat(tun).st_mode & 0o777
    os.chmod(tun, 0o666)
    yield
    os.chmod(tun, mode)


@pytest.mark.rootless
def test_rootless_outbound_through_slirp4netns(rootless_pod, rootless_busybox, tun_open_to_users):
    with hello_server("127.0.0.1") as port:
        probe = f"ip -4 addr; timeout 5 wget -q -O - http://host.containers.internal:{port}/; true"
        result = rootless_pod("run", "--rm", rootless_busybox, "sh", "-c", probe)
        assert result.returncode == 0, result.stderr
        assert "tap0" in result.stdout and result.stdout.endswith("host-says-hi")
        inspect = rootless_pod("create", "--name", "c", rootless_busybox, "true")
        assert inspect.returncode == 0, inspect.stderr
        mode = rootless_pod("inspect", "-f", "{{.HostConfig.NetworkMode}}", "c").stdout
        assert mode == "slirp4netns\n"


@pytest.mark.rootless
def test_rootless_without_tun_gets_loopback_and_one_notice(rootless_pod, rootless_busybox):
    if os.stat("/dev/net/tun").st_mode & 0o006:
        pytest.skip("this host opens /dev/net/tun to users: the fallback cannot happen here")
    first = rootless_pod("run", "--rm", rootless_busybox, "ls", "/sys/class/net")
    assert first.stdout.split() == ["lo"], first.stderr
    assert "loopback only" in first.stderr and "chmod 0666 /dev/net/tun" in first.stderr
    second = rootless_pod("run", "--rm", rootless_busybox, "true")
    assert second.stderr == ""


def test_connect_and_disconnect_a_running_container(pod, busybox, host_before):
    for name in ("front", "back"):
        pod("network", "create", name, check=True)
    pod("run", "-d", "--name", "a", "--network", "front", busybox, "sleep", "60", check=True)
    pod("run", "-d", "--name", "b", "--network", "back", busybox, "sleep", "60", check=True)
    assert pod("network", "connect", "--alias", "bee", "back", "a").returncode == 0
    interfaces = pod("exec", "a", "ls", "/sys/class/net").stdout.split()
    assert interfaces == ["eth0", "eth1", "lo"]
    hosts_b = pod("exec", "b", "cat", "/etc/hosts").stdout
    assert any(line.split()[1:3] == ["a", "bee"] for line in hosts_b.splitlines() if "\t" in line)
    again = pod("network", "connect", "back", "a")
    assert again.returncode == 125 and "network is already connected" in again.stderr
    assert pod("network", "rm", "back").returncode == 2  # a and b use it
    assert pod("network", "disconnect", "back", "a").returncode == 0
    assert pod("exec", "a", "ls", "/sys/class/net").stdout.split() == ["eth0", "lo"]
    assert "\ta bee" not in pod("exec", "b", "cat", "/etc/hosts").stdout
    missing = pod("network", "disconnect", "back", "a")
    assert missing.returncode == 125 and "is not connected to network back" in missing.stderr
    pod("rm", "-f", "-t", "0", "a", "b", check=True)
    pod("network", "rm", "front", "back", check=True)
    assert (host_links(), firewall_rules()) == host_before


def test_back_to_back_runs_publish_the_same_port(pod, busybox, host_before):
    """A finished `run --rm` frees its host port before `run` returns (scripts reuse it)."""
    port = free_port()
    for _ in range(3):
        result = pod("run", "--rm", "-p", f"{port}:80", busybox, "true")
        assert result.returncode == 0, result.stderr
    assert host_now_as(host_before)


@pytest.mark.rootless
def test_rootless_back_to_back_runs_publish_the_same_port(rootless_pod, rootless_busybox):
    port = free_port()
    for _ in range(3):
        result = rootless_pod("run", "--rm", "-p", f"{port}:80", rootless_busybox, "true")
        assert result.returncode == 0, result.stderr


def test_a_failed_start_leaves_no_network_behind(pod, busybox, host_before, runtime):
    result = pod("run", "--rm", "--runtime", runtime, "-p", f"{free_port()}:80", busybox, "nope")
    assert result.returncode == 127, result.stderr
    assert pod("ps", "-a", "-q").stdout == ""
    assert host_now_as(host_before)


# --- rootless pod networks: the rootless network namespace -------------------------------------


def rootless_netns_running(runner) -> bool:
    """Whether the user's rootless network namespace holder (and so its bridges) runs."""
    holder = runner.runroot / "rootless-netns" / "holder.json"
    try:
        pid = json.loads(holder.read_text())["pid"]
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def rootless_netns_stops(runner) -> bool:
    """Whether the holder is gone within 3 s: pod stops it with the last container using it
    (after a `run --rm`, 0.3 s later: a next run in a script takes it over)."""
    return poll(lambda: not rootless_netns_running(runner), 3)


def _retrying(command: str) -> str:
    """A shell loop: `command` until it succeeds (a server just started), at most ~5 s."""
    return f"for i in $(seq 25); do {command} && exit 0; sleep 0.2; done; exit 1"


@pytest.mark.rootless
def test_rootless_network_members_find_each_other_by_name(rootless_pod, rootless_busybox):
    rootless_pod("network", "create", "backend", check=True)
    started = rootless_pod("run", "-d", "--name", "db", "--hostname", "db", "--network", "backend",
                           "--network-alias", "store", rootless_busybox,
                           "sh", "-c", HTTPD)  # fmt: skip
    assert started.returncode == 0, started.stderr
    for name in ("db", "store"):
        probe = _retrying(f"timeout 5 wget -q -O - http://{name}/")
        result = rootless_pod(
            "run", "--rm", "--network", "backend", rootless_busybox, "sh", "-c", probe
        )
        assert (result.returncode, result.stdout) == (0, "hello-from-db\n"), result.stderr
    assert rootless_netns_running(rootless_pod)
    in_use = rootless_pod("network", "rm", "backend")
    assert in_use.returncode == 2 and "network is being used" in in_use.stderr
    assert rootless_pod("rm", "-f", "-t", "0", "db").returncode == 0
    assert rootless_netns_stops(rootless_pod)  # its bridges went with it
    assert rootless_pod("network", "rm", "backend").returncode == 0


@pytest.mark.rootless
def test_rootless_network_publishes_ports_and_takes_distinct_addresses(
    rootless_pod, rootless_busybox
):
    rootless_pod("network", "create", "--subnet", "10.91.7.0/24", "web", check=True)
    port = free_port()
    started = rootless_pod("run", "-d", "--name", "web", "--hostname", "web", "-p", f"{port}:80",
                           "--network", "web", rootless_busybox, "sh", "-c", HTTPD)  # fmt: skip
    assert started.returncode == 0, started.stderr
    assert fetch(f"http://127.0.0.1:{port}/") == "hello-from-web\n"
    assert rootless_pod("port", "web").stdout == f"80/tcp -> 0.0.0.0:{port}\n"
    other = rootless_pod(
        "run", "--rm", "--network", "web", rootless_busybox, "ip", "-o", "-4", "addr"
    )
    web = rootless_pod("inspect", "-f", "{{.NetworkSettings.Networks.web.IPAddress}}", "web")
    assert web.stdout.startswith("10.91.7.") and web.stdout.strip() not in other.stdout
    assert "inet 10.91.7." in other.stdout
    assert rootless_pod("rm", "-f", "-t", "0", "web").returncode == 0
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)
    assert rootless_netns_stops(rootless_pod)


@pytest.mark.rootless
def test_rootless_connect_disconnect_and_container_mode(rootless_pod, rootless_busybox):
    for name in ("front", "back"):
        rootless_pod("network", "create", name, check=True)
    rootless_pod("run", "-d", "--name", "a", "--hostname", "a", "--network", "front",
                 rootless_busybox, "sh", "-c", HTTPD, check=True)  # fmt: skip
    rootless_pod("run", "-d", "--name", "b", "--network", "back", rootless_busybox, "sleep", "60",
                 check=True)  # fmt: skip
    assert rootless_pod("network", "connect", "--alias", "bee", "back", "a").returncode == 0
    assert rootless_pod("exec", "a", "ls", "/sys/class/net").stdout.split() == [
        "eth0",
        "eth1",
        "lo",
    ]
    fetched = rootless_pod("exec", "b", "sh", "-c", _retrying("timeout 5 wget -qO- http://bee/"))
    assert fetched.stdout == "hello-from-a\n", fetched.stderr
    # container:a shares a's namespace (its loopback too), inside the same user namespace
    shared = rootless_pod("run", "--rm", "--network", "container:a", rootless_busybox, "sh", "-c",
                          "ls /sys/class/net; wget -qO- http://127.0.0.1/")  # fmt: skip
    assert shared.stdout.split() == ["eth0", "eth1", "lo", "hello-from-a"], shared.stderr
    assert rootless_pod("network", "disconnect", "back", "a").returncode == 0
    assert rootless_pod("exec", "a", "ls", "/sys/class/net").stdout.split() == ["eth0", "lo"]
    # keep-id on a pod network: its own user namespace, nested in the rootless one (podman's)
    keep_id = rootless_pod("run", "--rm", "--userns", "keep-id", "--network", "front",
                           rootless_busybox, "sh", "-c",
                           "id -u; " + _retrying("timeout 5 wget -qO- http://a/"))  # fmt: skip
    assert keep_id.stdout == f"{rootless_pod.user.uid}\nhello-from-a\n", keep_id.stderr
    rootless_pod("rm", "-f", "-t", "0", "a", "b", check=True)
    rootless_pod("network", "rm", "front", "back", check=True)
    assert rootless_netns_stops(rootless_pod)


@pytest.mark.rootless
def test_rootless_container_mode_with_private_network(rootless_pod, rootless_busybox):
    rootless_pod("run", "-d", "--name", "srv", rootless_busybox, "sh", "-c",
                 "echo hi > /i; httpd -f -p 127.0.0.1:8000 -h /", check=True)  # fmt: skip
    probe = _retrying("wget -qO- http://127.0.0.1:8000/i")
    result = rootless_pod(
        "run", "--rm", "--network", "container:srv", rootless_busybox, "sh", "-c", probe
    )
    assert (result.returncode, result.stdout) == (0, "hi\n"), result.stderr


@pytest.mark.rootless
def test_rootless_network_reaches_the_host_through_slirp4netns(
    rootless_pod, rootless_busybox, tun_open_to_users
):
    with hello_server("127.0.0.1") as port:
        rootless_pod("network", "create", "out", check=True)
        probe = f"timeout 5 wget -q -O - http://host.containers.internal:{port}/"
        result = rootless_pod(
            "run", "--rm", "--network", "out", rootless_busybox, "sh", "-c", probe
        )
        assert (result.returncode, result.stdout) == (0, "host-says-hi"), result.stderr
        assert rootless_netns_stops(rootless_pod)
