"""`pod generate systemd POD`: the pod's own unit and one per container, as podman 4.3 writes
them.

The pod's unit runs its infra container (`pod start INFRA`, PIDFile the infra's supervisor),
or with --new makes the pod afresh (`pod pod create --infra-conmon-pidfile --pod-id-file
--exit-policy=stop ... --replace` as an ExecStartPre, `pod pod start|stop|rm --pod-id-file`).
It Wants= and comes Before= its containers' units; each container's unit (pod.systemd.
container_unit, with --new joining the pod through the pod unit's ID file) BindsTo= and comes
After= the units of what it depends on: the pod's for the infra, a container's for another.

As podman 4.3 does, the pod's unit takes no --env, --wants/--after/--requires or
--start-timeout (the containers' units do). Differences from podman, besides those of pod.
systemd.container_unit: the pod's unit, like every pod unit, carries the store's global
flags (podman's start/stop lines have none); each container's unit gets --env's values
escaped once (podman 4.3 escapes them again for every further container, so its second unit
sets `"\\"Y=a b\\""`).
"""

from __future__ import annotations

from collections.abc import Callable

from pod.errors import PodError
from pod.reporter import Reporter
from pod.store.containers import ContainerRecord
from pod.store.pods import PodRecord
from pod.systemd import units
from pod.systemd.container_unit import (
    POD_FLAGS,
    GenerateOptions,
    UnitContext,
    container_unit,
    service_name,
)
from pod.util.records import dataclass


@dataclass(frozen=True)
class PodCreate:
    """A pod's create command split as podman splits it: the global flags before `pod
    create`, and what followed (its flags and the optional name)."""

    root_flags: list[str]
    args: list[str]


def split_pod_create(command: list[str]) -> PodCreate:
    """The words around `pod create`; an error for a pod made otherwise (`run --pod new:`)."""
    index = next(
        (i for i in range(2, len(command)) if command[i - 1 : i + 1] == ["pod", "create"]), 0
    )
    if len(command) < 3 or index == 0:
        raise PodError(f"pod does not appear to be created via `pod pod create`: {command}")
    return PodCreate(command[1 : index - 1], command[index + 1 :])


def _without_pod_flags(args: list[str]) -> list[str]:
    """podman's filterPodFlags: the ID and PID files (and --pod) given at creation go."""
    kept: list[str] = []
    skip = False
    for word in args:
        if skip:
            skip = False
        elif word in POD_FLAGS:
            skip = True
        elif not word.startswith(tuple(f"{flag}=" for flag in POD_FLAGS)):
            kept.append(word)
    return kept


def _named_without_replace(args: list[str], takes_value: Callable[[str], bool]) -> bool:
    """Whether the flags (up to the first other word) give --name but no true --replace."""
    named = replace = False
    index = 0
    while index < len(args) and args[index].startswith("-") and args[index] != "--":
        word = args[index]
        flag, has_value, value = word.partition("=")
        if flag == "--name":  # podman looks for the long form only
            named = True
        elif flag == "--replace":
            replace = value != "false" if has_value else True
        index += 1 if has_value or not takes_value(flag) else 2
    return named and not replace


def _has_exit_policy(words: list[str]) -> bool:
    return any(w == "--exit-policy" or w.startswith("--exit-policy=") for w in words)


def _new_pod_commands(
    unit: units.ServiceUnit,
    pod: PodRecord,
    context: UnitContext,
    takes_value: Callable[[str], bool],
    stop_timeout: int,
) -> str:
    """--new: the pod made afresh before its infra starts, removed after it stops; the ID
    file its containers' units join it by."""
    if not pod.create_command:
        raise PodError(f'cannot use --new on pod "{pod.id}": no create command found')
    created = split_pod_create(pod.create_command)
    pid_file = f"%t/{unit.service_name}.pid"
    id_file = f"%t/{unit.service_name}.pod-id"
    args = _without_pod_flags(created.args)
    if _named_without_replace(args, takes_value):  # a named pod survives a crash of the machine
        args = [word for word in args if word != "--replace=false"] + ["--replace"]
    escape = units.escape_arg
    words = [escape(w) for w in [context.executable, *created.root_flags]]
    words += ["pod", "create", "--infra-conmon-pidfile", pid_file, "--pod-id-file", id_file]
    if not _has_exit_policy(args):
        words.append("--exit-policy=stop")
    words += [escape(w) for w in args]
    root = " ".join(escape(w) for w in created.root_flags)
    program = f"{context.executable} {root}" if root else context.executable  # one line
    unit.exec_start_pre = [
        units.command_line(["/bin/rm", "-f", pid_file, id_file]),
        units.command_line(words),
    ]
    unit.exec_start = units.command_line([program, "pod", "start", "--pod-id-file", id_file])
    unit.exec_stop = units.command_line(
        [program, "pod", "stop", "--ignore", "--pod-id-file", id_file, "", "-t",
         str(stop_timeout)]
    )  # fmt: skip
    unit.exec_stop_post = units.command_line(
        [program, "pod", "rm", "--ignore", "-f", "--pod-id-file", id_file]
    )
    unit.pid_file = pid_file
    return id_file


