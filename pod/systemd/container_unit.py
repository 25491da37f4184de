"""`pod generate systemd CTR`: the unit that starts an existing container, or (--new) one that
creates it afresh from the command line that made it (the record's create command).

Units as podman 4.3 writes them, with pod's own program and these differences, each because
pod's unit must work where podman's words would not: every pod command in the unit carries
the global flags (--root, --runroot, ...) the container was created with, so a unit finds a
store that is not the default one; `--cgroups=no-conmon` is not written (pod's supervisor
never leaves the cgroup it was started in, which is what that flag asks podman for);
RestartSec= is written when asked for (podman 4.3 ignores --restart-sec for containers).
"""

from __future__ import annotations

import json
from collections.abc import Callable

from pod.errors import PodError, UsageError
from pod.reporter import Reporter
from pod.store.containers import ContainerRecord
from pod.store.layout import Layout
from pod.systemd import units
from pod.util.records import dataclass, field

CONTAINER_ID_FILE = "%t/%n.ctr-id"
NEW_RUN_ROOT = "%t/pod"  # the run root of the unit's user: /run/pod, or $XDG_RUNTIME_DIR/pod
VERBS = ("run", "create")


@dataclass
class GenerateOptions:
    """The flags of `pod generate systemd`, as given (None: not given)."""

    new: bool = False
    use_name: bool = False
    template: bool = False
    no_header: bool = False
    container_prefix: str = "container"
    pod_prefix: str = "pod"  # a pod's own unit (pod.systemd.pod_unit)
    separator: str = "-"
    restart_policy: str | None = None
    restart_sec: int | None = None
    start_timeout: int | None = None
    stop_timeout: int | None = None
    wants: list[str] = field(default_factory=list)
    after: list[str] = field(default_factory=list)
    requires: list[str] = field(default_factory=list)
    env: list[str] = field(default_factory=list)  # KEY=VALUE for the unit's Environment=


def service_name(options: GenerateOptions, name_or_id: str, prefix: str) -> str:
    """prefix + separator + name; no separator when the prefix is empty."""
    return f"{prefix}{options.separator}{name_or_id}" if prefix else name_or_id


def check_restart_policy(policy: str) -> None:
    if policy not in units.RESTART_POLICIES:
        raise UsageError(f"{policy} is not a valid restart policy")


@dataclass(frozen=True)
class ParsedRun:
    """A create command split as `pod run` parses it: its flags, and the image with the
    container's command (never filtered: their words are the container's)."""

    root_flags: list[str]
    flags: list[str]
    positional: list[str]


def split_create_command(
    command: list[str], takes_value: Callable[[str], bool], container_id: str
) -> ParsedRun:
    """`takes_value(flag)`: whether the run/create option `flag` (`--name`, `-e`) takes a
    value (the CLI knows its options; the engine does not)."""
    verb = next((i for i, word in enumerate(command) if word in VERBS and i > 0), 0)
    if verb == 0:
        raise PodError(f"container's create command is too short or invalid: {command}")
    args = command[verb + 1 :]
    index = 0
    while index < len(args):
        word = args[index]
        if word == "--":
            return ParsedRun(command[1:verb], args[:index], args[index + 1 :])
        if not word.startswith("-") or word == "-":
            break
        index += 1 + _values_after(word, takes_value)
    return ParsedRun(command[1:verb], args[:index], args[index:])


def _values_after(word: str, takes_value: Callable[[str], bool]) -> int:
    """How many of the following words are `word`'s value (0 or 1)."""
    if word.startswith("--"):
        return 0 if "=" in word else int(takes_value(word))
    letters = _switches(word, takes_value)
    return int(len(letters) == len(word) - 2)  # the value-taking letter ends the word


def _switches(word: str, takes_value: Callable[[str], bool]) -> str:
    """The letters of a short cluster (-it, -dp 80, -p80:80) before one that takes a value
    (which takes the rest of the word, or the next word)."""
    for position, letter in enumerate(word[1:], start=1):
        if takes_value(f"-{letter}"):
            return word[1:position]
    return word[1:]


