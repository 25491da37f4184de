"""Build the integration tests' images from /bin/busybox and push them with raw HTTP.

Everything is reproducible: tar members in a fixed order with a fixed mtime and no user names,
gzip with mtime 0, JSON with sorted keys. Each image is also written as an OCI layout directory
(`oci:<dir>:latest`) so skopeo or umoci can serve as an oracle.

The hostile images aim every attack at a sentinel directory made for the session (never at a real
system file); `HostileSet` tells whether the sentinel was touched.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import platform
import re
import shutil
import subprocess
import tarfile
import textwrap
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import requests

MT_OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MT_OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
MT_OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
MT_OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
MT_DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
MT_DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MT_DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
MT_DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"

MANIFEST_TYPES = (MT_OCI_MANIFEST, MT_OCI_INDEX, MT_DOCKER_MANIFEST, MT_DOCKER_LIST)
ACCEPT_ALL = ", ".join(MANIFEST_TYPES)

FIXED_MTIME = 1704067200  # 2024-01-01T00:00:00Z
CREATED = "2024-01-01T00:00:00Z"
PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

GOARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "ppc64le": "ppc64le"}


def native_arch() -> str:
    machine = platform.machine()
    return GOARCH.get(machine, machine)


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def canonical_json(obj) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


# --------------------------------------------------------------------------------------------
# tar layers


@dataclass(frozen=True)
class Entry:
    """One tar member. `kind` is file, dir, symlink, hardlink or raw (pre-built header bytes)."""

    name: str
    kind: str = "file"
    data: bytes = b""
    mode: int | None = None
    uid: int = 0
    gid: int = 0
    linkname: str = ""
    raw: bytes = b""


def File(name: str, data: bytes | str = b"", mode: int = 0o644, uid: int = 0, gid: int = 0):  # noqa: N802
    return Entry(name, "file", data.encode() if isinstance(data, str) else data, mode, uid, gid)


def Dir(name: str, mode: int = 0o755, uid: int = 0, gid: int = 0) -> Entry:  # noqa: N802
    return Entry(name, "dir", mode=mode, uid=uid, gid=gid)


def Symlink(name: str, target: str) -> Entry:  # noqa: N802
    return Entry(name, "symlink", mode=0o777, linkname=target)


def Hardlink(name: str, target: str) -> Entry:  # noqa: N802
    return Entry(name, "hardlink", mode=0o644, linkname=target)


_KINDS = {
    "file": tarfile.REGTYPE,
    "dir": tarfile.DIRTYPE,
    "symlink": tarfile.SYMTYPE,
    "hardlink": tarfile.LNKTYPE,
}


def build_tar(entries: Iterable[Entry], *, sort: bool = True, end: bool = True) -> bytes:
    """An uncompressed tar of `entries`: sorted by name (normal layers) or in the given order.

    With `end=False` the archive stops right after the last member (no end-of-archive blocks).
    """
    entries = list(entries)
    if sort:
        entries.sort(key=lambda e: e.name)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for entry in entries:
            if entry.kind == "raw":
                tar.fileobj.write(entry.raw)
                tar.offset += len(entry.raw)
                continue
            info = tarfile.TarInfo(entry.name)
            info.type = _KINDS[entry.kind]
            info.mode = entry.mode if entry.mode is not None else 0o644
            info.uid, info.gid = entry.uid, entry.gid
            info.uname = info.gname = ""
            info.mtime = FIXED_MTIME
            info.linkname = entry.linkname
            if entry.kind == "file":
                info.size = len(entry.data)
                tar.addfile(info, io.BytesIO(entry.data))
            else:
                tar.addfile(info)
        unterminated = buf.getvalue()
    return buf.getvalue() if end else unterminated


def gzip_bytes(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=6, mtime=0)


def zstd_bytes(data: bytes) -> bytes:
    import zstandard

    return zstandard.ZstdCompressor(level=3, write_content_size=True).compress(data)


# --------------------------------------------------------------------------------------------
# images in memory


@dataclass(frozen=True)
class Blob:
    media_type: str
    data: bytes = field(repr=False)
    digest: str = ""
    size: int | None = None  # what the manifest claims; None = the real size

    def __post_init__(self):
        if not self.digest:
            object.__setattr__(self, "digest", sha256_digest(self.data))

    def descriptor(self) -> dict:
        size = len(self.data) if self.size is None else self.size
        return {"mediaType": self.media_type, "digest": self.digest, "size": size}


@dataclass
class BuiltImage:
    """A manifest (or index) with its exact bytes and every blob it needs."""

    media_type: str
    manifest: bytes
    config: Blob | None = None
    layers: list[Blob] = field(default_factory=list)
    diff_ids: list[str] = field(default_factory=list)
    children: dict[str, BuiltImage] = field(default_factory=dict)  # "linux/amd64" -> image

    @property
    def digest(self) -> str:
        return sha256_digest(self.manifest)

    @property
    def config_json(self) -> dict | None:
        return json.loads(self.config.data) if self.config else None

    def blobs(self) -> list[Blob]:
        out: list[Blob] = []
        for child in self.children.values():
            out.extend(child.blobs())
        if self.config:
            out.append(self.config)
        out.extend(self.layers)
        return out


def image_config(
    diff_ids: list[str],
    *,
    arch: str | None = None,
    labels: dict | None = None,
    cmd: list[str] | None = None,
    env: list[str] | None = None,
    workdir: str = "",
    exposed: dict | None = None,
    user: str = "",
) -> dict:
    config: dict = {"Env": env if env is not None else [PATH_ENV]}
    if cmd is not None:
        config["Cmd"] = cmd
    if workdir:
        config["WorkingDir"] = workdir
    if labels:
        config["Labels"] = labels
    if exposed:
        config["ExposedPorts"] = exposed
    if user:
        config["User"] = user
    return {
        "created": CREATED,
        "architecture": arch or native_arch(),
        "os": "linux",
        "config": config,
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [
            {"created": CREATED, "created_by": f"pod test image builder: layer {i + 1}"}
            for i in range(len(diff_ids))
        ],
    }


@dataclass(frozen=True)
class Layer:
    """An uncompressed tar and how to ship it."""

    tar: bytes = field(repr=False)
    compression: str = "gzip"  # gzip, zstd or none

    @property
    def diff_id(self) -> str:
        return sha256_digest(self.tar)

    def blob(self, docker: bool = False) -> Blob:
        if docker:
            return Blob(MT_DOCKER_LAYER, gzip_bytes(self.tar))
        if self.compression == "zstd":
            return Blob(MT_OCI_LAYER_ZSTD, zstd_bytes(self.tar))
        if self.compression == "none":
            return Blob(MT_OCI_LAYER, self.tar)
        return Blob(MT_OCI_LAYER_GZIP, gzip_bytes(self.tar))


def make_image(
    layers: list[Layer],
    config: dict | None = None,
    *,
    docker: bool = False,
    blobs: list[Blob] | None = None,
    **config_kwargs,
) -> BuiltImage:
    """A single-platform image; pass `blobs` to ship layer blobs other than `layers` make."""
    diff_ids = [layer.diff_id for layer in layers]
    if config is None:
        config = image_config(diff_ids, **config_kwargs)
    config_blob = Blob(MT_DOCKER_CONFIG if docker else MT_OCI_CONFIG, canonical_json(config))
    layer_blobs = blobs if blobs is not None else [layer.blob(docker) for layer in layers]
    manifest = {
        "schemaVersion": 2,
        "mediaType": MT_DOCKER_MANIFEST if docker else MT_OCI_MANIFEST,
        "config": config_blob.descriptor(),
        "layers": [b.descriptor() for b in layer_blobs],
    }
    return BuiltImage(
        media_type=manifest["mediaType"],
        manifest=canonical_json(manifest),
        config=config_blob,
        layers=layer_blobs,
        diff_ids=diff_ids,
    )


def make_index(children: dict[str, BuiltImage], *, docker: bool = False) -> BuiltImage:
    manifests = []
    for plat, child in children.items():
        os_name, _, arch = plat.partition("/")
        arch, _, variant = arch.partition("/")
        desc = {"mediaType": child.media_type, "digest": child.digest, "size": len(child.manifest)}
        desc["platform"] = {"architecture": arch, "os": os_name}
        if variant:
            desc["platform"]["variant"] = variant
        manifests.append(desc)
    index = {
        "schemaVersion": 2,
        "mediaType": MT_DOCKER_LIST if docker else MT_OCI_INDEX,
        "manifests": manifests,
    }
    return BuiltImage(
        media_type=index["mediaType"], manifest=canonical_json(index), children=dict(children)
    )


def write_oci_layout(image: BuiltImage, directory: Path, tag: str = "latest") -> Path:
    """Write `image` as an OCI image layout; `oci:<directory>:<tag>` names it for skopeo."""
    blobs_dir = directory / "blobs" / "sha256"
    blobs_dir.mkdir(parents=True, exist_ok=True)

    def put(data: bytes) -> None:
        path = blobs_dir / hashlib.sha256(data).hexdigest()
        if not path.exists():
            path.write_bytes(data)

    def put_image(img: BuiltImage) -> None:
        for child in img.children.values():
            put_image(child)
        put(img.manifest)
        if img.config:
            put(img.config.data)
        for layer in img.layers:
            put(layer.data)

    put_image(image)
    (directory / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    index = {
        "schemaVersion": 2,
        "mediaType": MT_OCI_INDEX,
        "manifests": [
            {
                "mediaType": image.media_type,
                "digest": image.digest,
                "size": len(image.manifest),
                "annotations": {"org.opencontainers.image.ref.name": tag},
            }
        ],
    }
    (directory / "index.json").write_bytes(canonical_json(index))
    return directory


# --------------------------------------------------------------------------------------------
# a raw registry client (requests only)


class RegistryClient:
    """Just enough of the distribution API to push and fetch, with Basic and Bearer auth.

    On a 401 it follows the challenge: Basic → sends the credentials; Bearer → asks the realm for
    a token for the challenged scope (with the credentials when it has them) and retries once.
    """

    def __init__(
        self,
        base_url: str,
        *,
        username: str | None = None,
        password: str | None = None,
        verify: bool | str = True,
        timeout: float = 60,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.username, self.password = username, password
        self.session = requests.Session()
        self.verify = verify  # per request: a session's verify loses to REQUESTS_CA_BUNDLE
        self.timeout = timeout
        self._bearer: dict[str, str] = {}  # scope -> token
        self._basic = False

    def _auth_headers(self, scope: str | None) -> dict:
        if scope is not None and scope in self._bearer:
            return {"Authorization": "Bearer " + self._bearer[scope]}
        return {}

    def request(self, method: str, url: str, *, scope: str | None = None, **kwargs):
        if not url.startswith(("http://", "https://")):
            url = self.base_url + url
        kwargs.setdefault("timeout", self.timeout)
        kwargs.setdefault("verify", self.verify)
        headers = dict(kwargs.pop("headers", {}) or {})
        auth = (self.username, self.password) if self._basic and self.username else None
        resp = self.session.request(
            method, url, headers={**headers, **self._auth_headers(scope)}, auth=auth, **kwargs
        )
        if resp.status_code != 401:
            return resp
        challenge = resp.headers.get("WWW-Authenticate", "")
        kind = challenge.split(" ", 1)[0].lower()
        params = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
        if kind == "basic" and self.username:
            self._basic = True
            auth = (self.username, self.password)
        elif kind == "bearer":
            wanted = params.get("scope", scope or "")
            token = self.fetch_token(params["realm"], params.get("service"), wanted)
            self._bearer[scope or wanted] = token
            headers["Authorization"] = "Bearer " + token
            auth = None
        else:
            return resp
        data = kwargs.get("data")
        if hasattr(data, "seek"):
            data.seek(0)
        return self.session.request(method, url, headers=headers, auth=auth, **kwargs)

    def fetch_token(self, realm: str, service: str | None, scope: str) -> str:
        params = {}
        if service:
            params["service"] = service
        if scope:
            params["scope"] = scope
        auth = (self.username, self.password) if self.username else None
        resp = self.session.get(
            realm, params=params, auth=auth, timeout=self.timeout, verify=self.verify
        )
        resp.raise_for_status()
        body = resp.json()
        return body.get("token") or body["access_token"]

    @staticmethod
    def _scope(repo: str, push: bool = False) -> str:
        return f"repository:{repo}:pull,push" if push else f"repository:{repo}:pull"

    def ping(self) -> requests.Response:
        return self.request("GET", "/v2/")

    def blob_exists(self, repo: str, digest: str) -> bool:
        resp = self.request("HEAD", f"/v2/{repo}/blobs/{digest}", scope=self._scope(repo))
        return resp.status_code == 200

    def push_blob(self, repo: str, data: bytes, digest: str | None = None) -> str:
        digest = digest or sha256_digest(data)
        scope = self._scope(repo, push=True)
        if self.request("HEAD", f"/v2/{repo}/blobs/{digest}", scope=scope).status_code == 200:
            return digest
        resp = self.request("POST", f"/v2/{repo}/blobs/uploads/", scope=scope)
        if resp.status_code != 202:
            raise RuntimeError(f"blob upload start for {repo}: {resp.status_code} {resp.text}")
        location = urllib.parse.urljoin(self.base_url + "/", resp.headers["Location"])
        sep = "&" if "?" in location else "?"
        resp = self.request(
            "PUT",
            f"{location}{sep}digest={urllib.parse.quote(digest)}",
            scope=scope,
            data=data,
            headers={"Content-Type": "application/octet-stream"},
        )
        if resp.status_code != 201:
            raise RuntimeError(f"blob upload {digest} to {repo}: {resp.status_code} {resp.text}")
        return digest

    def push_manifest(self, repo: str, reference: str, data: bytes, media_type: str) -> str:
        resp = self.request(
            "PUT",
            f"/v2/{repo}/manifests/{reference}",
            scope=self._scope(repo, push=True),
            data=data,
            headers={"Content-Type": media_type},
        )
        if resp.status_code != 201:
            raise RuntimeError(f"manifest {repo}:{reference}: {resp.status_code} {resp.text}")
        return resp.headers.get("Docker-Content-Digest") or sha256_digest(data)

    def push_image(self, image: BuiltImage, repo: str, tag: str | None = "latest") -> str:
        """Push every blob, child manifests by digest, then the manifest by tag (or digest)."""
        for child in image.children.values():
            self.push_image(child, repo, None)
        for blob in ([image.config] if image.config else []) + image.layers:
            self.push_blob(repo, blob.data, blob.digest)
        return self.push_manifest(repo, tag or image.digest, image.manifest, image.media_type)

    def get_manifest(self, repo: str, reference: str, accept: str = ACCEPT_ALL):
        return self.request(
            "GET",
            f"/v2/{repo}/manifests/{reference}",
            scope=self._scope(repo),
            headers={"Accept": accept},
        )

    def get_blob(self, repo: str, digest: str):
        return self.request("GET", f"/v2/{repo}/blobs/{digest}", scope=self._scope(repo))


def served_manifest(host: str, repo: str, reference: str) -> requests.Response:
    """The manifest the plain-HTTP registry at `host` serves for an image (OCI or Docker
    v2s2, as a pull of one platform asks for it); it must be there."""
    accept = f"{MT_OCI_MANIFEST}, {MT_DOCKER_MANIFEST}"
    resp = RegistryClient(f"http://{host}", timeout=10).get_manifest(repo, reference, accept)
    assert resp.status_code == 200, resp.text
    return resp


# --------------------------------------------------------------------------------------------
# what the tests get back


@dataclass(frozen=True)
class PushedImage:
    """An image as pushed: its reference, digests and the exact bytes the registry serves."""

    name: str
    host: str
    repo: str
    tag: str
    digest: str  # manifest (or index) digest, "sha256:..."
    media_type: str
    manifest: bytes = field(repr=False)
    config_digest: str | None  # for an index: None (see .id)
    config: dict | None = field(repr=False)
    layers: tuple[dict, ...]  # descriptors as in the manifest
    diff_ids: tuple[str, ...]
    oci_layout_dir: Path
    children: dict[str, PushedImage] = field(default_factory=dict, repr=False)

    @property
    def ref(self) -> str:
        return f"{self.host}/{self.repo}:{self.tag}"

    @property
    def digest_ref(self) -> str:
        return f"{self.host}/{self.repo}@{self.digest}"

    @property
    def oci_ref(self) -> str:
        return f"oci:{self.oci_layout_dir}:{self.tag}"

    @property
    def id(self) -> str:
        """The image id (config digest hex, as podman shows); for an index, the native child's."""
        if self.config_digest:
            return self.config_digest.split(":", 1)[1]
        child = self.children.get(f"linux/{native_arch()}")
        return child.id if child else ""

    def __str__(self) -> str:
        return self.ref


