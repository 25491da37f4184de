"""The OCI runtime-spec config.json for a container: image defaults + `pod run` options.

`build_spec` is a pure function (no I/O): everything it needs about the host (rootless or not,
cgroup version, the user namespace maps, host devices for --privileged, rlimit ceilings) is
passed in, so golden files pin its output. It follows podman 4.3's specgen + libpod
generateSpec. `linux.seccomp` is the seccomp profile the engine read (podman's default, or
--security-opt seccomp=FILE) resolved for the container's bounding capabilities; none with
seccomp=unconfined, nor with --privileged unless a profile was named (podman's rule).
SELinux and AppArmor labels are not set.

The few helpers that look at the host (`find_init`, `host_devices`, `user_devices`, and
`pod.util.capabilities.host_bounding_set`) are separate functions the engine calls and passes the
results of.
"""

from __future__ import annotations

import fnmatch
import json
import os
import posixpath
import stat
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pod.container import environment, namespaces, resource_flags, seccomp_profile, systemd_mode
from pod.container.user import ResolvedUser, resolve_workdir
from pod.errors import PodError
from pod.util.capabilities import ALL_CAPABILITIES
from pod.util.records import dataclass, field
from pod.util.signals import parse_signal
from pod.util.userns import IdMapLine, SubIdRange

if TYPE_CHECKING:
    from pod.container.options import DeviceSpec, ResourceLimits, RunOptions, Ulimit
    from pod.image.defaults import ImageDefaults

OCI_VERSION = "1.0.2-dev"
INIT_PATH = "/run/pod-init"
INIT_CANDIDATES = (
    "/usr/libexec/podman/catatonit",
    "/usr/bin/catatonit",
    "/usr/libexec/catatonit/catatonit",
    "/usr/bin/tini-static",
    "/usr/bin/tini",
    "/sbin/tini",
)
DEFAULT_UMASK = 0o022
RLIMIT_DEFAULT = 1048576
RLIM_INFINITY = (1 << 64) - 1  # the runtime-spec's uint64 for "unlimited"
PIDS_LIMIT = 2048
SHM_SIZE = 65536000  # bytes: containers.conf's shm_size "65536k", read as podman reads it
CPU_PERIOD = resource_flags.CPU_PERIOD
RLIMIT_NUMBERS = {"RLIMIT_LOCKS": 10}  # Linux's, missing from Python's resource module
MANAGER_ANNOTATION = "io.container.manager"
STOP_SIGNAL_ANNOTATION = "org.opencontainers.image.stopSignal"
SECCOMP_ANNOTATION = "io.podman.annotations.seccomp"  # --security-opt seccomp=, as given
KEEP_GROUPS_ANNOTATION = "run.oci.keep_original_groups"  # crun's, honoured by pod's runtime

# containers.conf default_capabilities as distributions ship it (and podman >= 4.4 compiles in).
DEFAULT_CAPABILITIES = (
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_NET_BIND_SERVICE",
    "CAP_SETFCAP",
    "CAP_SETGID",
    "CAP_SETPCAP",
    "CAP_SETUID",
    "CAP_SYS_CHROOT",
)
MASKED_PATHS = (
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/fs/selinux",
    "/sys/dev/block",
)
READONLY_PATHS = (
    "/proc/asound",
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
)

READ_ONLY_TMPFS = ("/tmp", "/var/tmp", "/run")
# The device cgroup rules runc and crun add on their own; written out so pod's runtime has them.
DEFAULT_DEVICE_RULES = (
    ("c", None, None, "m"),
    ("b", None, None, "m"),
    ("c", 1, 3, "rwm"),  # /dev/null
    ("c", 1, 8, "rwm"),  # /dev/random
    ("c", 1, 7, "rwm"),  # /dev/full
    ("c", 5, 0, "rwm"),  # /dev/tty
    ("c", 1, 5, "rwm"),  # /dev/zero
    ("c", 1, 9, "rwm"),  # /dev/urandom
    ("c", 136, None, "rwm"),  # /dev/pts/*
    ("c", 5, 2, "rwm"),  # /dev/ptmx
    ("c", 10, 200, "rwm"),  # /dev/net/tun
)
_PROPAGATION = {"private", "rprivate", "slave", "rslave", "shared", "rshared"}
_PROPAGATION |= {"unbindable", "runbindable"}
_BIND_OPTIONS = {"ro", "rw", "bind", "rbind", "exec", "noexec", "suid", "nosuid", "dev", "nodev"}
_BIND_OPTIONS |= _PROPAGATION
_ENGINE_OPTIONS = {"z", "Z", "U", "copy", "nocopy", "consistency"}  # handled before the runtime
_TMPFS_VALUED = ("size", "mode", "uid", "gid", "nr_inodes")


# --- masked and read-only paths ------------------------------------------------------------------


def unmasked(paths: tuple[str, ...] | list[str], patterns: list[str]) -> list[str]:
    """The default masked or read-only paths less those `unmask` names: ALL (any case), a
    path, or a glob whose `*` stays within one path element (Go's filepath.Match)."""
    if any(pattern.upper() == "ALL" for pattern in patterns):
        return []
    return [path for path in paths if not any(_path_match(p, path) for p in patterns)]


def _path_match(pattern: str, path: str) -> bool:
    parts, names = pattern.split("/"), path.split("/")
    return len(parts) == len(names) and all(
        fnmatch.fnmatchcase(name, part) for part, name in zip(parts, names, strict=True)
    )


# --- user namespaces -----------------------------------------------------------------------------


