"""Host firewall rules for rootful bridge networks: NAT out, forwarding, published ports.

Two backends make the same rules, netavark-style: nftables (all of pod's rules in one
`table inet pod`, every call one `nft -f` transaction) and iptables (POD-* chains, one
`iptables-restore --noflush` per table, earlier tables undone when a later one fails). Every
rule pod adds lives in a chain of its own or jumps to one, so removal is exact, and once
nothing of pod is left its table/chains are gone. The host's other rules (netavark's, docker's,
the admin's) are never flushed or reordered, only added to at the top of the builtin chains.

Per network (bridge BR, subnet SUB):
- forward: accept from BR, accept to BR when established/related or DNAT'ed (published ports),
  so containers work when the host's FORWARD policy is DROP (as after docker is installed);
- postrouting: masquerade SUB to anything outside SUB (not multicast), and masquerade
  127.0.0.0/8 and hairpin (SUB → a published port → SUB) traffic that leaves through BR (a
  container reaching its own published port also needs hairpin mode on its bridge port: with
  br_netfilter the DNAT happens at the bridge, which must send the frame back out that port);
- input: drop new connections from BR to 127.0.0.0/8 (BR gets route_localnet=1 so that the
  host's own 127.0.0.1:port reaches published ports: without this rule containers could reach
  the host's localhost-only services, CVE-2020-8558);
- sysctls: net.ipv4.ip_forward=1 (never turned off again), route_localnet=1 on BR.
An `internal` network gets no NAT and no published ports (as netavark); forwarding in or out
of BR and every new connection from BR to the host are dropped, and BR's forwarding sysctl is
0. Containers on BR still reach each other, and the host still reaches them.
Published ports: in PREROUTING and OUTPUT, traffic to a local address (optionally only the
given host IP) and the host port is DNAT'ed to the container, one chain per container.

With the nftables backend, a DROP policy in iptables' FORWARD (docker's) would still drop the
traffic our table accepts (a drop in any table is final), so there the forward rules are also
added with iptables (the same POD-FORWARD chains) and removed with the network.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import json
import re
import shlex
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Protocol

from pod.errors import PodError
from pod.util.records import dataclass, field

SEARCH_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
PROTOCOLS = ("tcp", "udp", "sctp")
LOOPBACK = "127.0.0.0/8"
MULTICAST = "224.0.0.0/4"
SYSCTL_NET = Path("/proc/sys/net")
_TIMEOUT = 60
_ENV = {"PATH": SEARCH_PATH, "LC_ALL": "C"}
# Names end up inside rule text: only characters that no tool reads as syntax.
_NAME = r"[A-Za-z0-9][A-Za-z0-9_.-]*\Z"
_IFNAME = r"[A-Za-z0-9_.-]{1,15}\Z"


@dataclass(frozen=True)
class NetworkRules:
    """The firewall's view of one bridge network."""

    name: str
    bridge: str
    subnet: str  # CIDR "10.90.0.0/24"
    internal: bool = False

    def __post_init__(self) -> None:
        if not re.match(_NAME, self.name):
            raise PodError(f"network name {self.name!r} cannot be used in firewall rules")
        if not re.match(_IFNAME, self.bridge):
            raise PodError(f"bridge name {self.bridge!r} cannot be used in firewall rules")
        try:
            network = ipaddress.ip_network(self.subnet, strict=False)
        except ValueError as err:
            raise PodError(f"network {self.name}: invalid subnet {self.subnet!r}") from err
        if network.version != 4:
            raise PodError(f"network {self.name}: firewall rules are for IPv4 subnets only")

    @property
    def network(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network(self.subnet, strict=False)


@dataclass(frozen=True)
class PortRule:
    """One published port (pod.network.ports.PortMapping carries the same attributes)."""

    host_ip: str  # "" or "0.0.0.0": every address of the host
    host_port: int
    container_port: int
    protocol: str = "tcp"


class Firewall(Protocol):
    """What the bridge code calls. Callers serialize the calls (their networks lock); each call
    is all-or-nothing where the tool allows, and undoes its own changes when it fails."""

    name: str  # "nftables" | "iptables"

    def setup_network(self, net: NetworkRules) -> None: ...

    def teardown_network(self, net: NetworkRules) -> None: ...

    def add_ports(
        self, net: NetworkRules, container_id: str, container_ip: str, ports: Sequence[PortRule]
    ) -> None: ...

    def remove_ports(self, net: NetworkRules, container_id: str) -> None: ...


def detect(preferred: str | None = None) -> Firewall:
    """The backend to use: containers.conf's firewall_driver when set, else nft, else iptables."""
    choice = (preferred or "").strip().lower()
    if choice not in ("", "nftables", "iptables"):
        raise PodError(
            f"unsupported firewall_driver {preferred!r} in containers.conf [network]: "
            "pod supports nftables and iptables"
        )
    nft = _which("nft")
    iptables = _iptables_tools()
    if choice == "nftables" or (not choice and nft):
        if nft is None:
            raise PodError(
                "firewall_driver is nftables but the nft command is missing: install nftables"
            )
        compat = IptablesFirewall(*iptables) if iptables else None
        return NftablesFirewall(nft, compat)
    if iptables:
        return IptablesFirewall(*iptables)
    if choice:
        raise PodError(
            "firewall_driver is iptables but iptables, iptables-save or iptables-restore is "
            "missing: install iptables"
        )
    raise PodError(
        "no firewall tool for bridge networks (neither nft nor iptables was found in "
        f"{SEARCH_PATH}): install nftables (or iptables)"
    )


# ----------------------------------------------------------------------------------------
# shared helpers


@dataclass(frozen=True)
class _Port:
    host_ip: str | None  # None: any local address
    host_port: int
    container_port: int
    protocol: str


def _which(tool: str) -> str | None:
    return shutil.which(tool, path=SEARCH_PATH)


def _iptables_tools() -> tuple[str, str, str] | None:
    found = [_which(t) for t in ("iptables", "iptables-restore", "iptables-save")]
    if None in found:
        return None
    return found[0], found[1], found[2]  # type: ignore[return-value]


def _one_line(text: str) -> str:
    """A tool's error output in one line (nft's caret lines dropped)."""
    return " ".join(word for word in text.split() if set(word) != {"^"})


class _Started:
    """A firewall tool running while pod does something else; `output` waits for it."""

    def __init__(self, argv: list[str], stdin: str | None = None) -> None:
        self.argv, self.stdin = argv, stdin
        self.proc: subprocess.Popen[str] | None = None
        self.error: OSError | None = None
        try:
            self.proc = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=_ENV,
            )
        except OSError as err:
            self.error = err

    def output(self, what: str) -> str:
        """Its stdout; PodError (saying `what` failed) when it could not run or failed."""
        if self.proc is None:
            err = self.error
            raise PodError(f"{what}: running {self.argv[0]}: {err and (err.strerror or err)}")
        try:
            out, err_text = self.proc.communicate(self.stdin, timeout=_TIMEOUT)
        except subprocess.TimeoutExpired as err:
            self.proc.kill()
            self.proc.wait()
            raise PodError(f"{what}: {self.argv[0]} did not finish in {_TIMEOUT} s") from err
        if self.proc.returncode != 0:
            detail = _one_line(err_text) or _one_line(out)
            code = self.proc.returncode
            raise PodError(f"{what}: {detail or f'{self.argv[0]} exited with {code}'}")
        return out

    def close(self) -> None:
        """Stop it if nobody read its output (the caller failed first)."""
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            self.proc.communicate()


