"""Parsing of `run`/`create` flag values into RunOptions parts (pure, unit-tested).

Each parser raises UsageError (exit 125) with podman's style of message on bad input.
"""

from __future__ import annotations

import ipaddress
import json
import os
from collections.abc import Mapping
from pathlib import Path

from pod.container.options import DeviceSpec, LogSettings, MountSpec, SecretRequest
from pod.container.resource_flags import size_in_bytes
from pod.errors import UsageError
from pod.util.records import dataclass, field

VOLUME_OPTIONS = set(
    [
        "ro",
        "rw",
        "z",
        "Z",
        "U",
        "O",
        "nosuid",
        "suid",
        "nodev",
        "dev",
        "noexec",
        "exec",
        "rbind",
        "bind",
        "private",
        "rprivate",
        "shared",
        "rshared",
        "slave",
        "rslave",
    ]
)


def parse_env(
    values: list[str], env_files: list[str], host_env: dict[str, str] | None = None
) -> list[str]:
    """--env-file entries first, then -e; `-e VAR` (no `=`) takes VAR from the host, as podman."""
    host = os.environ if host_env is None else host_env
    result: list[str] = []
    for path in env_files:
        try:
            lines = Path(path).read_text(encoding="utf-8").split("\n")
        except OSError as err:
            raise UsageError(f"reading env file {path}: {err.strerror}") from None
        except UnicodeDecodeError:
            raise UsageError(f"reading env file {path}: it is not UTF-8 text") from None
        entries = (_env_entry(raw.strip(), host, f"env file {path}") for raw in lines)
        result += [line for line in entries if line]
    for value in values:
        entry = _env_entry(value, host, "--env")
        if entry:
            result.append(entry)
    return result


def _env_entry(text: str, host: Mapping[str, str], source: str) -> str | None:
    if not text or text.startswith("#"):
        return None
    name, sep, _ = text.partition("=")
    if not name:
        raise UsageError(f'invalid environment variable "{text}": the name must not be empty')
    if "\0" in text:
        # No process environment can hold a NUL: the runtime would fail to start it (126).
        # The value is not shown: it may be a secret.
        shown = name.replace("\0", "\\x00")
        raise UsageError(f'{source}: environment variable "{shown}" contains a NUL byte')
    if sep:
        return text
    if name.endswith("*"):
        prefix = name[:-1]
        matches = [f"{k}={v}" for k, v in host.items() if k.startswith(prefix)]
        return "\n".join(matches) or None
    return f"{name}={host[name]}" if name in host else None


def expand_env(entries: list[str]) -> list[str]:
    """Split entries that a `VAR*` wildcard expanded into several."""
    return [item for entry in entries for item in entry.split("\n")]


def check_workdir(path: str | None) -> str | None:
    """--workdir must be absolute, as a mount's container path must (podman's wording)."""
    if path and not path.startswith("/"):
        raise UsageError(f'invalid workdir "{path}", must be an absolute path')
    return path


def parse_volume(text: str) -> MountSpec:
    """`-v [SRC:]DST[:OPTS]`: SRC a host path (absolute or ./relative) or a volume name."""
    parts = text.split(":")
    if len(parts) > 3 or not all(parts):
        raise UsageError(f'incorrect volume format "{text}", should be [host-dir:]ctr-dir[:option]')
    options: list[str] = []
    if len(parts) == 3 or (len(parts) == 2 and not parts[1].startswith("/")):
        options = parts.pop().split(",")
        for option in options:
            if option not in VOLUME_OPTIONS:
                raise UsageError(f'invalid option "{option}" for volume "{text}"')
    if len(parts) == 1:
        return MountSpec("volume", _destination(parts[0], text), "", options)
    source, destination = parts
    if source.startswith(("/", "./", "../")) or source in (".", ".."):
        return MountSpec(
            "bind", _destination(destination, text), str(Path(source).absolute()), options
        )
    return MountSpec("volume", _destination(destination, text), source, options)


def _destination(path: str, text: str) -> str:
    if not path.startswith("/"):
        raise UsageError(f'invalid container path "{path}" in "{text}": it must be absolute')
    return os.path.normpath(path)


