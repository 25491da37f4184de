"""What the user asked for in `pod run` / `pod create`: one record the whole pipeline shares.

Commands parse flags into a RunOptions; pod.container_create turns it (with the image's
defaults) into a container record and an OCI bundle via pod.spec. Nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class MountSpec:
    """One `-v`, `--mount` or `--tmpfs` request, already parsed."""

    type: str  # "bind", "volume" or "tmpfs"
    destination: str
    source: str = ""  # host path (bind) or volume name (volume; "" = anonymous)
    options: list[str] = field(default_factory=list)  # ro, rw, z, Z, U, nosuid, size=..., ...

    @property
    def read_only(self) -> bool:
        return "ro" in self.options or "readonly" in self.options


@dataclass
class RunOptions:
    """Every `run`/`create` flag pod supports, with podman's defaults."""

    image: str
    command: list[str] = field(default_factory=list)
    name: str | None = None
    detach: bool = False
    interactive: bool = False
    tty: bool = False
    remove: bool = False
    env: list[str] = field(default_factory=list)  # KEY=VALUE, already merged from --env-file/-e
    workdir: str | None = None
    user: str | None = None  # user[:group] as given
    entrypoint: list[str] | None = None  # None: image's; [] (from --entrypoint "") clears it
    hostname: str | None = None
    add_hosts: list[str] = field(default_factory=list)  # host:ip
    mounts: list[MountSpec] = field(default_factory=list)
    read_only: bool = False
    cap_add: list[str] = field(default_factory=list)
    cap_drop: list[str] = field(default_factory=list)
    privileged: bool = False
    no_new_privileges: bool = False
    userns: str | None = None  # None, "keep-id", "host"
    init: bool = False
    init_path: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    runtime: str | None = None  # None: pod's own; "runc", "crun" or a path
    log_driver: str = "k8s-file"
    cidfile: str | None = None
    replace: bool = False
    network: str = "private"  # "private", "none" or "host" (the networking issue adds more)
    pull: str = "missing"
    sig_proxy: bool = True
    stop_signal: str | None = None
    stop_timeout: int = 10
