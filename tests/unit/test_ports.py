"""`-p`, `-P` and `--expose` parsing, host port choice, and the ps, port and inspect views."""

import json
import random
import socket

import pytest

from pod.container.list import ports_text, ps_ports
from pod.errors import PodError, UsageError
from pod.network.ports import (
    PortMapping,
    choose_host_ports,
    ephemeral_port_range,
    exposed_from_image,
    format_port_lines,
    inspect_ports,
    parse_expose,
    parse_private_port,
    parse_publish,
    port_bindings,
    port_is_free,
    publish_all,
)


def pm(host_ip, host_port, container_port, protocol="tcp"):
    return PortMapping(host_ip, host_port, container_port, protocol)


# --- -p ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["80"], [pm("", 0, 80)]),
        (["8080:80"], [pm("", 8080, 80)]),
        (["8080:80/udp"], [pm("", 8080, 80, "udp")]),
        (["8080:80/UDP"], [pm("", 8080, 80, "udp")]),
        (["8080:80/sctp"], [pm("", 8080, 80, "sctp")]),
        (["127.0.0.1:8080:80"], [pm("127.0.0.1", 8080, 80)]),
        (["127.0.0.1::80"], [pm("127.0.0.1", 0, 80)]),
        (["0.0.0.0:8080:80"], [pm("", 8080, 80)]),
        (["[::1]:8080:80"], [pm("::1", 8080, 80)]),
        (["[::1]::80/udp"], [pm("::1", 0, 80, "udp")]),
        (["[::]:8080:80"], [pm("::", 8080, 80)]),
        (["[0:0:0:0:0:0:0:1]:8080:80"], [pm("::1", 8080, 80)]),
        (["[FE80::A]:8080:80"], [pm("fe80::a", 8080, 80)]),
        (["[::ffff:127.0.0.1]:8080:80"], [pm("127.0.0.1", 8080, 80)]),
        (["[127.0.0.1]:8080:80"], [pm("127.0.0.1", 8080, 80)]),
        (["[0.0.0.0]:8080:80"], [pm("", 8080, 80)]),
        (["+8080:+80"], [pm("", 8080, 80)]),  # Go's Atoi takes a sign
        (["8000-8002:80-82"], [pm("", 8000, 80), pm("", 8001, 81), pm("", 8002, 82)]),
        (["80-82"], [pm("", 0, 80), pm("", 0, 81), pm("", 0, 82)]),
        (["127.0.0.1::80-81/udp"], [pm("127.0.0.1", 0, 80, "udp"), pm("127.0.0.1", 0, 81, "udp")]),
        (["1:1", "65535:65535"], [pm("", 1, 1), pm("", 65535, 65535)]),
        # string-slice flag: a value is split on commas, as podman's -p is
        (["8080:80,9090:90/udp"], [pm("", 8080, 80), pm("", 9090, 90, "udp")]),
        (["8080:80/tcp", "8080:80/udp"], [pm("", 8080, 80), pm("", 8080, 80, "udp")]),
        # the same mapping twice is merged, as podman merges it
        (["8080:80", "8080:80"], [pm("", 8080, 80)]),
        (["80", "80"], [pm("", 0, 80)]),
        (["8000-8001:80-81", "8001:81"], [pm("", 8000, 80), pm("", 8001, 81)]),
        # one container port on several host ports or addresses is fine
        (["8080:80", "8081:80"], [pm("", 8080, 80), pm("", 8081, 80)]),
        (
            ["127.0.0.1:8080:80", "127.0.0.2:8080:81"],
            [pm("127.0.0.1", 8080, 80), pm("127.0.0.2", 8080, 81)],
        ),
        (["80", "8080:80"], [pm("", 0, 80), pm("", 8080, 80)]),
        ([], []),
        ([""], []),  # pflag reads an empty string-slice value as no values
    ],
)
def test_publish(values, expected):
    assert parse_publish(values) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("8080:", "must provide a non-empty container port to publish"),
        ("80,", "must provide a non-empty container port to publish"),
        ("8080:80/", "must provide a non-empty protocol to publish"),
        ("80/tcp/udp", "invalid port format - protocol can only be specified once"),
        (
            "abc",
            "parsing container port: invalid port number: strconv.Atoi: "
            'parsing "abc": invalid syntax',
        ),
        (
            " 80",
            "parsing container port: invalid port number: strconv.Atoi: "
            'parsing " 80": invalid syntax',
        ),
        (
            "8_0",
            "parsing container port: invalid port number: strconv.Atoi: "
            'parsing "8_0": invalid syntax',
        ),
        (
            "99999999999999999999",
            "parsing container port: invalid port number: strconv.Atoi: "
            'parsing "99999999999999999999": value out of range',
        ),
        (
            "0",
            "parsing container port: port numbers must be between 1 and 65535 (inclusive), got 0",
        ),
        (
            "65536",
            "parsing container port: port numbers must be between 1 and 65535 (inclusive), "
            "got 65536",
        ),
        (
            "0:80",
            "parsing host port: port numbers must be between 1 and 65535 (inclusive), got 0",
        ),
        (
            "70000:80",
            "parsing host port: port numbers must be between 1 and 65535 (inclusive), got 70000",
        ),
        (
            "x:80",
            'parsing host port: invalid port number: strconv.Atoi: parsing "x": invalid syntax',
        ),
        (
            "82-80",
            "parsing container port: the end port of a range must be higher than the start port"
            " - 80 is not higher than 82",
        ),
        (
            "80-80",
            "parsing container port: the end port of a range must be higher than the start port"
            " - 80 is not higher than 80",
        ),
        (
            "8002-8000:80-82",
            "parsing host port: the end port of a range must be higher than the start port"
            " - 8000 is not higher than 8002",
        ),
        ("80-", "parsing container port: must provide ending number for port range"),
        ("-80", "parsing container port: port numbers cannot be negative"),
        (
            "1-2-3",
            "parsing container port: invalid port format - "
            "port ranges are formatted as startPort-stopPort",
        ),
        ("8000-8001:80-82", "host and container port ranges have different lengths: 2 vs 3"),
        ("8000:80-82", "host and container port ranges have different lengths: 1 vs 3"),
        ("8000-8002:80", "host and container port ranges have different lengths: 3 vs 1"),
        ("1.2.3.4.5:80:80", 'cannot parse "1.2.3.4.5" as an IP address'),
        ("localhost:80:80", 'cannot parse "localhost" as an IP address'),
        ("01.2.3.4:80:80", 'cannot parse "01.2.3.4" as an IP address'),
        ("[fe80::1%eth0]:80:80", 'cannot parse "fe80::1%eth0" as an IP address'),
        (":8080:80", "must provide a non-empty container host IP to publish"),
        ("[]:8080:80", "must provide a non-empty container host IP to publish"),
        ("1:2:3:4", "invalid port format - format is [[hostIP:]hostPort:]containerPort"),
        ("::1:8080:80", "invalid port format - format is [[hostIP:]hostPort:]containerPort"),
        (
            "[::1]:80",
            "invalid port format - must provide host and destination port if specifying an IP",
        ),
        ("[::1]8080:80", "invalid port format - IPv6 address must be followed by a colon (':')"),
        ("::1]:8080:80", "invalid port format - IPv6 addresses must be enclosed by []"),
        (
            "[::1]:[::2]:80",
            "invalid port format - at most one IPv6 address can be specified in a --publish",
        ),
        (
            "[::1]:1:2:3",
            "invalid port format - when v6 address specified, must be [ipv6]:hostPort:ctrPort",
        ),
        ("8080:80/foo", 'unrecognized protocol "foo" in port mapping'),
        ("8080:80/FOO", 'unrecognized protocol "foo" in port mapping'),
        # podman 4.3's -p is a string-slice flag: the comma splits the value, not the protocol
        (
            "8080:80/tcp,udp",
            'parsing container port: invalid port number: strconv.Atoi: parsing "udp": '
            "invalid syntax",
        ),
    ],
)
def test_bad_publish(value, message):
    with pytest.raises(UsageError) as caught:
        parse_publish([value])
    assert str(caught.value) == message
    assert caught.value.exit_code == 125


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (["8080:80", "8080:81"], "conflicting port mappings for host port 8080 (protocol tcp)"),
        (
            ["8000-8002:80-82", "8001:90"],
            "conflicting port mappings for host port 8001 (protocol tcp)",
        ),
        (
            ["127.0.0.1:53:53/udp", "127.0.0.1:53:54/udp"],
            "conflicting port mappings for host port 53 (protocol udp)",
        ),
        (
            ["0.0.0.0:8080:80", "8080:81"],
            "conflicting port mappings for host port 8080 (protocol tcp)",
        ),
        # every value's syntax first, then protocols, then conflicts: podman's order
        (["8080:80", "8080:81", "90/foo"], 'unrecognized protocol "foo" in port mapping'),
        (
            ["90/foo", "abc"],
            "parsing container port: invalid port number: strconv.Atoi: "
            'parsing "abc": invalid syntax',
        ),
    ],
)
def test_publish_conflicts_and_error_order(values, message):
    with pytest.raises(UsageError) as caught:
        parse_publish(values)
    assert str(caught.value) == message


