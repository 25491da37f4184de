"""The files pod binds over the image's: /etc/hosts, /etc/hostname, /etc/resolv.conf and
/run/.containerenv, as podman 4.3 (containers/common libnetwork etchosts and resolvconf) makes
them, and /etc/passwd and /etc/group when pod.container.etc_users adds lines to them.

The `*_content` functions are pure (text in, text out) and unit-tested; `write_all` reads the
host's files, writes the container's copies into its directory and returns the bind map that
spec.build_spec takes.

resolv.conf, deliberately different from podman in one case: in a container with its own
network namespace the host's loopback nameservers (a local stub such as systemd-resolved's
127.0.0.53) cannot be reached. When every host nameserver is loopback, the upstream servers
are taken from /run/systemd/resolve/resolv.conf (or NetworkManager's no-stub file) when present;
otherwise only the non-loopback servers are kept. If none remain, pod writes only the search
and options lines (podman would fall back to Google's 8.8.8.8/8.8.4.4; pod sends no queries to
a third party the user did not choose, and the resolver library then tries localhost).
"""

from __future__ import annotations

import contextlib
import ipaddress
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pod.errors import PodError
from pod.util.records import dataclass

if TYPE_CHECKING:
    from pod.container.etc_users import EtcAccounts
    from pod.container.options import RunOptions
    from pod.container.user import ResolvedUser

HOST_CONTAINERS_INTERNAL = "host.containers.internal"
HOST_RESOLV_CONF = Path("/etc/resolv.conf")
# containers/common's defaults for a container left without a reachable nameserver.
FALLBACK_NAMESERVERS = ("8.8.8.8", "8.8.4.4", "2001:4860:4860::8888", "2001:4860:4860::8844")
HOST_HOSTS = Path("/etc/hosts")
UPSTREAM_RESOLV_CONFS = (
    Path("/run/systemd/resolve/resolv.conf"),
    Path("/run/NetworkManager/no-stub-resolv.conf"),
)


@dataclass(frozen=True)
class HostEntry:
    """One /etc/hosts line: an address and the names it answers to."""

    ip: str
    names: tuple[str, ...]


# --- hostname ------------------------------------------------------------------------------------


def container_hostname(options: RunOptions, container_id: str, host_hostname: str) -> str:
    """--hostname, else the host's name with --network=host (podman), else the short id."""
    if options.hostname:
        return options.hostname
    if options.network == "host":
        return host_hostname
    return container_id[:12]


def hostname_content(hostname: str) -> str:
    return hostname + "\n"


# --- hosts ---------------------------------------------------------------------------------------


def parse_add_hosts(entries: Iterable[str]) -> list[HostEntry]:
    """`--add-host name:ip` (split at the first colon, so IPv6 addresses work), as podman."""
    out = []
    for entry in entries:
        name, sep, ip = entry.partition(":")
        if not sep:
            raise PodError(f'unable to parse host entry "{entry}": incorrect format')
        if not name:
            raise PodError(f'hostname in host entry "{entry}" is empty')
        if not ip:
            raise PodError(f'IP address in host entry "{entry}" is empty')
        try:
            ipaddress.ip_address(ip.strip("[]"))
        except ValueError:
            raise PodError(f'invalid IP address in add-host: "{ip}"') from None
        out.append(HostEntry(ip.strip("[]"), (name,)))
    return out


def parse_hosts(text: str) -> list[HostEntry]:
    entries = []
    for line in text.splitlines():
        fields = line.partition("#")[0].split()
        if len(fields) >= 2:
            entries.append(HostEntry(fields[0], tuple(fields[1:])))
    return entries


def _line(entry: HostEntry) -> str:
    return f"{entry.ip}\t{' '.join(entry.names)}\n"


def hosts_content(
    hostname: str,
    *,
    add_hosts: Iterable[str] = (),
    base: str = "",
    container_name: str = "",
    container_ips: Sequence[str] = (),
    own_netns: bool = True,
    host_internal_ip: str | None = None,
) -> str:
    """--add-host entries, the base file's (podman copies the host's /etc/hosts), then
    localhost, host.containers.internal and the container's own names, each name only once.

    The container's names go with its addresses; without one (the address is not known yet,
    or --network=none) they go with 127.0.0.1; with --network=host the host's file covers them.
    """
    user = parse_add_hosts(add_hosts) + parse_hosts(base)
    names = [hostname] + ([container_name] if container_name and container_name != hostname else [])
    ours = [HostEntry("127.0.0.1", ("localhost",)), HostEntry("::1", ("localhost",))]
    if host_internal_ip:
        ours.append(HostEntry(host_internal_ip, (HOST_CONTAINERS_INTERNAL,)))
    if own_netns:
        ours += [HostEntry(ip, tuple(names)) for ip in container_ips or ["127.0.0.1"]]
    taken = {name for entry in user for name in entry.names}
    text = "".join(_line(entry) for entry in user)
    for entry in ours:
        free = tuple(name for name in entry.names if name not in taken)
        if free:
            text += _line(HostEntry(entry.ip, free))
    return text


