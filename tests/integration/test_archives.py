"""`pod save` and `pod load`: every format, both ways with skopeo (the oracle) and podman,
rootful and rootless; hostile archives refused with nothing written."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

import pytest
from archive_builder import (
    docker_entries,
    manifest_of,
    oci_entries,
    replace_entry,
    with_manifest,
    write_tar,
)
from image_builder import (
    File,
    Hardlink,
    Layer,
    Symlink,
    build_tar,
    busybox_applets,
    busybox_config,
    busybox_layer,
    hostile_images,
    layered_layers,
    make_image,
)

# pod save --format, the transport skopeo names it by, and how pod reads it back.
FORMATS = {
    "docker-archive": "docker-archive",
    "oci-archive": "oci-archive",
    "oci-dir": "oci",
    "docker-dir": "dir",
}


def skopeo(*args: str) -> subprocess.CompletedProcess:
    done = subprocess.run(["skopeo", *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done


def skopeo_config_digest(ref: str) -> str:
    return json.loads(skopeo("inspect", "--raw", ref).stdout)["config"]["digest"]


def skopeo_diff_ids(ref: str) -> list[str]:
    return json.loads(skopeo("inspect", "--config", ref).stdout)["rootfs"]["diff_ids"]


def readable_by(user, *paths: Path) -> None:
    """Files root made, handed to the rootless user."""
    if user is None:
        return
    for path in paths:
        subprocess.run(["chown", "-R", f"{user.uid}:{user.gid}", str(path)], check=True)


def skopeo_ref(fmt: str, path: Path, name: str = "test/layered:latest") -> str:
    """How skopeo names what `pod save --format fmt -o path` wrote."""
    transport = FORMATS[fmt]
    if transport == "oci":
        return f"oci:{path}:{name}"
    return f"{transport}:{path}"


def load_args(fmt: str, path: Path) -> list[str]:
    """The pod command that stores what is at `path` in format `fmt`."""
    if fmt in ("docker-archive", "oci-archive"):
        return ["load", "-q", "-i", str(path)]
    return ["pull", "-q", f"{FORMATS[fmt]}:{path}"]


def assert_nothing_stored(runner) -> None:
    """A refused archive left no image, layer, blob or scratch file in the store."""
    assert runner("images", "-qa").stdout == ""
    root = runner.root
    for directory in (root / "layers", root / "blobs" / "blobs" / "sha256"):
        assert not directory.exists() or sorted(directory.iterdir()) == [], directory
    tmp = root / "tmp"
    scratch = [p for p in tmp.rglob("*") if not p.is_dir()] if tmp.exists() else []
    assert scratch == []  # no download, layer or scratch file left


@pytest.fixture(params=["rootful", "rootless"])
def engine(request, tmp_path):
    """pod as root, or as the rootless user, with a fresh store and a work dir it can use."""
    if request.param == "rootful":
        runner = request.getfixturevalue("pod")
        work = tmp_path / "work"
        work.mkdir()
        runner.user, runner.work = None, work
        return runner
    user = request.getfixturevalue("rootless_user")
    runner = request.getfixturevalue("rootless_pod")
    runner.work = user.make_tmpdir("archives")
    return runner


@pytest.fixture
def layered(engine, test_images) -> str:
    engine("pull", "-q", test_images.layered.ref, check=True)
    return test_images.layered.ref


@pytest.fixture
def pod_layered(pod, test_images) -> str:
    """The layered image in the root `pod`'s store (tests that run rootful only)."""
    pod("pull", "-q", test_images.layered.ref, check=True)
    return test_images.layered.ref


def fresh_store(engine, name: str):
    """Another store for the same engine (what was saved is loaded there)."""
    if engine.user is None:
        from runners import PodRunner

        runner = PodRunner(engine.work / name, insecure=engine.insecure)
        runner.user, runner.work = None, engine.work
        return runner
    from runners import RootlessPod

    runner = RootlessPod(engine.user, engine.user.make_tmpdir(name))
    runner.work = engine.work
    return runner