@dataclass(frozen=True)
class UsernsMapping:
    """The id maps of a container's user namespace, and the user keep-id runs the process as."""

    uids: tuple[IdMapLine, ...]
    gids: tuple[IdMapLine, ...]
    user: str | None = None  # keep-id: "uid:gid", used when neither -u nor the image names one

    def maps_gid(self, gid: int) -> bool:
        return any(line.inside <= gid < line.inside + line.count for line in self.gids)

    @property
    def available_gids(self) -> int:
        """How many gids from 0 up are mapped without a gap (for supplementary groups)."""
        top = 0
        for line in sorted(self.gids, key=lambda line: line.inside):
            if line.inside > top:
                break
            top = max(top, line.inside + line.count)
        return top

    def spec_maps(self) -> dict[str, list[dict[str, int]]]:
        def lines(maps: Iterable[IdMapLine]) -> list[dict[str, int]]:
            return [{"containerID": m.inside, "hostID": m.outside, "size": m.count} for m in maps]

        return {"uidMappings": lines(self.uids), "gidMappings": lines(self.gids)}


def _subordinate(
    ranges: Sequence[SubIdRange], inside: int, first: int, count: int
) -> list[IdMapLine]:
    """Map container ids [inside, inside+count) onto subordinate ids [first, first+count) of the
    ranges laid end to end (a map line never crosses from one range into the next)."""
    lines = []
    offset = 0
    for subids in ranges:
        low, high = max(first, offset), min(first + count, offset + subids.count)
        if low < high:
            lines.append(IdMapLine(inside + low - first, subids.start + low - offset, high - low))
        offset += subids.count
    return lines


def _default_map(own: int, ranges: Sequence[SubIdRange]) -> tuple[IdMapLine, ...]:
    total = sum(r.count for r in ranges)
    return (IdMapLine(0, own, 1), *_subordinate(ranges, 1, 0, total))


def _keep_id_map(own: int, ranges: Sequence[SubIdRange]) -> tuple[IdMapLine, ...]:
    """podman's keep-id (pkg/util GetKeepIDMapping) flattened into one namespace: container ids
    below `own` take the first subordinate ids, `own` is the user, ids above it the rest."""
    total = sum(r.count for r in ranges)
    below = min(own, total)
    lines = [*_subordinate(ranges, 0, 0, below), IdMapLine(own, own, 1)]
    if total > own:
        lines += _subordinate(ranges, own + 1, own, total - own)
    return tuple(lines)


def outside_id(lines: Sequence[IdMapLine], inside: int) -> int:
    """The id `inside` maps to (PodError when the map leaves it out)."""
    for line in lines:
        if line.inside <= inside < line.inside + line.count:
            return line.outside + inside - line.inside
    raise PodError(f"id {inside} is not mapped in the container's user namespace")


def nested_mapping(mapping: UsernsMapping, parent: UsernsMapping) -> UsernsMapping:
    """`mapping` (container ids → host ids) as written from inside the namespace `parent`
    (its ids → host ids): what a runtime running in the engine's rootless namespace puts in
    linux.uidMappings to make the container's own namespace nested in it, as podman does for
    --userns=keep-id. A host id `parent` does not map cannot be given (PodError)."""

    def relative(lines: tuple[IdMapLine, ...], outer: tuple[IdMapLine, ...]) -> tuple:
        out = []
        for line in lines:
            covered = 0
            for up in outer:
                low = max(line.outside, up.outside)
                high = min(line.outside + line.count, up.outside + up.count)
                if low < high:
                    inside = line.inside + low - line.outside
                    out.append(IdMapLine(inside, up.inside + low - up.outside, high - low))
                    covered += high - low
            if covered != line.count:
                raise PodError(
                    f"the ids {line.outside}-{line.outside + line.count - 1} are not mapped in "
                    "the rootless user namespace: check /etc/subuid and /etc/subgid"
                )
        return tuple(sorted(out, key=lambda m: m.inside))

    return UsernsMapping(
        relative(mapping.uids, parent.uids), relative(mapping.gids, parent.gids), mapping.user
    )


def compose(lines: Sequence[IdMapLine], outer: Sequence[IdMapLine]) -> tuple[IdMapLine, ...]:
    """`lines` (container ids → ids of a namespace) followed through `outer` (that namespace's
    ids → host ids): container ids → host ids. Ids `outer` leaves out are dropped."""
    out = []
    for line in lines:
        for up in outer:
            low = max(line.outside, up.inside)
            high = min(line.outside + line.count, up.inside + up.count)
            if low < high:
                out.append(IdMapLine(line.inside + low - line.outside, up.outside + low - up.inside,
                                     high - low))  # fmt: skip
    return tuple(sorted(out, key=lambda m: m.inside))


def userns_mapping(
    options: RunOptions,
    rootless: bool,
    uid: int,
    gid: int,
    subuid: Sequence[SubIdRange],
    subgid: Sequence[SubIdRange],
    allocated: UsernsMapping | None = None,
) -> UsernsMapping | None:
    """The maps (container ids → host ids) of a container's user namespace; None: none.

    Rootless: 0 → the user, 1.. → the subordinate ranges (no ranges: the user alone); with
    `--userns=keep-id` the user keeps its own ids inside and runs as them unless -u / the
    image's USER says otherwise; `--userns=nomap` maps 0.. to the subordinate ranges and
    leaves the user out; `--userns=host` keeps the default (the user's namespace, as podman).
    `--userns=auto` is the range carved for the container (pod.container.idranges), given as
    `allocated`: host ids rootful, ids of the user's namespace rootless. Rootful otherwise:
    None (the host's ids); keep-id and nomap are rootless only, as in podman.
    """
    mode = (options.userns or "").partition(":")[0]
    if mode in ("keep-id", "nomap"):
        if not rootless:
            raise PodError(f"{mode} is only supported in rootless mode")
        if not subuid or not subgid:
            raise PodError(
                f"{mode} requires additional UIDs or GIDs defined in /etc/subuid and "
                "/etc/subgid to function correctly"
            )
    if mode == "keep-id":
        return UsernsMapping(_keep_id_map(uid, subuid), _keep_id_map(gid, subgid), f"{uid}:{gid}")
    if mode == "nomap":
        return UsernsMapping(
            tuple(_subordinate(subuid, 0, 0, sum(r.count for r in subuid))),
            tuple(_subordinate(subgid, 0, 0, sum(r.count for r in subgid))),
        )
    if mode == "auto":
        if allocated is None:
            raise PodError("--userns=auto needs the range allocated for the container")
        if not rootless:
            return allocated
        return UsernsMapping(
            compose(allocated.uids, _default_map(uid, subuid)),
            compose(allocated.gids, _default_map(gid, subgid)),
        )
    if mode not in ("", "host"):
        raise PodError(f"unsupported --userns mode {options.userns!r}: use keep-id or host")
    if not rootless:
        return None
    return UsernsMapping(_default_map(uid, subuid), _default_map(gid, subgid))


