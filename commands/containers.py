"""Container commands: run, create, start, ps, rm."""

from __future__ import annotations

import typer

from pod.commands import common, container_actions, lifecycle_actions, listings, run_create

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
    userns: str = typer.Option(
        None, "--userns", help="User namespace: keep-id, nomap, auto[:OPTIONS] or host."
    ),
    init: bool = typer.Option(False, "--init", help="Run an init (catatonit/tini) as PID 1."),
    init_path: str = typer.Option(None, "--init-path", help="Path of the init binary."),
    label: list[str] = typer.Option([], "--label", "-l", help="Set metadata labels."),
    label_file: list[str] = typer.Option(
        [], "--label-file", help="Read labels from a file (KEY=VALUE lines)."
    ),
    annotation: list[str] = typer.Option([], "--annotation", help="Add an annotation (KEY=VALUE)."),
    runtime: str = typer.Option(None, "--runtime", help="OCI runtime: pod, runc, crun or a path."),
    log_driver: str = typer.Option("k8s-file", "--log-driver", help="k8s-file or none."),
    log_opt: list[str] = typer.Option(
        [], "--log-opt", help="Log options: max-size=SIZE, path=FILE, tag=TAG."
    ),
    cidfile: str = typer.Option(None, "--cidfile", help="Write the container ID to this file."),
    conmon_pidfile: str = typer.Option(
        None, "--conmon-pidfile", help="Write the container supervisor's PID to this file."
    ),
    replace: bool = typer.Option(False, "--replace", help="Replace a container with this name."),
    requires: list[str] = typer.Option(
        [], "--requires", help="Containers to start before this one."
    ),
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
    no_hosts: bool = typer.Option(
        False, "--no-hosts", help="Keep the image's /etc/hosts (do not create one)."
    ),
    ipc: str = typer.Option(None, "--ipc", help="IPC namespace: private, host, none, ..."),
    pid: str = typer.Option(None, "--pid", help="PID namespace: private, host, container:X."),
    uts: str = typer.Option(None, "--uts", help="UTS namespace: private, host, container:X."),
    sysctl: list[str] = typer.Option([], "--sysctl", help="Namespaced kernel parameter KEY=VALUE."),
    group_add: list[str] = typer.Option(
        [], "--group-add", help="Additional groups (names, GIDs or keep-groups)."
    ),
    hostuser: list[str] = typer.Option(
        [], "--hostuser", help="Host user to add to the container's /etc/passwd."
    ),
    passwd_entry: str = typer.Option(
        None,
        "--passwd-entry",
        help="Entry to write to /etc/passwd ($USERNAME, $UID, $GID, $NAME, $HOME).",
    ),
    env_host: bool = typer.Option(
        False, "--env-host", help="Pass the host's whole environment to the container."
    ),
    http_proxy: bool = typer.Option(
        True, "--http-proxy/--no-http-proxy", help="Pass the host's proxy variables on."
    ),
    unsetenv: list[str] = typer.Option(
        [], "--unsetenv", help="Unset a default environment variable."
    ),
    unsetenv_all: bool = typer.Option(
        False, "--unsetenv-all", help="Unset every default environment variable."
    ),
    tz: str = typer.Option(None, "--tz", help="Time zone in the container (or local)."),
    systemd: str = typer.Option("true", "--systemd", help="Systemd mode: true, false, always."),
    volumes_from: list[str] = typer.Option(
        [], "--volumes-from", help="Mount the volumes of another container."
    ),
    platform: str = typer.Option(None, "--platform", help="OS/ARCH[/VARIANT] of the image."),
    os_name: str = typer.Option(None, "--os", help="Operating system of the image."),
    arch: str = typer.Option(None, "--arch", help="Architecture of the image."),
    variant: str = typer.Option(None, "--variant", help="Architecture variant of the image."),
    pull: str = typer.Option("missing", "--pull", help="always, missing, never or newer."),
    attach: list[str] = typer.Option(
        [], "--attach", "-a", help="Attach to STDIN, STDOUT or STDERR."
    ),
    detach_keys: str = typer.Option(
        None, "--detach-keys", help="Keys that detach from the container (ctrl-p,ctrl-q)."
    ),
    sig_proxy: bool = typer.Option(True, "--sig-proxy/--no-sig-proxy", help="Proxy signals."),
    preserve_fds: str = typer.Option(
        None, "--preserve-fds", help="Pass N more file descriptors (3...) to the container."
    ),
    rmi: bool = typer.Option(
        False, "--rmi", help="Remove the image too when the container is removed."
    ),
    stop_signal: str = typer.Option(None, "--stop-signal", help="Signal to stop the container."),
    stop_timeout: str = typer.Option("10", "--stop-timeout", help="Seconds before SIGKILL."),
    timeout: str = typer.Option(
        None, "--timeout", help="Seconds the container may run before it is killed."
    ),
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
    pod_id_file: str = typer.Option(
        None, "--pod-id-file", help="Run in the pod whose ID this file holds."
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
    code = run_create.run_or_create(ctx.params, creating=ctx.info_name == "create")
    if code:
        raise typer.Exit(code)


def start_command(
    ctx: typer.Context,
    containers: list[str] = typer.Argument(None, metavar="CONTAINER...", help="Containers."),
    attach_output: bool = typer.Option(False, "--attach", "-a", help="Attach to the output."),
    interactive: bool = typer.Option(False, "--interactive", "-i", help="Attach stdin."),
    sig_proxy: bool = typer.Option(True, "--sig-proxy/--no-sig-proxy", help="Proxy signals."),
    detach_keys: str = typer.Option(
        None, "--detach-keys", help="Keys that detach from the container (ctrl-p,ctrl-q)."
    ),
    all_containers: bool = typer.Option(False, "--all", help="Start every container."),
    filters: list[str] = typer.Option(
        [], "--filter", "-f", help="Start the containers matching: name, id, label, status, ..."
    ),
    latest: bool = typer.Option(False, "--latest", "-l", help="The latest container."),
) -> None:
    """Start created or stopped containers."""
    code = lifecycle_actions.start(**ctx.params)
    if code:
        raise typer.Exit(code)


def attach_command(
    container: str = typer.Argument(None, metavar="CONTAINER", help="The container."),
    no_stdin: bool = typer.Option(False, "--no-stdin", help="Do not attach stdin."),
    detach_keys: str = typer.Option(
        None, "--detach-keys", help="Keys that detach from the container (ctrl-p,ctrl-q)."
    ),
    sig_proxy: bool = typer.Option(
        True, "--sig-proxy/--no-sig-proxy", help="Proxy received signals to the container."
    ),
    latest: bool = typer.Option(False, "--latest", "-l", help="The latest container."),
) -> None:
    """Attach to a running container's output (and stdin)."""
    from pod.container.lifecycle import all_ids, engine_error
    from pod.container.start import attach_container
    from pod.errors import PodError, UsageError

    settings = common.settings()
    if latest:
        container = next(iter(all_ids(settings, False)[-1:]), "")
    if not container:
        raise UsageError("attach requires the name or ID of one running container or --latest")
    try:
        attach_container(settings, container, not no_stdin, sig_proxy, detach_keys)
    except PodError as err:
        raise engine_error(err) from None


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
    container_actions.remove(
        containers=containers, force=force, all_containers=all_containers, volumes=volumes,
        timeout=timeout, ignore=ignore, cidfile=cidfile,
    )  # fmt: skip


def ps_command(
    all_containers: bool = typer.Option(False, "--all", "-a", help="Show all containers."),
    quiet: bool = common.quiet_option("Print only container IDs."),
    no_trunc: bool = typer.Option(False, "--no-trunc", help="Do not truncate output."),
    latest: bool = typer.Option(False, "--latest", "-l", help="Only the latest container."),
    last: int = typer.Option(-1, "--last", "-n", help="The last N containers."),
    size: bool = typer.Option(False, "--size", "-s", help="Show sizes."),
    noheading: bool = typer.Option(False, "--noheading", help="Do not print headings."),
    sort: str = typer.Option(
        None,
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
    listings.ps(
        all_containers=all_containers,
        quiet=quiet,
        no_trunc=no_trunc,
        latest=latest,
        last=last,
        size=size,
        noheading=noheading,
        sort=sort,
        filters=filters,
        fmt=fmt,
        external=external,
        pod=pod,
    )


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
    app.command("attach", rich_help_panel=panel)(attach_command)
    app.command("ps", rich_help_panel=panel)(ps_command)
    app.command("rm", rich_help_panel=panel)(rm_command)
