"""registries.conf v2: search registries, short-name aliases, mirrors, insecure/blocked registries.

Read from the standard containers locations so an existing podman setup carries over, then pod's
own files on top. Standard library only: every pull parses this, and it must stay cheap.

File order (lowest priority first):
  CONTAINERS_REGISTRIES_CONF set: only that file.
  otherwise: /etc/containers/registries.conf (for rootless users replaced by
  $XDG_CONFIG_HOME/containers/registries.conf when that exists, as containers/image does),
  the matching registries.conf.d/*.conf drop-ins (system ones only without a user file, then the
  user's), then /etc/pod/registries.conf and (rootless) $XDG_CONFIG_HOME/pod/registries.conf.

Merging follows containers/image drop-ins: scalar keys and lists are replaced by a later file,
[aliases] merge key by key, and a later [[registry]] replaces an earlier one with the same prefix.

With no unqualified-search-registries configured anywhere, short names resolve to docker.io: pod's
choice, so `pod run busybox` works on a machine without any containers configuration.
"""

from __future__ import annotations

import glob
import os
import sys
from pathlib import Path
from typing import Any

from pod.config import config_home, is_rootless
from pod.errors import PodError, RegistryError
from pod.image.reference import DOCKER_DOMAIN, Reference, parse, qualify
from pod.util.records import dataclass, field

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

SHORT_NAME_MODES = ("enforcing", "permissive", "disabled")
PULL_FROM_MIRROR = ("all", "digest-only", "tag-only")
DEFAULT_SEARCH_REGISTRIES = (DOCKER_DOMAIN,)
SYSTEM_FILE = Path("/etc/containers/registries.conf")
POD_SYSTEM_FILE = Path("/etc/pod/registries.conf")


@dataclass
class Mirror:
    """A [[registry.mirror]]: tried before the primary location when pulling."""

    location: str
    insecure: bool = False
    pull_from_mirror: str = "all"


@dataclass
class Registry:
    """A [[registry]] table; `prefix` selects the references it applies to."""

    prefix: str
    location: str
    insecure: bool = False
    blocked: bool = False
    mirror_by_digest_only: bool = False
    mirrors: list[Mirror] = field(default_factory=list)


@dataclass(frozen=True)
class Endpoint:
    """One place to pull `reference` from (a mirror or the primary location)."""

    reference: Reference
    insecure: bool
    mirror: bool = False

    @property
    def host(self) -> str:
        return self.reference.domain or DOCKER_DOMAIN

    @property
    def repository(self) -> str:
        """The repository path on that host (`library/busybox`)."""
        return self.reference.path


@dataclass
class RegistryConfig:
    """The merged configuration of every registries.conf file read."""

    unqualified_search_registries: list[str] = field(default_factory=list)
    short_name_mode: str = "enforcing"
    aliases: dict[str, str] = field(default_factory=dict)
    registries: list[Registry] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)

    @property
    def search_registries(self) -> list[str]:
        """Where short names are looked up; docker.io when nothing is configured (pod's default)."""
        return self.unqualified_search_registries or list(DEFAULT_SEARCH_REGISTRIES)

    def find(self, name: str) -> Registry | None:
        """The [[registry]] with the longest prefix matching `name` (`host/path`), if any."""
        best: Registry | None = None
        for registry in self.registries:
            if _match_len(name, registry.prefix) < 0:
                continue
            if best is None or len(registry.prefix) > len(best.prefix):
                best = registry
        return best

    def host_is_insecure(self, host: str) -> bool:
        """registries.conf's `insecure` for a bare host (login has no repository)."""
        registry = self.find(host)
        return bool(registry and registry.insecure)

    def resolve_short_name(self, ref: Reference | str) -> list[Reference]:
        """Candidates for a short name: the alias alone if one exists, else each search registry."""
        ref = parse(ref) if isinstance(ref, str) else ref
        if not ref.is_short_name:
            return [ref]
        alias = self.aliases.get(ref.path)
        if alias is not None:
            target = parse(alias)
            return [Reference(target.domain, target.path, ref.tag, ref.digest)]
        return [qualify(host, ref.path, ref.tag, ref.digest) for host in self.search_registries]

    def endpoints_for(self, ref: Reference | str, mirrors: bool = True) -> list[Endpoint]:
        """Mirrors first (when allowed for this reference), then the primary location."""
        ref = parse(ref) if isinstance(ref, str) else ref
        if ref.is_short_name:
            ref = ref.with_domain(DOCKER_DOMAIN)
        name = ref.repository
        registry = self.find(name)
        if registry is None:
            return [Endpoint(ref, insecure=False)]
        if registry.blocked:
            raise RegistryError(f"registry {ref.domain} is blocked in registries.conf")
        endpoints: list[Endpoint] = []
        if mirrors:
            for mirror in registry.mirrors:
                if _mirror_applies(registry, mirror, ref):
                    target = _rewrite(ref, registry.prefix, mirror.location)
                    endpoints.append(Endpoint(target, insecure=mirror.insecure, mirror=True))
        primary = _rewrite(ref, registry.prefix, registry.location) if registry.location else ref
        endpoints.append(Endpoint(primary, insecure=registry.insecure))
        return endpoints


