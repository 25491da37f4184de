"""`pod pod inspect`: podman 4.3's InspectPodData for one pod."""

from __future__ import annotations

from typing import Any

from pod.config import Settings
from pod.errors import NoSuchContainerError
from pod.network.report import mappings, port_bindings
from pod.pods.lifecycle import load
from pod.pods.list import container_status, pod_status
from pod.util.humanize import rfc3339


def _infra_config(context) -> dict[str, Any] | None:
    pod = context.pod
    if not pod.infra_id:
        return None
    try:
        infra = context.store.lookup(pod.infra_id)
    except NoSuchContainerError:
        return None
    network = infra.network
    if network == "private":
        network = "slirp4netns" if infra.rootless else "bridge"
    return {
        "PortBindings": port_bindings(mappings(infra)),
        "HostNetwork": network == "host",
        "StaticIP": "",
        "StaticMAC": "",
        "NoManageResolvConf": False,
        "DNSServer": list(pod.dns) or None,
        "DNSSearch": list(pod.dns_search) or None,
        "DNSOption": list(pod.dns_options) or None,
        "NoManageHosts": False,
        "HostAdd": list(pod.add_hosts) or None,
        "Networks": [n["name"] for n in infra.networks] or [network],
        "NetworkOptions": None,
        "pid_ns": "pod" if "pid" in pod.shared else "private",
        "userns": pod.userns or "host",
        "uts_ns": "private",
    }


def inspect_pod(settings: Settings, text: str) -> dict[str, Any]:
    context = load(settings, text)
    pod = context.pod
    states = [container_status(context.status(r)) for r in context.containers]
    data: dict[str, Any] = {
        "Id": pod.id,
        "Name": pod.name,
        "Created": rfc3339(pod.created),
        "CreateCommand": list(pod.create_command) or None,
        "ExitPolicy": pod.exit_policy,
        "State": pod_status(states),
        "Hostname": pod.hostname,
        "Labels": dict(pod.labels),
        "CreateCgroup": False,
        "CgroupParent": "",
        "CgroupPath": "",
        "CreateInfra": bool(pod.infra_id),
        "InfraContainerID": pod.infra_id,
    }
    infra = _infra_config(context)
    if infra is not None:
        data["InfraConfig"] = infra
    data["SharedNamespaces"] = list(pod.shared) or None
    data["NumContainers"] = len(context.containers)
    data["Containers"] = [
        {"Id": r.id, "Name": r.name, "State": s}
        for r, s in zip(context.containers, states, strict=True)
    ]
    return data