def test_mapping_json_round_trip():
    for mapping in [pm("", 0, 80), pm("::1", 8080, 80, "udp"), pm("10.0.0.1", 1, 2, "sctp")]:
        data = mapping.to_json()
        assert json.loads(json.dumps(data)) == data
        assert PortMapping.from_json(data) == mapping
    assert PortMapping.from_json({"container_port": 80}) == pm("", 0, 80)


# --- --expose, image EXPOSE, -P -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["80"], [(80, "tcp")]),
        (["53/udp"], [(53, "udp")]),
        (["80/TCP"], [(80, "tcp")]),
        (["80/"], [(80, "tcp")]),  # podman reads an empty protocol as tcp here
        (["8000-8002"], [(8000, "tcp"), (8001, "tcp"), (8002, "tcp")]),
        (["5000-5001/udp"], [(5000, "udp"), (5001, "udp")]),
        (["80,90"], [(80, "tcp"), (90, "tcp")]),
        (["80", "80/tcp", "80/udp"], [(80, "tcp"), (80, "udp")]),
        ([""], []),
        ([], []),
    ],
)
def test_expose(values, expected):
    assert parse_expose(values) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0", "port numbers must be between 1 and 65535 (inclusive), got 0"),
        ("abc", 'invalid port number: strconv.Atoi: parsing "abc": invalid syntax'),
        (
            "90-80",
            "the end port of a range must be higher than the start port - 80 is not higher than 90",
        ),
        ("80-", "must provide ending number for port range"),
        ("80/tcp/udp", "invalid expose format - protocol can only be specified once"),
        (
            "80/sctp",
            "validating protocols for exposed port 80: "
            "protocol SCTP is not allowed for exposed ports",
        ),
        (
            "80/foo",
            'validating protocols for exposed port 80: unrecognized protocol "foo" in port mapping',
        ),
        ("80,", "port numbers cannot be negative"),
    ],
)
def test_bad_expose(value, message):
    with pytest.raises(UsageError) as caught:
        parse_expose([value])
    assert str(caught.value) == message