@dataclass
class HostileSet:
    """The hostile images and the sentinel every attack aims at.

    `sentinel_dir` is a world-writable directory outside any store (so a rootless run could
    write there too if pod were vulnerable). It starts with `sentinel_files`; an attack that
    worked changes a file, deletes one, or adds one (pwned, dotdot-pwned, ...). The shallow `../`
    attacks write a file named `escape_marker` a few levels above the extraction directory, which
    stays inside the test's tmp dir: `find_escapes(tmp)` finds it.
    """

    sentinel_dir: Path
    sentinel_files: dict[str, bytes]
    escape_marker: str
    images: dict[str, PushedImage] = field(default_factory=dict)

    def __getitem__(self, name: str) -> PushedImage:
        return self.images[name]

    def __iter__(self):
        return iter(self.images)

    def reset(self) -> None:
        """Restore the sentinel to its pristine state."""
        if self.sentinel_dir.is_symlink() or self.sentinel_dir.is_file():
            self.sentinel_dir.unlink()
        if self.sentinel_dir.exists():
            shutil.rmtree(self.sentinel_dir)
        self.sentinel_dir.mkdir(parents=True)
        self.sentinel_dir.chmod(0o777)
        for rel, content in self.sentinel_files.items():
            path = self.sentinel_dir / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.parent.chmod(0o777)
            path.write_bytes(content)
            path.chmod(0o666)

    def changes(self) -> list[str]:
        """What differs from the pristine sentinel (empty when untouched)."""
        problems = []
        if self.sentinel_dir.is_symlink() or not self.sentinel_dir.is_dir():
            return [f"{self.sentinel_dir} is no longer a directory"]
        expected = set(self.sentinel_files)
        expected_dirs = {str(Path(rel).parent) for rel in expected} - {"."}
        for dirpath, dirnames, filenames in os.walk(self.sentinel_dir):
            for name in dirnames + filenames:
                path = Path(dirpath, name)
                rel = str(path.relative_to(self.sentinel_dir))
                if rel in expected_dirs and path.is_dir() and not path.is_symlink():
                    continue
                if rel not in expected:
                    problems.append(f"unexpected {path}")
                elif path.is_symlink() or not path.is_file():
                    problems.append(f"{path} is no longer a regular file")
                elif path.read_bytes() != self.sentinel_files[rel]:
                    problems.append(f"{path} was modified")
        for rel in expected:
            if not os.path.lexists(self.sentinel_dir / rel):
                problems.append(f"{self.sentinel_dir / rel} was deleted")
        return problems

    def assert_untouched(self) -> None:
        problems = self.changes()
        assert not problems, "hostile image reached the sentinel: " + "; ".join(problems)

    def find_escapes(self, *tops: Path, ignore_under: Iterable[Path] = ()) -> list[Path]:
        """Files named `escape_marker` anywhere under `tops` (symlinks not followed), except
        under `ignore_under` (e.g. the layer's own dir, for an extractor that clamps `..`)."""
        ignored = [Path(p).resolve() for p in ignore_under]
        found = []
        for top in tops:
            for dirpath, dirnames, filenames in os.walk(top):
                for name in dirnames + filenames:
                    path = Path(dirpath, name)
                    if name == self.escape_marker and not any(
                        path.resolve().is_relative_to(i) for i in ignored
                    ):
                        found.append(path)
        return found


