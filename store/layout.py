"""The one place that knows every path in the store (versioned layout; see DESIGN.md).

Imports nothing at run time: paths are built with the `/` of the Path roots it is given, and
the file names are plain strings, so the shim's small interpreter (C modules only, not even
pathlib) can use them too. That is also why Layout and ContainerPaths are written out rather
than dataclasses (dataclasses pulls in inspect, ast and re).
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing and pathlib stay out of the shim's interpreter
if TYPE_CHECKING:
    from pathlib import Path

LAYOUT_VERSION = 1

# A container's directory, <root>/containers/<id>/ (see ContainerPaths).
CONFIG_FILE = "config.json"  # the OCI bundle's config: the directory is the bundle
RECORD_FILE = "container.json"
STATE_FILE = "state.json"
NETWORK_STATE_FILE = "network.json"
LOG_FILE = "ctr.log"
PID_FILE = "container.pid"
SHIM_PID_FILE = "shim.pid"
SECRETS_DIR = "secrets"
ATTACH_SOCKET = "attach.sock"
SLIRP4NETNS_LOG = "slirp4netns.log"
MOUNT_COUNTS_FILE = "mounts.json"
# A layer's directory, <root>/layers/<chain id>/.
LAYER_DIFF = "diff"
LAYER_META = "meta.json"


class ContainerPaths:
    """The files of one container's directory: the OCI bundle (config.json, the rootfs mounted
    at merged/ from the overlay's upper/ and work/) and pod's own files beside it."""

    __slots__ = ("directory",)

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def __repr__(self) -> str:
        return f"ContainerPaths({self.directory!r})"

    @property
    def config(self) -> Path:
        return self.directory / CONFIG_FILE

    @property
    def record(self) -> Path:
        """pod's record of the container (store.containers.ContainerRecord)."""
        return self.directory / RECORD_FILE

    @property
    def state(self) -> Path:
        """Its life so far (store.containers.ContainerState)."""
        return self.directory / STATE_FILE

    @property
    def network_state(self) -> Path:
        """What the shim set up for its network (pod.network.state)."""
        return self.directory / NETWORK_STATE_FILE

    # --- the root file system: an overlay, or a copy where overlay cannot be used ---
    @property
    def upper(self) -> Path:
        return self.directory / "upper"

    @property
    def work(self) -> Path:
        return self.directory / "work"

    @property
    def merged(self) -> Path:
        return self.directory / "merged"

    @property
    def empty_lower(self) -> Path:
        """The lower dir of an image with no layers (overlayfs needs at least one)."""
        return self.directory / "empty-lower"

    @property
    def lower_links(self) -> Path:
        """Short symlinks to the lower dirs, so long mount options still fit a page."""
        return self.directory / "l"

    @property
    def mount_counts(self) -> Path:
        """How many `pod mount`s hold merged/ mounted (store.mount_counts)."""
        return self.directory / MOUNT_COUNTS_FILE

    @property
    def rootfs_copy(self) -> Path:
        return self.directory / "rootfs-copy"

    @property
    def rootfs_copy_partial(self) -> Path:
        return self.directory / "rootfs-copy.partial"

    # --- files bound over the container's own (pod.container.etc_files) ---
    @property
    def hosts(self) -> Path:
        return self.directory / "hosts"

    @property
    def hostname(self) -> Path:
        return self.directory / "hostname"

    @property
    def resolv_conf(self) -> Path:
        return self.directory / "resolv.conf"

    @property
    def containerenv(self) -> Path:
        return self.directory / ".containerenv"

    @property
    def localtime(self) -> Path:
        """--tz: a copy of the zone's file."""
        return self.directory / "localtime"

    @property
    def passwd(self) -> Path:
        """The image's /etc/passwd with the lines podman adds (--hostuser, keep-id, -u UID)."""
        return self.directory / "passwd"

    @property
    def group(self) -> Path:
        """The image's /etc/group with the lines podman adds (keep-id, -u UID:GID)."""
        return self.directory / "group"

    @property
    def passwd_entries(self) -> Path:
        """A writable rootfs's instead of `passwd`: the entries its own /etc/passwd gets when
        the shim mounts it (pod.container.rootfs_prepare.add_account_entries)."""
        return self.directory / "passwd.entries"

    @property
    def group_entries(self) -> Path:
        """As `passwd_entries`, for /etc/group."""
        return self.directory / "group.entries"

    # --- --mount type=image: each image's layers mounted beside the rootfs ---
    @property
    def image_mounts(self) -> Path:
        return self.directory / "image-mounts"

    def image_mount(self, index: int) -> Path:
        """The directory of the `index`th image mount: merged/, upper/, work/ as the rootfs's."""
        return self.image_mounts / str(index)

    def default_mount(self, index: int) -> Path:
        """A copy of the `index`th --default-mounts-file entry, bound into the container."""
        return self.directory / "default-mounts" / str(index)

    @property
    def mounted_volumes(self) -> Path:
        """The volumes whose filesystems the shim mounted for this container (rootful)."""
        return self.directory / "mounted-volumes"

    @property
    def graph_root(self) -> Path:
        """The store this container directory (Layout.container_dir) belongs to."""
        return self.directory.parent.parent

    # --- the shim's ---
    @property
    def log(self) -> Path:
        """The k8s-file log of the container's output."""
        return self.directory / LOG_FILE

    @property
    def pid_file(self) -> Path:
        return self.directory / PID_FILE

    @property
    def shim_pid_file(self) -> Path:
        """The supervisor's pid, for a systemd unit's PIDFile= (pod.systemd.notify)."""
        return self.directory / SHIM_PID_FILE

    @property
    def secrets(self) -> Path:
        """Where the shim mounts the tmpfs holding the container's secrets while it runs
        (pod.container.secret_files): never a directory on disk."""
        return self.directory / SECRETS_DIR

    @property
    def attach_socket(self) -> Path:
        """Reached through `attach_socket_name` (a socket path must be short)."""
        return self.directory / ATTACH_SOCKET

    @property
    def slirp4netns_log(self) -> Path:
        return self.directory / SLIRP4NETNS_LOG


