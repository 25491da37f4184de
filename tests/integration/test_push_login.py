"""push (streaming, mount, exact bytes, formats), login/logout, and skopeo as the oracle."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess

from image_builder import MT_DOCKER_LAYER, MT_DOCKER_MANIFEST, served_manifest
from runners import isolated_pod


def test_push_sends_exact_bytes_and_round_trips(pod, test_images, busybox, tmp_path):
    image = test_images.busybox
    target = f"{test_images.host}/pushed/busybox:v1"
    digestfile = tmp_path / "digest"
    result = pod("push", image.ref, target, "--digestfile", digestfile)
    assert result.returncode == 0, result.stderr
    assert digestfile.read_text() == image.digest
    served = served_manifest(test_images.host, "pushed/busybox", "v1")
    assert served.content == image.manifest
    assert hashlib.sha256(served.content).hexdigest() == image.digest[7:]
    # the blobs came by cross-repository mount from test/busybox, not by upload
    assert "mounted from test/busybox" in result.stderr
    with isolated_pod(tmp_path / "second", [test_images.host]) as second:
        pulled = second("pull", "-q", target, check=True)
    assert pulled.stdout.strip() == image.id


def test_push_converts_to_docker_v2s2(pod, test_images, busybox):
    image = test_images.busybox
    target = f"{test_images.host}/converted/busybox:docker"
    pod("push", "--format", "v2s2", image.ref, target, check=True)
    served = served_manifest(test_images.host, "converted/busybox", "docker")
    assert served.headers["Content-Type"] == MT_DOCKER_MANIFEST
    doc = served.json()
    assert doc["layers"][0]["mediaType"] == MT_DOCKER_LAYER
    assert doc["config"]["digest"] == image.config_digest


def test_push_of_a_missing_image(pod, test_images):
    result = pod("push", "nothere", f"{test_images.host}/x/y:1")
    assert result.returncode == 125 and result.stderr == "Error: nothere: image not known\n"


def test_skopeo_reads_what_pod_pushed(pod, test_images):
    image = test_images.layered
    pod("pull", "-q", image.ref, check=True)
    target = f"{test_images.host}/interop/from-pod:1"
    pod("push", "-q", image.ref, target, check=True)
    out = subprocess.run(
        ["skopeo", "inspect", "--tls-verify=false", f"docker://{target}"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert json.loads(out.stdout)["Layers"] == [layer["digest"] for layer in image.layers]


def test_pod_pulls_what_skopeo_pushed(pod, test_images):
    image = test_images.busybox
    target = f"{test_images.host}/interop/from-skopeo:1"
    subprocess.run(
        ["skopeo", "copy", "--dest-tls-verify=false", image.oci_ref, f"docker://{target}"],
        capture_output=True, check=True,
    )  # fmt: skip
    result = pod("pull", "-q", target)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == image.id


def test_login_verifies_stores_0600_and_logout(pod, tls_registry):
    host = tls_registry.host
    certs = tls_registry.certs_d / host
    wrong = pod("login", "--cert-dir", certs, "-u", tls_registry.username, "-p", "wrong", host)
    assert wrong.returncode == 125 and wrong.stderr.startswith("Error: ")
    assert not pod.auth_file.exists() or host not in pod.auth_file.read_text()
    ok = pod(
        "login", "--cert-dir", certs, "-u", tls_registry.username, "--password-stdin", host,
        input=tls_registry.password + "\n",
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == "Login Succeeded!"
    assert stat.S_IMODE(os.stat(pod.auth_file).st_mode) == 0o600
    assert host in json.loads(pod.auth_file.read_text())["auths"]
    assert pod("login", "--get-login", host).stdout.strip() == tls_registry.username
    out = pod("logout", host, check=True).stdout
    assert out == f"Removed login credentials for {host}\n"
    assert host not in json.loads(pod.auth_file.read_text()).get("auths", {})
    again = pod("logout", host)
    assert again.returncode == 125 and f"not logged into {host}" in again.stderr


def test_push_and_pull_with_tls_and_credentials(pod, test_images, busybox, tls_registry):
    image = test_images.busybox
    host, certs = tls_registry.host, tls_registry.certs_d / tls_registry.host
    target = f"{host}/private/busybox:1"
    anonymous = pod("push", "--cert-dir", certs, image.ref, target)
    assert anonymous.returncode == 125
    pod(
        "login", "--cert-dir", certs, "-u", tls_registry.username, "-p", tls_registry.password,
        host, check=True,
    )  # fmt: skip
    pod("push", "-q", "--cert-dir", certs, image.ref, target, check=True)
    pod("rmi", "-a", check=True)
    pulled = pod("pull", "-q", "--cert-dir", certs, target, check=True)
    assert pulled.stdout.strip() == image.id
    untrusted = pod("pull", target)
    assert untrusted.returncode == 125 and "certificate" in untrusted.stderr


def test_logout_all(pod, tls_registry):
    certs = tls_registry.certs_d / tls_registry.host
    pod(
        "login", "--cert-dir", certs, "-u", tls_registry.username, "-p", tls_registry.password,
        tls_registry.host, check=True,
    )  # fmt: skip
    assert (
        pod("logout", "-a", check=True).stdout == "Removed login credentials for all registries\n"
    )
    assert tls_registry.host not in pod.auth_file.read_text()


def test_token_auth_scopes_per_repository(pod, test_images, busybox, token_registry):
    image = test_images.busybox
    host = token_registry.host
    pod.write_registries_conf(insecure=[test_images.host, host])
    pod("login", "-u", token_registry.username, "-p", token_registry.password, host, check=True)
    token_registry.clear_requests()
    for repo in ("one/busybox", "two/busybox"):
        pushed = pod("push", "-q", image.ref, f"{host}/{repo}:1")
        assert pushed.returncode == 0, pushed.stderr
    scopes = " ".join(str(s) for s in token_registry.requested_scopes())
    assert "repository:one/busybox:" in scopes and "repository:two/busybox:" in scopes
    pod("logout", host, check=True)
    anonymous = pod("pull", "-q", f"{host}/two/busybox:1")
    assert anonymous.returncode == 0, anonymous.stderr