def check_layered(runner, image: str, test_images) -> None:
    """The layered image's files, through a container (whiteouts, opaque dirs applied)."""
    shown = runner("run", "--rm", image, "cat", "/data/layer3.txt", "/data/opaque/new.txt")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout == "layer 3\nnew in layer 3\n"
    gone = runner("run", "--rm", image, "ls", "/data/opaque")
    assert gone.stdout.split() == ["new.txt"]


# --- round trips -------------------------------------------------------------------------------


@pytest.mark.needs_tool("skopeo")
@pytest.mark.parametrize("fmt", list(FORMATS))
def test_pod_to_skopeo_to_pod(engine, layered, test_images, fmt):
    saved = engine.work / f"pod.{fmt}"
    done = engine("save", "-q", "--format", fmt, "-o", saved, layered)
    assert done.returncode == 0, done.stderr
    copied = engine.work / f"skopeo.{fmt}"
    destination = skopeo_ref(fmt, copied)
    if fmt == "docker-archive":
        destination += ":test/layered:copied"
    skopeo("copy", "-q", skopeo_ref(fmt, saved, test_images.layered.ref), destination)
    readable_by(engine.user, copied)
    other = fresh_store(engine, f"back-{fmt}")
    loaded = other(*load_args(fmt, copied))
    assert loaded.returncode == 0, loaded.stderr
    ids = other("images", "-q", "--no-trunc").stdout.split()
    assert ids == [f"sha256:{test_images.layered.id}"]
    if fmt == "docker-archive":
        assert "Loaded image: docker.io/test/layered:copied" in loaded.stdout
        check_layered(other, "docker.io/test/layered:copied", test_images)


@pytest.mark.needs_tool("skopeo")
@pytest.mark.parametrize("fmt", list(FORMATS))
def test_skopeo_to_pod_to_skopeo(engine, test_images, fmt):
    source = test_images.layered
    written = engine.work / f"skopeo.{fmt}"
    destination = skopeo_ref(fmt, written)
    if fmt == "docker-archive":
        destination += ":test/layered:v1"
    skopeo("copy", "-q", source.oci_ref, destination)
    readable_by(engine.user, written)
    loaded = engine(*load_args(fmt, written))
    assert loaded.returncode == 0, loaded.stderr
    check_layered(engine, source.id, test_images)
    out = engine.work / f"pod.{fmt}"
    saved = engine("save", "-q", "--format", fmt, "-o", out, source.id)
    assert saved.returncode == 0, saved.stderr
    again = skopeo_ref(fmt, out, "")
    if fmt == "oci-dir":  # saved by ID: the layout's one image has no ref name
        again = f"oci:{out}"
    assert skopeo_config_digest(again) == source.config_digest
    assert skopeo_diff_ids(again) == list(source.diff_ids)


def test_docker_archive_is_laid_out_as_podman_writes_it(pod, pod_layered, test_images, tmp_path):
    out = tmp_path / "a.tar"
    pod("save", "-o", out, pod_layered, check=True)
    with tarfile.open(out) as tar:
        names = tar.getnames()
        manifest = json.loads(tar.extractfile("manifest.json").read())
        repositories = json.loads(tar.extractfile("repositories").read())
        members = {m.name: m for m in tar.getmembers()}
    assert names[-2:] == ["manifest.json", "repositories"]
    [entry] = manifest
    assert entry["RepoTags"] == [pod_layered]
    assert entry["Config"] == test_images.layered.id + ".json"
    assert entry["Layers"] == [d[7:] + ".tar" for d in test_images.layered.diff_ids]
    top = repositories[pod_layered.rpartition(":")[0]]["latest"]
    assert members[f"{top}/layer.tar"].issym()
    assert members[f"{top}/VERSION"].size == 3
    assert all(m.uid == 0 and m.mtime == 0 for m in members.values())