_DROPPED_WITH_VALUE = ("--cidfile", "--restart", "--sdnotify", "--cgroups")
_DROPPED = ("--rm",)
# A pod's units name the pod by the pod unit's own ID file (and PID file) instead.
POD_FLAGS = ("--pod", "--pod-id-file", "--infra-conmon-pidfile")


def _flag_name(word: str) -> str:
    return word.partition("=")[0]


@dataclass
class RunFlags:
    """What `--new` needs to know of the create command's flags."""

    kept: list[str]
    detach: bool = False
    name: bool = False
    replace: bool = False
    restart: str = ""
    env_names: list[str] = field(default_factory=list)  # -e VAR: the value is the host's


def examine_flags(
    flags: list[str], takes_value: Callable[[str], bool], in_pod: bool = False
) -> RunFlags:
    """Drop what the unit sets itself (--rm, --cidfile, --restart, --sdnotify, --cgroups and
    false forms of -d/--replace; in a pod's units --pod and the ID files) and note the rest,
    as podman does."""
    result = RunFlags(kept=[])
    index = 0
    while index < len(flags):
        word = flags[index]
        count = _values_after(word, takes_value)
        value = flags[index + 1] if count else word.partition("=")[2]
        words = flags[index : index + 1 + count]
        index += 1 + count
        name = _flag_name(word)
        if name in ("--detach", "-d"):
            result.detach = value != "false"
            if value == "false":
                continue
        elif name == "--replace":
            result.replace = value != "false"
            if value == "false":
                continue
        elif name == "--name":
            result.name = True
        elif name in ("-e", "--env") and "=" not in value:
            result.env_names.append(value)
        elif not word.startswith("--") and "d" in _switches(word, takes_value):
            result.detach = True  # -dit
        if name == "--restart":
            result.restart = value
        if name in _DROPPED or name in _DROPPED_WITH_VALUE or (in_pod and name in POD_FLAGS):
            continue
        result.kept += words
    return result


def _set_template_name(words: list[str], service: str) -> list[str]:
    """--template: the container's name gets the instance (-%i); none given: the service's."""
    for index, word in enumerate(words):
        if word == "--name" and index + 1 < len(words):
            return [*words[: index + 1], f"{words[index + 1]}-%i", *words[index + 2 :]]
        if word.startswith("--name="):
            return [*words[:index], f"{word}-%i", *words[index + 1 :]]
    verb = words.index("run")
    return [*words[: verb + 1], f"--name={service}-%i", *words[verb + 1 :]]


@dataclass
class UnitContext:
    """Facts from outside the record: the pod program and its version, the store."""

    executable: str
    version: str
    layout: Layout
    timestamp: str = ""