def test_exposed_from_image():
    config = {"80/tcp": {}, "53/udp": {}, "8080": {}, "9000-9001/tcp": {}, "80/TCP": {}}
    assert exposed_from_image(config) == [
        (80, "tcp"),
        (53, "udp"),
        (8080, "tcp"),
        (9000, "tcp"),
        (9001, "tcp"),
    ]
    assert exposed_from_image({}) == []
    with pytest.raises(PodError, match=r"^unable to convert image EXPOSE: invalid port number"):
        exposed_from_image({"http/tcp": {}})
    with pytest.raises(PodError, match=r"^validating protocols for exposed port 80: protocol SCTP"):
        exposed_from_image({"80/sctp": {}})


def test_publish_all_adds_unpublished_exposed_ports():
    existing = [pm("", 8080, 80), pm("127.0.0.1", 5353, 53)]
    exposed = [(80, "tcp"), (443, "tcp"), (53, "tcp"), (53, "udp"), (443, "tcp")]
    assert publish_all(exposed, existing) == [
        *existing,
        pm("", 0, 443),
        pm("", 0, 53, "udp"),
    ]
    assert publish_all([], existing) == existing
    assert publish_all([(80, "tcp")], []) == [pm("", 0, 80)]


# --- choosing host ports ------------------------------------------------------------------------


def busy_ports(busy, calls=None):
    def check(host_ip, port, protocol):
        if calls is not None:
            calls.append((host_ip, port, protocol))
        return port not in busy

    return check