def user_spec(options: RunOptions, defaults: ImageDefaults, userns: UsernsMapping | None) -> str:
    """The user string to resolve: -u, else the image's USER, else keep-id's own ids, else root."""
    return options.user or defaults.user or (userns.user if userns and userns.user else "")


# --- the command ---------------------------------------------------------------------------------


def command_line(options: RunOptions, defaults: ImageDefaults) -> list[str]:
    """ENTRYPOINT + CMD as podman merges them (specgen makeCommand), without the init prefix.

    A given --entrypoint (even an empty one) replaces the image's and drops the image's CMD;
    arguments after the image replace CMD. An entrypoint of [""] counts as none. (podman's
    `--entrypoint '[]'` JSON quirk, which keeps the image CMD, is not reproduced: the CLI hands
    pod [] for an empty entrypoint either way.)
    """
    entrypoint, cmd = entrypoint_and_cmd(options, defaults)
    argv = entrypoint + cmd
    if not argv:
        raise PodError("no command or entrypoint provided, and no CMD or ENTRYPOINT from image")
    return argv


def entrypoint_and_cmd(options: RunOptions, defaults: ImageDefaults) -> tuple[list[str], list[str]]:
    """The two halves of command_line, kept apart for inspect's Config.Entrypoint/Config.Cmd."""
    user_entrypoint = options.entrypoint is not None
    entrypoint = options.entrypoint if user_entrypoint else defaults.entrypoint
    first = [] if entrypoint == [""] else list(entrypoint or [])
    return first, list(options.command or ([] if user_entrypoint else defaults.cmd))


def find_init() -> str:
    """The host's catatonit or tini, bind-mounted at /run/pod-init for --init."""
    for candidate in INIT_CANDIDATES:
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    import shutil  # --init only

    for name in ("catatonit", "tini-static", "tini"):
        found = shutil.which(name)
        if found:
            return found
    raise PodError(
        "--init needs an init binary and neither catatonit nor tini is installed: install the "
        "catatonit (or tini) package, or give one with --init-path"
    )


def process_args(options: RunOptions, defaults: ImageDefaults) -> list[str]:
    argv = command_line(options, defaults)
    return [INIT_PATH, "--", *argv] if options.init else argv


# --- environment and capabilities ----------------------------------------------------------------


def process_env(
    options: RunOptions, defaults: ImageDefaults, *, hostname: str, home: str, container_id: str
) -> list[str]:
    """The process's environment (pod.container.environment), systemd mode's variable
    included."""
    extra = {}
    if systemd_mode.enabled(options.systemd, command_line(options, defaults)):
        extra["container_uuid"] = systemd_mode.container_uuid(container_id)
    return environment.compose(
        defaults.env,
        options.env,
        hostname=hostname,
        home=home,
        unset=options.unsetenv,
        unset_all=options.unsetenv_all,
        extra=extra,
    )


def normalize_capabilities(names: Iterable[str]) -> list[str]:
    """CAP_-prefixed upper-case names (ALL kept), as containers/common NormalizeCapabilities."""
    out = []
    for name in names:
        cap = name.strip().upper()
        if cap != "ALL":
            cap = cap if cap.startswith("CAP_") else "CAP_" + cap
            if cap not in ALL_CAPABILITIES:
                raise PodError(f'"{cap}": unknown capability')
        out.append(cap)
    return sorted(out)


def merge_capabilities(
    base: Iterable[str], add: Iterable[str], drop: Iterable[str], bounding: Sequence[str]
) -> list[str]:
    """containers/common MergeCapabilities: --cap-add/--cap-drop applied to `base`."""
    base_caps = normalize_capabilities(base)
    adds, drops = normalize_capabilities(add), normalize_capabilities(drop)
    if not adds and not drops:
        return base_caps
    if "ALL" in drops:
        if "ALL" in adds:
            raise PodError("adding all caps and removing all caps not allowed")
        return adds
    if "ALL" in adds:
        base_caps, adds = sorted(bounding), []
    for cap in adds:
        if cap in drops:
            raise PodError(f'capability "{cap}" cannot be dropped and added')
    kept = [cap for cap in base_caps if cap not in drops]
    return sorted(kept + [cap for cap in adds if cap not in base_caps])


def capabilities(
    options: RunOptions, user: ResolvedUser, bounding: Sequence[str] = ALL_CAPABILITIES
) -> dict[str, list[str]]:
    """podman's process capabilities (specgen securityConfigureGenerator).

    Bounding is the default set with --cap-add/--cap-drop (all with --privileged). Root keeps
    it effective and permitted; any other user gets only what --cap-add names, in effective,
    permitted, inheritable and ambient alike, so a non-root process really holds those.
    """
    if options.privileged:
        caps = sorted(bounding)
    else:
        merged = merge_capabilities(
            DEFAULT_CAPABILITIES, options.cap_add, options.cap_drop, bounding
        )
        caps = [cap for cap in merged if cap in bounding]
    keep_id_default = user.spec == "" and options.userns == "keep-id"
    if user.is_root and not keep_id_default:
        return {
            "bounding": caps,
            "effective": caps,
            "inheritable": [],
            "permitted": caps,
            "ambient": [],
        }
    added = merge_capabilities((), options.cap_add, (), bounding)
    user_caps = [cap for cap in added if cap in bounding]
    return {
        "bounding": caps,
        "effective": user_caps,
        "inheritable": user_caps,
        "permitted": user_caps,
        "ambient": user_caps,
    }


