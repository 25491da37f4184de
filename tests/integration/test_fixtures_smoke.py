"""The integration fixtures work: registries answer, images are pullable as raw manifests and
blobs, the token server checks scopes, and pod runs both as root and as the rootless user.

These test the fixtures only, never pod's features (beyond `pod --version`).
"""

from __future__ import annotations

import gzip
import io
import json
import os
import stat
import subprocess
import tarfile
from pathlib import Path

import pytest
import requests
from image_builder import (
    MT_DOCKER_CONFIG,
    MT_DOCKER_LAYER,
    MT_DOCKER_LIST,
    MT_DOCKER_MANIFEST,
    MT_OCI_INDEX,
    MT_OCI_LAYER_GZIP,
    MT_OCI_LAYER_ZSTD,
    MT_OCI_MANIFEST,
    RegistryClient,
    native_arch,
    sha256_digest,
)


def fetch(images, image):
    """(manifest bytes, content type) and a blob getter that checks digests, via plain HTTP."""
    client = RegistryClient(images.url)
    resp = client.get_manifest(image.repo, image.tag)
    assert resp.status_code == 200, resp.text
    assert resp.headers["Docker-Content-Digest"] == image.digest
    assert sha256_digest(resp.content) == image.digest
    assert resp.content == image.manifest

    def blob(digest: str) -> bytes:
        got = client.get_blob(image.repo, digest)
        assert got.status_code == 200, got.text
        assert sha256_digest(got.content) == digest
        return got.content

    return json.loads(resp.content), resp.headers["Content-Type"], blob


def members(layer_tar: bytes) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(layer_tar)) as tar:
        return {m.name: m for m in tar.getmembers()}


def test_registry_answers_v2(registry):
    resp = requests.get(f"{registry.url}/v2/", timeout=10)
    assert resp.status_code == 200
    assert resp.headers["Docker-Distribution-Api-Version"] == "registry/2.0"
    assert registry.host.startswith("127.0.0.1:") and registry.url == f"http://{registry.host}"


def test_busybox_image(test_images):
    img = test_images.busybox
    assert img.ref == f"{test_images.host}/test/busybox:latest"
    manifest, ctype, blob = fetch(test_images, img)
    assert ctype == MT_OCI_MANIFEST == manifest["mediaType"]
    assert [layer["mediaType"] for layer in manifest["layers"]] == [MT_OCI_LAYER_GZIP]
    config = json.loads(blob(manifest["config"]["digest"]))
    assert img.config_digest == manifest["config"]["digest"] and img.id in img.config_digest
    cfg = config["config"]
    assert cfg["Cmd"] == ["sh"] and cfg["WorkingDir"] == "/root"
    assert any(e.startswith("PATH=") for e in cfg["Env"])
    assert cfg["ExposedPorts"] == {"80/tcp": {}} and cfg["Labels"]
    tar_bytes = gzip.decompress(blob(manifest["layers"][0]["digest"]))
    assert sha256_digest(tar_bytes) == config["rootfs"]["diff_ids"][0]
    files = members(tar_bytes)
    assert files["bin/busybox"].isfile()
    for applet in ("sh", "echo", "true", "false", "cat", "ls", "id", "sleep", "env", "wget"):
        assert files[f"bin/{applet}"].issym() and files[f"bin/{applet}"].linkname == "busybox"
    assert len(test_images.applets) > 100
    assert stat.S_IMODE(files["tmp"].mode) == 0o1777
    owned = files[test_images.busybox_files["owned_by_tester"].lstrip("/")]
    assert (owned.uid, owned.gid) == (1000, 1000)
    assert files[test_images.busybox_files["setuid"].lstrip("/")].mode & stat.S_ISUID
    with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as tar:
        passwd = tar.extractfile("etc/passwd").read().decode()
    assert "tester:x:1000:1000:" in passwd and ":65534:" in passwd
    # reproducible: the same content twice gives the same digests
    assert len({m.mtime for m in files.values()}) == 1


