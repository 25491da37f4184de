"""Give a created container its network before it starts, and take it away after it exits.

Runs in the shim. `Preparation` makes the container's network namespace first (a holder
child; the runtime's create joins it) and hands it to a bridge worker at once, which sets up
the bridges, their rules and the veths while the rootfs is mounted and the runtime creates
the container on the other core; `Preparation.complete(pid)` waits for the worker and returns
what was done. Published ports are bound first, so a port in use fails the start before
anything else is set up.
What was done goes to the container's network.json (pod.network.state): inspect, ps and port
read it and `disconnect` undoes exactly that.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import time
from pathlib import Path
from typing import TYPE_CHECKING

from pod.errors import PodError
from pod.network import hostparts
from pod.network.modes import parse_stored, shares_rootless_namespace
from pod.network.ports import PortMapping
from pod.network.state import NetworkState, read_state, save_state, tidy_pending
from pod.store.containers import ContainerRecord
from pod.store.layout import Layout
from pod.store.lock import atomic_write, atomic_write_json, locked, read_json
from pod.util.own_fds import close_all_but, out_of_the_way

if TYPE_CHECKING:
    from pod.network.usermode import Starting


def _bind(ports: list[PortMapping]) -> list[socket.socket]:
    """The host sockets for the published ports: held for the container's life (rootful,
    where the firewall redirects the traffic before it reaches them) or served by the
    forwarder (rootless); an occupied port fails here, before anything else is set up."""
    if not ports:
        return []
    from pod.network.forwarder import bind_listener

    sockets: list[socket.socket] = []
    try:
        for port in ports:
            sockets.append(bind_listener(port.host_ip, port.host_port, port.protocol))
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    return sockets


class BridgeWorker:
    """A process that does the bridge work for one container start (`_bridge_job`).

    Importing pyroute2 costs ~0.1 s, longer than the rest of a container start: `pod run`
    starts the worker first thing (`start()`), so the import overlaps creating the container;
    the shim hands it the job (`to`/`answers` are its pipe ends). A child of `pod run`,
    which reaps it (`reap`); it exits when its job is done or its pipe is closed."""

    def __init__(self, to: int, answers: int, pid: int = 0) -> None:
        self.to, self.answers, self.pid = to, answers, pid

    @classmethod
    def start(cls) -> BridgeWorker:
        down_r, down_w = os.pipe()
        up_r, up_w = os.pipe()
        child = os.fork()  # one fork: forking this process is the part `pod run` waits for
        if child == 0:
            try:
                os.setsid()  # a Ctrl-C meant for `pod run` is not for it
                _worker_main(down_r, up_w)
            finally:
                os._exit(0)
        os.close(down_r)
        os.close(up_w)
        return cls(out_of_the_way(down_w), out_of_the_way(up_r), child)

    def reap(self, wait: float = 1.0) -> None:
        """Collect the worker, which is done once the container started (or failed to)."""
        deadline = time.monotonic() + wait
        while self.pid:
            with contextlib.suppress(ChildProcessError):
                if os.waitpid(self.pid, os.WNOHANG)[0] == 0 and time.monotonic() < deadline:
                    time.sleep(0.01)
                    continue
            self.pid = 0

    @classmethod
    def from_arg(cls, text: str) -> BridgeWorker:
        """The `R,W` form `arg` gives, as passed to a spawned shim."""
        to, answers = (int(n) for n in text.split(","))
        return cls(to, answers)

    def arg(self) -> str:
        return f"{self.to},{self.answers}"

    def fds(self) -> list[int]:
        return [self.to, self.answers]

    def send(self, message: dict) -> None:
        with contextlib.suppress(OSError):  # a worker that failed says why in its answer
            os.write(self.to, json.dumps(message).encode() + b"\n")

    def answer(self) -> dict:
        os.close(self.to)
        self.to = -1
        chunks = []
        while chunk := os.read(self.answers, 65536):
            chunks.append(chunk)
        self.close()
        return json.loads(b"".join(chunks) or b'{"error": "the network set-up process died"}')

    def close(self) -> None:
        for fd in (self.to, self.answers):
            if fd >= 0:
                os.close(fd)
        self.to = self.answers = -1


def _worker_main(jobs: int, answers: int) -> None:
    """The worker: import what the job needs at once, then read the job and do it."""
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    close_all_but([jobs, answers])  # null too
    try:
        _site_packages()
        from pod.network import bridge, firewall, netlink, records  # noqa: F401 - used by the job

        netlink.preload()  # the slow imports, done ahead of the job

        with os.fdopen(jobs, "rb", buffering=0) as reader:
            job = json.loads(reader.readline() or b"null")
        if job is None:
            return
        answer = _bridge_job(job)
    except BaseException as err:
        message = getattr(err, "message", None) or str(err) or type(err).__name__
        answer = {"error": " ".join(str(message).splitlines())}
    with contextlib.suppress(OSError):
        os.write(answers, json.dumps(answer).encode())


class NamespaceHolder:
    """A child of the shim that made the container's network namespace and holds it until the
    container has joined it (its path goes into the bundle before the runtime's create).

    The bridge worker attaches the namespace while the container is being created; rootless,
    slirp4netns and the forwarder must open it from outside, which a container's own process
    cannot serve for before it execs (pod's runtime keeps it non-dumpable, which hides
    /proc/<pid>/ns from the user), but this ordinary child can.

    `linux`: the bundle's linux section, when the container has a user namespace of its own
    (rootless --userns=keep-id, nested in the shim's): the holder makes that first, mapped as
    the bundle says, and the network namespace in it, so the container's user namespace owns
    its network namespace (sysfs, net sysctls and `exec` need that), as when podman has the
    runtime make both. The container joins both (see `userns_path`)."""

    def __init__(self, linux: dict | None = None) -> None:
        from pod.runtime import netif as loopback
        from pod.runtime import syscalls

        ready_r, ready_w = os.pipe()
        self.release_r, self.release_w = os.pipe()
        self.nested = linux is not None
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                os.close(ready_r)
                os.close(self.release_w)
                if self.nested:
                    from pod.util.userns import become_root

                    syscalls.unshare(syscalls.CLONE_NEWUSER)
                    os.write(ready_w, b"u")
                    if os.read(self.release_r, 1) != b"m":  # the shim writes the maps
                        os._exit(1)
                    become_root()
                # Dumpable: a change of credentials (becoming root of a namespace whose root
                # is not the user) made this process non-dumpable, and then nobody (runtime,
                # slirp4netns, the bridge worker) could open our namespaces.
                syscalls.prctl(syscalls.PR_SET_DUMPABLE, 1)
                syscalls.unshare(syscalls.CLONE_NEWNET)
                loopback.set_lo_up()
                os.write(ready_w, b"1")
                os.read(self.release_r, 1)  # until the shim lets go
                code = 0
            finally:
                os._exit(code)
        os.close(ready_w)
        self.pid = pid
        try:
            if self.nested and os.read(ready_r, 1) == b"u":
                from pod.runtime.process import write_id_maps

                write_id_maps(pid, linux or {})
                os.write(self.release_w, b"m")
            ok = os.read(ready_r, 1) == b"1"
        except BaseException:
            self.release()
            raise
        finally:
            os.close(ready_r)
            os.close(self.release_r)
        if not ok:
            self.release()
            raise PodError("creating the container's network namespace failed")

    @property
    def path(self) -> str:
        return f"/proc/{self.pid}/ns/net"

    @property
    def userns_path(self) -> str:
        """The container's user namespace, when the holder made it ("" otherwise)."""
        return f"/proc/{self.pid}/ns/user" if self.nested else ""

    def let_go(self) -> None:
        """Let the holder end, once everyone who opens the namespace by its path has (`release`
        reaps it): its exit then overlaps the caller's next steps."""
        if self.release_w >= 0:
            os.close(self.release_w)
            self.release_w = -1

    def release(self) -> None:
        if self.pid:
            self.let_go()
            os.waitpid(self.pid, 0)
            self.pid = 0


def _bundle_linux(layout: Layout, record: ContainerRecord) -> dict | None:
    """The bundle's linux section when it lists a user namespace of the container's own."""
    config = json.loads(layout.container(record.id).config.read_bytes())
    linux = config.get("linux") or {}
    if any(ns.get("type") == "user" for ns in linux.get("namespaces") or []):
        return linux
    return None


def _join_held_userns(layout: Layout, record: ContainerRecord, path: str) -> None:
    """Point the bundle's user namespace at the one the holder made (each run makes its own)."""
    bundle = layout.container(record.id).config
    config = json.loads(bundle.read_bytes())
    for namespace in config["linux"]["namespaces"]:
        if namespace["type"] == "user":
            namespace["path"] = path
    atomic_write(bundle, json.dumps(config).encode())


class Preparation:
    """The host-side half of `connect`, done by a BridgeWorker (see the module docstring)."""

    def __init__(
        self,
        layout: Layout,
        record: ContainerRecord,
        bind_ports: bool = True,
        worker: BridgeWorker | None = None,
    ) -> None:
        """`bind_ports` False: a rootful restart, whose shim still holds the ports; `worker`:
        one `pod run` started early (else one is started now, when bridges are needed)."""
        self.layout, self.record = layout, record
        self.mode = parse_stored(record.network, record.networks)
        self.ports = [PortMapping.from_json(p) for p in record.ports]
        self.held: list[socket.socket] = []
        self.worker: BridgeWorker | None = None
        self.holder: NamespaceHolder | None = None
        self.slirp: Starting | None = None  # slirp4netns, started with the holder
        self.shared = shares_rootless_namespace(record)
        if self.mode.kind != "bridge" and worker is not None:
            worker.close()
        if bind_ports:  # a port in use fails the start before anything is set up
            self.held = _bind(self.ports)
        if self.mode.kind != "bridge":
            if self.mode.kind == "slirp4netns" or self.ports:
                self._hold()
            if self.mode.kind == "slirp4netns":  # its start overlaps the container's creation
                from pod.network import usermode

                log = layout.container(record.id).slirp4netns_log
                try:
                    self.slirp = usermode.spawn(self.netns_path, log, options=self.mode.target)
                except BaseException:
                    self.abandon()
                    raise
            return
        # The container's namespace is made now, so the worker attaches it to the bridges
        # while the rootfs is mounted and the runtime creates the container, which joins it.
        holder = self._hold()
        self.worker = worker or BridgeWorker.start()
        self.worker.send(
            {"root": str(layout.root), "runroot": str(layout.runroot), "id": record.id,
             "netns": holder.path}
        )  # fmt: skip

    def _hold(self) -> NamespaceHolder:
        """The holder of the container's network namespace (and of its own user namespace, if
        the bundle has one: the bundle then joins it)."""
        linux = _bundle_linux(self.layout, self.record)
        self.holder = holder = NamespaceHolder(linux)
        if linux is not None:
            try:
                _join_held_userns(self.layout, self.record, holder.userns_path)
            except BaseException:
                holder.release()
                raise
        return holder

    @property
    def netns_path(self) -> str:
        """The namespace the container must join (the bundle's), or "" for its own new one."""
        return self.holder.path if self.holder is not None else ""

    def complete(self, pid: int) -> NetworkState:
        """Connect the container whose process is `pid`; raises PodError when it fails."""
        try:
            return self._complete(pid)
        finally:
            if self.holder is not None:
                self.holder.release()  # the container is in the namespace now

    def _complete(self, pid: int) -> NetworkState:
        state = NetworkState(kind=self.mode.kind, pid=pid)
        netns_path = self.netns_path or f"/proc/{pid}/ns/net"
        if self.worker is not None:
            answer = self.worker.answer()
            self.worker = None
            if "error" in answer:
                raise PodError(f"setting up the network: {answer['error']}")
            state.attachments = answer["attachments"]
            state.ports = [p.to_json() for p in self.ports]
        elif self.slirp is not None:
            starting, self.slirp = self.slirp, None
            state.helper_pid = starting.wait()
            if self.ports:  # a failure of the forwarder then stops it too
                save_state(self.layout, self.record.id, state)
        if self.ports and (self.shared or self.mode.kind in ("private", "slirp4netns")):
            state.forwarder_pid = self._forward(netns_path, state)
            state.ports = [p.to_json() for p in self.ports]
        if self.holder is not None:
            self.holder.let_go()  # the container, slirp4netns and the forwarder are in
        save_state(self.layout, self.record.id, state)
        if state.attachments:
            state.named = tell_members(self.layout, self.record, list(state.attachments), True)
            if state.named:
                save_state(self.layout, self.record.id, state)
        return state

    def _forward(self, netns_path: str, state: NetworkState) -> int:
        """pod's forwarder for the published ports (rootless): to the container's loopback in
        its namespace, or, on pod networks, to its address from the rootless namespace."""
        from pod.network import forwarder

        target = "127.0.0.1"
        if self.shared:
            from pod.network import rootless_netns

            netns_path = rootless_netns.running(self.layout).netns_path
            target = next(iter(state.attachments.values()))["address"]
        self.held = self.held or _bind(self.ports)
        netns = os.open(netns_path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            return forwarder.spawn(
                [
                    forwarder.Forward(s.fileno(), p.protocol, target, p.container_port)
                    for s, p in zip(self.held, self.ports, strict=True)
                ],
                netns,
            )
        finally:
            os.close(netns)
            self.release_held()

    def hand_over_held(self) -> list[int]:
        """The port reservations as bare fds, now the caller's (the supervisor keeps them open
        for the container's life; nothing here closes them any more)."""
        fds = [sock.detach() for sock in self.held]
        self.held = []
        return fds

    def release_held(self) -> None:
        for sock in self.held:
            sock.close()
        self.held = []

    def abandon(self) -> None:
        """The start failed before `complete`: undo what the worker did (the veths go with
        the namespace; its port rules now, bridges no container uses by the next tidy)."""
        if self.holder is not None:
            self.holder.release()
        if self.slirp is not None:
            self.slirp.stop()
            self.slirp = None
        if self.worker is not None:
            answer = self.worker.answer()
            self.worker = None
            if "attachments" in answer:
                ports = [p.to_json() for p in self.ports]
                state = NetworkState(self.mode.kind, attachments=answer["attachments"], ports=ports)
                save_state(self.layout, self.record.id, state)
                disconnect(self.layout, self.record)
        self.release_held()


def _bridge_job(job: dict) -> dict:
    """The bridges and their rules, then a veth per network into the container's namespace
    (`job["netns"]`, made before the container: this runs while the runtime creates it)."""
    from pod.config import firewall_driver
    from pod.network import firewall
    from pod.network.records import open_store
    from pod.store.containers import ContainerStore

    layout = Layout(Path(job["root"]), Path(job["runroot"]))
    record = ContainerStore(layout).lookup(job["id"])
    ports = [PortMapping.from_json(p) for p in record.ports]
    if record.rootless:
        from pod.network import rootless_netns

        rootless_netns.enter(layout)
        ports = []  # pod's forwarder serves them (Preparation._forward)
    networks = open_store(layout)
    mode = parse_stored(record.network, record.networks)
    wall = firewall.detect(firewall_driver())
    records = [networks.get(attachment.name) for attachment in mode.networks]
    starting = _starting_dir(layout) / str(os.getpid())
    atomic_write_json(starting, [net.network_interface for net in records])
    attachments: dict[str, dict] = {}
    try:
        netns = os.open(job["netns"], os.O_RDONLY | os.O_CLOEXEC)
        try:
            # The last member's exit removes a bridge under these locks.
            with locked(networks.lock_path), hostparts.bridges_locked(layout):
                ensure_bridges(records, wall, only_missing=True)
                _attach_all(record, mode, records, ports, netns, wall, attachments)
        finally:
            os.close(netns)
    except BaseException:
        # The start failed: the bridges made for it go again unless others use them (rootless
        # ones live in the rootless network namespace and go with it).
        starting.unlink(missing_ok=True)
        if not record.rootless:
            queue_tidy(layout, f"{record.id}-start", [], [net.name for net in records])
            tidy(layout)
        raise
    starting.unlink(missing_ok=True)
    return {"attachments": attachments}


def _starting_dir(layout: Layout) -> Path:
    """Bridge workers at work (a file per pid naming its bridges): tidy leaves those bridges
    up instead of deleting what the next container start would create again at once."""
    directory = hostparts.starting_dir(layout)
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def _bridges_being_started(layout: Layout) -> set[str]:
    found: set[str] = set()
    directory = hostparts.starting_dir(layout)
    for path in directory.glob("*") if directory.is_dir() else ():
        if path.name.startswith("."):
            continue  # a marker being written (atomic_write's temporary file)
        try:
            os.kill(int(path.name), 0)
        except (ProcessLookupError, ValueError):
            path.unlink(missing_ok=True)  # a worker that died: its start failed
            continue
        except PermissionError:
            pass
        found.update(read_json(path) or [])
    return found


def ensure_bridges(records: list, wall, only_missing: bool) -> None:
    """Bridges and their rules; a bridge that exists has its rules (both go together).
    Callers hold the networks lock."""
    from pod.network import bridge

    for net in records:
        if only_missing and bridge.link_exists(net.network_interface):
            continue
        subnet = net.subnets[0]
        prefixlen = int(subnet["subnet"].rsplit("/", 1)[1])
        bridge.ensure_bridge(net.network_interface, subnet["gateway"], prefixlen)
        wall.setup_network(bridge.rules_for(net))


def _attach_all(record, mode, records, ports, netns, wall, attachments: dict) -> None:
    """A veth per network (the first non-internal one routes out), then the port rules."""
    from pod.network import bridge

    try:
        default_route = True
        for index, (attachment, net) in enumerate(zip(mode.networks, records, strict=True)):
            routes = default_route and not net.internal
            done = bridge.attach_network(net, netns, index, attachment.ip, routes)
            default_route = default_route and net.internal
            attachments[net.name] = done.to_json()
        if ports:
            wall.add_ports(bridge.rules_for(records[0]), record.id, mode.networks[0].ip, ports)
    except BaseException:
        for done in attachments.values():
            bridge.delete_link(done["host_ifname"])
        raise


def _site_packages() -> None:
    """pyroute2 lives in site-packages, which the shim's small `-I -S` supervisor (where the
    exit and restart steps run) has not added: add it now, once."""
    import sys

    if sys.flags.no_site and "site" not in sys.modules:
        import site

        site.main()


def disconnect(layout: Layout, record: ContainerRecord) -> list[str]:
    """Undo what network.json says was done; the bridge and its rules go with the last member.

    Returns the problems met (the exit step records them; it never raises)."""
    state = read_state(layout, record.id)
    if state is None:
        return []
    problems: list[str] = []
    for pid in (state.forwarder_pid, state.helper_pid):
        if pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
    if state.attachments:
        try:
            if state.named:
                tell_members(layout, record, state.named, joined=False)
            if not shares_rootless_namespace(record):  # there veths go with the namespace
                _disconnect_bridges(layout, record, state)
        except Exception as err:
            problems.append(f"removing the network: {err}")
    with contextlib.suppress(FileNotFoundError):
        layout.container(record.id).network_state.unlink()
    return problems


def tell_members(
    layout: Layout, record: ContainerRecord, names: list[str], joined: bool
) -> list[str]:
    """Update the /etc/hosts of the running members of the networks `names`
    (pod.network.members), on networks with name resolution (podman's default has none);
    the networks it did so on."""
    from pod.network import members
    from pod.network.records import open_store

    networks = open_store(layout)
    told = []
    with locked(networks.lock_path):
        for name in names:
            try:
                if not networks.get(name).dns_enabled:
                    continue
                allocations = networks.allocations(name)
            except PodError:
                continue
            (members.joined if joined else members.left)(layout, record, name, allocations)
            told.append(name)
    return told


def _disconnect_bridges(layout: Layout, record: ContainerRecord, state: NetworkState) -> None:
    """The container's port rules go now (its address may be given out again at once); the
    veths and bridges are left to `tidy`, which runs after the exit is reported."""
    if state.ports:
        from pod.config import firewall_driver
        from pod.network import bridge, firewall
        from pod.network.records import open_store

        networks = open_store(layout)
        first = next(iter(state.attachments))
        with contextlib.suppress(PodError), hostparts.bridges_locked(layout):
            rules = bridge.rules_for(networks.get(first))
            firewall.detect(firewall_driver()).remove_ports(rules, record.id)
    veths = [a["host_ifname"] for a in state.attachments.values()]
    queue_tidy(layout, record.id, veths, list(state.attachments))


def queue_tidy(layout: Layout, key: str, veths: list[str], networks: list[str]) -> None:
    """Note host parts for `tidy`: veths to delete, networks whose bridge may now be unused."""
    pending = {"veths": veths, "networks": networks}
    atomic_write_json(_tidy_dir(layout) / f"{key}.json", pending, 0o600)


def _tidy_dir(layout: Layout) -> Path:
    directory = layout.network_tidy_root
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def _netlink_work(layout: Layout, pending: list[Path]) -> bool:
    """Whether `pending` leaves anything to delete: a veth still there (its namespace did not
    take it along), or a bridge no container uses and no start is about to use."""
    from pod.network.records import open_store

    networks = open_store(layout)
    starting = _bridges_being_started(layout)
    for path in pending:
        work = read_json(path) or {}
        if any(os.path.lexists(f"/sys/class/net/{veth}") for veth in work.get("veths", [])):
            return True
        for name in work.get("networks", []):
            try:
                interface = networks.get(name).network_interface
            except PodError:
                continue  # removed with -f, bridge and all
            exists = os.path.lexists(f"/sys/class/net/{interface}")
            if exists and interface not in starting and not _bridge_in_use(interface):
                return True
    return False


def tidy(layout: Layout, grace: float = 0.0) -> list[str]:
    """Host parts left by stopped containers: their veths, and each bridge (with its rules)
    that no container uses any more. The shim calls it once its exit has been reported, so
    `pod run` does not wait for netlink; any later call finishes what a killed shim left.

    With `grace`, an unused bridge is left that long for a start to claim (back-to-back
    `run --rm`s then keep one bridge instead of deleting and making it again each time);
    when nothing is left to delete, pyroute2 is not even imported. Rootless, the rootless
    network namespace (with its bridges) is stopped when no container uses it any more."""
    if not tidy_pending(layout):  # the common case, without loading rootless_netns
        return []
    from pod.network import rootless_netns

    rootless_netns.stop_if_unused(layout, grace)
    directory = layout.network_tidy_root
    try:
        pending = sorted(directory.iterdir())
    except FileNotFoundError:
        return []
    if not pending:
        return []
    deadline = time.monotonic() + grace
    while (busy := _netlink_work(layout, pending)) and time.monotonic() < deadline:
        time.sleep(0.02)
    if not busy:
        for path in pending:
            path.unlink(missing_ok=True)
        return []
    _site_packages()
    from pod.config import firewall_driver
    from pod.network import bridge, firewall, netlink
    from pod.network.records import open_store

    netlink.preload()  # before the lock: starts wait on it
    networks = open_store(layout)
    problems: list[str] = []
    with locked(networks.lock_path), hostparts.bridges_locked(layout):
        starting = _bridges_being_started(layout)
        for path in pending:
            work = read_json(path) or {}
            try:
                for veth in work.get("veths", []):
                    bridge.delete_link(veth)
                for name in work.get("networks", []):
                    with contextlib.suppress(PodError):  # removed with -f, bridge and all
                        net = networks.get(name)
                        bridge_name = net.network_interface
                        if bridge_name not in starting and not _bridge_in_use(bridge_name):
                            firewall.detect(firewall_driver()).teardown_network(
                                bridge.rules_for(net)
                            )
                            bridge.delete_link(net.network_interface)
            except Exception as err:
                problems.append(f"removing the network's host parts: {err}")
            path.unlink(missing_ok=True)
    return problems


def _bridge_in_use(name: str) -> bool:
    """Another container's veth is still on the bridge (any store: the bridge is the host's)."""
    brif = Path("/sys/class/net") / name / "brif"
    try:
        return any(brif.iterdir())
    except FileNotFoundError:
        return False