@dataclass
class ImageSet:
    """What the `test_images` fixture returns."""

    host: str
    url: str
    busybox: PushedImage
    layered: PushedImage
    multiarch: PushedImage
    zstd: PushedImage
    docker: PushedImage
    dockerlist: PushedImage
    hostile: HostileSet
    applets: tuple[str, ...]
    layered_expected: dict
    busybox_files: dict  # notable paths in the busybox image
    oci_dir: Path

    @property
    def all(self) -> dict[str, PushedImage]:
        images = {
            name: getattr(self, name)
            for name in ("busybox", "layered", "multiarch", "zstd", "docker", "dockerlist")
        }
        images.update({f"hostile/{name}": img for name, img in self.hostile.images.items()})
        return images

    def __getitem__(self, name: str) -> PushedImage:
        return self.all[name]


# --------------------------------------------------------------------------------------------
# the test images


def busybox_applets(busybox: Path) -> list[str]:
    out = subprocess.run([str(busybox), "--list"], capture_output=True, text=True, check=True)
    return sorted({a for a in out.stdout.split() if a and a != "busybox" and "/" not in a})


PASSWD = (
    "root:x:0:0:root:/root:/bin/sh\n"
    "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
    "tester:x:1000:1000:tester:/home/tester:/bin/sh\n"
)
GROUP = "root:x:0:\nnogroup:x:65534:\ntester:x:1000:\n"

