"""Container commands: run, create, start, ps, rm."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import typer

from pod.commands import common

if TYPE_CHECKING:
    from pod.container.options import ResourceLimits

RUN_CONTEXT = {
    "allow_interspersed_args": False,
    "help_option_names": ["--help"],
}


def run_command(
    ctx: typer.Context,
    image: str = typer.Argument(..., help="The image to run."),
    command: list[str] = typer.Argument(None, metavar="[COMMAND [ARG...]]", help="Command."),
    name: str = typer.Option(None, "--name", help="Name the container."),
    detach: bool = typer.Option(False, "--detach", "-d", help="Run in the background, print ID."),
    interactive: bool = typer.Option(False, "--interactive", "-i", help="Keep stdin open."),
    tty: bool = typer.Option(False, "--tty", "-t", help="Allocate a pseudo-terminal."),
    remove: bool = typer.Option(False, "--rm", help="Remove the container when it exits."),
    env: list[str] = typer.Option([], "--env", "-e", help="Set environment variables."),
    env_file: list[str] = typer.Option([], "--env-file", help="Read environment from a file."),
    workdir: str = typer.Option(
        None, "--workdir", "-w", help="Working directory in the container."
    ),
    user: str = typer.Option(None, "--user", "-u", help="User[:group] to run as."),
    entrypoint: str = typer.Option(None, "--entrypoint", help="Override the image's ENTRYPOINT."),
    hostname: str = typer.Option(None, "--hostname", "-h", help="Container host name."),
    add_host: list[str] = typer.Option([], "--add-host", help="Add HOST:IP to /etc/hosts."),
    volume: list[str] = typer.Option([], "--volume", "-v", help="Bind mount or volume."),
    mount: list[str] = typer.Option([], "--mount", help="Mount: type=bind|volume|tmpfs,..."),
    tmpfs: list[str] = typer.Option([], "--tmpfs", help="Mount a tmpfs: DIR[:OPTIONS]."),
    read_only: bool = typer.Option(False, "--read-only", help="Read-only root filesystem."),
    cap_add: list[str] = typer.Option([], "--cap-add", help="Add capabilities."),
    cap_drop: list[str] = typer.Option([], "--cap-drop", help="Drop capabilities."),
    privileged: bool = typer.Option(False, "--privileged", help="Give extended privileges."),
    security_opt: list[str] = typer.Option(
        [], "--security-opt", help="seccomp=unconfined|PROFILE, no-new-privileges, label=disable."
    ),
    device: list[str] = typer.Option([], "--device", help="Add a host device: HOST[:CTR][:rwm]."),
    device_cgroup_rule: list[str] = typer.Option(
        [], "--device-cgroup-rule", help="Allow devices: 'c|b|a MAJOR:MINOR rwm'."
    ),
    userns: str = typer.Option(None, "--userns", help="User namespace: keep-id or host."),
    init: bool = typer.Option(False, "--init", help="Run an init (catatonit/tini) as PID 1."),
    init_path: str = typer.Option(None, "--init-path", help="Path of the init binary."),
    label: list[str] = typer.Option([], "--label", "-l", help="Set metadata labels."),
    runtime: str = typer.Option(None, "--runtime", help="OCI runtime: pod, runc, crun or a path."),
    log_driver: str = typer.Option("k8s-file", "--log-driver", help="k8s-file or none."),
    cidfile: str = typer.Option(None, "--cidfile", help="Write the container ID to this file."),
    replace: bool = typer.Option(False, "--replace", help="Replace a container with this name."),
    network: list[str] = typer.Option(
        [],
        "--network",
        "--net",
        help="bridge, NAME, none, host, container:NAME, ns:PATH, slirp4netns.",
    ),
    network_alias: list[str] = typer.Option([], "--network-alias", help="Name on the network."),
    ip: str = typer.Option(None, "--ip", help="Static IPv4 address on the network."),
    publish: list[str] = typer.Option(
        [],
        "--publish",
        "-p",
        help="Publish ports: ip:hostPort:containerPort/proto (ip, hostPort, proto optional).",
    ),
    publish_all: bool = typer.Option(False, "--publish-all", "-P", help="Publish EXPOSE ports."),
    expose: list[str] = typer.Option([], "--expose", help="Expose a port or a range."),
    dns: list[str] = typer.Option([], "--dns", help="DNS servers for /etc/resolv.conf."),
    dns_search: list[str] = typer.Option([], "--dns-search", help="DNS search domains."),
    dns_option: list[str] = typer.Option([], "--dns-option", help="resolv.conf options."),
    pull: str = typer.Option("missing", "--pull", help="always, missing, never or newer."),
    sig_proxy: bool = typer.Option(True, "--sig-proxy/--no-sig-proxy", help="Proxy signals."),
    stop_signal: str = typer.Option(None, "--stop-signal", help="Signal to stop the container."),
    stop_timeout: int = typer.Option(10, "--stop-timeout", help="Seconds before SIGKILL."),
    restart: str = typer.Option(
        None, "--restart", help="Restart policy: no, on-failure[:N], always, unless-stopped."
    ),
    memory: str = typer.Option(None, "--memory", "-m", help="Memory limit (b, k, m, g)."),
    memory_swap: str = typer.Option(
        None, "--memory-swap", help="Memory plus swap limit; -1 for unlimited swap."
    ),
    cpus: str = typer.Option(None, "--cpus", help="Number of CPUs (a CFS quota)."),
    cpu_shares: str = typer.Option(None, "--cpu-shares", "-c", help="CPU shares (weight)."),
    cpuset_cpus: str = typer.Option(None, "--cpuset-cpus", help="CPUs to run on (0-3, 0,1)."),
    pids_limit: str = typer.Option(None, "--pids-limit", help="Process limit; -1: unlimited."),
    ulimit: list[str] = typer.Option([], "--ulimit", help="name=soft[:hard], or host."),
    shm_size: str = typer.Option(None, "--shm-size", help="Size of /dev/shm (b, k, m, g)."),
    oom_score_adj: str = typer.Option(None, "--oom-score-adj", help="OOM score (-1000..1000)."),
    health_cmd: str = typer.Option(
        None, "--health-cmd", help="Health check command ('none' disables the image's)."
    ),
    health_interval: str = typer.Option(
        None, "--health-interval", help="Between checks (default 30s; 'disable': no timer)."
    ),
    health_retries: int = typer.Option(
        None, "--health-retries", help="Failures in a row before unhealthy (default 3)."
    ),
    health_timeout: str = typer.Option(
        None, "--health-timeout", help="The longest a check may run (default 30s)."
    ),
    health_start_period: str = typer.Option(
        None, "--health-start-period", help="Time to bootstrap, failures not counted (0s)."
    ),
    health_on_failure: str = typer.Option(
        None, "--health-on-failure", help="When unhealthy: none, kill, restart or stop."
    ),
    no_healthcheck: bool = typer.Option(
        False, "--no-healthcheck", help="Disable health checks on the container."
    ),
    pod: str = typer.Option(
        None, "--pod", help="Run in this pod (new:NAME makes it), sharing its namespaces."
    ),
    secret: list[str] = typer.Option(
        [], "--secret", help="Add a secret: NAME[,type=mount|env][,target=][,uid=,gid=,mode=]."
    ),
    sdnotify: str = typer.Option(
        "ignore", "--sdnotify", help="conmon: tell systemd (NOTIFY_SOCKET) once started; ignore."
    ),
    quiet: bool = common.quiet_option("Suppress pull output."),
) -> None:
    """Run a command in a new container."""
    from pod.container import flags as run_flags
    from pod.container import resource_flags
    from pod.container.health import check_flags
    from pod.container.options import HealthFlags, RunOptions
    from pod.errors import UsageError

    creating = ctx.info_name == "create"
    if creating and detach:
        raise UsageError("unknown shorthand flag: 'd' in -d (use pod run -d or pod start)")
    if name:  # before the image is looked up or pulled: a bad name creates nothing
        from pod.store.containers import check_name

        check_name(name)
    security = run_flags.parse_security_opts(list(security_opt))
    if userns not in (None, "keep-id", "host"):
        raise UsageError(f'unsupported --userns "{userns}": use keep-id or host')
    if sdnotify not in ("conmon", "ignore"):
        raise UsageError(
            f'unsupported --sdnotify "{sdnotify}": use conmon or ignore (pod does not hand '
            "systemd's socket to the container)"
        )
    if log_driver not in ("k8s-file", "none"):
        raise UsageError(f'unsupported --log-driver "{log_driver}": use k8s-file or none')
    from pod.network import modes, ports

    network_mode = modes.parse_network(
        modes.NetworkFlags(list(network), list(network_alias), ip), common.settings().rootless
    )
    resources = resource_flags.parse_resources(
        resource_flags.ResourceFlags(
            memory=memory,
            memory_swap=memory_swap,
            cpus=cpus,
            cpu_shares=cpu_shares,
            cpuset_cpus=cpuset_cpus,
            pids_limit=pids_limit,
            ulimit=list(ulimit),
            shm_size=shm_size,
            oom_score_adj=oom_score_adj,
        ),
        resource_flags.online_cpus(),
    )
    mounts = [run_flags.parse_volume(v) for v in volume]
    mounts += [run_flags.parse_mount(m) for m in mount]
    mounts += [run_flags.parse_tmpfs(t) for t in tmpfs]
    options = RunOptions(
        image=image,
        command=list(command or []),
        name=name,
        detach=detach,
        interactive=interactive,
        tty=tty,
        remove=remove,
        env=run_flags.expand_env(run_flags.parse_env(env, env_file)),
        workdir=run_flags.check_workdir(workdir),
        user=user,
        entrypoint=run_flags.parse_entrypoint(entrypoint),
        hostname=hostname,
        add_hosts=[run_flags.parse_add_host(h) for h in add_host],
        mounts=mounts,
        read_only=read_only,
        cap_add=cap_add,
        cap_drop=cap_drop,
        privileged=privileged,
        no_new_privileges=security.no_new_privileges,
        seccomp_profile=security.seccomp_profile,
        security_opt=security.given,
        devices=[run_flags.parse_device(d) for d in device],
        device_cgroup_rules=[run_flags.parse_device_cgroup_rule(r) for r in device_cgroup_rule],
        userns=userns,
        init=init,
        init_path=init_path,
        labels=run_flags.parse_labels(label),
        runtime=runtime,
        log_driver=log_driver,
        cidfile=cidfile,
        replace=replace,
        network=network_mode.kind,
        network_mode=network_mode,
        publish=ports.parse_publish(publish),
        publish_all=publish_all,
        expose=ports.parse_expose(expose),
        dns=run_flags.parse_dns(dns),
        dns_search=list(dns_search),
        dns_options=list(dns_option),
        pull=pull,
        sig_proxy=sig_proxy,
        stop_signal=stop_signal,
        stop_timeout=stop_timeout,
        restart=_restart_policy(restart, remove),
        health=check_flags(
            HealthFlags(
                cmd=health_cmd,
                interval=health_interval,
                retries=health_retries,
                timeout=health_timeout,
                start_period=health_start_period,
                on_failure=health_on_failure,
                disabled=no_healthcheck,
            )
        ),
        resources=_supported_limits(resources),
        secrets=[run_flags.parse_secret(s) for s in secret],
        sd_notify=sdnotify,
        create_command=common.command_line(),
    )
    if pod:
        network_given = bool(network or network_alias or ip)
        options = _join_pod(options, pod, network_given, creating, quiet)
    code = _run(options, creating, quiet)
    if code:
        raise typer.Exit(code)


def _join_pod(options, text: str, network_given: bool, creating: bool, quiet: bool):
    """The options for a container of the pod `text` (new:NAME: a pod made here, with the
    ports and network asked for, as podman does); `run` starts the pod's infra first."""
    from dataclasses import replace

    from pod.commands.progress import reporter_for
    from pod.pods.members import join_options
    from pod.store.layout import Layout
    from pod.store.pods import PodStore

    settings = common.settings()
    reporter = reporter_for(quiet)
    if text.startswith("new:"):
        from pod.pods.create import create_pod
        from pod.pods.options import PodOptions

        record = create_pod(
            settings,
            PodOptions(
                name=text.removeprefix("new:"),
                publish=list(options.publish),
                network_mode=options.network_mode if network_given else None,
                create_command=["pod", *sys.argv[1:]],
            ),
            reporter,
        )
        options = replace(options, publish=[])
        network_given = False
    else:
        record = PodStore(Layout(settings.root, settings.runroot)).lookup(text)
    joined = join_options(options, record, network_given)
    if not creating:
        from pod.pods.lifecycle import ensure_infra_running

        ensure_infra_running(settings, record.id, reporter)
    return joined


