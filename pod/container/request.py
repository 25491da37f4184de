"""`run`/`create` flags, as the CLI parsed them, into one checked RunOptions.

Every value is checked here, before anything is created, with podman's messages (exit 125).
The host facts some flags need (the environment for --env-host and --http-proxy, the online
CPUs) are read here; notices podman prints as plain lines go to the reporter.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from pod.container import environment, namespaces, resource_flags, systemd_mode
from pod.container import flags as run_flags
from pod.container.health import check_flags
from pod.container.options import HealthFlags, ResourceLimits, RunOptions
from pod.errors import UsageError
from pod.reporter import Reporter
from pod.util.signals import parse_signal

PORTS_DISCARDED = (
    "Port mappings have been discarded as one of the Host, Container, Pod, and None network "
    "modes are in use"
)
LOG_DRIVERS = ("k8s-file", "none")


def run_options(
    flags: Mapping[str, Any], *, creating: bool, rootless: bool, reporter: Reporter
) -> RunOptions:
    """RunOptions from the CLI's parameters (their names as in commands.containers)."""
    from pod.network import modes, ports

    if creating and flags["detach"]:
        raise UsageError("unknown shorthand flag: 'd' in -d (use pod run -d or pod start)")
    if flags["name"]:  # before the image is looked up or pulled: a bad name creates nothing
        from pod.store.containers import check_name

        check_name(flags["name"])
    security = run_flags.parse_security_opts(list(flags["security_opt"]))
    for path in security.mask:
        if not path.startswith("/"):  # podman's words; it goes on without the path too
            reporter.warning(f'Path "{path}" is not an absolute path, skipping...')
    userns = namespaces.check_userns(flags["userns"])
    if flags["sdnotify"] not in ("conmon", "ignore"):
        raise UsageError(
            f'unsupported --sdnotify "{flags["sdnotify"]}": use conmon or ignore (pod does not '
            "hand systemd's socket to the container)"
        )
    if flags["log_driver"] not in LOG_DRIVERS:
        raise UsageError(f'unsupported --log-driver "{flags["log_driver"]}": use k8s-file or none')
    if flags["no_hosts"] and flags["add_host"]:
        raise UsageError("--no-hosts and --add-host cannot be set together")
    network_mode = modes.parse_network(
        modes.NetworkFlags(list(flags["network"]), list(flags["network_alias"]), flags["ip"]),
        rootless,
    )
    spaces = namespaces.Namespaces(
        **{kind: namespaces.parse_namespace(kind, flags[kind]) for kind in namespaces.KINDS}
    )
    publish = ports.parse_publish(flags["publish"])
    if publish and network_mode.kind in ("host", "none", "container", "ns"):
        reporter.notice(PORTS_DISCARDED)
        publish = []
    detach, streams = flags["detach"], run_flags.parse_attach(flags["attach"])
    if streams and not ({"stdout", "stderr"} & set(streams)):
        detach = True  # podman: attached to stdin alone, the container runs detached
    mounts = run_flags.parse_mounts(
        list(flags["volume"]), list(flags["mount"]), list(flags["tmpfs"])
    )
    remove = flags["remove"]
    host_env = environment.host_variables(
        os.environ, env_host=flags["env_host"], http_proxy=flags["http_proxy"]
    )
    labels = run_flags.parse_label_files(list(flags["label_file"]))
    labels.update(run_flags.parse_labels(flags["label"]))
    if flags["detach_keys"] is not None:
        from pod.util.terminal import parse_detach_keys

        parse_detach_keys(flags["detach_keys"])
    return RunOptions(
        image=flags["image"],
        command=list(flags["command"] or []),
        name=flags["name"],
        detach=detach,
        interactive=flags["interactive"],
        tty=flags["tty"],
        remove=remove,
        env=host_env + run_flags.expand_env(run_flags.parse_env(flags["env"], flags["env_file"])),
        workdir=run_flags.check_workdir(flags["workdir"]),
        user=flags["user"],
        entrypoint=run_flags.parse_entrypoint(flags["entrypoint"]),
        hostname=flags["hostname"],
        add_hosts=[run_flags.parse_add_host(h) for h in flags["add_host"]],
        mounts=mounts,
        read_only=flags["read_only"],
        cap_add=list(flags["cap_add"]),
        cap_drop=list(flags["cap_drop"]),
        privileged=flags["privileged"],
        no_new_privileges=security.no_new_privileges,
        seccomp_profile=security.seccomp_profile,
        mask=[path for path in security.mask if path.startswith("/")],
        unmask=security.unmask,
        proc_opts=security.proc_opts,
        security_opt=security.given,
        devices=[run_flags.parse_device(d) for d in flags["device"]],
        device_cgroup_rules=[
            run_flags.parse_device_cgroup_rule(r) for r in flags["device_cgroup_rule"]
        ],
        userns=userns,
        init=flags["init"],
        init_path=flags["init_path"],
        labels=labels,
        runtime=flags["runtime"],
        log_driver=flags["log_driver"],
        cidfile=flags["cidfile"],
        replace=flags["replace"],
        network=network_mode.kind,
        network_mode=network_mode,
        publish=publish,
        publish_all=flags["publish_all"],
        expose=ports.parse_expose(flags["expose"]),
        dns=run_flags.parse_dns(flags["dns"]),
        dns_search=list(flags["dns_search"]),
        dns_options=list(flags["dns_option"]),
        pull=flags["pull"],
        sig_proxy=flags["sig_proxy"],
        stop_signal=_stop_signal(flags["stop_signal"]),
        stop_timeout=_uint(flags["stop_timeout"], "--stop-timeout"),
        restart=_restart_policy(flags["restart"], remove),
        health=check_flags(
            HealthFlags(
                cmd=flags["health_cmd"],
                interval=flags["health_interval"],
                retries=flags["health_retries"],
                timeout=flags["health_timeout"],
                start_period=flags["health_start_period"],
                on_failure=flags["health_on_failure"],
                disabled=flags["no_healthcheck"],
            )
        ),
        resources=_resources(flags),
        secrets=[run_flags.parse_secret(value) for value in flags["secret"]],
        sd_notify=flags["sdnotify"],
        annotations=run_flags.parse_annotations(flags["annotation"]),
        namespaces=spaces,
        group_add=run_flags.parse_group_add(list(flags["group_add"])),
        sysctls=run_flags.parse_sysctls(
            list(flags["sysctl"]),
            network_host=network_mode.kind == "host",
            ipc_host=spaces.ipc.kind == "host",
        ),
        platform=run_flags.parse_platform(
            flags["platform"], flags["os_name"], flags["arch"], flags["variant"]
        ),
        attach=streams,
        detach_keys=flags["detach_keys"],
        preserve_fds=run_flags.parse_preserve_fds(_uint(flags["preserve_fds"], "--preserve-fds")),
        remove_image=flags["rmi"],
        conmon_pidfile=_absolute(flags["conmon_pidfile"]),
        timezone=run_flags.parse_timezone(flags["tz"]),
        timeout=_uint(flags["timeout"], "--timeout"),
        log=run_flags.parse_log_opts(list(flags["log_opt"])),
        host_users=list(flags["hostuser"]),
        passwd_entry=flags["passwd_entry"] or "",
        volumes_from=run_flags.parse_volumes_from(list(flags["volumes_from"])),
        unsetenv=list(flags["unsetenv"]),
        unsetenv_all=flags["unsetenv_all"],
        systemd=systemd_mode.check(flags["systemd"]),
        requires=[name for value in flags["requires"] for name in value.split(",") if name],
        no_hosts=flags["no_hosts"],
    )