def _run(argv: list[str], what: str, stdin: str | None = None) -> str:
    return _Started(argv, stdin).output(what)


def _key(text: str, length: int) -> str:
    """A short, rule-safe tag: container ids are hex already, anything else is hashed."""
    if re.fullmatch(r"[0-9a-f]+", text) and len(text) >= length:
        return text[:length]
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def _net_key(net: NetworkRules) -> str:
    return hashlib.sha256(net.name.encode()).hexdigest()[:10]


def _ctr_key(container_id: str) -> str:
    return _key(container_id, 16)


def _comment(net: NetworkRules, container_id: str | None = None) -> str:
    text = f"pod network={net.name}"
    if container_id is not None:
        text += f" container={_ctr_key(container_id)}"
    return text


def _comment_network(comment: str) -> str | None:
    match = re.search(r"\bnetwork=(\S+)", comment)
    return match.group(1) if match else None


def _port_specs(ports: Iterable[PortRule]) -> list[_Port]:
    specs: list[_Port] = []
    for port in ports:
        protocol = str(port.protocol or "tcp").lower()
        if protocol not in PROTOCOLS:
            raise PodError(f"cannot publish protocol {port.protocol!r}: use tcp, udp or sctp")
        host_port, container_port = int(port.host_port), int(port.container_port)
        if not (0 < host_port < 65536 and 0 < container_port < 65536):
            raise PodError(f"cannot publish {host_port}:{container_port}: ports are 1-65535")
        host_ip = str(port.host_ip or "").strip("[]")
        address: str | None = None
        if host_ip not in ("", "0.0.0.0"):
            try:
                parsed = ipaddress.ip_address(host_ip)
            except ValueError as err:
                raise PodError(f"invalid host IP {port.host_ip!r} for port {host_port}") from err
            if parsed.version != 4:
                continue  # an IPv6 host address never reaches an IPv4 container (netavark too)
            address = str(parsed)
        spec = _Port(address, host_port, container_port, protocol)
        if spec not in specs:
            specs.append(spec)
    return specs