def _restart_policy(restart: str | None, remove: bool) -> str:
    """--restart as given, checked (and refused with --rm, as podman does)."""
    from pod.container import restart_policy
    from pod.errors import UsageError

    if remove and restart not in (None, "", "no"):
        raise UsageError(
            'the --rm option conflicts with --restart, when the restartPolicy is not "" and "no"'
        )
    restart_policy.parse(restart)
    return restart or ""


def _supported_limits(resources: ResourceLimits) -> ResourceLimits:
    """Rootless, limits need a delegated cgroup v2 tree; without one they are dropped with one
    warning line, as podman does (never silently)."""
    if not resources.cgroup_limits or not common.settings().rootless:
        return resources
    from pod.runtime import cgroups

    if cgroups.rootless_limits_supported():
        return resources
    if cgroups.is_pure_v2():
        common.warn(
            "Resource limits are not supported and ignored: the user's cgroup v2 tree is not "
            "delegated (see systemd's Delegate=)"
        )
    else:
        common.warn("Resource limits are not supported and ignored on cgroups V1 rootless systems")
    return resources.without_cgroup_limits()


def _run(options, creating: bool, quiet: bool) -> int:
    """create, or run (pod.container.run): detached, the ID; attached, the exit code."""
    from pod.commands.progress import reporter_for
    from pod.container import run

    settings = common.settings()
    reporter = reporter_for(quiet)
    if creating:
        print(run.create(settings, options, reporter).id)
        return 0
    from pod.systemd import notify

    notify_socket = notify.take_socket()
    record, code = run.run(settings, options, reporter, common.take_early_worker())
    if options.detach:
        from pod.container.start import announce
        from pod.store.layout import Layout

        announce(Layout(settings.root, settings.runroot), record, notify_socket)
        print(record.id)
    return code or 0


