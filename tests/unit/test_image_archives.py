"""Reading untrusted image archives and directories, and writing docker archives as podman does.

Hostile archives must be refused before anything is used: names climbing out, links leading
out, symlinked metadata, duplicate entries, devices; manifests and configs that do not match
their digests. The docker-archive writer's legacy layer ids and files are compared with what
podman 4.3.1 wrote for the same image (golden values).
"""

from __future__ import annotations

import hashlib
import json
import os
import tarfile
from pathlib import Path

import pytest
from layer_tars import directory, make_tar, member, sha256_digest, symlink

from pod.errors import PodError, UnsafeContentError
from pod.image import docker_archive, oci_layout
from pod.image import manifest as mf
from pod.image.archive_files import DirFiles, TarFiles
from pod.image.archive_model import OutImage, OutLayer
from pod.image.output import TarWriter
from pod.util.archive import compression_of

PLATFORM = mf.Platform("linux", "amd64")


def archive(tmp_path: Path, members, name: str = "a.tar") -> TarFiles:
    path = tmp_path / name
    path.write_bytes(make_tar(members))
    return TarFiles(path, name)


def config_for(*layers: bytes) -> bytes:
    diff_ids = [sha256_digest(layer) for layer in layers]
    return json.dumps({"os": "linux", "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()


LAYER = make_tar([member("hello.txt", data=b"hello\n")])


def docker_members(manifest: object, config: bytes = b"", layer_name: str = "l.tar"):
    return [
        member("manifest.json", data=json.dumps(manifest).encode()),
        member("c.json", data=config or config_for(LAYER)),
        member(layer_name, data=LAYER),
    ]


# --- the tar view ----------------------------------------------------------------------------


def test_reads_members_in_place_and_follows_links_inside(tmp_path):
    files = archive(
        tmp_path,
        [
            member("layer.tar", data=b"data"),
            directory("id"),
            symlink("id/layer.tar", "../layer.tar"),
            member("hard.tar", tarfile.LNKTYPE, linkname="layer.tar"),
        ],
    )
    assert files.blob("id/layer.tar").read() == b"data"
    assert files.blob("./hard.tar").read() == b"data"
    assert files.metadata("layer.tar") == b"data"


@pytest.mark.parametrize(
    ("members", "name", "message"),
    [
        ([symlink("l.tar", "../../etc/passwd")], "l.tar", "outside the archive"),
        ([symlink("l.tar", "/etc/passwd")], "l.tar", "outside the archive"),
        ([member("l.tar", tarfile.LNKTYPE, linkname="../x")], "l.tar", "outside the archive"),
        ([symlink("a", "b"), symlink("b", "a")], "a", "too many links"),
        ([member("x", data=b"x")], "../x", "points outside its root"),
        ([member("x", data=b"x")], "/../../x", "points outside its root"),
    ],
)
def test_links_and_names_never_lead_outside(tmp_path, members, name, message):
    files = archive(tmp_path, members)
    with pytest.raises(UnsafeContentError, match=message):
        files.blob(name)


def test_symlinked_metadata_is_refused(tmp_path):
    files = archive(
        tmp_path, [member("real.json", data=b"[]"), symlink("manifest.json", "real.json")]
    )
    with pytest.raises(UnsafeContentError, match="is a link"):
        files.metadata("manifest.json")


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ([member("../escape", data=b"x")], "points outside its root"),
        ([member("a", data=b"1"), member("./a", data=b"2")], "two entries named 'a'"),
        ([member("dev", tarfile.CHRTYPE)], "unexpected type"),
        ([member("fifo", tarfile.FIFOTYPE)], "unexpected type"),
    ],
)
def test_hostile_archives_are_refused_when_opened(tmp_path, members, message):
    with pytest.raises(UnsafeContentError, match=message):
        archive(tmp_path, members)


def test_metadata_is_bounded_and_a_truncated_archive_refused(tmp_path):
    files = archive(tmp_path, [member("big.json", data=b"x" * 100)])
    with pytest.raises(UnsafeContentError, match="larger than 10 bytes"):
        files.metadata("big.json", limit=10)
    whole = tmp_path / "a.tar"
    cut = tmp_path / "cut.tar"
    cut.write_bytes(whole.read_bytes()[:560])  # the header and 48 bytes of data
    with pytest.raises(UnsafeContentError, match="cut.tar is not a valid tar archive"):
        TarFiles(cut, "cut.tar")


def test_not_a_tar_is_a_clear_error(tmp_path):
    path = tmp_path / "junk"
    path.write_bytes(b"\x01" * 2048)
    with pytest.raises(UnsafeContentError, match="not a valid tar archive"):
        TarFiles(path, "junk")


