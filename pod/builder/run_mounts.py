"""RUN --mount=type=cache|bind|secret|tmpfs → the step container's mounts, confined.

A cache id names a directory under <root>/build-mounts by its sha256, so no id (`../../x`,
`/etc`) can name a path outside that directory (podman 4.3 joins the id to a path); it is
made on first use with the uid, gid and mode asked for, and held as `sharing` says. A bind
source resolves inside the build context (or a --build-context) with every symlink kept
inside it, and is mounted read-only. Secrets are bind-mounted read-only from the file given
with --secret and never reach a layer (their mount points are left out of it).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import posixpath
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from pod.container.options import MountSpec
from pod.errors import PodError
from pod.store.lock import lock_if_free, locked
from pod.store.safepath import resolve_inside
from pod.store.trees import remove_trees
from pod.util.records import dataclass, replace

if TYPE_CHECKING:
    from pod.builder.session import BuildSession, StageRun

_TYPES = ("bind", "cache", "tmpfs", "secret")
_BOOLEAN = ("ro", "readonly", "rw", "readwrite", "required")


def parse(text: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for part in text.split(","):
        name, sep, value = part.strip().partition("=")
        name = name.lower()
        if not sep and name not in _BOOLEAN:
            raise PodError(f'invalid RUN --mount option "{part}" in "{text}"')
        fields[name] = value if sep else "true"
    kind = fields.setdefault("type", "bind")
    if kind not in _TYPES:
        raise PodError(f'unsupported RUN --mount type "{kind}": use bind, cache, tmpfs or secret')
    return fields


def _target(fields: dict[str, str], default: str = "") -> str:
    target = fields.get("target") or fields.get("dst") or fields.get("destination") or default
    if not target:
        raise PodError(f"RUN --mount type={fields['type']} needs a target")
    return posixpath.normpath("/" + target)


def _read_only(fields: dict[str, str], default: bool) -> bool:
    if "rw" in fields or "readwrite" in fields:
        return False
    return default or fields.get("ro") == "true" or fields.get("readonly") == "true"


@dataclass(frozen=True)
class CacheClaim:
    """How a RUN holds a cache while it runs (BuildKit's `sharing`): shared (no lock),
    locked (one RUN at a time) or private (a RUN that finds it in use gets a new empty one)."""

    mount: MountSpec
    sharing: str
    uid: int
    gid: int
    mode: int


def _cache_path(builder: BuildSession, cache_id: str) -> Path:
    """The directory a cache id names: a hash, so it can never leave the cache store."""
    digest = hashlib.sha256(cache_id.encode()).hexdigest()
    return builder.layout.build_cache_mount(digest)


def _new_cache_dir(builder: BuildSession, path: Path, claim: CacheClaim) -> None:
    """Make the cache dir with the owner and mode asked for (rootless: container ids)."""
    path.mkdir(parents=True, mode=0o755)
    os.chmod(path, claim.mode)  # first: after a rootless chown it is no longer ours
    if claim.uid or claim.gid:
        from pod.store.layers import chown_path

        chown_path(path, claim.uid, claim.gid, rootless=builder.settings.rootless)


def _cache(builder: BuildSession, fields: dict[str, str]) -> CacheClaim:
    target = _target(fields)
    sharing = fields.get("sharing", "shared")
    if sharing not in ("shared", "locked", "private"):
        raise PodError(f'invalid RUN --mount sharing "{sharing}": use shared, locked or private')
    try:
        uid, gid = int(fields.get("uid", "0")), int(fields.get("gid", "0"))
        mode = int(fields.get("mode", "755"), 8)
    except ValueError:
        raise PodError(f"invalid RUN --mount uid, gid or mode in {fields}") from None
    source = _cache_path(builder, fields.get("id") or target)
    options = ["ro"] if _read_only(fields, False) else ["rw"]
    return CacheClaim(MountSpec("bind", target, str(source), options), sharing, uid, gid, mode)


def claim(builder: BuildSession, stack: contextlib.ExitStack, mounts: list) -> list[MountSpec]:
    """The mounts for running the step: caches made if new and locked as their sharing says
    (the locks live as long as `stack`); a busy private cache is replaced by an empty one."""
    result: list[MountSpec] = []
    for item in mounts:
        if not isinstance(item, CacheClaim):
            result.append(item)
            continue
        path = Path(item.mount.source)
        lock = path.with_name(path.name + ".lock")
        if item.sharing == "locked":
            stack.enter_context(locked(lock))
        elif item.sharing == "private" and not stack.enter_context(lock_if_free(lock)):
            builder.layout.tmp.mkdir(parents=True, exist_ok=True)
            path = Path(tempfile.mkdtemp(prefix="cache-", dir=builder.layout.tmp)) / "data"
            stack.callback(remove_trees, [path.parent], rootless=builder.settings.rootless)
        if not path.exists():
            with contextlib.suppress(FileExistsError):
                _new_cache_dir(builder, path, item)
        result.append(replace(item.mount, source=str(path)))
    return result


def _bind(builder: BuildSession, fields: dict[str, str]) -> tuple[MountSpec, list]:
    from pod.builder.context import sources_digest

    if not _read_only(fields, True):
        raise PodError("RUN --mount=type=bind,rw is not supported: the mount is read-only")
    origin = fields.get("from")
    if origin and origin not in builder.options.build_contexts:
        raise PodError(
            f'RUN --mount from="{origin}": only the build context or a --build-context can be '
            "mounted (COPY --from copies from stages and images)"
        )
    context = builder.options.build_contexts[origin] if origin else builder.context.root
    source = fields.get("source") or fields.get("src") or "/"
    host = resolve_inside(context, source)
    if not host.exists():
        raise PodError(f'RUN --mount source "{source}" does not exist in the build context')
    from pod.builder.context import BuildContext, IgnoreMatcher

    found = BuildContext(context, IgnoreMatcher([])).sources(source)
    return MountSpec("bind", _target(fields), str(host), ["ro"]), [
        str(context),
        sources_digest(found),
    ]


def _secret(builder: BuildSession, fields: dict[str, str]) -> MountSpec | None:
    secret_id = fields.get("id") or posixpath.basename(fields.get("target", ""))
    if not secret_id:
        raise PodError("RUN --mount=type=secret needs an id")
    source = builder.options.secrets.get(secret_id)
    if source is None:
        if fields.get("required") == "true":
            raise PodError(
                f'secret "{secret_id}" is required: give it with --secret id={secret_id},src=PATH'
            )
        return None
    return MountSpec("bind", _target(fields, f"/run/secrets/{secret_id}"), str(source), ["ro"])


def resolve(builder: BuildSession, state: StageRun, specs: list[str]) -> tuple[list, list]:
    """The mounts for a RUN (caches as CacheClaims, see `claim`) and what of them belongs in
    its cache key."""
    mounts: list = []
    key: list = []
    for text in specs:
        fields = parse(text)
        kind = fields["type"]
        if kind == "cache":
            cache = _cache(builder, fields)
            mounts.append(cache)
            key.append(["cache", cache.mount.destination])
        elif kind == "bind":
            mount, content = _bind(builder, fields)
            mounts.append(mount)
            key.append(["bind", mount.destination, content])
        elif kind == "tmpfs":
            size = fields.get("size")
            mounts.append(MountSpec("tmpfs", _target(fields), "", [f"size={size}"] if size else []))
            key.append(["tmpfs", mounts[-1].destination])
        else:
            secret = _secret(builder, fields)
            if secret is not None:
                mounts.append(secret)
                key.append(["secret", secret.destination])
    return mounts, key
