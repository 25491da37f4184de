"""`pod pod create`: a pod record and its infra container (created, not started).

The infra is an ordinary container of the store (the same create pipeline as `pod create`:
network plan, published ports, /etc files, spec), made without an image unless --infra-image
names one (pod.pods.infra). A failure removes the pod again: nothing is left half made.
"""

from __future__ import annotations

import contextlib

from pod import events
from pod.config import Settings
from pod.container.create import BaseImage, create_container
from pod.container.options import MountSpec, RunOptions
from pod.pods.infra import infra_program
from pod.pods.options import PodOptions, check
from pod.reporter import Reporter
from pod.store.images import ImageRecord
from pod.store.layout import Layout
from pod.store.pods import PodRecord, PodStore, check_pod_name

NO_IMAGE = ImageRecord(
    id="",
    manifest_digest="",
    manifest_media_type="",
    manifest_size=0,
    config_digest="",
    layer_digests=[],
    chain_ids=[],
    size=0,
    created="",
)


def infra_name(record: PodRecord) -> str:
    """podman's name for a pod's infra container."""
    return f"{record.short_id}-infra"


def _infra_options(
    layout: Layout, record: PodRecord, options: PodOptions
) -> tuple[RunOptions, BaseImage | None]:
    """The infra container's run options, and the empty image it starts from (None: the
    --infra-image named, pulled when missing)."""
    shares_net = "net" in record.shared
    run = RunOptions(
        image=options.infra_image,
        name=options.infra_name or infra_name(record),
        hostname=(record.hostname or record.name) if "uts" in record.shared else None,
        publish=list(options.publish),
        add_hosts=list(options.add_hosts),
        dns=list(options.dns),
        dns_search=list(options.dns_search),
        dns_options=list(options.dns_options),
        userns=options.userns or None,
        pod=record.id,
        infra=True,
        conmon_pidfile=options.infra_conmon_pidfile or None,
    )
    if shares_net and options.network_mode is not None:
        run.network_mode = options.network_mode
        run.network = options.network_mode.kind
    if options.infra_image:
        if options.infra_command:
            run.entrypoint = [options.infra_command]
        return run, None
    program = infra_program(layout, options.infra_command)
    run.image = ""
    run.command = list(program.argv)
    run.mounts = [MountSpec("bind", program.path, program.source, ["ro"])]
    return run, BaseImage(NO_IMAGE, {})


def create_pod(settings: Settings, options: PodOptions, reporter: Reporter) -> PodRecord:
    """Make the pod (and its infra container, unless there is none); the record."""
    check(options)
    if options.name:
        check_pod_name(options.name)
    layout = Layout(settings.root, settings.runroot)
    pods = PodStore(layout)
    if options.replace and options.name:
        from pod.errors import NoSuchPodError
        from pod.pods.remove import remove_pod

        with contextlib.suppress(NoSuchPodError):
            remove_pod(settings, options.name, force=True, reporter=reporter)
    with_infra = options.infra and bool(options.share)
    record = pods.create(
        PodRecord(
            id="",
            name=options.name,
            hostname=options.hostname,
            labels=dict(options.labels),
            shared=list(options.share) if with_infra else [],
            userns=options.userns or "",
            create_command=list(options.create_command),
            exit_policy=options.exit_policy,
            add_hosts=list(options.add_hosts),
            dns=list(options.dns),
            dns_search=list(options.dns_search),
            dns_options=list(options.dns_options),
        )
    )
    try:
        if with_infra:
            run, base = _infra_options(layout, record, options)
            record.infra_id = create_container(settings, run, reporter, base).id
            pods.rewrite(record)
    except BaseException:
        pods.remove(record.id)
        raise
    events.pod_event(settings.runroot, record, "create")
    return record