def parse_mount(text: str) -> MountSpec:
    """`--mount type=bind|volume|tmpfs,source=…,destination=…,ro,…` as podman takes it."""
    fields: dict[str, str] = {}
    flags: list[str] = []
    for item in text.split(","):
        key, sep, value = item.partition("=")
        key = key.strip()
        if sep:
            fields[key] = value
        elif key:
            flags.append(key)
    kind = fields.pop("type", "")
    if kind == "devpts":
        return _devpts_mount(fields, flags, text)
    if kind == "image":
        return _image_mount(fields, flags, text)
    if kind not in ("bind", "volume", "tmpfs"):
        raise UsageError(f'invalid filesystem type "{kind}"')
    destination = _target(fields)
    source = next((fields.pop(k) for k in ("source", "src") if k in fields), "")
    if not destination:
        raise UsageError(f'mount "{text}" has no destination')
    options = [
        f
        for f in flags
        if f in ("ro", "readonly", "rw", "nosuid", "nodev", "noexec", "z", "Z", "U")
    ]
    options = ["ro" if f == "readonly" else f for f in options]
    for key in ("readonly", "ro"):
        if fields.pop(key, "false").lower() in ("true", "1"):
            options.append("ro")
    if kind == "tmpfs":
        for key in ("tmpfs-size", "tmpfs-mode"):
            if key in fields:
                options.append(f"{key.removeprefix('tmpfs-')}={fields.pop(key)}")
    if kind == "bind":
        if not source:
            raise UsageError(f'bind mount "{text}" has no source')
        source = str(Path(source).absolute())
    for key in ("bind-propagation", "relabel", "consistency", "bind-nonrecursive"):
        fields.pop(key, None)
    if fields:
        raise UsageError(f'unknown mount option "{next(iter(fields))}" in "{text}"')
    return MountSpec(kind, _destination(destination, text), source, options)


def _target(fields: dict[str, str]) -> str:
    return next((fields.pop(k) for k in ("destination", "dst", "target") if k in fields), "")


_DEVPTS_OPTIONS = ("uid", "gid", "mode", "max", "ptmxmode")


def _devpts_mount(fields: dict[str, str], flags: list[str], text: str) -> MountSpec:
    """`--mount type=devpts,destination=DIR[,uid=,gid=,mode=,max=]`: a new devpts instance."""
    destination = _target(fields)
    unknown = [*flags, *(key for key in fields if key not in _DEVPTS_OPTIONS)]
    if unknown:
        raise UsageError(f"{unknown[0]}: invalid mount option")
    if not destination:
        raise UsageError("must set volume destination")
    options = [f"{key}={value}" for key, value in fields.items()]
    return MountSpec("devpts", _destination(destination, text), "devpts", options)


def _image_mount(fields: dict[str, str], flags: list[str], text: str) -> MountSpec:
    """`--mount type=image,source=IMAGE,destination=DIR[,rw=true]`: an image's files, read-only
    unless rw (then the changes go to the container's directory)."""
    destination = _target(fields)
    source = next((fields.pop(k) for k in ("source", "src") if k in fields), "")
    writable = any(fields.pop(key, "false").lower() in ("true", "1") for key in ("rw", "readwrite"))
    unknown = [*flags, *fields]
    if unknown:
        raise UsageError(f"{unknown[0]}: invalid mount option")
    if not source or not destination:
        raise UsageError("must set source and destination for image volume")
    return MountSpec("image", _destination(destination, text), source, ["rw" if writable else "ro"])


def parse_tmpfs(text: str) -> MountSpec:
    """`--tmpfs /dir[:opts]`."""
    destination, _, opts = text.partition(":")
    options = [o for o in opts.split(",") if o]  # spec.tmpfs_options adds podman's defaults
    return MountSpec("tmpfs", _destination(destination, text), "", options)


def parse_mounts(volumes: list[str], mounts: list[str], tmpfs: list[str]) -> list[MountSpec]:
    """-v, --mount and --tmpfs together, as podman takes them: the same -v or --tmpfs given
    twice counts once; two mounts on one destination are refused."""
    parsed = [parse_volume(v) for v in dict.fromkeys(volumes)]
    parsed += [parse_mount(m) for m in mounts]
    parsed += [parse_tmpfs(t) for t in dict.fromkeys(tmpfs)]
    seen: set[str] = set()
    for mount in parsed:
        if mount.destination in seen:
            raise UsageError(f"{mount.destination}: duplicate mount destination")
        seen.add(mount.destination)
    return parsed


def parse_labels(values: list[str]) -> dict[str, str]:
    labels: dict[str, str] = {}
    for value in values:
        key, _, content = value.partition("=")
        if not key:
            raise UsageError(f'invalid label "{value}"')
        labels[key] = content
    return labels


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def parse_add_host(value: str) -> str:
    """`--add-host HOST:IP` (IPv6 addresses keep their colons), checked as podman does."""
    host, sep, address = value.partition(":")
    if not sep or not host or not address:
        raise UsageError(f'invalid add-host "{value}": use HOST:IP')
    if not _is_ip(address):
        raise UsageError(f'invalid IP address in add-host: "{address}"')
    return f"{host}:{address}"