BUSYBOX_FILES = {
    "owned_by_tester": "/home/tester/owned.txt",  # 1000:1000, 0644
    "setuid": "/usr/bin/setuid-file",  # 04755
    "setgid": "/usr/bin/setgid-file",  # 02755
    "sticky_tmp": "/tmp",  # 01777
    "workdir": "/root",
}


def busybox_rootfs(busybox: Path, applets: list[str]) -> list[Entry]:
    entries = [
        Dir("bin"), Dir("dev"), Dir("etc"), Dir("home"), Dir("proc"), Dir("root", 0o700),
        Dir("run"), Dir("sbin"), Dir("sys"), Dir("tmp", 0o1777), Dir("usr"), Dir("usr/bin"),
        Dir("usr/sbin"), Dir("usr/local"), Dir("usr/local/bin"), Dir("var"),
        Dir("var/tmp", 0o1777),
        File("bin/busybox", busybox.read_bytes(), 0o755),
        File("etc/passwd", PASSWD), File("etc/group", GROUP),
        File("etc/shadow", "root:*:19000:0:99999:7:::\n", 0o640),
        Dir("home/tester", 0o755, 1000, 1000),
        File("home/tester/owned.txt", "owned by tester\n", 0o644, 1000, 1000),
        File("usr/bin/setuid-file", "#!/bin/sh\necho setuid\n", 0o4755),
        File("usr/bin/setgid-file", "#!/bin/sh\necho setgid\n", 0o2755),
    ]  # fmt: skip
    entries += [Symlink(f"bin/{applet}", "busybox") for applet in applets]
    return entries