def attach_socket_name(dir_fd: int) -> str:
    """The attach socket's name through an open fd of its container directory: short whatever
    the store's path (sun_path holds 108 bytes)."""
    return f"/proc/self/fd/{dir_fd}/{ATTACH_SOCKET}"


class Layout:
    """Paths under the graph root (`root`) and the run root (`runroot`)."""

    __slots__ = ("root", "runroot")

    def __init__(self, root: Path, runroot: Path) -> None:
        self.root = root
        self.runroot = runroot

    def __repr__(self) -> str:
        return f"Layout(root={self.root!r}, runroot={self.runroot!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Layout):
            return NotImplemented
        return (self.root, self.runroot) == (other.root, other.runroot)

    def __hash__(self) -> int:
        return hash((self.root, self.runroot))

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

    def blobs_dir(self, algorithm: str = "sha256") -> Path:
        return self.blobs_root / "blobs" / algorithm

    def blob(self, digest: str) -> Path:
        algorithm, _, hexdigest = digest.partition(":")
        return self.blobs_dir(algorithm) / hexdigest

    @property
    def incoming(self) -> Path:
        """Partial downloads, named by digest so a broken transfer can resume with Range; empty
        unless a pull is downloading (or was killed: the next command clears it)."""
        return self.tmp / "incoming"

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
        return self.layer_dir(chain_id) / LAYER_DIFF

    def layer_meta(self, chain_id: str) -> Path:
        return self.layer_dir(chain_id) / LAYER_META

    def layer_mapped(self, chain_id: str, key: str) -> Path:
        """A copy of the layer's diff with its owners moved by one id mapping (rootless
        --userns=nomap|auto): <layer>/mapped/<key>; removed with the layer."""
        return self.layer_dir(chain_id) / "mapped" / key

    @property
    def layer_scratch_root(self) -> Path:
        """Layers being made or removed; empty unless one is (or a killed writer left one),
        so every command can look for leftovers without listing the layers."""
        return self.tmp / "layers"

    def layer_scratch_dir(self, chain_id: str, kind: str, pid: int) -> Path:
        """A layer being made (kind "partial") or removed ("removing"): <chain hex>.<kind>-<pid>,
        a name `kill -9` leftovers are recognised by; renamed to layer_dir when complete."""
        return self.layer_scratch_root / f"{chain_id.removeprefix('sha256:')}.{kind}-{pid}"

    def image_mount(self, image_id: str) -> ContainerPaths:
        """Where `pod image mount` mounts an image read-only: merged/ (and its mounts.json)."""
        return ContainerPaths(self.root / "image-mounts" / image_id)

    # --- image records ---
    @property
    def images_file(self) -> Path:
        """names → manifest digest and image id; the OCI index.json mirrors the names."""
        return self.root / "images.json"

    @property
    def build_cache_file(self) -> Path:
        """Build step results by cache key (store.build_cache); their layers count as used."""
        return self.root / "build-cache.json"

    def build_cache_mount(self, digest: str) -> Path:
        """A `RUN --mount=type=cache` directory, named by the hash of its id."""
        return self.root / "build-mounts" / digest

    @property
    def builds_root(self) -> Path:
        """Working directories of running builds (pod.builder), one per build."""
        return self.root / "build"

    # --- containers and volumes ---
    @property
    def containers_root(self) -> Path:
        return self.root / "containers"

    def container_dir(self, container_id: str) -> Path:
        return self.containers_root / container_id

    def container(self, container_id: str) -> ContainerPaths:
        return ContainerPaths(self.container_dir(container_id))

    def runtime_state_dir(self, runtime_name: str) -> Path:
        """An OCI runtime's state for this store (the `--root` of runc, crun or pod-runtime):
        in the run root, as it does not outlive a boot."""
        return self.runroot / "runtime" / runtime_name

    @property
    def volumes_root(self) -> Path:
        return self.root / "volumes"

    def volume_dir(self, name: str) -> Path:
        return self.volumes_root / name

    def volume_data(self, name: str) -> Path:
        """What containers mount."""
        return self.volume_dir(name) / "_data"

    def volume_record(self, name: str) -> Path:
        return self.volume_dir(name) / "volume.json"

    # --- pods: `<id>.json` records; their infra containers' pause program ---
    @property
    def pods_root(self) -> Path:
        return self.root / "pods"

    def pod_record(self, pod_id: str) -> Path:
        return self.pods_root / f"{pod_id}.json"

    @property
    def pause_program(self) -> Path:
        """pod's own pause executable (pod.pods.pause), bound into infra containers when
        catatonit is not installed; written once, world-readable (it holds no secret)."""
        return self.root / "infra" / "pause"

    # --- secrets: the records in one index, each secret's data in a 0600 file by its id ---
    @property
    def secrets_root(self) -> Path:
        return self.root / "secrets"

    @property
    def secrets_file(self) -> Path:
        return self.secrets_root / "secrets.json"

    @property
    def secrets_data_dir(self) -> Path:
        return self.secrets_root / "data"

    def secret_data(self, secret_id: str) -> Path:
        return self.secrets_data_dir / secret_id

    # --- networks: `<name>.json` records, `ipam/<name>.json` the addresses given out ---
    @property
    def networks_root(self) -> Path:
        return self.root / "networks"

    def network_file(self, name: str) -> Path:
        return self.networks_root / f"{name}.json"

    def network_allocations_file(self, name: str) -> Path:
        return self.networks_root / "ipam" / f"{name}.json"

    @property
    def network_starting_root(self) -> Path:
        """A file per bridge worker at work, naming the bridges it is setting up."""
        return self.runroot / "network-starting"

    @property
    def network_tidy_root(self) -> Path:
        """Host parts (veths, bridges) left for pod.network.setup.tidy to remove."""
        return self.runroot / "network-tidy"

    @property
    def rootless_netns_root(self) -> Path:
        """The rootless network namespace's holder and its use count (pod.network.rootless_netns);
        in the run root: the holder does not outlive a boot."""
        return self.runroot / "rootless-netns"

    @property
    def rootless_netns_holder(self) -> Path:
        return self.rootless_netns_root / "holder.json"

    @property
    def rootless_netns_users(self) -> Path:
        """Shared-locked by each shim whose container uses the namespace."""
        return self.rootless_netns_root / "users.lock"

    @property
    def rootless_netns_lock(self) -> Path:
        """Serialises starting and stopping the namespace."""
        return self.rootless_netns_root / "lock"

    @property
    def rootless_netns_slirp4netns_log(self) -> Path:
        return self.rootless_netns_root / SLIRP4NETNS_LOG

    # --- locks (in the graph root so every process using the store sees the same files) ---
    @property
    def locks_root(self) -> Path:
        return self.root / "locks"

    @property
    def store_lock(self) -> Path:
        return self.locks_root / "store.lock"

    @property
    def containers_lock(self) -> Path:
        """Container names and the set of records."""
        return self.locks_root / "containers.lock"

    def container_lock(self, container_id: str) -> Path:
        return self.locks_root / f"container-{container_id}.lock"

    @property
    def pods_lock(self) -> Path:
        """Pod names and the set of pod records."""
        return self.locks_root / "pods.lock"

    def pod_lock(self, pod_id: str) -> Path:
        """Held shared while a container joins the pod, exclusively while it is removed."""
        return self.locks_root / f"pod-{pod_id}.lock"

    @property
    def volumes_lock(self) -> Path:
        return self.locks_root / "volumes.lock"

    @property
    def networks_lock(self) -> Path:
        """Network records and their address allocations (one lock: create, allocate and
        remove must see each other)."""
        return self.locks_root / "networks.lock"

    @property
    def bridges_lock(self) -> Path:
        """Rootless bridges, their veths and rules (rootful ones: pod.network.hostparts)."""
        return self.locks_root / "bridges.lock"

    def image_mount_lock(self, image_id: str) -> Path:
        return self.locks_root / f"image-mount-{image_id}.lock"

    @property
    def secrets_lock(self) -> Path:
        return self.locks_root / "secrets.lock"

    def layer_lock(self, chain_id: str) -> Path:
        return self.locks_root / f"layer-{chain_id.removeprefix('sha256:')}.lock"

    def blob_lock(self, digest: str) -> Path:
        return self.locks_root / f"blob-{digest.replace(':', '-')}.lock"

    @property
    def version_file(self) -> Path:
        return self.root / "layout-version"


DEFAULT_ROOT_MODE = 0o555  # containers/storage's mode for a root no layer tar sets


def root_dir_mode(layout: Layout, chain_id: str | None) -> int:
    """The mode of a layer's root directory, which a layer on top of it (or a container's
    upper directory) starts with, as containers/storage does: 0555 without a layer below."""
    import os  # loaded in every interpreter already; this module imports nothing on its own

    if chain_id is None:
        return DEFAULT_ROOT_MODE
    try:
        return os.stat(layout.layer_diff(chain_id)).st_mode & 0o7777
    except FileNotFoundError:
        return DEFAULT_ROOT_MODE
