"""images, tag, untag, rmi, history, image inspect/exists/prune, system df on a real store."""

from __future__ import annotations

import json
import os

import pytest


@pytest.fixture
def pulled(pod, test_images):
    for name in ("busybox", "layered"):
        pod("pull", "-q", test_images[name].ref, check=True)
    return test_images


def test_images_table_like_podman(pod, pulled):
    lines = pod("images", check=True).stdout.splitlines()
    assert lines[0].split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]
    assert lines[0].index("TAG") > lines[0].index("REPOSITORY")
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    busybox = rows[f"{pulled.host}/test/busybox"]
    assert busybox[1] == "latest" and busybox[2] == pulled.busybox.id[:12]
    assert lines[1].endswith("B")


def test_images_quiet_notrunc_noheading_digests(pod, pulled):
    quiet = pod("images", "-q", check=True).stdout.split()
    assert sorted(quiet) == sorted([pulled.busybox.id[:12], pulled.layered.id[:12]])
    full = pod("images", "-q", "--no-trunc", check=True).stdout.split()
    assert f"sha256:{pulled.busybox.id}" in full
    body = pod("images", "--noheading", check=True).stdout
    assert "REPOSITORY" not in body and len(body.splitlines()) == 2
    digests = pod("images", "--digests", check=True).stdout
    assert "DIGEST" in digests and pulled.busybox.digest in digests


def test_images_format_template_and_json(pod, pulled):
    out = pod("images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}", check=True).stdout
    assert f"{pulled.host}/test/busybox:latest {pulled.busybox.id[:12]}" in out.splitlines()
    table = pod("images", "--format", "table {{.ID}} {{.Repository}}", check=True).stdout
    assert table.splitlines()[0].split() == ["IMAGE", "ID", "REPOSITORY"]
    data = json.loads(pod("images", "--format", "json", check=True).stdout)
    entry = next(item for item in data if item["Id"] == pulled.busybox.id)
    assert entry["RepoTags"] is None  # podman 4.3.1's images JSON: null, the names in Names
    assert entry["Names"] == [pulled.busybox.ref]
    assert entry["Digest"] == pulled.busybox.digest
    bad = pod("images", "--format", "{{.Nope}}")
    assert bad.returncode == 125 and "Nope" in bad.stderr


def test_images_filters_and_sort(pod, pulled):
    def ids(*args):
        return pod("images", "-q", *args, check=True).stdout.split()

    assert ids("--filter", "reference=*busybox") == [pulled.busybox.id[:12]]
    assert ids("--filter", "reference=test/layered") == [pulled.layered.id[:12]]
    assert ids("--filter", "dangling=true") == []
    label = next(iter(pulled.busybox.config["config"]["Labels"].items()))
    assert pulled.busybox.id[:12] in ids("--filter", f"label={label[0]}={label[1]}")
    assert ids(f"{pulled.host}/test/busybox") == [pulled.busybox.id[:12]]
    bad = pod("images", "--filter", "bogus=1")
    assert bad.returncode == 125 and bad.stderr.startswith("Error: ")
    assert pod("images", "--sort", "size", check=True).returncode == 0


def test_tag_untag_and_rmi_by_name(pod, pulled):
    pod("tag", pulled.busybox.ref, "mybox", "other.example/x/y:2", check=True)
    names = pod("images", "--format", "{{.Repository}}:{{.Tag}}", check=True).stdout.split()
    assert "localhost/mybox:latest" in names and "other.example/x/y:2" in names
    assert pod("image", "exists", "mybox").returncode == 0
    pod("untag", "mybox", "localhost/mybox", check=True)
    assert pod("image", "exists", "mybox").returncode == 1
    out = pod("rmi", "other.example/x/y:2", check=True).stdout
    assert out == "Untagged: other.example/x/y:2\n"
    assert pod("image", "exists", pulled.busybox.ref).returncode == 0


def test_rmi_by_id_with_several_names_needs_force(pod, pulled):
    pod("tag", pulled.busybox.ref, "again", check=True)
    refused = pod("rmi", pulled.busybox.id[:12])
    assert refused.returncode == 125 and "please force removal" in refused.stderr
    forced = pod("rmi", "-f", pulled.busybox.id[:12], check=True).stdout
    assert f"Deleted: {pulled.busybox.id}" in forced
    assert "Untagged: localhost/again:latest" in forced


