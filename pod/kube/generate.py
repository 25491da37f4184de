"""`pod kube generate`: Kubernetes documents for containers and pods, as podman 4.3 writes them.

A pod becomes a Pod of its containers (the infra left out: its published ports go on the first
container, its host name, DNS and host aliases on the Pod); plain containers given together
become one Pod named `<first container>-pod`. With `service`, a NodePort Service per Pod
publishes the same ports. What a container was asked for is read back from its record and
its OCI config: the command, the environment and working directory it differs from its image
in, ports, mounts (bind mounts as hostPath, named volumes as persistentVolumeClaim, tmpfs as
an in-memory emptyDir), memory and CPU limits and its security context. Every name and label
stays inside Kubernetes' rules (pod.kube.names): the output validates against its schemas.
"""

from __future__ import annotations

import json
import os
import random
import time
from typing import Any

from pod import __version__
from pod.config import Settings
from pod.container.options import RunOptions
from pod.container.spec import process_env
from pod.errors import KubeError, NoSuchContainerError, NoSuchPodError
from pod.image.defaults import ImageDefaults, defaults_from_config, image_config
from pod.kube import names
from pod.network.ports import PortMapping
from pod.pods.members import members
from pod.reporter import Reporter
from pod.store.blobs import BlobStore
from pod.store.containers import ContainerRecord, ContainerStore
from pod.store.images import ImageStore
from pod.store.layout import Layout
from pod.store.pods import PodRecord, PodStore
from pod.util.records import dataclass, field

HEADER = (
    "# Save the output of this file and use kubectl create -f to import\n"
    "# it into Kubernetes.\n"
    "#\n"
    f"# Created with pod-{__version__}\n"
)
NODE_PORTS = (30000, 32767)  # Kubernetes' default NodePort range
_RESTART = {"always": "Always", "unless-stopped": "Always", "on-failure": "OnFailure"}


@dataclass
class PodSource:
    """What one Pod document is made of."""

    name: str
    containers: list[ContainerRecord]
    pod: PodRecord | None = None
    infra: ContainerRecord | None = None
    ports: list[PortMapping] = field(default_factory=list)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _config(layout: Layout, record: ContainerRecord) -> dict:
    try:
        return json.loads(layout.container(record.id).config.read_bytes())
    except (OSError, ValueError):
        return {}


def _defaults(layout: Layout, record: ContainerRecord) -> ImageDefaults:
    """The image's defaults (empty when the image is gone: everything then counts as given)."""
    images = ImageStore(layout)
    image = images.find(record.image_id, images.list()) if record.image_id else None
    if image is None:
        return defaults_from_config({})
    try:
        return defaults_from_config(image_config(BlobStore(layout), image))
    except (OSError, ValueError):
        return defaults_from_config({})


def _env(record: ContainerRecord, config: dict, defaults: ImageDefaults) -> list[dict]:
    """The variables set beyond the image's and pod's defaults (-e, --env-file)."""
    process = config.get("process", {})
    current = list(process.get("env", []))
    home = next((e.split("=", 1)[1] for e in current if e.startswith("HOME=")), "/")
    base = set(
        process_env(
            RunOptions(image=""),
            defaults,
            hostname=record.hostname,
            home=home,
            container_id=record.id,
        )
    )
    found = []
    for item in current:
        key, _, value = item.partition("=")
        if item not in base and key != "HOSTNAME":
            found.append({"name": key, "value": value})
    return found


def _resources(config: dict) -> dict:
    limits: dict[str, str] = {}
    resources = config.get("linux", {}).get("resources", {})
    memory = resources.get("memory", {}).get("limit")
    if memory and memory > 0:
        limits["memory"] = _quantity(memory)
    cpu = resources.get("cpu", {})
    if cpu.get("quota", 0) > 0 and cpu.get("period"):
        limits["cpu"] = f"{max(1, round(1000 * cpu['quota'] / cpu['period']))}m"
    return {"limits": limits} if limits else {}


def _quantity(size: int) -> str:
    """Bytes as Kubernetes writes a quantity: the largest binary unit that divides them."""
    for suffix, unit in (("Gi", 1 << 30), ("Mi", 1 << 20), ("Ki", 1 << 10)):
        if size % unit == 0:
            return f"{size // unit}{suffix}"
    return str(size)


def _security_context(record: ContainerRecord, config: dict) -> dict:
    context: dict[str, Any] = {}
    capabilities: dict[str, list[str]] = {}
    if record.cap_add:
        capabilities["add"] = list(record.cap_add)
    if record.cap_drop:
        capabilities["drop"] = list(record.cap_drop)
    context["capabilities"] = capabilities
    if record.privileged:
        context["privileged"] = True
    if config.get("root", {}).get("readonly"):
        context["readOnlyRootFilesystem"] = True
    if config.get("process", {}).get("noNewPrivileges"):
        context["allowPrivilegeEscalation"] = False
    user = config.get("process", {}).get("user", {})
    if record.user and not record.infra:
        context["runAsUser"] = int(user.get("uid", 0))
        context["runAsGroup"] = int(user.get("gid", 0))
    return context


