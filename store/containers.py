"""Container records and their state: one directory per container, no daemon.

`container.json` is written once at create (what the user asked for); `state.json` is the
live part, written atomically by whoever changes it (the shim while it supervises, the CLI
when it notices a dead shim). Names are unique under the store-wide containers lock.
"""

from __future__ import annotations

import builtins
import os
from collections.abc import Iterable
from pathlib import Path

from pod.errors import NoSuchContainerError, PodError, UsageError
from pod.store.layout import Layout
from pod.store.lock import atomic_write_json, locked, read_json
from pod.store.names import name_problem, resolve
from pod.util.records import asdict, dataclass, field, field_names

STATES = ("creating", "configured", "created", "running", "paused", "stopped", "exited", "removing")

_ADJECTIVES_TEXT = (
    "admiring adoring affectionate agitated amazing angry awesome blissful bold boring brave "
    "busy charming clever cool compassionate competent confident cranky crazy dazzling "
    "determined distracted dreamy eager ecstatic elastic elated elegant eloquent epic festive "
    "flamboyant focused friendly frosty funny gallant gifted goofy gracious happy hardcore "
    "heuristic hopeful hungry infallible inspiring jolly jovial keen kind laughing loving "
    "lucid magical modest musing mystifying naughty nervous nice nifty nostalgic objective "
    "optimistic peaceful pedantic pensive practical priceless quirky quizzical recursing "
    "relaxed reverent romantic sad serene sharp silly sleepy stoic strange stupefied "
    "suspicious sweet tender thirsty trusting unruffled upbeat vibrant vigilant vigorous "
    "wizardly wonderful xenodochial youthful zealous zen"
)
_ADJECTIVES = tuple(_ADJECTIVES_TEXT.split())
_NAMES_TEXT = (
    "albattani allen almeida archimedes ardinghelli aryabhata austin babbage banach bardeen "
    "bartik bassi bell benz bhabha bhaskara blackwell bohr booth borg bose boyd brahmagupta "
    "brattain brown carson chandrasekhar chatelet chaum clarke colden cori cray curie darwin "
    "davinci dijkstra dubinsky easley edison einstein elgamal elion engelbart euclid euler "
    "faraday feistel fermat fermi feynman franklin galileo gates goldberg goldstine goldwasser "
    "golick goodall hamilton hawking heisenberg hermann hodgkin hoover hopper hugle hypatia "
    "jackson jennings jepsen johnson joliot jones kalam kapitsa keldysh keller kepler khorana "
    "kilby kirch knuth kowalevski lalande lamarr lamport leakey leavitt lederberg lehmann "
    "lewin lichterman liskov lovelace lumiere mahavira margulis matsumoto maxwell mayer "
    "mccarthy mcclintock mclean mcnulty meitner mendel mendeleev meninsky merkle mestorf "
    "mirzakhani morse murdock napier nash neumann newton nightingale nobel noether northcutt "
    "noyce panini pare pascal pasteur payne perlman pike poincare poitras proskuriakova "
    "ptolemy raman ramanujan ride ritchie rhodes robinson roentgen rosalind rubin saha sammet "
    "sanderson satoshi shamir shannon shaw shirley shockley shtern sinoussi snyder solomon "
    "spence stonebraker sutherland swanson swartz swirles taussig tesla tharp thompson "
    "torvalds tu turing varahamihira vaughan visvesvaraya volhard villani wescoff wilbur wiles "
    "williams williamson wilson wing wozniak wright wu yalow yonath zhukovsky"
)
_NAMES = tuple(_NAMES_TEXT.split())