def test_choose_fills_only_zero_ports_and_keeps_order():
    mappings = [pm("", 8080, 80), pm("127.0.0.1", 0, 90, "udp"), pm("", 9090, 91)]
    calls = []
    chosen = choose_host_ports(
        mappings, busy_ports(set(), calls), port_range=(40000, 40100), rng=random.Random(1)
    )
    assert [(m.host_ip, m.container_port, m.protocol) for m in chosen] == [
        ("127.0.0.1", 90, "udp") if m.host_port == 0 else (m.host_ip, m.container_port, m.protocol)
        for m in mappings
    ]
    assert chosen[0] == mappings[0] and chosen[2] == mappings[2]
    assert 40000 <= chosen[1].host_port <= 40100
    assert calls == [("127.0.0.1", chosen[1].host_port, "udp")]
    assert choose_host_ports([pm("", 1, 2)], busy_ports(set())) == [pm("", 1, 2)]
    assert choose_host_ports([], busy_ports(set())) == []


def test_choose_skips_busy_and_listed_ports():
    # 7000-7009: 7005 is published by the list itself, every other but 7007 is in use
    busy = set(range(7000, 7010)) - {7005, 7007}
    for seed in range(20):
        chosen = choose_host_ports(
            [pm("", 7005, 1), pm("", 0, 80)],
            busy_ports(busy),
            port_range=(7000, 7009),
            rng=random.Random(seed),
        )
        assert chosen == [pm("", 7005, 1), pm("", 7007, 80)]


def test_choose_never_uses_a_port_twice():
    mappings = [pm("", 0, port) for port in range(1, 40, 2)] + [pm("", 0, 1, "udp")]
    chosen = choose_host_ports(mappings, busy_ports(set()), port_range=(50000, 50030))
    ports = [m.host_port for m in chosen]
    assert len(set(ports)) == len(ports) == 21
    assert all(50000 <= port <= 50030 for port in ports)


def test_choose_is_random_within_the_range():
    picks = {
        choose_host_ports([pm("", 0, 80)], busy_ports(set()), rng=random.Random(seed))[0].host_port
        for seed in range(10)
    }
    low, high = ephemeral_port_range()
    assert len(picks) > 1
    assert all(low <= port <= high for port in picks)


def test_choose_gives_a_range_consecutive_host_ports():
    busy = {6001, 6006}
    for seed in range(20):
        chosen = choose_host_ports(
            parse_publish(["80-82", "127.0.0.1::80-81"]),
            busy_ports(busy),
            port_range=(6000, 6010),
            rng=random.Random(seed),
        )
        first = chosen[0].host_port
        assert [m.host_port for m in chosen[:3]] == [first, first + 1, first + 2]
        assert first in (6002, 6003, 6007, 6008)
        second = chosen[3].host_port
        assert chosen[4].host_port == second + 1
        used = [m.host_port for m in chosen]
        assert len(set(used)) == 5 and not busy & set(used)
    # a fixed port between two random ones breaks the run
    chosen = choose_host_ports(
        [pm("", 0, 80), pm("", 7000, 81), pm("", 0, 82)], busy_ports(set()), port_range=(6000, 6010)
    )
    assert chosen[1].host_port == 7000


@pytest.mark.parametrize(
    ("values", "busy", "message"),
    [
        (
            ["80"],
            set(range(6000, 6006)),
            "failed to find an open port to expose container port 80 on the host",
        ),
        (
            ["127.0.0.1::80-82"],
            {6001, 6004},  # single ports are free, no three in a row
            "failed to find an open port to expose container port 80 with range 3 on the host",
        ),
        (
            ["8000-8006"],
            set(),  # longer than the whole range
            "failed to find an open port to expose container port 8000 with range 7 on the host",
        ),
    ],
)
def test_choose_fails_when_nothing_is_free(values, busy, message):
    calls = []
    with pytest.raises(PodError) as caught:
        choose_host_ports(parse_publish(values), busy_ports(busy, calls), port_range=(6000, 6005))
    assert str(caught.value) == message
    assert caught.value.exit_code == 125
    checked = [port for _, port, _ in calls]
    assert len(checked) == len(set(checked))  # each port tested once


def test_choose_finds_the_single_free_ports_a_range_could_not():
    for seed in range(10):
        found = choose_host_ports(
            parse_publish(["80"]),
            busy_ports({6001, 6004}),
            port_range=(6000, 6005),
            rng=random.Random(seed),
        )
        assert found[0].host_port in (6000, 6002, 6003, 6005)


