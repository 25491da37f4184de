"""`pod export` and `pod import`: a container's file system out as a tar and back in as an image,
with podman's --change instructions; a hostile tarball is refused with nothing written."""

from __future__ import annotations

import gzip
import http.server
import io
import json
import subprocess
import tarfile
import threading
from pathlib import Path

import pytest
from image_builder import File, build_tar, hostile_images


def test_export_to_stdout_and_a_file(pod, busybox, tmp_path):
    pod("run", "--name", "c1", busybox, "sh", "-c", "echo changed > /root/new.txt", check=True)
    streamed = pod("export", "c1", text=False)
    assert streamed.returncode == 0, streamed.stderr
    out = tmp_path / "c1.tar"
    pod("export", "-o", out, "c1", check=True)
    assert out.read_bytes() == streamed.stdout
    with tarfile.open(out) as tar:
        names = tar.getnames()
        assert tar.extractfile("root/new.txt").read() == b"changed\n"
        owned = tar.getmember("home/tester/owned.txt")
    assert "bin/busybox" in names and not any(n.startswith(("/", "./")) for n in names)
    assert (owned.uid, owned.gid) == (1000, 1000)
    missing = pod("export", "-o", tmp_path / "x.tar", "no-such-container")
    assert missing.returncode == 125


def test_import_with_changes_runs_and_keeps_the_history(pod, busybox, tmp_path):
    pod("create", "--name", "c1", busybox, check=True)
    tarball = tmp_path / "fs.tar"
    pod("export", "-o", tarball, "c1", check=True)
    done = pod(
        "import",
        "-c", 'CMD ["cat", "/etc/greeting"]',
        "-c", "ENV GREETING=hi",
        "-c", "WORKDIR /tmp",
        "-c", "LABEL kind=imported",
        "-c", "EXPOSE 8080",
        "-c", "USER tester",
        "-c", 'ENTRYPOINT ["/bin/sh", "-c"]',
        "-c", "VOLUME /data",
        "-c", "STOPSIGNAL SIGUSR1",
        "-c", "ONBUILD RUN echo later",
        "-m", "imported for a test",
        tarball,
        "imported:1",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    image_id = done.stdout.strip()
    assert image_id.startswith("sha256:") and len(image_id) == 71
    [inspect] = json.loads(pod("image", "inspect", "imported:1", check=True).stdout)
    config = inspect["Config"]
    assert config["Cmd"] == ["cat", "/etc/greeting"]
    assert "GREETING=hi" in config["Env"]
    assert (config["WorkingDir"], config["User"]) == ("/tmp", "tester")
    assert config["Labels"] == {"kind": "imported"}
    assert "8080/tcp" in config["ExposedPorts"]
    assert config["Entrypoint"] == ["/bin/sh", "-c"] and config["Volumes"] == {"/data": {}}
    assert config["StopSignal"] == "SIGUSR1"
    history = pod("history", "--format", "{{.Comment}}", "imported:1", check=True)
    assert history.stdout == "imported for a test\n"
    # podman's inspect shows an OCI image's first history comment, its step without a blank
    assert inspect["Comment"] == "imported for a test"
    diff_id = inspect["RootFS"]["Layers"][0]
    assert inspect["History"][0]["created_by"] == (f"/bin/sh -c #(nop) ADD file:{diff_id[7:]} in /")
    shown = pod(
        "run", "--rm", "--user", "0", "--entrypoint", "", "imported:1",
        "sh", "-c", "id -u; pwd; echo $GREETING",
    )  # fmt: skip
    assert shown.stdout == "0\n/tmp\nhi\n", shown.stderr
    bad = pod("import", "-c", "FROM scratch", tarball)
    assert bad.returncode == 125 and "invalid change" in bad.stderr


def test_import_from_stdin_compressed_and_with_a_platform(pod, busybox, tmp_path):
    pod("create", "--name", "c1", busybox, check=True)
    data = pod("export", "c1", text=False).stdout
    done = pod(
        "import", "--arch", "arm64", "--variant", "v8", "-", input=gzip.compress(data), text=False
    )
    assert done.returncode == 0, done.stderr
    image = done.stdout.decode().strip()
    arch = pod("image", "inspect", image, "--format", "{{.Architecture}}", check=True)
    assert arch.stdout.strip() == "arm64"


def test_import_from_a_url(pod, tmp_path):
    tarball = tmp_path / "served" / "fs.tar"
    tarball.parent.mkdir()
    tarball.write_bytes(build_tar([File("hello.txt", "hello from a url\n")]))

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(tarball.parent), **kwargs)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/fs.tar"
        done = pod("import", "-q", url, "from-url:1")
        assert done.returncode == 0, done.stderr
        lines = done.stdout.splitlines()  # podman says where it downloads from, -q or not
        assert lines[0] == f'Downloading from "{url}"' and lines[1].startswith("sha256:")
        gone = pod("import", f"http://127.0.0.1:{server.server_address[1]}/missing.tar")
        assert gone.returncode == 125 and "downloading" in gone.stderr
    finally:
        server.shutdown()
    inspect = json.loads(pod("image", "inspect", "from-url:1", check=True).stdout)[0]
    upper = Path(inspect["GraphDriver"]["Data"]["UpperDir"])
    assert (upper / "hello.txt").read_text() == "hello from a url\n"