def test_more_names_are_tags_and_multi_image_archives_hold_several(pod, test_images, tmp_path):
    pod("pull", "-q", test_images.layered.ref, check=True)
    pod("pull", "-q", test_images.busybox.ref, check=True)
    pod("tag", test_images.layered.ref, "extra:1", check=True)
    tags = tmp_path / "tags.tar"
    pod("save", "-o", tags, test_images.layered.ref, "extra:1", check=True)
    with tarfile.open(tags) as tar:
        [entry] = json.loads(tar.extractfile("manifest.json").read())
    assert entry["RepoTags"] == [test_images.layered.ref, "localhost/extra:1"]
    multi = tmp_path / "multi.tar"
    pod("save", "-m", "-o", multi, test_images.layered.ref, test_images.busybox.ref, check=True)
    pod("rmi", "-a", "-f", check=True)
    loaded = pod("load", "-i", multi)
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout == (
        f"Loaded image: {test_images.layered.ref}\nLoaded image: {test_images.busybox.ref}\n"
    )
    assert sorted(pod("images", "-q", "--no-trunc").stdout.split()) == sorted(
        f"sha256:{i.id}" for i in (test_images.layered, test_images.busybox)
    )
    by_id = tmp_path / "by-id.tar"
    pod("save", "-o", by_id, test_images.busybox.id, check=True)
    pod("rmi", "-a", "-f", check=True)
    assert pod("load", "-i", by_id).stdout == f"Loaded image: sha256:{test_images.busybox.id}\n"


def test_save_and_load_through_pipes_plain_and_gzip(pod, pod_layered, test_images, tmp_path):
    saved = pod("save", pod_layered, text=False)
    assert saved.returncode == 0, saved.stderr
    assert tarfile.is_tarfile(_write(tmp_path / "s.tar", saved.stdout))
    pod("rmi", "-a", check=True)
    loaded = pod("load", input=saved.stdout, text=False)
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout == f"Loaded image: {pod_layered}\n".encode()
    pod("rmi", "-a", check=True)
    import gzip

    loaded = pod("load", "-q", input=gzip.compress(saved.stdout), text=False)
    assert loaded.returncode == 0, loaded.stderr
    check_layered(pod, pod_layered, test_images)


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def in_terminal(runner, *args: str) -> tuple[int, str]:
    """`pod ARGS` with a terminal as stdin and stdout: its exit code and what it showed."""
    from terminal import exit_code, read_until, spawn

    pid, master = spawn(runner.command(*args), runner.env())
    try:
        shown = read_until(master, b"\n", timeout=30)
        return exit_code(pid), shown.decode(errors="replace")
    finally:
        os.close(master)


def test_save_refuses_a_terminal_and_flags_are_checked(pod, pod_layered, tmp_path):
    code, shown = in_terminal(pod, "save", pod_layered)
    assert code == 125
    assert "refusing to save to terminal. Use -o flag or redirect" in shown
    for args, message in [  # podman 4.3's words
        (["--format", "tar"], "format value must be one of oci-dir oci-archive docker-dir"),
        (["--compress"], "--compress can only be set when --format is 'docker-dir'"),
        (["--format", "oci-archive", "-m", pod_layered],
         'unsupported format "oci-archive" for saving multiple images (only docker-archive)'),
    ]:  # fmt: skip
        result = pod("save", *args, "-o", tmp_path / "x", pod_layered)
        assert result.returncode == 125, args
        assert result.stderr.startswith(f"Error: {message}"), result.stderr
    # As podman: -m with one image is no error in any format, nor is --uncompressed beside
    # --compress (it is about OCI layers; docker-dir's are compressed).
    for fmt, extra in [("oci-archive", ["-m"]), ("docker-dir", ["--compress", "--uncompressed"])]:
        out = tmp_path / f"ok-{fmt}"
        pod("save", "-q", "--format", fmt, *extra, "-o", out, pod_layered, check=True)
        assert out.exists()
    exists = tmp_path / "exists.tar"
    exists.write_text("x")
    result = pod("save", "-o", exists, pod_layered)
    assert "docker-archive doesn't support modifying existing images" in result.stderr
    assert pod("save", "-o", tmp_path / "y.tar", "no-such-image").returncode == 125
    assert not (tmp_path / "y.tar").exists()