class _Volumes:
    """The Pod's volumes, named once each (Kubernetes wants unique DNS-label names)."""

    def __init__(self) -> None:
        self.entries: list[dict] = []
        self.by_key: dict[tuple, str] = {}

    def name_for(self, key: tuple, base: str, entry: dict) -> str:
        if key in self.by_key:
            return self.by_key[key]
        taken = {e["name"] for e in self.entries}
        stem = names.dns_label(base)
        name, number = stem, 0
        while name in taken:
            number += 1
            suffix = f"-{number}"
            name = stem[: names.MAX_LABEL - len(suffix)].rstrip("-") + suffix
        self.entries.append({"name": name, **entry})
        self.by_key[key] = name
        return name


def _mounts(record: ContainerRecord, volumes: _Volumes) -> list[dict]:
    found = []
    for mount in record.mounts:
        destination = mount.get("destination", "")
        read_only = any(o in ("ro", "readonly") for o in mount.get("options", []))
        if mount.get("type") == "bind":
            source = mount.get("source", "")
            kind = "Directory" if os.path.isdir(source) else "File"
            base = os.path.basename(source.rstrip("/")) or "root"
            name = volumes.name_for(
                ("bind", source), f"{base}-host", {"hostPath": {"path": source, "type": kind}}
            )
        elif mount.get("type") == "volume":
            claim = mount.get("volume", "")
            name = volumes.name_for(
                ("volume", claim),
                f"{claim}-pvc",
                {"persistentVolumeClaim": {"claimName": names.dns_subdomain(claim)}},
            )
        elif mount.get("type") == "tmpfs":
            name = volumes.name_for(
                ("tmpfs", destination), "tmpfs", {"emptyDir": {"medium": "Memory"}}
            )
        else:
            continue
        entry: dict[str, Any] = {"mountPath": destination, "name": name}
        if read_only:
            entry["readOnly"] = True
        found.append(entry)
    return found


def _ports(mappings: list[PortMapping]) -> list[dict]:
    ports = []
    for mapping in mappings:
        port: dict[str, Any] = {"containerPort": mapping.container_port}
        if mapping.host_port:
            port["hostPort"] = mapping.host_port
        if mapping.host_ip not in ("", "0.0.0.0"):
            port["hostIP"] = mapping.host_ip
        if mapping.protocol != "tcp":
            port["protocol"] = mapping.protocol.upper()
        ports.append(port)
    return ports


def _container(
    layout: Layout, record: ContainerRecord, ports: list[PortMapping], volumes: _Volumes,
    taken: set[str],
) -> dict:  # fmt: skip
    config = _config(layout, record)
    defaults = _defaults(layout, record)
    name = names.dns_label(record.name, "container")
    while name in taken:
        name = names.dns_label(f"{name[:55]}-{len(taken)}")
    taken.add(name)
    container: dict[str, Any] = {"name": name, "image": record.image_name}
    if record.command != defaults.entrypoint + defaults.cmd:
        container["command"] = list(record.command)
    env = _env(record, config, defaults)
    if env:
        container["env"] = env
    cwd = config.get("process", {}).get("cwd", "/")
    if cwd not in ("/", defaults.working_dir):
        container["workingDir"] = cwd
    if ports:
        container["ports"] = _ports(ports)
    container["resources"] = _resources(config)
    container["securityContext"] = _security_context(record, config)
    mounts = _mounts(record, volumes)
    if mounts:
        container["volumeMounts"] = mounts
    if record.tty:
        container["tty"] = True
    if record.interactive:
        container["stdin"] = True
    return container