def parse_dns(values: list[str]) -> list[str]:
    """`--dns IP` (repeatable); "none" alone: no /etc/resolv.conf is made (the image's stays),
    as podman."""
    if "none" in values and len(values) > 1:
        raise UsageError("none is not allowed to be specified with other DNS ip addresses")
    for value in values:
        if value != "none" and not _is_ip(value):
            raise UsageError(f"{value} is not an ip address")
    return list(values)


def parse_entrypoint(value: str | None) -> list[str] | None:
    """`--entrypoint CMD` or a JSON array; `""` clears the image's entrypoint."""
    if value is None:
        return None
    if value.startswith("["):
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            parsed = None
        if isinstance(parsed, list) and all(isinstance(p, str) for p in parsed):
            return parsed
    return [value] if value else []


@dataclass
class SecurityOptions:
    """--security-opt values: seccomp profile, no_new_privs, the paths masked and unmasked,
    /proc's mount options, and the list as given (inspect derives podman's view from it)."""

    seccomp_profile: str = ""
    no_new_privileges: bool = False
    mask: list[str] = field(default_factory=list)
    unmask: list[str] = field(default_factory=list)
    proc_opts: list[str] = field(default_factory=list)
    given: list[str] = field(default_factory=list)


# Go's strconv.ParseBool, which podman reads no-new-privileges=VALUE with.
_TRUE = ("1", "t", "T", "TRUE", "true", "True")
_FALSE = ("0", "f", "F", "FALSE", "false", "False")


def _split_security_opt(value: str) -> tuple[str, str, bool]:
    """KEY=VALUE, or Docker's older KEY:VALUE when there is no "=" (podman's own split)."""
    key, sep, content = value.partition("=" if "=" in value else ":")
    return key, content, bool(sep)


def parse_security_opts(values: list[str]) -> SecurityOptions:
    """podman's --security-opt: seccomp=unconfined|PROFILE, no-new-privileges[=BOOL],
    mask=PATHS, unmask=ALL|PATHS (globs), systempaths=unconfined, proc-opts=OPTIONS, and
    label=… and apparmor=unconfined, which have nothing to act on here (no SELinux, no
    AppArmor: another AppArmor profile is refused, as podman refuses it on such a host).
    The error numbers are podman's: 1 for no value, 2 for an unknown key or a bad value."""
    parsed = SecurityOptions(given=list(values))
    for value in values:
        key, content, has_value = _split_security_opt(value)
        if not has_value and key != "no-new-privileges":
            raise UsageError(f'invalid --security-opt 1: "{value}"')
        if key == "seccomp":
            parsed.seccomp_profile = content
        elif key == "no-new-privileges":
            if has_value and content not in _TRUE + _FALSE:
                raise UsageError(f'invalid --security-opt 2: "{value}"')
            parsed.no_new_privileges = not has_value or content in _TRUE
        elif key == "mask":
            parsed.mask += [path for path in content.split(":") if path]
        elif key == "unmask":
            parsed.unmask += [path for path in content.split(":") if path]
        elif key == "systempaths":
            if content != "unconfined":
                raise UsageError(
                    f'invalid systempaths option "{content}", only `unconfined` is supported'
                )
            parsed.unmask.append("ALL")
        elif key == "proc-opts":
            parsed.proc_opts = [option for option in content.split(",") if option]
        elif key == "apparmor":
            if content not in ("", "unconfined"):
                raise UsageError(
                    f'apparmor profile "{content}" specified, but Apparmor is not enabled on '
                    "this system"
                )
        elif key != "label":
            raise UsageError(f'invalid --security-opt 2: "{value}"')
    return parsed


def parse_device(value: str) -> DeviceSpec:
    """`--device HOST[:CONTAINER][:PERMISSIONS]` (podman's ParseDevice)."""
    parts = value.split(":")
    host, container, permissions = parts[0], parts[0], "rwm"
    if len(parts) > 3 or not host:
        raise UsageError(f"invalid device specification: {value}")
    if len(parts) == 3:
        container, permissions = parts[1], parts[2]
    elif len(parts) == 2:
        if _is_permissions(parts[1]):
            permissions = parts[1]
        else:
            container = parts[1]
    if not _is_permissions(permissions):
        raise UsageError(f"invalid device mode: {permissions}")
    if not container.startswith("/"):  # podman's words: a relative path is taken for a mode
        raise UsageError(f"invalid device mode: {container}")
    return DeviceSpec(host, container, permissions)