def _limit_value(value: int) -> int:
    """-1 (Python's resource reports infinity so) and anything past int64 → RLIM_INFINITY."""
    return RLIM_INFINITY if value < 0 or value >= 1 << 63 else value


def rlimits(
    ceiling: Mapping[str, tuple[int, int]] | None = None, ulimits: Sequence[Ulimit] = ()
) -> list[dict]:
    """--ulimit values in their order, then RLIMIT_NOFILE and RLIMIT_NPROC at 1048576 unless
    given, as podman sets them. Where limits cannot be raised (`ceiling`: name → the host's
    (soft, hard), from host_rlimits) each is lowered to the host's hard limit, so the runtime
    (runc refuses to start otherwise) never has to raise one."""
    wanted: dict[str, tuple[int, int]] = {}
    for limit in ulimits:
        wanted["RLIMIT_" + limit.name.upper()] = (limit.soft, limit.hard)
    defaults = [name for name in ("RLIMIT_NOFILE", "RLIMIT_NPROC") if name not in wanted]
    for name in defaults:
        wanted[name] = (RLIMIT_DEFAULT, RLIMIT_DEFAULT)
    out = []
    for name, (soft, hard) in wanted.items():
        soft, hard = _limit_value(soft), _limit_value(hard)
        if ceiling and name in ceiling:
            hard = min(hard, _limit_value(ceiling[name][1]))
            if name in defaults:  # podman's defaults also keep the caller's soft limit
                soft = min(soft, _limit_value(ceiling[name][0]))
        out.append({"type": name, "hard": hard, "soft": min(soft, hard)})
    return out


# --- mounts --------------------------------------------------------------------------------------


def _mount(destination: str, kind: str, source: str, options: Sequence[str]) -> dict:
    return {"destination": destination, "type": kind, "source": source, "options": list(options)}


def _option_name(option: str) -> str:
    return option.partition("=")[0]


def bind_options(options: Sequence[str]) -> list[str]:
    """podman's ProcessOptions for a bind or volume: the user's, then rw, rprivate, rbind.

    The source filesystem's nosuid/nodev/noexec flags (podman statfs's the source) are the
    engine's to add: a rootless bind mount cannot clear them.
    """
    out = []
    for option in options:
        option = "ro" if option == "readonly" else option
        if option in _ENGINE_OPTIONS:
            continue
        if option not in _BIND_OPTIONS:
            raise PodError(f'unknown mount option "{option}": invalid mount option')
        if option not in out:
            out.append(option)
    if not {"ro", "rw"} & set(out):
        out.append("rw")
    if not _PROPAGATION & set(out):
        out.append("rprivate")
    if not {"bind", "rbind"} & set(out):
        out.append("rbind")
    return out


def tmpfs_options(options: Sequence[str], user: ResolvedUser | None = None) -> list[str]:
    """podman's ProcessOptions for a tmpfs: the user's, then rw, rprivate, nosuid, nodev, and
    tmpcopyup (the runtime copies the image's content at the mount point into the tmpfs).
    `U` makes the tmpfs belong to the container's user, as podman does."""
    out = []
    for option in options:
        name = _option_name(option)
        if option == "U":
            if user is not None:
                out += [f"uid={user.uid}", f"gid={user.gid}"]
            continue
        known = name in _TMPFS_VALUED or option in _BIND_OPTIONS - {"bind", "rbind"}
        if not known and option not in ("tmpcopyup", "notmpcopyup"):
            raise PodError(f'unknown mount option "{option}": invalid mount option')
        if option not in out:
            out.append(option)
    names = {_option_name(option) for option in out}
    if not {"ro", "rw"} & names:
        out.append("rw")
    if not _PROPAGATION & names:
        out.append("rprivate")
    if not {"suid", "nosuid"} & names:
        out.append("nosuid")
    if not {"dev", "nodev"} & names:
        out.append("nodev")
    if "notmpcopyup" in out:
        out.remove("notmpcopyup")  # podman does not pass it on
    elif "tmpcopyup" not in out:
        out.append("tmpcopyup")
    return out


def user_mount(entry: Mapping, user: ResolvedUser | None = None) -> dict:
    """One resolved -v/--mount/--tmpfs entry (the engine's dict: type, destination, source,
    options; a volume's source is its _data directory) as an OCI mount."""
    kind = entry["type"]
    destination = posixpath.normpath(entry["destination"])
    options = list(entry.get("options") or [])
    if kind in ("bind", "volume"):
        if not entry.get("source"):
            raise PodError(f"mount for {destination} has no source")
        return _mount(destination, "bind", str(entry["source"]), bind_options(options))
    if kind == "tmpfs":
        return _mount(destination, "tmpfs", "tmpfs", tmpfs_options(options, user))
    if kind == "devpts":  # a new instance with the options given, as podman passes them
        return _mount(destination, "devpts", "devpts", options)
    if kind == "image":  # the engine's mount of the image's layers, bound in
        return _mount(destination, "bind", str(entry["source"]), bind_options(options))
    raise PodError(f'invalid filesystem type "{kind}" for {destination}')


def _depth(mount: Mapping) -> int:
    return posixpath.normpath(mount["destination"]).count("/")