def _publishing(
    net: NetworkRules, container_ip: str, ports: Iterable[PortRule]
) -> tuple[str, list[_Port]] | None:
    """The container's address and the ports to publish; None: none (an internal network
    publishes nothing, as netavark's; no ports means any old rules of it go)."""
    if net.internal:
        return None
    address = _container_address(net, container_ip)
    specs = _port_specs(ports)
    return (address, specs) if specs else None


def _container_address(net: NetworkRules, container_ip: str) -> str:
    try:
        address = ipaddress.IPv4Address(str(container_ip or "").split("/", 1)[0])
    except ValueError as err:
        raise PodError(f"invalid container address {container_ip!r} for published ports") from err
    if address not in net.network:
        raise PodError(f"container address {address} is not in network {net.name} ({net.subnet})")
    return str(address)


def _sysctl(key: str, value: str, missing_ok: bool = False) -> None:
    """Set net.<key> (slash-separated under /proc/sys/net) unless it already has the value.

    Never rewrites an equal value: a write of ip_forward resets every interface's forwarding.
    """
    path = SYSCTL_NET / key
    try:
        if path.read_text().strip() == value:
            return
        path.write_text(value + "\n")
    except FileNotFoundError:
        if missing_ok:
            return
        raise PodError(f"cannot set net.{key.replace('/', '.')}: {path} does not exist") from None
    except OSError as err:
        raise PodError(
            f"cannot set net.{key.replace('/', '.')}={value}: {err.strerror or err}"
        ) from err


def _network_sysctls(net: NetworkRules) -> None:
    if net.internal:
        _sysctl(f"ipv4/conf/{net.bridge}/forwarding", "0", missing_ok=True)
        return
    _sysctl("ipv4/ip_forward", "1")
    _sysctl(f"ipv4/conf/{net.bridge}/route_localnet", "1", missing_ok=True)


# ----------------------------------------------------------------------------------------
# nftables


@dataclass(frozen=True)
class _NftRule:
    chain: str
    handle: int
    target: str  # the chain it jumps to, "" when it jumps nowhere
    comment: str


@dataclass
class _NftState:
    exists: bool = False
    chains: set[str] = field(default_factory=set)
    rules: list[_NftRule] = field(default_factory=list)

    def jumps_to(self, target: str, chain: str | None = None) -> list[_NftRule]:
        return [r for r in self.rules if r.target == target and chain in (None, r.chain)]


_NFT_BASE = {
    "forward": "type filter hook forward priority filter; policy accept;",
    "input": "type filter hook input priority filter; policy accept;",
    "prerouting": "type nat hook prerouting priority dstnat; policy accept;",
    "output": "type nat hook output priority -100; policy accept;",
    "postrouting": "type nat hook postrouting priority srcnat; policy accept;",
}
_NFT_HOSTPORTS = "hostports"
_NFT_ITEMS = ("net-", "ctr-")  # the chains whose presence means pod still has rules