def _is_permissions(text: str) -> bool:
    return bool(text) and len(text) <= 3 and set(text) <= set("rwm")


def parse_device_cgroup_rule(value: str) -> str:
    """`--device-cgroup-rule 'TYPE MAJOR:MINOR ACCESS'` (a, b or c; * for any number)."""
    fields = value.split()
    if len(fields) != 3 or fields[1].count(":") != 1:
        raise UsageError(
            f'invalid device cgroup rule requires type, major:Minor, and access rules: "{value}"'
        )
    kind, numbers, access = fields
    if kind not in ("a", "b", "c"):
        raise UsageError(f"invalid device type in device-access-add: {kind}")
    for number in numbers.split(":"):
        if number != "*" and not number.isdigit():
            raise UsageError(f"invalid major/minor number in device-access-add: {number}")
    for char in access:
        if char not in "rwm":
            raise UsageError(f"invalid device access in device-access-add: {char}")
    return value


def parse_annotations(values: list[str]) -> dict[str, str]:
    """`--annotation KEY=VALUE` (repeatable), as podman checks it."""
    annotations: dict[str, str] = {}
    for value in values:
        key, sep, content = value.partition("=")
        if not sep or not key:
            raise UsageError("annotations must be formatted KEY=VALUE")
        annotations[key] = content
    return annotations


def parse_label_files(paths: list[str]) -> dict[str, str]:
    """`--label-file FILE`: one KEY=VALUE a line, `#` comments and blank lines skipped; a line
    without `=` is dropped (podman does the same)."""
    labels: dict[str, str] = {}
    for path in paths:
        try:
            text = Path(path).read_text()
        except OSError as err:
            reason = (err.strerror or str(err)).lower()
            raise UsageError(f"unable to process labels: open {path}: {reason}") from None
        for raw in text.splitlines():
            line = raw.strip()
            key, sep, content = line.partition("=")
            if line and not line.startswith("#") and sep and key:
                labels[key] = content
    return labels


# kernel parameters a container may set in its own namespaces (podman's list)
_IPC_SYSCTLS = (
    "kernel.msgmax",
    "kernel.msgmnb",
    "kernel.msgmni",
    "kernel.sem",
    "kernel.shmall",
    "kernel.shmmax",
    "kernel.shmmni",
    "kernel.shm_rmid_forced",
)


def parse_sysctls(values: list[str], *, network_host: bool, ipc_host: bool) -> dict[str, str]:
    """`--sysctl KEY=VALUE`: the IPC ones podman allows, fs.mqueue.*, and net.* (neither in
    the host's namespace)."""
    sysctls: dict[str, str] = {}
    for value in values:
        key, sep, content = value.partition("=")
        if not sep or not key:
            raise UsageError(f"{value} is invalid, sysctl values must be in the form of KEY=VALUE")
        if key.startswith("net."):
            if network_host:
                raise UsageError(
                    f"sysctl {value} can't be set since Network Namespace set to host: "
                    "invalid argument"
                )
        elif key in _IPC_SYSCTLS or key.startswith("fs.mqueue."):
            if ipc_host:
                raise UsageError(
                    f"sysctl {value} can't be set since IPC Namespace set to host: invalid argument"
                )
        else:
            raise UsageError(f"sysctl '{key}' is not allowed")
        sysctls[key] = content
    return sysctls


def parse_group_add(values: list[str]) -> list[str]:
    """`--group-add GROUP|GID|keep-groups`; keep-groups stands alone, as podman requires."""
    if "keep-groups" in values and len(values) > 1:
        raise UsageError(
            "the '--group-add keep-groups' option is not allowed with any other --group-add options"
        )
    for value in values:
        if not value:
            raise UsageError("invalid --group-add: a group name or GID is needed")
    return list(values)


STREAMS = ("stdin", "stdout", "stderr")


def parse_attach(values: list[str]) -> list[str]:
    """`-a stdin|stdout|stderr` (any case, repeatable)."""
    streams = []
    for value in values:
        stream = value.lower()
        if stream not in STREAMS:
            raise UsageError(
                f'invalid stream "{value}" for --attach - must be one of stdin, stdout, or '
                "stderr: invalid argument"
            )
        streams.append(stream)
    return list(dict.fromkeys(streams))