def test_load_refuses_a_terminal(pod):
    code, shown = in_terminal(pod, "load")
    assert code == 125
    assert "cannot read from terminal, use command-line redirection or the --input flag" in shown


# --- podman ------------------------------------------------------------------------------------


@pytest.fixture
def podman(tmp_path):
    """podman 4.3.1, the oracle (.ci/run installs it): missing, the tests fail, not skip."""
    base = tmp_path / "podman"
    runroot = Path(tempfile.mkdtemp(prefix="pr-"))  # podman wants a short one

    def run(*args, check=True):
        argv = ["podman", "--root", base / "root", "--runroot", runroot]
        argv += ["--cgroup-manager", "cgroupfs", "--events-backend", "none", *map(str, args)]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0 or not check, done.stderr
        return done

    yield run
    shutil.rmtree(runroot, ignore_errors=True)


def test_podman_save_output_loads_in_pod_and_pod_save_in_podman(pod, podman, test_images, tmp_path):
    layered = test_images.layered
    podman("pull", "-q", layered.oci_ref)
    for fmt in ("docker-archive", "oci-archive"):
        from_podman = tmp_path / f"podman.{fmt}"
        podman("save", "-q", "--format", fmt, "-o", from_podman, layered.id)
        loaded = pod("load", "-q", "-i", from_podman)
        assert loaded.returncode == 0, loaded.stderr
        assert pod("images", "-q", "--no-trunc").stdout.split() == [f"sha256:{layered.id}"]
        check_layered(pod, layered.id, test_images)
        from_pod = tmp_path / f"pod.{fmt}"
        pod("tag", layered.id, "localhost/from-pod:1", check=True)
        pod("save", "-q", "--format", fmt, "-o", from_pod, "localhost/from-pod:1", check=True)
        podman("rmi", "-a", "-f")
        assert "localhost/from-pod:1" in podman("load", "-i", from_pod).stdout
        assert podman("images", "-q", "--no-trunc").stdout.split() == [f"sha256:{layered.id}"]
        pod("rmi", "-a", "-f", check=True)
        podman("pull", "-q", layered.oci_ref)


# --- hostile archives ----------------------------------------------------------------------------


def built_layered():
    busybox = Path("/bin/busybox")
    base = busybox_layer(busybox, busybox_applets(busybox))
    extra = layered_layers()
    config = busybox_config([base.diff_id] + [x.diff_id for x in extra], labels={"layers": "3"})
    return make_image([base, *extra], config)


def hostile_archives(sentinel: Path, marker: str, work: Path) -> dict[str, Path]:
    """Archives that attack the reader, each written under `work`."""
    image = built_layered()
    good = docker_entries([(image, ["hostile/test:1"])])
    layer_file = manifest_of(good)[0]["Layers"][0]
    archives = {}

    def entry_names(layers: list[str]) -> list:
        manifest = manifest_of(good)
        manifest[0]["Layers"] = layers + manifest[0]["Layers"][1:]
        return with_manifest(good, manifest)

    archives["manifest_traversal"] = entry_names(["../../../../" + str(sentinel)[1:] + "/victim"])
    archives["manifest_absolute"] = entry_names([f"{sentinel}/victim"])
    archives["layer_link_out"] = replace_entry(
        good, layer_file, Symlink(layer_file, "../../../../../../" + str(sentinel)[1:] + "/victim")
    )
    archives["layer_link_absolute"] = replace_entry(
        good, layer_file, Symlink(layer_file, f"{sentinel}/victim")
    )
    archives["layer_hardlink_out"] = replace_entry(
        good, layer_file, Hardlink(layer_file, f"../{sentinel}/victim")
    )
    real = File("real-manifest.json", next(e.data for e in good if e.name == "manifest.json"))
    archives["symlinked_manifest"] = [
        real,
        *replace_entry(good, "manifest.json", Symlink("manifest.json", "real-manifest.json")),
    ]
    wrong = json.loads(image.config.data)
    wrong["rootfs"]["diff_ids"][1] = "sha256:" + "0" * 64
    wrong_config = json.dumps(wrong).encode()
    manifest = manifest_of(good)
    archives["diff_id_mismatch"] = [
        *with_manifest(good, [{**manifest[0], "Config": "wrong.json"}]),
        File("wrong.json", wrong_config),
    ]
    # a good image first, a bad one second: the first must not be stored either
    attack = hostile_images(sentinel, marker)["dotdot"][0]
    evil = make_image([Layer(build_tar(attack, sort=False))], cmd=["/bin/sh"])
    archives["second_image_hostile"] = docker_entries([(image, ["ok:1"]), (evil, ["evil:1"])])
    oci = oci_entries(image)
    manifest_blob = f"blobs/sha256/{image.digest[7:]}"
    tampered = image.manifest.replace(b'"size":', b'"size": ', 1)
    archives["oci_manifest_digest"] = replace_entry(
        oci, manifest_blob, File(manifest_blob, tampered)
    )
    layer_blob = f"blobs/sha256/{image.layers[1].digest[7:]}"
    swapped = image.layers[2].data.ljust(len(image.layers[1].data), b"\0")
    archives["oci_layer_digest"] = replace_entry(oci, layer_blob, File(layer_blob, swapped))
    return {name: write_tar(work / f"{name}.tar", entries) for name, entries in archives.items()}