def test_layered_image(test_images):
    manifest, _, blob = fetch(test_images, test_images.layered)
    assert len(manifest["layers"]) == 3
    assert manifest["layers"][0]["digest"] == test_images.busybox.layers[0]["digest"]
    layer2 = members(gzip.decompress(blob(manifest["layers"][1]["digest"])))
    layer3 = members(gzip.decompress(blob(manifest["layers"][2]["digest"])))
    assert layer2["data/link-b.txt"].islnk() and layer2["data/link-b.txt"].linkname == (
        "data/link-a.txt"
    )
    assert "data/gone.txt" in layer2 and "data/opaque/old1.txt" in layer2
    assert "data/.wh.gone.txt" in layer3 and "data/opaque/.wh..wh..opq" in layer3
    assert "data/opaque/new.txt" in layer3
    assert "/data/gone.txt" in test_images.layered_expected["absent"]


def test_multiarch_index(test_images):
    img = test_images.multiarch
    index, ctype, _ = fetch(test_images, img)
    assert ctype == MT_OCI_INDEX
    platforms = {m["platform"]["architecture"]: m for m in index["manifests"]}
    assert set(platforms) == {"amd64", "arm64"}
    client = RegistryClient(test_images.url)
    labels = {}
    for arch, desc in platforms.items():
        resp = client.get_manifest(img.repo, desc["digest"])
        assert resp.status_code == 200 and sha256_digest(resp.content) == desc["digest"]
        config_digest = json.loads(resp.content)["config"]["digest"]
        config = json.loads(client.get_blob(img.repo, config_digest).content)
        assert config["architecture"] == arch
        labels[arch] = config["config"]["Labels"]["arch"]
    assert labels == {"amd64": "amd64", "arm64": "arm64"}
    assert img.id == img.children[f"linux/{native_arch()}"].id


def test_zstd_image(test_images):
    import zstandard

    manifest, _, blob = fetch(test_images, test_images.zstd)
    assert manifest["layers"][0]["mediaType"] == MT_OCI_LAYER_ZSTD
    data = blob(manifest["layers"][0]["digest"])
    assert data[:4] == b"\x28\xb5\x2f\xfd"
    tar_bytes = zstandard.ZstdDecompressor().decompress(data)
    assert sha256_digest(tar_bytes) == test_images.zstd.diff_ids[0]
    assert "bin/busybox" in members(tar_bytes)


def test_docker_images(test_images):
    manifest, ctype, _ = fetch(test_images, test_images.docker)
    assert ctype == MT_DOCKER_MANIFEST
    assert manifest["config"]["mediaType"] == MT_DOCKER_CONFIG
    assert [x["mediaType"] for x in manifest["layers"]] == [MT_DOCKER_LAYER]
    index, ctype, _ = fetch(test_images, test_images.dockerlist)
    assert ctype == MT_DOCKER_LIST
    assert test_images.dockerlist.ref == f"{test_images.host}/test/dockerlist:latest"
    assert {m["mediaType"] for m in index["manifests"]} == {MT_DOCKER_MANIFEST}


