"""The image a build stage is making: its layers, its config document and its cache key."""

from __future__ import annotations

import copy
import hashlib

from pod.image import manifest as mf
from pod.image.writer import ImageLayer, canonical_json, image_layers
from pod.store.blobs import BlobStore, load_json_blob
from pod.store.images import ImageRecord
from pod.store.layout import Layout
from pod.util.records import dataclass, field

# Config fields a built image keeps from its base (the rest is history, rootfs and dates).
_KEPT = ("architecture", "os", "variant", "config", "history", "author")


def step_key(parent: str, *parts: object) -> str:
    """A cache key: the parent state's key and what this step does, hashed."""
    return hashlib.sha256(canonical_json([parent, *parts])).hexdigest()


@dataclass
class WorkingImage:
    """Mutable while a stage runs; `key` names the state for the build cache."""

    key: str
    layers: list[ImageLayer] = field(default_factory=list)
    config: dict = field(default_factory=dict)
    shell: list[str] = field(default_factory=lambda: ["/bin/sh", "-c"])
    cmd_set: bool = False  # CMD given in this stage (ENTRYPOINT then keeps it)

    @classmethod
    def scratch(cls) -> WorkingImage:
        platform = mf.host_platform()
        config: dict = {"architecture": platform.architecture, "os": platform.os, "config": {}}
        if platform.variant:
            config["variant"] = platform.variant
        return cls(key=step_key("", "scratch"), config=config)

    @classmethod
    def from_image(cls, layout: Layout, record: ImageRecord) -> WorkingImage:
        stored = load_json_blob(BlobStore(layout), record.config_digest)
        config = {name: copy.deepcopy(stored[name]) for name in _KEPT if name in stored}
        config.setdefault("config", {})
        shell = config["config"].get("Shell") or ["/bin/sh", "-c"]
        return cls(
            key=step_key("", "image", record.id),
            layers=image_layers(layout, record),
            config=config,
            shell=list(shell),
        )

    def copy(self) -> WorkingImage:
        return WorkingImage(
            self.key, list(self.layers), copy.deepcopy(self.config), list(self.shell), False
        )

    @property
    def section(self) -> dict:
        """The `config` object (Env, Cmd, ...), created on first use."""
        return self.config.setdefault("config", {})

    @property
    def chain_ids(self) -> list[str]:
        return [layer.chain_id for layer in self.layers]

    @property
    def diff_ids(self) -> list[str]:
        return [layer.diff_id for layer in self.layers]

    def layer_dirs(self, layout: Layout) -> list:
        """The unpacked layers, top first (what LayerView and overlay's lowerdir want)."""
        return [layout.layer_diff(chain) for chain in reversed(self.chain_ids)]

    def env(self) -> dict[str, str]:
        pairs = (item.partition("=") for item in self.section.get("Env") or [])
        return {key: value for key, _, value in pairs}

    def set_env(self, key: str, value: str) -> None:
        """Replace KEY in place or append it, as Docker keeps Env ordered."""
        entries = list(self.section.get("Env") or [])
        for i, item in enumerate(entries):
            if item.partition("=")[0] == key:
                entries[i] = f"{key}={value}"
                break
        else:
            entries.append(f"{key}={value}")
        self.section["Env"] = entries

    def add_history(self, created: str, created_by: str, empty: bool) -> None:
        entry: dict = {"created": created, "created_by": created_by}
        if empty:
            entry["empty_layer"] = True
        self.config.setdefault("history", []).append(entry)

    def as_record(self) -> ImageRecord:
        """A stand-in image record for a RUN step's container (never stored)."""
        return ImageRecord(
            id=self.key,
            manifest_digest="",
            manifest_media_type="",
            manifest_size=0,
            config_digest="",
            layer_digests=[layer.digest for layer in self.layers],
            chain_ids=self.chain_ids,
            size=sum(layer.size for layer in self.layers),
            created="",
        )
