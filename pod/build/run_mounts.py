"""RUN --mount=type=cache|bind|secret|tmpfs → the step container's mounts, confined.

A cache id names a directory under <root>/build-mounts by its sha256, so no id (`../../x`,
`/etc`) can name a path outside that directory (podman 4.3 joins the id to a path). A bind
source resolves inside the build context (or a --build-context) with every symlink kept
inside it, and is mounted read-only. Secrets are bind-mounted read-only from the file given
with --secret and never reach a layer (their mount points are left out of it).
"""

from __future__ import annotations

import hashlib
import os
import posixpath
from typing import TYPE_CHECKING

from pod.errors import PodError
from pod.run_options import MountSpec
from pod.store.safepath import resolve_inside

if TYPE_CHECKING:
    from pod.build.executor import Builder, StageRun

CACHE_DIR = "build-mounts"
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


def cache_dir(builder: Builder, cache_id: str) -> str:
    """The directory a cache id names: a hash, so it can never leave the cache store."""
    digest = hashlib.sha256(cache_id.encode()).hexdigest()
    path = builder.layout.root / CACHE_DIR / digest
    path.mkdir(parents=True, exist_ok=True, mode=0o755)
    return str(path)


def _cache(builder: Builder, fields: dict[str, str]) -> MountSpec:
    target = _target(fields)
    if fields.get("sharing", "shared") != "shared":
        raise PodError(
            f'RUN --mount sharing "{fields["sharing"]}" is not supported: caches are shared'
        )
    source = cache_dir(builder, fields.get("id") or target)
    uid, gid = int(fields.get("uid", "0")), int(fields.get("gid", "0"))
    if (uid or gid) and not builder.settings.rootless:
        os.chown(source, uid, gid)
    elif uid or gid:
        raise PodError("RUN --mount=type=cache,uid=/gid= is not supported rootless")
    if "mode" in fields:
        os.chmod(source, int(fields["mode"], 8))
    options = ["ro"] if _read_only(fields, False) else ["rw"]
    return MountSpec("bind", target, source, options)


def _bind(builder: Builder, fields: dict[str, str]) -> tuple[MountSpec, list]:
    from pod.build.context import sources_digest

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
    from pod.build.context import BuildContext, IgnoreMatcher

    found = BuildContext(context, IgnoreMatcher([])).sources(source)
    return MountSpec("bind", _target(fields), str(host), ["ro"]), [
        str(context),
        sources_digest(found),
    ]


def _secret(builder: Builder, fields: dict[str, str]) -> MountSpec | None:
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


def resolve(builder: Builder, state: StageRun, specs: list[str]) -> tuple[list[MountSpec], list]:
    """The mounts for a RUN and what of them belongs in its cache key."""
    mounts: list[MountSpec] = []
    key: list = []
    for text in specs:
        fields = parse(text)
        kind = fields["type"]
        if kind == "cache":
            mounts.append(_cache(builder, fields))
            key.append(["cache", mounts[-1].destination])
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