def test_compression_is_sniffed():
    assert compression_of(b"\x1f\x8b\x08") == "gzip"
    assert compression_of(b"\x28\xb5\x2f\xfd") == "zstd"
    assert compression_of(b"BZh9") == "bzip2"
    assert compression_of(b"\xfd7zXZ\x00") == "xz"
    assert compression_of(b"manifest") is None


# --- the directory view ----------------------------------------------------------------------


def test_a_directory_is_read_without_following_any_link(tmp_path, outside):
    root = tmp_path / "layout"
    (root / "blobs").mkdir(parents=True)
    (root / "index.json").write_text("{}")
    (root / "blobs" / "evil").symlink_to(outside / "secret")
    (root / "linked").symlink_to(outside)
    files = DirFiles(root, "layout")
    assert files.metadata("index.json") == b"{}"
    for name in ("blobs/evil", "linked/secret", "../outside/secret"):
        with pytest.raises(PodError):
            files.blob(name)
    files.close()


# --- docker-archive reading ------------------------------------------------------------------


def test_reads_a_docker_archive(tmp_path):
    manifest = [{"Config": "c.json", "RepoTags": ["busybox:1"], "Layers": ["l.tar"]}]
    files = archive(tmp_path, docker_members(manifest))
    [image] = docker_archive.read_images(files)
    assert image.names == ["docker.io/library/busybox:1"]
    assert image.config_digest == sha256_digest(config_for(LAYER))
    assert image.layers[0].diff_id == sha256_digest(LAYER)
    assert image.layers[0].member.read() == LAYER


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        ({"Config": "c.json"}, "not a JSON list"),
        ([{"Config": "c.json", "Layers": ["../../etc/passwd"]}], "points outside its root"),
        ([{"Config": "/../../c.json", "Layers": ["l.tar"]}], "points outside its root"),
        ([{"Config": "c.json", "Layers": ["missing.tar"]}], "has no file"),
        ([{"Config": "c.json", "Layers": [7]}], "no valid Layers"),
        ([{"Config": "c.json", "Layers": ["l.tar"], "RepoTags": ["Bad Tag"]}], "invalid RepoTag"),
        ([{"Config": "c.json", "Layers": ["l.tar", "l.tar"]}], "lists 1 layers but there are 2"),
        ([], "lists no image"),
    ],
)
def test_hostile_docker_manifests_are_refused(tmp_path, manifest, message):
    files = archive(tmp_path, docker_members(manifest))
    with pytest.raises(PodError, match=message):
        docker_archive.read_images(files)


def test_a_symlinked_manifest_json_is_refused(tmp_path):
    manifest = [{"Config": "c.json", "Layers": ["l.tar"]}]
    members = docker_members(manifest)
    members[0] = member("real-manifest.json", data=json.dumps(manifest).encode())
    files = archive(tmp_path, [*members, symlink("manifest.json", "real-manifest.json")])
    with pytest.raises(UnsafeContentError, match="is a link"):
        docker_archive.read_images(files)


# --- OCI layouts -----------------------------------------------------------------------------


def oci_members(*, config: bytes | None = None, claimed_config: bytes | None = None, ref="v1"):
    config = config or config_for(LAYER)
    described = claimed_config or config
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": mf.OCI_MANIFEST,
            "config": {
                "mediaType": mf.OCI_CONFIG,
                "digest": sha256_digest(described),
                "size": len(described),
            },
            "layers": [
                {"mediaType": mf.OCI_LAYER_TAR, "digest": sha256_digest(LAYER), "size": len(LAYER)}
            ],
        }  # fmt: skip
    ).encode()
    index = {
        "schemaVersion": 2,
        "manifests": [
            {"mediaType": mf.OCI_MANIFEST, "digest": sha256_digest(manifest),
             "size": len(manifest), "annotations": {oci_layout.REF_NAME: ref}},
        ],
    }  # fmt: skip

    def blob(data: bytes):
        return member("blobs/sha256/" + hashlib.sha256(data).hexdigest(), data=data)

    blobs = [blob(LAYER), blob(manifest)]
    blobs.append(member("blobs/sha256/" + sha256_digest(described)[7:], data=config))
    return [
        member("oci-layout", data=oci_layout.LAYOUT_VERSION),
        member("index.json", data=json.dumps(index).encode()),
        *blobs,
    ]


def test_reads_an_oci_layout_by_ref_name(tmp_path):
    files = archive(tmp_path, oci_members(ref="app:1"))
    [image] = oci_layout.read_images(files, "app:1", PLATFORM)
    assert image.names == ["localhost/app:1"]
    assert image.layers[0].digest == sha256_digest(LAYER)
    with pytest.raises(PodError, match="no descriptor found for reference 'nope'"):
        oci_layout.read_images(files, "nope", PLATFORM)


