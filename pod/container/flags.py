"""Parsing of `run`/`create` flag values into RunOptions parts (pure, unit-tested).

Each parser raises UsageError (exit 125) with podman's style of message on bad input.
"""

from __future__ import annotations

import ipaddress
import json
import os
from pathlib import Path

from pod.container.options import MountSpec
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
            lines = Path(path).read_text().splitlines()
        except OSError as err:
            raise UsageError(f"reading env file {path}: {err.strerror}") from None
        result += [line for line in (_env_entry(raw.strip(), host) for raw in lines) if line]
    for value in values:
        entry = _env_entry(value, host)
        if entry:
            result.append(entry)
    return result


def _env_entry(text: str, host: dict[str, str]) -> str | None:
    if not text or text.startswith("#"):
        return None
    name, sep, _ = text.partition("=")
    if not name:
        raise UsageError(f'invalid environment variable "{text}": the name must not be empty')
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