@dataclass(frozen=True)
class _Host:
    """The facts about the host and namespaces that decide the default mounts."""

    rootless: bool
    in_userns: bool
    netns: bool
    cgroup_v2: bool
    gid5: bool
    systemd: bool = False  # the container runs in systemd mode (--systemd)
    mqueue: bool = True  # the host has a /dev/mqueue to bind (--ipc host in a user namespace)
    joined: Mapping[str, int] = field(default_factory=dict)  # container: ipc/pid/uts → pid


def _can_mount_sys(options: RunOptions, host: _Host) -> bool:
    """podman's canMountSys: a new sysfs needs a network namespace the user namespace owns."""
    return not (options.network == "host" and host.in_userns)


def _shm_mount(options: RunOptions, host: _Host) -> list[dict]:
    """/dev/shm: a tmpfs of the container's own (also with --ipc container:X: the kernel binds
    no mount from another container's mount namespace, so X's SysV IPC and message queues are
    shared but not its /dev/shm files); the host's with --ipc host; none with --ipc none."""
    ipc = options.namespaces.ipc
    options_ = ["nosuid", "noexec", "nodev"]
    if ipc.kind == "none":
        return []
    if ipc.kind == "host":
        return [_mount("/dev/shm", "bind", "/dev/shm", ["rbind", "rprivate", *options_])]
    shm_size = options.resources.shm_size
    if shm_size is None:
        shm_size = SHM_SIZE
    return [_mount("/dev/shm", "tmpfs", "shm", [*options_, "mode=1777", f"size={shm_size}"])]


def _proc_and_mqueue(options: RunOptions, host: _Host) -> list[dict]:
    """A new proc and mqueue; in a user namespace without a pid (or ipc) namespace of its
    own, which the kernel refuses to mount them for, the host's are bound in (as podman)."""
    flags = ["nosuid", "noexec", "nodev"]
    proc = _mount("/proc", "proc", "proc", [*flags, *options.proc_opts])  # proc-opts=
    if host.in_userns and options.namespaces.pid.kind == "host":
        proc = _mount("/proc", "bind", "/proc", ["rbind", *flags, "rw", "rprivate"])
    mqueue = [_mount("/dev/mqueue", "mqueue", "mqueue", flags)]
    if host.in_userns and options.namespaces.ipc.kind == "host":
        bound = ["rbind", *flags, "rprivate"]
        mqueue = [_mount("/dev/mqueue", "bind", "/dev/mqueue", bound)] if host.mqueue else []
    return [proc, *mqueue]


def _default_mounts(options: RunOptions, host: _Host) -> list[dict]:
    pts = ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]
    if not host.gid5:  # the tty group is not mapped: devpts would refuse gid=5
        pts = ["rprivate", *pts[:-1]]
    proc, *mqueue = _proc_and_mqueue(options, host)
    mounts = [
        proc,
        _mount(
            "/dev", "tmpfs", "tmpfs", ["nosuid", "noexec", "strictatime", "mode=755", "size=65536k"]
        ),
        _mount("/dev/pts", "devpts", "devpts", pts),
        *mqueue,
        *_shm_mount(options, host),
    ]
    mode = "rw" if options.privileged else "ro"
    if host.systemd:
        tmpfs = list(systemd_mode.TMPFS_OPTIONS)
        mounts += [_mount(d, "tmpfs", "tmpfs", tmpfs) for d in systemd_mode.TMPFS_DIRS]
    if _can_mount_sys(options, host):
        sys_options = ["nosuid", "noexec", "nodev", "ro"]
        if options.privileged:
            sys_options = ["rprivate", "nosuid", "noexec", "nodev", "rw"]
        mounts.append(_mount("/sys", "sysfs", "sysfs", sys_options))
        if host.cgroup_v2 or not host.rootless:
            writable = host.systemd and host.cgroup_v2
            cgroup = ["rprivate", "nosuid", "noexec", "nodev", "relatime",
                      "rw" if writable else mode]  # fmt: skip
            mounts.append(_mount("/sys/fs/cgroup", "cgroup", "cgroup", cgroup))
            if host.systemd and not host.cgroup_v2:  # systemd's own v1 hierarchy, writable
                systemd_tree = systemd_mode.CGROUP_V1_SYSTEMD
                mounts.append(_mount(systemd_tree, "bind", systemd_tree, ["bind", "rprivate"]))
    else:
        sys_options = ["rprivate", "nosuid", "noexec", "nodev", mode, "rbind"]
        mounts.append(_mount("/sys", "bind", "/sys", sys_options))
    return mounts


def _etc_mounts(etc_files: Mapping[str, str], read_only: bool) -> list[dict]:
    """/etc/hosts, /etc/hostname, /etc/resolv.conf, /run/.containerenv: bind + rprivate, and
    ro,nosuid,noexec,nodev under --read-only (libpod's bind mounts)."""
    extra = ["ro", "nosuid", "noexec", "nodev"] if read_only else []
    return [
        _mount(destination, "bind", source, ["bind", "rprivate", *extra])
        for destination, source in etc_files.items()
    ]


def _device_mounts(devices: Sequence[Mapping]) -> list[dict]:
    """In a user namespace (rootless --privileged, --device): the host's devices bound in
    (device nodes cannot be made there)."""
    return [
        _mount(d["path"], "bind", d.get("source", d["path"]),
               ["slave", "nosuid", "noexec", "rw", "rbind"])
        for d in devices
        if d["path"] != "/dev/ptmx" and not d["path"].startswith("/dev/tty")
    ]  # fmt: skip


