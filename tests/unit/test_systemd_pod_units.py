"""pod.systemd.pod_unit: a pod's units against podman 4.3.1's own.

tests/unit/golden/systemd/podman-pod-*.json are `podman generate systemd --no-header --format
json` outputs for one pod (`pod create --name web -p 8090:80`) and its two containers (`create
--pod web --name app bb sleep 1000`; `create --pod web --name side -e A=1 bb sh -c 'echo "$x"
100%'`): by IDs (ids), --name (names), --new --name (new), --new (new-ids), and with the unit
options (options). pod's units must be podman's with only the differences pod.systemd.
container_unit and pod.systemd.pod_unit document.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pod.commands.generate import _pod_create_value_options, _run_value_options
from pod.errors import PodError
from pod.reporter import Reporter
from pod.store.containers import ContainerRecord
from pod.store.layout import ContainerPaths, Layout
from pod.store.pods import PodRecord
from pod.systemd import container_unit, pod_unit, units

GOLDEN = Path(__file__).parent / "golden" / "systemd"
ROOT = "/var/tmp/podman-ref-podunits/root"
RUNROOT = "/var/tmp/podman-ref-podunits/run"
ROOT_FLAGS = ["--root", ROOT, "--runroot", RUNROOT]
POD = "ea5098c620b459e5cd06d831cae8da54d6fe93192806a2bf29635b706bda5f46"
INFRA = "8c294e7214722c99b6a267b1134be9a46d5dd93cd218b727d967ef6179ecc89e"
APP = "0408e98b7927923fb2ba2906165aa7b5f79b55089ad432fade29f78d30f30605"
SIDE = "b59b3f08b13105e820dc3fae6e626ff74f2602ca1c36d63c4ca5ffb255ce2a26"
EXE = "/usr/bin/pod"
LAYOUT = Layout(Path(ROOT), Path(RUNROOT))
RUN_VALUES = _run_value_options().__contains__
POD_CREATE_VALUES = _pod_create_value_options().__contains__


def _container(container_id: str, name: str, args: list[str], **extra) -> ContainerRecord:
    return ContainerRecord(
        id=container_id, name=name, image_id="i" * 64, image_name="localhost/bb:latest",
        created=0.0, command=[], rootless=False, runtime="pod", pod=POD,
        create_command=["pod", *ROOT_FLAGS, "create", *args] if args else [], **extra,
    )  # fmt: skip


def _pod(**extra) -> PodRecord:
    command = ["pod", *ROOT_FLAGS, "pod", "create", "--name", "web", "-p", "8090:80"]
    fields = {"infra_id": INFRA, "create_command": command, **extra}
    return PodRecord(id=POD, name="web", **fields)


CONTAINERS = [
    _container(INFRA, f"{POD[:12]}-infra", [], infra=True, network="bridge"),
    _container(APP, "app", ["--pod", "web", "--name", "app", "bb", "sleep", "1000"],
               network=f"container:{INFRA}"),
    _container(SIDE, "side", ["--pod", "web", "--name", "side", "-e", "A=1", "bb", "sh", "-c",
                              'echo "$x" 100%'], network=f"container:{INFRA}"),
]  # fmt: skip


def _units(pod: PodRecord | None = None, containers=None, **options) -> dict[str, str]:
    context = container_unit.UnitContext(EXE, "0.1.0", LAYOUT)
    made = pod_unit.pod_units(
        pod or _pod(), CONTAINERS if containers is None else containers,
        container_unit.GenerateOptions(no_header=True, **options), context, RUN_VALUES,
        POD_CREATE_VALUES, Reporter(),
    )  # fmt: skip
    return {unit.service_name: units.render(unit) for unit in made}


def _root_words() -> str:
    return "".join(f" \\\n\t{w}" if w.startswith("-") else f" {w}" for w in ROOT_FLAGS)


def _expected(golden: str) -> dict[str, str]:
    """podman's units with pod's documented differences applied."""
    expected = {}
    for name, text in json.loads((GOLDEN / f"podman-pod-{golden}.json").read_text()).items():
        text = text.replace("Description=Podman ", "Description=pod ")
        text = text.replace("Documentation=man:podman-generate-systemd(1)\n", "")
        text = text.replace("\t--cgroups=no-conmon \\\n", "")
        text = text.replace("RequiresMountsFor=%t/containers", "RequiresMountsFor=%t/pod")
        for container_id in (INFRA, APP, SIDE):
            text = text.replace(
                f"{RUNROOT}/overlay-containers/{container_id}/userdata/conmon.pid",
                str(ContainerPaths(LAYOUT.container_dir(container_id)).shim_pid_file),
            )
        for verb in ("start ", "stop  ", "stop \\", "rm \\"):  # every pod command: root flags
            text = text.replace(f"/usr/bin/podman {verb}", f"{EXE}{_root_words()} {verb}")
        expected[name] = text.replace("/usr/bin/podman", EXE)
    return expected


@pytest.mark.parametrize(
    ("golden", "options"),
    [
        ("ids", {}),
        ("names", {"use_name": True}),
        ("new", {"new": True, "use_name": True}),
        ("new-ids", {"new": True}),
    ],
)
def test_pod_units_are_podmans(golden, options):
    made = _units(**options)
    assert made == _expected(golden)
    assert list(made)[0].startswith("pod-")  # the pod's unit comes first


def test_pod_unit_options_are_podmans():
    made = _units(
        use_name=True, wants=["a.service"], after=["b.service"], requires=["c.service"],
        env=["X=1"], restart_sec=5, start_timeout=30, stop_timeout=5, restart_policy="always",
        pod_prefix="pp", container_prefix="cc", separator="_",
    )  # fmt: skip
    expected = _expected("options")
    for name in ("cc_app", "cc_side"):  # podman 4.3 drops --restart-sec for containers only
        expected[name] = expected[name].replace(
            "Restart=always\n", "Restart=always\nRestartSec=5\n"
        )
    assert made == expected


def test_every_container_unit_gets_the_env_escaped_once():
    made = _units(use_name=True, env=["Y=a b"])
    for name in ("container-app", "container-side"):  # podman 4.3 escapes it again for side
        assert '\nEnvironment="Y=a b"\n' in made[name]
    assert "Y=a b" not in made["pod-web"]


def test_a_pod_with_only_its_infra_lists_no_containers():
    text = _units(containers=CONTAINERS[:1])[f"pod-{POD}"]
    assert "\nWants=\nBefore=\n" in text  # as podman writes it


def test_a_pod_without_infra_is_podmans_error():
    with pytest.raises(PodError, match='^generating systemd unit files: Pod "web" has no infra'):
        _units(pod=_pod(infra_id=""), containers=CONTAINERS[1:])


def test_templates_are_not_for_pods():
    with pytest.raises(PodError, match="^--template is not supported for pods$"):
        _units(template=True, new=True)


@pytest.mark.parametrize(
    "command",
    [[], ["pod", "run", "--pod", "new:web", "bb"], ["pod", "create", "x"]],
)
def test_new_needs_the_pods_create_command(command):
    with pytest.raises(PodError, match="no create command found|not appear to be created via"):
        _units(pod=_pod(create_command=command), new=True)


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["--name", "web"], "--name web \\\n\t--replace\n"),
        (["--name=web", "--replace=false", "--label", "a"],
         "--name=web \\\n\t--label a \\\n\t--replace\n"),
        (["--replace", "--name", "web"], "--replace \\\n\t--name web\n"),
        (["web"], "--exit-policy=stop web\n"),  # a positional name: no --replace (podman's)
        (["--pod-id-file", "/f", "--infra-conmon-pidfile=/p", "--exit-policy", "continue",
          "--name", "w"], "--exit-policy continue \\\n\t--name w \\\n\t--replace\n"),
    ],
)  # fmt: skip
def test_the_pod_create_line(args, line):
    pod = _pod(create_command=["pod", "pod", "create", *args])
    text = _units(pod=pod, containers=CONTAINERS[:1], new=True)[f"pod-{POD}"]
    create = text.split("ExecStartPre=")[2].split("\nExecStart=")[0] + "\n"
    assert create.startswith(f"{EXE} pod create \\\n\t--infra-conmon-pidfile %t/pod-{POD}.pid")
    assert create.endswith(line)
    assert create.count("--pod-id-file") == 1 and create.count("--infra-conmon-pidfile") == 1
    start = text.split("\nExecStart=")[1].split("\n")[0]
    assert start == f"{EXE} pod start \\"  # no root flags: nothing before `pod`


def test_a_container_bound_to_another_in_the_pod():
    db = _container(SIDE, "db", ["--pod", "web", "--name", "db", "bb", "true"])
    app = _container(APP, "app", ["--pod", "web", "--requires", "db", "bb", "true"],
                     requires=[SIDE])  # fmt: skip
    text = _units(containers=[CONTAINERS[0], app, db], use_name=True)["container-app"]
    assert "\nBindsTo=container-db.service pod-web.service\n" in text
    assert "\nAfter=container-db.service pod-web.service\n" in text


def test_a_standalone_container_unit_keeps_its_pod_flag():
    """`generate systemd --new CTR` for one container of a pod: its --pod stays (podman's)."""
    unit = container_unit.container_unit(
        CONTAINERS[1], container_unit.GenerateOptions(new=True, no_header=True),
        container_unit.UnitContext(EXE, "0.1.0", LAYOUT), RUN_VALUES, Reporter(),
    )  # fmt: skip
    assert "--pod web" in unit.exec_start and "--pod-id-file" not in unit.exec_start