def test_an_oci_config_that_does_not_match_its_digest_is_refused(tmp_path):
    swapped = config_for(LAYER).replace(b"linux", b"LINUX")
    files = archive(tmp_path, oci_members(config=swapped, claimed_config=config_for(LAYER)))
    with pytest.raises(UnsafeContentError, match="does not match its content"):
        oci_layout.read_images(files, None, PLATFORM)


# --- docker-archive writing: as podman 4.3.1 wrote the same image ----------------------------

GOLDEN_CONFIG = (
    '{"os":"linux","architecture":"amd64","created":"2024-01-01T00:00:00Z",'
    '"config":{"Labels":{"z":"a<b&c>\u00e9","a":"1"},"Env":["X=1"],"Cmd":["sh"]},'
    '"rootfs":{"type":"layers","diff_ids":['
    '"sha256:55b31b115bd2c3ccfe7bb0024babb57a37e0c09df1309e4ad8af18c4411dd0ba",'
    '"sha256:dc6a2e5c181084eeed7727e7f0a995057cc78ef1e213f26fad8de501be75aa5c"]}}'
).encode()
GOLDEN_IDS = [
    "8510fdc5f1b35b7619d8d1d9560ba2e9f1dc08a9e7bf4a2bf652b62701d3647b",
    "dcf307aec684803ef3bf017843c69424cd11fe9d12bf0864f193c535654f0ae1",
]
GOLDEN_TOP_JSON = (
    '{"architecture":"amd64","config":{"Labels":{"z":"a\\u003cb\\u0026c\\u003e\u00e9","a":"1"},'
    '"Env":["X=1"],"Cmd":["sh"]},"container":null,"container_config":null,'
    '"created":"2024-01-01T00:00:00Z","docker_version":null,'
    f'"id":"{GOLDEN_IDS[1]}","os":"linux","parent":"{GOLDEN_IDS[0]}"}}'
).encode()


def golden_image(tmp_path: Path) -> OutImage:
    diff_ids = json.loads(GOLDEN_CONFIG)["rootfs"]["diff_ids"]
    layers = []
    for i, diff_id in enumerate(diff_ids):
        path = tmp_path / f"layer{i}"
        path.write_bytes(b"")
        layers.append(OutLayer(diff_id, 0, mf.OCI_LAYER_TAR, diff_id, path))
    digest = sha256_digest(GOLDEN_CONFIG)
    return OutImage("x", [], GOLDEN_CONFIG, digest, layers, b"{}", mf.OCI_MANIFEST, "")


def test_legacy_layer_ids_and_json_match_podman(tmp_path):
    found = docker_archive.legacy_layers(golden_image(tmp_path))
    assert [layer_id for layer_id, _ in found] == GOLDEN_IDS
    assert found[0][1] == f'{{"id":"{GOLDEN_IDS[0]}"}}'.encode()
    assert found[1][1] == GOLDEN_TOP_JSON


def test_writes_the_archive_as_podman_lays_it_out(tmp_path):
    out = tmp_path / "out.tar"
    fd = os.open(out, os.O_WRONLY | os.O_CREAT, 0o644)
    writer = TarWriter(fd)
    docker_archive.write_archive(writer, [(golden_image(tmp_path), ["localhost/gold:latest"])])
    writer.finish()
    os.close(fd)
    with tarfile.open(out) as tar:
        names = tar.getnames()
        manifest = json.loads(tar.extractfile("manifest.json").read())
        repositories = json.loads(tar.extractfile("repositories").read())
        link = tar.getmember(f"{GOLDEN_IDS[0]}/layer.tar")
    assert names[-2:] == ["manifest.json", "repositories"]
    assert link.issym() and link.linkname == (
        "../55b31b115bd2c3ccfe7bb0024babb57a37e0c09df1309e4ad8af18c4411dd0ba.tar"
    )
    assert manifest == [
        {
            "Config": sha256_digest(GOLDEN_CONFIG)[7:] + ".json",
            "RepoTags": ["localhost/gold:latest"],
            "Layers": [
                "55b31b115bd2c3ccfe7bb0024babb57a37e0c09df1309e4ad8af18c4411dd0ba.tar",
                "dc6a2e5c181084eeed7727e7f0a995057cc78ef1e213f26fad8de501be75aa5c.tar",
            ],
        }
    ]
    assert repositories == {"localhost/gold": {"latest": GOLDEN_IDS[1]}}