def _stop_signal(value: str | None) -> str | None:
    """--stop-signal: a name or a number from 1 to 64, as podman takes it."""
    if value is not None:
        parse_signal(value)
    return value


def _uint(value: str | None, flag: str) -> int:
    """An unsigned flag as Go's pflag parses it (0 when not given)."""
    return 0 if value is None else resource_flags.parse_int(value, flag, unsigned=True)


def _absolute(path: str | None) -> str | None:
    return os.path.abspath(path) if path else None


def _restart_policy(restart: str | None, remove: bool) -> str:
    """--restart as given, checked (and refused with --rm, as podman does)."""
    from pod.container import restart_policy

    if remove and restart not in (None, "", "no"):
        raise UsageError(
            'the --rm option conflicts with --restart, when the restartPolicy is not "" and "no"'
        )
    restart_policy.parse(restart)
    return restart or ""


def _resources(flags: Mapping[str, Any]) -> ResourceLimits:
    return resource_flags.parse_resources(
        resource_flags.ResourceFlags(
            memory=flags["memory"],
            memory_swap=flags["memory_swap"],
            cpus=flags["cpus"],
            cpu_shares=flags["cpu_shares"],
            cpuset_cpus=flags["cpuset_cpus"],
            pids_limit=flags["pids_limit"],
            ulimit=list(flags["ulimit"]),
            shm_size=flags["shm_size"],
            oom_score_adj=flags["oom_score_adj"],
        ),
        resource_flags.online_cpus(),
    )
