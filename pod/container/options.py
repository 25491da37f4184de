"""What the user asked for in `pod run` / `pod create`: one record the whole pipeline shares.

Commands parse flags into a RunOptions; pod.container.create turns it (with the image's
defaults) into a container record and an OCI bundle via pod.container.spec. Nothing here does I/O.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pod.container.namespaces import Namespaces
from pod.util.records import dataclass, field, replace

if TYPE_CHECKING:
    from pod.network.modes import NetworkMode
    from pod.network.ports import PortMapping


@dataclass
class MountSpec:
    """One `-v`, `--mount` or `--tmpfs` request, already parsed."""

    type: str  # "bind", "volume", "tmpfs", "devpts" or "image"
    destination: str
    source: str = ""  # host path (bind), volume name (volume; "" = anonymous), image (image)
    options: list[str] = field(default_factory=list)  # ro, rw, z, Z, U, nosuid, size=..., ...

    @property
    def read_only(self) -> bool:
        return "ro" in self.options or "readonly" in self.options


@dataclass(frozen=True)
class SecretRequest:
    """One `--secret NAME[,type=mount|env][,target=][,uid=][,gid=][,mode=]`, as parsed."""

    source: str  # the secret's name or id in the store
    type: str = "mount"  # "mount": a read-only file; "env": an environment variable
    target: str = ""  # mount: the path (relative: under /run/secrets); env: the variable
    uid: int = 0
    gid: int = 0
    mode: int = 0o444
    # kube play: one key of a Kubernetes Secret the store holds (store.secrets.kube_secret);
    # "": the secret's whole data
    key: str = ""

    @property
    def destination(self) -> str:
        """Where a mount secret appears in the container."""
        if self.target.startswith("/"):
            return self.target
        return f"/run/secrets/{self.target or self.source}"

    @property
    def variable(self) -> str:
        """The variable an env secret sets."""
        return self.target or self.source


@dataclass(frozen=True)
class Ulimit:
    """One `--ulimit name=soft[:hard]`; -1 is unlimited (RLIM_INFINITY)."""

    name: str  # podman's name: nofile, nproc, core, ...
    soft: int
    hard: int


@dataclass(frozen=True)
class DeviceSpec:
    """One `--device HOST[:CONTAINER][:PERMISSIONS]`, as given (the engine stats the host)."""

    host_path: str
    container_path: str
    permissions: str = "rwm"


@dataclass
class ResourceLimits:
    """The resource flags of `run`/`create`, parsed and checked (pod.container.resource_flags)."""

    memory: int | None = None  # bytes; None: no limit
    memory_swap: int | None = None  # memory + swap in bytes, -1 unlimited; None: twice memory
    cpus: float | None = None
    cpu_shares: int | None = None
    cpuset_cpus: str | None = None
    pids_limit: int | None = None  # None: the default (2048); -1: unlimited
    ulimits: list[Ulimit] = field(default_factory=list)
    ulimit_host: bool = False  # `--ulimit host`: no process.rlimits, the host's limits apply
    shm_size: int | None = None  # bytes; None: the default (65536000), 0: no limit
    oom_score_adj: int | None = None

    @property
    def cgroup_limits(self) -> bool:
        """True when a limit needs the container's cgroup (not ulimits, shm or oom score)."""
        return any(
            value is not None
            for value in (
                self.memory,
                self.memory_swap,
                self.cpus,
                self.cpu_shares,
                self.cpuset_cpus,
                self.pids_limit,
            )
        )

    def without_cgroup_limits(self) -> ResourceLimits:
        return replace(
            self,
            memory=None,
            memory_swap=None,
            cpus=None,
            cpu_shares=None,
            cpuset_cpus=None,
            pids_limit=None,
        )


@dataclass(frozen=True)
class LogSettings:
    """--log-opt: the log file's path (None: in the container's directory), the size at which
    the shim starts it afresh (None: no limit), and the tag inspect shows."""

    path: str | None = None
    max_size: int | None = None
    tag: str = ""


@dataclass
class HealthFlags:
    """The --health-* flags as typed (None: not given)."""

    cmd: str | None = None
    interval: str | None = None
    retries: int | None = None
    timeout: str | None = None
    start_period: str | None = None
    on_failure: str | None = None
    disabled: bool = False  # --no-healthcheck