HOSTILE = [
    "manifest_traversal",
    "manifest_absolute",
    "layer_link_out",
    "layer_link_absolute",
    "layer_hardlink_out",
    "symlinked_manifest",
    "diff_id_mismatch",
    "second_image_hostile",
    "oci_manifest_digest",
    "oci_layer_digest",
]


@pytest.fixture(scope="module")
def hostile_archive_dir(tmp_path_factory, test_images):
    work = Path(tmp_path_factory.mktemp("hostile-archives"))
    work.chmod(0o755)
    hostile = test_images.hostile
    archives = hostile_archives(hostile.sentinel_dir, hostile.escape_marker, work)
    for path in archives.values():
        path.chmod(0o644)
    return archives


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_archives_are_refused_with_nothing_written(
    engine, test_images, hostile_archive_dir, name
):
    hostile = test_images.hostile
    hostile.reset()
    archive = hostile_archive_dir[name]
    if engine.user is not None:
        copy = engine.work / archive.name
        shutil.copy(archive, copy)
        readable_by(engine.user, copy)
        archive = copy
    result = engine("load", "-i", archive)
    assert result.returncode == 125, (result.stdout, result.stderr)
    assert result.stderr.splitlines()[-1].startswith("Error: ")
    assert "Traceback" not in result.stderr
    if name == "diff_id_mismatch":  # the layer named as in the archive, not pod's scratch copy
        assert "but the image config says sha256:000" in result.stderr
        assert ".blob" not in result.stderr and ".tar: uncompressed content" in result.stderr
    hostile.assert_untouched()
    assert hostile.find_escapes(engine.root) == []
    assert_nothing_stored(engine)


def test_hostile_archives_through_the_transports_too(pod, test_images, hostile_archive_dir):
    for name in ("manifest_traversal", "layer_link_out", "symlinked_manifest"):
        result = pod("pull", f"docker-archive:{hostile_archive_dir[name]}")
        assert result.returncode == 125, result.stderr
    result = pod("pull", f"oci-archive:{hostile_archive_dir['oci_layer_digest']}")
    assert result.returncode == 125
    assert_nothing_stored(pod)


def test_a_symlinked_oci_layout_file_is_refused(pod, test_images, tmp_path):
    layout = tmp_path / "layout"
    shutil.copytree(test_images.layered.oci_layout_dir, layout)
    (tmp_path / "elsewhere.json").write_bytes((layout / "index.json").read_bytes())
    (layout / "index.json").unlink()
    (layout / "index.json").symlink_to(tmp_path / "elsewhere.json")
    result = pod("pull", f"oci:{layout}:latest")
    assert result.returncode == 125
    assert "index.json" in result.stderr
    assert_nothing_stored(pod)
    os.unlink(layout / "index.json")