class NftablesFirewall:
    """All of pod's rules in `table inet pod`; every call is one `nft -f` transaction."""

    name = "nftables"
    family_table = "inet pod"

    def __init__(self, nft: str, compat: IptablesFirewall | None = None) -> None:
        self.nft = nft
        self.compat = compat  # adds the forward rules to iptables when its FORWARD drops

    # -- the Firewall protocol

    def setup_network(self, net: NetworkRules) -> None:
        # iptables' rules are read while nft works: the two tools run side by side.
        compat_rules = self.compat.start_reading() if self.compat is not None else None
        try:
            self._set_up(net, compat_rules)
        finally:
            if compat_rules is not None:
                compat_rules.close()

    def _set_up(self, net: NetworkRules, compat_rules: _Started | None) -> None:
        state = self._state()
        chains = self._network_chains(net)
        was_set_up = all(name in state.chains for name in chains)
        script = self._skeleton(state)
        for name, (base, rules) in chains.items():
            script += self._fill_chain(name, rules)
            if not state.jumps_to(name, base):
                comment = _comment(net)
                script.append(
                    f'add rule {self.family_table} {base} jump {name} comment "{comment}"'
                )
        stale = {self._chain(net, "nat")} - set(chains)  # the network was not internal before
        script += self._drop_chains(state, stale & state.chains)
        self._apply(script, f"setting up the firewall rules of network {net.name}")
        try:
            _network_sysctls(net)
            if self.compat is not None and self.compat.forward_needs_rules(net, compat_rules):
                self.compat.setup_forward(net)
        except PodError:
            if not was_set_up:
                with contextlib.suppress(PodError):
                    self.teardown_network(net)
            raise

    def teardown_network(self, net: NetworkRules) -> None:
        state = self._state()
        doomed = {name for name in self._all_network_chains(net) if name in state.chains}
        for rule in state.rules:
            if rule.target.startswith("ctr-") and _comment_network(rule.comment) == net.name:
                doomed.add(rule.target)
        errors: list[PodError] = []
        try:
            self._apply(self._removal(state, doomed), f"removing the rules of network {net.name}")
        except PodError as err:
            errors.append(err)
        if self.compat is not None:
            try:
                self.compat.teardown_forward(net)
            except PodError as err:
                errors.append(err)
        if errors:
            raise errors[0]

    def add_ports(
        self, net: NetworkRules, container_id: str, container_ip: str, ports: Sequence[PortRule]
    ) -> None:
        planned = _publishing(net, container_ip, ports)
        if planned is None:
            self.remove_ports(net, container_id)
            return
        address, specs = planned
        state = self._state()
        chain = f"ctr-{_ctr_key(container_id)}"
        rules = []
        for port in specs:
            match = f"ip daddr {port.host_ip} " if port.host_ip else ""
            rules.append(
                f"{match}{port.protocol} dport {port.host_port} "
                f"dnat ip to {address}:{port.container_port}"
            )
        script = self._skeleton(state) + self._fill_chain(chain, rules)
        if not state.jumps_to(chain, _NFT_HOSTPORTS):
            comment = _comment(net, container_id)
            script.append(
                f'add rule {self.family_table} {_NFT_HOSTPORTS} jump {chain} comment "{comment}"'
            )
        self._apply(script, f"publishing the ports of container {container_id[:12]}")

    def remove_ports(self, net: NetworkRules, container_id: str) -> None:
        state = self._state()
        chain = f"ctr-{_ctr_key(container_id)}"
        if chain in state.chains:
            script = self._removal(state, {chain})
            self._apply(script, f"removing the published ports of container {container_id[:12]}")

    # -- rules

    @staticmethod
    def _chain(net: NetworkRules, part: str) -> str:
        return f"net-{_net_key(net)}-{part}"

    def _all_network_chains(self, net: NetworkRules) -> list[str]:
        return [self._chain(net, part) for part in ("fwd", "in", "nat")]

    def _network_chains(self, net: NetworkRules) -> dict[str, tuple[str, list[str]]]:
        """chain name → (the base chain that jumps to it, its rules)."""
        br, sub = f'"{net.bridge}"', str(net.network)
        if net.internal:
            return {
                self._chain(net, "fwd"): (
                    "forward",
                    [
                        f"iifname {br} oifname {br} accept",
                        f"iifname {br} drop",
                        f"oifname {br} drop",
                    ],
                ),
                self._chain(net, "in"): (
                    "input",
                    [f"iifname {br} ct state established,related accept", f"iifname {br} drop"],
                ),
            }
        return {
            self._chain(net, "fwd"): (
                "forward",
                [
                    f"iifname {br} accept",
                    f"oifname {br} ct state established,related accept",
                    f"oifname {br} ct status dnat accept",
                ],
            ),
            self._chain(net, "in"): (
                "input",
                [f"iifname {br} ip daddr {LOOPBACK} ct state new,invalid,untracked drop"],
            ),
            self._chain(net, "nat"): (
                "postrouting",
                [
                    f"oifname {br} ip saddr {LOOPBACK} masquerade",
                    f"oifname {br} ip saddr {sub} ct status dnat masquerade",
                    f"ip saddr {sub} ip daddr != {sub} ip daddr != {MULTICAST} masquerade",
                ],
            ),
        }

    def _skeleton(self, state: _NftState) -> list[str]:
        """The table, its base chains and the jumps to the published-ports chain."""
        table = self.family_table
        script = [f"add table {table}"]
        script += [f"add chain {table} {name} {{ {spec} }}" for name, spec in _NFT_BASE.items()]
        script.append(f"add chain {table} {_NFT_HOSTPORTS}")
        for base in ("prerouting", "output"):
            if not state.jumps_to(_NFT_HOSTPORTS, base):
                script.append(
                    f"add rule {table} {base} meta nfproto ipv4 fib daddr type local "
                    f'jump {_NFT_HOSTPORTS} comment "pod published ports"'
                )
        return script

    def _fill_chain(self, chain: str, rules: list[str]) -> list[str]:
        table = self.family_table
        script = [f"add chain {table} {chain}", f"flush chain {table} {chain}"]
        return script + [f"add rule {table} {chain} {rule}" for rule in rules]

    def _drop_chains(self, state: _NftState, chains: set[str]) -> list[str]:
        script = []
        for rule in state.rules:
            if rule.target in chains and rule.chain not in chains:
                script.append(f"delete rule {self.family_table} {rule.chain} handle {rule.handle}")
        script += [f"flush chain {self.family_table} {chain}" for chain in sorted(chains)]
        script += [f"delete chain {self.family_table} {chain}" for chain in sorted(chains)]
        return script

    def _removal(self, state: _NftState, doomed: set[str]) -> list[str]:
        """Delete `doomed` chains, or the whole table when nothing else of pod is left."""
        if not state.exists:
            return []
        left = [c for c in state.chains if c.startswith(_NFT_ITEMS) and c not in doomed]
        if not left:
            return [f"delete table {self.family_table}"]
        return self._drop_chains(state, doomed & state.chains)

    # -- the tool

    def _state(self) -> _NftState:
        argv = [self.nft, "-j", "list", "table", *self.family_table.split()]
        try:
            proc = subprocess.run(
                argv, capture_output=True, text=True, env=_ENV, timeout=_TIMEOUT, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as err:
            raise PodError(f"reading pod's nftables rules: {err}") from err
        if proc.returncode != 0:
            if "No such file or directory" in proc.stderr:
                return _NftState()
            raise PodError(f"reading pod's nftables rules: {_one_line(proc.stderr)}")
        try:
            objects = json.loads(proc.stdout)["nftables"]
        except (ValueError, KeyError, TypeError) as err:
            raise PodError(f"reading pod's nftables rules: unexpected output of {argv}") from err
        state = _NftState(exists=True)
        for item in objects:
            if "chain" in item:
                state.chains.add(item["chain"]["name"])
            elif "rule" in item:
                rule = item["rule"]
                target = ""
                for statement in rule.get("expr", []):
                    for verdict in ("jump", "goto"):
                        if isinstance(statement, dict) and verdict in statement:
                            target = statement[verdict].get("target", "")
                state.rules.append(
                    _NftRule(rule["chain"], int(rule["handle"]), target, rule.get("comment", ""))
                )
        return state

    def _apply(self, script: list[str], what: str) -> None:
        if script:
            _run([self.nft, "-f", "-"], f"{what} (nftables)", "\n".join(script) + "\n")


# ----------------------------------------------------------------------------------------
# iptables


@dataclass
class _IptState:
    chains: dict[str, dict[str, str]] = field(default_factory=dict)  # table → chain → policy
    rules: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # table → (chain, -A …)

    def table_chains(self, table: str) -> dict[str, str]:
        return self.chains.get(table, {})

    def table_rules(self, table: str) -> list[tuple[str, str]]:
        return self.rules.get(table, [])

    def jumps_to(self, table: str, target: str, chain: str | None = None) -> list[str]:
        return [
            line
            for owner, line in self.table_rules(table)
            if _ipt_target(line) == target and chain in (None, owner)
        ]


def _parse_save(text: str) -> _IptState:
    state = _IptState()
    table = ""
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        if line.startswith("*"):
            table = line[1:].strip()
            state.chains[table] = {}
            state.rules[table] = []
        elif line.startswith(":") and table:
            name, policy = (line[1:].split() + ["-"])[:2]
            state.chains[table][name] = policy
        elif line.startswith("-A ") and table:
            state.rules[table].append((line.split()[1], line))
    return state


def _ipt_words(line: str) -> list[str]:
    try:
        return shlex.split(line)
    except ValueError:
        return line.split()


def _ipt_target(line: str) -> str:
    """The chain a rule jumps to, when that is one of pod's (other targets do not matter)."""
    if "POD-" not in line:
        return ""  # most rules of a busy host: no need to parse them
    words = _ipt_words(line)
    for flag in ("-j", "-g"):
        if flag in words[:-1]:
            return words[words.index(flag) + 1]
    return ""


def _ipt_comment(line: str) -> str:
    words = _ipt_words(line)
    return words[words.index("--comment") + 1] if "--comment" in words[:-1] else ""


_IPT_SHARED = {
    "filter": {"POD-FORWARD": ("FORWARD", ""), "POD-INPUT": ("INPUT", "")},
    "nat": {
        "POD-HOSTPORTS": ("PREROUTING OUTPUT", "-m addrtype --dst-type LOCAL "),
        "POD-POSTROUTING": ("POSTROUTING", ""),
    },
}
_IPT_ITEMS = ("POD-FWD-", "POD-IN-", "POD-NAT-", "POD-DN-")


class IptablesFirewall:
    """POD-* chains in iptables' filter and nat tables (any iptables: nf_tables or legacy)."""

    name = "iptables"

    def __init__(self, iptables: str, restore: str, save: str) -> None:
        self.iptables, self.restore, self.save = iptables, restore, save
        self._nf_tables: bool | None = None

    # -- the Firewall protocol

    def setup_network(self, net: NetworkRules) -> None:
        parts = ("forward", "input") if net.internal else ("forward", "input", "nat")
        created = self._setup(net, parts)
        if net.internal:  # the same name was a routed network before: its NAT goes
            state = self._state()
            if self._chain(net, "NAT") in state.table_chains("nat"):
                self._remove(state, {"nat": {self._chain(net, "NAT")}}, "removing stale NAT")
        try:
            _network_sysctls(net)
        except PodError:
            if created:
                with contextlib.suppress(PodError):
                    self.teardown_network(net)
            raise

    def teardown_network(self, net: NetworkRules) -> None:
        state = self._state()
        doomed = {
            "filter": {self._chain(net, "FWD"), self._chain(net, "IN")},
            "nat": {self._chain(net, "NAT")},
        }
        for _owner, line in state.table_rules("nat"):
            target = _ipt_target(line)
            if target.startswith("POD-DN-") and _comment_network(_ipt_comment(line)) == net.name:
                doomed["nat"].add(target)
        self._remove(state, doomed, f"removing the rules of network {net.name}")

    def add_ports(
        self, net: NetworkRules, container_id: str, container_ip: str, ports: Sequence[PortRule]
    ) -> None:
        planned = _publishing(net, container_ip, ports)
        if planned is None:
            self.remove_ports(net, container_id)
            return
        address, specs = planned
        state = self._state()
        chain = f"POD-DN-{_ctr_key(container_id)}"
        rules = []
        for port in specs:
            match = f"-d {port.host_ip}/32 " if port.host_ip else ""
            rules.append(
                f"-A {chain} {match}-p {port.protocol} -m {port.protocol} "
                f"--dport {port.host_port} -j DNAT --to-destination {address}:{port.container_port}"
            )
        declare, lines = self._skeleton(state, "nat", ["POD-HOSTPORTS", "POD-POSTROUTING"])
        declare.append(f":{chain} - [0:0]")  # creates it, or empties it for the refill
        lines += rules
        if not state.jumps_to("nat", chain, "POD-HOSTPORTS"):
            comment = _comment(net, container_id)
            lines.append(f'-A POD-HOSTPORTS -m comment --comment "{comment}" -j {chain}')
        self._restore("nat", declare + lines, f"publishing the ports of {container_id[:12]}")

    def remove_ports(self, net: NetworkRules, container_id: str) -> None:
        state = self._state()
        chain = f"POD-DN-{_ctr_key(container_id)}"
        self._remove(
            state, {"nat": {chain}}, f"removing the published ports of {container_id[:12]}"
        )

    # -- the forward rules alone, for the nftables backend when iptables' FORWARD drops

    def forward_needs_rules(self, net: NetworkRules, reading: _Started | None = None) -> bool:
        """iptables' FORWARD drops what it does not accept (or pod added the rules before).
        `reading`: its rules being read already (start_reading).

        An iptables that cannot even list its rules (no kernel support) drops nothing."""
        try:
            state = self._state(reading)
        except PodError:
            return False
        policy = state.table_chains("filter").get("FORWARD", "ACCEPT")
        return policy != "ACCEPT" or self._chain(net, "FWD") in state.table_chains("filter")

    def setup_forward(self, net: NetworkRules) -> None:
        self._setup(net, ("forward",))

    def teardown_forward(self, net: NetworkRules) -> None:
        try:
            state = self._state()
        except PodError:
            return  # see forward_needs_rules: then pod added nothing there
        if self._chain(net, "FWD") in state.table_chains("filter"):
            doomed = {"filter": {self._chain(net, "FWD")}}
            self._remove(state, doomed, f"removing the iptables forward rules of {net.name}")

    # -- rules

    @staticmethod
    def _chain(net: NetworkRules, part: str) -> str:
        return f"POD-{part}-{_net_key(net)}"  # at most 18 characters (iptables allows 28)

    def _network_rules(self, net: NetworkRules, part: str) -> list[str]:
        br, sub = net.bridge, str(net.network)
        if part == "forward" and net.internal:
            rules = [f"-i {br} -o {br} -j ACCEPT", f"-i {br} -j DROP", f"-o {br} -j DROP"]
        elif part == "forward":
            rules = [
                f"-i {br} -j ACCEPT",
                f"-o {br} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
                f"-o {br} -m conntrack --ctstate DNAT -j ACCEPT",
            ]
        elif part == "input" and net.internal:
            rules = [
                f"-i {br} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
                f"-i {br} -j DROP",
            ]
        elif part == "input":
            rules = [f"-i {br} -d {LOOPBACK} -m conntrack --ctstate NEW,INVALID,UNTRACKED -j DROP"]
        else:
            rules = [
                f"-s {LOOPBACK} -o {br} -j MASQUERADE",
                f"-s {sub} -o {br} -m conntrack --ctstate DNAT -j MASQUERADE",
                f"-s {sub} -d {sub} -j RETURN",
                f"-s {sub} -d {MULTICAST} -j RETURN",
                f"-s {sub} -j MASQUERADE",
            ]
        return rules

    def _setup(self, net: NetworkRules, parts: tuple[str, ...]) -> bool:
        """The network's chains per table, one restore each; a failed table undoes the others.

        Returns whether any of the chains is new (False: the rules were refreshed)."""
        state = self._state()
        layout = {
            "forward": ("filter", "POD-FORWARD", self._chain(net, "FWD")),
            "input": ("filter", "POD-INPUT", self._chain(net, "IN")),
            "nat": ("nat", "POD-POSTROUTING", self._chain(net, "NAT")),
        }
        declare: dict[str, list[str]] = {}  # chain declarations precede the rules using them
        lines: dict[str, list[str]] = {}
        added: dict[str, set[str]] = {}
        for part in parts:
            table, shared, chain = layout[part]
            shared_chains = [shared] + (["POD-HOSTPORTS"] if table == "nat" else [])
            skeleton_declare, skeleton_lines = self._skeleton(state, table, shared_chains)
            # `:CHAIN` creates the chain, or (with --noflush) empties it for the refill
            declare.setdefault(table, []).extend([*skeleton_declare, f":{chain} - [0:0]"])
            body = lines.setdefault(table, [])
            body += skeleton_lines
            body += [f"-A {chain} {rule}" for rule in self._network_rules(net, part)]
            if not state.jumps_to(table, chain, shared):
                body.append(f'-A {shared} -m comment --comment "{_comment(net)}" -j {chain}')
            if chain not in state.table_chains(table):
                added.setdefault(table, set()).add(chain)
        done: list[str] = []
        try:
            for table in ("filter", "nat"):
                if table in lines:
                    what = f"setting up the firewall rules of network {net.name}"
                    self._restore(table, declare[table] + lines[table], what)
                    done.append(table)
        except PodError:
            undo = {table: added.get(table, set()) for table in done}
            if any(undo.values()):
                with contextlib.suppress(PodError):
                    self._remove(self._state(), undo, "undoing")
            raise
        return any(added.values())

    def _skeleton(
        self, state: _IptState, table: str, shared: list[str]
    ) -> tuple[list[str], list[str]]:
        """Declarations and rules for pod's shared chains of `table` and the jumps to them."""
        declare, lines = [], []
        for chain in shared:
            hooks, match = _IPT_SHARED[table][chain]
            if chain not in state.table_chains(table):
                declare.append(f":{chain} - [0:0]")
            for hook in hooks.split():
                if not state.jumps_to(table, chain, hook):
                    lines.append(f"-I {hook} 1 {match}-j {chain}")
        return declare, lines

    def _drop_lines(self, state: _IptState, table: str, doomed: set[str]) -> list[str]:
        """Delete `doomed` chains and the rules jumping to them; when nothing of pod is left in
        the table, pod's shared chains and the jumps to them from the builtin chains too."""
        chains = state.table_chains(table)
        doomed = {c for c in doomed if c in chains}
        left = [c for c in chains if c.startswith(_IPT_ITEMS) and c not in doomed]
        if not left:
            doomed |= {c for c in _IPT_SHARED[table] if c in chains}
        lines = []
        for owner, line in state.table_rules(table):
            if _ipt_target(line) in doomed and owner not in doomed:
                lines.append("-D" + line[2:])
        lines += [f"-F {chain}" for chain in sorted(doomed)]
        lines += [f"-X {chain}" for chain in sorted(doomed)]
        return lines

    def _remove(self, state: _IptState, doomed: dict[str, set[str]], what: str) -> None:
        errors: list[PodError] = []
        for table in ("filter", "nat"):
            if table not in doomed or table not in state.chains:
                continue
            lines = self._drop_lines(state, table, doomed[table])
            if not lines:
                continue
            try:
                self._restore(table, lines, what)
            except PodError as err:
                errors.append(err)
                continue
            self._prune_builtins(state, table, lines)
        if errors:
            raise errors[0]

    def _prune_builtins(self, state: _IptState, table: str, applied: list[str]) -> None:
        """iptables-nft creates builtin chains on first use and never removes them: when pod
        has just left a table and our hook chains are empty with an ACCEPT policy, delete
        them (no packet sees a difference) so `nft list ruleset` looks as before pod ran."""
        chains = state.table_chains(table)
        if any(c.startswith("POD-") and f"-X {c}" not in applied for c in chains):
            return
        if not self._is_nf_tables():
            return
        deleted = {line[3:] for line in applied if line.startswith("-D ")}
        hooks = {hook for hooks, _ in _IPT_SHARED[table].values() for hook in hooks.split()}
        for hook in sorted(hooks):
            if chains.get(hook, "ACCEPT") != "ACCEPT":
                continue
            remaining = [
                line
                for owner, line in state.table_rules(table)
                if owner == hook and line[3:] not in deleted
            ]
            if remaining:
                continue
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                subprocess.run(
                    [self.iptables, "-w", "-t", table, "-X", hook],
                    capture_output=True,
                    env=_ENV,
                    timeout=_TIMEOUT,
                    check=False,
                )

    # -- the tools

    def _is_nf_tables(self) -> bool:
        if self._nf_tables is None:
            try:
                version = _run([self.iptables, "--version"], "iptables --version")
            except PodError:
                version = ""
            self._nf_tables = "nf_tables" in version
        return self._nf_tables

    def start_reading(self) -> _Started:
        """iptables-save started: its rules, for _state, while the caller does other work."""
        return _Started([self.save])

    def _state(self, reading: _Started | None = None) -> _IptState:
        return _parse_save((reading or self.start_reading()).output("reading the iptables rules"))

    def _restore(self, table: str, lines: list[str], what: str) -> None:
        script = f"*{table}\n" + "".join(line + "\n" for line in lines) + "COMMIT\n"
        _run([self.restore, "--wait=10", "--noflush"], f"{what} (iptables)", script)