def local_ip() -> str | None:
    """The host's outbound address, reachable from a private network (podman's getLocalIP
    picks the first global unicast address); None when the host has no route out."""
    import socket  # here: most containers' files need none of it

    for family, probe in ((socket.AF_INET, "192.0.2.1"), (socket.AF_INET6, "2001:db8::1")):
        with contextlib.suppress(OSError), socket.socket(family, socket.SOCK_DGRAM) as sock:
            sock.connect((probe, 9))  # UDP connect sends nothing; it only picks a route
            address = ipaddress.ip_address(sock.getsockname()[0])
            if not (address.is_loopback or address.is_link_local or address.is_unspecified):
                return str(address)
    return None


# --- resolv.conf ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResolvConf:
    """The three things podman keeps from a resolv.conf; every other line is dropped."""

    nameservers: tuple[str, ...]
    search: tuple[str, ...]
    options: tuple[str, ...]


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.partition("%")[0])
    except ValueError:
        return None


def parse_resolv_conf(text: str) -> ResolvConf:
    """nameserver lines in order; the last search and the last options line, as podman reads."""
    nameservers: list[str] = []
    search: list[str] = []
    options: list[str] = []
    for line in text.splitlines():
        fields = line.partition("#")[0].split()
        if not fields or fields[0].startswith(";"):
            continue
        key, values = fields[0], fields[1:]
        if key == "nameserver" and len(values) == 1 and _address(values[0]) is not None:
            nameservers.append(values[0])
        elif key == "search":
            search = values
        elif key == "options":
            options = values
    return ResolvConf(tuple(nameservers), tuple(search), tuple(options))


def _is_loopback(server: str) -> bool:
    address = _address(server)
    return address is not None and address.is_loopback


def resolv_content(
    host: str,
    *,
    own_netns: bool,
    upstream: str | None = None,
    ipv6: bool = True,
    extra_nameservers: Sequence[str] = (),
    dns: Sequence[str] = (),
    dns_search: Sequence[str] = (),
    dns_options: Sequence[str] = (),
) -> str:
    """The container's resolv.conf from the host's (`host`) and, for a host that only lists a
    local stub, the stub's upstream file (`upstream`, None when absent). See the module doc.

    `extra_nameservers` go first (a network's own DNS forwarder); `ipv6` False drops IPv6
    servers a container without IPv6 could not reach. `dns`, `dns_search` and `dns_options`
    (--dns, --dns-search, --dns-option) replace the host's lines ("none" and "." mean none).
    When a private namespace is left with no server at all (only loopback ones, no upstream
    file) podman's public fallback servers are used, so names still resolve.
    """
    conf = parse_resolv_conf(host)
    servers = list(conf.nameservers)
    if dns:
        servers = [s for s in dns if s != "none"]
    elif own_netns:
        if servers and all(_is_loopback(s) for s in servers) and upstream is not None:
            servers = list(parse_resolv_conf(upstream).nameservers)
        servers = [s for s in servers if not _is_loopback(s)]
        if not ipv6:
            servers = [s for s in servers if ":" not in s]
        if not servers and not extra_nameservers:
            servers = list(FALLBACK_NAMESERVERS if ipv6 else FALLBACK_NAMESERVERS[:2])
    servers = list(dict.fromkeys([*extra_nameservers, *servers]))
    search = tuple(dns_search) or conf.search
    options = tuple(dns_options) or conf.options
    text = ""
    if search and " ".join(search).strip() != ".":
        text += "search " + " ".join(search) + "\n"
    text += "".join(f"nameserver {server}\n" for server in servers)
    if options:
        text += "options " + " ".join(options) + "\n"
    return text


# --- .containerenv -------------------------------------------------------------------------------


def containerenv_content(
    *,
    privileged: bool,
    name: str = "",
    container_id: str = "",
    image_name: str = "",
    image_id: str = "",
    rootless: bool = False,
) -> str:
    """/run/.containerenv: says "in a container" by existing, empty as podman's; only with
    --privileged does it name the engine and the container (podman's `engine="podman-4.3.1"`
    and the rest)."""
    if not privileged:
        return ""
    from pod import __version__

    return (
        f'engine="pod-{__version__}"\nname="{name}"\nid="{container_id}"\n'
        f'image="{image_name}"\nimageid="{image_id}"\nrootless={int(rootless)}\n'
    )


# --- writing them --------------------------------------------------------------------------------