def _match_len(name: str, prefix: str) -> int:
    """How much of `name` the prefix matches (-1: none), as containers/image's refMatchingPrefix.

    `*.example.com` matches any subdomain host and returns the host's length so the rest of the
    name can be appended to a location.
    """
    if prefix.startswith("*."):
        host = name.split("/", 1)[0]
        return len(host) if host.endswith(prefix[1:]) else -1
    if name == prefix:
        return len(prefix)
    if name.startswith(prefix) and name[len(prefix)] in "/:@":
        return len(prefix)
    return -1


def _rewrite(ref: Reference, prefix: str, location: str) -> Reference:
    """Replace the matched prefix of the reference's name with `location`."""
    name = ref.repository
    matched = _match_len(name, prefix)
    if matched < 0:  # pragma: no cover - callers only rewrite matching references
        raise RegistryError(f"reference {name} does not match prefix {prefix}")
    rewritten = location + name[matched:]
    domain, sep, path = rewritten.partition("/")
    if not sep or not path:
        raise RegistryError(f"rewriting {name} with location {location} gives no repository path")
    return qualify(domain, path, ref.tag, ref.digest)


def _mirror_applies(registry: Registry, mirror: Mirror, ref: Reference) -> bool:
    """pull-from-mirror and mirror-by-digest-only: a mirror may serve digests (or tags) only."""
    by_digest = ref.digest is not None
    if registry.mirror_by_digest_only:
        return by_digest
    if mirror.pull_from_mirror == "digest-only":
        return by_digest
    if mirror.pull_from_mirror == "tag-only":
        return not by_digest
    return True


def config_files() -> list[Path]:
    """The registries.conf files to read, lowest priority first (existing or not)."""
    env = os.environ.get("CONTAINERS_REGISTRIES_CONF")
    if env:
        return [Path(env)]
    files: list[Path] = []
    user_file = config_home() / "containers" / "registries.conf"
    if is_rootless() and user_file.exists():
        files.append(user_file)
    else:
        files.append(SYSTEM_FILE)
        files.extend(_drop_ins(SYSTEM_FILE))
    if is_rootless():
        files.extend(_drop_ins(user_file))
    files.append(POD_SYSTEM_FILE)
    if is_rootless():
        files.append(config_home() / "pod" / "registries.conf")
    return files


def _drop_ins(path: Path) -> list[Path]:
    return [Path(p) for p in sorted(glob.glob(f"{path}.d/*.conf"))]


def load(files: list[Path] | None = None) -> RegistryConfig:
    """Read and merge every registries.conf file; missing files are skipped."""
    config = RegistryConfig()
    for path in config_files() if files is None else files:
        data = _read(path)
        if data is None:
            continue
        try:
            _apply(config, data)
        except (TypeError, ValueError, PodError) as err:
            raise PodError(f"loading registries configuration {path}: {err}") from None
        config.files.append(path)
    return config


def _read(path: Path) -> dict[str, Any] | None:
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        return None
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise PodError(f"loading registries configuration {path}: {err}") from None
    if isinstance(data.get("registries"), dict):
        raise PodError(
            f"{path} is in the registries.conf v1 format ([registries.search] ...), which pod "
            "does not read: convert it to v2 (unqualified-search-registries, [[registry]])"
        )
    return data


