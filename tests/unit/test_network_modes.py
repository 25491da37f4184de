"""--network parsing (pod.network.modes): podman's modes, names with options, the defaults."""

import pytest

from pod.errors import UsageError
from pod.network.modes import NetworkAttachment, NetworkFlags, NetworkMode, parse_network


def parse(*values, aliases=(), ip=None, rootless=False):
    return parse_network(NetworkFlags(list(values), list(aliases), ip), rootless)


def test_defaults_are_bridge_rootful_and_user_mode_rootless():
    assert parse() == NetworkMode("bridge", (NetworkAttachment("pod"),))
    assert parse("private") == parse()
    assert parse(rootless=True) == NetworkMode("private")
    assert parse("private", rootless=True) == NetworkMode("private")


@pytest.mark.parametrize("value", ["none", "host", "slirp4netns"])
def test_simple_modes(value):
    assert parse(value).kind == value


def test_bridge_means_the_default_network():
    assert parse("bridge") == NetworkMode("bridge", (NetworkAttachment("pod"),))


def test_container_and_ns_keep_their_target():
    assert parse("container:web") == NetworkMode("container", target="web")
    assert parse("ns:/run/netns/x") == NetworkMode("ns", target="/run/netns/x")
    assert parse("container:web").describe() == "container:web"


def test_named_networks_with_options():
    mode = parse("front:ip=10.90.5.9,alias=web,alias=www", "back")
    assert mode.kind == "bridge"
    assert mode.networks == (
        NetworkAttachment("front", ("web", "www"), "10.90.5.9"),
        NetworkAttachment("back"),
    )


def test_alias_and_ip_flags_apply_to_the_only_network():
    mode = parse("front", aliases=["db"], ip="10.90.1.7")
    assert mode.networks == (NetworkAttachment("front", ("db",), "10.90.1.7"),)
    assert parse(aliases=["db"]).networks == (NetworkAttachment("pod", ("db",)),)


@pytest.mark.parametrize(
    ("values", "kwargs", "message"),
    [
        (("host", "front"), {}, "cannot be combined"),
        (("front", "front"), {}, "given twice"),
        (("container:",), {}, "needs a container"),
        (("ns:relative",), {}, "absolute path"),
        (("Bad Name",), {}, "invalid network name"),
        (("front:mtu=9000",), {}, "unknown network option"),
        (("front:ip=999.1.1.1",), {}, "not an ip address"),
        (("none",), {"aliases": ["x"]}, "need a pod network"),
        (("a", "b"), {"ip": "10.90.0.5"}, "exactly one network"),
        (("slirp4netns:port_handler=x",), {}, 'unknown port_handler for slirp4netns: "x"'),
        (("slirp4netns:bogus=1",), {}, 'unknown option for slirp4netns: "bogus=1"'),
        (("slirp4netns:cidr=10.0.3.0/33",), {}, "invalid cidr"),
        (
            ("slirp4netns:allow_host_loopback=maybe",),
            {},
            'invalid value of allow_host_loopback for slirp4netns: "maybe"',
        ),
        (("slirp4netns:mtu=abc",), {}, 'invalid mtu "abc"'),
        (("pasta",), {}, "not supported"),
    ],
)
def test_invalid(values, kwargs, message):
    with pytest.raises(UsageError, match=message):
        parse(*values, **kwargs)


def test_rootless_containers_may_name_pod_networks():
    mode = parse("front", rootless=True)
    assert (mode.kind, [a.name for a in mode.networks]) == ("bridge", ["front"])


def test_slirp4netns_options_become_its_flags():
    from pod.network.modes import parse_slirp_options, slirp_host_address

    mode = parse("slirp4netns:cidr=10.0.3.0/24,allow_host_loopback=false,port_handler=slirp4netns")
    assert (mode.kind, mode.describe()) == (
        "slirp4netns",
        "slirp4netns:cidr=10.0.3.0/24,allow_host_loopback=false,port_handler=slirp4netns",
    )
    assert parse_slirp_options(mode.target) == ["--cidr=10.0.3.0/24", "--disable-host-loopback"]
    assert parse_slirp_options("enable_ipv6=true,mtu=1500,outbound_addr=10.1.1.1") == [
        "--enable-ipv6",
        "--mtu=1500",
        "--outbound-addr=10.1.1.1",
    ]
    assert slirp_host_address(mode.target) == "10.0.3.2"
    assert slirp_host_address("") == "10.0.2.2"