@dataclass
class RunOptions:
    """Every `run`/`create` flag pod supports, with podman's defaults."""

    image: str
    command: list[str] = field(default_factory=list)
    name: str | None = None
    detach: bool = False
    interactive: bool = False
    tty: bool = False
    remove: bool = False
    env: list[str] = field(default_factory=list)  # KEY=VALUE, already merged from --env-file/-e
    workdir: str | None = None
    user: str | None = None  # user[:group] as given
    entrypoint: list[str] | None = None  # None: image's; [] (from --entrypoint "") clears it
    hostname: str | None = None
    add_hosts: list[str] = field(default_factory=list)  # host:ip
    mounts: list[MountSpec] = field(default_factory=list)
    read_only: bool = False
    cap_add: list[str] = field(default_factory=list)
    cap_drop: list[str] = field(default_factory=list)
    privileged: bool = False
    no_new_privileges: bool = False
    seccomp_profile: str = ""  # --security-opt seccomp=: "" default, "unconfined", or a file
    mask: list[str] = field(default_factory=list)  # --security-opt mask=: paths masked too
    unmask: list[str] = field(default_factory=list)  # unmask=: ALL, paths or globs
    proc_opts: list[str] = field(default_factory=list)  # proc-opts=: /proc's mount options
    security_opt: list[str] = field(default_factory=list)  # as given, for inspect
    devices: list[DeviceSpec] = field(default_factory=list)  # --device
    device_cgroup_rules: list[str] = field(default_factory=list)  # --device-cgroup-rule
    userns: str | None = None  # None, "keep-id", "host", "nomap", "auto[:OPTIONS]"
    init: bool = False
    init_path: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    runtime: str | None = None  # None: pod's own; "runc", "crun" or a path
    log_driver: str = "k8s-file"
    cidfile: str | None = None
    replace: bool = False
    # The namespace's kind (pod.network.modes.NetworkMode.kind) and the whole parsed mode.
    network: str = "private"
    network_mode: NetworkMode | None = None  # None: the default for rootful or rootless
    publish: list[PortMapping] = field(default_factory=list)  # -p, host port 0: pick one
    publish_all: bool = False  # -P
    expose: list[tuple[int, str]] = field(default_factory=list)  # --expose
    dns: list[str] = field(default_factory=list)
    dns_search: list[str] = field(default_factory=list)
    dns_options: list[str] = field(default_factory=list)
    pull: str = "missing"
    sig_proxy: bool = True
    stop_signal: str | None = None
    stop_timeout: int = 10
    restart: str = ""  # --restart as given: no, on-failure[:N], always, unless-stopped
    health: HealthFlags = field(default_factory=HealthFlags)  # --health-*, --no-healthcheck
    secrets: list[SecretRequest] = field(default_factory=list)  # --secret
    sd_notify: str = "ignore"  # --sdnotify: "conmon" tells systemd once started (pod.systemd)
    # The command line that made the container (inspect's CreateCommand; `generate systemd
    # --new` runs it again): the program name, the global flags, the verb and its arguments.
    create_command: list[str] = field(default_factory=list)
    resources: ResourceLimits = field(default_factory=ResourceLimits)
    # A build step's container (RUN): hidden from `ps` unless --external, and the image's
    # VOLUMEs are not mounted (what RUN writes there stays in the layer, as buildah does).
    builder: bool = False
    # The pod the container joins (its ID; pod.pods.members set the options that follow from
    # it), and whether this is the pod's infra container.
    pod: str = ""
    infra: bool = False
    annotations: dict[str, str] = field(default_factory=dict)  # --annotation
    namespaces: Namespaces = field(default_factory=Namespaces)  # --ipc, --pid, --uts
    group_add: list[str] = field(default_factory=list)  # --group-add: names, gids, keep-groups
    sysctls: dict[str, str] = field(default_factory=dict)  # --sysctl, checked
    platform: str = ""  # --platform or --os/--arch/--variant: "os/arch[/variant]"; "" the host's
    attach: list[str] = field(default_factory=list)  # -a: stdin, stdout, stderr ([]: all)
    detach_keys: str | None = None  # None: containers.conf's, else podman's default
    preserve_fds: int = 0  # --preserve-fds: fds 3.. passed on to the container
    remove_image: bool = False  # --rmi: `rmi IMAGE` once an attached run ends (unless in use)
    conmon_pidfile: str | None = None  # where the shim writes its pid
    timezone: str | None = None  # --tz: a zone name, or "local" for the host's
    timeout: int = 0  # --timeout: seconds before the container is killed (0: none)
    log: LogSettings = field(default_factory=LogSettings)
    host_users: list[str] = field(default_factory=list)  # --hostuser: host users to add
    passwd_entry: str = ""  # --passwd-entry: the format of the /etc/passwd lines pod adds
    volumes_from: list[str] = field(default_factory=list)  # --volumes-from CTR[:ro|rw|z]
    unsetenv: list[str] = field(default_factory=list)
    unsetenv_all: bool = False
    systemd: str = "true"  # --systemd: true, false or always
    requires: list[str] = field(default_factory=list)  # containers started before this one
    no_hosts: bool = False  # --no-hosts: the image's /etc/hosts stays

    @property
    def dependencies(self) -> list[tuple[str, str]]:
        """(container, why) for each container that must run first: --requires ("requires"),
        and those whose namespaces this one joins ("ipc", "pid", "uts", "net")."""
        found = [(name, "requires") for name in self.requires]
        for kind in ("ipc", "pid", "uts"):
            mode = self.namespaces.mode(kind)
            if mode.kind == "container":
                found.append((mode.target, kind))
        if self.network_mode is not None and self.network_mode.kind == "container":
            found.append((self.network_mode.target, "net"))
        return found