def parse_volumes_from(values: list[str]) -> list[str]:
    """`--volumes-from CONTAINER[:OPTIONS]`: options from z, ro, rw (checked here; the
    container is found at create)."""
    for value in values:
        name, _, options = value.partition(":")
        if not name:
            raise UsageError(f'invalid --volumes-from "{value}": a container is needed')
        for option in filter(None, options.split(",")):
            if option not in ("z", "ro", "rw"):
                raise UsageError(
                    f'invalid option "{option}" specified - volumes from another container can '
                    "only use z,ro,rw options"
                )
    return list(values)


def parse_preserve_fds(value: int) -> int:
    """--preserve-fds N: fds 3..N+2 must be open here to be passed on."""
    for fd in range(3, 3 + value):
        try:
            os.fstat(fd)
        except OSError:
            raise UsageError(
                f"file descriptor {fd} is not available - the preserve-fds option requires that "
                "file descriptors must be passed"
            ) from None
    return value


def parse_log_opts(values: list[str]) -> LogSettings:
    """`--log-opt max-size=SIZE|path=PATH|tag=TAG`; other keys are accepted and ignored, a
    value without `=` refused, as podman does. Sizes are decimal (go-units FromHumanSize)."""
    path, max_size, tag = None, None, ""
    for value in values:
        key, sep, content = value.partition("=")
        if not sep:
            raise UsageError(f'invalid log option "{value}"')
        if key == "max-size":
            size = size_in_bytes(content, 1000)
            if size is None:
                raise UsageError(f"invalid size: '{content}'")
            max_size = int(size)
        elif key == "path":
            path = str(Path(content).absolute())
        elif key == "tag":
            tag = content
    return LogSettings(path, max_size, tag)


ZONEINFO = Path("/usr/share/zoneinfo")


def parse_timezone(value: str | None) -> str | None:
    """`--tz ZONE` (a name under /usr/share/zoneinfo) or `local` (the host's /etc/localtime)."""
    if not value:
        return None
    if value != "local":
        zone = ZONEINFO / value.lstrip("/")
        if ".." in Path(value).parts or not zone.is_file():
            raise UsageError(
                f"running container create option: stat {zone}: no such file or directory"
            )
    return value


def parse_platform(platform: str | None, os_name: str | None, arch: str | None,
                   variant: str | None) -> str:  # fmt: skip
    """--platform, or --os/--arch/--variant over the host's: "os/arch[/variant]"; "" when
    none is given (the host's, and any local image will do)."""
    if platform and (os_name or arch):
        raise UsageError("--platform option can not be specified with --arch or --os")
    if not (platform or os_name or arch or variant):
        return ""
    from pod.image import manifest

    wanted = manifest.parse_platform(platform, arch, variant)
    if os_name:
        wanted = manifest.Platform(os_name, wanted.architecture, wanted.variant)
    return str(wanted)


def parse_secret(value: str) -> SecretRequest:
    """`--secret NAME[,type=mount|env][,target=...][,uid=][,gid=][,mode=]` (podman's rules:
    uid, gid and mode are for mounts only; the name may also be given as source=)."""
    parts = value.split(",")
    source = ""
    if "=" not in parts[0]:
        source, parts = parts[0], parts[1:]
    fields: dict[str, str] = {"type": "", "target": ""}
    numbers = {"uid": 0, "gid": 0, "mode": 0o444}
    mount_only = False
    for part in parts:
        key, sep, content = part.partition("=")
        if not sep:
            raise UsageError(f"option {part} must be in form option=value: parsing secret")
        key = key.lower() if key in ("UID", "GID") else key
        if key == "source":
            source = content
        elif key == "type":
            if fields["type"]:
                raise UsageError("cannot set more than one secret type: parsing secret")
            if content not in ("mount", "env"):
                raise UsageError(f"type {content} is invalid: parsing secret")
            fields["type"] = content
        elif key == "target":
            fields["target"] = content
        elif key in numbers:
            mount_only = True
            numbers[key] = _secret_number(key, content)
        else:
            raise UsageError(f"option {part} invalid: parsing secret")
    kind = fields["type"] or "mount"
    if not source:
        raise UsageError(f"no source found {value}: parsing secret")
    if kind == "env" and mount_only:
        raise UsageError(
            "UID, GID, Mode options cannot be set with secret type env: parsing secret"
        )
    return SecretRequest(source, kind, fields["target"], numbers["uid"], numbers["gid"],
                         numbers["mode"])  # fmt: skip


def _secret_number(key: str, text: str) -> int:
    try:
        number = int(text, 8 if key == "mode" else 10)
    except ValueError:
        number = -1
    if not 0 <= number < 2**32:
        name = key if key == "mode" else key.upper()
        raise UsageError(f"{name} {text} invalid: parsing secret")
    return number
