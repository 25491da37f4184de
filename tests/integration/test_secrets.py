"""Secrets: `pod secret create|ls|inspect|rm` against podman's outputs and exit codes, and
`run --secret` with real containers: a read-only file from a tmpfs (never the container's
upper dir, never a file on disk beyond the store's 0600 copy) or an environment variable (never
in inspect's Config.Env nor in config.json); `build --secret id=NAME` from the store. With
pod's runtime and runc; rootless too.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

DATA = "hunter2-" + os.urandom(6).hex()  # unique: searched for on disk


def _tmpfs_mounts() -> set[str]:
    with open("/proc/self/mounts") as mounts:
        return {line.split()[1] for line in mounts if line.split()[2] == "tmpfs"}


def _files_holding(root: Path, needle: bytes, skip: Path) -> list[Path]:
    """Files on disk under `root` (not under `skip`, the store's own secret data, nor on a
    tmpfs: a running container's secrets are there) holding `needle`."""
    found = []
    memory = _tmpfs_mounts()
    for dirpath, dirs, names in os.walk(root):
        if Path(dirpath) == skip or dirpath in memory:
            dirs[:] = []
            continue
        for name in names:
            path = Path(dirpath, name)
            if path.is_file() and not path.is_symlink() and needle in path.read_bytes():
                found.append(path)
    return found


def _create(pod, name: str = "mysec", data: str = DATA, *args: str) -> str:
    return pod("secret", "create", *args, name, "-", input=data, check=True).stdout.strip()


# --- the commands ---------------------------------------------------------------------------


def test_create_list_inspect_remove(pod, tmp_path):
    secret_id = _create(pod, "mysec", DATA, "--label", "a=b")
    assert len(secret_id) == 25 and int(secret_id, 16) >= 0
    source = tmp_path / "file"
    source.write_text("from a file")
    pod("secret", "create", "fromfile", str(source), check=True)
    pod("secret", "create", "--env", "fromenv", "MYVAR", env={"MYVAR": "x"}, check=True)
    listing = pod("secret", "ls", check=True).stdout.splitlines()
    assert listing[0].split() == ["ID", "NAME", "DRIVER", "CREATED", "UPDATED"]
    assert [line.split()[1] for line in listing[1:]] == ["mysec", "fromfile", "fromenv"]
    assert pod("secret", "list", "--noheading", "--format", "{{.Name}} {{.Driver}}").stdout == (
        "mysec file\nfromfile file\nfromenv file\n"
    )
    assert pod("secret", "ls", "-q").stdout.split()[0] == secret_id
    names = pod("secret", "ls", "--filter", "name=^from", "--format", "{{.Name}}").stdout
    assert names.split() == ["fromfile", "fromenv"]
    by_id = pod("secret", "ls", "--filter", f"id={secret_id[3:9]}", "--format", "{{.Name}}")
    assert by_id.stdout == "mysec\n"
    either = pod("secret", "ls", "--filter", "name=fromenv", "--filter", f"id={secret_id}",
                 "--format", "{{.Name}}")  # fmt: skip
    assert either.stdout.split() == ["mysec", "fromenv"]  # podman 4.3: any filter matches
    document = json.loads(pod("secret", "inspect", "mysec", check=True).stdout)
    assert list(document[0]) == ["ID", "CreatedAt", "UpdatedAt", "Spec"]
    assert document[0]["ID"] == secret_id
    assert document[0]["Spec"] == {
        "Name": "mysec",
        "Driver": {"Name": "file", "Options": {"path": str(pod.root / "secrets" / "data")}},
        "Labels": {"a": "b"},
    }
    assert DATA not in pod("secret", "inspect", secret_id[:6], check=True).stdout
    formatted = pod("secret", "inspect", "--format", "{{.Spec.Name}} {{.Spec.Labels}}", "mysec")
    assert formatted.stdout == "mysec map[a:b]\n"
    assert "Name:              mysec" in pod("secret", "inspect", "--pretty", "mysec").stdout
    removed = pod("secret", "rm", "fromfile", "fromenv", check=True)
    assert len(removed.stdout.split()) == 2
    assert pod("secret", "rm", "-a", check=True).stdout == f"{secret_id}\n"
    assert pod("secret", "ls", "-q").stdout == ""


def test_the_store_keeps_data_alone_and_private(pod):
    secret_id = _create(pod)
    data_file = pod.root / "secrets" / "data" / secret_id
    assert data_file.read_text() == DATA
    assert stat.S_IMODE(data_file.stat().st_mode) == 0o600
    for directory in (pod.root / "secrets", data_file.parent):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert stat.S_IMODE((pod.root / "secrets" / "secrets.json").stat().st_mode) == 0o600
    assert DATA not in (pod.root / "secrets" / "secrets.json").read_text()
    pod("secret", "rm", "mysec", check=True)
    assert not data_file.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["bad/name", "/etc/hostname"], "bad/name: invalid secret name"),
        (["../x", "/etc/hostname"], "../x: invalid secret name"),
        (["a" * 65, "/etc/hostname"], "invalid secret name"),
        (["abc-", "/etc/hostname"], "abc-: invalid secret name"),
        (["empty", "/dev/null"], "secret data must be larger than 0 and less than 512000 bytes"),
        (["nofile", "/nonexist"], "open /nonexist: no such file or directory"),
        (["--driver", "pass", "p", "/etc/hostname"], 'unsupported secret driver "pass"'),
        (["--env", "e", "POD_TEST_NOT_SET"], "environment variable POD_TEST_NOT_SET is not set"),
    ],
)
def test_create_refuses(pod, args, message):
    result = pod("secret", "create", *args)
    assert result.returncode == 125
    assert message in result.stderr
    assert (
        not (pod.root / "secrets" / "secrets.json").exists()
        or pod("secret", "ls", "-q").stdout == ""
    )


