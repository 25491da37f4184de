"""pod.runtime: the low-level runtime (namespaces, user mappings, mounts); runs OCI bundles."""

from __future__ import annotations

from typing import Any


def runtime_for(name: str | None) -> Any:
    """pod's own runtime (None or "pod": pod.runtime.api itself) or an external binary by name
    or path (pod.runtime.external, whose subprocess and shutil pod's own runtime never loads)."""
    if name in (None, "", "pod"):
        from pod.runtime import api

        return api
    from pod.runtime.external import external_runtime

    return external_runtime(str(name))