def assemble_mounts(
    options: RunOptions,
    user_mounts: Sequence[Mapping],
    etc_files: Mapping[str, str],
    host: _Host,
    init_binary: str | None,
    devices: Sequence[Mapping] = (),
    user: ResolvedUser | None = None,
) -> list[dict]:
    """User mounts override defaults at the same destination (a user /dev drops every default
    under it); then sorted by depth, stably, so parents are mounted before children."""
    requested = [user_mount(entry, user) for entry in user_mounts]
    if init_binary:
        requested.append(_mount(INIT_PATH, "bind", init_binary, ["bind", "ro"]))
    taken = {m["destination"] for m in requested}
    if options.read_only:
        tmpfs = ["rw", "rprivate", "nosuid", "nodev", "tmpcopyup"]
        requested += [_mount(d, "tmpfs", "tmpfs", tmpfs) for d in READ_ONLY_TMPFS if d not in taken]
        taken.update(READ_ONLY_TMPFS)
    dev_taken = "/dev" in taken
    defaults = [*_device_mounts(devices), *_default_mounts(options, host)]
    mounts = requested + [
        m
        for m in defaults
        if m["destination"] not in taken
        and not (dev_taken and m["destination"].startswith("/dev/"))
    ]
    taken = {m["destination"] for m in mounts}
    mounts += [
        m for m in _etc_mounts(etc_files, options.read_only) if m["destination"] not in taken
    ]
    return sorted(mounts, key=_depth)


# --- the spec ------------------------------------------------------------------------------------


def _device_rule(kind: str | None, major: int | None, minor: int | None, access: str) -> dict:
    rule: dict = {"allow": True}
    if kind:
        rule["type"] = kind
    if major is not None:
        rule["major"] = major
    if minor is not None:
        rule["minor"] = minor
    rule["access"] = access
    return rule


def _limits(limits: ResourceLimits, swap_limit: bool) -> dict:
    """memory, cpu and pids from the resource flags (podman's getMemoryLimits/getCPULimits):
    --memory without --memory-swap allows as much swap again; without swap accounting on the
    host (no memory.memsw files) no swap limit is written, as podman drops it."""
    resources: dict = {}
    memory: dict = {}
    if limits.memory is not None:
        memory["limit"] = limits.memory
        swap = limits.memory_swap if limits.memory_swap is not None else 2 * limits.memory
        if swap_limit:
            memory["swap"] = swap
    if memory:
        resources["memory"] = memory
    cpu: dict = {}
    if limits.cpu_shares is not None:
        cpu["shares"] = limits.cpu_shares
    if limits.cpus is not None:
        cpu["quota"], cpu["period"] = resource_flags.cpu_quota(limits.cpus), CPU_PERIOD
    if limits.cpuset_cpus is not None:
        cpu["cpus"] = limits.cpuset_cpus
    if cpu:
        resources["cpu"] = cpu
    if limits.pids_limit is not None:
        resources["pids"] = {"limit": limits.pids_limit}
    return resources


def cgroup_rule(text: str) -> dict:
    """--device-cgroup-rule 'c 1:3 rwm' (checked by the flag parser) as an allow rule."""
    kind, numbers, access = text.split()
    major, minor = (None if n == "*" else int(n) for n in numbers.split(":"))
    return _device_rule(None if kind == "a" else kind, major, minor, access)


def _resources(
    options: RunOptions,
    host: _Host,
    cgroups_path: str | None,
    swap_limit: bool = True,
    user_devices: Sequence[Mapping] = (),
) -> dict | None:
    """Device cgroup rules only outside a user namespace (podman): deny all, the standard
    allow-list, each --device, each --device-cgroup-rule; pids limit with a cgroup, then the
    resource flags (the engine has dropped them where no cgroup can take them)."""
    resources: dict = {}
    if not host.in_userns:
        if options.privileged:
            resources["devices"] = [_device_rule(None, None, None, "rwm")]
        else:
            deny: dict = {"allow": False, "access": "rwm"}
            resources["devices"] = [
                deny,
                *(_device_rule(*rule) for rule in DEFAULT_DEVICE_RULES),
                *(_device_rule(d["type"], d["major"], d["minor"], d["permissions"])
                  for d in user_devices),
                *(cgroup_rule(rule) for rule in options.device_cgroup_rules),
            ]  # fmt: skip
    if cgroups_path is not None:
        resources["pids"] = {"limit": PIDS_LIMIT}
    resources.update(_limits(options.resources, swap_limit))
    return resources or None


def _namespaces(options: RunOptions, host: _Host, new_userns: bool, netns_path: str) -> list[dict]:
    """pid, network, ipc, uts and mount, each private unless --pid/--ipc/--uts (or
    --network) say host (left out: the runtime stays in the one it is in), container:X (that
    one's, through its init's pid) or ns:PATH; network is left out for --network=host, and a
    new one has lo brought up by the engine (`netns_path` joins another's, for container: and
    ns:); cgroup on cgroup v2 (podman's default cgroupns=private there); user when the runtime
    must make one (never when the engine already runs it inside pod's namespace)."""
    entries: list[dict] = []
    for kind in ("pid", "network", "ipc", "uts", "mount"):
        entry: dict = {"type": kind}
        if kind == "network":
            if not host.netns:
                continue
            if netns_path:
                entry["path"] = netns_path
        elif kind != "mount":
            mode = options.namespaces.mode(kind)
            if mode.kind == "host":
                continue
            if mode.kind == "ns":
                entry["path"] = mode.target
            elif mode.kind == "container" and kind in host.joined:
                entry["path"] = namespaces.joined_path(kind, host.joined[kind])
        entries.append(entry)
    if host.cgroup_v2:
        entries.append({"type": "cgroup"})
    if new_userns:
        entries.append({"type": "user"})
    return entries


def _sysctls(options: RunOptions, host: _Host, netns_path: str) -> dict[str, str]:
    """--sysctl values over containers.conf's default_sysctls: unprivileged ICMP sockets, so
    ping works without CAP_NET_RAW (only in a network namespace of the container's own)."""
    sysctls = {}
    if host.netns and not netns_path and options.network not in ("container", "ns"):
        sysctls["net.ipv4.ping_group_range"] = "0 0"
    sysctls.update(options.sysctls)
    return sysctls