def test_errors_and_exit_codes(pod):
    _create(pod)
    again = pod("secret", "create", "mysec", "-", input="x")
    assert (again.returncode, again.stderr) == (125, "Error: mysec: secret name in use\n")
    missing = pod("secret", "inspect", "mysec", "nope")
    assert missing.returncode == 125
    assert json.loads(missing.stdout)[0]["Spec"]["Name"] == "mysec"
    assert missing.stderr == (
        'Error: inspecting secret: no secret with name or id "nope": no such secret\n'
    )
    assert pod("secret", "rm", "nope").returncode == 125
    for args in ([], ["-a", "mysec"]):
        result = pod("secret", "rm", *args)
        assert result.returncode == 125
        assert "requires one argument, or the --all flag" in result.stderr
    assert pod("secret", "ls", "--filter", "label=a").returncode == 125


# --- run --secret ---------------------------------------------------------------------------


def test_mounted_secret(pod, busybox, runtime):
    secret_id = _create(pod)
    shown = pod("run", "--rm", "--runtime", runtime, "--secret", "mysec", busybox, "sh", "-c",
                "cat /run/secrets/mysec; echo; stat -c '%u %g %a' /run/secrets/mysec;"
                " grep ' /run/secrets/mysec ' /proc/mounts", check=True)  # fmt: skip
    data, owner, mount = shown.stdout.splitlines()
    assert (data, owner) == (DATA, "0 0 444")
    assert mount.split()[2] == "tmpfs" and "ro" in mount.split()[3].split(",")
    custom = pod("run", "--rm", "--runtime", runtime, "--secret",
                 "mysec,target=/etc/app.key,uid=5,gid=6,mode=0400", "--secret",
                 "mysec,target=other", busybox, "sh", "-c",
                 "stat -c '%u %g %a' /etc/app.key /run/secrets/other; cat /run/secrets/other",
                 check=True)  # fmt: skip
    assert custom.stdout.splitlines() == ["5 6 400", "0 0 444", DATA]
    written = pod("run", "--rm", "--runtime", runtime, "--secret", "mysec", busybox,
                  "sh", "-c", "echo x > /run/secrets/mysec")  # fmt: skip
    assert written.returncode != 0  # read-only
    pod("run", "-d", "--name", "keep", "--runtime", runtime, "--secret", "mysec", busybox,
        "sleep", "60", check=True)  # fmt: skip
    secrets = json.loads(pod("inspect", "--format", "{{json .Config.Secrets}}", "keep").stdout)
    assert secrets == [{"Name": "mysec", "ID": secret_id, "UID": 0, "GID": 0, "Mode": 292}]
    assert pod("exec", "keep", "cat", "/run/secrets/mysec", check=True).stdout == DATA
    leaks = _files_holding(pod.root, DATA.encode(), pod.root / "secrets" / "data")
    leaks += _files_holding(pod.runroot, DATA.encode(), pod.root / "secrets" / "data")
    assert leaks == []
    in_use = pod("secret", "rm", "mysec")
    assert in_use.returncode == 125 and "is in use by container(s)" in in_use.stderr
    pod("stop", "-t", "0", "keep", check=True)
    assert pod("start", "keep", check=True).returncode == 0  # mounted afresh
    assert pod("exec", "keep", "cat", "/run/secrets/mysec", check=True).stdout == DATA
    container_id = pod("inspect", "--format", "{{.Id}}", "keep").stdout.strip()
    pod("rm", "-f", "-t", "0", "keep", check=True)
    assert not (pod.root / "containers" / container_id).exists()
    pod("secret", "rm", "mysec", check=True)