def busybox_layer(busybox: Path, applets: list[str]) -> Layer:
    return Layer(build_tar(busybox_rootfs(busybox, applets)))


def many_layers_image(count: int, busybox: Path = Path("/bin/busybox")) -> BuiltImage:
    """busybox and `count` layers more, each adding /extra/f<N> holding "<N>\n": for a
    container whose overlay mount takes a long list of lower directories."""
    layers = [busybox_layer(busybox, busybox_applets(busybox))]
    layers += [
        Layer(build_tar([Dir("extra"), File(f"extra/f{n}", f"{n}\n")])) for n in range(count)
    ]
    return make_image(layers, busybox_config([layer.diff_id for layer in layers]))


def busybox_config(diff_ids: list[str], arch: str | None = None, labels: dict | None = None):
    return image_config(
        diff_ids,
        arch=arch,
        cmd=["sh"],
        env=[PATH_ENV, "POD_TEST_IMAGE=busybox"],
        workdir=BUSYBOX_FILES["workdir"],
        labels={"org.opencontainers.image.title": "pod-test-busybox", **(labels or {})},
        exposed={"80/tcp": {}},
    )


LAYERED_EXPECTED = {
    # path -> content of regular files that must be in the final rootfs
    "files": {
        "/data/keep.txt": "keep\n",
        "/data/dir/nested.txt": "nested\n",
        "/data/opaque/new.txt": "new in layer 3\n",
        "/data/layer3.txt": "layer 3\n",
        "/data/link-a.txt": "linked\n",
        "/data/link-b.txt": "linked\n",  # a hardlink to link-a.txt, in the same layer
    },
    "absent": [
        "/data/gone.txt",
        "/data/opaque/old1.txt",
        "/data/opaque/old2.txt",
        "/data/opaque/sub",
        "/data/.wh.gone.txt",
        "/data/opaque/.wh..wh..opq",
    ],
    "hardlinks": [("/data/link-a.txt", "/data/link-b.txt")],
    "symlinks": {"/data/keep-link": "keep.txt"},
    "dirs": ["/data", "/data/dir", "/data/opaque"],
}


def layered_layers() -> list[Layer]:
    layer2 = [
        Dir("data"), File("data/keep.txt", "keep\n"), File("data/gone.txt", "gone\n"),
        Dir("data/dir"), File("data/dir/nested.txt", "nested\n"),
        Dir("data/opaque"), File("data/opaque/old1.txt", "old1\n"),
        File("data/opaque/old2.txt", "old2\n"), Dir("data/opaque/sub"),
        File("data/opaque/sub/old3.txt", "old3\n"),
        File("data/link-a.txt", "linked\n"), Hardlink("data/link-b.txt", "data/link-a.txt"),
        Symlink("data/keep-link", "keep.txt"),
    ]  # fmt: skip
    layer3 = [
        Dir("data"), File("data/.wh.gone.txt"), Dir("data/opaque"),
        File("data/opaque/.wh..wh..opq"), File("data/opaque/new.txt", "new in layer 3\n"),
        File("data/layer3.txt", "layer 3\n"),
    ]  # fmt: skip
    return [Layer(build_tar(layer2)), Layer(build_tar(layer3))]


# -- a Debian image from this host's packages


DEBIAN_PRIORITIES = ("required", "important", "standard")


def debian_package_files(priority: str) -> list[str]:
    """The paths dpkg installed for the host's packages of `priority`, sorted; each named
    through its real directory (merged /usr: /lib/x is /usr/lib/x), plus the root's links
    (/lib -> usr/lib) those names went through."""
    listed = subprocess.run(
        ["dpkg-query", "-W", "-f", "${Package}:${Architecture} ${Priority}\n"],
        capture_output=True, text=True, check=True,
    ).stdout.split("\n")  # fmt: skip
    packages = sorted(line.split()[0] for line in listed if line.endswith(f" {priority}"))
    files = subprocess.run(["dpkg", "-L", *packages], capture_output=True, text=True).stdout
    found: set[str] = set()
    for path in files.splitlines():
        if not path.startswith("/") or path == "/." or not os.path.lexists(path):
            continue
        top = "/" + path.strip("/").split("/")[0]
        if os.path.islink(top):
            found.add(top)
        found.add(os.path.join(os.path.realpath(os.path.dirname(path)), os.path.basename(path)))
    return sorted(found)


def host_files_tar(paths: list[str]) -> bytes:
    """An uncompressed layer of host files: each path with its parents, links kept, a fixed
    mtime and no user names (so the same host gives the same bytes)."""
    buf = io.BytesIO()
    seen: set[str] = set()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in paths:
            parts = path.strip("/").split("/")
            for depth in range(1, len(parts) + 1):
                name = "/".join(parts[:depth])
                if name in seen or not os.path.lexists("/" + name):
                    continue
                seen.add(name)
                if (
                    os.path.isdir("/" + name)
                    and not os.path.islink("/" + name)
                    and depth < len(parts)
                ):
                    info = tarfile.TarInfo(name)
                    info.type, info.mode = tarfile.DIRTYPE, 0o755
                else:
                    info = tar.gettarinfo("/" + name, arcname=name)
                info.mtime, info.uname, info.gname = FIXED_MTIME, "", ""
                if info.isreg():
                    with open("/" + name, "rb") as data:
                        tar.addfile(info, data)
                else:
                    tar.addfile(info)
    return buf.getvalue()