def _pod_document(layout: Layout, source: PodSource, reporter: Reporter) -> dict:
    name = names.dns_subdomain(source.name, "pod")
    volumes = _Volumes()
    taken: set[str] = set()
    containers = []
    for index, record in enumerate(source.containers):
        ports = source.ports if index == 0 else []
        if source.infra is None:
            ports = [PortMapping.from_json(p) for p in record.ports]
        containers.append(_container(layout, record, ports, volumes, taken))
    labels = {"app": names.label_value(name)}
    if source.pod is not None:
        given = dict(source.pod.labels)
        kept = names.valid_labels(given)
        for key in sorted(set(given) - set(kept)):
            reporter.warning(
                f"label {key!r} of pod {source.pod.name} is not a valid Kubernetes key: left out"
            )
        labels = {**kept, **labels}
    spec: dict[str, Any] = {
        "automountServiceAccountToken": False,
        "containers": containers,
        "enableServiceLinks": False,
    }
    first = source.containers[0] if source.containers else None
    network_holder = source.infra or first
    if network_holder is not None and network_holder.network == "host":
        spec["hostNetwork"] = True
    if source.pod is not None and "uts" in source.pod.shared and source.infra is not None:
        spec["hostname"] = names.dns_label(source.pod.hostname or source.pod.name)
    aliases = _host_aliases(source.pod.add_hosts if source.pod else [])
    if aliases:
        spec["hostAliases"] = aliases
    dns = _dns_config(source.pod if source.pod else first)
    if dns:
        spec["dnsConfig"] = dns
    policy = _RESTART.get(first.restart_policy if first else "", "Never")
    if policy != "Always":  # Kubernetes' default, which podman leaves out
        spec["restartPolicy"] = policy
    if volumes.entries:
        spec["volumes"] = volumes.entries
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"creationTimestamp": _now(), "labels": labels, "name": name},
        "spec": spec,
        "status": {},
    }


def _host_aliases(entries: list[str]) -> list[dict]:
    by_ip: dict[str, list[str]] = {}
    for entry in entries:
        host, _, ip = entry.partition(":")
        by_ip.setdefault(ip, []).append(host)
    return [{"hostnames": hosts, "ip": ip} for ip, hosts in by_ip.items()]


def _dns_config(holder: Any) -> dict:
    if holder is None:
        return {}
    config: dict[str, Any] = {}
    if holder.dns:
        config["nameservers"] = [s for s in holder.dns if s != "none"]
    if holder.dns_search:
        config["searches"] = list(holder.dns_search)
    if holder.dns_options:
        config["options"] = [_dns_option(o) for o in holder.dns_options]
    return config


def _dns_option(text: str) -> dict:
    name, sep, value = text.partition(":")
    return {"name": name, "value": value} if sep else {"name": name}


def _service(pod_document: dict, ports: list[PortMapping]) -> dict:
    name = pod_document["metadata"]["name"]
    rng = random.SystemRandom()
    entries = []
    for mapping in ports:
        entry: dict[str, Any] = {
            "name": names.dns_label(f"{mapping.container_port}-{mapping.protocol}")
            if mapping.protocol != "tcp"
            else str(mapping.container_port),
            "nodePort": rng.randint(*NODE_PORTS),
            "port": mapping.container_port,
            "targetPort": mapping.container_port,
        }
        if mapping.protocol != "tcp":
            entry["protocol"] = mapping.protocol.upper()
        entries.append(entry)
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "creationTimestamp": pod_document["metadata"]["creationTimestamp"],
            "labels": {"app": names.label_value(name)},
            "name": name,
        },
        "spec": {
            "ports": entries,
            "selector": {"app": names.label_value(name)},
            "type": "NodePort",
        },
    }


def _sources(layout: Layout, texts: list[str]) -> list[PodSource]:
    """Pods by name, plain containers together (podman: one Pod named after the first)."""
    store = ContainerStore(layout)
    pods = PodStore(layout)
    sources: list[PodSource] = []
    loose: list[ContainerRecord] = []
    for text in texts:
        try:
            pod = pods.lookup(text)
        except NoSuchPodError:
            pod = None
        if pod is not None:
            found = members(store, pod)
            infra = next((r for r in found if r.infra), None)
            ports = [PortMapping.from_json(p) for p in infra.ports] if infra else []
            sources.append(
                PodSource(pod.name, [r for r in found if not r.infra], pod, infra, ports)
            )
            continue
        try:
            record = store.lookup(text)
        except NoSuchContainerError:
            raise KubeError(
                f"{text} does not refer to a container or pod: no such object"
            ) from None
        if record.infra:
            raise KubeError(f"{record.name} is an infra container: generate its pod instead")
        if record.pod:
            raise KubeError(f"container {record.name} is in a pod: generate the pod instead")
        loose.append(record)
    if loose:
        sources.insert(0, PodSource(f"{loose[0].name}-pod", loose))
    return sources


def generate(settings: Settings, texts: list[str], service: bool, reporter: Reporter) -> str:
    """The YAML for `texts` (containers and pods), Services first as podman writes them."""
    layout = Layout(settings.root, settings.runroot)
    documents = []
    services = []
    for source in _sources(layout, texts):
        if not source.containers:
            raise KubeError(f"pod {source.name} has no containers to generate")
        document = _pod_document(layout, source, reporter)
        documents.append(document)
        ports = source.ports or [
            PortMapping.from_json(p) for r in source.containers for p in r.ports
        ]
        if service:
            services.append(_service(document, ports))
    from pod.kube.documents import dump_documents

    return HEADER + dump_documents([*services, *documents])