def build_spec(
    options: RunOptions,
    defaults: ImageDefaults,
    *,
    container_id: str,
    hostname: str,
    rootfs: str,
    user: ResolvedUser,
    mounts: Sequence[Mapping],
    etc_files: Mapping[str, str],
    rootless: bool,
    in_user_namespace: bool,
    cgroups_path: str | None,
    annotations: Mapping[str, str],
    userns: UsernsMapping | None = None,
    nested_userns: UsernsMapping | None = None,
    cgroup_v2: bool = True,
    init_lookup: Callable[[], str] = find_init,
    bounding_set: Sequence[str] = ALL_CAPABILITIES,
    rlimit_ceiling: Mapping[str, tuple[int, int]] | None = None,
    devices: Sequence[Mapping] = (),
    swap_limit: bool = True,
    netns_path: str = "",
    user_devices: Sequence[Mapping] = (),
    seccomp: Mapping | None = None,
    seccomp_host: seccomp_profile.Host | None = None,
    joined_pids: Mapping[str, int] | None = None,
    host_mqueue: bool = True,
) -> dict:
    """The config.json dict for one container.

    `mounts` are the engine's resolved user mounts (see user_mount); `etc_files` maps container
    paths (/etc/hosts, /etc/hostname, /etc/resolv.conf, /run/.containerenv) to the host files to
    bind. `userns` is the container's user namespace: made by the engine when
    `in_user_namespace` (rootless; then no user namespace is listed), else by the runtime from
    the maps written here; `nested_userns` (rootless --userns=keep-id) is one the runtime makes
    inside the engine's, its maps relative to it (see nested_mapping). `init_lookup` is only
    called for --init without --init-path;
    `devices` (from host_devices()) only matter with --privileged; `rlimit_ceiling` (from
    host_rlimits()) is for where limits cannot be raised; `swap_limit` (host_swap_limit()) says
    whether the host accounts swap; `netns_path` is the network namespace to join (container:
    and ns: modes); `user_devices` are --device's (from user_devices()): created in the
    container and allowed in its device cgroup, or bound in from the host in a user namespace;
    `seccomp` is the seccomp profile to resolve for the container's capabilities (None:
    unconfined; ignored with --privileged) on `seccomp_host` (default: this machine);
    `joined_pids` are the processes of the containers --ipc/--pid/--uts container:X join
    (namespace → pid); `host_mqueue` whether the host has a /dev/mqueue to bind for --ipc
    host in a user namespace. The resource flags (memory, cpu, pids) are written as given:
    the engine drops them first where no cgroup can take them. An empty `hostname` means
    podman's default, the first 12 characters of `container_id`; with the host's (or another
    container's) UTS namespace none is set.
    """
    hostname = hostname or container_id[:12]
    new_userns = (userns is not None and not in_user_namespace) or nested_userns is not None
    host = _Host(
        rootless=rootless,
        in_userns=rootless or in_user_namespace or new_userns,
        netns=options.network != "host",
        cgroup_v2=cgroup_v2,
        gid5=userns.maps_gid(5) if userns is not None else not rootless,
        systemd=systemd_mode.enabled(options.systemd, command_line(options, defaults)),
        mqueue=host_mqueue,
        joined=dict(joined_pids or {}),
    )
    init_binary = (options.init_path or init_lookup()) if options.init else None
    if options.privileged and not host.in_userns:
        spec_devices = [dict(d) for d in devices]
        device_mounts: list[Mapping] = []
    else:
        spec_devices, device_mounts = [], list(devices if options.privileged else ())
    if host.in_userns:  # no mknod in a user namespace: the host's node is bound in
        device_mounts += [{**d, "source": d["host_path"]} for d in user_devices]
    else:
        spec_devices += [
            {key: d[key] for key in ("path", "type", "major", "minor", "fileMode", "uid", "gid")}
            for d in user_devices
        ]
    caps = capabilities(options, user, bounding_set)
    process_user: dict = {"uid": user.uid, "gid": user.gid, "umask": DEFAULT_UMASK}
    if user.additional_gids:
        process_user["additionalGids"] = list(user.additional_gids)
    linux: dict = {}
    resources = _resources(options, host, cgroups_path, swap_limit, user_devices)
    if resources:
        linux["resources"] = resources
    if cgroups_path is not None:
        linux["cgroupsPath"] = cgroups_path
    linux["namespaces"] = _namespaces(options, host, new_userns, netns_path)
    sysctls = _sysctls(options, host, netns_path)
    if sysctls:
        linux["sysctl"] = sysctls
    if nested_userns is not None:
        linux.update(nested_userns.spec_maps())
    elif new_userns and userns is not None:
        linux.update(userns.spec_maps())
    if spec_devices:
        linux["devices"] = spec_devices
    if seccomp is not None:  # None: unconfined (create decided, --privileged included)
        linux["seccomp"] = seccomp_profile.resolve(dict(seccomp), caps["bounding"], seccomp_host)
    masked: list[str] = []
    if not options.privileged:
        masked = list(MASKED_PATHS)
        if not _can_mount_sys(options, host) and rootless:
            masked.append("/sys/kernel")
        masked = unmasked(masked, options.unmask)
        readonly = unmasked(READONLY_PATHS, options.unmask)
        if readonly:
            linux["readonlyPaths"] = readonly
    masked += [path for path in options.mask if path not in masked]
    if masked:  # podman's: --privileged masks only what --security-opt mask= names
        linux["maskedPaths"] = masked
    process: dict = {
        "terminal": options.tty,
        "user": process_user,
        "args": process_args(options, defaults),
        "env": process_env(
            options, defaults, hostname=hostname, home=user.home, container_id=container_id
        ),
        "cwd": resolve_workdir(options.workdir, defaults.working_dir),
        "capabilities": caps,
    }
    if not options.resources.ulimit_host:  # --ulimit host: the runtime's own limits apply
        process["rlimits"] = rlimits(rlimit_ceiling, options.resources.ulimits)
    process["noNewPrivileges"] = options.no_new_privileges
    if options.resources.oom_score_adj is not None:
        process["oomScoreAdj"] = options.resources.oom_score_adj
    config: dict = {
        "ociVersion": OCI_VERSION,
        "process": process,
        "root": {"path": rootfs, "readonly": options.read_only},
        "hostname": hostname,
        "mounts": assemble_mounts(
            options, mounts, etc_files, host, init_binary, device_mounts, user
        ),
        "annotations": {
            MANAGER_ANNOTATION: "pod",
            STOP_SIGNAL_ANNOTATION: str(parse_signal(stop_signal(options, defaults))),
            **_seccomp_annotation(options),
            **({KEEP_GROUPS_ANNOTATION: "1"} if "keep-groups" in options.group_add else {}),
            **annotations,
        },
        "linux": linux,
    }
    if not options.namespaces.uts.private:
        del config["hostname"]
    return config