def _apply(config: RegistryConfig, data: dict[str, Any]) -> None:
    """Overlay one file's settings onto `config` (drop-in semantics)."""
    if "unqualified-search-registries" in data:
        config.unqualified_search_registries = [
            _host(h, "unqualified-search-registries")
            for h in _strings(
                data["unqualified-search-registries"], "unqualified-search-registries"
            )
        ]
    if "short-name-mode" in data:
        mode = data["short-name-mode"]
        if mode not in SHORT_NAME_MODES:
            raise ValueError(f"invalid short-name-mode {mode!r}: use {', '.join(SHORT_NAME_MODES)}")
        config.short_name_mode = mode
    aliases = data.get("aliases", {})
    if not isinstance(aliases, dict):
        raise ValueError("[aliases] must be a table")
    for short, target in aliases.items():
        config.aliases[short] = _alias(short, target)
    tables = data.get("registry", [])
    if not isinstance(tables, list):
        raise ValueError("registry must be an array of tables ([[registry]])")
    for table in tables:
        registry = _registry(table)
        config.registries = [r for r in config.registries if r.prefix != registry.prefix]
        config.registries.append(registry)


def _strings(value: Any, key: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{key} must be a list of strings")
    return value


def _host(value: str, key: str) -> str:
    if "://" in value or "/" in value or not value:
        raise ValueError(f"{key}: {value!r} is not a registry host")
    return value


def _alias(short: str, target: Any) -> str:
    """Keys are short names, values fully-qualified names; neither carries a tag or digest."""
    key = parse(short)
    if not key.is_short_name or key.tag or key.digest:
        raise ValueError(f"alias {short!r} must be a short name without tag or digest")
    if not isinstance(target, str):
        raise ValueError(f"alias {short!r} must be a string")
    ref = parse(target)
    if ref.is_short_name:
        raise ValueError(f"alias {short!r}: {target!r} is not a fully-qualified name")
    if ref.tag or ref.digest:
        raise ValueError(f"alias {short!r}: {target!r} must not contain a tag or digest")
    return target


def _location(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{what} must be a string")
    if "://" in value:
        raise ValueError(f"{what} {value!r} must not contain a scheme (http:// or https://)")
    return value.rstrip("/")


def _flag(table: dict[str, Any], key: str) -> bool:
    value = table.get(key, False)
    if not isinstance(value, bool):
        raise ValueError(f"{key} must be true or false")
    return value


def _registry(table: Any) -> Registry:
    if not isinstance(table, dict):
        raise ValueError("[[registry]] entries must be tables")
    location = _location(table.get("location", ""), "location")
    prefix = _location(table.get("prefix", ""), "prefix")
    if not prefix:
        if not location:
            raise ValueError("[[registry]] needs a location or a prefix")
        prefix = location
    elif not prefix.startswith("*.") and not location:
        location = prefix
    if "*" in prefix and (not prefix.startswith("*.") or "*" in prefix[2:] or "/" in prefix):
        raise ValueError(f"invalid prefix {prefix!r}: wildcards must look like *.example.com")
    mirrors = [_mirror(m) for m in table.get("mirror", [])]
    return Registry(
        prefix=prefix,
        location=location,
        insecure=_flag(table, "insecure"),
        blocked=_flag(table, "blocked"),
        mirror_by_digest_only=_flag(table, "mirror-by-digest-only"),
        mirrors=mirrors,
    )


def _mirror(table: Any) -> Mirror:
    if not isinstance(table, dict) or not table.get("location"):
        raise ValueError("[[registry.mirror]] needs a location")
    pull_from = table.get("pull-from-mirror", "all") or "all"
    if pull_from not in PULL_FROM_MIRROR:
        raise ValueError(
            f"invalid pull-from-mirror {pull_from!r}: use {', '.join(PULL_FROM_MIRROR)}"
        )
    return Mirror(
        location=_location(table["location"], "mirror location"),
        insecure=_flag(table, "insecure"),
        pull_from_mirror=pull_from,
    )


def resolve_short_name(
    ref: Reference | str, config: RegistryConfig | None = None
) -> list[Reference]:
    """Candidates to try for `ref`, in order (see RegistryConfig.resolve_short_name)."""
    return (config or load()).resolve_short_name(ref)


def endpoints_for(
    ref: Reference | str, config: RegistryConfig | None = None, mirrors: bool = True
) -> list[Endpoint]:
    """Where to pull `ref` from: mirrors first, then the primary (blocked registries raise)."""
    return (config or load()).endpoints_for(ref, mirrors=mirrors)