def debian_layers() -> list[Layer]:
    """Three layers of a Debian system, from this (Debian) host's installed packages: the
    required ones (what debootstrap's minbase holds), then the important, then the standard."""
    layers, earlier = [], set()
    for priority in DEBIAN_PRIORITIES:
        paths = [p for p in debian_package_files(priority) if p not in earlier]
        earlier.update(paths)
        layers.append(Layer(host_files_tar(paths)))
    return layers


def debian_image() -> BuiltImage:
    layers = debian_layers()
    config = image_config([layer.diff_id for layer in layers], cmd=["/bin/bash"])
    return make_image(layers, config)


# -- hostile


SENTINEL_FILES = {
    "victim": b"sentinel victim\n",
    "passwd": b"root:x:0:0:sentinel passwd, not a real one:/root:/bin/sh\n",
    "shadow": b"root:sentinel-shadow:19000:0:99999:7:::\n",
    "keep/file": b"sentinel keep/file\n",
}


def _huge_header(name: str, size: int) -> bytes:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = size, 0o644, FIXED_MTIME
    info.uname = info.gname = ""
    return info.tobuf(format=tarfile.GNU_FORMAT)  # size in base-256, as GNU tar writes it


def hostile_images(sentinel: Path, marker: str) -> dict[str, list[list[Entry]] | BuiltImage]:
    """Attack name -> its layers (each a list of entries, in order) or a ready image."""
    s_abs = str(sentinel)
    s_rel = s_abs.lstrip("/")
    deep = "../" * 40  # enough to climb to / from any store; then down into the sentinel
    attacks: dict[str, list[list[Entry]] | BuiltImage] = {
        "dotdot": [
            [
                File("ok.txt", "harmless\n"),
                File(f"../../{marker}", "escaped two levels\n"),
                File(f"../../../../{marker}", "escaped four levels\n"),
                File(f"{deep}{s_rel}/dotdot-pwned", "pwned via ../\n"),
                File(f"sub/{deep}{s_rel}/dotdot-pwned-sub", "pwned via sub/../\n"),
            ]
        ],
        "absolute": [
            [
                File(f"{s_abs}/abs-pwned", "pwned via an absolute name\n"),
                File(f"/../../{s_rel}/abs-dotdot-pwned", "pwned via /../..\n"),
                File(f"{s_abs}/passwd", "pwned:x:0:0::/:/bin/sh\n"),
            ]
        ],
        "symlink_then_write": [
            [
                Symlink("a", s_abs),
                File("a/pwned", "pwned through an absolute symlink\n"),
                Symlink("rel", f"{deep}{s_rel}"),
                File("rel/pwned-rel", "pwned through a relative symlink\n"),
            ]
        ],
        "symlink_chain": [
            [
                Symlink("l1", "l2"),
                Symlink("l2", "d/l3"),
                Dir("d"),
                Symlink("d/l3", "../l4"),
                Symlink("l4", s_abs),
                File("l1/chain-pwned", "pwned through a chain of symlinks\n"),
            ]
        ],
        "symlink_prior_layer": [
            [Symlink("evil", s_abs), Symlink("evilrel", f"{deep}{s_rel}")],
            [
                File("evil/prior-pwned", "pwned through a symlink of a prior layer\n"),
                File("evilrel/prior-pwned-rel", "pwned through a relative symlink\n"),
            ],
        ],
        "hardlink_out": [
            [
                Hardlink("passwd-link", "../../etc/passwd"),
                Hardlink("shadow-link", f"{s_abs}/shadow"),
                Hardlink("victim-link", f"{deep}{s_rel}/victim"),
                # rewriting a name that is a hardlink to the outside must not write the outside file
                File("shadow-link", "pwned through a hardlink\n"),
                File("victim-link", "pwned through a relative hardlink\n"),
            ]
        ],
        "whiteout_dotdot": [
            [File("keep.txt", "keep\n"), Dir("sub"), File("sub/keep.txt", "keep\n")],
            [
                File(".wh..."),
                File("sub/.wh..."),
                File(f"{deep}{s_rel}/.wh.victim"),
                File(f"{s_abs}/keep/.wh..wh..opq"),
            ],
        ],
        "whiteout_through_symlink": [
            [Symlink("link", s_abs), Symlink("rel", f"{deep}{s_rel}")],
            [
                File("link/.wh.victim"),
                File("link/keep/.wh..wh..opq"),
                File("rel/.wh.passwd"),
            ],
        ],
        "huge_size": [
            [
                File("small.txt", "small\n"),
                Entry("huge.bin", "raw", raw=_huge_header("huge.bin", 1 << 40) + b"\0" * 2048),
            ]
        ],
    }
    return attacks