def start_command(
    containers: list[str] = typer.Argument(..., metavar="CONTAINER...", help="Containers."),
    attach_output: bool = typer.Option(False, "--attach", "-a", help="Attach to the output."),
    interactive: bool = typer.Option(False, "--interactive", "-i", help="Attach stdin."),
    sig_proxy: bool = typer.Option(True, "--sig-proxy/--no-sig-proxy", help="Proxy signals."),
) -> None:
    """Start created or stopped containers."""
    from pod.commands.progress import QuietReporter
    from pod.container.start import start_container

    code = 0
    for text in containers:
        code = start_container(
            common.settings(), text, attach_output, interactive, sig_proxy, QuietReporter()
        )
        if not attach_output:
            print(text)
    if code:
        raise typer.Exit(code)


def rm_command(
    containers: list[str] = typer.Argument(None, metavar="CONTAINER...", help="Containers."),
    force: bool = typer.Option(False, "--force", "-f", help="Remove running containers too."),
    all_containers: bool = typer.Option(False, "--all", "-a", help="Remove all containers."),
    volumes: bool = typer.Option(False, "--volumes", "-v", help="Remove anonymous volumes."),
    timeout: int = typer.Option(10, "--time", "-t", help="Seconds to wait before SIGKILL."),
    ignore: bool = typer.Option(False, "--ignore", "-i", help="Ignore missing containers."),
    cidfile: list[str] = common.cidfile_option(),
) -> None:
    """Remove containers (exit 1: no such container; 2: running without -f)."""
    from pod.commands.progress import QuietReporter
    from pod.container.remove import remove_container, remove_orphans
    from pod.errors import NoSuchContainerError, PodError, UsageError
    from pod.store.containers import ContainerStore
    from pod.store.layout import Layout

    settings = common.settings()
    reporter = QuietReporter()
    infra: list[tuple[str, str]] = []  # --all: the infra containers go with their pods
    if cidfile:
        containers = common.container_ids_from(cidfile, containers, ignore)
    elif all_containers:
        records = ContainerStore(Layout(settings.root, settings.runroot)).list()
        containers = [r.id for r in records if not r.infra]
        infra = [(r.id, r.pod) for r in records if r.infra]
    elif not containers:
        raise UsageError("must specify at least one container or --all")
    errors: list[PodError] = []
    for text in containers:
        try:
            print(remove_container(settings, text, force, volumes, timeout, reporter))
        except NoSuchContainerError as err:
            if not ignore:
                errors.append(err)
        except PodError as err:
            errors.append(err)
    for container_id, pod_id in infra:
        from pod.pods.remove import remove_pod

        try:
            remove_pod(settings, pod_id, force, timeout, reporter)
            print(container_id)
        except PodError as err:
            errors.append(err)
    remove_orphans(settings)
    for err in errors[:-1]:
        print(f"Error: {err}", file=sys.stderr)
    if errors:
        raise errors[-1]