def test_rmi_removes_unshared_layers_and_blobs_only(pod, pulled):
    layers = pod.root / "layers"
    before = {p.name for p in layers.iterdir()}
    pod("rmi", pulled.layered.ref, check=True)
    after = {p.name for p in layers.iterdir()}
    assert len(before - after) == len(pulled.layered.layers) - 1
    blobs = pod.root / "blobs" / "blobs" / "sha256"
    for layer in pulled.layered.layers[1:]:
        assert not (blobs / layer["digest"][7:]).exists()
    assert (blobs / pulled.busybox.layers[0]["digest"][7:]).exists()
    pod("rmi", pulled.busybox.ref, check=True)
    assert list(layers.iterdir()) == []
    assert list(blobs.iterdir()) == []


def test_rmi_exit_codes(pod, pulled):
    missing = pod("rmi", "nothere")
    assert missing.returncode == 1
    assert missing.stderr == "Error: nothere: image not known\n"
    assert pod("rmi", "--ignore", "nothere").returncode == 0
    assert pod("rmi").returncode == 125
    everything = pod("rmi", "-a", check=True)
    assert everything.stdout.count("Deleted:") == 2
    assert pod("images", "-q").stdout == ""


def test_image_in_use_by_a_container_is_kept(pod, pulled):
    record = pod.root / "containers" / ("c" * 64) / "container.json"
    record.parent.mkdir(parents=True)
    record.write_text(json.dumps({"image_id": pulled.busybox.id}))
    result = pod("rmi", pulled.busybox.ref)
    assert result.returncode == 2
    assert "image is in use by a container" in result.stderr
    assert pod("image", "exists", pulled.busybox.ref).returncode == 0


def test_inspect_has_podmans_shape(pod, pulled):
    data = json.loads(pod("image", "inspect", pulled.busybox.ref, check=True).stdout)
    assert len(data) == 1
    image = data[0]
    for key in ("Id", "Digest", "RepoTags", "RepoDigests", "Created", "Config", "Architecture",
                "Os", "Size", "RootFS", "Labels", "History", "GraphDriver"):  # fmt: skip
        assert key in image
    assert image["Id"] == pulled.busybox.id
    assert image["RootFS"]["Layers"] == list(pulled.busybox.diff_ids)
    assert image["Config"]["Cmd"] == ["sh"]
    fmt = pod("image", "inspect", "--format", "{{.Id}} {{.Os}}", pulled.busybox.ref, check=True)
    assert fmt.stdout == f"{pulled.busybox.id} linux\n"
    missing = pod("image", "inspect", "nothere")
    assert missing.returncode == 125 and "nothere" in missing.stderr  # as podman


def test_history(pod, pulled):
    out = pod("history", pulled.layered.ref, check=True).stdout.splitlines()
    assert out[0].split()[:2] == ["ID", "CREATED"]
    assert out[1].startswith(pulled.layered.id[:12])
    assert len(out) - 1 == len(pulled.layered.config.get("history") or pulled.layered.layers)
    quiet = pod("history", "-q", pulled.layered.ref, check=True).stdout.split()
    assert quiet[0] == pulled.layered.id[:12]
    data = json.loads(pod("history", "--format", "json", pulled.layered.ref, check=True).stdout)
    assert data[0]["id"] == pulled.layered.id


def test_prune_removes_dangling_images(pod, pulled):
    pod("untag", pulled.layered.ref, check=True)
    dangling = pod("images", "-q", "--filter", "dangling=true", check=True).stdout.split()
    assert dangling == [pulled.layered.id[:12]]
    assert pod("images", "--format", "{{.Repository}}", check=True).stdout.count("<none>") == 1
    pruned = pod("image", "prune", "-f", check=True).stdout.split()
    assert pruned == [pulled.layered.id]
    assert pod("image", "exists", pulled.busybox.ref).returncode == 0
    assert pod("image", "prune", "-a", "-f", check=True).stdout.split() == [pulled.busybox.id]


def test_system_df(pod, pulled):
    lines = pod("system", "df", check=True).stdout.splitlines()
    assert lines[0].split() == ["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"]
    assert lines[1].split()[:3] == ["Images", "2", "0"]
    data = pod("system", "df", "--format", "{{.Type}}={{.Total}}", check=True).stdout
    assert "Images=2" in data.splitlines()


def test_store_files_are_written_atomically(pod, pulled):
    assert json.loads((pod.root / "images.json").read_text())["images"]
    assert not [n for n in os.listdir(pod.root) if n.startswith(".images.json.")]