def _pod_unit(
    pod: PodRecord,
    infra: ContainerRecord,
    options: GenerateOptions,
    context: UnitContext,
    takes_value: Callable[[str], bool],
) -> tuple[units.ServiceUnit, str]:
    """The pod's own unit, and the pod ID file its containers' units use ("" without --new)."""
    names = (pod.name, infra.name) if options.use_name else (pod.id, infra.id)
    name_or_id, infra_name_or_id = names
    stop_timeout = infra.stop_timeout if options.stop_timeout is None else options.stop_timeout
    unit = units.ServiceUnit(
        service_name=service_name(options, name_or_id, options.pod_prefix),
        run_root=str(context.layout.runroot),
        exec_start="",
        pod=True,
        restart_policy=options.restart_policy or units.DEFAULT_RESTART_POLICY,
        restart_sec=options.restart_sec or 0,
        timeout_stop_sec=units.MIN_TIMEOUT_STOP_SEC + stop_timeout,
        header=not options.no_header,
        timestamp="" if options.no_header else context.timestamp,
        version=context.version,
    )
    if options.new:
        return unit, _new_pod_commands(unit, pod, context, takes_value, stop_timeout)
    root: list[str] = []
    if pod.create_command:
        root = [units.escape_arg(w) for w in split_pod_create(pod.create_command).root_flags]
    exe, target = context.executable, units.escape_arg(infra_name_or_id)
    unit.exec_start = units.command_line([exe, *root, "start", target])
    stop = [exe, *root, "stop", "", "-t", str(stop_timeout), target]
    unit.exec_stop = unit.exec_stop_post = units.command_line(stop)  # podman's double space
    unit.pid_file = str(context.layout.container(infra.id).shim_pid_file)
    return unit, ""


def dependencies(record: ContainerRecord, by_id: dict[str, ContainerRecord]) -> list[str]:
    """The IDs of the containers `record` needs running (its pod's infra among them): what
    it joins (container:ID namespaces or network), --requires, --volumes-from."""
    wanted = list(record.requires)
    modes = [record.network, *record.namespaces.values()]
    wanted += [mode.partition(":")[2] for mode in modes if mode.startswith("container:")]
    sources = [text.partition(":")[0] for text in record.volumes_from]
    for source in sources:
        wanted += [c.id for c in by_id.values() if source in (c.id, c.name)]
    wanted += [c.id for c in by_id.values() if c.infra and record.pod == c.pod]
    return sorted({w for w in wanted if w in by_id and w != record.id})


def pod_units(
    pod: PodRecord,
    containers: list[ContainerRecord],
    options: GenerateOptions,
    context: UnitContext,
    takes_value: Callable[[str], bool],
    pod_takes_value: Callable[[str], bool],
    reporter: Reporter,
) -> list[units.ServiceUnit]:
    """The pod's unit first, then its containers' by service name. `containers`: the pod's
    (infra included); `takes_value(flag)`, `pod_takes_value(flag)`: whether a `run`, a `pod
    create` option takes a value."""
    if options.template:
        raise PodError("--template is not supported for pods")
    infra = next((c for c in containers if c.id == pod.infra_id), None) if pod.infra_id else None
    if infra is None:
        raise PodError(f'generating systemd unit files: Pod "{pod.name}" has no infra container')
    pod_unit, pod_id_file = _pod_unit(pod, infra, options, context, pod_takes_value)
    by_id = {c.id: c for c in containers}
    members = []
    for record in containers:
        if record.id == infra.id:
            continue
        unit = container_unit(record, options, context, takes_value, reporter, pod_id_file)
        unit.bound_to = [
            pod_unit.service_name if dep == infra.id else _service_of(by_id[dep], options)
            for dep in dependencies(record, by_id)
        ]
        members.append(unit)
    pod_unit.required_services = [unit.service_name for unit in members]
    return [pod_unit, *sorted(members, key=lambda unit: unit.service_name)]


def _service_of(record: ContainerRecord, options: GenerateOptions) -> str:
    name_or_id = record.name if options.use_name else record.id
    return service_name(options, name_or_id, options.container_prefix)