def _hostile_built(attacks: dict) -> dict[str, BuiltImage]:
    built: dict[str, BuiltImage] = {}
    for name, layers in attacks.items():
        # huge_size is cut short: its last member's data and the end-of-archive are missing
        end = name != "huge_size"
        tars = [Layer(build_tar(entries, sort=False, end=end)) for entries in layers]
        built[name] = make_image(tars, cmd=["/bin/sh"], labels={"pod.test.hostile": name})
    benign = Layer(build_tar([File("hello.txt", "hello\n")]))
    # bad_digest: the blob is served under its real digest, but the config's diff_id is wrong.
    wrong_diff = sha256_digest(b"not the layer")
    config = image_config([wrong_diff], cmd=["/bin/sh"], labels={"pod.test.hostile": "bad_digest"})
    built["bad_digest"] = make_image([benign], config)
    # wrong_size: the manifest claims fewer bytes than the blob has.
    blob = benign.blob()
    short = Blob(blob.media_type, blob.data, size=len(blob.data) - 16)
    built["wrong_size"] = make_image(
        [benign], blobs=[short], cmd=["/bin/sh"], labels={"pod.test.hostile": "wrong_size"}
    )
    return built


# -- build and push everything


def build_and_push(
    client: RegistryClient,
    host: str,
    workdir: Path,
    sentinel_dir: Path,
    *,
    busybox: Path = Path("/bin/busybox"),
) -> ImageSet:
    """Build every test image, push it to `client`'s registry and write its OCI layout."""
    oci_dir = workdir / "oci"
    applets = busybox_applets(busybox)
    base = busybox_layer(busybox, applets)
    base_ids = [base.diff_id]

    def push(name: str, repo: str, image: BuiltImage) -> PushedImage:
        digest = client.push_image(image, repo, "latest")
        assert digest == image.digest, f"{repo}: registry says {digest}, built {image.digest}"
        layout = write_oci_layout(image, oci_dir / name.replace("/", "_"))
        return _pushed(name, host, repo, image, layout)

    busybox_img = make_image([base], busybox_config(base_ids))
    extra = layered_layers()
    layered_cfg = busybox_config(base_ids + [x.diff_id for x in extra], labels={"layers": "3"})
    layered_img = make_image([base, *extra], layered_cfg)

    def platform_children(docker: bool) -> dict[str, BuiltImage]:
        children = {}
        for child_arch in ("amd64", "arm64"):
            config = busybox_config(base_ids, arch=child_arch, labels={"arch": child_arch})
            children[f"linux/{child_arch}"] = make_image([base], config, docker=docker)
        return children

    multi_img = make_index(platform_children(docker=False))
    zlayer = Layer(base.tar, compression="zstd")
    zstd_img = make_image([zlayer], busybox_config(base_ids, labels={"compression": "zstd"}))
    docker_cfg = busybox_config(base_ids, labels={"format": "docker"})
    docker_img = make_image([base], docker_cfg, docker=True)
    dockerlist_img = make_index(platform_children(docker=True), docker=True)

    pushed = {
        "busybox": push("busybox", "test/busybox", busybox_img),
        "layered": push("layered", "test/layered", layered_img),
        "multiarch": push("multiarch", "test/multiarch", multi_img),
        "zstd": push("zstd", "test/zstd", zstd_img),
        "docker": push("docker", "test/docker", docker_img),
        "dockerlist": push("dockerlist", "test/dockerlist", dockerlist_img),
    }
    marker = f"pod-escape-{hashlib.sha256(str(sentinel_dir).encode()).hexdigest()[:12]}"
    hostile = HostileSet(
        sentinel_dir=sentinel_dir, sentinel_files=dict(SENTINEL_FILES), escape_marker=marker
    )
    hostile.reset()
    for name, image in _hostile_built(hostile_images(sentinel_dir, marker)).items():
        hostile.images[name] = push(f"hostile/{name}", f"hostile/{name}", image)
    return ImageSet(
        host=host,
        url=client.base_url,
        hostile=hostile,
        applets=tuple(applets),
        layered_expected=LAYERED_EXPECTED,
        busybox_files=dict(BUSYBOX_FILES),
        oci_dir=oci_dir,
        **pushed,
    )


def _pushed(name: str, host: str, repo: str, image: BuiltImage, layout: Path) -> PushedImage:
    children = {
        plat: _pushed(f"{name}@{plat}", host, repo, child, layout)
        for plat, child in image.children.items()
    }
    return PushedImage(
        name=name,
        host=host,
        repo=repo,
        tag="latest",
        digest=image.digest,
        media_type=image.media_type,
        manifest=image.manifest,
        config_digest=image.config.digest if image.config else None,
        config=image.config_json,
        layers=tuple(b.descriptor() for b in image.layers),
        diff_ids=tuple(image.diff_ids),
        oci_layout_dir=layout,
        children=children,
    )


# --------------------------------------------------------------------------------------------
# a distro-like image for distrobox and toolbox: busybox, and as shell scripts the few tools
# of a distribution's base system they call that busybox lacks (shadow's user and group tools,
# findmnt, sudo for root, and the names distrobox only checks for). Built from the same busybox.