def test_ephemeral_port_range():
    low, high = ephemeral_port_range()
    assert 1 <= low <= high <= 65535


def _listening_port_with_free_neighbour() -> tuple[socket.socket, int]:
    """A TCP listener on 127.0.0.1:P where P+1 is free."""
    for _ in range(50):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        if port < 65535 and port_is_free("127.0.0.1", port + 1, "tcp"):
            return sock, port
        sock.close()
    pytest.skip("no free neighbouring port found")


def test_real_bind_check_skips_a_port_in_use():
    sock, port = _listening_port_with_free_neighbour()
    with sock:
        assert not port_is_free("127.0.0.1", port, "tcp")
        assert not port_is_free("", port, "tcp")  # 0.0.0.0 overlaps 127.0.0.1
        for seed in range(5):
            chosen = choose_host_ports(
                [pm("127.0.0.1", 0, 80)], port_range=(port, port + 1), rng=random.Random(seed)
            )
            assert chosen == [pm("127.0.0.1", port + 1, 80)]
        with pytest.raises(PodError, match="failed to find an open port"):
            choose_host_ports([pm("", 0, 80)], port_range=(port, port))


def test_real_bind_check_udp():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        assert not port_is_free("127.0.0.1", port, "udp")
    # an address this host does not have says nothing about the port: the real bind decides
    assert port_is_free("192.0.2.1", 80, "tcp")


# --- ps -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([], ""),
        (["8080:80"], "0.0.0.0:8080->80/tcp"),
        (
            ["8080:80", "127.0.0.1:9000:90/udp"],
            "0.0.0.0:8080->80/tcp, 127.0.0.1:9000->90/udp",
        ),
        (["8000-8002:80-82"], "0.0.0.0:8000-8002->80-82/tcp"),
        # podman joins mappings given one by one, in any order
        (["8001:81", "8000:80", "8002:82"], "0.0.0.0:8000-8002->80-82/tcp"),
        (["8000:80", "8001:82"], "0.0.0.0:8000->80/tcp, 0.0.0.0:8001->82/tcp"),
        (["8000:80", "8002:82"], "0.0.0.0:8000->80/tcp, 0.0.0.0:8002->82/tcp"),
        (["8000:80/tcp", "8001:81/udp"], "0.0.0.0:8000->80/tcp, 0.0.0.0:8001->81/udp"),
        (
            ["8000:80", "127.0.0.1:8001:81"],
            "0.0.0.0:8000->80/tcp, 127.0.0.1:8001->81/tcp",
        ),
        (["9090:90", "8080:80"], "0.0.0.0:8080->80/tcp, 0.0.0.0:9090->90/tcp"),
        (["8080:80", "8081:80"], "0.0.0.0:8080->80/tcp, 0.0.0.0:8081->80/tcp"),
        (
            ["8000-8001:80-81", "9000:82", "8002:82"],
            "0.0.0.0:8000-8002->80-82/tcp, 0.0.0.0:9000->82/tcp",
        ),
        (["[::1]:8080:80"], "::1:8080->80/tcp"),  # podman 4.3 prints no brackets
        (["[::]:8080:80/udp"], ":::8080->80/udp"),
        (
            ["8000-8001:80-81/udp", "8000-8001:80-81/tcp"],
            "0.0.0.0:8000-8001->80-81/udp, 0.0.0.0:8000-8001->80-81/tcp",
        ),
    ],
)
def test_ps_ports(values, expected):
    assert ports_text(ps_ports(parse_publish(values))) == expected


def test_ps_ports_after_choosing_random_ports():
    chosen = choose_host_ports(
        parse_publish(["127.0.0.1::80-82"]), busy_ports(set()), port_range=(40000, 40000 + 2)
    )
    assert ports_text(ps_ports(chosen)) == "127.0.0.1:40000-40002->80-82/tcp"


# --- port ---------------------------------------------------------------------------------------

PUBLISHED = parse_publish(
    ["8080:80", "127.0.0.1:9000:90/udp", "127.0.0.1:8081:80", "7000-7001:70-71"]
)


