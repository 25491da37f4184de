"""Image config → container defaults, and the image facts `inspect`/`history` show."""

from __future__ import annotations

from pod.store.blobs import BlobStore, load_json_blob
from pod.store.images import ImageRecord
from pod.util.records import dataclass, field


@dataclass
class ImageDefaults:
    """What a container inherits from its image unless the user overrides it."""

    entrypoint: list[str] = field(default_factory=list)
    cmd: list[str] = field(default_factory=list)
    env: list[str] = field(default_factory=list)
    working_dir: str = ""
    user: str = ""
    exposed_ports: list[str] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    stop_signal: str = ""
    healthcheck: dict = field(default_factory=dict)  # HEALTHCHECK, the config's shape


def _strings(value: object) -> list[str]:
    return [str(item) for item in value] if isinstance(value, list) else []


def _mapping(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def image_config(blobs: BlobStore, record: ImageRecord) -> dict:
    return load_json_blob(blobs, record.config_digest)


def config_section(config: dict) -> dict:
    """The image config's `config` object (empty when absent or not an object)."""
    return _mapping(config.get("config"))


def defaults_from_config(config: dict) -> ImageDefaults:
    section = config_section(config)
    labels = _mapping(section.get("Labels"))
    return ImageDefaults(
        entrypoint=_strings(section.get("Entrypoint")),
        cmd=_strings(section.get("Cmd")),
        env=_strings(section.get("Env")),
        working_dir=str(section.get("WorkingDir") or ""),
        user=str(section.get("User") or ""),
        exposed_ports=sorted((section.get("ExposedPorts") or {}).keys()),
        volumes=sorted((section.get("Volumes") or {}).keys()),
        labels={str(k): str(v) for k, v in labels.items()},
        stop_signal=str(section.get("StopSignal") or ""),
        healthcheck=_mapping(section.get("Healthcheck")),
    )
