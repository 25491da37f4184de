"""`pod kube play`: pods, containers and volumes from Kubernetes YAML, as podman 4.3 plays it.

Kinds: Pod; Deployment (its template played `replicas` times as pods `<name>-pod-<i>`, as
podman 4.3 does); ConfigMap (env, envFrom, valueFrom and volumes); Secret (the same);
PersistentVolumeClaim (a named volume); Service (nothing to do on one host). Other kinds, and
fields pod does not act on, are reported as warnings; malformed documents are errors naming the
path of the bad value. Names from the YAML are checked like names on the command line before
they reach the store.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pod.config import Settings
from pod.container.options import HealthFlags, ResourceLimits, RunOptions
from pod.errors import KubeError
from pod.kube.documents import Node
from pod.kube.quantities import cpus, memory_bytes
from pod.kube.volumes import (
    PlayedVolume,
    filled_volume,
    host_path,
    key_files,
    mount_spec,
    secret_mounts,
)
from pod.reporter import Reporter
from pod.store.layout import Layout
from pod.store.names import name_problem
from pod.store.volumes import VolumeStore
from pod.util.records import dataclass, field

if TYPE_CHECKING:
    from pod.container.options import SecretRequest
    from pod.network.modes import NetworkMode
    from pod.store.containers import ContainerRecord
    from pod.store.pods import PodRecord
    from pod.store.secrets import SecretStore

IGNORED_KINDS = ("Service",)  # meaningful to a cluster only: nothing to do, nothing to say
PLAYED_KINDS = ("Pod", "Deployment", "PersistentVolumeClaim", "Secret")  # each makes something
_META_QUIET = {
    "name", "labels", "annotations", "namespace", "creationTimestamp", "uid", "resourceVersion",
    "generation", "selfLink", "managedFields", "ownerReferences", "finalizers",
}  # fmt: skip
_POD_SPEC = {
    "containers", "volumes", "restartPolicy", "hostname", "hostNetwork", "hostAliases",
    "dnsConfig", "securityContext", "shareProcessNamespace", "terminationGracePeriodSeconds",
}  # fmt: skip
_POD_SPEC_QUIET = {  # a cluster's scheduling and accounts: nothing to do on one host
    "automountServiceAccountToken", "enableServiceLinks", "dnsPolicy", "schedulerName",
    "serviceAccount", "serviceAccountName", "nodeName", "nodeSelector", "affinity",
    "tolerations", "priority", "priorityClassName", "imagePullSecrets", "preemptionPolicy",
}  # fmt: skip
_CONTAINER = {
    "name", "image", "command", "args", "env", "envFrom", "workingDir", "ports",
    "volumeMounts", "resources", "securityContext", "tty", "stdin", "imagePullPolicy",
}  # fmt: skip
_CONTAINER_QUIET = {"terminationMessagePath", "terminationMessagePolicy", "stdinOnce"}
_KEY = r"[-._a-zA-Z0-9]{1,253}"
_RESTART = {"Always": "always", "OnFailure": "on-failure", "Never": "no"}
_PULL = {"Always": "always", "IfNotPresent": "missing", "Never": "never"}


@dataclass
class PlayOptions:
    start: bool = True
    replace: bool = False
    network_mode: NetworkMode | None = None  # --network: the pods' network
    log_driver: str = "k8s-file"
    build: bool = False
    context: Path | None = None  # where --build looks for image directories (the YAML's)


@dataclass
class PlayedPod:
    pod: PodRecord
    containers: list[ContainerRecord] = field(default_factory=list)


@dataclass
class PlayReport:
    volumes: list[str] = field(default_factory=list)
    pods: list[PlayedPod] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # containers that failed to start


def checked_name(name: str, what: str) -> str:
    """A name from the YAML, checked as the command line checks names."""
    problem = name_problem(name)
    if problem:
        raise KubeError(f"{what} {name!r}: {problem}")
    return name


@dataclass
class Sources:
    """The ConfigMaps and Secrets of the YAML (and --configmap files), by name; Secrets the
    YAML does not hold are looked for in the secret store (an earlier play stored them)."""

    configmaps: dict[str, dict[str, bytes]] = field(default_factory=dict)
    secrets: dict[str, dict[str, bytes]] = field(default_factory=dict)
    secret_types: dict[str, str] = field(default_factory=dict)
    store: SecretStore | None = None

    def _stored(self, name: str) -> dict[str, bytes] | None:
        from pod.errors import NoSuchSecretError
        from pod.store.secrets import kube_secret_values

        if self.store is None:
            return None
        try:
            record = self.store.lookup(name)
        except NoSuchSecretError:
            return None
        return kube_secret_values(self.store.read(record), name)

    def lookup(self, kind: str, name: str, key: str | None, optional: bool, where: str):
        table = self.configmaps if kind == "configMap" else self.secrets
        data = table.get(name)
        if data is None and kind == "secret":
            data = self._stored(name)
        if data is None:
            if optional:
                return None
            label = "ConfigMap" if kind == "configMap" else "Secret"
            raise KubeError(f"{where}: {label} {name!r} not found")
        if key is None:
            return data
        if key not in data:
            if optional:
                return None
            raise KubeError(f"{where}: key {key!r} not found in {kind} {name!r}")
        return data[key]


def _data(node: Node, kind: str) -> dict[str, bytes]:
    data = {key: value.encode() for key, value in node.string_map("data").items()}
    encoded = node.string_map("binaryData") if kind == "ConfigMap" else node.string_map("data")
    if kind == "Secret":
        data = {}
        for key, value in encoded.items():
            try:
                data[key] = base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                raise KubeError(f"{node.where}.data.{key} is not base64") from None
        data.update({k: v.encode() for k, v in node.string_map("stringData").items()})
    else:
        for key, value in encoded.items():
            try:
                data[key] = base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                raise KubeError(f"{node.where}.binaryData.{key} is not base64") from None
    for key in data:  # Kubernetes' rule for keys: they become file names in volumes
        if key in (".", "..") or not re.fullmatch(_KEY, key):
            raise KubeError(f"{node.where}: {key!r} is not a valid {kind} key")
    return data


def collect_sources(
    documents: list[Node], extra_configmaps: list[Node], store: SecretStore | None = None
) -> Sources:
    sources = Sources(store=store)
    for node in [*extra_configmaps, *documents]:
        kind = node.get("kind", str, "")
        if kind not in ("ConfigMap", "Secret"):
            continue
        name = checked_name(node.node("metadata").required("name", str), kind)
        table = sources.configmaps if kind == "ConfigMap" else sources.secrets
        table[name] = _data(node, kind)
        if kind == "Secret":
            sources.secret_types[name] = node.get("type", str, "Opaque")
    return sources


class Player:
    """Plays the documents of one YAML into the store."""

    def __init__(
        self, settings: Settings, options: PlayOptions, reporter: Reporter, sources: Sources
    ) -> None:
        self.settings = settings
        self.options = options
        self.reporter = reporter
        self.sources = sources
        self.layout = Layout(settings.root, settings.runroot)
        self.volumes = VolumeStore(self.layout)
        self.report = PlayReport()

    def warn_unknown(
        self, node: Node, known: set[str], quiet: AbstractSet[str] = frozenset()
    ) -> None:
        for path in node.unknown(known | quiet):
            self.reporter.warning(f"kube play: {path} is not supported: ignored")

    # --- secrets --------------------------------------------------------------------------

    def store_secrets(self) -> None:
        """The YAML's Secrets into the secret store (kept when stored alike already; other
        data under the same name only with --replace)."""
        from pod.errors import NoSuchSecretError
        from pod.store.secrets import kube_secret

        store = self.sources.store
        assert store is not None
        for name, values in self.sources.secrets.items():
            data = kube_secret(name, values, self.sources.secret_types.get(name, "Opaque"))
            try:
                record = store.lookup(name)
            except NoSuchSecretError:
                record = None
            if record is not None:
                if store.read(record) == data:
                    continue
                if not self.options.replace:
                    raise KubeError(
                        f"secret {name} already exists with other data: remove it, or play "
                        "with --replace"
                    )
                store.remove(record.id)
            store.create(name, data)

    # --- volumes --------------------------------------------------------------------------

    def claim(self, node: Node) -> None:
        """A PersistentVolumeClaim: the named volume (kept when it exists)."""
        name = checked_name(node.node("metadata").required("name", str), "PersistentVolumeClaim")
        existed = self.volumes.exists(name)
        self.volumes.create(name, ignore_existing=True)
        if not existed or name not in self.report.volumes:
            self.report.volumes.append(name)

    def pod_volumes(self, spec: Node) -> dict[str, PlayedVolume]:
        found: dict[str, PlayedVolume] = {}
        for volume in spec.nodes("volumes"):
            name = volume.required("name", str)
            found[name] = self._volume(volume, name)
        return found

    def _volume(self, volume: Node, name: str) -> PlayedVolume:
        kinds = [k for k in ("hostPath", "persistentVolumeClaim", "configMap", "secret",
                             "emptyDir") if volume.get(k, dict) is not None]  # fmt: skip
        if len(kinds) != 1:
            others = sorted(set(volume.value) - {"name"})
            raise KubeError(
                f"{volume.where} ({name}): volume type {', '.join(others) or 'missing'} is not "
                "supported: use hostPath, persistentVolumeClaim, configMap, secret or emptyDir"
            )
        kind = kinds[0]
        node = volume.node(kind)
        if kind == "hostPath":
            return host_path(node)
        if kind == "persistentVolumeClaim":
            claim = checked_name(node.required("claimName", str), "claimName")
            self.volumes.create(claim, ignore_existing=True)
            return PlayedVolume("volume", claim)
        if kind == "emptyDir":
            return PlayedVolume("tmpfs" if node.get("medium", str, "") == "Memory" else "volume")
        source = node.get("name" if kind == "configMap" else "secretName", str, "")
        source = checked_name(source, kind) if source else ""
        optional = bool(node.get("optional", bool, False))
        data = self.sources.lookup(kind, source, None, optional, node.where)
        mode = node.get("defaultMode", int, 0o644)
        if kind == "secret":  # files on the container's secrets tmpfs, from the store
            keys = {key: key.encode() for key in data or {}}
            files = {path: key.decode() for path, key in key_files(node, keys, source).items()}
            return PlayedVolume("secret", source, files, mode)
        volume_name = checked_name(source or name, "configMap volume")
        return filled_volume(self.volumes, volume_name, key_files(node, data or {}, source), mode)

    # --- containers -----------------------------------------------------------------------

    def _env(self, container: Node) -> tuple[list[str], list[SecretRequest]]:
        """The variables, and those that come from Secrets as env secrets: their values stay
        in the secret store (never in the container's config, inspect or kube generate)."""
        from pod.container.options import SecretRequest

        env: list[str] = []
        secrets: list[SecretRequest] = []
        for source in container.nodes("envFrom"):
            prefix = source.get("prefix", str, "")
            for kind in ("configMapRef", "secretRef"):
                if source.get(kind, dict) is None:
                    continue
                ref = source.node(kind)
                name = ref.required("name", str)
                table = "configMap" if kind == "configMapRef" else "secret"
                optional = bool(ref.get("optional", bool, False))
                data = self.sources.lookup(table, name, None, optional, ref.where) or {}
                if kind == "secretRef":
                    secrets += [SecretRequest(name, "env", prefix + key, key=key) for key in data]
                else:
                    env += [f"{prefix}{k}={v.decode(errors='replace')}" for k, v in data.items()]
        for variable in container.nodes("env"):
            name = variable.required("name", str)
            if variable.get("valueFrom", dict) is None:
                env.append(f"{name}={variable.get('value', str, '')}")
                continue
            value_from = variable.node("valueFrom")
            if value_from.get("secretKeyRef", dict) is not None:
                ref = value_from.node("secretKeyRef")
                secret, key = ref.required("name", str), ref.required("key", str)
                optional = bool(ref.get("optional", bool, False))
                if self.sources.lookup("secret", secret, key, optional, ref.where) is not None:
                    secrets.append(SecretRequest(secret, "env", name, key=key))
                continue
            value = self._config_value(value_from)
            if value is not None:
                env.append(f"{name}={value}")
        for item in env:
            if "\0" in item:
                raise KubeError(f"{container.where}: an environment value holds a NUL byte")
        return env, secrets

    def _config_value(self, node: Node) -> str | None:
        if node.get("configMapKeyRef", dict) is None:
            raise KubeError(
                f"{node.where}: only configMapKeyRef and secretKeyRef are supported "
                f"(not {', '.join(sorted(node.value)) or 'nothing'})"
            )
        ref = node.node("configMapKeyRef")
        value = self.sources.lookup(
            "configMap",
            ref.required("name", str),
            ref.required("key", str),
            bool(ref.get("optional", bool, False)),
            ref.where,
        )
        return None if value is None else value.decode(errors="replace")

    def _resources(self, container: Node) -> ResourceLimits:
        limits = container.node("resources").node("limits")
        resources = ResourceLimits()
        memory = limits.get("memory", (str, int, float))
        if memory is not None:
            resources.memory = memory_bytes(memory, f"{limits.where}.memory")
        cpu = limits.get("cpu", (str, int, float))
        if cpu is not None:
            resources.cpus = cpus(cpu, f"{limits.where}.cpu")
        return resources

    def _security(self, options: RunOptions, context: Node, pod_context: Node) -> None:
        for holder in (pod_context, context):
            user = holder.get("runAsUser", int)
            group = holder.get("runAsGroup", int)
            if user is not None or group is not None:
                current_user, _, current_group = (options.user or "").partition(":")
                options.user = str(user if user is not None else current_user or 0)
                if group is not None or current_group:
                    options.user += f":{group if group is not None else current_group}"
        options.privileged = bool(context.get("privileged", bool, False))
        options.read_only = bool(context.get("readOnlyRootFilesystem", bool, False))
        if context.get("allowPrivilegeEscalation", bool) is False:
            options.no_new_privileges = True
        capabilities = context.node("capabilities")
        options.cap_add = capabilities.strings("add")
        options.cap_drop = capabilities.strings("drop")

    def container_options(
        self,
        pod_name: str,
        container: Node,
        spec: Node,
        volumes: dict[str, PlayedVolume],
    ) -> RunOptions:
        from pod.container import spec as oci_spec

        self.warn_unknown(container, _CONTAINER, _CONTAINER_QUIET)
        name = checked_name(f"{pod_name}-{container.required('name', str)}", "container name")
        command = container.strings("command")
        args = container.strings("args")
        pull = container.get("imagePullPolicy", str, "IfNotPresent")
        if pull not in _PULL:
            raise KubeError(f"{container.where}.imagePullPolicy {pull!r} is not a pull policy")
        env, secrets = self._env(container)
        options = RunOptions(
            image=container.required("image", str),
            name=name,
            detach=True,
            entrypoint=command or None,
            command=args,
            env=env,
            secrets=secrets,
            workdir=container.get("workingDir", str),
            tty=bool(container.get("tty", bool, False)),
            interactive=bool(container.get("stdin", bool, False)),
            pull=_PULL[pull],
            log_driver=self.options.log_driver,
            restart=_RESTART[self._restart_policy(spec)],
            stop_timeout=spec.get("terminationGracePeriodSeconds", int, 10),
            resources=self._resources(container),
            health=HealthFlags(),
        )
        if options.workdir is not None and not options.workdir.startswith("/"):
            raise KubeError(f"{container.where}.workingDir must be an absolute path")
        self._security(options, container.node("securityContext"), spec.node("securityContext"))
        options.cap_add = oci_spec.normalize_capabilities(options.cap_add)
        options.cap_drop = oci_spec.normalize_capabilities(options.cap_drop)
        for mount in container.nodes("volumeMounts"):
            volume_name = mount.required("name", str)
            if volume_name not in volumes:
                raise KubeError(f"{mount.where}: no volume named {volume_name!r} in the pod")
            destination = mount.required("mountPath", str)
            if not destination.startswith("/"):
                raise KubeError(f"{mount.where}.mountPath must be an absolute path")
            volume = volumes[volume_name]
            if volume.kind == "secret":
                options.secrets += secret_mounts(volume, destination)
                continue
            options.mounts.append(
                mount_spec(
                    volumes[volume_name],
                    destination,
                    bool(mount.get("readOnly", bool, False)),
                    mount.get("subPath", str, ""),
                )
            )
        return options

    def _restart_policy(self, spec: Node) -> str:
        policy = spec.get("restartPolicy", str, "Always")
        if policy not in _RESTART:
            raise KubeError(f"{spec.where}.restartPolicy {policy!r} is not a restart policy")
        return policy

    # --- pods -----------------------------------------------------------------------------

    def _publish(self, containers: list[Node]):
        from pod.network.ports import PortMapping

        published = []
        for container in containers:
            for port in container.nodes("ports"):
                host = port.get("hostPort", int)
                target = port.required("containerPort", int)
                protocol = port.get("protocol", str, "TCP").lower()
                if protocol not in ("tcp", "udp", "sctp"):
                    raise KubeError(f"{port.where}.protocol {protocol!r} is not TCP, UDP or SCTP")
                for number, what in ((target, "containerPort"), (host, "hostPort")):
                    if number is not None and not 0 < number < 65536:
                        raise KubeError(f"{port.where}.{what} {number} is not a port")
                if host:
                    published.append(
                        PortMapping(port.get("hostIP", str, ""), host, target, protocol)
                    )
        return published

    def pod_options(self, name: str, metadata: Node, spec: Node, containers: list[Node]):
        from pod.container import flags
        from pod.network.modes import NetworkMode
        from pod.pods.options import PodOptions
        from pod.store.pods import DEFAULT_SHARED

        self.warn_unknown(spec, _POD_SPEC, _POD_SPEC_QUIET)
        network_mode = self.options.network_mode
        if spec.get("hostNetwork", bool, False):
            network_mode = NetworkMode("host")
        dns = spec.node("dnsConfig")
        share = list(DEFAULT_SHARED)
        if spec.get("shareProcessNamespace", bool, False):
            share.append("pid")
        hostname = spec.get("hostname", str, "")
        return PodOptions(
            name=name,
            hostname=hostname,
            labels=metadata.string_map("labels"),
            share=share,
            network_mode=network_mode,
            publish=self._publish(containers),
            add_hosts=[
                flags.parse_add_host(f"{host}:{alias.required('ip', str)}")
                for alias in spec.nodes("hostAliases")
                for host in alias.strings("hostnames")
            ],
            dns=flags.parse_dns(dns.strings("nameservers")),
            dns_search=dns.strings("searches"),
            dns_options=[
                f"{o.required('name', str)}:{o.get('value', str)}"
                if o.get("value", str) is not None
                else o.required("name", str)
                for o in dns.nodes("options")
            ],
            create_command=[],
        )

    def play_pod(self, name: str, metadata: Node, spec: Node) -> PlayedPod:
        """Make one pod from a Pod spec (a Deployment's template once per replica)."""
        from pod.container.create import create_container
        from pod.pods.create import create_pod
        from pod.pods.members import join_options
        from pod.store.pods import check_pod_name

        check_pod_name(name)
        if self.options.replace:
            self._remove_pod(name)
        containers = spec.nodes("containers")
        if not containers:
            raise KubeError(f"{spec.where}.containers: a pod needs at least one container")
        if spec.get("initContainers", list):
            self.reporter.warning(
                f"kube play: {spec.where}.initContainers are not supported: ignored"
            )
        self._restart_policy(spec)
        volumes = self.pod_volumes(spec)
        run_options = [self.container_options(name, c, spec, volumes) for c in containers]
        if self.options.build:
            for options in run_options:
                self._build(options.image)
        record = create_pod(self.settings, self.pod_options(name, metadata, spec, containers),
                            self.reporter)  # fmt: skip
        played = PlayedPod(record)
        try:
            for options in run_options:
                joined = join_options(options, record, network_given=False)
                played.containers.append(create_container(self.settings, joined, self.reporter))
        except BaseException:
            from pod.pods.remove import remove_pod

            remove_pod(self.settings, record.id, force=True, reporter=self.reporter, volumes=True)
            raise
        self.report.pods.append(played)
        return played

    def _remove_pod(self, name: str) -> None:
        """--replace: the pod of that name goes first, with its emptyDir volumes (as down)."""
        import contextlib

        from pod.errors import NoSuchPodError
        from pod.pods.remove import remove_pod

        with contextlib.suppress(NoSuchPodError):
            remove_pod(self.settings, name, force=True, reporter=self.reporter, volumes=True)

    def _build(self, image: str) -> None:
        """--build: an image whose directory (named as the image, beside the YAML) holds a
        Containerfile or Dockerfile is built from it, as podman does."""
        from pod.image.reference import parse

        if self.options.context is None:
            return
        directory = self.options.context / parse(image).path.rpartition("/")[2]
        for file_name in ("Containerfile", "Dockerfile"):
            if (directory / file_name).is_file():
                from pod.builder.executor import Builder
                from pod.builder.options import BuildOptions

                options = BuildOptions(
                    containerfile_text=(directory / file_name).read_text(),
                    containerfile_name=str(directory / file_name),
                    context=directory,
                    containerfile_path=directory / file_name,
                    tags=[image],
                    quiet=True,
                )
                Builder(self.settings, options, self.reporter).build()
                return

    def start(self) -> None:
        from pod.pods.lifecycle import load, start_containers

        for played in self.report.pods:
            context = load(self.settings, played.pod.id)
            self.report.errors += start_containers(self.settings, context, self.reporter)


def _document_pods(node: Node) -> list[tuple[str, Node, Node]]:
    """(pod name, metadata, spec) of a Pod, or of each replica of a Deployment."""
    kind = node.get("kind", str, "")
    metadata = node.node("metadata")
    name = metadata.required("name", str)
    if kind == "Pod":
        return [(name, metadata, node.node("spec"))]
    spec = node.node("spec")
    replicas = spec.get("replicas", int, 1)
    if replicas < 0:
        raise KubeError(f"{spec.where}.replicas must not be negative")
    template = spec.node("template")
    template_metadata = template.node("metadata")
    return [
        (f"{name}-pod-{index}", template_metadata, template.node("spec"))
        for index in range(replicas)
    ]


def pod_names(documents: list[dict[str, Any]]) -> list[str]:
    """The pods the documents make (kube down, play --replace and --down)."""
    found = []
    for index, document in enumerate(documents):
        node = Node(document, f"document {index + 1}")
        if node.get("kind", str, "") in ("Pod", "Deployment"):
            found += [name for name, _, _ in _document_pods(node)]
    return found


def _require_a_played_kind(nodes: list[Node]) -> None:
    """A YAML that would make nothing is an error, as in podman 4.3 (ConfigMaps alone are
    named: they only serve containers)."""
    kinds = {node.get("kind", str, "") for node in nodes}
    if kinds.isdisjoint(PLAYED_KINDS):
        if "ConfigMap" in kinds:
            raise KubeError(
                "ConfigMaps in podman are not a standalone object and must be used in a container"
            )
        raise KubeError("YAML document does not contain any supported kube kind")


def play(
    settings: Settings,
    documents: list[dict[str, Any]],
    options: PlayOptions,
    reporter: Reporter,
    extra_configmaps: Sequence[dict[str, Any]] = (),
) -> PlayReport:
    """Play `documents`: volumes and sources first, then the pods, then (with `start`) start
    them; start failures are collected in the report, anything else raises."""
    nodes = [Node(doc, f"document {i + 1}") for i, doc in enumerate(documents)]
    extra = [Node(doc, f"--configmap document {i + 1}") for i, doc in enumerate(extra_configmaps)]
    for node in extra:
        if node.get("kind", str, "") != "ConfigMap":
            raise KubeError(f"{node.where}: --configmap files hold ConfigMaps only")
    _require_a_played_kind(nodes)
    from pod.store.secrets import SecretStore

    store = SecretStore(Layout(settings.root, settings.runroot))
    player = Player(settings, options, reporter, collect_sources(nodes, extra, store))
    player.store_secrets()
    for node in nodes:
        kind = node.get("kind", str, "")
        if kind in ("Pod", "Deployment"):
            node.required("spec", dict)
        elif kind == "PersistentVolumeClaim":
            player.claim(node)
        elif kind not in ("ConfigMap", "Secret", *IGNORED_KINDS):
            reporter.warning(
                f"kube play: {node.where}: kind {kind or '(none)'} is not supported: skipped"
            )
    for node in nodes:
        if node.get("kind", str, "") in ("Pod", "Deployment"):
            player.warn_unknown(node.node("metadata"), _META_QUIET)
            for name, metadata, spec in _document_pods(node):
                player.play_pod(name, metadata, spec)
    if options.start:
        player.start()
    return player.report