def ps_command(
    all_containers: bool = typer.Option(False, "--all", "-a", help="Show all containers."),
    quiet: bool = common.quiet_option("Print only container IDs."),
    no_trunc: bool = typer.Option(False, "--no-trunc", help="Do not truncate output."),
    latest: bool = typer.Option(False, "--latest", "-l", help="Only the latest container."),
    last: int = typer.Option(-1, "--last", "-n", help="The last N containers."),
    size: bool = typer.Option(False, "--size", "-s", help="Show sizes."),
    noheading: bool = typer.Option(False, "--noheading", help="Do not print headings."),
    sort: str = typer.Option(
        "created",
        "--sort",
        help="Sort by command, created, id, image, names, runningfor, size, status.",
    ),
    filters: list[str] = typer.Option(
        [], "--filter", "-f", help="Filter: name, id, status, label, ancestor, exited."
    ),
    fmt: str = common.format_option(),
    external: bool = typer.Option(
        False, "--external", help="Also show the containers of builds in progress."
    ),
    pod: bool = typer.Option(False, "--pod", "-p", help="Show the pod of each container."),
) -> None:
    """List containers."""
    from pod.commands.render import render_rows
    from pod.container.list import list_containers

    rows = list_containers(
        common.settings(),
        all_containers or latest or last > 0 or external,
        filters,
        sort,
        size,
        no_trunc,
        external,
    )
    if latest:
        rows = rows[:1]
    elif last > 0:
        rows = rows[:last]
    if quiet and fmt is None:
        for row in rows:
            print(row["ID"])
        return
    columns = [
        ("CONTAINER ID", "ID"),
        ("IMAGE", "Image"),
        ("COMMAND", "Command"),
        ("CREATED", "CreatedHuman"),
        ("STATUS", "Status"),
        ("PORTS", "Ports"),
        ("NAMES", "Names"),
    ]
    if size:
        columns.insert(6, ("SIZE", "Size"))
    if pod:
        columns += [("POD ID", "Pod"), ("PODNAME", "PodName")]
    render_rows(rows, columns, fmt, noheading)


def register(app: typer.Typer, image_app: typer.Typer) -> None:
    panel = "Containers"
    app.command("run", rich_help_panel=panel, context_settings=RUN_CONTEXT)(run_command)
    app.command(
        "create",
        rich_help_panel=panel,
        context_settings=RUN_CONTEXT,
        help="Create a container without starting it; prints its ID.",
    )(run_command)
    app.command("start", rich_help_panel=panel)(start_command)
    app.command("ps", rich_help_panel=panel)(ps_command)
    app.command("rm", rich_help_panel=panel)(rm_command)