def test_environment_secret(pod, busybox, runtime):
    _create(pod)
    shown = pod("run", "--rm", "--runtime", runtime, "--secret", "mysec,type=env", "--secret",
                "mysec,type=env,target=FOO", busybox, "sh", "-c",
                'echo "$mysec $FOO"; ls /run/secrets 2>&1; true', check=True)  # fmt: skip
    assert shown.stdout.splitlines()[0] == f"{DATA} {DATA}"
    assert "No such file or directory" in shown.stdout
    pod("run", "-d", "--name", "env", "--runtime", runtime, "--secret",
        "mysec,type=env,target=FOO", "-e", "BAR=1", busybox, "sleep", "60", check=True)  # fmt: skip
    env = json.loads(pod("inspect", "--format", "{{json .Config.Env}}", "env").stdout)
    assert "BAR=1" in env and not any(item.startswith("FOO=") for item in env)
    config = json.loads(pod("inspect", "env", check=True).stdout)[0]["Config"]
    assert "Secrets" not in config  # podman lists mount secrets only (omitted when none)
    assert DATA not in json.dumps(config)
    assert f"FOO={DATA}" in pod("exec", "env", "env", check=True).stdout.splitlines()
    leaks = _files_holding(pod.root, DATA.encode(), pod.root / "secrets" / "data")
    assert leaks == []


@pytest.mark.parametrize(
    ("flag", "message"),
    [
        ("nope", 'no secret with name or id "nope": no such secret'),
        ("mysec,type=bogus", "type bogus is invalid: parsing secret"),
        ("mysec,bogus=1", "option bogus=1 invalid: parsing secret"),
        ("mysec,type=env,uid=4", "UID, GID, Mode options cannot be set with secret type env"),
        ("mysec,mode=abc", "mode abc invalid: parsing secret"),
        ("type=env", "no source found type=env: parsing secret"),
    ],
)
def test_run_refuses_bad_secrets(pod, busybox, flag, message):
    _create(pod)
    result = pod("run", "--rm", "--secret", flag, busybox, "true")
    assert result.returncode == 125
    assert message in result.stderr
    assert pod("ps", "-a", "-q").stdout == ""


def test_build_secret_from_the_store(pod, busybox, tmp_path):
    _create(pod, "buildsec")
    context = tmp_path / "ctx"
    context.mkdir()
    (context / "Containerfile").write_text(
        f"FROM {busybox}\n"
        "RUN --mount=type=secret,id=buildsec test -f /run/secrets/buildsec"
        " && sha256sum /run/secrets/buildsec | cut -d' ' -f1 > /sum\n"
    )
    built = pod("build", "-q", "--secret", "id=buildsec", str(context), timeout=300)
    assert built.returncode == 0, built.stderr
    image = built.stdout.split()[-1]
    import hashlib

    expected = hashlib.sha256(DATA.encode()).hexdigest()
    assert pod("run", "--rm", image, "cat", "/sum", check=True).stdout.strip() == expected
    leaks = _files_holding(pod.root, DATA.encode(), pod.root / "secrets" / "data")
    assert leaks == []
    missing = pod("build", "-q", "--secret", "id=nosuch", str(context))
    assert missing.returncode == 125 and "nor a secret of that name" in missing.stderr


# --- rootless -------------------------------------------------------------------------------


@pytest.mark.rootless
def test_rootless_mounted_secret(rootless_pod, rootless_busybox):
    rootless_pod("secret", "create", "mysec", "-", input=DATA, check=True)
    data_dir = rootless_pod.root / "secrets" / "data"
    assert [stat.S_IMODE(p.stat().st_mode) for p in data_dir.iterdir()] == [0o600]
    shown = rootless_pod("run", "--rm", "--secret", "mysec,uid=5,gid=6,mode=0440",
                         rootless_busybox, "sh", "-c",
                         "stat -c '%u %g %a' /run/secrets/mysec; cat /run/secrets/mysec",
                         check=True)  # fmt: skip
    assert shown.stdout.splitlines() == ["5 6 440", DATA]
    rootless_pod("run", "-d", "--name", "keep", "--secret", "mysec", rootless_busybox,
                 "sleep", "60", check=True)  # fmt: skip
    assert rootless_pod("exec", "keep", "cat", "/run/secrets/mysec").stdout == DATA
    assert _files_holding(rootless_pod.tmp, DATA.encode(), data_dir) == []
    rootless_pod("rm", "-f", "-t", "0", "keep", check=True)
    rootless_pod("secret", "rm", "mysec", check=True)


@pytest.mark.rootless
def test_rootless_environment_secret(rootless_pod, rootless_busybox):
    rootless_pod("secret", "create", "mysec", "-", input=DATA, check=True)
    shown = rootless_pod("run", "--rm", "--secret", "mysec,type=env,target=FOO",
                         rootless_busybox, "sh", "-c", 'echo "$FOO"', check=True)  # fmt: skip
    assert shown.stdout == f"{DATA}\n"
    rootless_pod("run", "-d", "--name", "env", "--secret", "mysec,type=env,target=FOO",
                 rootless_busybox, "sleep", "60", check=True)  # fmt: skip
    assert f"FOO={DATA}" in rootless_pod("exec", "env", "env").stdout.splitlines()
    data_dir = rootless_pod.root / "secrets" / "data"
    assert _files_holding(rootless_pod.tmp, DATA.encode(), data_dir) == []