@dataclass
class ContainerState:
    """The live part of a container, kept in state.json."""

    status: str = "created"
    pid: int = 0
    exit_code: int | None = None
    started_at: float = 0.0
    finished_at: float = 0.0
    oom_killed: bool = False
    shim_pid: int = 0
    shim_start_time: int = 0  # /proc/<pid>/stat starttime: tells a reused pid apart
    restart_count: int = 0
    stopped_by_user: bool = False  # set by `pod stop`/`kill` before signalling: no restart
    error: str = ""
    rootfs_driver: str = ""  # how the shim mounted the rootfs: overlay, fuse-overlayfs or vfs
    creator_pid: int = 0  # with status "creating": the command writing the container's bundle
    creator_start_time: int = 0
    # Health checks (pod.container.health): {"Status", "FailingStreak", "Log"}, as podman's.
    health: dict = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict) -> ContainerState:
        known = set(field_names(cls))
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class ContainerRecord:
    """What `create` decided; never changes afterwards (rename rewrites it under the lock)."""

    id: str
    name: str
    image_id: str
    image_name: str
    created: float
    command: list[str]  # the full argv: entrypoint + cmd as resolved
    rootless: bool
    runtime: str  # "pod", "runc", "crun" or a path
    tty: bool = False
    interactive: bool = False
    remove: bool = False
    log_driver: str = "k8s-file"
    labels: dict[str, str] = field(default_factory=dict)
    hostname: str = ""
    mounts: list[dict] = field(default_factory=list)  # MountSpec as dicts, resolved sources
    volumes: list[str] = field(default_factory=list)  # named volumes this container uses
    stop_signal: str = "SIGTERM"
    stop_timeout: int = 10
    restart_policy: str = ""  # "", "no", "on-failure", "always", "unless-stopped"
    restart_retries: int = 0  # on-failure:N (0: no limit)
    network: str = "private"  # NetworkMode.describe(): bridge, none, host, container:ID, ...
    networks: list[dict] = field(default_factory=list)  # NetworkAttachment.to_json(), ip set
    ports: list[dict] = field(default_factory=list)  # PortMapping.to_json(), host ports chosen
    exposed: list[str] = field(default_factory=list)  # "80/tcp": the image's and --expose
    dns: list[str] = field(default_factory=list)  # --dns, --dns-search, --dns-option (inspect)
    dns_search: list[str] = field(default_factory=list)
    dns_options: list[str] = field(default_factory=list)
    storage_driver: str = "overlay"
    # --storage-opt overlay.mount_program= (a FUSE overlay to use) and overlay.mountopt=
    mount_program: str = ""
    overlay_mountopt: str = ""
    layers: list[str] = field(default_factory=list)  # the image's chain ids, base layer first
    # Rootless id maps for the shim's user namespace: {"uid_map": [[inside, outside, count], ...],
    # "gid_map": [...]}; empty: 0 → the user, 1.. → the user's /etc/subuid and /etc/subgid ranges.
    userns: dict[str, list] = field(default_factory=dict)
    # --userns=nomap|auto: the container's own maps as podman's IDMappings ({"UidMap":
    # ["0:1:1024"], "GidMap": [...]}): host ids rootful, ids of the user's namespace rootless.
    # auto's range is taken while a record holds it (pod.container.userns_modes).
    idmappings: dict[str, list[str]] = field(default_factory=dict)
    userns_mode: str = ""  # --userns as given ("", host, keep-id, nomap, auto[:...]): inspect
    # For inspect (Config.Entrypoint/Cmd/User, HostConfig.CapAdd/CapDrop): the flags as given.
    entrypoint: list[str] = field(default_factory=list)
    cmd: list[str] = field(default_factory=list)
    user: str = ""
    cap_add: list[str] = field(default_factory=list)
    cap_drop: list[str] = field(default_factory=list)
    builder: bool = False  # a build step's container (RunOptions.builder)
    # For inspect (HostConfig.Privileged/SecurityOpt/Devices): the flags as given; --device
    # as [host path, container path, permissions].
    privileged: bool = False
    security_opt: list[str] = field(default_factory=list)
    devices: list[list[str]] = field(default_factory=list)
    # --ipc/--pid/--uts other than private: {"ipc": "host", "pid": "container:ID", ...}
    namespaces: dict[str, str] = field(default_factory=dict)
    requires: list[str] = field(default_factory=list)  # IDs started before this one (--requires)
    group_add: list[str] = field(default_factory=list)  # as given, for inspect
    volumes_from: list[str] = field(default_factory=list)  # as given, for inspect
    timeout: int = 0  # --timeout: seconds the container may run before it is killed (0: none)
    conmon_pidfile: str = ""  # --conmon-pidfile: where the shim writes its pid
    preserve_fds: int = 0  # --preserve-fds: the starting process's fds 3..N+2 reach the init
    log_path: str = ""  # --log-opt path= ("": the container directory's log)
    log_max_size: int = 0  # --log-opt max-size= in bytes (0: no limit)
    log_tag: str = ""  # --log-opt tag=
    systemd: str = "true"  # --systemd as given
    timezone: str = ""  # --tz as given
    # The health check in the image config's shape (Test, Interval, Timeout, StartPeriod,
    # Retries; nanoseconds), {} for none; what to do when it turns unhealthy.
    healthcheck: dict = field(default_factory=dict)
    health_on_failure: str = "none"
    events_backend: str = ""  # the creating command's --events-backend ("": containers.conf)
    # The pod it is part of (store.pods): it joins the namespaces the pod's infra container
    # shares (net through `network` = container:INFRA, the others when its shim starts it).
    pod: str = ""
    infra: bool = False  # the pod's infra container: it holds the namespaces (podman's IsInfra)
    # --secret, resolved: {"name", "id", "type" (mount|env), "target" (the path or variable),
    # "uid", "gid", "mode"}; never the data (pod.container.secret_files reads the store).
    secrets: list[dict] = field(default_factory=list)
    sd_notify: str = "ignore"  # --sdnotify: conmon (pod tells systemd) or ignore
    create_command: list[str] = field(default_factory=list)  # inspect's CreateCommand

    @property
    def short_id(self) -> str:
        return self.id[:12]

    @classmethod
    def from_dict(cls, data: dict) -> ContainerRecord:
        known = set(field_names(cls))
        return cls(**{k: v for k, v in data.items() if k in known})