def test_a_hostile_tarball_is_refused_with_nothing_written(pod, test_images, tmp_path):
    hostile = test_images.hostile
    hostile.reset()
    attack = hostile_images(hostile.sentinel_dir, hostile.escape_marker)["dotdot"][0]
    tarball = tmp_path / "evil.tar"
    tarball.write_bytes(build_tar(attack, sort=False))
    done = pod("import", tarball, "evil:1")
    assert done.returncode == 125
    assert "Traceback" not in done.stderr
    hostile.assert_untouched()
    assert hostile.find_escapes(tmp_path) == []
    assert pod("images", "-qa").stdout == ""
    layers = pod.root / "layers"
    assert not layers.exists() or list(layers.iterdir()) == []


@pytest.mark.rootless
def test_rootless_export_and_import(rootless_user, rootless_pod, rootless_busybox):
    work = Path(rootless_user.make_tmpdir("export"))
    rootless_pod("create", "--name", "c1", rootless_busybox, check=True)
    tarball = work / "fs.tar"
    done = rootless_pod("export", "-o", tarball, "c1")
    assert done.returncode == 0, done.stderr
    with tarfile.open(tarball) as tar:
        owned = tar.getmember("home/tester/owned.txt")
    assert (owned.uid, owned.gid) == (1000, 1000)  # the container's ids, not the host's
    imported = rootless_pod("import", "-q", "-c", "CMD id -u tester", tarball, "again:1")
    assert imported.returncode == 0, imported.stderr
    shown = rootless_pod("run", "--rm", "again:1")
    assert (shown.returncode, shown.stdout) == (0, "1000\n"), shown.stderr
    piped = rootless_user.run(
        "sh", "-c", f"{rootless_user.pod_bin} --root {rootless_pod.root} "
        f"--runroot {rootless_pod.runroot} export c1 | wc -c"
    )  # fmt: skip
    assert int(piped.stdout) == tarball.stat().st_size


def test_export_of_a_running_container(pod, busybox):
    pod("run", "-d", "--name", "up", busybox, "sh", "-c", "echo live > /live; sleep 60", check=True)
    try:
        for _ in range(50):
            streamed = pod("export", "up", text=False)
            with subprocess.Popen(["tar", "t"], stdin=subprocess.PIPE, stdout=subprocess.PIPE) as t:
                listing = t.communicate(streamed.stdout)[0].decode()
            if "live" in listing.split():
                break
        names = listing.split()
        assert "live" in names
        assert "proc/" in names and not any(n.startswith("proc/self") for n in names)
    finally:
        pod("rm", "-f", "-t", "0", "up")


@pytest.mark.rootless
def test_rootless_export_of_a_running_container_with_a_volume(
    rootless_user, rootless_pod, rootless_busybox
):
    script = "echo live > /live; echo vol > /vol/in-volume; sleep 60"
    rootless_pod(
        "run", "-d", "--name", "up", "-v", "data:/vol", rootless_busybox, "sh", "-c", script,
        check=True,
    )  # fmt: skip
    try:
        for _ in range(50):
            done = rootless_pod("export", "up", text=False)
            assert done.returncode == 0, done.stderr
            with tarfile.open(fileobj=io.BytesIO(done.stdout)) as tar:
                names = tar.getnames()
                if "live" in names:
                    owned = tar.getmember("home/tester/owned.txt")
                    break
        assert "live" in names and "vol/in-volume" not in names  # the rootfs only, as podman
        assert not any(n.startswith("proc/self") for n in names)
        assert (owned.uid, owned.gid) == (1000, 1000)
    finally:
        rootless_pod("rm", "-f", "-t", "0", "up")
