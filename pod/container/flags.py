"""Parsing of `run`/`create` flag values into RunOptions parts (pure, unit-tested).

Each parser raises UsageError (exit 125) with podman's style of message on bad input.
"""

from __future__ import annotations

import ipaddress
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from pod.container.options import DeviceSpec, MountSpec, SecretRequest
from pod.errors import UsageError

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


def _env_entry(text: str, host: dict[str, str], source: str) -> str | None:
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
    if kind not in ("bind", "volume", "tmpfs"):
        raise UsageError(f'invalid mount type "{kind}" in "{text}": use bind, volume or tmpfs')
    destination = next((fields.pop(k) for k in ("destination", "dst", "target") if k in fields), "")
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


def parse_tmpfs(text: str) -> MountSpec:
    """`--tmpfs /dir[:opts]`."""
    destination, _, opts = text.partition(":")
    options = [o for o in opts.split(",") if o] or ["rw", "noexec", "nosuid", "nodev"]
    return MountSpec("tmpfs", _destination(destination, text), "", options)


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
    """`--dns IP` (repeatable); "none" writes no nameserver at all, as podman."""
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
    """--security-opt values: seccomp profile, no_new_privs, and the list as given."""

    seccomp_profile: str = ""
    no_new_privileges: bool = False
    given: list[str] = field(default_factory=list)


_TRUE = ("", "true", "1")
_FALSE = ("false", "0")
# Accepted and without effect here, as podman on a host without SELinux or AppArmor.
_LABEL_KEYS = ("user", "role", "type", "level", "filetype")


def parse_security_opts(values: list[str]) -> SecurityOptions:
    """podman's --security-opt: seccomp=unconfined|PROFILE, no-new-privileges[=true|false],
    label=disable|nested|user:…|role:…|type:…|level:…|filetype:…, apparmor=…, mask=…, unmask=…
    (the last four have nothing to act on in pod: no SELinux, no AppArmor profiles)."""
    parsed = SecurityOptions(given=list(values))
    for number, value in enumerate(values, 1):
        key, sep, content = value.partition("=")
        if not sep and ":" in value:
            key, _, content = value.partition(":")
        if key == "seccomp" and content:
            parsed.seccomp_profile = content
        elif key == "no-new-privileges" and content.lower() in _TRUE + _FALSE:
            parsed.no_new_privileges = content.lower() in _TRUE
        elif not _without_effect(key, content):
            raise UsageError(f'invalid --security-opt {number}: "{value}"')
    return parsed


def _without_effect(key: str, content: str) -> bool:
    if key == "label":
        return content in ("disable", "nested") or content.partition(":")[0] in _LABEL_KEYS
    return key in ("apparmor", "mask", "unmask", "proc-opts", "systempaths") and bool(content)


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
    if not container.startswith("/"):
        raise UsageError(f"{container} is not an absolute path")
    return DeviceSpec(host, container, permissions)


def _is_permissions(text: str) -> bool:
    return bool(text) and len(text) <= 3 and set(text) <= set("rwm")


def parse_device_cgroup_rule(value: str) -> str:
    """`--device-cgroup-rule 'TYPE MAJOR:MINOR ACCESS'` (a, b or c; * for any number)."""
    fields = value.split()
    if len(fields) != 3 or fields[1].count(":") != 1:
        raise UsageError(f"invalid device cgroup rule: {value!r}: use 'TYPE MAJOR:MINOR ACCESS'")
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
