"""What the user asked `pod build` for: one record the executor reads. No I/O here."""

from __future__ import annotations

from pathlib import Path

from pod.container.options import MountSpec, Ulimit
from pod.image.access import RegistryAccess
from pod.util.records import dataclass, field

PULL_POLICIES = ("missing", "always", "never", "newer")


def pull_policy(value: str, always: bool = False, never: bool = False) -> str:
    """build's --pull as podman reads it: true/always, false/missing, never, newer (anything
    else is missing, as podman takes it); --pull-always and --pull-never win."""
    if always:
        return "always"
    if never:
        return "never"
    lowered = value.lower()
    if lowered in PULL_POLICIES:
        return lowered
    return "always" if lowered == "true" else "missing"


@dataclass
class BuildOptions:
    containerfile_text: str
    containerfile_name: str  # as errors name it: the path given, or "Containerfile"
    context: Path  # the build context directory (an empty one for `pod build - < file`)
    containerfile_path: Path | None = None  # for <file>.containerignore next to it
    tags: list[str] = field(default_factory=list)
    build_args: dict[str, str] = field(default_factory=dict)
    target: str | None = None
    no_cache: bool = False
    layers: bool = True  # --layers=false: no cache lookups
    pull: str = "missing"
    quiet: bool = False
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    image_format: str = "oci"
    network: str | None = None  # --network for RUN; None: the default (private)
    timestamp: int | None = None  # --timestamp or SOURCE_DATE_EPOCH
    secrets: dict[str, Path] = field(default_factory=dict)  # --secret id=ID,src=PATH
    env: list[str] = field(default_factory=list)  # --env: set in the image
    volumes: list[MountSpec] = field(default_factory=list)  # --volume for RUN
    build_contexts: dict[str, Path] = field(default_factory=dict)  # --build-context name=path
    runtime: str | None = None  # RUN steps' OCI runtime (pod's own by default)
    squash: bool = False  # the final stage's new layers as one
    squash_all: bool = False  # the whole image as one layer
    access: RegistryAccess = field(default_factory=RegistryAccess)  # pulling base images
    ignore_file: Path | None = None  # --ignorefile: instead of the context's own
    ulimits: list[Ulimit] = field(default_factory=list)  # RUN steps' --ulimit
    cache_ttl: float | None = None  # --cache-ttl: seconds a cached step stays usable

    @property
    def cache_enabled(self) -> bool:
        return self.layers and not self.no_cache
