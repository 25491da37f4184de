"""The one place that knows every path in the store (versioned layout; see DESIGN.md)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

LAYOUT_VERSION = 1


@dataclass(frozen=True)
class Layout:
    """Paths under the graph root (`root`) and the run root (`runroot`)."""

    root: Path
    runroot: Path

    # --- blobs: an OCI image layout that skopeo and umoci can read directly ---
    @property
    def blobs_root(self) -> Path:
        return self.root / "blobs"

    @property
    def oci_layout_file(self) -> Path:
        return self.blobs_root / "oci-layout"

    @property
    def index_file(self) -> Path:
        return self.blobs_root / "index.json"

    def blob(self, digest: str) -> Path:
        algorithm, _, hexdigest = digest.partition(":")
        return self.blobs_root / "blobs" / algorithm / hexdigest

    @property
    def incoming(self) -> Path:
        """Partial downloads, named by digest so an interrupted transfer can resume with Range."""
        return self.root / "tmp" / "incoming"

    @property
    def tmp(self) -> Path:
        return self.root / "tmp"

    # --- layers: unpacked once per chain id, shared between images ---
    @property
    def layers_root(self) -> Path:
        return self.root / "layers"

    def layer_dir(self, chain_id: str) -> Path:
        return self.layers_root / chain_id.removeprefix("sha256:")

    def layer_diff(self, chain_id: str) -> Path:
        return self.layer_dir(chain_id) / "diff"

    def layer_meta(self, chain_id: str) -> Path:
        return self.layer_dir(chain_id) / "meta.json"

    # --- image records ---
    @property
    def images_file(self) -> Path:
        """names → manifest digest and image id; the OCI index.json mirrors the names."""
        return self.root / "images.json"

    @property
    def build_cache_file(self) -> Path:
        """Build step results by cache key (store.build_cache); their layers count as used."""
        return self.root / "build-cache.json"

    # --- containers and volumes ---
    @property
    def containers_root(self) -> Path:
        return self.root / "containers"

    def container_dir(self, container_id: str) -> Path:
        return self.containers_root / container_id

    @property
    def volumes_root(self) -> Path:
        return self.root / "volumes"

    # --- networks: `<name>.json` records, `ipam/<name>.json` the addresses given out ---
    @property
    def networks_root(self) -> Path:
        return self.root / "networks"

    def network_file(self, name: str) -> Path:
        return self.networks_root / f"{name}.json"

    def network_allocations_file(self, name: str) -> Path:
        return self.networks_root / "ipam" / f"{name}.json"

    @property
    def rootless_netns_root(self) -> Path:
        """The rootless network namespace's holder and its use count (pod.network.rootless_netns);
        in the run root: the holder does not outlive a boot."""
        return self.runroot / "rootless-netns"

    # --- locks (in the graph root so every process using the store sees the same files) ---
    @property
    def locks_root(self) -> Path:
        return self.root / "locks"

    @property
    def store_lock(self) -> Path:
        return self.locks_root / "store.lock"

    @property
    def networks_lock(self) -> Path:
        """Network records and their address allocations (one lock: create, allocate and
        remove must see each other)."""
        return self.locks_root / "networks.lock"

    def layer_lock(self, chain_id: str) -> Path:
        return self.locks_root / f"layer-{chain_id.removeprefix('sha256:')}.lock"

    def blob_lock(self, digest: str) -> Path:
        return self.locks_root / f"blob-{digest.replace(':', '-')}.lock"

    @property
    def version_file(self) -> Path:
        return self.root / "layout-version"