def container_unit(
    record: ContainerRecord,
    options: GenerateOptions,
    context: UnitContext,
    takes_value: Callable[[str], bool],
    reporter: Reporter,
    pod_id_file: str = "",
) -> units.ServiceUnit:
    """The unit for one container; `pod_id_file`: the container's pod's (its unit's, with
    --new), which the container's own --pod gives way to."""
    name_or_id = record.name if options.use_name else record.id
    service = service_name(options, name_or_id, options.container_prefix)
    if not options.new and record.restart_policy not in ("", "no"):
        reporter.warning(
            f"Container {record.id} has restart policy {record.restart_policy!r} which can lead "
            "to issues on shutdown: consider recreating the container without a restart policy "
            "and use systemd's restart mechanism instead"
        )
    if options.new and not record.create_command:
        raise PodError(
            f'cannot use --new on container "{record.id}": no create command found: only works '
            "on containers created directly with pod run or pod create"
        )
    stop_timeout = record.stop_timeout if options.stop_timeout is None else options.stop_timeout
    unit = units.ServiceUnit(
        service_name=service,
        run_root=str(context.layout.runroot),
        exec_start="",
        restart_policy=options.restart_policy or units.DEFAULT_RESTART_POLICY,
        restart_sec=options.restart_sec or 0,
        timeout_start_sec=options.start_timeout or 0,
        timeout_stop_sec=units.MIN_TIMEOUT_STOP_SEC + stop_timeout,
        additional_envs=[units.escape_arg(e) for e in options.env],
        wants=list(options.wants),
        after=list(options.after),
        requires=list(options.requires),
        template=options.template,
        header=not options.no_header,
        timestamp="" if options.no_header else context.timestamp,
        version=context.version,
    )
    exe = context.executable
    if not record.create_command:
        root = []
    else:
        root = split_create_command(record.create_command, takes_value, record.id).root_flags
    root = [units.escape_arg(word) for word in root]
    if not options.new:
        unit.exec_start = units.command_line([exe, *root, "start", units.escape_arg(name_or_id)])
        stop = [exe, *root, "stop", "", "-t", str(stop_timeout), units.escape_arg(name_or_id)]
        unit.exec_stop = unit.exec_stop_post = units.command_line(stop)  # podman's double space
        unit.pid_file = str(context.layout.container(record.id).shim_pid_file)
        return unit
    _new_container_commands(
        unit, record, options, context, takes_value, root, stop_timeout, pod_id_file
    )
    return unit


def _new_container_commands(
    unit: units.ServiceUnit,
    record: ContainerRecord,
    options: GenerateOptions,
    context: UnitContext,
    takes_value: Callable[[str], bool],
    root: list[str],
    stop_timeout: int,
    pod_id_file: str,
) -> None:
    """--new: Type=notify, the container made afresh by `pod run` and removed when stopped."""
    exe = context.executable
    parsed = split_create_command(record.create_command, takes_value, record.id)
    flags = examine_flags(parsed.flags, takes_value, in_pod=bool(pod_id_file))
    start = [exe, *parsed.root_flags, "run", f"--cidfile={CONTAINER_ID_FILE}", "--rm"]
    if pod_id_file:
        start += ["--pod-id-file", pod_id_file]
    start.append("--sdnotify=conmon")
    if not flags.detach:
        start.append("-d")
    if flags.name and not flags.replace:
        start.append("--replace")  # a named container survives a crash of the machine
    if options.restart_policy is None and flags.restart:
        policy, _, retries = flags.restart.partition(":")
        unit.restart_policy = "always" if policy == "unless-stopped" else policy
        unit.start_limit_burst = retries
    unit.extra_envs = [units.escape_arg(item) for item in _host_env(context, record, flags)]
    escaped = [units.escape_arg(word) for word in [exe, *parsed.root_flags]]
    words = [*escaped, *start[1 + len(parsed.root_flags) :]]  # pod's own words: %t, %n stay
    words += [units.escape_arg(word) for word in [*flags.kept, *parsed.positional]]
    if options.template:
        words = _set_template_name(words, unit.service_name)
    unit.type, unit.notify_access, unit.pid_file = "notify", "all", ""
    unit.run_root = NEW_RUN_ROOT
    unit.exec_start_pre = [units.command_line(["/bin/rm", f"-f {CONTAINER_ID_FILE}"])]
    unit.exec_start = units.command_line(words)
    timeout = f"-t {stop_timeout}"
    unit.exec_stop = units.command_line(
        [exe, *root, "stop", f"--ignore {timeout}", f"--cidfile={CONTAINER_ID_FILE}"]
    )
    unit.exec_stop_post = units.command_line(
        [exe, *root, "rm", "-f", f"--ignore {timeout}", f"--cidfile={CONTAINER_ID_FILE}"]
    )


def _host_env(context: UnitContext, record: ContainerRecord, flags: RunFlags) -> list[str]:
    """`-e VAR` took VAR's value from the creating shell: the unit sets it for the new run."""
    if not flags.env_names:
        return []
    config = json.loads(context.layout.container(record.id).config.read_bytes())
    env = (config.get("process") or {}).get("env") or []
    return [item for item in env if item.partition("=")[0] in flags.env_names]