def new_id() -> str:
    return os.urandom(32).hex()


def check_name(name: str) -> None:
    """Refuse a container name podman would refuse (exit 125), before anything is made."""
    problem = name_problem(name)
    if problem:
        raise UsageError(f"running container create option: {problem}")


def random_name(taken: set[str]) -> str:
    """podman/docker style `adjective_scientist`, unique in this store."""
    while True:
        name = f"{_pick(_ADJECTIVES)}_{_pick(_NAMES)}"
        if name not in taken:
            return name


def _pick(words: tuple[str, ...]) -> str:
    """A word chosen by the kernel's random bytes (the random module costs every run ~1 ms)."""
    return words[int.from_bytes(os.urandom(4), "big") % len(words)]


class ContainerStore:
    """Container records on disk: create (unique names), look up, read and write state, remove."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout

    @property
    def lock_path(self) -> Path:
        return self.layout.containers_lock

    def container_lock(self, container_id: str) -> Path:
        return self.layout.container_lock(container_id)

    def record_file(self, container_id: str) -> Path:
        return self.layout.container(container_id).record

    def state_file(self, container_id: str) -> Path:
        return self.layout.container(container_id).state

    def list(self) -> list[ContainerRecord]:
        root = self.layout.containers_root
        if not root.is_dir():
            return []
        records = []
        for entry in os.scandir(root):
            data = read_json(self.record_file(entry.name))
            if data:
                records.append(ContainerRecord.from_dict(data))
        return records

    def _by_full_id(self, text: str) -> ContainerRecord | None:
        if len(text) != 64 or text.strip("0123456789abcdef"):
            return None
        data = read_json(self.record_file(text))
        return ContainerRecord.from_dict(data) if data else None

    def dependents(self, container_id: str) -> builtins.list[str]:
        """The IDs of the containers that depend on this one (`requires`): it must outlive them."""
        return [record.id for record in self.list() if container_id in record.requires]

    def lookup(self, text: str) -> ContainerRecord:
        """By full ID, unique ID prefix or name, as podman resolves them."""
        return self.lookup_all([text])[0]

    def lookup_all(self, texts: Iterable[str]) -> builtins.list[ContainerRecord]:
        """Each of them, as `lookup`; the first missing one raises. A full ID is read alone (a
        full ID matches before any name, as podman resolves), the rest from one listing."""
        records: builtins.list[ContainerRecord] | None = None
        found = []
        for text in texts:
            record = self._by_full_id(text)
            if record is None:
                records = self.list() if records is None else records
                record = resolve(records, text, "container")
            if record is None:
                raise NoSuchContainerError(
                    f'no container with name or ID "{text}" found: no such container'
                )
            found.append(record)
        return found

    def create(
        self, record: ContainerRecord, remove_old=None, replace: bool = False
    ) -> ContainerRecord:
        """Write a new record with a unique name (random when empty); its directory is made here.

        The state is `creating` (by this process) until the caller marks it `configured`.
        `remove_old(old_record)` is called (without the lock: it removes the old container)
        when the name is taken by a creation that was cut short or `replace` (--replace) was
        given; otherwise a taken name is an error (exit 125), as podman's.
        """
        if record.name:
            check_name(record.name)
        while True:
            with locked(self.lock_path):
                records = self.list()
                taken = {r.name for r in records}
                if not record.name:
                    record.name = random_name(taken)
                old = next((r for r in records if r.name == record.name), None)
                if old is None:
                    directory = self.layout.container_dir(record.id)
                    directory.mkdir(parents=True)
                    creator = os.getpid()
                    creating = ContainerState(
                        status="creating",
                        creator_pid=creator,
                        creator_start_time=process_start_time(creator),
                    )  # the creator syncs the directory when it commits (status configured)
                    self.write_state(record.id, creating, sync_dir=False)
                    path = self.record_file(record.id)
                    atomic_write_json(path, asdict(record), sync_dir=False)
                    return record
                abandoned = self.creation_cut_short(old.id)
            if remove_old is None or not (replace or abandoned):
                raise PodError(
                    f'creating container storage: the container name "{record.name}" is '
                    f"already in use by {old.id}. You have to remove that container to be "
                    "able to reuse that name: that name is already in use"
                )
            remove_old(old)

    def creation_cut_short(self, container_id: str) -> bool:
        """The command creating this container died before it was complete (killed)."""
        state = self.read_state(container_id)
        return state.status == "creating" and not pid_alive(
            state.creator_pid, state.creator_start_time
        )

    def rename(self, text: str, new_name: str) -> ContainerRecord:
        """Give a container a new, unique name (checked and written under the names lock)."""
        with locked(self.lock_path):
            record = self.lookup(text)
            holder = next((r for r in self.list() if r.name == new_name), None)
            if holder is not None and holder.id != record.id:
                raise PodError(
                    f'the container name "{new_name}" is already in use by {holder.id}. You '
                    "have to remove that container to be able to reuse that name: that name is "
                    "already in use"
                )
            record.name = new_name
            atomic_write_json(self.record_file(record.id), asdict(record))
        return record

    def rewrite(self, record: ContainerRecord) -> None:
        with locked(self.lock_path):
            atomic_write_json(self.record_file(record.id), asdict(record))

    def read_state(self, container_id: str) -> ContainerState:
        """The state; an unreadable state.json (a write that was not `durable` when the machine
        crashed, on a filesystem that kept neither version) reads as a fresh one."""
        try:
            data = read_json(self.state_file(container_id), {})
        except ValueError:
            data = {}
        return ContainerState.from_dict(data or {})

    def write_state(
        self,
        container_id: str,
        state: ContainerState,
        *,
        sync_dir: bool = True,
        durable: bool = True,
    ) -> None:
        """`durable=False`: a state whose older version is as true after a crash (no container
        outlives the machine): nothing is synced (pod.store.lock.atomic_write)."""
        atomic_write_json(
            self.state_file(container_id), asdict(state), sync_dir=sync_dir, durable=durable
        )

    def remove_files(self, container_id: str) -> None:
        """Delete the directory (the caller made sure nothing is mounted or running)."""
        directory = self.layout.container_dir(container_id)
        with locked(self.lock_path):
            self.record_file(container_id).unlink(missing_ok=True)
        import shutil

        shutil.rmtree(directory, ignore_errors=True)
        self.container_lock(container_id).unlink(missing_ok=True)

    def orphans(self) -> builtins.list[str]:
        """Container directories without a record (a removal cut short): nobody may hold
        their lock, since a container being created has its record written under the names
        lock before anything else happens in its directory."""
        root = self.layout.containers_root
        if not root.is_dir():
            return []
        with locked(self.lock_path):
            return [
                e.name for e in os.scandir(root) if not os.path.exists(self.record_file(e.name))
            ]

    def cut_short(self) -> builtins.list[str]:
        """Containers whose creation was cut short (pod.container.remove removes them)."""
        return [r.id for r in self.list() if self.creation_cut_short(r.id)]


def process_start_time(pid: int) -> int:
    """Field 22 of /proc/<pid>/stat: a pid plus this is unique. 0 when the process is gone,
    or has exited and only waits to be reaped (a zombie: some init processes reap slowly)."""
    try:
        data = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return 0
    fields = data[data.rfind(b")") + 2 :].split()
    if fields[0] in (b"Z", b"X"):
        return 0
    return int(fields[19])


def pid_alive(pid: int, start_time: int) -> bool:
    return pid > 0 and start_time > 0 and process_start_time(pid) == start_time
