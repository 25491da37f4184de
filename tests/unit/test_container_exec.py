"""The exec process built from a container's config.json process (pure, podman's rules)."""

from __future__ import annotations

from pod.container.exec import ExecOptions, exec_process_spec, merge_env
from pod.container.user import ResolvedUser

DEFAULT = ["CAP_CHOWN", "CAP_KILL"]
HOST = ["CAP_CHOWN", "CAP_KILL", "CAP_SYS_ADMIN"]


def container_process(uid: int = 0, effective: list[str] = DEFAULT) -> dict:
    return {
        "terminal": True,
        "consoleSize": {"height": 1, "width": 1},
        "user": {"uid": uid, "gid": uid, "umask": 0o022},
        "args": ["sleep", "300"],
        "env": ["PATH=/bin", "HOME=/root", "A=1"],
        "cwd": "/work",
        "capabilities": {
            "bounding": DEFAULT,
            "effective": effective,
            "permitted": effective,
            "inheritable": effective,
            "ambient": [],
        },  # fmt: skip
        "noNewPrivileges": True,
    }


def build(options: ExecOptions, user: ResolvedUser | None = None, **kw) -> dict:
    return exec_process_spec(container_process(**kw), options, user, host_bounding=HOST)


def test_defaults_keep_the_container_process():
    process = build(ExecOptions(["id"]))
    assert process["args"] == ["id"]
    assert process["terminal"] is False and "consoleSize" not in process
    assert process["cwd"] == "/work" and process["noNewPrivileges"] is True
    assert process["user"] == {"uid": 0, "gid": 0, "umask": 0o022}
    assert process["capabilities"]["effective"] == DEFAULT
    assert process["capabilities"]["inheritable"] == []


def test_env_workdir_and_tty():
    options = ExecOptions(["sh"], env=["A=2", "B=3"], workdir="/tmp", tty=True)
    process = exec_process_spec(container_process(), options, None, host_bounding=HOST,
                                console_size=(24, 80))  # fmt: skip
    assert process["env"] == ["PATH=/bin", "HOME=/root", "A=2", "B=3"]
    assert process["cwd"] == "/tmp"
    assert process["consoleSize"] == {"height": 24, "width": 80}


def test_privileged_bounds_by_the_host():
    caps = build(ExecOptions(["id"], privileged=True))["capabilities"]
    assert caps["bounding"] == caps["effective"] == caps["permitted"] == HOST


def test_other_user_and_container_user():
    tester = ResolvedUser(1000, 1000, (1000,), "/home/tester", "tester")
    process = build(ExecOptions(["id"], user="tester"), tester)
    assert process["user"] == {"uid": 1000, "gid": 1000, "umask": 0o022, "additionalGids": [1000]}
    assert process["capabilities"]["inheritable"] == []
    own = build(ExecOptions(["id"]), None, uid=1000, effective=["CAP_KILL"])["capabilities"]
    assert own["effective"] == own["ambient"] == own["inheritable"] == ["CAP_KILL"]


def test_merge_env_replaces_in_place():
    assert merge_env(["A=1", "B=2"], ["A=3", "C=4"]) == ["A=3", "B=2", "C=4"]