def _read(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        return path.read_text(errors="replace")
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        return None


def _upstream_resolv(host: str, paths: Sequence[Path]) -> str | None:
    """The stub's upstream file: systemd-resolved's for 127.0.0.53, else NetworkManager's."""
    if "127.0.0.53" not in parse_resolv_conf(host).nameservers:
        paths = list(reversed(paths))
    for path in paths:
        text = _read(path)
        if text is not None:
            return text
    return None


def write_all(
    directory: Path,
    hostname: str,
    options: RunOptions,
    user: ResolvedUser | None = None,
    *,
    container_id: str | None = None,
    container_name: str = "",
    image_name: str = "",
    image_id: str = "",
    rootless: bool = False,
    container_ips: Sequence[str] = (),
    host_internal_ip: str | None = None,
    extra_nameservers: Sequence[str] = (),
    host_resolv_conf: Path = HOST_RESOLV_CONF,
    upstream_resolv_confs: Sequence[Path] = UPSTREAM_RESOLV_CONFS,
    host_hosts: Path | None = HOST_HOSTS,
    accounts: EtcAccounts | None = None,
) -> dict[str, str]:
    """Write hosts (not with --no-hosts), hostname, resolv.conf (not with --dns none) and
    .containerenv, and localtime for --tz and the passwd and group files `accounts` has
    (pod.container.etc_users), into `directory`; return the container path → host path map
    for build_spec's `etc_files`. The caller syncs `directory` once, when the files are all
    written (pod.container.create's commit).

    The files stay owned by the caller, which is root inside a rootless container (podman
    chowns them to the container's root); `user` does not change them and is accepted so
    callers can pass what they have. `host_internal_ip` None means: find the host's address
    for a private network (an empty string leaves host.containers.internal out).
    """
    from pod.store.layout import ContainerPaths
    from pod.store.lock import atomic_write

    own_netns = options.network not in ("host", "container", "ns")
    host_resolv = _read(host_resolv_conf) or ""
    if host_internal_ip is None:
        host_internal_ip = local_ip() if options.network == "private" else ""
    paths = ContainerPaths(directory)
    contents = {
        "/etc/hosts": (
            paths.hosts,
            hosts_content(
                hostname,
                add_hosts=options.add_hosts,
                base=_read(host_hosts) or "",
                container_name=container_name or options.name or "",
                container_ips=container_ips,
                own_netns=own_netns,
                host_internal_ip=host_internal_ip or None,
            ),
        ),
        "/etc/hostname": (paths.hostname, hostname_content(hostname)),
        "/etc/resolv.conf": (
            paths.resolv_conf,
            resolv_content(
                host_resolv,
                own_netns=own_netns,
                upstream=_upstream_resolv(host_resolv, upstream_resolv_confs),
                extra_nameservers=extra_nameservers,
                dns=options.dns,
                dns_search=options.dns_search,
                dns_options=options.dns_options,
            ),
        ),
        "/run/.containerenv": (
            paths.containerenv,
            containerenv_content(
                privileged=options.privileged,
                name=container_name or options.name or "",
                container_id=container_id or directory.name,
                image_name=image_name or options.image,
                image_id=image_id,
                rootless=rootless,
            ),
        ),
    }
    if options.no_hosts:
        del contents["/etc/hosts"]
    if options.dns == ["none"]:  # podman: the image's resolv.conf, untouched
        del contents["/etc/resolv.conf"]
    files = {}
    for destination, (path, text) in contents.items():
        atomic_write(path, text.encode(), 0o644, sync_dir=False)
        files[destination] = str(path)
    for destination, bound, entries, data in (
        ("/etc/passwd", paths.passwd, paths.passwd_entries, accounts.passwd if accounts else None),
        ("/etc/group", paths.group, paths.group_entries, accounts.group if accounts else None),
    ):
        if data is None:
            continue
        if options.read_only:
            atomic_write(bound, data, 0o644, sync_dir=False)
            files[destination] = str(bound)
        else:  # podman: into the container's own file, which useradd inside must be able to
            # replace (a bind-mounted file cannot be)
            atomic_write(entries, data, 0o644, sync_dir=False)
    if options.timezone:
        atomic_write(paths.localtime, zone_file(options.timezone), 0o644, sync_dir=False)
        files["/etc/localtime"] = str(paths.localtime)
    return files


def zone_file(timezone: str) -> bytes:
    """The bytes of the --tz zone (checked by the flag parser): `local` is the host's."""
    from pod.container.flags import ZONEINFO

    path = Path("/etc/localtime") if timezone == "local" else ZONEINFO / timezone
    try:
        return path.read_bytes()
    except OSError as err:
        raise PodError(f"reading the time zone {timezone}: {err.strerror}") from None