def stop_signal(options: RunOptions, defaults: ImageDefaults) -> str:
    """--stop-signal, else the image's STOPSIGNAL, else SIGRTMIN+3 in systemd mode (podman),
    else SIGTERM."""
    if options.stop_signal or defaults.stop_signal:
        return options.stop_signal or defaults.stop_signal
    if systemd_mode.enabled(options.systemd, command_line(options, defaults)):
        return systemd_mode.STOP_SIGNAL
    return "SIGTERM"


def _seccomp_annotation(options: RunOptions) -> dict[str, str]:
    """podman's record of --security-opt seccomp=VALUE, "unconfined" included (inspect shows it
    under Config.Annotations); none when the default profile applies."""
    return {SECCOMP_ANNOTATION: options.seccomp_profile} if options.seccomp_profile else {}


def to_json(config: Mapping) -> bytes:
    """config.json as podman writes it: compact (json's C encoder; an indent takes its Python
    one, ~6x slower on a 20 KB config)."""
    return json.dumps(config, separators=(",", ":")).encode() + b"\n"


# --- host facts the engine passes in -------------------------------------------------------------


def host_rlimits(status: Path = Path("/proc/self/status")) -> dict[str, tuple[int, int]]:
    """This process's own limits when it cannot raise them (no CAP_SYS_RESOURCE in the initial
    user namespace, as for rootless, or a root without it): the ceiling for a container's.
    Empty when raising is allowed. Infinity is -1, as Python's resource reports it."""
    import resource

    from pod.util.proc_info import in_user_namespace

    if not in_user_namespace() and _has_capability(status, "CAP_SYS_RESOURCE"):
        return {}
    out = {}
    for name in resource_flags.ULIMIT_NAMES:
        key = "RLIMIT_" + name.upper()
        number = getattr(resource, key, RLIMIT_NUMBERS.get(key))
        if number is not None:
            out[key] = resource.getrlimit(number)
    return out


def _has_capability(status: Path, cap: str) -> bool:
    for line in status.read_text().splitlines():
        if line.startswith("CapEff:"):
            return bool(int(line.split()[1], 16) >> ALL_CAPABILITIES.index(cap) & 1)
    return False


def host_swap_limit(root: Path = Path("/sys/fs/cgroup")) -> bool:
    """Whether a swap limit can be set: v2, or v1 with swap accounting (memory.memsw.*)."""
    if (root / "cgroup.controllers").exists():
        return True
    return (root / "memory" / "memory.memsw.limit_in_bytes").exists()


def host_devices(root: Path = Path("/dev")) -> list[dict]:
    """The host's device nodes for --privileged, skipped and ordered as podman's getDevices."""
    out: list[dict] = []
    try:
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except PermissionError:
        return out
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            if entry.name not in ("pts", "shm", "fd", "mqueue", ".lxc", ".lxd-mounts"):
                out += host_devices(Path(entry.path))
            continue
        if entry.name == "console" or entry.is_symlink():
            continue
        try:
            st = entry.stat(follow_symlinks=False)
        except FileNotFoundError:
            continue
        kind = {stat.S_IFBLK: "b", stat.S_IFCHR: "c", stat.S_IFIFO: "p"}.get(
            stat.S_IFMT(st.st_mode)
        )
        if kind is None:
            continue
        out.append(
            {
                "path": entry.path,
                "type": kind,
                "major": os.major(st.st_rdev),
                "minor": os.minor(st.st_rdev),
                "fileMode": stat.S_IMODE(st.st_mode),
                "uid": st.st_uid,
                "gid": st.st_gid,
            }
        )
    return out


def user_devices(requested: Sequence[DeviceSpec]) -> list[dict]:
    """--device entries as device records (the host node's numbers, mode and owner)."""
    out = []
    for device in requested:
        try:
            st = os.stat(device.host_path)
        except OSError as err:
            reason = (err.strerror or str(err)).lower()
            raise PodError(f"stat {device.host_path}: {reason}") from None
        kind = {stat.S_IFBLK: "b", stat.S_IFCHR: "c"}.get(stat.S_IFMT(st.st_mode))
        if kind is None:
            raise PodError(f"{device.host_path} is not a device")
        out.append(
            {
                "path": device.container_path,
                "type": kind,
                "major": os.major(st.st_rdev),
                "minor": os.minor(st.st_rdev),
                "fileMode": stat.S_IMODE(st.st_mode) | stat.S_IFMT(st.st_mode),
                "uid": st.st_uid,
                "gid": st.st_gid,
                "permissions": device.permissions,
                "host_path": device.host_path,
            }
        )
    return out