def test_port_lines():
    assert format_port_lines(PUBLISHED) == [
        "70/tcp -> 0.0.0.0:7000",  # by host port within an address and protocol, as podman
        "71/tcp -> 0.0.0.0:7001",
        "80/tcp -> 0.0.0.0:8080",
        "90/udp -> 127.0.0.1:9000",
        "80/tcp -> 127.0.0.1:8081",
    ]
    assert format_port_lines([pm("::1", 8080, 80)]) == ["80/tcp -> ::1:8080"]
    assert format_port_lines([]) == []


@pytest.mark.parametrize(
    ("private_port", "expected"),
    [
        ("80", ["0.0.0.0:8080", "127.0.0.1:8081"]),
        ("80/tcp", ["0.0.0.0:8080", "127.0.0.1:8081"]),
        ("90/udp", ["127.0.0.1:9000"]),
        ("71", ["0.0.0.0:7001"]),
    ],
)
def test_port_lines_for_a_private_port(private_port, expected):
    assert format_port_lines(PUBLISHED, private_port) == expected


@pytest.mark.parametrize("private_port", ["90", "90/tcp", "80/udp", "80/TCP", "81", "0", "80/"])
def test_port_not_published(private_port):
    with pytest.raises(PodError) as caught:
        format_port_lines(PUBLISHED, private_port)
    assert str(caught.value) == f'failed to find published port "{private_port}"'
    assert caught.value.exit_code == 125


def test_port_of_a_container_without_ports_prints_nothing():
    # podman reports no container at all then, so it never says "failed to find"
    assert format_port_lines([], "80") == []


@pytest.mark.parametrize(
    ("private_port", "message"),
    [
        ("80/tcp/x", "port formats are port/protocol. '80/tcp/x' is invalid"),
        ("http", 'strconv.ParseUint: parsing "http": invalid syntax'),
        ("/tcp", 'strconv.ParseUint: parsing "": invalid syntax'),
        ("+80", 'strconv.ParseUint: parsing "+80": invalid syntax'),
        ("70000", 'strconv.ParseUint: parsing "70000": value out of range'),
    ],
)
def test_bad_private_port(private_port, message):
    with pytest.raises(UsageError) as caught:
        format_port_lines(PUBLISHED, private_port)
    assert str(caught.value) == message
    with pytest.raises(UsageError):
        parse_private_port(private_port)


def test_parse_private_port():
    assert parse_private_port("80") == (80, "tcp")
    assert parse_private_port("53/udp") == (53, "udp")


# --- inspect ------------------------------------------------------------------------------------


def test_inspect_ports_shape():
    mappings = parse_publish(["8080:80", "127.0.0.1:8081:80", "53:53/udp", "[::1]:9000-9001:90-91"])
    ports = inspect_ports(mappings, [(80, "tcp"), (443, "tcp"), (53, "udp")])
    assert ports == {
        "443/tcp": None,
        "53/udp": [{"HostIp": "", "HostPort": "53"}],
        "80/tcp": [
            {"HostIp": "", "HostPort": "8080"},
            {"HostIp": "127.0.0.1", "HostPort": "8081"},
        ],
        "90/tcp": [{"HostIp": "::1", "HostPort": "9000"}],
        "91/tcp": [{"HostIp": "::1", "HostPort": "9001"}],
    }
    # keys in Go's JSON order (sorted as strings)
    assert list(ports) == ["443/tcp", "53/udp", "80/tcp", "90/tcp", "91/tcp"]
    assert json.dumps(inspect_ports([pm("", 8080, 80)], [(443, "tcp")])) == (
        '{"443/tcp": null, "80/tcp": [{"HostIp": "", "HostPort": "8080"}]}'
    )
    assert inspect_ports([]) == {}
    assert inspect_ports([], [(80, "tcp")]) == {"80/tcp": None}


def test_port_bindings_match_podman_4_3():
    mappings = parse_publish(["8080:80", "127.0.0.1::90/udp"])
    mappings = choose_host_ports(mappings, busy_ports(set()), port_range=(41000, 41000))
    assert port_bindings(mappings) == {
        "80/tcp": [{"HostIp": "", "HostPort": "8080"}],
        "90/udp": [{"HostIp": "127.0.0.1", "HostPort": "41000"}],
    }
    assert port_bindings(mappings, [(443, "tcp")]) == inspect_ports(mappings, [(443, "tcp")])
    assert port_bindings([]) == {}