def test_hostile_images(test_images):
    hostile = test_images.hostile
    expected = {
        "dotdot", "absolute", "symlink_then_write", "symlink_chain", "symlink_prior_layer",
        "hardlink_out", "whiteout_dotdot", "whiteout_through_symlink", "huge_size",
        "bad_digest", "wrong_size",
    }  # fmt: skip
    assert set(hostile) == expected
    sentinel = str(hostile.sentinel_dir)
    for name in expected:
        img = hostile[name]
        assert img.ref == f"{test_images.host}/hostile/{name}:latest"
        manifest, _, blob = fetch(test_images, img)
        for desc in manifest["layers"]:
            data = blob(desc["digest"])
            if name == "wrong_size":
                assert desc["size"] < len(data)
            else:
                assert desc["size"] == len(data)
    # every attack aims at the sentinel or at a marker inside tmp, never at a real file
    _, _, blob = fetch(test_images, hostile["dotdot"])
    raw = gzip.decompress(blob(hostile["dotdot"].layers[0]["digest"]))
    names = list(members(raw))
    assert f"../../{hostile.escape_marker}" in names
    deep = sentinel.lstrip("/") + "/dotdot-pwned"
    assert any(n.startswith("../../../../../../") and n.endswith(deep) for n in names)
    _, _, blob = fetch(test_images, hostile["symlink_then_write"])
    sym = members(gzip.decompress(blob(hostile["symlink_then_write"].layers[0]["digest"])))
    assert sym["a"].issym() and sym["a"].linkname == sentinel and "a/pwned" in sym
    bad = hostile["bad_digest"]
    _, _, blob = fetch(test_images, bad)
    real = sha256_digest(gzip.decompress(blob(bad.layers[0]["digest"])))
    assert bad.config["rootfs"]["diff_ids"] != [real]
    huge = hostile["huge_size"]
    _, _, blob = fetch(test_images, huge)
    raw = gzip.decompress(blob(huge.layers[0]["digest"]))
    header = raw[raw.index(b"huge.bin") :][:512]
    assert header[124] & 0x80  # GNU base-256 size field: far larger than the data
    assert len(raw) < 1 << 20
    hostile.assert_untouched()
    assert hostile.find_escapes(test_images.oci_dir) == []
    assert stat.S_IMODE(hostile.sentinel_dir.stat().st_mode) == 0o777


