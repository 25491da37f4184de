"""Paths and settings, read from the same files podman reads so an existing setup carries over.

containers.conf (standard containers locations) is overlaid by pod's own pod.conf; registries.conf
v2 and the auth files are found in podman's order. Nothing here touches the network.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import Any

from pod.errors import PodError
from pod.util.proc_info import unprivileged
from pod.util.records import dataclass, field

STORAGE_DRIVERS = ("overlay", "vfs")


def is_rootless() -> bool:
    return os.geteuid() != 0


def home() -> Path:
    return Path(os.environ.get("HOME") or os.path.expanduser("~"))


def config_home() -> Path:
    return Path(os.environ.get("XDG_CONFIG_HOME") or home() / ".config")


def runtime_dir() -> Path | None:
    """XDG_RUNTIME_DIR when set and usable (rootless users without logind have none)."""
    value = os.environ.get("XDG_RUNTIME_DIR")
    if value and os.path.isdir(value) and os.access(value, os.W_OK | os.X_OK):
        return Path(value)
    return None


def default_root() -> Path:
    if not is_rootless():
        return Path("/var/lib/pod")
    data = os.environ.get("XDG_DATA_HOME") or str(home() / ".local" / "share")
    return Path(data) / "pod"


def default_runroot() -> Path:
    if not is_rootless():
        return Path("/run/pod")
    run = runtime_dir()
    return run / "pod" if run else Path(f"/tmp/pod-{os.geteuid()}")


def _read_toml(path: Path) -> dict[str, Any]:
    if sys.version_info >= (3, 11):  # imported here: most commands never read a file
        import tomllib
    else:  # pragma: no cover - exercised on 3.10 only
        import tomli as tomllib

    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise PodError(f"reading {path}: {err}") from None


def _merge(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    """Merge TOML tables key by key (a later file overrides single keys, not whole tables)."""
    merged = dict(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _conf_files(env_var: str, system: list[Path], user: list[Path]) -> list[Path]:
    """The files to overlay, lowest priority first; an env var names the one file to read.
    The user's own files count in the user's namespace too (`unprivileged`): the rootless
    shim is root there, and must read what its command read (one parse, one cache key)."""
    if os.environ.get(env_var):
        return [Path(os.environ[env_var])]
    files: list[Path] = []
    for path in system + (user if unprivileged() else []):
        files.append(path)
        files.extend(_drop_ins(Path(f"{path}.d")))
    return files


def containers_conf() -> dict[str, Any]:
    """containers.conf from the standard locations, then pod.conf (pod's own settings) on top."""
    system = [
        Path("/usr/share/containers/containers.conf"),
        Path("/etc/containers/containers.conf"),
    ]
    user = [config_home() / "containers" / "containers.conf"]
    files = _conf_files("CONTAINERS_CONF", system, user)
    files += [Path("/etc/pod/pod.conf")] + (
        [config_home() / "pod" / "pod.conf"] if unprivileged() else []
    )
    key = [[str(path), _stamp(path)] for path in files]
    if _parsed.get("key") != key:  # read once per process, again only when a file changed
        _parsed.update(key=key, settings=_parse(files, key))
    return _copied(_parsed["settings"])


def _drop_ins(directory: Path) -> list[Path]:
    """`directory`/*.conf in name order, as glob gives them (no hidden files), without
    glob's imports (fnmatch, re's compiles) on every command."""
    try:
        names = os.listdir(directory)
    except (FileNotFoundError, NotADirectoryError):
        return []
    return [directory / n for n in sorted(names) if n.endswith(".conf") and n[0] != "."]


def _copied(value: Any) -> Any:
    """A deep copy of parsed TOML (tables, arrays, scalars) for the caller to change freely;
    copy.deepcopy's import (copy, weakref) costs every command ~1 ms."""
    if isinstance(value, dict):
        return {key: _copied(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copied(item) for item in value]
    return value


def _parse(files: list[Path], key: list) -> dict[str, Any]:
    """The files merged: from the cache when it holds these very files' parse, else read (and
    then cached)."""
    directory = _own_cache_dir()
    try:
        settings = _cached_parse(directory, key)
        if settings is None:
            settings = {}
            for path in files:
                settings = _merge(settings, _read_toml(path))
            _store_parse(directory, key, settings)
        return settings
    finally:
        if directory is not None:
            os.close(directory)


_parsed: dict[str, Any] = {}  # containers_conf's last result, with its files' stamps


def _stamp(path: Path) -> list[int] | None:
    """What changes when the file does (None: it is missing)."""
    try:
        st = path.stat()
    except OSError:
        return None
    return [st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]


def parse_cache() -> Path:
    """Where the merged containers.conf is kept between commands, with the stamps of the files
    it was read from: parsing them (mostly importing tomllib) cost every command ~4 ms."""
    base = os.environ.get("XDG_CACHE_HOME") or str(home() / ".cache")
    return Path(base) / "pod" / "containers-conf.json"


def _cached_parse(directory: int | None, key: list) -> dict[str, Any] | None:
    """The cached settings when they were read from these very files, else None."""
    import json

    if directory is None:
        return None
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        with os.fdopen(os.open(parse_cache().name, flags, dir_fd=directory), "rb") as handle:
            if not _ours_alone(os.fstat(handle.fileno())):
                return None
            cached = json.load(handle)
    except (OSError, ValueError):
        return None
    if not isinstance(cached, dict) or cached.get("key") != key:
        return None
    settings = cached.get("settings")
    return settings if isinstance(settings, dict) else None


def _store_parse(directory: int | None, key: list, settings: dict[str, Any]) -> None:
    """Keep `settings` for the next command. A cache: any failure only means parsing again, so
    it is written atomically (a reader sees the old file or the new) but not synced."""
    import json

    if directory is None:
        return
    try:
        data = json.dumps({"key": key, "settings": settings}).encode()
    except (TypeError, ValueError):
        return  # TOML dates and times have no JSON form: such files are parsed every time
    name = parse_cache().name
    temp = f".{name}.{os.getpid()}"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        with os.fdopen(os.open(temp, flags, 0o600, dir_fd=directory), "wb") as handle:
            handle.write(data)
        os.replace(temp, name, src_dir_fd=directory, dst_dir_fd=directory)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temp, dir_fd=directory)


def _own_cache_dir() -> int | None:
    """The cache's directory (made when missing), opened without following a link, when it is
    ours alone: root's pod run with another user's HOME (`sudo -E`) must neither trust a file
    that user could write nor write where that user points it."""
    path = parse_cache().parent
    if not os.path.isdir(path):
        with contextlib.suppress(OSError):
            path.mkdir(parents=True, mode=0o700)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    if not _ours_alone(os.fstat(fd)):
        os.close(fd)
        return None
    return fd


def _ours_alone(st: os.stat_result) -> bool:
    return st.st_uid == os.geteuid() and not st.st_mode & 0o022


def firewall_driver() -> str | None:
    """containers.conf's [network] firewall_driver (nftables or iptables), when set."""
    return containers_conf().get("network", {}).get("firewall_driver") or None


CGROUP_MANAGERS = ("cgroupfs", "systemd")
# --storage-opt keys pod acts on (overlay.mount_program, overlay.mountopt) or whose effect it
# has anyway (ignore_chown_errors: rootless owners are collapsed when they cannot be mapped).
STORAGE_OPTS = ("mount_program", "mountopt", "ignore_chown_errors")


@dataclass
class Settings:
    """Everything a command needs to find the store and talk to registries."""

    root: Path
    runroot: Path
    storage_driver: str = "overlay"
    log_level: str = "warn"
    conf: dict[str, Any] = field(default_factory=dict)
    storage_opts: dict[str, str] = field(default_factory=dict)  # --storage-opt, driver prefix off
    cgroup_manager: str = "cgroupfs"
    default_mounts_file: Path | None = None  # --default-mounts-file
    runtime: str | None = None  # --runtime: containers' OCI runtime when create names none

    @property
    def rootless(self) -> bool:
        return is_rootless()


def load_settings(
    root: str | None = None,
    runroot: str | None = None,
    storage_driver: str | None = None,
    log_level: str = "warn",
    *,
    storage_opts: list[str] | None = None,
    volume_path: str | None = None,
    cgroup_manager: str | None = None,
    default_mounts_file: str | None = None,
    runtime: str | None = None,
) -> Settings:
    """Flags win over POD_ROOT/POD_RUNROOT/POD_STORAGE_DRIVER, which win over the defaults.

    `volume_path` must be the store's own volume directory (as podman's database insists)."""
    driver = storage_driver or os.environ.get("POD_STORAGE_DRIVER") or "overlay"
    if driver not in STORAGE_DRIVERS:
        raise PodError(
            f'unknown storage driver "{driver}": use one of {", ".join(STORAGE_DRIVERS)}'
        )
    manager = cgroup_manager or "cgroupfs"
    if manager not in CGROUP_MANAGERS:
        raise PodError(
            "configuring runtime: cgroup manager must be one of cgroupfs and systemd: "
            "invalid argument"
        )
    settings = Settings(
        root=Path(root or os.environ.get("POD_ROOT") or default_root()).absolute(),
        runroot=Path(runroot or os.environ.get("POD_RUNROOT") or default_runroot()).absolute(),
        storage_driver=driver,
        log_level=log_level,
        storage_opts=_storage_opts(driver, storage_opts or []),
        cgroup_manager=manager,
        default_mounts_file=Path(default_mounts_file) if default_mounts_file else None,
        runtime=runtime or None,
    )
    volumes = settings.root / "volumes"
    if volume_path and Path(volume_path).absolute() != volumes:
        raise PodError(
            f'database volume path "{volumes}" does not match our volume path '
            f'"{Path(volume_path).absolute()}": database configuration mismatch'
        )
    return settings


def _storage_opts(driver: str, values: list[str]) -> dict[str, str]:
    """--storage-opt KEY=VALUE (KEY may carry the driver's prefix, as overlay.mount_program)."""
    options = {}
    for value in values:
        key, sep, content = value.partition("=")
        if not sep:
            raise PodError(f"unable to parse key/value option: {value}")
        prefix, dot, name = key.rpartition(".")
        if (dot and prefix != driver) or name not in STORAGE_OPTS:
            raise PodError(f"{driver}: Unknown option {key}")
        options[name] = content
    return options