DISTRO_TOOLS = {
    # findmnt [OPTIONS] PATH: exit 0 when PATH is a mount point (distrobox, toolbox)
    "findmnt": """
        for p; do :; done
        awk -v p="$p" '$5 == p {f = 1} END {exit !f}' /proc/self/mountinfo
    """,
    # groupadd [--force] [--gid GID] NAME
    "groupadd": """
        gid=
        while [ $# -gt 1 ]; do case $1 in --gid|-g) gid=$2; shift;; esac; shift; done
        grep -q "^$1:" /etc/group && exit 0
        echo "$1:x:${gid:-1000}:" >> /etc/group
    """,
    # useradd [--home-dir D] [--shell S] [--uid U] [--gid G] [--groups G,...] NAME; without
    # --gid, a group of the user's name with the uid as gid (shadow's USERGROUPS_ENAB)
    "useradd": """
        home= shell=/bin/sh uid=1000 gid= groups=
        while [ $# -gt 1 ]; do case $1 in
          --home-dir|--home|-d) home=$2; shift;; --shell|-s) shell=$2; shift;;
          --uid|-u) uid=$2; shift;; --gid|-g) gid=$2; shift;; -G|--groups) groups=$2; shift;;
        esac; shift; done
        if [ -z "$gid" ]; then
          gid=$uid
          grep -q "^$1:" /etc/group || echo "$1:x:$gid:" >> /etc/group
        fi
        echo "$1:x:$uid:$gid:$1:${home:-/home/$1}:$shell" >> /etc/passwd
        echo "$1:!:19000:0:99999:7:::" >> /etc/shadow
        awk -F: -v OFS=: -v n="$1" -v g=",$groups," '
          index(g, "," $1 ",") {$4 = ($4 == "" ? n : $4 "," n)} {print}' /etc/group \
          > /etc/group.new
        cat /etc/group.new > /etc/group && rm /etc/group.new
    """,
    # usermod [--home D] [--shell S] [--uid U] [--gid G] [--append] [-aG|--groups G,...] NAME
    # (toolbox, when the engine's keep-id already put the user in /etc/passwd)
    "usermod": """
        home= shell= uid= gid= groups=
        while [ $# -gt 1 ]; do case $1 in
          --home|-d) home=$2; shift;; --shell|-s) shell=$2; shift;;
          --uid|-u) uid=$2; shift;; --gid|-g) gid=$2; shift;; -G|-aG|--groups) groups=$2; shift;;
        esac; shift; done
        awk -F: -v OFS=: -v n="$1" -v h="$home" -v s="$shell" -v u="$uid" -v g="$gid" '
          $1 == n {if (u != "") $3 = u; if (g != "") $4 = g}
          $1 == n {if (h != "") $6 = h; if (s != "") $7 = s}
          {print}' /etc/passwd > /etc/passwd.new
        cat /etc/passwd.new > /etc/passwd && rm /etc/passwd.new
        awk -F: -v OFS=: -v n="$1" -v g=",$groups," '
          index(g, "," $1 ",") && index("," $4 ",", "," n ",") == 0 {
            $4 = ($4 == "" ? n : $4 "," n)} {print}' /etc/group > /etc/group.new
        cat /etc/group.new > /etc/group && rm /etc/group.new
    """,
    # chpasswd [-e]: NAME:HASH lines on stdin
    "chpasswd": """
        while IFS=: read -r name hash; do
          awk -F: -v OFS=: -v n="$name" -v p="$hash" '$1 == n {$2 = p} {print}' /etc/shadow \
            > /etc/shadow.new
          cat /etc/shadow.new > /etc/shadow && rm /etc/shadow.new
        done
    """,
    # passwd with shadow's long options (toolbox: passwd --delete USER), busybox's underneath.
    # --delete of a user without a shadow line (keep-id's, added to /etc/passwd by the engine)
    # empties the password in a new shadow line: shadow's passwd would empty /etc/passwd's
    # field instead, which busybox's getpwuid (this image's `id`) then skips as malformed
    "passwd": """
        if [ "$1" = --delete ] && [ $# = 2 ] && ! grep -q "^$2:" /etc/shadow 2>/dev/null; then
          echo "$2::19000:0:99999:7:::" >> /etc/shadow
          exit 0
        fi
        for a; do
          shift
          case $a in --delete) a=-d;; --lock) a=-l;; --unlock) a=-u;; esac
          set -- "$@" "$a"
        done
        exec /bin/busybox passwd "$@"
    """,
    # bash is busybox's sh here (toolbox runs its commands through bash --login -c)
    "bash": """
        exec /bin/sh "$@"
    """,
    # capsh --caps= -- ARGS: bash ARGS without capabilities (toolbox run, as a user who has
    # none to drop: root is refused)
    "capsh": """
        while [ $# -gt 0 ]; do case $1 in
          --caps=) ;;
          --) shift; break;;
          *) echo "capsh: $1: not in this test image" >&2; exit 1;;
        esac; shift; done
        [ "$(id -u)" != 0 ] || { echo "capsh: cannot drop root's capabilities" >&2; exit 1; }
        exec /usr/bin/bash "$@"
    """,
    # sudo COMMAND: for root only (the tests never raise privileges)
    "sudo": """
        [ "$(id -u)" = 0 ] || { echo "sudo: only root may run commands" >&2; exit 1; }
        [ "$1" = -v ] && exit 0
        exec "$@"
    """,
    # distrobox only checks that these exist
    "curl": 'echo "curl: not in this test image" >&2; exit 1',
    "pinentry": 'echo "pinentry: not in this test image" >&2; exit 1',
    "lsof": 'echo "lsof: not in this test image" >&2; exit 1',
}


def distro_image(busybox: Path = Path("/bin/busybox")) -> BuiltImage:
    """The busybox image with DISTRO_TOOLS in /usr/bin, an /etc/os-release, and a sudo group
    (toolbox adds the user to it)."""
    base = busybox_layer(busybox, busybox_applets(busybox))
    tools = [
        File(f"usr/bin/{name}", "#!/bin/sh\n" + textwrap.dedent(body).strip() + "\n", 0o755)
        for name, body in DISTRO_TOOLS.items()
    ]
    os_release = 'ID=podtest\nNAME="pod test distro"\nVERSION_ID=1\n'
    extra = Layer(
        build_tar(
            [
                Dir("etc"),
                File("etc/os-release", os_release),
                File("etc/group", GROUP + "sudo:x:27:\n"),
                Dir("usr"),
                Dir("usr/bin"),
                *tools,
            ]
        )
    )
    config = busybox_config([base.diff_id, extra.diff_id], labels={"distro": "podtest"})
    return make_image([base, extra], config)