@pytest.mark.needs_tool("skopeo")
def test_skopeo_agrees(test_images, tmp_path):
    for img in (test_images.busybox, test_images.layered, test_images.zstd, test_images.docker):
        if img.media_type != MT_DOCKER_MANIFEST:  # skopeo's oci: transport takes OCI types only
            raw = subprocess.run(
                ["skopeo", "inspect", "--raw", img.oci_ref], capture_output=True, check=True
            ).stdout
            assert raw == img.manifest
        # a full copy from the registry verifies every digest on the way
        out = tmp_path / img.name
        subprocess.run(
            [
                "skopeo",
                "copy",
                "--quiet",
                "--src-tls-verify=false",
                f"docker://{img.ref}",
                f"oci:{out}:latest",
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
    listing = subprocess.run(
        [
            "skopeo",
            "inspect",
            "--tls-verify=false",
            "--raw",
            f"docker://{test_images.multiarch.ref}",
        ],
        capture_output=True,
        check=True,
    ).stdout
    assert listing == test_images.multiarch.manifest


def test_tls_registry(tls_registry, test_images):
    assert tls_registry.url == f"https://{tls_registry.host}"
    ca = str(tls_registry.ca_cert)
    assert requests.get(f"{tls_registry.url}/v2/", verify=ca, timeout=10).status_code == 401
    auth = (tls_registry.username, tls_registry.password)
    assert requests.get(f"{tls_registry.url}/v2/", verify=ca, auth=auth, timeout=10).ok
    port = tls_registry.host.rsplit(":", 1)[1]
    assert requests.get(f"https://localhost:{port}/v2/", verify=ca, auth=auth, timeout=10).ok
    assert (Path(tls_registry.certs_d) / tls_registry.host / "ca.crt").is_file()
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{tls_registry.url}/v2/", timeout=10)  # not trusted without the CA
    client = RegistryClient(tls_registry.url, username=auth[0], password=auth[1], verify=ca)
    digest = client.push_image(_built_busybox(test_images), "smoke/busybox", "latest")
    assert digest == test_images.busybox.digest
    assert client.get_manifest("smoke/busybox", "latest").content == test_images.busybox.manifest
    wrong = requests.get(f"{tls_registry.url}/v2/", verify=ca, auth=(auth[0], "nope"), timeout=10)
    assert wrong.status_code == 401


def _built_busybox(test_images):
    """The busybox image as a BuiltImage again, from the OCI layout (to push elsewhere)."""
    from image_builder import Blob, BuiltImage

    layout = test_images.busybox.oci_layout_dir / "blobs" / "sha256"

    def read(digest):
        return (layout / digest.split(":", 1)[1]).read_bytes()

    manifest = json.loads(test_images.busybox.manifest)
    return BuiltImage(
        media_type=manifest["mediaType"],
        manifest=test_images.busybox.manifest,
        config=Blob(manifest["config"]["mediaType"], read(manifest["config"]["digest"])),
        layers=[Blob(d["mediaType"], read(d["digest"])) for d in manifest["layers"]],
    )


def test_token_registry_checks_scopes(token_registry, test_images):
    anon = requests.get(f"{token_registry.url}/v2/", timeout=10)
    assert anon.status_code == 401
    assert f'realm="{token_registry.token_server_url}"' in anon.headers["WWW-Authenticate"]
    token_registry.clear_requests()
    pusher = RegistryClient(
        token_registry.url, username=token_registry.username, password=token_registry.password
    )
    assert pusher.push_image(_built_busybox(test_images), "smoke/tok") == test_images.busybox.digest
    asked = {s.rsplit(":", 1)[0]: set(s.rsplit(":", 1)[1].split(",")) for s in
             token_registry.requested_scopes() if "push" in s}  # fmt: skip
    assert asked == {"repository:smoke/tok": {"pull", "push"}}
    assert any(r.username == token_registry.username for r in token_registry.requests)
    # anonymous pull works and is granted pull only, for exactly that repository
    reader = RegistryClient(token_registry.url)
    assert reader.get_manifest("smoke/tok", "latest").content == test_images.busybox.manifest
    last = token_registry.requests[-1]
    assert last.username is None
    assert last.granted == [{"type": "repository", "name": "smoke/tok", "actions": ["pull"]}]
    # anonymous push is refused: the token carries no push
    with pytest.raises(RuntimeError, match="401"):
        reader.push_blob("smoke/tok", b"anonymous data")
    # a token for one repository does not open another
    token = reader.fetch_token(
        token_registry.token_server_url, token_registry.service, "repository:smoke/tok:pull"
    )
    other = requests.get(
        f"{token_registry.url}/v2/smoke/other/tags/list",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert other.status_code == 401
    # wrong credentials are refused by the token server
    bad = requests.get(
        token_registry.token_server_url,
        params={"service": token_registry.service, "scope": "repository:smoke/tok:push"},
        auth=(token_registry.username, "wrong"),
        timeout=10,
    )
    assert bad.status_code == 401 and token_registry.requests[-1].status == 401


def test_pod_fixture_runs_pod_version(pod, registry):
    assert pod.root.parent == pod.runroot.parent == pod.tmp
    conf = pod.registries_conf.read_text()
    assert "unqualified-search-registries = []" in conf
    assert f'location = "{registry.host}"' in conf and "insecure = true" in conf
    result = pod("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()


@pytest.mark.rootless
def test_rootless_user_runs_installed_pod(rootless_user, rootless_pod):
    user = rootless_user
    assert user.uid != 0 and user.home.is_dir()
    entries = Path("/etc/subuid").read_text().splitlines()
    assert any(line.endswith(f":{user.subuid_start}:{user.subuid_count}") for line in entries)
    assert user.subuid_count >= 65536 and user.subgid_count >= 65536
    st = user.runtime_dir.stat()
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (user.uid, 0o700)
    assert user.python.is_file() and os.access(user.python, os.X_OK)
    who = user.run("id", "-u", check=True)
    assert who.stdout.strip() == str(user.uid)
    env = user.run("env", check=True).stdout
    assert f"XDG_RUNTIME_DIR={user.runtime_dir}" in env
    # the user's copy of pod is importable and is not the checkout
    where = user.run(user.python, "-c", "import pod; print(pod.__file__)", check=True)
    assert where.stdout.strip().startswith(str(user.venv))
    result = rootless_pod("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()
